// A tiny model with every weight away from its initial value (the initial head is zero, so an
// untrained UNet predicts zero noise and would make any comparison of samplers trivial), saved
// as a run folder the way `deno task train` writes one.
import * as tf from "@tensorflow/tfjs";
import { createUNet, DEFAULT_TRAIN_CONFIG, presets, type UNet, type UNetConfig } from "../mod.ts";
import { mulberry32 } from "../src/random.ts";
import { checkpointName, type RunConfig, saveCheckpoint } from "../src/train/mod.ts";

/** 16x16, two levels, attention at 8x8: a few milliseconds per forward pass. */
export const DEMO_UNET: UNetConfig = {
  ...presets.tiny.unet,
  resolution: 16,
  ch: 16,
  chMult: [1, 2],
  numResBlocks: 1,
  attnResolutions: [8],
  numGroups: 8,
};

/** Every weight plus uniform noise in [-scale, scale], drawn from `seed`. */
export function perturbedWeights(unet: UNet, seed: number, scale = 0.05): Map<string, tf.Tensor> {
  const rand = mulberry32(seed);
  const out = new Map<string, tf.Tensor>();
  for (const [name, v] of unet.getWeights()) {
    const data = Float32Array.from(
      v.dataSync() as Float32Array,
      (w) => w + scale * (2 * rand() - 1),
    );
    out.set(name, tf.tensor(data, v.shape));
  }
  return out;
}

/**
 * Writes `<dir>/config.json` and one checkpoint whose EMA weights and live weights differ.
 *
 * @returns The EMA weights (what sampling from the run must use), as host arrays by name.
 */
export async function writeDemoRun(dir: string): Promise<Map<string, Float32Array>> {
  const unet = createUNet(DEMO_UNET, { seed: 0 });
  const model = perturbedWeights(unet, 1);
  const ema = perturbedWeights(unet, 2);
  unet.dispose();
  const config: RunConfig = {
    format: "ddpm-run-v1",
    preset: null,
    unet: DEMO_UNET,
    scheduler: presets.tiny.scheduler,
    train: { ...DEFAULT_TRAIN_CONFIG, batchSize: 2, steps: 1 },
    data: "demo-test",
    seed: 0,
  };
  await Deno.mkdir(`${dir}/checkpoints`, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2));
  await saveCheckpoint(`${dir}/checkpoints/${checkpointName(1)}`, {
    step: 1,
    model,
    ema,
    metadata: {},
  });
  const host = new Map([...ema].map(([k, t]) => [k, t.dataSync() as Float32Array]));
  tf.dispose([...model.values(), ...ema.values()]);
  return host;
}
