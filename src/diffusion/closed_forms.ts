/**
 * The diffusion math of Ho et al. (2020) in one place, as plain float64 functions over numbers
 * and arrays: the marginal q(x_t | x_0) (eq. 4), the posterior q(x_{t-1} | x_t, x_0) (eqs. 6-7)
 * and the coefficients of a reverse step. The schedulers, the NLL, inpainting and interpolation
 * evaluate these on the host and hand the results to TensorFlow.js as float32 scalars or
 * per-timestep tables; `process_ops.ts` applies them to tensors.
 *
 * Timesteps are 0-based as in diffusers: index t holds the paper's step t + 1, and "the step
 * before" may be any earlier index (strided sampling) or -1, meaning x_0 itself (alpha-bar = 1).
 *
 * @module
 */

/**
 * alpha_t = 1 - beta_t.
 *
 * @param betas The betas.
 * @returns The alphas.
 *
 * @example
 * ```ts
 * import { alphasFromBetas } from "@x/ddpm";
 * if (alphasFromBetas([0.25])[0] !== 0.75) throw new Error("wrong alpha");
 * ```
 */
export function alphasFromBetas(betas: ArrayLike<number>): Float64Array {
  return Float64Array.from(betas, (b) => 1 - b);
}

/**
 * The running product, alpha-bar_t = prod_{s <= t} alpha_s for alphas.
 *
 * @param values The factors.
 * @returns The cumulative products, same length.
 *
 * @example
 * ```ts
 * import { cumulativeProduct } from "@x/ddpm";
 * const p = cumulativeProduct([0.5, 0.5, 2]);
 * if (p.join() !== "0.5,0.25,0.5") throw new Error("wrong product");
 * ```
 */
export function cumulativeProduct(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let acc = 1;
  for (let i = 0; i < values.length; i++) out[i] = acc *= values[i];
  return out;
}

/** The two scales of the marginal q(x_t | x_0) = N(sqrt(alpha-bar_t) x_0, (1 - alpha-bar_t) I). */
export interface ForwardCoefficients<T = number> {
  /** sqrt(alpha-bar_t): how much of x_0 is left in x_t. */
  sqrtAlphaProd: T;
  /** sqrt(1 - alpha-bar_t): the standard deviation of the noise in x_t. */
  sqrtOneMinusAlphaProd: T;
}

/**
 * The scales of the forward process in closed form (eq. 4):
 * x_t = sqrt(alpha-bar_t) x_0 + sqrt(1 - alpha-bar_t) eps.
 *
 * @param alphaProd alpha-bar_t.
 * @returns Both scales.
 *
 * @example
 * ```ts
 * import { forwardCoefficients } from "@x/ddpm/diffusion";
 * const c = forwardCoefficients(0.36);
 * if (c.sqrtAlphaProd !== 0.6 || c.sqrtOneMinusAlphaProd !== 0.8) throw new Error("wrong");
 * ```
 */
export function forwardCoefficients(alphaProd: number): ForwardCoefficients {
  return { sqrtAlphaProd: Math.sqrt(alphaProd), sqrtOneMinusAlphaProd: Math.sqrt(1 - alphaProd) };
}

/** The scalars one reverse step from timestep t to an earlier timestep needs. */
export interface StepCoefficients {
  /** alpha-bar at t. */
  alphaProdT: number;
  /** alpha-bar at the earlier timestep (`finalAlphaCumprod` when it is -1). */
  alphaProdPrev: number;
  /** 1 - alpha-bar at t. */
  betaProdT: number;
  /** 1 - alpha-bar at the earlier timestep. */
  betaProdPrev: number;
  /** The alpha of the whole stride: alpha-bar_t / alpha-bar_prev (alpha_t for a unit stride). */
  currentAlphaT: number;
  /** 1 - currentAlphaT (beta_t for a unit stride). */
  currentBetaT: number;
}

/**
 * Looks up the scalars of a reverse step from `t` to `prevT` in a table of alpha-bars.
 *
 * @param alphasCumprod alpha-bar for every training timestep.
 * @param t The current timestep, in [0, T).
 * @param prevT The earlier timestep, in [-1, t); -1 means x_0.
 * @param finalAlphaCumprod alpha-bar used when `prevT` is -1: 1 for DDPM.
 * @returns The step's coefficients.
 * @throws {RangeError} when `t` or `prevT` is outside its range.
 *
 * @example
 * ```ts
 * import { stepCoefficients } from "@x/ddpm";
 * const c = stepCoefficients([0.9, 0.45], 1, 0);
 * if (Math.abs(c.currentAlphaT - 0.5) > 1e-15) throw new Error("wrong alpha");
 * ```
 */
export function stepCoefficients(
  alphasCumprod: ArrayLike<number>,
  t: number,
  prevT: number,
  finalAlphaCumprod = 1,
): StepCoefficients {
  checkTimestep(t, alphasCumprod.length);
  if (!Number.isInteger(prevT) || prevT < -1 || prevT >= t) {
    throw new RangeError(
      `Cannot step from timestep ${t} to ${prevT}: the previous timestep must be an integer in [-1, ${t})`,
    );
  }
  const alphaProdT = alphasCumprod[t];
  const alphaProdPrev = prevT >= 0 ? alphasCumprod[prevT] : finalAlphaCumprod;
  const currentAlphaT = alphaProdT / alphaProdPrev;
  return {
    alphaProdT,
    alphaProdPrev,
    betaProdT: 1 - alphaProdT,
    betaProdPrev: 1 - alphaProdPrev,
    currentAlphaT,
    currentBetaT: 1 - currentAlphaT,
  };
}

