/**
 * Hugging Face diffusers folders: the `UNet2DModel` config and weight layout, loading a model
 * or pipeline folder, and saving one.
 *
 * @module
 */
export * from "./diffusers_layout.ts";
export * from "./diffusers_config.ts";
export * from "./pretrained.ts";
export * from "./download_pretrained.ts";
export * from "./save_diffusers.ts";
