/**
 * The list of a UNet's weights: diffusers names, TF.js shapes and initialisers.
 *
 * @module
 */
import { _planUNet, type _ResPlan } from "./_unet_plan.ts";
import type { UNetConfig } from "./unet_config.ts";
import { validateUNetConfig } from "./validate_unet_config.ts";

/**
 * How a weight starts: `"glorot"` uniform (fan-average variance scaling, as in the
 * reference code), `"zeros"` (biases, and the layers that end a residual branch), or
 * `"ones"` (norm scales).
 */
export type WeightInit = "glorot" | "zeros" | "ones";

/** One weight of the UNet. */
export interface WeightSpec {
  /** The diffusers `UNet2DModel` state-dict key, e.g. `mid_block.resnets.0.conv1.weight`. */
  name: string;
  /** Shape in TF.js layout: conv `[kh, kw, in, out]`, dense `[in, out]`, vectors `[n]`. */
  shape: number[];
  /** Initialiser. */
  init: WeightInit;
}

/**
 * Lists every weight of the UNet a config describes, in a fixed order, without creating any
 * tensor: the names a checkpoint must provide and the shapes they take in TF.js layout.
 *
 * @param config A complete UNet config.
 * @returns The weight specs.
 *
 * @example
 * ```ts
 * import { presets } from "@x/ddpm";
 * import { unetWeightSpecs } from "@x/ddpm/nn";
 * const specs = unetWeightSpecs(presets.cifar10.unet);
 * if (specs[0].name !== "conv_in.weight" || specs[0].shape.join() !== "3,3,3,128") {
 *   throw new Error(JSON.stringify(specs[0]));
 * }
 * ```
 */
export function unetWeightSpecs(config: UNetConfig): WeightSpec[] {
  validateUNetConfig(config);
  const plan = _planUNet(config);
  const specs: WeightSpec[] = [];
  const conv = (p: string, k: number, i: number, o: number, init: WeightInit = "glorot") => {
    specs.push({ name: `${p}.weight`, shape: [k, k, i, o], init });
    specs.push({ name: `${p}.bias`, shape: [o], init: "zeros" });
  };
  const lin = (p: string, i: number, o: number, init: WeightInit = "glorot") => {
    specs.push({ name: `${p}.weight`, shape: [i, o], init });
    specs.push({ name: `${p}.bias`, shape: [o], init: "zeros" });
  };
  const norm = (p: string, c: number) => {
    specs.push({ name: `${p}.weight`, shape: [c], init: "ones" });
    specs.push({ name: `${p}.bias`, shape: [c], init: "zeros" });
  };
  const res = (r: _ResPlan) => {
    norm(`${r.prefix}.norm1`, r.inCh);
    conv(`${r.prefix}.conv1`, 3, r.inCh, r.outCh);
    lin(`${r.prefix}.time_emb_proj`, plan.tembCh, r.outCh);
    norm(`${r.prefix}.norm2`, r.outCh);
    conv(`${r.prefix}.conv2`, 3, r.outCh, r.outCh, "zeros");
    if (r.inCh !== r.outCh) conv(`${r.prefix}.conv_shortcut`, 1, r.inCh, r.outCh);
  };
  const attn = (p: string, c: number) => {
    norm(`${p}.group_norm`, c);
    for (const q of ["to_q", "to_k", "to_v"]) lin(`${p}.${q}`, c, c);
    lin(`${p}.to_out.0`, c, c, "zeros");
  };
  conv("conv_in", 3, config.inChannels, plan.ch);
  lin("time_embedding.linear_1", plan.ch, plan.tembCh);
  lin("time_embedding.linear_2", plan.tembCh, plan.tembCh);
  for (const level of [...plan.down, ...plan.up]) {
    level.resnets.forEach((r, j) => {
      res(r);
      if (level.attentions.length) attn(level.attentions[j], level.channels);
    });
    if (level.sampler) conv(level.sampler, 3, level.channels, level.channels);
    if (level === plan.down[plan.down.length - 1]) {
      res(plan.mid.resnets[0]);
      attn(plan.mid.attention, plan.mid.channels);
      res(plan.mid.resnets[1]);
    }
  }
  norm("conv_norm_out", plan.ch);
  conv("conv_out", 3, plan.ch, config.outChannels, "zeros");
  return specs;
}

/**
 * Counts the parameters of the UNet a config describes, without building it.
 *
 * @param config A complete UNet config.
 * @returns The number of scalar parameters.
 *
 * @example The paper's CIFAR10 model
 * ```ts
 * import { presets } from "@x/ddpm";
 * import { countUNetParams } from "@x/ddpm/nn";
 * if (countUNetParams(presets.cifar10.unet) !== 35_746_307) throw new Error();
 * ```
 */
export function countUNetParams(config: UNetConfig): number {
  let total = 0;
  for (const s of unetWeightSpecs(config)) total += s.shape.reduce((a, b) => a * b, 1);
  return total;
}
