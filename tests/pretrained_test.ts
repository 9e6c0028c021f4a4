import * as tf from "@tensorflow/tfjs";
import { assert } from "./_assert.ts";
import { torchSave } from "./_torch_writer.ts";
import { setBackend } from "../src/backends/set_backend.ts";
import { createUNetFromConfig } from "../src/nn/create_unet_from_config.ts";
import type { UNet } from "../src/nn/unet.ts";
import type { UNetConfig } from "../src/nn/unet_config.ts";
import { unetWeightSpecs } from "../src/nn/unet_weight_specs.ts";
import { DDPMScheduler } from "../src/diffusion/ddpm_scheduler.ts";
import { DDIMScheduler } from "../src/diffusion/ddim_scheduler.ts";
import { sample } from "../src/diffusion/sample.ts";
import { loadPretrained } from "../src/diffusers/pretrained.ts";
import { saveDiffusers } from "../src/diffusers/save_diffusers.ts";
import { readSafetensors, writeSafetensors } from "../src/formats/safetensors.ts";

await setBackend("cpu");

// Two levels, attention at 4x4 and in the middle: every kind of layer, in milliseconds.
const CFG: UNetConfig = {
  resolution: 8,
  inChannels: 3,
  outChannels: 3,
  ch: 8,
  chMult: [1, 2],
  numResBlocks: 1,
  attnResolutions: [4],
  dropout: 0,
  numGroups: 4,
  normEps: 1e-6,
};

// The same model as a diffusers config.json, written by hand in the style of Google's.
const DIFFUSERS_CONFIG = {
  _class_name: "UNet2DModel",
  _diffusers_version: "0.1.1",
  act_fn: "silu",
  attention_head_dim: null,
  block_out_channels: [8, 16],
  center_input_sample: false,
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  downsample_padding: 0,
  flip_sin_to_cos: false,
  freq_shift: 1,
  in_channels: 3,
  layers_per_block: 1,
  mid_block_scale_factor: 1,
  norm_eps: 1e-6,
  norm_num_groups: 4,
  out_channels: 3,
  sample_size: 8,
  time_embedding_type: "positional",
  up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
};

type Dict = Map<string, { shape: number[]; data: Float32Array }>;

/** PyTorch shape of a TF.js-layout weight: HWIO -> OIHW, [in, out] -> [out, in]. */
function torchShape(tfShape: number[]): number[] {
  if (tfShape.length === 4) return [tfShape[3], tfShape[2], tfShape[0], tfShape[1]];
  if (tfShape.length === 2) return [tfShape[1], tfShape[0]];
  return [...tfShape];
}

/** A state dict whose every value is 10000 * (tensor number) + (its flat PyTorch index). */
function indexDict(): Dict {
  const dict: Dict = new Map();
  unetWeightSpecs(CFG).forEach((spec, n) => {
    const shape = torchShape(spec.shape);
    const size = shape.reduce((a, b) => a * b, 1);
    dict.set(spec.name, {
      shape,
      data: Float32Array.from({ length: size }, (_, k) => 10000 * n + k),
    });
  });
  return dict;
}

/** What a TF.js variable must hold, in its own row-major order, when loaded from indexDict(). */
function expectedTfValues(tfShape: number[], n: number): Float32Array {
  const size = tfShape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  if (tfShape.length === 4) {
    const [kh, kw, ci, co] = tfShape;
    let p = 0;
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        for (let i = 0; i < ci; i++) {
          for (let o = 0; o < co; o++) out[p++] = 10000 * n + ((o * ci + i) * kh + a) * kw + b;
        }
      }
    }
  } else if (tfShape.length === 2) {
    const [ni, no] = tfShape;
    let p = 0;
    for (let i = 0; i < ni; i++) for (let o = 0; o < no; o++) out[p++] = 10000 * n + o * ni + i;
  } else {
    for (let k = 0; k < size; k++) out[k] = 10000 * n + k;
  }
  return out;
}

