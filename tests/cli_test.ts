// End-to-end: the README's commands, spawned as a user runs them, from a temp directory.
import { Image } from "imagescript";
import { loadRun, setBackend } from "../mod.ts";
import { makeImages } from "./_data.ts";
import { assert } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

await setBackend(FAST_BACKEND);
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

async function task(
  args: string[],
  opts: { cwd: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", CONFIG, ...args],
    cwd: opts.cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The lines of stderr that are errors, and whether any looks like a stack trace. */
function errorLines(stderr: string): { errors: string[]; stack: boolean } {
  const lines = stderr.split("\n");
  return {
    errors: lines.filter((l) => l.startsWith("error:")),
    stack: lines.some((l) => /^\s+at /.test(l)),
  };
}

async function writeImageFolder(dir: string, n: number, res: number): Promise<void> {
  const pixels = makeImages(n, res);
  await Deno.mkdir(`${dir}/nested`, { recursive: true });
  for (let k = 0; k < n; k++) {
    const img = new Image(res, res);
    for (let y = 0; y < res; y++) {
      for (let x = 0; x < res; x++) {
        const o = ((k * res + y) * res + x) * 3;
        img.setPixelAt(
          x + 1,
          y + 1,
          Image.rgbaToColor(pixels[o], pixels[o + 1], pixels[o + 2], 255),
        );
      }
    }
    await Deno.writeFile(`${dir}/${k % 2 ? "nested/" : ""}img${k}.png`, await img.encode());
  }
}

const tmp = await Deno.makeTempDir({ prefix: "ddpm_cli_" });
const run = `${tmp}/run`;

Deno.test("deno task train --help lists every flag with its default", async () => {
  const r = await task(["train", "--help"], { cwd: tmp });
  assert.equal(r.code, 0);
  for (
    const flag of [
      "--data",
      "--preset",
      "--out",
      "--steps",
      "--batch-size",
      "--micro-batch",
      "--lr",
      "--sample-every",
      "--checkpoint-every",
      "--resume",
      "--seed",
      "--backend",
    ]
  ) {
    assert.ok(r.stdout.includes(flag), `missing ${flag}`);
  }
});

Deno.test("deno task train trains on a folder, skipping a corrupt image with one warning", async () => {
  const data = `${tmp}/images`;
  await writeImageFolder(data, 6, 32);
  await Deno.writeFile(`${data}/broken.png`, new Uint8Array([137, 80, 78, 71, 1, 2, 3]));
  const r = await task(
    [
      "train",
      "--data",
      data,
      "--out",
      run,
      "--steps",
      "4",
      "--batch-size",
      "2",
      "--micro-batch",
      "1",
      "--sample-every",
      "4",
      "--backend",
      FAST_BACKEND,
    ],
    { cwd: tmp },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.split("broken.png").length - 1, 1, r.stderr);
  // The micro-batch is said in the first lines, with what a pass needs on wasm, and kept.
  assert.match(r.stderr, /micro-batch 1 of batch 2 \(given\); a pass needs about \d+ MiB/);
  const config = JSON.parse(await Deno.readTextFile(`${run}/config.json`));
  assert.equal(config.train.microBatchSize, 1);
  assert.ok(r.stdout.includes("step-00000004.safetensors"), r.stdout);
  await Deno.stat(`${run}/samples/step-00000004.png`);
  await Deno.stat(`${run}/loss.png`);
  const metrics = (await Deno.readTextFile(`${run}/metrics.jsonl`)).trim().split("\n");
  assert.equal(metrics.length, 4);
  const loaded = await loadRun(run);
  assert.equal(loaded.step, 4);
  loaded.unet.dispose();
});

Deno.test("deno task sample writes a grid and a GIF from the trained run", async () => {
  const out = `${tmp}/grid.png`, gif = `${tmp}/reverse.gif`;
  const r = await task(
    [
      "sample",
      "--checkpoint",
      run,
      "--n",
      "4",
      "--steps",
      "5",
      "--out",
      out,
      "--frames",
      gif,
      "--frame-count",
      "3",
      "--backend",
      FAST_BACKEND,
    ],
    { cwd: tmp },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(out) && r.stdout.includes(gif), r.stdout);
  const grid = await Image.decode(await Deno.readFile(out));
  // 2 x 2 images of 32 pixels with a 2-pixel gap between them.
  assert.equal(grid.width, 2 * 32 + 2);
  assert.equal(grid.height, 2 * 32 + 2);
  const frames = await Deno.readFile(gif);
  assert.equal(String.fromCharCode(...frames.slice(0, 6)), "GIF89a");
});

Deno.test("deno task eval, interpolate and inpaint run end to end on the trained run", async () => {
  const images = `${tmp}/images`;
  const mask = new Image(32, 32);
  mask.fill(0x000000ff);
  for (let y = 1; y <= 32; y++) for (let x = 1; x <= 16; x++) mask.setPixelAt(x, y, 0xffffffff);
  await Deno.writeFile(`${tmp}/mask.png`, await mask.encode());
  const runs: [string[], string][] = [
    [[
      "eval",
      "--data",
      images,
      "--n",
      "2",
      "--timesteps",
      "3",
      "--out",
      `${tmp}/nll.json`,
      "--plot",
      `${tmp}/nll.png`,
    ], `${tmp}/nll.json`],
    [[
      "interpolate",
      "--a",
      `${images}/img0.png`,
      "--b",
      `${images}/img2.png`,
      "--t",
      "5",
      "--lambdas",
      "3",
      "--out",
      `${tmp}/interp.png`,
    ], `${tmp}/interp.png`],
    [[
      "inpaint",
      "--image",
      `${images}/img0.png`,
      "--mask",
      `${tmp}/mask.png`,
      "--sampler",
      "ddim",
      "--steps",
      "3",
      "--n",
      "2",
      "--out",
      `${tmp}/inpaint.png`,
    ], `${tmp}/inpaint.png`],
  ];
  for (const [args, output] of runs) {
    const r = await task([...args, "--checkpoint", run, "--backend", FAST_BACKEND], { cwd: tmp });
    assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    assert.ok((await Deno.stat(output)).size > 0);
  }
  const nll = JSON.parse(await Deno.readTextFile(`${tmp}/nll.json`));
  assert.ok(
    nll.bitsPerDim > 0 && Number.isFinite(nll.bitsPerDim),
    JSON.stringify(nll).slice(0, 200),
  );
});

Deno.test("deno task sample fails in one line with exit code 2 on bad input", async () => {
  const cases = [
    ["sample", "--checkpoint", `${tmp}/no-such-run`],
    ["sample", "--bogus-flag"],
    ["sample", "--preset", "tiny", "--n", "0"],
    ["sample", "--preset", "nope"],
  ];
  for (const args of cases) {
    const r = await task(args, { cwd: tmp });
    const { errors, stack } = errorLines(r.stderr);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(errors.length, 1, r.stderr);
    assert.ok(!stack, r.stderr);
  }
});

Deno.test("deno task train fails in one line with exit code 2 on an empty folder", async () => {
  const empty = `${tmp}/empty`;
  await Deno.mkdir(empty, { recursive: true });
  const r = await task(
    ["train", "--data", empty, "--out", `${tmp}/run-empty`, "--backend", FAST_BACKEND],
    {
      cwd: tmp,
    },
  );
  const { errors, stack } = errorLines(r.stderr);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(errors.length, 1, r.stderr);
  assert.ok(errors[0].includes(empty), errors[0]);
  assert.ok(!stack, r.stderr);
});

Deno.test("deno task train stops on SIGINT with exit 130 and a loadable checkpoint", async () => {
  const out = `${tmp}/run-sigint`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "--quiet",
      "--config",
      CONFIG,
      "train",
      "--data",
      `${tmp}/images`,
      "--out",
      out,
      "--steps",
      "1000",
      "--batch-size",
      "2",
      "--sample-every",
      "0",
      "--backend",
      FAST_BACKEND,
    ],
    cwd: tmp,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Wait until two steps are logged, then interrupt.
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const text = await Deno.readTextFile(`${out}/metrics.jsonl`).catch(() => "");
    if (text.trim().split("\n").length >= 2) break;
  }
  child.kill("SIGINT");
  const status = await child.output();
  assert.equal(status.code, 130, new TextDecoder().decode(status.stderr));
  const loaded = await loadRun(out);
  assert.ok(loaded.step >= 2 && loaded.step < 1000, String(loaded.step));
  // The checkpoint is of the last finished step: every logged step is in it.
  const logged = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n").length;
  assert.equal(logged, loaded.step);
  loaded.unet.dispose();
});

Deno.test("cleanup", async () => {
  await Deno.remove(tmp, { recursive: true });
});
