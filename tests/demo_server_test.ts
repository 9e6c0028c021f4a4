// The demo server: exactly its route table on 127.0.0.1, 404 for every other path however it
// is spelled, and the model files it builds from a run folder or a diffusers folder.
import * as tf from "@tensorflow/tfjs";
import {
  createUNet,
  DDPMScheduler,
  loadPretrained,
  readSafetensors,
  saveDiffusers,
  setBackend,
} from "../mod.ts";
import { type DemoRoutes, modelRoutes } from "../src/cli/demo/_demo_assets.ts";
import { startDemoServer } from "../src/cli/demo/_demo_server.ts";
import { loadModel } from "../src/cli/_load_model.ts";
import { CliError } from "../src/cli/_cli.ts";
import { DEMO_UNET, perturbedWeights, writeDemoRun } from "./_demo_model.ts";
import { assert } from "./_assert.ts";

const SKIP = Deno.env.get("DDPM_TEST_BACKEND") === "onednn"; // no tensor backend involved
const enc = new TextEncoder();

/** Sends one request as raw bytes, so that no client normalises the path first. */
async function rawRequest(
  port: number,
  target: string,
  opts: { method?: string; host?: string } = {},
): Promise<{ status: number; body: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const host = opts.host ?? `127.0.0.1:${port}`;
  await conn.write(
    enc.encode(
      `${opts.method ?? "GET"} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    ),
  );
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
  conn.close();
  const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) all.set(c, (o += c.length) - c.length);
  const text = new TextDecoder("latin1").decode(all);
  const headerEnd = text.indexOf("\r\n\r\n");
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
    body: all.subarray(headerEnd + 4),
  };
}

Deno.test({
  name:
    "startDemoServer() serves its route table and nothing else: ../, %2e%2e, absolute paths 404",
  ignore: SKIP,
  async fn() {
    const secret = await Deno.makeTempFile({ prefix: "ddpm_demo_secret_" });
    await Deno.writeTextFile(secret, "not for the browser");
    const page = enc.encode("<!doctype html><p>demo</p>");
    const weights = new Uint8Array([1, 2, 3, 4]);
    const routes: DemoRoutes = new Map([
      ["/", { body: page, type: "text/html; charset=utf-8" }],
      ["/model/unet.safetensors", { body: weights, type: "application/octet-stream" }],
    ]);
    const server = startDemoServer(routes, 0);
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const ok = await rawRequest(server.port, "/?backend=wasm");
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, page);
      const model = await rawRequest(server.port, "/model/unet.safetensors");
      assert.equal(model.status, 200);
      assert.deepEqual(model.body, weights);
      assert.equal(
        (await rawRequest(server.port, "/model/unet.safetensors", { method: "HEAD" })).status,
        200,
      );
      for (
        const target of [
          "/deno.json",
          "/../deno.json",
          "/../../../../etc/passwd",
          "/%2e%2e/deno.json",
          "/%2E%2E/%2E%2E/etc/passwd",
          "/model/%2e%2e/%2e%2e/deno.json",
          "/model/../../src/cli/demo/demo.ts",
          "/model%2funet.safetensors",
          "/model/unet.safetensors/..%2f..%2fdeno.json",
          "/..%5c..%5cdeno.json",
          secret,
          `//${secret.slice(1)}`,
          "/etc/passwd",
          "/web/demo.ts",
          "/browser.ts",
          "/node_modules/@tensorflow/tfjs-backend-wasm/package.json",
          "/model/",
          "/model",
          "/index.html",
          "/%00",
        ]
      ) {
        const r = await rawRequest(server.port, target);
        assert.equal(r.status, 404, `GET ${target} answered ${r.status}`);
        assert.ok(!new TextDecoder().decode(r.body).includes("not for the browser"), target);
      }
      // An absolute-form request naming a file URL is just another unknown path.
      assert.equal((await rawRequest(server.port, `file://${secret}`)).status, 404);
      // Another Host (DNS rebinding) and methods that are not GET or HEAD are refused.
      assert.equal((await rawRequest(server.port, "/", { host: "evil.example:80" })).status, 403);
      assert.equal((await rawRequest(server.port, "/", { method: "POST" })).status, 405);
    } finally {
      await server.shutdown();
      await Deno.remove(secret);
    }
  },
});