async function writeModelFolder(
  dir: string,
  dict: Dict,
  opts: { format?: "safetensors" | "bin"; config?: unknown; scheduler?: unknown } = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(opts.config ?? DIFFUSERS_CONFIG));
  if (opts.format === "bin") {
    await Deno.writeFile(`${dir}/diffusion_pytorch_model.bin`, torchSave(dict));
  } else {
    await Deno.writeFile(`${dir}/diffusion_pytorch_model.safetensors`, writeSafetensors(dict));
  }
  if (opts.scheduler) {
    await Deno.writeTextFile(`${dir}/scheduler_config.json`, JSON.stringify(opts.scheduler));
  }
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Gives every weight seeded random values, so that no layer is an identity or a zero. */
function randomize(unet: UNet, seed: number): void {
  const values = new Map<string, tf.Tensor>();
  let k = 0;
  for (const [name, v] of unet.getWeights()) {
    values.set(name, tf.randomNormal(v.shape, 0, 0.3, "float32", seed + k++));
  }
  unet.setWeights(values);
  tf.dispose([...values.values()]);
}

function predictValues(unet: UNet): Float32Array {
  return tf.tidy(() => {
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 7) as tf.Tensor4D;
    return unet.predict(x, tf.tensor1d([3, 500], "int32")).dataSync() as Float32Array;
  });
}

async function rejectsWith(fn: () => Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(fn, (err: Error) => {
    for (const p of parts) assert.ok(err.message.includes(p), `"${err.message}" lacks "${p}"`);
    return true;
  });
}

Deno.test("saveDiffusers() then loadPretrained() gives identical weights, outputs and scheduler", async () => {
  await withTempDir(async (dir) => {
    const before = tf.memory().numTensors;
    const unet = createUNetFromConfig(CFG, { seed: 1 });
    randomize(unet, 100);
    const scheduler = new DDPMScheduler({ varianceType: "fixed_large", betaEnd: 0.015 });
    await saveDiffusers(unet, scheduler, dir);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      [
        "config.json",
        "diffusion_pytorch_model.safetensors",
        "model_index.json",
        "scheduler_config.json",
      ],
    );
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    assert.deepEqual(config.block_out_channels, [8, 16]);
    assert.deepEqual(config.down_block_types, ["DownBlock2D", "AttnDownBlock2D"]);
    const file = readSafetensors(await Deno.readFile(`${dir}/diffusion_pytorch_model.safetensors`));
    assert.equal(file.metadata.format, "pt");
    assert.deepEqual(file.tensors.get("conv_in.weight")!.shape, [8, 3, 3, 3], "conv saved OIHW");
    assert.deepEqual(
      file.tensors.get("time_embedding.linear_1.weight")!.shape,
      [32, 8],
      "Linear [out, in]",
    );

    const loaded = await loadPretrained(dir);
    assert.deepEqual(loaded.unet.config, CFG);
    assert.deepEqual(loaded.scheduler.toConfig(), scheduler.toConfig());
    assert.equal(loaded.config.sample_size, 8);
    const saved = unet.getWeights();
    for (const [name, v] of loaded.unet.getWeights()) {
      assert.deepEqual(v.dataSync(), saved.get(name)!.dataSync(), name);
    }
    assert.deepEqual(predictValues(loaded.unet), predictValues(unet));
    unet.dispose();
    loaded.unet.dispose();
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
  });
});

Deno.test("loadPretrained() puts every PyTorch value where TF.js expects it (index-encoded weights)", async () => {
  await withTempDir(async (dir) => {
    await writeModelFolder(dir, indexDict());
    const { unet, scheduler } = await loadPretrained(dir);
    assert.deepEqual(
      scheduler.config,
      new DDPMScheduler().config,
      "defaults without a scheduler config",
    );
    const specs = unetWeightSpecs(CFG);
    const weights = unet.getWeights();
    assert.equal(weights.size, specs.length);
    specs.forEach((spec, n) => {
      const v = weights.get(spec.name)!;
      assert.deepEqual(v.shape, spec.shape, spec.name);
      assert.deepEqual(v.dataSync(), expectedTfValues(spec.shape, n), spec.name);
    });
    unet.dispose();
  });
});

