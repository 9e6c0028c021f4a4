/**
 * FID reference statistics in pytorch-fid's `.npz` format: arrays `mu` (d) and `sigma` (d x d),
 * so that published statistics (TTUR's `fid_stats_cifar10_train.npz`, pytorch-fid's
 * `--save-stats` output) load as they are.
 *
 * @module
 */
import { FormatError, InputError, LimitError } from "../errors.ts";
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { MAX_NPZ_BYTES, readNpz, writeNpz } from "../formats/npy.ts";
import { _showName } from "../_terminal_text.ts";
import type { ActivationStats } from "./frechet_distance.ts";
import { _checkStatsValues } from "./_check_stats_values.ts";

/**
 * Reads `mu` and `sigma` from a `.npz` file (float64 or float32, any of NumPy's layouts).
 *
 * @param path The file.
 * @returns The statistics in float64.
 * @throws {InputError} When the file is missing; {@linkcode FormatError} when it is not a
 *   `.npz` with `mu` of shape (d,) and `sigma` of shape (d, d), d >= 1, all finite, `sigma`
 *   symmetric with a non-negative diagonal.
 *
 * @example
 * ```ts
 * import { loadActivationStats } from "./stats_file.ts";
 * const err = await loadActivationStats("/nonexistent.npz").catch((e) => e);
 * if (!String(err.message).includes("does not exist")) throw new Error(err.message);
 * ```
 */
export async function loadActivationStats(
  path: string,
): Promise<ActivationStats & { n?: number }> {
  const shown = _showName(path);
  let bytes: Uint8Array;
  try {
    const { size } = await Deno.stat(path);
    if (size > MAX_NPZ_BYTES) {
      throw new LimitError(
        `Cannot read statistics ${shown}: it is ${size} bytes, over the cap of ${MAX_NPZ_BYTES} ` +
          `for a .npz (FID statistics of 2048 features take 32 MiB)`,
      );
    }
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InputError(`Cannot read statistics ${shown}: it does not exist`, { cause: err });
    }
    throw err;
  }
  let arrays;
  try {
    // Only the two arrays FID needs: others may be large, or not floats at all.
    arrays = readNpz(bytes, { names: ["mu", "sigma"] });
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) {
      throw new FormatError(`${shown} is not a readable .npz file: ${err.message}`, { cause: err });
    }
    throw err;
  }
  const mu = arrays.get("mu");
  const sigma = arrays.get("sigma");
  if (!mu || !sigma) {
    throw new FormatError(
      `${shown} has no ${!mu ? "mu" : "sigma"} array (it holds ${
        [...arrays.keys()].join(", ") || "none"
      }); FID statistics are saved as np.savez(path, mu=mu, sigma=sigma)`,
    );
  }
  const d = mu.shape[0];
  if (
    mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== d ||
    sigma.shape[1] !== d
  ) {
    throw new FormatError(
      `${shown}: mu has shape (${mu.shape}) and sigma (${sigma.shape}); expected (d,) and (d, d)`,
    );
  }
  _checkStatsValues(mu.data, sigma.data, d, shown);
  // `n`, the image count, is ours (pytorch-fid ignores it); merging shards needs it. Read on its
  // own, so that another tool's `n` that is not a float leaves FID working (merging then says
  // that the count is missing).
  let n;
  try {
    n = readNpz(bytes, { names: ["n"] }).get("n");
  } catch {
    n = undefined;
  }
  if (n !== undefined) {
    const count = n.data[0];
    if (n.data.length !== 1 || !Number.isSafeInteger(count) || count < 1) {
      throw new FormatError(`${shown}: n must be one image count >= 1, got [${[...n.data]}]`);
    }
    return { mu: mu.data, sigma: sigma.data, n: count };
  }
  return { mu: mu.data, sigma: sigma.data };
}

/**
 * Writes statistics as pytorch-fid does (`np.savez(path, mu=mu, sigma=sigma)`, float64), through
 * a temporary file and a rename.
 *
 * @param path The `.npz` file to write.
 * @param stats The mean and covariance, and optionally `n`, the image count, saved as a
 *   float64 scalar `n` (pytorch-fid reads only `mu` and `sigma`) so that shards can be merged.
 *
 * @example
 * ```ts
 * import { loadActivationStats, saveActivationStats } from "./stats_file.ts";
 * // Writing needs --allow-write; the example only runs with it.
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const path = `${await Deno.makeTempDir()}/s.npz`;
 *   await saveActivationStats(path, { mu: new Float64Array([1]), sigma: new Float64Array([2]) });
 *   if ((await loadActivationStats(path)).sigma[0] !== 2) throw new Error();
 *   await Deno.remove(path);
 * }
 * ```
 */
export async function saveActivationStats(
  path: string,
  stats: ActivationStats & { n?: number },
): Promise<void> {
  const d = stats.mu.length;
  if (stats.sigma.length !== d * d) {
    throw new RangeError(
      `Cannot save statistics: sigma has ${stats.sigma.length} entries for d = ${d}`,
    );
  }
  await _writeFileAtomic(
    path,
    writeNpz({
      mu: { shape: [d], data: stats.mu },
      sigma: { shape: [d, d], data: stats.sigma },
      ...(stats.n === undefined ? {} : { n: { shape: [], data: Float64Array.of(stats.n) } }),
    }),
  );
}