Deno.test({
  name: "startDemoServer() on a port in use throws a CliError naming --port",
  ignore: SKIP,
  fn() {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (taken.addr as Deno.NetAddr).port;
      assert.throws(
        () => startDemoServer(new Map(), port),
        (e: unknown) =>
          e instanceof CliError && e.message.includes(`port ${port}`) &&
          e.message.includes("--port 0"),
      );
    } finally {
      taken.close();
    }
  },
});

/** The weights in `/model/unet.safetensors`, by name. */
function servedWeights(routes: DemoRoutes): Map<string, Float32Array> {
  const bytes = routes.get("/model/unet.safetensors")!.body;
  return new Map([...readSafetensors(bytes).tensors].map(([k, t]) => [k, t.data]));
}

Deno.test({
  name: "modelRoutes() of a run folder serves its EMA weights and its configs",
  ignore: SKIP,
  async fn() {
    await setBackend("cpu");
    const dir = await Deno.makeTempDir({ prefix: "ddpm_demo_run_" });
    try {
      const ema = await writeDemoRun(dir);
      const before = tf.memory().numTensors;
      const model = await loadModel({ checkpoint: dir });
      const routes = await modelRoutes(model);
      model.unet.dispose();
      assert.equal(tf.memory().numTensors, before);
      const served = servedWeights(routes);
      assert.deepEqual([...served.keys()].sort(), [...ema.keys()].sort());
      for (const [k, v] of ema) assert.deepEqual(served.get(k), v, k);
      const info = JSON.parse(new TextDecoder().decode(routes.get("/model/model.json")!.body));
      assert.deepEqual(info.unet, DEMO_UNET);
      assert.equal(info.scheduler.varianceType, "fixed_large");
      assert.deepEqual(info.sample, { sampler: "ddim", steps: 50 });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "modelRoutes() of a diffusers folder serves the weights loadPretrained() reads",
  ignore: SKIP,
  async fn() {
    await setBackend("cpu");
    const dir = await Deno.makeTempDir({ prefix: "ddpm_demo_diffusers_" });
    try {
      const unet = createUNet(DEMO_UNET, { seed: 0 });
      const w = perturbedWeights(unet, 5);
      unet.setWeights(w);
      tf.dispose([...w.values()]);
      await saveDiffusers(unet, new DDPMScheduler({ betaSchedule: "squaredcos_cap_v2" }), dir);
      const expected = new Map(
        [...unet.getWeights()].map(([k, v]) => [k, v.dataSync() as Float32Array]),
      );
      unet.dispose();
      const model = await loadModel({ pretrained: dir });
      const routes = await modelRoutes(model);
      model.unet.dispose();
      const served = servedWeights(routes);
      assert.equal(served.size, expected.size);
      for (const [k, v] of expected) assert.deepEqual(served.get(k), v, k);
      const info = JSON.parse(new TextDecoder().decode(routes.get("/model/model.json")!.body));
      assert.equal(info.scheduler.betaSchedule, "squaredcos_cap_v2");
      // The page builds its UNet from this config: the same one loadPretrained() builds.
      const again = await loadPretrained(dir);
      assert.deepEqual(info.unet, again.unet.config);
      again.unet.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task demo on a port in use exits 2 with one line naming --port",
  ignore: SKIP,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ddpm_demo_cli_" });
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      await setBackend("cpu");
      await writeDemoRun(`${dir}/run`);
      const port = (taken.addr as Deno.NetAddr).port;
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "task",
          "--quiet",
          "--config",
          new URL("../deno.json", import.meta.url).pathname,
          "demo",
          "--checkpoint",
          `${dir}/run`,
          "--port",
          String(port),
        ],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 2, stderr);
      const errors = stderr.split("\n").filter((l) => l.startsWith("error:"));
      assert.equal(errors.length, 1, stderr);
      assert.match(errors[0], new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use.*--port`));
    } finally {
      taken.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
