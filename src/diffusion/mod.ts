/**
 * The forward and reverse processes: beta schedules, the paper's closed forms, and the DDPM,
 * DDIM and DPM-Solver schedulers.
 *
 * @example
 * ```ts
 * import { DDPMScheduler, linearBetas } from "@x/ddpm/diffusion";
 * const betas = linearBetas(1e-4, 0.02, 1000); // the paper's schedule, in float64
 * const scheduler = new DDPMScheduler();
 * if (scheduler.betas[999] !== betas[999] || betas[0] !== 1e-4) throw new Error();
 * ```
 *
 * @module
 */
export * from "./scheduler_config.ts";
export * from "./schedules.ts";
export * from "./closed_forms.ts";
export * from "./process_ops.ts";
export * from "./timesteps.ts";
export * from "./config_io.ts";
export * from "./extract.ts";
export * from "./thresholding.ts";
export * from "./noise_scheduler.ts";
export * from "./ddpm_scheduler.ts";
export * from "./ddim_scheduler.ts";
export * from "./dpm_solver_math.ts";
export * from "./dpm_solver_config.ts";
export * from "./dpm_solver_scheduler.ts";
export * from "./sample.ts";
export * from "./nll_math.ts";
export * from "./nll.ts";
export * from "./interpolate.ts";
export * from "./inpaint.ts";
