// Seeded values for the UNet weights that createUNet starts at zero (each res block's second
// conv, each attention projection, the head), so that every branch of a test UNet contributes.
import * as tf from "@tensorflow/tfjs";
import type { UNet } from "../mod.ts";
import { unetWeightSpecs } from "../src/nn/mod.ts";
import { mulberry32 } from "../src/random.ts";

/** Seeded uniform values in [-scale, scale]. */
export function uniform(size: number, scale: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: size }, () => (rand() * 2 - 1) * scale);
}

/** Assigns `values` to the weight `name`, in its shape. */
export function setWeight(unet: UNet, name: string, values: Float32Array): void {
  const v = unet.getWeights().get(name);
  if (!v) throw new Error(`no weight ${name}`);
  tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
}

/** Gives the zero-initialised weights seeded values: kernels at Glorot scale, biases +-0.1. */
export function fillZeroWeights(unet: UNet, seed: number): void {
  let i = 0;
  for (const spec of unetWeightSpecs(unet.config)) {
    if (spec.init !== "zeros") continue;
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const [fanIn, fanOut] = spec.shape.slice(-2);
    const scale = spec.shape.length === 1
      ? 0.1
      : Math.sqrt(6 / ((size / (fanIn * fanOut)) * (fanIn + fanOut)));
    setWeight(unet, spec.name, uniform(size, scale, seed + i++));
  }
}
