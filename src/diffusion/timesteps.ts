/**
 * The inference timesteps of strided sampling, spaced exactly as diffusers spaces them
 * (Table 2 of Lin et al. 2023: "linspace", "leading", "trailing").
 *
 * @module
 */
import type { SchedulerConfig, TimestepSpacing } from "./scheduler_config.ts";

const SPACINGS: readonly TimestepSpacing[] = ["linspace", "leading", "trailing"];

/** numpy's `rint`: rounds half to even, which is what `np.round` does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `np.linspace(0, stop, n)`: k * (stop / (n - 1)), with the last value exactly `stop`. */
function npLinspace(stop: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) return out;
  const step = stop / (n - 1);
  for (let k = 0; k < n; k++) out[k] = k * step;
  out[n - 1] = stop;
  return out;
}

/**
 * The first `n` values of `np.arange(start, 0, -step)` for floats. numpy fills it as
 * start + i * delta, where delta = (start - step) - start carries the rounding of the second
 * element. numpy sizes it by ceil(start / step), which rounding can make n + 1 (T = 1000 with
 * n = 61, for example); diffusers then ends on timestep -1, which we leave out.
 */
function npArangeDown(start: number, step: number, n: number): Float64Array {
  const out = new Float64Array(n);
  out[0] = start;
  if (n > 1) out[1] = start - step;
  const delta = out[1] - start;
  for (let i = 2; i < n; i++) out[i] = start + i * delta;
  return out;
}

/**
 * The descending timesteps a scheduler visits with `numInferenceSteps` steps:
 *
 * - `"linspace"`: round(linspace(0, T - 1, n)), reversed;
 * - `"leading"`: k * floor(T / n) + stepsOffset for k = n - 1 ... 0;
 * - `"trailing"`: round(T - k * T / n) - 1 for k = 0 ... n - 1.
 *
 * Rounding is half-to-even, as numpy rounds, so the arrays equal diffusers' `set_timesteps`
 * (except that where numpy's float `arange` yields one element too many for "trailing",
 * giving diffusers a bogus final timestep -1, that element is left out).
 *
 * @param numInferenceSteps n, in [1, T].
 * @param config The training length, the spacing and the offset.
 * @returns n timesteps, descending, each in [0, T).
 * @throws {RangeError} when n is not an integer in [1, T], or the offset pushes a timestep
 * to T or beyond.
 *
 * @example
 * ```ts
 * import { inferenceTimesteps } from "@x/ddpm/diffusion";
 * const ts = inferenceTimesteps(4, {
 *   numTrainTimesteps: 1000, timestepSpacing: "trailing", stepsOffset: 0,
 * });
 * if (ts.join() !== "999,749,499,249") throw new Error(ts.join());
 * ```
 */
export function inferenceTimesteps(
  numInferenceSteps: number,
  config: Pick<SchedulerConfig, "numTrainTimesteps" | "timestepSpacing" | "stepsOffset">,
): Int32Array {
  const T = config.numTrainTimesteps;
  const n = numInferenceSteps;
  if (!Number.isInteger(n) || n < 1 || n > T) {
    throw new RangeError(
      `Cannot set timesteps as numInferenceSteps must be an integer in [1, numTrainTimesteps = ${T}]: current value is ${n}`,
    );
  }
  let ts: Int32Array;
  if (config.timestepSpacing === "linspace") {
    ts = Int32Array.from(npLinspace(T - 1, n), roundHalfEven).reverse();
  } else if (config.timestepSpacing === "leading") {
    const ratio = Math.floor(T / n);
    ts = Int32Array.from({ length: n }, (_, k) => (n - 1 - k) * ratio + config.stepsOffset);
  } else if (config.timestepSpacing === "trailing") {
    ts = Int32Array.from(npArangeDown(T, T / n, n), (x) => roundHalfEven(x) - 1);
  } else {
    throw new RangeError(
      `Unknown timestepSpacing "${config.timestepSpacing}": expected one of ${SPACINGS.join(", ")}`,
    );
  }
  if (ts[0] >= T || ts[ts.length - 1] < 0) {
    throw new RangeError(
      `Cannot set ${n} timesteps: with stepsOffset ${config.stepsOffset} they span [${
        ts[ts.length - 1]
      }, ${ts[0]}], outside [0, ${T}); lower stepsOffset`,
    );
  }
  return ts;
}
