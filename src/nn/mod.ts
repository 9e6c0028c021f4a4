/**
 * The paper's UNet and its layers.
 *
 * @example
 * ```ts
 * import { setBackend } from "@x/ddpm";
 * import { createUNetFromConfig, DEFAULT_UNET_CONFIG } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const unet = createUNetFromConfig({
 *   ...DEFAULT_UNET_CONFIG,
 *   ch: 32,
 *   chMult: [1, 2],
 *   attnResolutions: [4],
 *   resolution: 8,
 * });
 * if (!(unet.numParams() > 0)) throw new Error(String(unet.numParams()));
 * unet.dispose();
 * ```
 *
 * @module
 */
export * from "./conv2d.ts";
export * from "./layer_weights.ts";
export * from "./activations.ts";
export * from "./dense.ts";
export * from "./group_norm.ts";
export * from "./timestep_embedding.ts";
export * from "./attention.ts";
export * from "./res_block.ts";
export * from "./downsample.ts";
export * from "./upsample.ts";
export * from "./validate_unet_config.ts";
export * from "./unet_weight_specs.ts";
export * from "./unet.ts";
export * from "./create_unet_from_config.ts";
export * from "./unet_config.ts";
