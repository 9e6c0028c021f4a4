/**
 * Learning-rate warmup, as plain math.
 *
 * @module
 */

/**
 * The learning rate at a 0-based step: linear warmup from 0 to `learningRate` over
 * `warmupSteps` steps, then constant (the paper's schedule).
 *
 * @param step The 0-based optimisation step about to be taken.
 * @param cfg The peak learning rate and the warmup length.
 * @returns The learning rate for that step.
 *
 * @example
 * ```ts
 * import { learningRateAt } from "@x/ddpm/train";
 * const lr = learningRateAt(49, { learningRate: 2e-4, warmupSteps: 100 });
 * if (Math.abs(lr - 1e-4) > 1e-12) throw new Error(String(lr));
 * ```
 */
export function learningRateAt(
  step: number,
  cfg: { learningRate: number; warmupSteps: number },
): number {
  if (cfg.warmupSteps <= 0) return cfg.learningRate;
  return cfg.learningRate * Math.min(1, (step + 1) / cfg.warmupSteps);
}

/**
 * The EMA decay at a 1-based step. With `emaWarmup`, the decay is capped by
 * (1 + step) / (10 + step), as TensorFlow's ExponentialMovingAverage does when given the
 * step, so that a short run's average is not dominated by the initial weights; otherwise the
 * constant `emaDecay` (the paper's 0.9999).
 *
 * @param step The 1-based step just taken.
 * @param cfg The decay and whether to warm it up.
 * @returns The decay to use for this step.
 *
 * @example
 * ```ts
 * import { emaDecayAt } from "@x/ddpm/train";
 * if (emaDecayAt(1, { emaDecay: 0.9999, emaWarmup: true }) !== 2 / 11) throw new Error();
 * if (emaDecayAt(1, { emaDecay: 0.9999, emaWarmup: false }) !== 0.9999) throw new Error();
 * ```
 */
export function emaDecayAt(
  step: number,
  cfg: { emaDecay: number; emaWarmup: boolean },
): number {
  return cfg.emaWarmup ? Math.min(cfg.emaDecay, (1 + step) / (10 + step)) : cfg.emaDecay;
}
