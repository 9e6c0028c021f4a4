/**
 * The samplers the command line and the browser demo offer by name, and the scheduler each name
 * builds from a model's noise schedule.
 *
 * @module
 */
import { DDIMScheduler } from "../diffusion/ddim_scheduler.ts";
import { DDPMScheduler } from "../diffusion/ddpm_scheduler.ts";
import { dpmSolverConfigForModel } from "../diffusion/dpm_solver_config.ts";
import { DPMSolverMultistepScheduler } from "../diffusion/dpm_solver_scheduler.ts";
import type { SchedulerConfig } from "../diffusion/scheduler_config.ts";

/**
 * A sampler by name: "ddpm" (ancestral, the paper), "ddim" (Song et al. 2021, deterministic with
 * eta 0), "dpm" (DPM-Solver++, Lu et al. 2022, the ODE solver) or "dpm-sde" (DPM-Solver++ in its
 * stochastic form, diffusers' `algorithm_type="sde-dpmsolver++"`, which adds fresh noise at
 * every step as DDPM does and so forgives a small model's errors that the ODE carries along).
 */
export type SamplerName = "ddpm" | "ddim" | "dpm" | "dpm-sde";

/** Every {@linkcode SamplerName}, in the order help texts list them. */
export const SAMPLER_NAMES: readonly SamplerName[] = Object.freeze([
  "ddpm",
  "ddim",
  "dpm",
  "dpm-sde",
]);

/**
 * Builds the scheduler a sampler name stands for, on a model's noise schedule.
 *
 * @param name The sampler.
 * @param config The model's scheduler config (its betas, variance and prediction type).
 * @returns A scheduler for `sample()`.
 *
 * @example
 * ```ts
 * import { DPMSolverMultistepScheduler, presets, schedulerForSampler } from "@x/ddpm";
 * const s = schedulerForSampler("dpm-sde", presets.emoji.scheduler);
 * if (!(s instanceof DPMSolverMultistepScheduler)) throw new Error();
 * if (s.config.algorithmType !== "sde-dpmsolver++") throw new Error(s.config.algorithmType);
 * ```
 */
export function schedulerForSampler(
  name: SamplerName,
  config: Partial<SchedulerConfig>,
): DDPMScheduler | DDIMScheduler | DPMSolverMultistepScheduler {
  switch (name) {
    case "ddim":
      return new DDIMScheduler(config);
    case "dpm":
      return new DPMSolverMultistepScheduler(dpmSolverConfigForModel(config));
    case "dpm-sde":
      return new DPMSolverMultistepScheduler({
        ...dpmSolverConfigForModel(config),
        algorithmType: "sde-dpmsolver++",
      });
    default:
      return new DDPMScheduler(config);
  }
}

/**
 * The steps a sampler takes when none are given: 20 for the DPM-Solvers, 50 for DDIM, all T
 * for DDPM (the paper).
 *
 * @param name The sampler.
 * @param numTrainTimesteps The model's T.
 * @returns The number of reverse steps.
 *
 * @example
 * ```ts
 * import { defaultSamplerSteps } from "@x/ddpm";
 * if (defaultSamplerSteps("dpm-sde", 1000) !== 20) throw new Error();
 * if (defaultSamplerSteps("ddpm", 1000) !== 1000) throw new Error();
 * ```
 */
export function defaultSamplerSteps(name: SamplerName, numTrainTimesteps: number): number {
  const steps = name === "dpm" || name === "dpm-sde"
    ? 20
    : name === "ddim"
    ? 50
    : numTrainTimesteps;
  return Math.min(steps, numTrainTimesteps);
}
