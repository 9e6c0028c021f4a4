/**
 * The paper's UNet as a set of named variables and a forward pass over them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "../random.ts";
import { _planUNet, type _ResPlan, type _UNetPlan } from "./_unet_plan.ts";
import { swish } from "./activations.ts";
import { selfAttention } from "./attention.ts";
import { conv2d } from "./conv2d.ts";
import { matMul2d } from "./dense.ts";
import { downsample } from "./downsample.ts";
import { groupNorm } from "./group_norm.ts";
import type { ConvWeights, DenseWeights, NormWeights } from "./layer_weights.ts";
import { resBlock } from "./res_block.ts";
import { timestepEmbedding } from "./timestep_embedding.ts";
import type { UNetConfig } from "./unet_config.ts";
import { upsample } from "./upsample.ts";

/** Options of {@linkcode UNet.predict}. */
export interface PredictOptions {
  /** Enables dropout. Default false. */
  training?: boolean;
  /**
   * Seed of the dropout masks; only read when training. Default: a counter advanced on
   * every training call, so repeated calls draw different masks in a reproducible order.
   */
  seed?: number;
}

/** A UNet that predicts the noise in a noisy image (the paper's epsilon_theta). */
export interface UNet {
  /** The architecture. */
  readonly config: UNetConfig;
  /**
   * Predicts the noise; the output has the shape of `x`.
   *
   * @param x Noisy images, NHWC float32, height and width divisible by 2^(levels - 1).
   * @param t Timesteps, int32 `[batch]`.
   * @param opts Training mode and dropout seed.
   */
  predict(x: tf.Tensor4D, t: tf.Tensor1D, opts?: PredictOptions): tf.Tensor4D;
  /** The number of scalar parameters. */
  numParams(): number;
  /**
   * The live variables keyed by diffusers `UNet2DModel` state-dict names, in TF.js layout
   * (conv HWIO, dense `[in, out]`).
   */
  getWeights(): Map<string, tf.Variable>;
  /**
   * Copies values in, checking that every name exists and shapes match; throws listing the
   * missing, unexpected and mis-shaped keys.
   */
  setWeights(weights: Map<string, tf.Tensor>): void;
  /** Frees the variables. */
  dispose(): void;
}

/**
 * The UNet over a map of variables. Build one with `createUNet`; the constructor takes
 * ownership of the variables.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createUNet, setBackend } from "@x/ddpm";
 * import { UNetModel } from "@x/ddpm/nn";
 * await setBackend("wasm");
 * const unet = createUNet("tiny", { seed: 1 });
 * if (!(unet instanceof UNetModel)) throw new Error();
 * const eps = unet.predict(tf.zeros([1, 32, 32, 3]), tf.tensor1d([10], "int32"));
 * if (eps.shape.join() !== "1,32,32,3") throw new Error();
 * unet.dispose();
 * ```
 */
export class UNetModel implements UNet {
  /** The architecture. */
  readonly config: UNetConfig;
  #weights: Map<string, tf.Variable>;
  #plan: _UNetPlan;
  #trainCalls = 0;
  #seed: number;

  /**
   * Wraps existing variables.
   *
   * @param config A validated config.
   * @param weights Variables named and shaped as `unetWeightSpecs(config)` lists.
   * @param seed Base of the default dropout seeds.
   */
  constructor(config: UNetConfig, weights: Map<string, tf.Variable>, seed = 0) {
    this.config = config;
    this.#weights = weights;
    this.#plan = _planUNet(config);
    this.#seed = seed;
  }