Deno.test("loadPretrained() loads the older query/key/value/proj_attn names, as Linear or 1x1 conv", async () => {
  await withTempDir(async (dir) => {
    const renames: [string, string][] = [
      [".to_q.", ".query."],
      [".to_k.", ".key."],
      [".to_v.", ".value."],
      [".to_out.0.", ".proj_attn."],
    ];
    for (const conv of [false, true]) {
      const old: Dict = new Map();
      for (const [name, t] of indexDict()) {
        const renamed = renames.reduce((s, [a, b]) => s.replace(a, b), name);
        const isProjection = renamed !== name && t.shape.length === 2;
        old.set(renamed, {
          shape: isProjection && conv ? [...t.shape, 1, 1] : t.shape,
          data: t.data,
        });
      }
      assert.ok(old.has("mid_block.attentions.0.proj_attn.weight"));
      const sub = `${dir}/${conv}`;
      await writeModelFolder(sub, old);
      const { unet } = await loadPretrained(sub);
      unetWeightSpecs(CFG).forEach((spec, n) => {
        assert.deepEqual(
          unet.getWeights().get(spec.name)!.dataSync(),
          expectedTfValues(spec.shape, n),
          spec.name,
        );
      });
      unet.dispose();
    }
  });
});

Deno.test("loadPretrained() lists missing, unexpected and mis-shaped weights together", async () => {
  await withTempDir(async (dir) => {
    const dict = indexDict();
    dict.delete("conv_in.bias");
    dict.set("extra.weight", { shape: [1], data: new Float32Array(1) });
    dict.set("conv_out.weight", { shape: [3, 8, 9, 1], data: dict.get("conv_out.weight")!.data });
    await writeModelFolder(dir, dict);
    const before = tf.memory().numTensors;
    await rejectsWith(
      () => loadPretrained(dir),
      "missing (1): conv_in.bias",
      "unexpected (1): extra.weight",
      "mis-shaped (1): conv_out.weight (shape [3,8,9,1]",
      "diffusion_pytorch_model.safetensors",
    );
    assert.equal(tf.memory().numTensors, before, "a failed load leaves no tensors");
  });
});

Deno.test("loadPretrained() refuses configs of other architectures, naming what it cannot build", async () => {
  await withTempDir(async (dir) => {
    const config = {
      ...DIFFUSERS_CONFIG,
      _class_name: "UNet2DConditionModel",
      down_block_types: ["DownBlock2D", "CrossAttnDownBlock2D"],
      up_block_types: ["CrossAttnUpBlock2D", "UpBlock2D"],
      cross_attention_dim: 768,
    };
    await writeModelFolder(dir, indexDict(), { config });
    await rejectsWith(
      () => loadPretrained(dir),
      `${dir}/config.json`,
      "CrossAttnDownBlock2D",
      "UNet2DConditionModel",
    );
  });
});

Deno.test("loadPretrained() names the folder or file that is missing, truncated or an LFS pointer", async () => {
  await withTempDir(async (dir) => {
    await rejectsWith(() => loadPretrained(`${dir}/nope`), "does not exist", "hub id");
    await rejectsWith(() => loadPretrained(dir), "no config.json");
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(DIFFUSERS_CONFIG));
    await rejectsWith(() => loadPretrained(dir), "diffusion_pytorch_model.safetensors nor");
    await Deno.writeTextFile(
      `${dir}/diffusion_pytorch_model.safetensors`,
      "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 143000000\n",
    );
    await rejectsWith(() => loadPretrained(dir), "Git LFS pointer", "git lfs pull");
    const good = writeSafetensors(indexDict());
    await Deno.writeFile(
      `${dir}/diffusion_pytorch_model.safetensors`,
      good.subarray(0, good.length - 10),
    );
    await rejectsWith(
      () => loadPretrained(dir),
      "diffusion_pytorch_model.safetensors:",
      "truncated",
    );
    await Deno.writeTextFile(`${dir}/config.json`, "{oops");
    await rejectsWith(() => loadPretrained(dir), "config.json", "not valid JSON");
  });
});

