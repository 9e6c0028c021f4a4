/**
 * Adam with gradient clipping at a global norm and an exponential moving average of the
 * weights: the update rule of the paper's training, on named tensors.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  _ownData,
  ADAM,
  ADAM_ALL,
  type AdamAllAttrs,
  type AdamAttrs,
  EMA,
  EMA_ALL,
  type EmaAllAttrs,
  type EmaAttrs,
  SUM_SQUARES,
  SUM_SQUARES_ALL,
  type SumSquaresAllAttrs,
} from "../kernels/_optimizer.ts";

/** Adam's hyperparameters for one update. */
export interface AdamSettings {
  /** Learning rate of this step (after warmup). */
  learningRate: number;
  /** Default 0.9. */
  beta1: number;
  /** Default 0.999. */
  beta2: number;
  /** Default 1e-8. */
  epsilon: number;
}

/** Adam's moments for each weight, keyed by weight name. */
export interface AdamState {
  /** First moments. */
  m: Map<string, tf.Variable>;
  /** Second moments. */
  v: Map<string, tf.Variable>;
}

/**
 * Makes zeroed Adam moments for every weight.
 *
 * @param weights The weights to optimise.
 * @returns First and second moments, all zeros.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createAdamState, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const w = new Map([["w", tf.variable(tf.ones([2]))]]);
 * const state = createAdamState(w);
 * if (state.m.get("w")!.shape[0] !== 2) throw new Error();
 * ```
 */
export function createAdamState(weights: Map<string, tf.Tensor>): AdamState {
  const m = new Map<string, tf.Variable>();
  const v = new Map<string, tf.Variable>();
  for (const [name, w] of weights) {
    // tidy disposes the zeros; the variables keep their own copies.
    m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(w), false, undefined, "float32")));
    v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(w), false, undefined, "float32")));
  }
  return { m, v };
}

/**
 * The L2 norm of all gradients taken together, computed on the device.
 *
 * On a backend that registers `DdpmSumSquares` (see `registerOptimizerKernels`) each
 * gradient's sum of squares is one pass, accumulated in float64.
 *
 * @param grads Gradients keyed by weight name.
 * @returns A scalar tensor.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { globalNorm } from "@x/ddpm/train";
 * await setBackend("cpu");
 * const n = globalNorm({ a: tf.tensor([3]), b: tf.tensor([4]) });
 * if ((await n.data())[0] !== 5) throw new Error();
 * ```
 */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    const all = Object.values(grads);
    if (hasKernel(SUM_SQUARES_ALL)) {
      const attrs: SumSquaresAllAttrs = { count: all.length };
      const inputs = Object.fromEntries(all.map((g, i) => [`x${i}`, g]));
      return tf.sqrt(tf.engine().runKernel<tf.Scalar>(SUM_SQUARES_ALL, inputs, attrs));
    }
    const fused = hasKernel(SUM_SQUARES);
    const squares = all.map((g) =>
      fused ? tf.engine().runKernel<tf.Scalar>(SUM_SQUARES, { x: g }) : tf.sum(tf.square(g))
    );
    // A stack, not addN: WebGPU's AddN binds every input to one shader, and past the device's
    // storage-buffer limit (8 by default) it fails and leaves zeros; Concat splits its inputs.
    return tf.sqrt(tf.sum(tf.stack(squares))) as tf.Scalar;
  });
}

/**
 * The factor that scales a step's gradients, computed on the device: min(1, maxNorm / norm)
 * (clipping at a global norm, as the paper's training), 1 without clipping, and 0 when the
 * norm or the loss is not finite, which {@linkcode adamUpdate} and {@linkcode emaUpdate} take
 * as "skip this step". Nothing is read back to the host.
 *
 * @param norm The global gradient norm ({@linkcode globalNorm}).
 * @param loss The step's loss, checked for finiteness with the norm; optional.
 * @param maxNorm The clipping norm; 0 or less for no clipping.
 * @returns A float32 scalar tensor.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { clipFactor } from "@x/ddpm/train";
 * await setBackend("cpu");
 * const f = await clipFactor(tf.scalar(4), tf.scalar(0.5), 1).data();
 * const skip = await clipFactor(tf.scalar(4), tf.scalar(NaN), 1).data();
 * if (f[0] !== 0.25 || skip[0] !== 0) throw new Error(`${f} ${skip}`);
 * ```
 */
