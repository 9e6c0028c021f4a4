// The emoji model shipped in models/emoji: its files are what the package promises (diffusers
// form, float16, under 10 MB, the `emoji` preset's UNet), and its samples are emoji, measured as
// the RMS distance to the nearest training emoji against an untrained model's.
import * as tf from "@tensorflow/tfjs";
import {
  createUNet,
  EMOJI_MODEL_URL,
  loadEmojiModel,
  presets,
  sample,
  schedulerForSampler,
  setBackend,
} from "../mod.ts";
import { main as sampleMain } from "../src/cli/sample.ts";
import type { NoisePredictor } from "../src/diffusion/sample.ts";
import { unetConfigFromDiffusers } from "../src/diffusers/mod.ts";
import { _loadModelFromUrl } from "../src/diffusers/emoji_model.ts";
import { InputError } from "../src/errors.ts";
import { nearestRms, references } from "../bench/_emoji_likeness.ts";
import { assert } from "./_assert.ts";

const DIR = decodeURIComponent(EMOJI_MODEL_URL.pathname);
const WEIGHTS = `${DIR}diffusion_pytorch_model.safetensors`;
/** The budget for the package: the weights must fit in it. */
const MAX_BYTES = 10 * 1000 * 1000;
/** Images drawn per model; each image's distance is a mean over 3072 bytes. */
const N = 8;

/** Mean nearest-emoji distance of N samples with the preset's sampler (20 steps), seed 0. */
async function meanNearest(unet: NoisePredictor, refs: Uint8Array[]): Promise<number> {
  const { scheduler: config, sample: defaults } = presets.emoji;
  const scheduler = schedulerForSampler(defaults.sampler, config);
  const images = await sample({
    unet,
    scheduler,
    batchSize: N,
    numInferenceSteps: defaults.numInferenceSteps,
    seed: 0,
  });
  const bytes = await images.data();
  images.dispose();
  const one = 32 * 32 * 3;
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const img = Uint8Array.from(
      bytes.subarray(i * one, (i + 1) * one),
      (v) => Math.round(Math.min(255, Math.max(0, (v + 1) * 127.5))),
    );
    sum += nearestRms(img, refs);
  }
  return sum / N;
}

Deno.test("the shipped emoji model is a float16 diffusers folder of the emoji preset, < 10 MB", async () => {
  const bytes = await Deno.readFile(WEIGHTS);
  assert.ok(bytes.length <= MAX_BYTES, `${bytes.length} bytes > ${MAX_BYTES}`);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const dtypes = new Set(
    Object.entries(header).filter(([k]) => k !== "__metadata__").map(([, v]) =>
      (v as { dtype: string }).dtype
    ),
  );
  assert.deepEqual([...dtypes], ["F16"]);
  const config = JSON.parse(await Deno.readTextFile(`${DIR}config.json`));
  const { dropout: _a, ...fromFile } = unetConfigFromDiffusers(config);
  const { dropout: _b, ...preset } = presets.emoji.unet;
  assert.deepEqual(fromFile, preset);
  for (const name of ["scheduler_config.json", "model_index.json", "README.md", "samples.png"]) {
    assert.ok((await Deno.stat(`${DIR}${name}`)).size > 0, `${name} is missing`);
  }
});

Deno.test("the shipped emoji model draws emoji: nearer the training set than an untrained one", async () => {
  // wasm, the backend every user has; the test runs once, in the unit pass.
  await setBackend("wasm");
  const refs = await references();
  const before = tf.memory().numTensors;
  const { unet } = await loadEmojiModel();
  const untrained = createUNet("emoji", { seed: 0 });
  try {
    assert.equal(unet.numParams(), untrained.numParams());
    const trained = await meanNearest(unet, refs);
    const fresh = await meanNearest(untrained, refs);
    console.log(
      `nearest-emoji RMS distance: shipped ${trained.toFixed(1)}, untrained ${fresh.toFixed(1)}`,
    );
    // Measured when the model was shipped: see models/emoji/README.md. Clean emoji sit under 40;
    // noise and colour blobs at 60-100.
    assert.ok(
      trained < 40,
      `shipped model's samples are ${trained.toFixed(1)} from the nearest emoji`,
    );
    assert.ok(
      trained < fresh - 20,
      `shipped ${trained.toFixed(1)} vs untrained ${fresh.toFixed(1)}`,
    );
  } finally {
    unet.dispose();
    untrained.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("`ddpm sample` with no model flag samples the shipped emoji model", async () => {
  const out = `${await Deno.makeTempDir()}/grid.png`;
  try {
    const code = await sampleMain(["--n", "2", "--steps", "2", "--out", out, "--backend", "cpu"]);
    assert.equal(code, 0);
    const png = await Deno.readFile(out);
    // PNG width and height: a 1x2 grid of 32x32 images with the grid's padding.
    const view = new DataView(png.buffer);
    assert.ok(view.getUint32(16) >= 64 && view.getUint32(20) >= 32);
  } finally {
    await Deno.remove(out.replace(/\/grid\.png$/, ""), { recursive: true });
  }
});

Deno.test("installed from a registry, the model's files are fetched next to the module", async () => {
  await setBackend("cpu");
  const served: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const name = new URL(req.url).pathname.replace(/^\/pkg\/models\/emoji\//, "");
    served.push(name);
    if (!/^[a-z_]+(\.[a-z]+)+$/.test(name)) return new Response("no", { status: 404 });
    try {
      return new Response(await Deno.readFile(`${DIR}${name}`));
    } catch {
      return new Response("no", { status: 404 });
    }
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const before = tf.memory().numTensors;
    const fetched = await _loadModelFromUrl(new URL(`${base}/pkg/models/emoji/`));
    const local = await loadEmojiModel();
    // The same weights, whichever way they came.
    for (const [name, w] of local.unet.getWeights()) {
      const a = await w.data(), b = await fetched.unet.getWeights().get(name)!.data();
      assert.ok(a.every((v, i) => v === b[i]), name);
    }
    assert.ok(served.includes("diffusion_pytorch_model.safetensors"));
    fetched.unet.dispose();
    local.unet.dispose();
    assert.equal(tf.memory().numTensors, before);
    // A missing file is a one-line InputError naming it and the status.
    const err = await _loadModelFromUrl(new URL(`${base}/elsewhere/`)).catch((e) => e);
    assert.ok(err instanceof InputError, String(err));
    assert.match(err.message, /config\.json .* HTTP 404/);
  } finally {
    await server.shutdown();
  }
});
