/**
 * The paper's UNet and its layers.
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
