/**
 * Hugging Face diffusers folders: the `UNet2DModel` config and weight layout, loading a model
 * or pipeline folder, and saving one.
 *
 * @example
 * ```ts
 * import { unetConfigFromDiffusers, unetConfigToDiffusers } from "@x/ddpm/diffusers";
 * import { presets } from "@x/ddpm/presets";
 * const json = unetConfigToDiffusers(presets.cifar10.unet); // diffusers' UNet2DModel config.json
 * if (unetConfigFromDiffusers(json).ch !== 128) throw new Error(JSON.stringify(json));
 * ```
 *
 * @module
 */
export * from "./diffusers_layout.ts";
export * from "./diffusers_config.ts";
export * from "./pretrained.ts";
export * from "./download_pretrained.ts";
export * from "./save_diffusers.ts";
export * from "./emoji_model.ts";
