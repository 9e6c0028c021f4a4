// Sampling folders, statistics files and the demo server against hostile input: one n per
// folder, stale temp files swept, sampling.json checked, damaged FID statistics refused where
// they are read, and half-sent requests cut off. Issue 24, cases 13, 14, 15 and 24.
import { DDPMScheduler } from "../src/diffusion/ddpm_scheduler.ts";
import { createUNet } from "../src/presets/create_unet.ts";
import { presets } from "../src/presets/presets.ts";
import { setBackend } from "../src/backends/set_backend.ts";
import { CliError } from "../src/cli/_cli.ts";
import { type SampleFolderOptions, sampleToFolder } from "../src/cli/_sample_folder.ts";
import { startDemoServer } from "../src/cli/demo/_demo_server.ts";
import { FormatError } from "../src/errors.ts";
import { writeNpz } from "../src/formats/npy.ts";
import { loadActivationStats } from "../src/metrics/stats_file.ts";
import { _wasmThreadsFromEnv } from "../src/backends/wasm/_wasm_threads_env.ts";
import { InputError } from "../src/errors.ts";
import { assert } from "./_assert.ts";

// Files, sockets and messages: one pass (wasm) is enough.
const ignore = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";
if (!ignore) await setBackend("wasm");
const tmp = await Deno.makeTempDir({ prefix: "ddpm_hostile_sampling_" });

function folderOptions(outDir: string, n: number, shard = { index: 0, count: 1 }) {
  const unet = createUNet({ ...presets.tiny.unet, resolution: 8 }, { seed: 1 });
  const opts: SampleFolderOptions = {
    unet,
    scheduler: new DDPMScheduler(presets.tiny.scheduler),
    numInferenceSteps: 1,
    eta: 0,
    seed: 0,
    n,
    shard,
    outDir,
    batch: 2,
    settings: { sampler: "ddpm", steps: 1, seed: 0 },
  };
  return { opts, dispose: () => unet.dispose() };
}

