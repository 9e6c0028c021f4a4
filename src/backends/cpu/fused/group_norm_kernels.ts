/**
 * The fused group-norm kernels for TF.js's cpu-family backends.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  _checkGroups,
  GROUP_NORM,
  GROUP_NORM_GRAD,
  type GroupNormAttrs,
} from "../../../kernels/_group_norm.ts";
import { _groupStatsOfTensor } from "./_group_stats_memo.ts";
import { _float32Values, _input, _makeFloat32, _outputAlloc } from "../_cpu_family.ts";
import { _groupNormBackward } from "./_group_norm_backward.ts";
import { _groupNormForward } from "./_group_norm_forward.ts";
import type { _GroupNormDims } from "./_group_norm_stats.ts";

/**
 * Registers `DdpmGroupNorm` and `DdpmGroupNormGrad` for a backend that keeps float32 tensors
 * as Float32Arrays: `cpu` or one extending it. `groupNorm` then runs as one kernel on that
 * backend, forward and backward. Calling it again for the same backend does nothing.
 *
 * @param backendName The TF.js backend name, e.g. `"cpu"`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { groupNorm } from "@x/ddpm/nn";
 * import { registerGroupNormKernels } from "./group_norm_kernels.ts";
 * await setBackend("cpu");
 * registerGroupNormKernels("cpu");
 * if (!tf.getKernel("DdpmGroupNorm", "cpu")) throw new Error("not registered");
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * const y = groupNorm(x, { gamma: tf.ones([1]), beta: tf.zeros([1]) }, { groups: 1 });
 * if (Math.abs((await tf.sum(y).data())[0]) > 1e-5) throw new Error("mean not removed");
 * ```
 */
export function registerGroupNormKernels(backendName: string): void {
  if (!tf.getKernel(GROUP_NORM, backendName)) {
    tf.registerKernel({ kernelName: GROUP_NORM, backendName, kernelFunc: groupNormKernel });
  }
  if (!tf.getKernel(GROUP_NORM_GRAD, backendName)) {
    tf.registerKernel({
      kernelName: GROUP_NORM_GRAD,
      backendName,
      kernelFunc: groupNormGradKernel,
    });
  }
}

const groupNormKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const [x, gamma, beta] = ["x", "gamma", "beta"].map((k) => _input(inputs, k, GROUP_NORM));
  const { eps, swish } = attrs as GroupNormAttrs;
  const d = dims(x, gamma, beta, attrs as GroupNormAttrs);
  const xv = _float32Values(backend, x, GROUP_NORM);
  const y = _groupNormForward(
    xv,
    _float32Values(backend, gamma, GROUP_NORM),
    _float32Values(backend, beta, GROUP_NORM),
    d,
    { eps, swish, stats: _groupStatsOfTensor(xv, d, eps) },
    _outputAlloc(backend),
  );
  return _makeFloat32(backend, x.shape, y);
};

const groupNormGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const [dy, x, gamma, beta] = ["dy", "x", "gamma", "beta"].map((k) =>
    _input(inputs, k, GROUP_NORM_GRAD)
  );
  const { eps, swish } = attrs as GroupNormAttrs;
  const d = dims(x, gamma, beta, attrs as GroupNormAttrs);
  const values = (t: tf.TensorInfo) => _float32Values(backend, t, GROUP_NORM_GRAD);
  if (dy.shape.join() !== x.shape.join()) {
    throw new TypeError(`${GROUP_NORM_GRAD} dy must have the shape of x: got ${dy.shape}`);
  }
  const g = _groupNormBackward(
    values(dy),
    values(x),
    values(gamma),
    values(beta),
    d,
    // The forward's output, when the gradient saved it, spares an exp per element.
    {
      eps,
      swish,
      y: inputs.y ? values(inputs.y) : undefined,
      stats: _groupStatsOfTensor(values(x), d, eps),
    },
    _outputAlloc(backend),
  );
  return [
    _makeFloat32(backend, x.shape, g.dx),
    _makeFloat32(backend, gamma.shape, g.dgamma),
    _makeFloat32(backend, beta.shape, g.dbeta),
  ];
};

/** Checks the arguments the op also checks, since a backend may be driven directly. */
function dims(
  x: tf.TensorInfo,
  gamma: tf.TensorInfo,
  beta: tf.TensorInfo,
  attrs: GroupNormAttrs,
): _GroupNormDims {
  if (x.shape.length !== 4) {
    throw new TypeError(`${GROUP_NORM} x must be NHWC (rank 4): got shape ${x.shape}`);
  }
  const [n, h, w, c] = x.shape;
  _checkGroups(c, attrs.groups);
  const size = (t: tf.TensorInfo) => t.shape.reduce((p, q) => p * q, 1);
  if (size(gamma) !== c || size(beta) !== c) {
    throw new TypeError(`${GROUP_NORM} gamma and beta must have ${c} values, one per channel`);
  }
  return { n, hw: h * w, c, groups: attrs.groups };
}
