// Sampling into a folder of PNGs split over shards: image i depends only on (seed, i), so any
// split, batch size and restart write the same bytes.
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../src/backends/set_backend.ts";
import { DDPMScheduler } from "../src/diffusion/ddpm_scheduler.ts";
import { sample } from "../src/diffusion/sample.ts";
import { createUNet } from "../src/presets/create_unet.ts";
import { presets } from "../src/presets/presets.ts";
import { NormalStream } from "../src/random.ts";
import {
  imageFileName,
  parseShard,
  type SampleFolderOptions,
  sampleToFolder,
} from "../src/cli/_sample_folder.ts";
import { assert, assertNear } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

await setBackend(FAST_BACKEND);
const onednnPass = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

const unet = createUNet({ ...presets.tiny.unet, resolution: 8 }, { seed: 3 });
const scheduler = () => new DDPMScheduler(presets.tiny.scheduler);

Deno.test({
  name:
    "NormalStream: deterministic per key, standard normal moments, independent neighbouring keys",
  ignore: onednnPass,
  fn() {
    const n = 200_000;
    const a = new Float32Array(n), b = new Float32Array(n), again = new Float32Array(n);
    new NormalStream(5, 41).fill(a);
    new NormalStream(5, 42).fill(b);
    const s = new NormalStream(5, 41);
    s.fill(again.subarray(0, 7)); // filling in pieces continues the same stream
    s.fill(again.subarray(7));
    assert.deepEqual(again, a);
    let m1 = 0, m2 = 0, m4 = 0, cross = 0;
    for (let i = 0; i < n; i++) {
      m1 += a[i] / n;
      m2 += a[i] ** 2 / n;
      m4 += a[i] ** 4 / n;
      cross += (a[i] * b[i]) / n;
    }
    // Standard errors at n = 200,000: mean 0.0022, variance 0.0032, kurtosis 0.011, corr 0.0022.
    assertNear(m1, 0, 0.012, "mean");
    assertNear(m2, 1, 0.016, "variance");
    assertNear(m4, 3, 0.06, "fourth moment");
    assertNear(cross, 0, 0.012, "correlation of keys 41 and 42");
  },
});

Deno.test("sample() with imageIndices: an image is the same whatever batch and chunk it is drawn in", async () => {
  const draw = async (indices: number[], chunkSize: number) => {
    const x = await sample({
      unet,
      scheduler: scheduler(),
      batchSize: indices.length,
      numInferenceSteps: 3,
      seed: 9,
      chunkSize,
      imageIndices: indices,
    });
    const data = await x.data();
    x.dispose();
    return data;
  };
  const before = tf.memory().numTensors;
  const all = await draw([0, 1, 2, 3, 4], 5);
  const one = 8 * 8 * 3;
  const tail = await draw([3, 4], 2);
  const chunked = await draw([0, 1, 2, 3, 4], 2);
  const single = await draw([4], 1);
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  assert.deepEqual(tail, all.slice(3 * one));
  assert.deepEqual(chunked, all);
  assert.deepEqual(single, all.slice(4 * one));
  const otherSeed = await sample({
    unet,
    scheduler: scheduler(),
    batchSize: 1,
    numInferenceSteps: 3,
    seed: 10,
    imageIndices: [4],
  });
  assert.notDeepEqual(await otherSeed.data(), single);
  otherSeed.dispose();
});

async function readFolder(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".png")) out.set(e.name, await Deno.readFile(`${dir}/${e.name}`));
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

Deno.test("sampleToFolder(): shards {1/1} and {0/3, 1/3, 2/3}, batches of 5, 2 and 3, and a restart write identical files", async () => {
  const root = await Deno.makeTempDir({ prefix: "ddpm_shards_" });
  const base = (outDir: string, batch: number, shard: string): SampleFolderOptions => ({
    unet,
    scheduler: scheduler(),
    numInferenceSteps: 3,
    eta: 0,
    seed: 1,
    n: 5,
    shard: parseShard(shard),
    outDir,
    batch,
    settings: { seed: 1, steps: 3 },
  });
  await sampleToFolder(base(`${root}/whole`, 5, "0/1"));
  for (const k of [0, 1, 2]) await sampleToFolder(base(`${root}/split`, 2, `${k}/3`));
  await sampleToFolder(base(`${root}/three`, 3, "0/1"));
  const whole = await readFolder(`${root}/whole`);
  assert.deepEqual([...whole.keys()], [0, 1, 2, 3, 4].map((i) => imageFileName(i, 5)));
  assert.equal(imageFileName(4, 5), "000004.png");
  assert.deepEqual(await readFolder(`${root}/split`), whole, "shards");
  assert.deepEqual(await readFolder(`${root}/three`), whole, "batch of 3");
  // A crash: one image lost. The restart draws only that one, the same bytes.
  await Deno.remove(`${root}/split/000002.png`);
  const again = await sampleToFolder(base(`${root}/split`, 2, "0/1"));
  assert.deepEqual(again, { written: 1, skipped: 4 });
  assert.deepEqual(await readFolder(`${root}/split`), whole, "after the restart");
  // Different settings into the same folder are refused.
  const other = { ...base(`${root}/split`, 2, "0/1"), settings: { seed: 2, steps: 3 } };
  await assert.rejects(() => sampleToFolder(other), /seed = 1 .*not 2/);
  await Deno.remove(root, { recursive: true });
});

async function task(args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", CONFIG, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name:
    "deno task sample --out-dir DIR --shard K/N writes its range of images, and refuses bad shards",
  ignore: onednnPass,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ddpm_sample_dir_" });
    const args = ["sample", "--preset", "tiny", "--n", "3", "--steps", "2", "--backend", "wasm"];
    const out = `${dir}/out`;
    const r = await task([...args, "--out-dir", out, "--shard", "1/2", "--batch", "2"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote 2 images to .*out/);
    assert.match(r.stderr, /images 1 \.\. 2 of 3/);
    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assert.deepEqual(names, ["000001.png", "000002.png", "sampling.json"]);
    const bad = await task([...args, "--out-dir", out, "--shard", "2/2"], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --shard must be K\/N with 0 <= K < N/m);
    const noDir = await task([...args, "--shard", "0/2"], dir);
    assert.equal(noDir.code, 2);
    assert.match(noDir.stderr, /--shard needs --out-dir/);
    await Deno.remove(dir, { recursive: true });
  },
});
