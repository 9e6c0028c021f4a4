/**
 * The residual block of the paper's UNet, with the timestep as a per-channel bias.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { _dropout } from "./_dropout.ts";
import { swish } from "./activations.ts";
import { conv2d } from "./conv2d.ts";
import { dense } from "./dense.ts";
import { groupNorm } from "./group_norm.ts";
import type { ConvWeights, DenseWeights, NormWeights } from "./layer_weights.ts";

/** Weights of {@linkcode resBlock}, named after diffusers' `ResnetBlock2D`. */
export interface ResBlockWeights {
  /** GroupNorm on the input. */
  norm1: NormWeights;
  /** 3x3 conv, in -> out channels. */
  conv1: ConvWeights;
  /** Dense from the timestep embedding to `out` channels. */
  timeEmbProj: DenseWeights;
  /** GroupNorm after the timestep bias. */
  norm2: NormWeights;
  /** 3x3 conv, out -> out; zero-initialised so the block starts as its shortcut. */
  conv2: ConvWeights;
  /** 1x1 conv on the skip path, present only when in != out channels. */
  convShortcut?: ConvWeights;
}

/** Options of {@linkcode resBlock}. */
export interface ResBlockOptions {
  /** GroupNorm groups. Default 32. */
  groups?: number;
  /** GroupNorm epsilon. Default 1e-6. */
  eps?: number;
  /** Dropout rate before the second conv, used only when `training`. Default 0. */
  dropout?: number;
  /** Enables dropout. Default false. */
  training?: boolean;
  /** Seed of the dropout mask. Default 0. */
  seed?: number;
  /**
   * Whether `temb` is already this block's projection `proj(swish(temb))`, `[batch, out]`: a
   * UNet computes every block's at once (one matmul instead of one per block). Default false.
   */
  tembProjected?: boolean;
}

/**
 * `shortcut(x) + conv2(dropout(swish(norm2(conv1(swish(norm1(x))) + proj(swish(temb))))))`.
 *
 * @param x Input, NHWC with `in` channels.
 * @param temb Timestep embedding, `[batch, tembChannels]`.
 * @param weights The block's weights.
 * @param opts Norm settings and dropout.
 * @returns NHWC with `out` channels.
 *
 * @example A fresh block (zero conv2) is its shortcut
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { resBlock } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const norm = { gamma: tf.ones([4]) as tf.Tensor1D, beta: tf.zeros([4]) as tf.Tensor1D };
 * const conv = (z: boolean) => ({
 *   kernel: (z ? tf.zeros([3, 3, 4, 4]) : tf.ones([3, 3, 4, 4])) as tf.Tensor4D,
 *   bias: tf.zeros([4]) as tf.Tensor1D,
 * });
 * const x = tf.randomNormal([1, 4, 4, 4]) as tf.Tensor4D;
 * const y = resBlock(x, tf.ones([1, 8]) as tf.Tensor2D, {
 *   norm1: norm, conv1: conv(false), norm2: norm, conv2: conv(true),
 *   timeEmbProj: { kernel: tf.ones([8, 4]) as tf.Tensor2D, bias: tf.zeros([4]) as tf.Tensor1D },
 * }, { groups: 2 });
 * if ((await tf.max(tf.abs(tf.sub(x, y))).data())[0] !== 0) throw new Error();
 * ```
 */
export function resBlock(
  x: tf.Tensor4D,
  temb: tf.Tensor2D,
  weights: ResBlockWeights,
  opts: ResBlockOptions = {},
): tf.Tensor4D {
  // Norm and swish as one op: a single kernel forward and backward where the backend has it.
  const norm = { groups: opts.groups, eps: opts.eps, swish: true };
  const rate = opts.dropout ?? 0;
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`resBlock dropout must be in [0, 1): got ${rate}`);
  }
  const outCh = weights.conv1.kernel.shape[3];
  if (opts.tembProjected && (temb.rank !== 2 || temb.shape[1] !== outCh)) {
    throw new TypeError(
      `resBlock with tembProjected expects temb of shape [batch, ${outCh}]: got [${temb.shape}]`,
    );
  }
  return tf.tidy(() => {
    let h = groupNorm(x, weights.norm1, norm);
    h = conv2d(h, weights.conv1.kernel, { bias: weights.conv1.bias });
    const tbias = opts.tembProjected ? temb : dense(swish(temb), weights.timeEmbProj);
    h = tf.add(h, tf.reshape(tbias, [-1, 1, 1, outCh]));
    h = groupNorm(h, weights.norm2, norm);
    if (opts.training && rate > 0) {
      h = _dropout(h, rate, opts.seed ?? 0);
    }
    h = conv2d(h, weights.conv2.kernel, { bias: weights.conv2.bias });
    const skip = weights.convShortcut
      ? conv2d(x, weights.convShortcut.kernel, { bias: weights.convShortcut.bias })
      : x;
    return tf.add(skip, h);
  });
}
