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
 * import { learningRateAt } from "@x/ddpm";
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