Deno.test("loadPretrained() reads a pipeline folder with a .bin UNet and samples it with DDIM", async () => {
  await withTempDir(async (dir) => {
    // The weights of a randomised UNet, written as PyTorch would lay them out.
    const reference = createUNetFromConfig(CFG, { seed: 2 });
    randomize(reference, 200);
    const dict: Dict = new Map();
    for (const [name, v] of reference.getWeights()) {
      const spec = v.shape;
      const data = v.dataSync() as Float32Array;
      // Independent HWIO -> OIHW and [in, out] -> [out, in] transposes.
      const shape = torchShape(spec);
      const out = new Float32Array(data.length);
      if (spec.length === 4) {
        const [kh, kw, ci, co] = spec;
        for (let p = 0; p < data.length; p++) {
          const o = p % co, i = Math.floor(p / co) % ci, b = Math.floor(p / (co * ci)) % kw;
          const a = Math.floor(p / (co * ci * kw));
          out[((o * ci + i) * kh + a) * kw + b] = data[p];
        }
      } else if (spec.length === 2) {
        const [ni, no] = spec;
        for (let p = 0; p < data.length; p++) out[(p % no) * ni + Math.floor(p / no)] = data[p];
      } else {
        out.set(data);
      }
      dict.set(name, { shape, data: out });
    }
    await Deno.writeTextFile(
      `${dir}/model_index.json`,
      JSON.stringify({ _class_name: "DDPMPipeline", unet: ["diffusers", "UNet2DModel"] }),
    );
    await writeModelFolder(`${dir}/unet`, dict, { format: "bin" });
    await Deno.mkdir(`${dir}/scheduler`);
    await Deno.writeTextFile(
      `${dir}/scheduler/scheduler_config.json`,
      JSON.stringify({
        _class_name: "DDPMScheduler",
        variance_type: "fixed_large",
        clip_sample: true,
      }),
    );
    const loaded = await loadPretrained(dir);
    assert.equal(loaded.scheduler.config.varianceType, "fixed_large");
    const run = (unet: UNet) =>
      sample({
        unet,
        scheduler: new DDIMScheduler(loaded.scheduler.config),
        batchSize: 2,
        numInferenceSteps: 3,
        seed: 5,
      });
    const images = await run(loaded.unet);
    const expected = await run(reference);
    assert.deepEqual(images.shape, [2, 8, 8, 3]);
    const values = images.dataSync();
    assert.ok(values.every((v) => Number.isFinite(v) && v >= -1 && v <= 1), "images in [-1, 1]");
    assert.deepEqual(values, expected.dataSync(), "the loaded model samples as the reference does");
    tf.dispose([images, expected]);
    loaded.unet.dispose();
    reference.dispose();
  });
});

Deno.test("examples/sample_pretrained.ts samples a saved diffusers folder end to end", async () => {
  await withTempDir(async (dir) => {
    const unet = createUNetFromConfig(CFG, { seed: 3 });
    await saveDiffusers(unet, new DDPMScheduler(), `${dir}/model`);
    unet.dispose();
    const root = new URL("../", import.meta.url);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        "--allow-ffi",
        `--config=${new URL("deno.json", root).pathname}`,
        new URL("examples/sample_pretrained.ts", root).pathname,
        `${dir}/model`,
        "2",
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.match(out, /wrote pretrained_samples\.png/);
    const png = await Deno.readFile(`${dir}/pretrained_samples.png`);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG file");
  });
});
