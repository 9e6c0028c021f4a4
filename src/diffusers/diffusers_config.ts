/**
 * Translating a UNetConfig to and from a diffusers `UNet2DModel` config.json.
 *
 * @module
 */
import { _attentionLevels } from "../nn/_unet_plan.ts";
import type { UNetConfig } from "../nn/unet_config.ts";
import { validateUNetConfig } from "../nn/validate_unet_config.ts";

/**
 * The diffusers `config.json` (snake_case) of the `UNet2DModel` that has the same
 * architecture and weight names as `createUNet(config)`.
 *
 * @param config A UNet config.
 * @returns A JSON-ready object with `"_class_name": "UNet2DModel"`.
 *
 * @example
 * ```ts
 * import { presets } from "@x/ddpm";
 * import { unetConfigToDiffusers } from "@x/ddpm/diffusers";
 * const json = unetConfigToDiffusers(presets.cifar10.unet);
 * if (JSON.stringify(json.block_out_channels) !== "[128,256,256,256]") throw new Error();
 * ```
 */
export function unetConfigToDiffusers(config: UNetConfig): Record<string, unknown> {
  validateUNetConfig(config);
  const attn = _attentionLevels(config);
  return {
    _class_name: "UNet2DModel",
    sample_size: config.resolution,
    in_channels: config.inChannels,
    out_channels: config.outChannels,
    center_input_sample: false,
    time_embedding_type: "positional",
    freq_shift: 1,
    flip_sin_to_cos: false,
    down_block_types: attn.map((a) => a ? "AttnDownBlock2D" : "DownBlock2D"),
    up_block_types: [...attn].reverse().map((a) => a ? "AttnUpBlock2D" : "UpBlock2D"),
    block_out_channels: config.chMult.map((m) => config.ch * m),
    layers_per_block: config.numResBlocks,
    mid_block_scale_factor: 1,
    downsample_padding: 0,
    dropout: config.dropout,
    act_fn: "silu",
    attention_head_dim: null,
    norm_num_groups: config.numGroups,
    norm_eps: config.normEps,
    resnet_time_scale_shift: "default",
    add_attention: true,
  };
}

// diffusers' own defaults for keys a config.json may omit.
const DIFFUSERS_DEFAULTS: Record<string, unknown> = {
  in_channels: 3,
  out_channels: 3,
  center_input_sample: false,
  time_embedding_type: "positional",
  freq_shift: 0,
  flip_sin_to_cos: true,
  down_block_types: ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
  block_out_channels: [224, 448, 672, 896],
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  downsample_padding: 1,
  downsample_type: "conv",
  upsample_type: "conv",
  dropout: 0,
  act_fn: "silu",
  attention_head_dim: 8,
  norm_num_groups: 32,
  attn_norm_num_groups: null,
  norm_eps: 1e-5,
  resnet_time_scale_shift: "default",
  add_attention: true,
  class_embed_type: null,
  num_class_embeds: null,
  time_embedding_dim: null,
};

/**
 * Reads a diffusers `UNet2DModel` `config.json` into a UNetConfig, filling omitted keys with
 * diffusers' defaults. Refuses, with a RangeError that lists every reason, configs this
 * library cannot build: other model classes or block types (cross-attention, skip, ...),
 * multi-head attention, `flip_sin_to_cos: true`, `freq_shift` other than 1, symmetric
 * downsample padding, class conditioning, and so on.
 *
 * @param json The parsed config.json.
 * @returns The equivalent UNetConfig.
 *
 * @example Round trip
 * ```ts
 * import { presets } from "@x/ddpm";
 * import { unetConfigFromDiffusers, unetConfigToDiffusers } from "@x/ddpm/diffusers";
 * const cfg = unetConfigFromDiffusers(unetConfigToDiffusers(presets.cifar10.unet));
 * if (cfg.ch !== 128 || cfg.attnResolutions.join() !== "16") throw new Error();
 * ```
 */