export function clipFactor(
  norm: tf.Scalar,
  loss: tf.Scalar | undefined,
  maxNorm: number,
): tf.Scalar {
  return tf.tidy(() => {
    const finite = loss ? tf.logicalAnd(tf.isFinite(norm), tf.isFinite(loss)) : tf.isFinite(norm);
    // maxNorm / 0 is +Infinity, so a zero norm gives min(1, Infinity) = 1.
    const factor = maxNorm > 0 ? tf.minimum(1, tf.div(maxNorm, norm)) : tf.onesLike(norm);
    return tf.where(finite, factor, tf.zerosLike(norm)) as tf.Scalar;
  });
}

/**
 * Applies one Adam update in place, after scaling the gradients by `gradScale` (the clipping
 * factor min(1, maxNorm / norm), see {@linkcode clipFactor}). `step` is 1-based, for the bias
 * correction. A `gradScale` that is not > 0 marks a skipped step: weights and moments stay as
 * they are. As a tensor, `gradScale` stays on the device (nothing is read back).
 *
 * w <- w - lr * sqrt(1 - b2^step) / (1 - b1^step) * m / (sqrt(v) + eps), as TensorFlow's Adam.
 *
 * On a backend that registers `DdpmAdam` (see `registerOptimizerKernels`) each weight is
 * updated in one pass, with the same float32 operations in the same order.
 *
 * @param weights The weights, updated in place.
 * @param grads Gradients keyed by weight name.
 * @param state Adam's moments, updated in place.
 * @param opts Hyperparameters, the 1-based step and the gradient scale (a number or a float32
 * scalar tensor).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createAdamState, setBackend } from "@x/ddpm";
 * import { adamUpdate } from "@x/ddpm/train";
 * await setBackend("cpu");
 * const w = new Map([["w", tf.variable(tf.tensor([1]))]]);
 * const state = createAdamState(w);
 * adamUpdate(w, { w: tf.tensor([0.5]) }, state, {
 *   learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1, gradScale: 1,
 * });
 * // The first Adam step moves each weight by about the learning rate.
 * if (Math.abs((await w.get("w")!.data())[0] - 0.9) > 1e-6) throw new Error();
 * ```
 */
