/**
 * The paper's setups as plain data: presets of UNet, scheduler, training and sampling configs.
 *
 * @example
 * ```ts
 * import { getPreset } from "@x/ddpm/presets";
 * const cifar10 = getPreset("cifar10");
 * if (cifar10.unet.ch !== 128 || cifar10.train.batchSize !== 128) throw new Error();
 * ```
 *
 * @module
 */
export * from "./presets.ts";
export * from "./train_config.ts";
export * from "./create_unet.ts";
export * from "./samplers.ts";