export function unetConfigFromDiffusers(json: Record<string, unknown>): UNetConfig {
  const get = (k: string) => k in json ? json[k] : DIFFUSERS_DEFAULTS[k];
  const reasons: string[] = [];
  const want = (k: string, ok: (v: unknown) => boolean, expected: string) => {
    const v = get(k);
    if (!ok(v)) reasons.push(`${k} is ${JSON.stringify(v)}; only ${expected} is supported`);
  };
  if ("_class_name" in json && json._class_name !== "UNet2DModel") {
    reasons.push(`_class_name is ${JSON.stringify(json._class_name)}; expected "UNet2DModel"`);
  }
  want("time_embedding_type", (v) => v === "positional", '"positional"');
  want("flip_sin_to_cos", (v) => v === false, "false (sin before cos)");
  want("freq_shift", (v) => v === 1, "1");
  want("center_input_sample", (v) => v === false, "false");
  want("downsample_padding", (v) => v === 0, "0 (TensorFlow SAME padding)");
  want("downsample_type", (v) => v === "conv", '"conv"');
  want("upsample_type", (v) => v === "conv", '"conv"');
  want("mid_block_scale_factor", (v) => v === 1, "1");
  want("act_fn", (v) => v === "silu" || v === "swish", '"silu"');
  want("resnet_time_scale_shift", (v) => v === "default", '"default"');
  want("add_attention", (v) => v === true, "true");
  want("class_embed_type", (v) => v == null, "null");
  want("num_class_embeds", (v) => v == null, "null");
  want("cross_attention_dim", (v) => v == null, "null (no cross-attention)");
  const down = get("down_block_types");
  const up = get("up_block_types");
  const outs = get("block_out_channels");
  const isStrings = (v: unknown): v is string[] =>
    Array.isArray(v) && v.every((s) => typeof s === "string");
  const isInts = (v: unknown): v is number[] =>
    Array.isArray(v) && v.length > 0 && v.every((n) => Number.isInteger(n) && n > 0);
  let attnLevels: boolean[] = [];
  if (!isStrings(down) || !isStrings(up) || !isInts(outs)) {
    reasons.push("down_block_types, up_block_types and block_out_channels must be arrays");
  } else {
    for (const b of down) {
      if (b !== "DownBlock2D" && b !== "AttnDownBlock2D") {
        reasons.push(`down block type "${b}" is not supported (DownBlock2D, AttnDownBlock2D)`);
      }
    }
    for (const b of up) {
      if (b !== "UpBlock2D" && b !== "AttnUpBlock2D") {
        reasons.push(`up block type "${b}" is not supported (UpBlock2D, AttnUpBlock2D)`);
      }
    }
    attnLevels = down.map((b) => b === "AttnDownBlock2D");
    const mirrored = [...attnLevels].reverse().map((a) => a ? "AttnUpBlock2D" : "UpBlock2D");
    if (down.length !== outs.length || up.length !== outs.length) {
      reasons.push("down_block_types, up_block_types and block_out_channels differ in length");
    } else if (up.join() !== mirrored.join()) {
      reasons.push(`up_block_types must mirror down_block_types: expected ${mirrored.join(", ")}`);
    }
    if (outs.some((c) => c % outs[0] !== 0)) {
      reasons.push(`block_out_channels ${JSON.stringify(outs)} must be multiples of the first`);
    }
    const headDim = get("attention_head_dim");
    const attnChannels = [...outs.filter((_, i) => attnLevels[i]), outs[outs.length - 1]];
    if (headDim != null && attnChannels.some((c) => c !== headDim)) {
      reasons.push(
        `attention_head_dim ${headDim} means multi-head attention; only single-head ` +
          "(null, or equal to the channels of every attention level) is supported",
      );
    }
    const tdim = get("time_embedding_dim");
    if (tdim != null && tdim !== 4 * outs[0]) {
      reasons.push(`time_embedding_dim ${tdim} must be null or 4 * ${outs[0]}`);
    }
  }
  const groups = get("norm_num_groups");
  const attnGroups = get("attn_norm_num_groups");
  if (attnGroups != null && attnGroups !== groups) {
    reasons.push(`attn_norm_num_groups ${attnGroups} must be null or equal norm_num_groups`);
  }
  const sample = get("sample_size");
  const resolution = Array.isArray(sample) && sample.length === 2 && sample[0] === sample[1]
    ? sample[0]
    : sample;
  if (!Number.isInteger(resolution)) {
    reasons.push(`sample_size ${JSON.stringify(sample)} must be an integer (square images)`);
  }
  if (reasons.length) {
    throw new RangeError(
      `Cannot build a UNet from this diffusers config (${reasons.length} reason${
        reasons.length > 1 ? "s" : ""
      }): ${reasons.join("; ")}`,
    );
  }
  const ch = (outs as number[])[0];
  const config: UNetConfig = {
    resolution: resolution as number,
    inChannels: get("in_channels") as number,
    outChannels: get("out_channels") as number,
    ch,
    chMult: (outs as number[]).map((c) => c / ch),
    numResBlocks: get("layers_per_block") as number,
    attnResolutions: attnLevels.flatMap((a, i) => a ? [(resolution as number) / 2 ** i] : []),
    dropout: get("dropout") as number,
    numGroups: groups as number,
    normEps: get("norm_eps") as number,
  };
  validateUNetConfig(config);
  return config;
}