/**
 * Throws a RangeError unless `t` is an integer timestep in [0, numTrainTimesteps).
 *
 * @param t The timestep.
 * @param numTrainTimesteps T.
 * @throws {RangeError} naming `t`.
 *
 * @example
 * ```ts
 * import { checkTimestep } from "@x/ddpm/diffusion";
 * checkTimestep(999, 1000);
 * let threw = false;
 * try { checkTimestep(1000, 1000); } catch (e) { threw = e instanceof RangeError; }
 * if (!threw) throw new Error("1000 is out of range");
 * ```
 */
export function checkTimestep(t: number, numTrainTimesteps: number): void {
  if (!Number.isInteger(t) || t < 0 || t >= numTrainTimesteps) {
    throw new RangeError(
      `Timestep ${t} is out of range: expected an integer in [0, ${numTrainTimesteps})`,
    );
  }
}

/**
 * The variance beta-tilde of the posterior q(x_{t-1} | x_t, x_0) (eq. 7):
 * (1 - alpha-bar_prev) / (1 - alpha-bar_t) * (1 - alpha-bar_t / alpha-bar_prev).
 *
 * @param alphaProdT alpha-bar at t.
 * @param alphaProdPrev alpha-bar at the earlier timestep (1 for x_0).
 * @returns beta-tilde, 0 when stepping to x_0.
 *
 * @example
 * ```ts
 * import { posteriorVariance } from "@x/ddpm";
 * if (posteriorVariance(0.5, 1) !== 0) throw new Error("no variance into x_0");
 * ```
 */
export function posteriorVariance(alphaProdT: number, alphaProdPrev: number): number {
  return (1 - alphaProdPrev) / (1 - alphaProdT) * (1 - alphaProdT / alphaProdPrev);
}

/** The posterior mean mu-tilde(x_t, x_0) = x0Coef x_0 + xtCoef x_t (eq. 7). */
export interface PosteriorMeanCoefficients<T = number> {
  /** sqrt(alpha-bar_prev) beta_t / (1 - alpha-bar_t). */
  x0Coef: T;
  /** sqrt(alpha_t) (1 - alpha-bar_prev) / (1 - alpha-bar_t). */
  xtCoef: T;
}

/**
 * The coefficients of the posterior mean (eq. 7):
 * mu-tilde(x_t, x_0) = x0Coef * x_0 + xtCoef * x_t, with
 * x0Coef = sqrt(alpha-bar_prev) beta_t / (1 - alpha-bar_t) and
 * xtCoef = sqrt(alpha_t) (1 - alpha-bar_prev) / (1 - alpha-bar_t),
 * where alpha_t = alpha-bar_t / alpha-bar_prev covers strided steps too.
 *
 * @param alphaProdT alpha-bar at t.
 * @param alphaProdPrev alpha-bar at the earlier timestep (1 for x_0).
 * @returns Both coefficients.
 *
 * @example
 * ```ts
 * import { posteriorMeanCoefficients } from "@x/ddpm";
 * const { x0Coef, xtCoef } = posteriorMeanCoefficients(0.5, 1);
 * if (x0Coef !== 1 || xtCoef !== 0) throw new Error("stepping into x_0 returns x_0");
 * ```
 */
export function posteriorMeanCoefficients(
  alphaProdT: number,
  alphaProdPrev: number,
): PosteriorMeanCoefficients {
  const currentAlpha = alphaProdT / alphaProdPrev;
  const betaProdT = 1 - alphaProdT;
  return {
    x0Coef: Math.sqrt(alphaProdPrev) * (1 - currentAlpha) / betaProdT,
    xtCoef: Math.sqrt(currentAlpha) * (1 - alphaProdPrev) / betaProdT,
  };
}

/**
 * The per-timestep posterior variances beta-tilde_t of unit steps (t to t - 1), with
 * alpha-bar = 1 before the first step so that entry 0 is 0.
 *
 * @param alphasCumprod alpha-bar for every training timestep.
 * @returns beta-tilde for every timestep.
 *
 * @example
 * ```ts
 * import { cumulativeProduct, linearBetas, alphasFromBetas } from "@x/ddpm";
 * import { posteriorVariances } from "@x/ddpm/diffusion";
 * const abar = cumulativeProduct(alphasFromBetas(linearBetas(1e-4, 0.02, 1000)));
 * const v = posteriorVariances(abar);
 * if (Math.abs(v[487] - 0.00979) > 1e-5) throw new Error("diffusers' reference value");
 * ```
 */
export function posteriorVariances(alphasCumprod: ArrayLike<number>): Float64Array {
  return Float64Array.from(
    alphasCumprod,
    (a, t) => posteriorVariance(a, t > 0 ? alphasCumprod[t - 1] : 1),
  );
}
