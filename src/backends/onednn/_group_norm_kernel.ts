/**
 * The fused group-norm forward kernel on oneDNN: statistics in one JavaScript pass (float64
 * accumulators), then the normalisation, affine map and swish as one native pass on all cores.
 * The backward kernel is the cpu family's.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { GROUP_NORM, type GroupNormAttrs } from "../../kernels/_group_norm.ts";
import { _foldGroupNorm } from "../cpu/fused/_group_norm_forward.ts";
import { _groupStatsOfTensor } from "../cpu/fused/_group_stats_memo.ts";
import { _withScratch } from "../cpu/_scratch.ts";
import { _floats, type _OneDnnBackendLike } from "./_kernel_util.ts";

/**
 * The `DdpmGroupNorm` kernel for backend `name`.
 *
 * @param name The backend name.
 * @returns The kernel config; register it before the cpu family's group-norm kernels.
 */
export function groupNormKernel(name: string): tf.KernelConfig {
  return {
    kernelName: GROUP_NORM,
    backendName: name,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, gamma, beta } = inputs as Record<string, tf.TensorInfo>;
      const { groups, eps, swish } = attrs as unknown as GroupNormAttrs;
      const [n, h, w, c] = x.shape;
      if (x.shape.length !== 4 || c % groups !== 0 || gamma.shape.join() !== `${c}`) {
        throw new TypeError(
          `${GROUP_NORM} needs NHWC x with channels divisible by ${groups} and a gamma per ` +
            `channel: got x [${x.shape}], gamma [${gamma.shape}]`,
        );
      }
      const b = backend as _OneDnnBackendLike;
      const xv = _floats(b, x), g = _floats(b, gamma), be = _floats(b, beta);
      const d = { n, hw: h * w, c, groups };
      const stats = _groupStatsOfTensor(xv, d, eps);
      const y = _withScratch((scratch) => {
        const scale = scratch.f32(n * c), shift = scratch.f32(n * c);
        for (let i = 0; i < n; i++) {
          _foldGroupNorm(stats, g, be, d, i, scale.subarray(i * c), shift.subarray(i * c));
        }
        return b.onednn.scaleShift.apply(n, h * w, c, xv, scale, shift, swish);
      });
      return b.makeTensorInfo(x.shape, "float32", y);
    },
  };
}
