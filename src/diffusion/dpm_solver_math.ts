/**
 * The numbers of DPM-Solver (Lu et al. 2022a) and DPM-Solver++ (Lu et al. 2022b) as plain
 * functions over float64: the noise levels and timesteps a sampling run visits, which order
 * each step uses, and the coefficients of each multistep update. The tensor code in
 * `dpm_solver_scheduler.ts` only forms the weighted sums these return.
 *
 * Notation: a VP diffusion has x_t = alpha_t x_0 + sigma_t eps with alpha_t^2 + sigma_t^2 = 1;
 * `sigma` without a subscript is the variance-exploding noise level sigma_t / alpha_t =
 * sqrt((1 - alpha-bar_t) / alpha-bar_t), and lambda_t = log(alpha_t / sigma_t) is the half
 * log-SNR in which the solvers take their steps h = lambda_t - lambda_s.
 *
 * @module
 */

/** The solvers: DPM-Solver++ (data prediction), DPM-Solver (noise prediction), and their SDE forms. */
export type DPMSolverAlgorithm = "dpmsolver++" | "sde-dpmsolver++" | "dpmsolver" | "sde-dpmsolver";

/** How the second-order update weighs the first difference of past model outputs. */
export type DPMSolverType = "midpoint" | "heun";

/** The noise level after the last step: 0 (a clean sample) or the training schedule's smallest. */
export type FinalSigmasType = "zero" | "sigma_min";

/** How inference timesteps are spread (Table 2 of Lin et al. 2023). */
export type DPMSolverTimestepSpacing = "linspace" | "leading" | "trailing";

/** numpy's `rint`: halves round to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * alpha_t and sigma_t of the VP process at the variance-exploding noise level `sigma`:
 * alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma alpha_t.
 *
 * @param sigma sqrt((1 - alpha-bar) / alpha-bar), >= 0.
 * @returns alpha_t, sigma_t and lambda_t = log(alpha_t) - log(sigma_t) (+Infinity at sigma = 0).
 *
 * @example
 * ```ts
 * import { vpFromSigma } from "@x/ddpm/diffusion";
 * const { alpha, sigma, lambda } = vpFromSigma(1);
 * if (Math.abs(alpha - Math.SQRT1_2) > 1e-15 || alpha !== sigma || lambda !== 0) {
 *   throw new Error("sigma = 1 is SNR 1");
 * }
 * ```
 */
export function vpFromSigma(sigma: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const s = sigma * alpha;
  return { alpha, sigma: s, lambda: Math.log(alpha) - Math.log(s) };
}

/**
 * The noise schedule sqrt((1 - alpha-bar_t) / alpha-bar_t) for t = 0 ... T - 1, ascending.
 *
 * @param alphasCumprod alpha-bar_t.
 * @returns sigma_t for every training timestep.
 *
 * @example
 * ```ts
 * import { sigmasFromAlphasCumprod } from "@x/ddpm/diffusion";
 * if (sigmasFromAlphasCumprod([0.5])[0] !== 1) throw new Error("alpha-bar 1/2 is sigma 1");
 * ```
 */
export function sigmasFromAlphasCumprod(alphasCumprod: ArrayLike<number>): Float64Array {
  return Float64Array.from(alphasCumprod, (a) => Math.sqrt((1 - a) / a));
}

/**
 * The Karras et al. (2022, eq. 5) noise levels: sigma_i = (sigmaMax^(1/rho) + i / (n - 1)
 * (sigmaMin^(1/rho) - sigmaMax^(1/rho)))^rho for i = 0 ... n - 1, rho = 7.
 *
 * @param sigmaMin The last (smallest) level.
 * @param sigmaMax The first (largest) level.
 * @param n How many levels.
 * @returns n levels, descending.
 *
 * @example
 * ```ts
 * import { karrasSigmas } from "@x/ddpm/diffusion";
 * const s = karrasSigmas(0.01, 80, 5);
 * if (s[0] !== 80 || Math.abs(s[4] - 0.01) > 1e-15) throw new Error("wrong ends");
 * ```
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // np.linspace(0, 1, n): i * (1 / (n - 1)), the last exactly 1.
    const ramp = n === 1 ? 0 : i === n - 1 ? 1 : i * (1 / (n - 1));
    out[i] = (maxInv + ramp * (minInv - maxInv)) ** rho;
  }
  return out;
}

/**
 * The fractional training timestep at noise level `sigma`: linear interpolation in log sigma
 * between the two neighbouring training levels, clamped to [0, T - 1] (diffusers'
 * `_sigma_to_t`).
 *
 * @param sigma The noise level.
 * @param logSigmas log sigma_t of the training schedule, ascending in t (at least 2 values).
 * @returns t in [0, T - 1], not rounded.
 *
 * @example
 * ```ts
 * import { sigmaToTimestep } from "@x/ddpm/diffusion";
 * const logSigmas = [Math.log(1), Math.log(4)];
 * if (sigmaToTimestep(2, logSigmas) !== 0.5) throw new Error("halfway in log sigma");
 * ```
 */
