/**
 * Adam with gradient clipping at a global norm and an exponential moving average of the
 * weights: the update rule of the paper's training, on named tensors.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ADAM, type AdamAttrs, EMA, type EmaAttrs, SUM_SQUARES } from "./_optimizer_kernels.ts";

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
 * import { globalNorm, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const n = globalNorm({ a: tf.tensor([3]), b: tf.tensor([4]) });
 * if (n.dataSync()[0] !== 5) throw new Error();
 * ```
 */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    const fused = hasKernel(SUM_SQUARES);
    const squares = Object.values(grads).map((g) =>
      fused ? tf.engine().runKernel<tf.Scalar>(SUM_SQUARES, { x: g }) : tf.sum(tf.square(g))
    );
    return tf.sqrt(tf.addN(squares)) as tf.Scalar;
  });
}

/**
 * Applies one Adam update in place, after scaling the gradients by `gradScale` (the clipping
 * factor min(1, maxNorm / norm)). `step` is 1-based, for the bias correction.
 *
 * w <- w - lr * sqrt(1 - b2^step) / (1 - b1^step) * m / (sqrt(v) + eps), as TensorFlow's Adam.
 *
 * On a backend that registers `DdpmAdam` (see `registerOptimizerKernels`) each weight is
 * updated in one pass, with the same float32 operations in the same order.
 *
 * @param weights The weights, updated in place.
 * @param grads Gradients keyed by weight name.
 * @param state Adam's moments, updated in place.
 * @param opts Hyperparameters, the 1-based step and the gradient scale.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adamUpdate, createAdamState, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const w = new Map([["w", tf.variable(tf.tensor([1]))]]);
 * const state = createAdamState(w);
 * adamUpdate(w, { w: tf.tensor([0.5]) }, state, {
 *   learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1, gradScale: 1,
 * });
 * // The first Adam step moves each weight by about the learning rate.
 * if (Math.abs(w.get("w")!.dataSync()[0] - 0.9) > 1e-6) throw new Error();
 * ```
 */
export function adamUpdate(
  weights: Map<string, tf.Variable>,
  grads: Record<string, tf.Tensor>,
  state: AdamState,
  opts: AdamSettings & { step: number; gradScale: number },
): void {
  const { beta1, beta2, epsilon, step, gradScale } = opts;
  const stepSize = opts.learningRate * Math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step);
  const attrs: AdamAttrs = { beta1, beta2, epsilon, stepSize, gradScale };
  const fused = hasKernel(ADAM);
  tf.tidy(() => {
    for (const [name, w] of weights) {
      const g = grads[name];
      if (!g) continue;
      const m = state.m.get(name)!, v = state.v.get(name)!;
      if (fused) {
        const [w1, m1, v1] = tf.engine().runKernel<tf.Tensor[]>(ADAM, { w, g, m, v }, attrs);
        m.assign(m1);
        v.assign(v1);
        w.assign(w1);
        continue;
      }
      const gs = gradScale === 1 ? g : tf.mul(g, gradScale);
      const m1 = tf.add(tf.mul(m, beta1), tf.mul(gs, 1 - beta1));
      const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gs), 1 - beta2));
      m.assign(m1);
      v.assign(v1);
      w.assign(tf.sub(w, tf.mul(tf.div(m1, tf.add(tf.sqrt(v1), epsilon)), stepSize)));
    }
  });
}

/**
 * Moves each EMA weight toward the live weight: ema <- decay * ema + (1 - decay) * w.
 *
 * On a backend that registers `DdpmEma` (see `registerOptimizerKernels`) each weight is one
 * pass, with the same float32 operations in the same order.
 *
 * @param ema The averaged weights, updated in place.
 * @param weights The live weights.
 * @param decay The decay, e.g. 0.9999 in the paper.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { emaUpdate, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const ema = new Map([["w", tf.variable(tf.tensor([0]))]]);
 * emaUpdate(ema, new Map([["w", tf.variable(tf.tensor([1]))]]), 0.9);
 * if (Math.abs(ema.get("w")!.dataSync()[0] - 0.1) > 1e-7) throw new Error();
 * ```
 */
export function emaUpdate(
  ema: Map<string, tf.Variable>,
  weights: Map<string, tf.Tensor>,
  decay: number,
): void {
  const attrs: EmaAttrs = { decay };
  const fused = hasKernel(EMA);
  tf.tidy(() => {
    for (const [name, e] of ema) {
      const w = weights.get(name)!;
      if (fused) {
        e.assign(tf.engine().runKernel<tf.Tensor>(EMA, { e, w }, attrs));
        continue;
      }
      e.assign(tf.add(tf.mul(e, decay), tf.mul(w, 1 - decay)));
    }
  });
}

/** Whether the active backend registers the fused kernel `name`. */
function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}
