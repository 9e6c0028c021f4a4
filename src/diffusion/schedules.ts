/**
 * Beta schedules of the forward process q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I),
 * computed in float64 on the host with diffusers' formulas.
 *
 * @module
 */
import type { BetaSchedule, SchedulerConfig } from "./scheduler_config.ts";

const BETA_SCHEDULES: readonly BetaSchedule[] = [
  "linear",
  "scaled_linear",
  "squaredcos_cap_v2",
  "sigmoid",
];

/** Evenly spaced values like `torch.linspace`: each half is measured from its own end point. */
function linspace(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (n - 1);
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? start + i * step : end - (n - 1 - i) * step;
  return out;
}

function checkCount(numTrainTimesteps: number): void {
  if (!Number.isInteger(numTrainTimesteps) || numTrainTimesteps < 1) {
    throw new RangeError(
      `Cannot build a beta schedule: numTrainTimesteps must be a positive integer, got ${numTrainTimesteps}`,
    );
  }
}

/**
 * The paper's schedule: betas rising linearly from `betaStart` to `betaEnd`.
 *
 * @param betaStart beta_1, 1e-4 in the paper.
 * @param betaEnd beta_T, 0.02 in the paper.
 * @param numTrainTimesteps T.
 * @returns T betas.
 *
 * @example
 * ```ts
 * import { linearBetas } from "@x/ddpm";
 * const betas = linearBetas(1e-4, 0.02, 1000);
 * if (betas[0] !== 1e-4 || betas[999] !== 0.02) throw new Error("wrong ends");
 * ```
 */
export function linearBetas(
  betaStart: number,
  betaEnd: number,
  numTrainTimesteps: number,
): Float64Array {
  checkCount(numTrainTimesteps);
  return linspace(betaStart, betaEnd, numTrainTimesteps);
}

/**
 * Latent diffusion's schedule: sqrt(beta) rising linearly, then squared.
 *
 * @param betaStart The first beta.
 * @param betaEnd The last beta.
 * @param numTrainTimesteps T.
 * @returns T betas.
 *
 * @example
 * ```ts
 * import { scaledLinearBetas } from "@x/ddpm/diffusion";
 * const betas = scaledLinearBetas(0.00085, 0.012, 1000);
 * if (Math.abs(betas[999] - 0.012) > 1e-15) throw new Error("wrong end");
 * ```
 */
export function scaledLinearBetas(
  betaStart: number,
  betaEnd: number,
  numTrainTimesteps: number,
): Float64Array {
  checkCount(numTrainTimesteps);
  return linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), numTrainTimesteps).map((r) => r * r);
}

/**
 * The cosine schedule of Nichol & Dhariwal (2021): alpha-bar(s) = cos^2((s + 0.008) / 1.008 *
 * pi / 2) sampled at s = t / T, each beta capped at `maxBeta` to avoid a singularity at t = T.
 *
 * @param numTrainTimesteps T.
 * @param maxBeta The cap, 0.999 as in diffusers.
 * @returns T betas.
 *
 * @example
 * ```ts
 * import { squaredcosCapV2Betas } from "@x/ddpm/diffusion";
 * const betas = squaredcosCapV2Betas(1000);
 * if (betas[999] !== 0.999) throw new Error("the last beta is capped");
 * ```
 */
export function squaredcosCapV2Betas(numTrainTimesteps: number, maxBeta = 0.999): Float64Array {
  checkCount(numTrainTimesteps);
  const alphaBar = (s: number) => Math.cos((s + 0.008) / 1.008 * Math.PI / 2) ** 2;
  const betas = new Float64Array(numTrainTimesteps);
  for (let i = 0; i < numTrainTimesteps; i++) {
    const ratio = alphaBar((i + 1) / numTrainTimesteps) / alphaBar(i / numTrainTimesteps);
    betas[i] = Math.min(1 - ratio, maxBeta);
  }
  return betas;
}

/**
 * GeoDiff's schedule: a logistic curve over [-6, 6] scaled into [betaStart, betaEnd].
 *
 * @param betaStart The lower asymptote.
 * @param betaEnd The upper asymptote.
 * @param numTrainTimesteps T.
 * @returns T betas.
 *
 * @example
 * ```ts
 * import { sigmoidBetas } from "@x/ddpm/diffusion";
 * const betas = sigmoidBetas(1e-4, 0.02, 1000);
 * if (!(betas[0] > 1e-4 && betas[999] < 0.02)) throw new Error("outside the range");
 * ```
 */