export function sigmaToTimestep(sigma: number, logSigmas: ArrayLike<number>): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const last = logSigmas.length - 1;
  // The last training level at or below logSigma (index 0 when there is none).
  let low = 0;
  for (let i = 0; i <= last; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, last - 1);
  const lo = logSigmas[low], hi = logSigmas[low + 1];
  const w = Math.min(Math.max((lo - logSigma) / (lo - hi), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/**
 * The first timestep a run may start at when lambda_t is clipped from below: T minus the
 * number of training timesteps whose lambda_t = log(sqrt(alpha-bar) / sqrt(1 - alpha-bar)) is
 * under `lambdaMinClipped` (diffusers' `searchsorted` over the flipped lambdas). -Infinity
 * clips nothing.
 *
 * @param alphasCumprod alpha-bar_t.
 * @param lambdaMinClipped The smallest lambda allowed.
 * @returns The exclusive upper end of the timesteps used, in [0, T].
 *
 * @example
 * ```ts
 * import { lastTimestepForLambda } from "@x/ddpm/diffusion";
 * if (lastTimestepForLambda([0.9, 0.5, 0.1], 0) !== 2) throw new Error("t = 2 has lambda < 0");
 * ```
 */
export function lastTimestepForLambda(
  alphasCumprod: ArrayLike<number>,
  lambdaMinClipped: number,
): number {
  let below = 0;
  for (let t = 0; t < alphasCumprod.length; t++) {
    const a = alphasCumprod[t];
    const lambda = Math.log(Math.sqrt(a)) - Math.log(Math.sqrt(1 - a));
    if (lambda < lambdaMinClipped) below++;
  }
  return alphasCumprod.length - below;
}

/** What {@linkcode dpmSolverTimesteps} reads from the config. */
export interface DPMSolverSpacing {
  /** T. */
  numTrainTimesteps: number;
  /** "linspace", "leading" or "trailing". */
  timestepSpacing: DPMSolverTimestepSpacing;
  /** Added to "leading" timesteps. */
  stepsOffset: number;
}

/**
 * The descending integer timesteps of DPM-Solver's `set_timesteps`, before any Karras
 * re-spacing, with L = `lastTimestep` (T unless lambda is clipped):
 *
 * - `"linspace"`: round(linspace(0, L - 1, n + 1)) reversed, without the final 0;
 * - `"leading"`: k floor(L / (n + 1)) + stepsOffset for k = n ... 1;
 * - `"trailing"`: round(arange(L, 0, -T / n)) - 1 (fewer than n when L < T).
 *
 * Rounding is half-to-even, as numpy's. Where numpy's float `arange` yields one element too
 * many for "trailing" (so diffusers ends on timestep -1), that element is left out.
 *
 * @param n Requested steps, in [1, T].
 * @param spacing T, the spacing and the offset.
 * @param lastTimestep L, in [1, T]. Default T.
 * @returns The timesteps, descending, each in [0, T).
 * @throws {RangeError} when n is out of range or the offset pushes a timestep to T or beyond.
 *
 * @example
 * ```ts
 * import { dpmSolverTimesteps } from "@x/ddpm/diffusion";
 * const ts = dpmSolverTimesteps(4, {
 *   numTrainTimesteps: 1000, timestepSpacing: "linspace", stepsOffset: 0,
 * });
 * // round(linspace(0, 999, 5)) = 0, 250 (249.75), 500 (499.5, to even), 749 (749.25), 999
 * if (ts.join() !== "999,749,500,250") throw new Error(ts.join());
 * ```
 */
export function dpmSolverTimesteps(
  n: number,
  spacing: DPMSolverSpacing,
  lastTimestep: number = spacing.numTrainTimesteps,
): Int32Array {
  const T = spacing.numTrainTimesteps;
  if (!Number.isInteger(n) || n < 1 || n > T) {
    throw new RangeError(
      `Cannot set timesteps as numInferenceSteps must be an integer in [1, numTrainTimesteps = ${T}]: current value is ${n}`,
    );
  }
  const L = lastTimestep;
  let ts: number[];
  if (spacing.timestepSpacing === "linspace") {
    // np.linspace(0, L - 1, n + 1): k * ((L - 1) / n), the last exactly L - 1.
    const step = (L - 1) / n;
    ts = Array.from({ length: n }, (_, i) => {
      const k = n - i;
      return roundHalfEven(k === n ? L - 1 : k * step);
    });
  } else if (spacing.timestepSpacing === "leading") {
    const ratio = Math.floor(L / (n + 1));
    ts = Array.from({ length: n }, (_, i) => (n - i) * ratio + spacing.stepsOffset);
  } else if (spacing.timestepSpacing === "trailing") {
    // np.arange(L, 0, -T / n): ceil(L / (T / n)) values L + i * delta, where numpy's delta is
    // (L - T / n) - L, carrying the rounding of the second value.
    const step = T / n;
    const count = Math.ceil(L / step);
    const delta = (L - step) - L;
    ts = [];
    for (let i = 0; i < count; i++) {
      const t = roundHalfEven(L + i * delta) - 1;
      if (t >= 0) ts.push(t);
    }
  } else {
    throw new RangeError(
      `Unknown timestepSpacing "${spacing.timestepSpacing}": expected linspace, leading or trailing`,
    );
  }
  if (ts.length === 0 || ts[0] >= T || ts[ts.length - 1] < 0) {
    throw new RangeError(
      `Cannot set ${n} timesteps: with stepsOffset ${spacing.stepsOffset} they span [${
        ts[ts.length - 1]
      }, ${ts[0]}], outside [0, ${T}); lower stepsOffset`,
    );
  }
  return Int32Array.from(ts);
}

/** What {@linkcode dpmSolverSchedule} reads from the config. */
export interface DPMSolverScheduleConfig extends DPMSolverSpacing {
  /** Re-space the noise levels as Karras et al. (2022). */
  useKarrasSigmas: boolean;
  /** The noise level after the last step. */
  finalSigmasType: FinalSigmasType;
  /** Timesteps whose lambda is below this are not used. */
  lambdaMinClipped: number;
  /** Karras timesteps are truncated rather than rounded for the cosine schedule, as diffusers does. */
  betaSchedule: string;
}

/**
 * The timesteps a DPM-Solver run evaluates the model at, and the noise levels its steps move
 * between: sigmas[i] belongs to timesteps[i], and sigmas[n] is the level after the last step
 * (0 for `finalSigmasType` "zero", else sigma at t = 0).
 *
 * Without Karras sigmas, sigmas[i] is the training schedule's level at timesteps[i]. With
 * them, the n levels run from the schedule's largest to its smallest on Karras' rho = 7 ramp,
 * and each timestep is the level's fractional timestep (see {@linkcode sigmaToTimestep}),
 * rounded (truncated for "squaredcos_cap_v2"); the steps use the exact levels.
 *
 * @param alphasCumprod alpha-bar_t of the training schedule.
 * @param n Requested steps.
 * @param config Spacing, Karras, final level and lambda clipping.
 * @returns The timesteps (descending) and n + 1 noise levels.
 *
 * @example
 * ```ts
 * import { dpmSolverSchedule } from "@x/ddpm/diffusion";
 * const ab = Array.from({ length: 10 }, (_, t) => 1 - 0.09 * (t + 1));
 * const { timesteps, sigmas } = dpmSolverSchedule(ab, 3, {
 *   numTrainTimesteps: 10, timestepSpacing: "linspace", stepsOffset: 0,
 *   useKarrasSigmas: false, finalSigmasType: "zero", lambdaMinClipped: -Infinity,
 *   betaSchedule: "linear",
 * });
 * if (timesteps.join() !== "9,6,3" || sigmas[3] !== 0) throw new Error(timesteps.join());
 * ```
 */
export function dpmSolverSchedule(
  alphasCumprod: ArrayLike<number>,
  n: number,
  config: DPMSolverScheduleConfig,
): { timesteps: Int32Array; sigmas: Float64Array } {
  const trainSigmas = sigmasFromAlphasCumprod(alphasCumprod);
  const last = lastTimestepForLambda(alphasCumprod, config.lambdaMinClipped);
  let timesteps = dpmSolverTimesteps(n, config, last);
  let levels: Float64Array;
  if (config.useKarrasSigmas) {
    const logSigmas = trainSigmas.map(Math.log);
    levels = karrasSigmas(trainSigmas[0], trainSigmas[trainSigmas.length - 1], n);
    const round = config.betaSchedule === "squaredcos_cap_v2" ? Math.trunc : roundHalfEven;
    timesteps = Int32Array.from(levels, (s) => round(sigmaToTimestep(s, logSigmas)));
  } else {
    levels = Float64Array.from(timesteps, (t) => trainSigmas[t]);
  }
  const sigmas = new Float64Array(levels.length + 1);
  sigmas.set(levels);
  sigmas[levels.length] = config.finalSigmasType === "zero" ? 0 : trainSigmas[0];
  return { timesteps, sigmas };
}

/** What {@linkcode dpmSolverOrder} reads from the config. */
export interface DPMSolverOrderConfig {
  /** The highest order, 1 to 3. */
  solverOrder: number;
  /** Lower the order over the last steps of runs shorter than 15 steps. */
  lowerOrderFinal: boolean;
  /** Take the last step with the first-order solver. */
  eulerAtFinal: boolean;
  /** The last step to sigma 0 is always first order. */
  finalSigmasType: FinalSigmasType;
}

/**
 * The order of step `stepIndex` of `numSteps`, as diffusers chooses it: the order can only
 * grow by one per step (a k-th order step needs k model outputs), the final step is first
 * order when it lands on sigma 0, when `eulerAtFinal` is set, or when `lowerOrderFinal` is set
 * and the run has fewer than 15 steps; with `lowerOrderFinal` and fewer than 15 steps the
 * second-to-last step is at most second order.
 *
 * @param stepIndex The index of this step, 0 ... numSteps - 1.
 * @param numSteps The number of steps in the run.
 * @param previousSteps How many steps came before, capped at the solver order (diffusers'
 * `lower_order_nums`); equals `stepIndex` for a run started at its first step.
 * @param config The order settings.
 * @returns 1, 2 or 3.
 *
 * @example Order 3 over 10 steps: 1, 2, 3, ..., 3, 2, 1
 * ```ts
 * import { dpmSolverOrder } from "@x/ddpm/diffusion";
 * const config = { solverOrder: 3, lowerOrderFinal: true, eulerAtFinal: false, finalSigmasType: "zero" } as const;
 * const orders = Array.from({ length: 10 }, (_, i) => dpmSolverOrder(i, 10, i, config));
 * if (orders.join("") !== "1233333321") throw new Error(orders.join(""));
 * ```
 */
export function dpmSolverOrder(
  stepIndex: number,
  numSteps: number,
  previousSteps: number,
  config: DPMSolverOrderConfig,
): 1 | 2 | 3 {
  const short = config.lowerOrderFinal && numSteps < 15;
  const finalFirst = stepIndex === numSteps - 1 &&
    (config.eulerAtFinal || short || config.finalSigmasType === "zero");
  const secondLastSecond = stepIndex === numSteps - 2 && short;
  if (config.solverOrder === 1 || previousSteps < 1 || finalFirst) return 1;
  if (config.solverOrder === 2 || previousSteps < 2 || secondLastSecond) return 2;
  return 3;
}

/**
 * One multistep update as a weighted sum: x_next = sample * x + sum_k outputs[k] * m_k +
 * noise * z, where m_0 is this step's converted model output (x_0 for the "++" solvers, eps
 * otherwise), m_1 and m_2 the previous steps', and z standard normal noise (SDE solvers only).
 */
export interface DPMSolverUpdate {
  /** Weight of the current sample x. */
  sample: number;
  /** Weights of m_0, m_1, ... (as many as the order). */
  outputs: number[];
  /** Weight of the noise z; 0 for the ODE solvers. */
  noise: number;
}

/**
 * The weights of one DPM-Solver update of order 1-3 from noise level sigmas[0] (this step) to
 * `target`, where sigmas[1], sigmas[2] are the levels of the previous steps. With
 * h = lambda_t - lambda_s0, r0 = (lambda_s0 - lambda_s1) / h, r1 = (lambda_s1 - lambda_s2) / h,
 * the differences D0 = m0, D1 = (m0 - m1) / r0 (order 2), or the corrected D1 and
 * D2 = (D1_0 - D1_1) / (r0 + r1) (order 3), enter the exponential integrators of the papers:
 * for DPM-Solver++ x_t = (sigma_t / sigma_s) x - alpha_t (e^-h - 1) D0 + ... (Lu et al. 2022b,
 * eq. 9 and Algorithm 2), for DPM-Solver x_t = (alpha_t / alpha_s) x - sigma_t (e^h - 1) D0 + ...
 * (Lu et al. 2022a, eq. 3.3), and for the SDE forms with e^-2h and added noise
 * sigma_t sqrt(1 - e^-2h) z (Lu et al. 2022b, Appendix).
 *
 * @param order 1, 2 or 3.
 * @param levels sigma (variance-exploding) of this step, then of the previous steps as needed.
 * @param target sigma after the step; 0 allowed for the "++" solvers at order 1.
 * @param solver The algorithm and the second-order type.
 * @returns The weights of x, of m_0 ... m_{order-1}, and of z; the identity for a step of
 * |h| < 1e-12 (no move), where diffusers' float32 formulas can give NaN.
 * @throws {RangeError} for an order the algorithm has no formula for (3 with "sde-dpmsolver").
 *
 * @example First order DPM-Solver++ is DDIM: x_t = (sigma_t / sigma_s) x + alpha_t (1 - e^-h) x_0
 * ```ts
 * import { dpmSolverUpdate } from "@x/ddpm/diffusion";
 * const u = dpmSolverUpdate(1, [1], 0, { algorithmType: "dpmsolver++", solverType: "midpoint" });
 * if (u.sample !== 0 || u.outputs[0] !== 1 || u.noise !== 0) throw new Error("lands on x_0");
 * ```
 */
export function dpmSolverUpdate(
  order: 1 | 2 | 3,
  levels: readonly number[],
  target: number,
  solver: { algorithmType: DPMSolverAlgorithm; solverType: DPMSolverType },
): DPMSolverUpdate {
  const t = vpFromSigma(target);
  const s = levels.slice(0, order).map(vpFromSigma);
  const h = t.lambda - s[0].lambda;
  const data = solver.algorithmType === "dpmsolver++" || solver.algorithmType === "sde-dpmsolver++";
  const sde = solver.algorithmType.startsWith("sde-");
  if (Math.abs(h) < 1e-12) {
    // A step that does not move (Karras levels end at sigma_min, and so may the final level):
    // the identity, where the formulas below would divide 0 by 0 or take sqrt(-0.0...1).
    return { sample: 1, outputs: new Array(order).fill(0), noise: 0 };
  }
  // Coefficients of x, D0, D1, D2 and z, then D1, D2 expanded into m0, m1, m2.
  let cx: number, c0: number, c1 = 0, c2 = 0, cz = 0;
  if (data && !sde) {
    const em = -Math.expm1(-h); // 1 - e^-h
    cx = t.sigma / s[0].sigma;
    c0 = t.alpha * em;
    c1 = solver.solverType === "midpoint" && order === 2
      ? 0.5 * t.alpha * em
      : t.alpha * (1 - em / h);
    c2 = -t.alpha * ((h - em) / (h * h) - 0.5);
  } else if (data) {
    const em2 = -Math.expm1(-2 * h); // 1 - e^-2h
    cx = (t.sigma / s[0].sigma) * Math.exp(-h);
    c0 = t.alpha * em2;
    c1 = solver.solverType === "midpoint" && order === 2
      ? 0.5 * t.alpha * em2
      : t.alpha * (em2 / (-2 * h) + 1);
    c2 = t.alpha * ((em2 - 2 * h) / (4 * h * h) - 0.5);
    cz = t.sigma * Math.sqrt(em2);
  } else {
    const ep = Math.expm1(h); // e^h - 1
    const k = sde ? 2 : 1;
    cx = t.alpha / s[0].alpha;
    c0 = -k * t.sigma * ep;
    c1 = solver.solverType === "midpoint" && order === 2
      ? -0.5 * k * t.sigma * ep
      : -k * t.sigma * (ep / h - 1);
    c2 = -t.sigma * ((ep - h) / (h * h) - 0.5);
    if (sde) {
      if (order === 3) {
        throw new RangeError(
          'dpmSolverUpdate: "sde-dpmsolver" has no third-order update; use solverOrder 1 or 2, or "sde-dpmsolver++"',
        );
      }
      cz = t.sigma * Math.sqrt(Math.expm1(2 * h));
    }
  }
  if (order === 1) return { sample: cx, outputs: [c0], noise: cz };
  const r0 = (s[0].lambda - s[1].lambda) / h;
  if (order === 2) {
    // D1 = (m0 - m1) / r0.
    return { sample: cx, outputs: [c0 + c1 / r0, -c1 / r0], noise: cz };
  }
  const r1 = (s[1].lambda - s[2].lambda) / h;
  // D1_0 = (m0 - m1) / r0, D1_1 = (m1 - m2) / r1,
  // D1 = D1_0 + r0 / (r0 + r1) (D1_0 - D1_1), D2 = (D1_0 - D1_1) / (r0 + r1).
  const a = c1 * (1 + r0 / (r0 + r1)) + c2 / (r0 + r1); // weight of D1_0
  const b = -c1 * (r0 / (r0 + r1)) - c2 / (r0 + r1); // weight of D1_1
  return {
    sample: cx,
    outputs: [c0 + a / r0, -a / r0 + b / r1, -b / r1],
    noise: cz,
  };
}