export function adamUpdate(
  weights: Map<string, tf.Variable>,
  grads: Record<string, tf.Tensor>,
  state: AdamState,
  opts: AdamSettings & { step: number; gradScale: number | tf.Scalar },
): void {
  const { beta1, beta2, epsilon, step, gradScale } = opts;
  if (typeof gradScale === "number" && !(gradScale > 0)) return;
  const stepSize = opts.learningRate * Math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step);
  const attrs: AdamAttrs = { beta1, beta2, epsilon, stepSize };
  tf.tidy(() => {
    const scale = typeof gradScale === "number" ? tf.scalar(gradScale) : gradScale;
    const named = [...weights].filter(([name]) => grads[name]);
    if (hasKernel(ADAM_ALL)) {
      // One kernel call for every weight: a small model's optimiser is otherwise mostly the
      // cost of the calls.
      const inputs: tf.NamedTensorMap = { scale };
      named.forEach(([name, w], i) => {
        const m = state.m.get(name)!, v = state.v.get(name)!;
        _ownData([w, m, v]);
        Object.assign(inputs, { [`w${i}`]: w, [`g${i}`]: grads[name], [`m${i}`]: m, [`v${i}`]: v });
      });
      const allAttrs: AdamAllAttrs = { ...attrs, count: named.length };
      tf.engine().runKernel(ADAM_ALL, inputs, allAttrs);
      return;
    }
    const fused = hasKernel(ADAM);
    // Only a tensor scale can mark a skipped step that the host does not know of.
    const keep = typeof gradScale === "number" ? null : tf.greater(scale, 0);
    for (const [name, w] of named) {
      const g = grads[name];
      const m = state.m.get(name)!, v = state.v.get(name)!;
      if (fused) {
        const [w1, m1, v1] = tf.engine().runKernel<tf.Tensor[]>(ADAM, { w, g, m, v, scale }, attrs);
        m.assign(m1);
        v.assign(v1);
        w.assign(w1);
        continue;
      }
      const gs = gradScale === 1 ? g : tf.mul(g, scale);
      const m1 = tf.add(tf.mul(m, beta1), tf.mul(gs, 1 - beta1));
      const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gs), 1 - beta2));
      const w1 = tf.sub(w, tf.mul(tf.div(m1, tf.add(tf.sqrt(v1), epsilon)), stepSize));
      const pick = <T extends tf.Tensor>(next: T, old: T) =>
        keep ? tf.where(keep, next, old) : next;
      m.assign(pick(m1, m));
      v.assign(pick(v1, v));
      w.assign(pick(w1, w));
    }
  });
}

/**
 * Moves each EMA weight toward the live weight: ema <- decay * ema + (1 - decay) * w. With
 * `opts.apply`, a float32 scalar tensor, the update happens only where it is > 0 (decided on
 * the device; `trainStep` passes the clipping factor, 0 on a skipped step).
 *
 * On a backend that registers `DdpmEma` (see `registerOptimizerKernels`) each weight is one
 * pass, with the same float32 operations in the same order.
 *
 * @param ema The averaged weights, updated in place.
 * @param weights The live weights.
 * @param decay The decay, e.g. 0.9999 in the paper.
 * @param opts `apply`: a scalar tensor gating the update.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { emaUpdate } from "@x/ddpm/train";
 * await setBackend("cpu");
 * const ema = new Map([["w", tf.variable(tf.tensor([0]))]]);
 * emaUpdate(ema, new Map([["w", tf.variable(tf.tensor([1]))]]), 0.9);
 * if (Math.abs((await ema.get("w")!.data())[0] - 0.1) > 1e-7) throw new Error();
 * ```
 */
export function emaUpdate(
  ema: Map<string, tf.Variable>,
  weights: Map<string, tf.Tensor>,
  decay: number,
  opts: { apply?: tf.Scalar } = {},
): void {
  const attrs: EmaAttrs = { decay };
  const { apply } = opts;
  tf.tidy(() => {
    if (hasKernel(EMA_ALL)) {
      _ownData(ema.values());
      const inputs: tf.NamedTensorMap = apply ? { apply } : {};
      [...ema].forEach(([name, e], i) => {
        inputs[`e${i}`] = e;
        inputs[`w${i}`] = weights.get(name)!;
      });
      const allAttrs: EmaAllAttrs = { decay, count: ema.size };
      tf.engine().runKernel(EMA_ALL, inputs, allAttrs);
      return;
    }
    const fused = hasKernel(EMA);
    const keep = apply && !fused ? tf.greater(apply, 0) : null;
    for (const [name, e] of ema) {
      const w = weights.get(name)!;
      if (fused) {
        e.assign(tf.engine().runKernel<tf.Tensor>(EMA, apply ? { e, w, apply } : { e, w }, attrs));
        continue;
      }
      const e1 = tf.add(tf.mul(e, decay), tf.mul(w, 1 - decay));
      e.assign(keep ? tf.where(keep, e1, e) : e1);
    }
  });
}

/** Whether the active backend registers the fused kernel `name`. */
function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}