export function sigmoidBetas(
  betaStart: number,
  betaEnd: number,
  numTrainTimesteps: number,
): Float64Array {
  checkCount(numTrainTimesteps);
  return linspace(-6, 6, numTrainTimesteps).map((x) =>
    (betaEnd - betaStart) / (1 + Math.exp(-x)) + betaStart
  );
}

/**
 * Rescales betas so that the last timestep has zero signal-to-noise ratio (Lin et al. 2023,
 * Algorithm 1): sqrt(alpha-bar) is shifted so its last value is 0 and scaled so its first
 * value is unchanged. The last beta becomes 1.
 *
 * @param betas The betas to rescale (not modified).
 * @returns New betas.
 *
 * @example
 * ```ts
 * import { linearBetas } from "@x/ddpm";
 * import { rescaleBetasZeroSnr } from "@x/ddpm/diffusion";
 * const betas = rescaleBetasZeroSnr(linearBetas(1e-4, 0.02, 1000));
 * if (betas[999] !== 1) throw new Error("terminal SNR is not zero");
 * ```
 */
export function rescaleBetasZeroSnr(betas: ArrayLike<number>): Float64Array {
  const n = betas.length;
  const sqrtAbar = new Float64Array(n);
  let abar = 1;
  for (let i = 0; i < n; i++) {
    abar *= 1 - betas[i];
    sqrtAbar[i] = Math.sqrt(abar);
  }
  const first = sqrtAbar[0], last = sqrtAbar[n - 1];
  const scale = first / (first - last);
  const abarNew = sqrtAbar.map((s) => ((s - last) * scale) ** 2);
  const out = new Float64Array(n);
  out[0] = 1 - abarNew[0];
  for (let i = 1; i < n; i++) out[i] = 1 - abarNew[i] / abarNew[i - 1];
  return out;
}

/**
 * The betas a scheduler config describes: `trainedBetas` when given, otherwise the named
 * schedule, then rescaled to zero terminal SNR when `rescaleBetasZeroSnr` is set.
 *
 * @param config The schedule fields of a {@linkcode SchedulerConfig}.
 * @returns `numTrainTimesteps` betas in float64.
 * @throws {RangeError} for an unknown schedule name or a `trainedBetas` of the wrong length.
 *
 * @example
 * ```ts
 * import { makeBetas } from "@x/ddpm";
 * const betas = makeBetas({
 *   numTrainTimesteps: 10, betaStart: 0.1, betaEnd: 0.2, betaSchedule: "linear",
 *   trainedBetas: null, rescaleBetasZeroSnr: false,
 * });
 * if (betas.length !== 10 || betas[9] !== 0.2) throw new Error("wrong betas");
 * ```
 */
export function makeBetas(
  config: Pick<
    SchedulerConfig,
    | "numTrainTimesteps"
    | "betaStart"
    | "betaEnd"
    | "betaSchedule"
    | "trainedBetas"
    | "rescaleBetasZeroSnr"
  >,
): Float64Array {
  const { numTrainTimesteps: n, betaStart, betaEnd, betaSchedule } = config;
  let betas: Float64Array;
  if (config.trainedBetas != null) {
    if (config.trainedBetas.length !== n) {
      throw new RangeError(
        `Cannot use trainedBetas of length ${config.trainedBetas.length}: numTrainTimesteps is ${n}; make them equal`,
      );
    }
    betas = Float64Array.from(config.trainedBetas);
  } else if (betaSchedule === "linear") {
    betas = linearBetas(betaStart, betaEnd, n);
  } else if (betaSchedule === "scaled_linear") {
    betas = scaledLinearBetas(betaStart, betaEnd, n);
  } else if (betaSchedule === "squaredcos_cap_v2") {
    betas = squaredcosCapV2Betas(n);
  } else if (betaSchedule === "sigmoid") {
    betas = sigmoidBetas(betaStart, betaEnd, n);
  } else {
    throw new RangeError(
      `Unknown betaSchedule "${betaSchedule}": expected one of ${BETA_SCHEDULES.join(", ")}`,
    );
  }
  return config.rescaleBetasZeroSnr ? rescaleBetasZeroSnr(betas) : betas;
}
