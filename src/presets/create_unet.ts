/**
 * Building a fresh UNet from a config or a preset's name.
 *
 * @module
 */
import { createUNetFromConfig, type CreateUNetOptions } from "../nn/create_unet_from_config.ts";
import type { UNet } from "../nn/unet.ts";
import type { UNetConfig } from "../nn/unet_config.ts";
import { getPreset, type PresetName } from "./presets.ts";

/**
 * Creates the paper's UNet (diffusers' `UNet2DModel` layer for layer) with fresh weights, from
 * a config or the name of a preset (its `unet` config). The weights are those of the config
 * form in `@x/ddpm/nn`: Glorot-uniform kernels, zero biases, unit norm scales, and zero
 * kernels for the layers that end a residual branch, so a new model predicts exactly zero.
 *
 * @param config A config (missing fields take `DEFAULT_UNET_CONFIG`) or a preset name.
 * @param opts The seed.
 * @returns A UNet; call `dispose()` when done.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createUNet, setBackend } from "@x/ddpm";
 * await setBackend("wasm");
 * const unet = createUNet("tiny", { seed: 0 });
 * const eps = unet.predict(tf.randomNormal([2, 32, 32, 3]), tf.tensor1d([1, 999], "int32"));
 * if (tf.max(tf.abs(eps)).dataSync()[0] !== 0) throw new Error("a fresh UNet predicts 0");
 * unet.dispose();
 * ```
 */
export function createUNet(
  config: UNetConfig | PresetName,
  opts: CreateUNetOptions = {},
): UNet {
  const cfg = typeof config === "string" ? getPreset(config).unet : config;
  return createUNetFromConfig(cfg, opts);
}