  /**
   * Predicts the noise in `x` at timesteps `t`.
   *
   * @param x Noisy images, NHWC.
   * @param t Timesteps, `[batch]`.
   * @param opts Training mode and dropout seed.
   * @returns The predicted noise, same shape as `x`.
   */
  predict(x: tf.Tensor4D, t: tf.Tensor1D, opts: PredictOptions = {}): tf.Tensor4D {
    this.#checkInputs(x, t);
    const training = opts.training ?? false;
    const seed = opts.seed ?? (training ? deriveSeed(this.#seed, this.#trainCalls++) : 0);
    const cfg = this.config;
    const normOpts = { groups: cfg.numGroups, eps: cfg.normEps };
    let block = 0;
    const res = (h: tf.Tensor4D, tembs: Map<string, tf.Tensor2D>, r: _ResPlan) =>
      resBlock(h, tembs.get(r.prefix)!, this.#res(r.prefix), {
        ...normOpts,
        tembProjected: true,
        dropout: cfg.dropout,
        training,
        // tfjs treats a dropout seed of 0 as "unseeded".
        seed: deriveSeed(seed, block++) + 1,
      });
    const attn = (h: tf.Tensor4D, prefix: string) => selfAttention(h, this.#attn(prefix), normOpts);
    return tf.tidy(() => {
      const plan = this.#plan;
      const temb = this.#blockEmbeddings(timestepEmbedding(t, {
        linear1: this.#dense("time_embedding.linear_1"),
        linear2: this.#dense("time_embedding.linear_2"),
      }));
      const conv = this.#conv("conv_in");
      let h = conv2d(x, conv.kernel, { bias: conv.bias });
      const skips: tf.Tensor4D[] = [h];
      for (const level of plan.down) {
        level.resnets.forEach((r, j) => {
          h = res(h, temb, r);
          if (level.attentions.length) h = attn(h, level.attentions[j]);
          skips.push(h);
        });
        if (level.sampler) {
          h = downsample(h, this.#conv(level.sampler));
          skips.push(h);
        }
      }
      h = res(h, temb, plan.mid.resnets[0]);
      h = attn(h, plan.mid.attention);
      h = res(h, temb, plan.mid.resnets[1]);
      for (const level of plan.up) {
        level.resnets.forEach((r, j) => {
          h = res(tf.concat([h, skips.pop()!], 3), temb, r);
          if (level.attentions.length) h = attn(h, level.attentions[j]);
        });
        if (level.sampler) h = upsample(h, this.#conv(level.sampler));
      }
      h = groupNorm(h, this.#norm("conv_norm_out"), { ...normOpts, swish: true });
      const out = this.#conv("conv_out");
      return conv2d(h, out.kernel, { bias: out.bias });
    });
  }

  /**
   * Every residual block's projection of the timestep embedding, `proj(swish(temb))`, by block
   * prefix. All blocks read the same `swish(temb)`, so it is computed once and all projections
   * are one matmul against the blocks' kernels side by side: a few ops on the tape instead of
   * several per block, which is most of the cost of these tiny products.
   */
  #blockEmbeddings(temb: tf.Tensor2D): Map<string, tf.Tensor2D> {
    const plan = this.#plan;
    const blocks = [...plan.down, plan.mid, ...plan.up].flatMap((level) => level.resnets);
    const projs = blocks.map((r) => this.#dense(`${r.prefix}.time_emb_proj`));
    const kernel = tf.concat(projs.map((p) => p.kernel), 1) as tf.Tensor2D;
    const bias = tf.concat(projs.map((p) => p.bias), 0) as tf.Tensor1D;
    const all = matMul2d(swish(temb), kernel, bias);
    const parts = tf.split(all, projs.map((p) => p.kernel.shape[1]), 1) as tf.Tensor2D[];
    return new Map(blocks.map((r, i) => [r.prefix, parts[i]]));
  }

  /**
   * Counts the scalar parameters.
   *
   * @returns The sum of the variables' sizes.
   */
  numParams(): number {
    let n = 0;
    for (const v of this.#weights.values()) n += v.size;
    return n;
  }

  /**
   * The live variables by diffusers name.
   *
   * @returns The model's own map (a copy of the map, the same variables).
   */
  getWeights(): Map<string, tf.Variable> {
    return new Map(this.#weights);
  }

  /**
   * Assigns new values to every variable.
   *
   * @param weights A tensor for every name of `getWeights()`, same shapes, TF.js layout.
   */
  setWeights(weights: Map<string, tf.Tensor>): void {
    const missing = [...this.#weights.keys()].filter((k) => !weights.has(k));
    const unexpected = [...weights.keys()].filter((k) => !this.#weights.has(k));
    const misShaped: string[] = [];
    for (const [k, v] of this.#weights) {
      const w = weights.get(k);
      if (w && w.shape.join() !== v.shape.join()) {
        misShaped.push(`${k} (expected [${v.shape}], got [${w.shape}])`);
      }
    }
    if (missing.length || unexpected.length || misShaped.length) {
      const list = (label: string, xs: string[]) =>
        xs.length ? `\n  ${label} (${xs.length}): ${xs.slice(0, 20).join(", ")}` : "";
      throw new TypeError(
        "Cannot set UNet weights:" + list("missing", missing) +
          list("unexpected", unexpected) + list("mis-shaped", misShaped),
      );
    }
    for (const [k, v] of this.#weights) {
      const w = weights.get(k)!;
      tf.tidy(() => v.assign(w.dtype === "float32" ? w : tf.cast(w, "float32")));
    }
  }

  /** Disposes every variable; the model cannot be used afterwards. */
  dispose(): void {
    for (const v of this.#weights.values()) v.dispose();
    this.#weights.clear();
  }

  #checkInputs(x: tf.Tensor4D, t: tf.Tensor1D): void {
    const cfg = this.config;
    const div = 2 ** (cfg.chMult.length - 1);
    if (x.rank !== 4 || x.shape[3] !== cfg.inChannels) {
      throw new TypeError(
        `UNet.predict expects x of shape [batch, height, width, ${cfg.inChannels}]: ` +
          `got [${x.shape}]`,
      );
    }
    if (x.shape[1] % div !== 0 || x.shape[2] % div !== 0) {
      throw new TypeError(
        `UNet.predict needs height and width divisible by ${div}: got ${x.shape[1]}x${x.shape[2]}`,
      );
    }
    if (t.rank !== 1 || t.shape[0] !== x.shape[0]) {
      throw new TypeError(
        `UNet.predict expects t of shape [${
          x.shape[0]
        }] (one timestep per image): got [${t.shape}]`,
      );
    }
    if (this.#weights.size === 0) {
      throw new TypeError("UNet.predict was called after dispose()");
    }
  }

  #get<T extends tf.Tensor>(name: string): T {
    const v = this.#weights.get(name);
    if (!v) throw new TypeError(`UNet has no weight "${name}"`);
    return v as unknown as T;
  }

  #conv(p: string): ConvWeights {
    return { kernel: this.#get(`${p}.weight`), bias: this.#get(`${p}.bias`) };
  }

  #dense(p: string): DenseWeights {
    return { kernel: this.#get(`${p}.weight`), bias: this.#get(`${p}.bias`) };
  }

  #norm(p: string): NormWeights {
    return { gamma: this.#get(`${p}.weight`), beta: this.#get(`${p}.bias`) };
  }

  #res(p: string) {
    return {
      norm1: this.#norm(`${p}.norm1`),
      conv1: this.#conv(`${p}.conv1`),
      timeEmbProj: this.#dense(`${p}.time_emb_proj`),
      norm2: this.#norm(`${p}.norm2`),
      conv2: this.#conv(`${p}.conv2`),
      convShortcut: this.#weights.has(`${p}.conv_shortcut.weight`)
        ? this.#conv(`${p}.conv_shortcut`)
        : undefined,
    };
  }

  #attn(p: string) {
    return {
      norm: this.#norm(`${p}.group_norm`),
      q: this.#dense(`${p}.to_q`),
      k: this.#dense(`${p}.to_k`),
      v: this.#dense(`${p}.to_v`),
      out: this.#dense(`${p}.to_out.0`),
    };
  }
}
