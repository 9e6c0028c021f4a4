/**
 * The configuration of the paper's UNet.
 *
 * @module
 */

/**
 * Every knob of the UNet of Ho et al. (2020). The presets in `presets` fill it with the
 * paper's settings. Field names follow the reference code; the comments give the matching
 * key of a diffusers `UNet2DModel` config.
 */
export interface UNetConfig {
  /** Height and width of the images (diffusers `sample_size`). */
  resolution: number;
  /** Channels of the input image. Default 3 (`in_channels`). */
  inChannels: number;
  /** Channels of the output. 3 for epsilon prediction; 6 with a learned variance (`out_channels`). */
  outChannels: number;
  /** Base channel count; level i has ch * chMult[i] channels (`block_out_channels`). */
  ch: number;
  /** Channel multiplier per resolution level. */
  chMult: number[];
  /** Residual blocks per level in the encoder; the decoder runs one more (`layers_per_block`). */
  numResBlocks: number;
  /** Resolutions (in pixels) at which self-attention follows each residual block. */
  attnResolutions: number[];
  /** Dropout rate inside residual blocks, applied only when training. */
  dropout: number;
  /** Groups of every GroupNorm. Default 32 (`norm_num_groups`). */
  numGroups: number;
  /** Epsilon of every GroupNorm. Default 1e-6 (`norm_eps`). */
  normEps: number;
}

/** Defaults for the fields a user may leave out: the reference code's. */
export const DEFAULT_UNET_CONFIG: Readonly<UNetConfig> = Object.freeze({
  resolution: 32,
  inChannels: 3,
  outChannels: 3,
  ch: 128,
  chMult: [1, 2, 2, 2],
  numResBlocks: 2,
  attnResolutions: [16],
  dropout: 0.1,
  numGroups: 32,
  normEps: 1e-6,
});
