/**
 * The Inception Score from classifier logits, as torch-fidelity computes it.
 *
 * @module
 */
import { _numpyPermutation } from "./_numpy_permutation.ts";

/** Options of {@linkcode inceptionScoreFromLogits}. */
export interface InceptionScoreOptions {
  /** Number of splits whose scores are averaged. Default 10 (torch-fidelity, and the paper). */
  splits?: number;
  /**
   * Shuffle the rows before splitting, with NumPy's `RandomState(seed).permutation`, as
   * torch-fidelity does. Default true.
   */
  shuffle?: boolean;
  /** Seed of the shuffle. Default 2020 (torch-fidelity's `rng_seed`). */
  seed?: number;
}

/** The Inception Score: the mean and standard deviation over the splits, and each split's. */
export interface InceptionScore {
  /** Mean of the split scores. */
  mean: number;
  /** Population standard deviation of the split scores (`np.std`). */
  std: number;
  /** The score of each split. */
  scores: number[];
}

/**
 * The Inception Score exp(E_x KL(p(y|x) || p(y))) of `count` rows of `classes` logits,
 * computed as torch-fidelity's `isc_features_to_metric`: rows shuffled by NumPy's
 * `RandomState(2020).permutation`, split into `splits` contiguous parts (part i holds rows
 * floor(i N / splits) .. floor((i + 1) N / splits) - 1), and in each part, in float64,
 * p = softmax(logits), p(y) = mean of p over the part, score = exp(mean over rows of
 * sum_y p (log p - log p(y))). torch-fidelity feeds it the logits without the fc bias
 * ({@linkcode InceptionV3.features} `logitsUnbiased`).
 *
 * @param logits Row-major, `count * classes` values.
 * @param classes Logits per row (1008 for the FID Inception).
 * @param opts Splits, shuffle and seed.
 * @returns The mean, the standard deviation and the split scores.
 * @throws {RangeError} When the sizes do not fit or there are fewer rows than splits.
 *
 * @example Uniform predictions score 1; confident, evenly spread ones score the class count
 * ```ts
 * import { inceptionScoreFromLogits } from "./inception_score_math.ts";
 * const flat = inceptionScoreFromLogits(new Float32Array(40 * 4), 4, { splits: 2 });
 * if (Math.abs(flat.mean - 1) > 1e-12) throw new Error(String(flat.mean));
 * const sharp = new Float32Array(40 * 4).map((_, i) => (i % 4 === Math.floor(i / 4) % 4 ? 50 : 0));
 * const is = inceptionScoreFromLogits(sharp, 4, { splits: 2, shuffle: false });
 * if (Math.abs(is.mean - 4) > 1e-9) throw new Error(String(is.mean));
 * ```
 */
export function inceptionScoreFromLogits(
  logits: ArrayLike<number>,
  classes: number,
  opts: InceptionScoreOptions = {},
): InceptionScore {
  const { splits = 10, shuffle = true, seed = 2020 } = opts;
  if (!Number.isInteger(classes) || classes < 1 || logits.length % classes !== 0) {
    throw new RangeError(
      `Cannot compute the Inception Score: ${logits.length} logits are not rows of ${classes}`,
    );
  }
  const count = logits.length / classes;
  if (!Number.isInteger(splits) || splits < 1 || count < splits) {
    throw new RangeError(
      `Cannot compute the Inception Score: ${count} images cannot make ${splits} splits`,
    );
  }
  const order = shuffle ? _numpyPermutation(count, seed) : null;
  const p = new Float64Array(count * classes);
  const logP = new Float64Array(count * classes);
  for (let r = 0; r < count; r++) {
    const src = (order ? order[r] : r) * classes;
    const dst = r * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[src + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[src + c] - max);
    const logSum = Math.log(sum) + max;
    for (let c = 0; c < classes; c++) {
      const lp = logits[src + c] - logSum;
      logP[dst + c] = lp;
      p[dst + c] = Math.exp(lp);
    }
  }
  const scores: number[] = [];
  const q = new Float64Array(classes);
  for (let s = 0; s < splits; s++) {
    const start = Math.floor((s * count) / splits);
    const end = Math.floor(((s + 1) * count) / splits);
    q.fill(0);
    for (let r = start; r < end; r++) {
      for (let c = 0; c < classes; c++) q[c] += p[r * classes + c];
    }
    for (let c = 0; c < classes; c++) q[c] = Math.log(q[c] / (end - start));
    let kl = 0;
    for (let r = start; r < end; r++) {
      let row = 0;
      for (let c = 0; c < classes; c++) {
        const pc = p[r * classes + c];
        // A probability that underflowed to 0 adds 0, as p * (log p - log q) does in torch.
        if (pc > 0) row += pc * (logP[r * classes + c] - q[c]);
      }
      kl += row;
    }
    scores.push(Math.exp(kl / (end - start)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, scores };
}
