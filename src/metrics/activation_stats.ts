/**
 * Mean and covariance of feature vectors in float64, accumulated batch by batch, as
 * pytorch-fid's `np.mean(act, axis=0)` and `np.cov(act, rowvar=False)` give them.
 *
 * @module
 */
import type { ActivationStats } from "./frechet_distance.ts";

/**
 * Accumulates the mean and covariance of d-dimensional vectors without keeping them: each
 * vector is centred on the first one seen (a shift that leaves the covariance unchanged and
 * keeps the sums free of cancellation), and the sums of the centred vectors and of their
 * outer products (lower triangle) are kept in float64.
 *
 * @example The covariance of three points on a line
 * ```ts
 * import { ActivationStatsAccumulator } from "./activation_stats.ts";
 * const acc = new ActivationStatsAccumulator(2);
 * acc.add(new Float32Array([0, 0, 1, 2, 2, 4]));
 * const { mu, sigma } = acc.result();
 * if (mu.join() !== "1,2" || sigma.join() !== "1,2,2,4") throw new Error(`${mu} ${sigma}`);
 * ```
 */
export class ActivationStatsAccumulator {
  /** Dimension of the vectors. */
  readonly dim: number;
  #count = 0;
  #shift: Float64Array | undefined;
  #sum: Float64Array;
  #outer: Float64Array;
  #centred = new Float64Array(0);

  /**
   * Starts empty.
   *
   * @param dim Dimension of the vectors (2048 for Inception pool3).
   */
  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim < 1) {
      throw new RangeError(`ActivationStatsAccumulator needs a dimension >= 1: got ${dim}`);
    }
    this.dim = dim;
    this.#sum = new Float64Array(dim);
    this.#outer = new Float64Array(dim * dim);
  }

  /** Vectors added so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Adds vectors given row-major, `values.length / dim` of them.
   *
   * @param values The vectors, one after another.
   * @throws {RangeError} When the length is not a multiple of the dimension or a value is not
   *   finite.
   */
  add(values: ArrayLike<number>): void {
    const d = this.dim;
    if (values.length % d !== 0) {
      throw new RangeError(`Cannot add ${values.length} values as vectors of ${d}`);
    }
    const rows = values.length / d;
    if (rows === 0) return;
    if (!this.#shift) this.#shift = Float64Array.from({ length: d }, (_, i) => values[i]);
    if (this.#centred.length < values.length) this.#centred = new Float64Array(values.length);
    const x = this.#centred;
    const shift = this.#shift;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < d; i++) {
        const v = values[r * d + i];
        if (!Number.isFinite(v)) {
          throw new RangeError(`Cannot add a vector holding ${v} (row ${r}, entry ${i})`);
        }
        const c = v - shift[i];
        x[r * d + i] = c;
        this.#sum[i] += c;
      }
    }
    // Rank-`rows` update of the lower triangle, four vectors per pass over a row of the sums.
    const outer = this.#outer;
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const a = r * d, b = a + d, c = b + d, e = c + d;
      for (let i = 0; i < d; i++) {
        const ai = x[a + i], bi = x[b + i], ci = x[c + i], ei = x[e + i];
        const row = i * d;
        for (let j = 0; j <= i; j++) {
          outer[row + j] += ai * x[a + j] + bi * x[b + j] + ci * x[c + j] + ei * x[e + j];
        }
      }
    }
    for (; r < rows; r++) {
      const a = r * d;
      for (let i = 0; i < d; i++) {
        const ai = x[a + i];
        const row = i * d;
        for (let j = 0; j <= i; j++) outer[row + j] += ai * x[a + j];
      }
    }
    this.#count += rows;
  }

  /**
   * The mean and the unbiased covariance (divided by count - 1).
   *
   * @returns The statistics, in new arrays.
   * @throws {RangeError} With fewer than two vectors.
   */
  result(): ActivationStats {
    const n = this.#count;
    const d = this.dim;
    if (n < 2 || !this.#shift) {
      throw new RangeError(`A covariance needs at least 2 vectors: got ${n}`);
    }
    const mu = new Float64Array(d);
    for (let i = 0; i < d; i++) mu[i] = this.#shift[i] + this.#sum[i] / n;
    const sigma = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        const v = (this.#outer[i * d + j] - (this.#sum[i] * this.#sum[j]) / n) / (n - 1);
        sigma[i * d + j] = v;
        sigma[j * d + i] = v;
      }
    }
    return { mu, sigma };
  }
}
