/**
 * Checking a UNet config before building anything from it.
 *
 * @module
 */
import type { UNetConfig } from "./unet_config.ts";

/**
 * The largest UNet a config may describe. A config comes from files (a run's config.json, a
 * diffusers config.json), so every size is capped before anything is built from it; the
 * largest published DDPMs (256x256, 114M parameters) sit well inside.
 *
 * @example
 * ```ts
 * import { presets, UNET_LIMITS } from "@x/ddpm";
 * if (presets.celebahq256.unet.resolution > UNET_LIMITS.resolution) throw new Error();
 * ```
 */
export const UNET_LIMITS: Readonly<{
  /** Image side in pixels. */
  resolution: number;
  /** Input and output channels. */
  imageChannels: number;
  /** Base channels `ch`. */
  ch: number;
  /** Channels of any level, `ch * chMult[i]`. */
  levelChannels: number;
  /** Resolution levels, `chMult.length`. */
  levels: number;
  /** Residual blocks per level. */
  numResBlocks: number;
}> = Object.freeze({
  resolution: 2048,
  imageChannels: 64,
  ch: 1024,
  levelChannels: 4096,
  levels: 10,
  numResBlocks: 16,
});

const CAPS: Record<string, number> = {
  resolution: UNET_LIMITS.resolution,
  inChannels: UNET_LIMITS.imageChannels,
  outChannels: UNET_LIMITS.imageChannels,
  ch: UNET_LIMITS.ch,
  numResBlocks: UNET_LIMITS.numResBlocks,
  numGroups: UNET_LIMITS.ch,
};

/**
 * Throws if `config` cannot describe a UNet: a TypeError for a missing or mistyped field, a
 * RangeError for a value out of range (channel counts not divisible by the groups, a
 * resolution that does not halve cleanly, attention at a resolution no level has, a size over
 * {@linkcode UNET_LIMITS}). Messages name the field, the value and the allowed range.
 *
 * @param config The config to check.
 *
 * @example
 * ```ts
 * import { presets } from "@x/ddpm";
 * import { validateUNetConfig } from "@x/ddpm/nn";
 * validateUNetConfig(presets.tiny.unet);
 * let threw = false;
 * try {
 *   validateUNetConfig({ ...presets.tiny.unet, numGroups: 5 });
 * } catch (e) {
 *   threw = e instanceof RangeError;
 * }
 * if (!threw) throw new Error("5 groups cannot divide 32 channels");
 * ```
 */
export function validateUNetConfig(config: UNetConfig): void {
  const ints = ["resolution", "inChannels", "outChannels", "ch", "numResBlocks", "numGroups"];
  const rec = config as unknown as Record<string, unknown>;
  for (const key of ints) {
    const v = rec[key];
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw new TypeError(`UNetConfig.${key} must be an integer: got ${JSON.stringify(v)}`);
    }
    if (v < (key === "numResBlocks" ? 0 : 1)) {
      throw new RangeError(`UNetConfig.${key} must be positive: got ${v}`);
    }
    const cap = CAPS[key];
    if (cap !== undefined && v > cap) {
      throw new RangeError(
        `UNetConfig.${key} must be in [${key === "numResBlocks" ? 0 : 1}, ${cap}]: got ${v}`,
      );
    }
  }
  for (const key of ["chMult", "attnResolutions"]) {
    const v = rec[key];
    if (!Array.isArray(v) || v.some((m) => !Number.isInteger(m) || m < 1)) {
      throw new TypeError(
        `UNetConfig.${key} must be an array of positive integers: got ${JSON.stringify(v)}`,
      );
    }
  }
  if (config.chMult.length === 0 || config.chMult.length > UNET_LIMITS.levels) {
    throw new RangeError(
      `UNetConfig.chMult must have 1 to ${UNET_LIMITS.levels} levels: got ${config.chMult.length}`,
    );
  }
  const widest = Math.max(...config.chMult) * config.ch;
  if (widest > UNET_LIMITS.levelChannels) {
    throw new RangeError(
      `UNetConfig.ch * chMult must be at most ${UNET_LIMITS.levelChannels} channels: got ${widest}`,
    );
  }
  if (config.attnResolutions.length > config.chMult.length) {
    throw new RangeError(
      `UNetConfig.attnResolutions has ${config.attnResolutions.length} entries for ` +
        `${config.chMult.length} levels`,
    );
  }
  if (typeof config.dropout !== "number" || !(config.dropout >= 0 && config.dropout < 1)) {
    throw new RangeError(`UNetConfig.dropout must be in [0, 1): got ${config.dropout}`);
  }
  if (typeof config.normEps !== "number" || !(config.normEps > 0)) {
    throw new RangeError(`UNetConfig.normEps must be positive: got ${config.normEps}`);
  }
  const down = 2 ** (config.chMult.length - 1);
  if (config.resolution % down !== 0) {
    throw new RangeError(
      `UNetConfig.resolution ${config.resolution} must be divisible by ${down} ` +
        `(2^(levels - 1)) for ${config.chMult.length} levels`,
    );
  }
  for (const m of config.chMult) {
    if ((config.ch * m) % config.numGroups !== 0) {
      throw new RangeError(
        `UNetConfig.numGroups ${config.numGroups} must divide every level's channels: ` +
          `${config.ch} * ${m} = ${config.ch * m} is not divisible`,
      );
    }
  }
  const levels = config.chMult.map((_, i) => config.resolution / 2 ** i);
  for (const r of config.attnResolutions) {
    if (!levels.includes(r)) {
      throw new RangeError(
        `UNetConfig.attnResolutions contains ${r}, which is not the resolution of any level ` +
          `(${levels.join(", ")}): remove it or change the resolution`,
      );
    }
  }
}
