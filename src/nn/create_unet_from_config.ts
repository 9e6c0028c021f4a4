/**
 * Building a freshly initialised UNet.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed, mulberry32 } from "../random.ts";
import { type UNet, UNetModel } from "./unet.ts";
import { DEFAULT_UNET_CONFIG, type UNetConfig } from "./unet_config.ts";
import { unetWeightSpecs, type WeightSpec } from "./unet_weight_specs.ts";
import { validateUNetConfig } from "./validate_unet_config.ts";

/** Options of {@linkcode createUNetFromConfig}. */
export interface CreateUNetOptions {
  /** Seed of the initial weights (and the base of default dropout seeds). Default 0. */
  seed?: number;
}

/**
 * Creates the paper's UNet (diffusers' `UNet2DModel` layer for layer) with fresh weights:
 * Glorot-uniform kernels, zero biases, unit norm scales, and zero kernels for the layers
 * that end a residual branch (each res block's second conv, each attention output, the
 * head), so a new model predicts exactly zero. The same seed gives the same weights on
 * every backend.
 *
 * This is the layer below presets: the `createUNet` of the package root also takes a preset
 * name (`createUNet("tiny")`).
 *
 * @param config A config; missing fields take `DEFAULT_UNET_CONFIG`.
 * @param opts The seed.
 * @returns A UNet; call `dispose()` when done.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { createUNetFromConfig, DEFAULT_UNET_CONFIG } from "@x/ddpm/nn";
 * await setBackend("wasm");
 * const small = { ...DEFAULT_UNET_CONFIG, resolution: 8, ch: 16, chMult: [1, 2], numGroups: 8 };
 * const unet = createUNetFromConfig({ ...small, numResBlocks: 1, attnResolutions: [4] }, { seed: 0 });
 * const eps = unet.predict(tf.randomNormal([2, 8, 8, 3]), tf.tensor1d([1, 999], "int32"));
 * if ((await tf.max(tf.abs(eps)).data())[0] !== 0) throw new Error("a fresh UNet predicts 0");
 * unet.dispose();
 * ```
 */
export function createUNetFromConfig(config: UNetConfig, opts: CreateUNetOptions = {}): UNet {
  const cfg: UNetConfig = {
    ...structuredClone(DEFAULT_UNET_CONFIG) as UNetConfig,
    ...structuredClone(config),
  };
  validateUNetConfig(cfg);
  const seed = opts.seed ?? 0;
  const weights = new Map<string, tf.Variable>();
  for (const spec of unetWeightSpecs(cfg)) {
    const values = initialValues(spec, seed);
    weights.set(spec.name, tf.tidy(() => tf.variable(tf.tensor(values, spec.shape))));
  }
  return new UNetModel(cfg, weights, seed);
}

function initialValues(spec: WeightSpec, seed: number): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  if (spec.init === "ones") values.fill(1);
  if (spec.init !== "glorot") return values;
  // Fan-average variance scaling: kernels are [..., in, out] with the receptive field first.
  const [fanIn, fanOut] = spec.shape.slice(-2);
  const field = size / (fanIn * fanOut);
  const limit = Math.sqrt(6 / (field * (fanIn + fanOut)));
  const rand = mulberry32(deriveSeed(seed, hashName(spec.name)));
  for (let i = 0; i < size; i++) values[i] = (rand() * 2 - 1) * limit;
  return values;
}

/** FNV-1a: a stable number per weight name, so each weight's draw is independent of order. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
