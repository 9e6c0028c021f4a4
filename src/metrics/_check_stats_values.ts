// Statistics read from a file are checked where they are read, so that a damaged `.npz` is
// refused naming the file (exit 2) before an Inception pass, not found out by the Frechet
// distance's linear algebra afterwards.
import { FormatError } from "../errors.ts";

/**
 * Throws a FormatError naming `path` unless d >= 1, every value of `mu` and `sigma` is finite,
 * and `sigma` is symmetric (to float32 rounding) with a non-negative diagonal, as every
 * covariance is.
 */
export function _checkStatsValues(
  mu: Float64Array,
  sigma: Float64Array,
  d: number,
  path: string,
): void {
  if (d < 1) throw new FormatError(`${path}: mu and sigma are empty (d = 0)`);
  const bad = (name: string, arr: Float64Array) => {
    const i = arr.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw new FormatError(`${path}: ${name} holds ${arr[i]} at index ${i}`);
  };
  bad("mu", mu);
  bad("sigma", sigma);
  let scale = 0;
  for (let i = 0; i < sigma.length; i++) scale = Math.max(scale, Math.abs(sigma[i]));
  // float32 covariances written by other tools are symmetric to their rounding, 2^-24.
  const tol = 1e-6 * scale;
  for (let i = 0; i < d; i++) {
    if (sigma[i * d + i] < 0) {
      throw new FormatError(
        `${path}: sigma is not a covariance: its diagonal entry (${i}, ${i}) is ${
          sigma[i * d + i]
        }`,
      );
    }
    for (let j = 0; j < i; j++) {
      if (Math.abs(sigma[i * d + j] - sigma[j * d + i]) > tol) {
        throw new FormatError(
          `${path}: sigma is not symmetric: entries (${i}, ${j}) and (${j}, ${i}) differ`,
        );
      }
    }
  }
}
