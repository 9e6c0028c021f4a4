/**
 * The learning-rate and EMA schedules, as plain math.
 *
 * @module
 */

/**
 * The learning rate at a 0-based step: linear warmup from 0 to `learningRate` over
 * `warmupSteps` steps, then constant (the paper's schedule) or, with `lrDecay: "cosine"`, half a
 * cosine from `learningRate` at the end of warmup to 0 at step `steps`.
 *
 * @param step The 0-based optimisation step about to be taken.
 * @param cfg The peak learning rate, the warmup length, and the decay with the run's length.
 * @returns The learning rate for that step.
 *
 * @example
 * ```ts
 * import { learningRateAt } from "@x/ddpm/train";
 * const lr = learningRateAt(49, { learningRate: 2e-4, warmupSteps: 100 });
 * if (Math.abs(lr - 1e-4) > 1e-12) throw new Error(String(lr));
 * // Halfway through the decay, a cosine schedule is at half the peak.
 * const cfg = { learningRate: 1e-3, warmupSteps: 100, lrDecay: "cosine", steps: 1100 } as const;
 * if (Math.abs(learningRateAt(600, cfg) - 5e-4) > 1e-12) throw new Error();
 * ```
 */
export function learningRateAt(
  step: number,
  cfg: {
    learningRate: number;
    warmupSteps: number;
    lrDecay?: "constant" | "cosine";
    steps?: number;
  },
): number {
  if (step + 1 < cfg.warmupSteps) return cfg.learningRate * (step + 1) / cfg.warmupSteps;
  if (cfg.lrDecay !== "cosine" || cfg.steps === undefined) return cfg.learningRate;
  const decaySteps = cfg.steps - cfg.warmupSteps;
  if (decaySteps <= 0) return cfg.learningRate;
  const progress = Math.min(1, Math.max(0, (step - cfg.warmupSteps) / decaySteps));
  return cfg.learningRate * 0.5 * (1 + Math.cos(Math.PI * progress));
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
