// The command lines against hostile and careless input: input errors exit 2 with one line,
// non-finite output exits 1 instead of writing a black picture, two trainings never share a
// run folder, and the hint after an interrupted run continues it to its own total. Issue 24,
// cases 6, 8, 11, 12, 15, 19, 21, 22 and 23.
import { Image } from "imagescript";
import {
  type Preset,
  presets,
  readSafetensors,
  setBackend,
  train,
  writeSafetensors,
} from "../mod.ts";
import { listCheckpoints } from "../src/train/mod.ts";
import { writeNpz } from "../src/formats/npy.ts";
import { makeData } from "./_data.ts";
import { assert } from "./_assert.ts";

// Processes and files: one pass (wasm) is enough.
const ignore = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const TRAIN_CLI = new URL("../src/cli/train.ts", import.meta.url).pathname;
const dec = new TextDecoder();
const tmp = await Deno.makeTempDir({ prefix: "ddpm_hostile_cli_" });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function task(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", CONFIG, ...args],
    cwd: tmp,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DDPM_CACHE_DIR: `${tmp}/cache`, ...env },
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The one `error:` line of a run that exited with `code`, with no stack trace. */
function errorLine(r: Run, code: number, what: string): string {
  const lines = r.stderr.split("\n");
  const errors = lines.filter((l) => l.startsWith("error:"));
  assert.equal(r.code, code, `${what}: exit ${r.code}\n${r.stderr}`);
  assert.equal(errors.length, 1, `${what}: ${r.stderr}`);
  assert.ok(!lines.some((l) => /^\s+at /.test(l)), `${what}: stack trace\n${r.stderr}`);
  assert.equal(r.stderr.includes("DDPM_DEBUG"), code === 1, `${what}: ${r.stderr}`);
  return errors[0];
}

/** Runs `jobs` at most `width` at a time. */
async function pool<T>(jobs: (() => Promise<T>)[], width = 3): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]();
      }
    }),
  );
  return out;
}

async function copyRun(from: string, to: string): Promise<void> {
  await Deno.mkdir(`${to}/checkpoints`, { recursive: true });
  for (const sub of ["", "/checkpoints"]) {
    for await (const e of Deno.readDir(`${from}${sub}`)) {
      if (e.isFile) await Deno.copyFile(`${from}${sub}/${e.name}`, `${to}${sub}/${e.name}`);
    }
  }
}

Deno.test({
  name:
    "CLIs refuse seeds past 32 bits, eta past 1, an empty --t item and a wrong-size mask, exit 2",
  ignore,
  async fn() {
    await setBackend("wasm");
    // A small 8x8 run, so that each command loads and samples it quickly.
    const run = `${tmp}/run`;
    const small: Preset = {
      ...presets.tiny,
      unet: { ...presets.tiny.unet, resolution: 8, ch: 8, chMult: [1, 2], numGroups: 4 },
      train: { ...presets.tiny.train, sampleEvery: 0 },
    };
    await train({
      outDir: run,
      preset: small,
      data: makeData(2, 8),
      train: { steps: 1, batchSize: 2 },
    });
    // A run whose weights overflow float32 in the output layer: finite, but no picture.
    await copyRun(run, `${tmp}/huge`);
    const [ckpt] = await listCheckpoints(`${tmp}/huge`);
    const { tensors, metadata } = readSafetensors(await Deno.readFile(ckpt));
    const plain = new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
    for (const k of ["model/conv_out.weight", "ema/conv_out.weight"]) plain.get(k)!.data.fill(3e38);
    await Deno.writeFile(ckpt, writeSafetensors(plain, metadata));
    // A run whose scheduler's stepsOffset pushes 50 leading steps past T.
    await copyRun(run, `${tmp}/offset`);
    const cfg = JSON.parse(await Deno.readTextFile(`${tmp}/offset/config.json`));
    cfg.scheduler = { ...cfg.scheduler, stepsOffset: 990, timestepSpacing: "leading" };
    await Deno.writeTextFile(`${tmp}/offset/config.json`, JSON.stringify(cfg));
    await Deno.writeFile(`${tmp}/a.png`, await new Image(32, 32).fill(0x804020ff).encode());
    await Deno.writeFile(`${tmp}/mask48.png`, await new Image(48, 48).fill(0x000000ff).encode());
    await Deno.writeFile(`${tmp}/clear.png`, await new Image(32, 32).fill(0).encode());
    const psd = { shape: [2, 2], data: new Float64Array([1, 0, 0, 1]) };
    const mu = { shape: [2], data: new Float64Array([0, 0]) };
    await Deno.writeFile(`${tmp}/a.npz`, writeNpz({ mu, sigma: psd }));
    const notPsd = { shape: [2, 2], data: new Float64Array([1, 2, 2, 1]) };
    await Deno.writeFile(`${tmp}/b.npz`, writeNpz({ mu, sigma: notPsd }));

    const sample1 = ["sample", "--n", "1", "--steps", "2", "--backend", "wasm"];
    const fromRun = [...sample1, "--checkpoint", run, "--out", `${tmp}/s.png`];
    const inpaint1 = [
      "inpaint",
      "--checkpoint",
      run,
      "--image",
      `${tmp}/a.png`,
      "--n",
      "1",
      "--steps",
      "2",
    ];
    const cases: [string[], number, RegExp, Record<string, string>?][] = [
      [
        ["train", "--seed", "99999999999999999999", "--steps", "1", "--out", `${tmp}/seeded`],
        2,
        /--seed/,
      ],
      // With a model and an output that work, so that only the flag can fail.
      [[...fromRun, "--seed", "4294967296"], 2, /--seed must be an integer in \[0, 4294967295\]/],
      [
        [...fromRun, "--eta", "1e308", "--sampler", "ddim"],
        2,
        /--eta must be a number in \[0, 1\]/,
      ],
      [
        [
          "interpolate",
          "--checkpoint",
          run,
          "--a",
          `${tmp}/a.png`,
          "--b",
          `${tmp}/a.png`,
          "--t",
          "10,,20",
          "--out",
          `${tmp}/i.png`,
        ],
        2,
        /--t has/,
      ],
      [
        [...inpaint1, "--mask", `${tmp}/mask48.png`],
        2,
        /mask48\.png is 48x48 pixels but --image .*a\.png is 32x32/,
      ],
      [
        [...inpaint1, "--mask", `${tmp}/clear.png`],
        2,
        /clear\.png is fully transparent: nothing to inpaint/,
      ],
      [[...sample1, "--checkpoint", `${tmp}/huge`, "--out", `${tmp}/huge.png`], 1, /non-finite/],
      [
        [...sample1, "--checkpoint", `${tmp}/offset`, "--sampler", "ddim", "--steps", "50"],
        2,
        /stepsOffset 990/,
      ],
      [
        ["fid", "--samples", `${tmp}/a.npz`, "--ref", `${tmp}/b.npz`],
        2,
        /not positive semi-definite/,
      ],
      // Not installed: refused without a download (checked below for every case).
      [[...sample1, "--preset", "tiny", "--backend", "tensorflow"], 2, /tfjs-node-gpu/],
      [[...sample1, "--preset", "tiny", "--out", `${tmp}/t.png`], 2, /DDPM_WASM_THREADS must be/, {
        DDPM_WASM_THREADS: "1.5",
      }],
    ];
    const results = await pool(cases.map(([args, , , env]) => () => task(args, env)));
    cases.forEach(([args, code, want], i) => {
      const line = errorLine(results[i], code, args.join(" "));
      assert.match(line, want, args.join(" "));
      assert.ok(!/Download/.test(results[i].stderr), results[i].stderr);
    });
    await assert.rejects(() => Deno.stat(`${tmp}/seeded`), Deno.errors.NotFound);
    await assert.rejects(() => Deno.stat(`${tmp}/huge.png`), Deno.errors.NotFound);
  },
});