Deno.test({
  name: "sampleToFolder() records n and the names' width, and refuses another n in the folder",
  ignore,
  async fn() {
    const dir = `${tmp}/n`;
    const a = folderOptions(dir, 2);
    await sampleToFolder(a.opts);
    a.dispose();
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/sampling.json`));
    assert.equal(manifest.n, 2);
    assert.equal(manifest.digits, 6);
    // Shard 0 of 500000 of 1000001 images is 0 .. 1: 7-digit names of the same two images.
    const b = folderOptions(dir, 1_000_001, { index: 0, count: 500_000 });
    await assert.rejects(
      () => sampleToFolder(b.opts),
      (e: unknown) => e instanceof CliError && /drawn with n = 2 .*not 1000001/.test(e.message),
    );
    b.dispose();
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["000000.png", "000001.png", "sampling.json"]);
  },
});

Deno.test({
  name: "sampleToFolder() refuses a sampling.json that is null or not an object, in one line",
  ignore,
  async fn() {
    for (const text of ["null", "[]", '"x"', "{"]) {
      const dir = `${tmp}/manifest`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(`${dir}/sampling.json`, text);
      const f = folderOptions(dir, 2);
      await assert.rejects(
        () => sampleToFolder(f.opts),
        (e: unknown) =>
          e instanceof CliError && /sampling\.json is not a JSON object/.test(e.message),
        text,
      );
      f.dispose();
    }
  },
});

Deno.test({
  name: "sampleToFolder() sweeps the temp files a killed sampler left, but not fresh ones",
  ignore,
  async fn() {
    const dir = `${tmp}/sweep`;
    await Deno.mkdir(dir, { recursive: true });
    const old = `${dir}/000001.png.tmp-999999999-abcd1234`;
    const fresh = `${dir}/000002.png.tmp-999999998-abcd1234`;
    await Deno.writeFile(old, new Uint8Array(100));
    await Deno.writeFile(fresh, new Uint8Array(100));
    const hourAgo = new Date(Date.now() - 3600_000);
    await Deno.utime(old, hourAgo, hourAgo);
    const f = folderOptions(dir, 2);
    await sampleToFolder(f.opts);
    f.dispose();
    await assert.rejects(() => Deno.stat(old), Deno.errors.NotFound);
    // A minute-fresh temp file may be a live writer's on another machine sharing the folder.
    await Deno.stat(fresh);
  },
});

Deno.test({
  name:
    "loadActivationStats() refuses NaN, Inf, asymmetric, negative-variance and empty statistics",
  ignore,
  async fn() {
    const good = () => ({
      mu: { shape: [2], data: new Float64Array([0.5, -1]) },
      sigma: { shape: [2, 2], data: new Float64Array([2, 0.5, 0.5, 1]) },
    });
    const cases: [string, (s: ReturnType<typeof good>) => void, RegExp][] = [
      ["nan sigma", (s) => void (s.sigma.data[1] = NaN), /sigma holds NaN/],
      ["inf mu", (s) => void (s.mu.data[0] = Infinity), /mu holds Infinity/],
      ["asymmetric", (s) => void (s.sigma.data[1] = 0.7), /not symmetric/],
      ["negative variance", (s) => void (s.sigma.data[3] = -1), /diagonal entry \(1, 1\)/],
      ["d = 0", (s) => {
        s.mu = { shape: [0], data: new Float64Array() };
        s.sigma = { shape: [0, 0], data: new Float64Array() };
      }, /d = 0/],
    ];
    for (const [what, edit, want] of cases) {
      const s = good();
      edit(s);
      const path = `${tmp}/${what.replaceAll(" ", "_")}.npz`;
      await Deno.writeFile(
        path,
        writeNpz({ mu: s.mu, sigma: s.sigma }),
      );
      await assert.rejects(
        () => loadActivationStats(path),
        (e: unknown) =>
          e instanceof FormatError && e.message.includes(path) && want.test(e.message),
        what,
      );
    }
  },
});

/** Resolves true when the server closes `conn` within `ms`, false when it stays open. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
  const buf = new Uint8Array(1024);
  const read = (async () => {
    try {
      while ((await conn.read(buf)) !== null);
    } catch {
      // reset by the server: closed too
    }
    return true;
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name:
    "startDemoServer() cuts off half-sent requests after its header timeout and caps connections",
  ignore,
  async fn() {
    const routes = new Map([["/", { body: new TextEncoder().encode("ok"), type: "text/plain" }]]);
    const server = startDemoServer(routes, 0, { headerTimeoutMs: 400, maxConnections: 3 });
    const enc = new TextEncoder();
    const conns: Deno.Conn[] = [];
    try {
      // Three requests that never finish their headers fill the server.
      for (let i = 0; i < 3; i++) {
        const c = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
        await c.write(enc.encode(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nX-a: `));
        conns.push(c);
      }
      await new Promise((r) => setTimeout(r, 50));
      // A fourth is closed at once, without waiting for anything.
      const extra = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      conns.push(extra);
      assert.ok(await closedWithin(extra, 300), "a connection over the cap stayed open");
      // The half-sent ones are closed by the header timeout.
      for (const c of conns.slice(0, 3)) {
        assert.ok(await closedWithin(c, 3000), "a half-sent request stayed open");
      }
      // And the server still answers whole requests.
      const ok = await fetch(server.url);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), "ok");
    } finally {
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed by the server
        }
      }
      await server.shutdown();
    }
  },
});

Deno.test({
  name:
    "DDPM_WASM_THREADS: abc, 0, -1 and 1.5 are refused in one line; 999 is lowered to 8, saying so",
  ignore,
  fn() {
    for (const text of ["abc", "0", "-1", "1.5", "", "2x", "0x4"]) {
      assert.throws(
        () => _wasmThreadsFromEnv(text, 8),
        (e: unknown) =>
          e instanceof InputError && !e.message.includes("\n") &&
          e.message.includes(`DDPM_WASM_THREADS must be an integer from 1 to 8: got "${text}"`),
        text,
      );
    }
    assert.deepEqual(_wasmThreadsFromEnv("999", 8), {
      threads: 8,
      note: "DDPM_WASM_THREADS=999 is over 8; using 8",
    });
    assert.deepEqual(_wasmThreadsFromEnv("3", 8), { threads: 3 });
    assert.deepEqual(_wasmThreadsFromEnv(undefined, 8), {});
  },
});

Deno.test("cleanup", async () => {
  await Deno.remove(tmp, { recursive: true });
});
