/**
 * The paper's setups as plain data: presets of UNet, scheduler, training and sampling configs.
 *
 * @module
 */
export * from "./presets.ts";
export * from "./train_config.ts";
export * from "./create_unet.ts";