Deno.test({
  name:
    "train: a second run on a busy --out exits 2 naming the first; SIGTERM's hint continues to the run's total",
  ignore,
  async fn() {
    const images = `${tmp}/images`;
    await Deno.mkdir(images, { recursive: true });
    for (let i = 0; i < 4; i++) {
      await Deno.writeFile(
        `${images}/${i}.png`,
        await new Image(32, 32).fill(0x10203fff + i * 0x30000000).encode(),
      );
    }
    const out = `${tmp}/busy`;
    const args = ["--data", images, "--out", out, "--batch-size", "2", "--sample-every", "0"];
    const first = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        CONFIG,
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        "--allow-ffi",
        TRAIN_CLI,
        ...args,
        "--steps",
        "200",
        "--checkpoint-every",
        "100",
        "--backend",
        "wasm",
        "--micro-batch",
        "2",
      ],
      cwd: tmp,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", DDPM_CACHE_DIR: `${tmp}/cache` },
    }).spawn();
    // Wait until it trains (its lock taken, its signal handlers installed).
    const reader = first.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    while (!/micro-batch/.test(stderr)) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    const second = await task(["train", ...args, "--steps", "5", "--backend", "wasm"]);
    first.kill("SIGTERM");
    const [status, stdout] = await Promise.all([
      first.status,
      new Response(first.stdout).text(),
      (async () => {
        for (;;) if ((await reader.read()).done) break;
      })(),
    ]);
    const line = errorLine(second, 2, "second train");
    assert.match(line, /another training run holds it \(process \d+ on /);
    assert.equal(status.code, 143, stdout);
    assert.match(stdout, /interrupted at step (\d+)/);
    assert.match(stdout, new RegExp(`continue: +deno task train --out ${out} --resume\\n`));
    assert.ok(!/--steps/.test(stdout), stdout);
  },
});

Deno.test({
  name: "sample --out on a read-only file system exits 2 in one line",
  // Needs a private mount namespace to mount one (unshare, as root in a user namespace).
  ignore: ignore ||
    !(await new Deno.Command("unshare", { args: ["-rm", "true"], stderr: "null" }).output()
      .then((o) => o.success, () => false)),
  async fn() {
    const ro = `${tmp}/ro`;
    await Deno.mkdir(ro, { recursive: true });
    const cmd = `mount --bind ${ro} ${ro} && mount -o remount,bind,ro ${ro} && exec "$0" "$@"`;
    const out = await new Deno.Command("unshare", {
      args: [
        "-rm",
        "sh",
        "-c",
        cmd,
        Deno.execPath(),
        "task",
        "--quiet",
        "--config",
        CONFIG,
        "sample",
        "--preset",
        "tiny",
        "--n",
        "1",
        "--steps",
        "1",
        "--backend",
        "wasm",
        "--out",
        `${ro}/x.png`,
      ],
      cwd: tmp,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const r = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    assert.match(errorLine(r, 2, "read-only --out"), /Read-only file system/);
  },
});

Deno.test("cleanup", async () => {
  await Deno.remove(tmp, { recursive: true });
});
