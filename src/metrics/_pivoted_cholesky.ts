// Pivoted Cholesky of a symmetric positive semi-definite matrix: S = P L L^T P^T with L lower
// trapezoidal, n x r, where r is the numerical rank. It reveals the rank of a singular
// covariance (fewer images than features) without an eigen-decomposition.

/** The factor of {@linkcode _pivotedCholesky}. */
export interface _PivotedCholesky {
  /** n x n row-major; the first `rank` columns hold L (lower trapezoidal), the rest is zero. */
  l: Float64Array;
  /** perm[i] = the row of S that row i of L belongs to. */
  perm: Int32Array;
  /** The numerical rank r. */
  rank: number;
  /** The largest diagonal entry of the Schur complement left unfactored (0 when r = n). */
  residual: number;
  /** The most negative diagonal entry left unfactored (0 when none is negative). */
  negative: number;
}

/**
 * Factors a symmetric PSD matrix with diagonal pivoting, stopping when every diagonal entry
 * left is at most `n * 2^-52 * max(diag(S))` (Higham's rule for PSD matrices): the directions
 * dropped carry eigenvalues of that size, whose square roots change a trace by less than
 * rounding does elsewhere.
 */
export function _pivotedCholesky(s: Float64Array, n: number): _PivotedCholesky {
  const a = s.slice();
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, a[i * n + i]);
  const tol = n * 2 ** -52 * maxDiag;
  const col = new Float64Array(n);
  let rank = n;
  for (let k = 0; k < n; k++) {
    let q = k;
    for (let i = k + 1; i < n; i++) if (a[i * n + i] > a[q * n + q]) q = i;
    if (!(a[q * n + q] > tol)) {
      rank = k;
      break;
    }
    if (q !== k) swapSymmetric(a, n, k, q, perm);
    const pivot = Math.sqrt(a[k * n + k]);
    a[k * n + k] = pivot;
    for (let i = k + 1; i < n; i++) {
      const v = a[i * n + k] / pivot;
      a[i * n + k] = v;
      col[i] = v;
    }
    // Right-looking update of the lower triangle of the trailing block, four rows per load of
    // the pivot column (which halves the time of this loop in V8), then the rows left over.
    let i = k + 1;
    for (; i + 4 <= n; i += 4) {
      const c0 = col[i], c1 = col[i + 1], c2 = col[i + 2], c3 = col[i + 3];
      const r0 = i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
      for (let j = k + 1; j <= i; j++) {
        const x = col[j];
        a[r0 + j] -= c0 * x;
        a[r1 + j] -= c1 * x;
        a[r2 + j] -= c2 * x;
        a[r3 + j] -= c3 * x;
      }
      // The triangle's edge: row i+1 reaches column i+1, row i+2 i+2, row i+3 i+3.
      const x1 = col[i + 1], x2 = col[i + 2], x3 = col[i + 3];
      a[r1 + i + 1] -= c1 * x1;
      a[r2 + i + 1] -= c2 * x1;
      a[r2 + i + 2] -= c2 * x2;
      a[r3 + i + 1] -= c3 * x1;
      a[r3 + i + 2] -= c3 * x2;
      a[r3 + i + 3] -= c3 * x3;
    }
    for (; i < n; i++) {
      const ci = col[i];
      const row = i * n;
      for (let j = k + 1; j <= i; j++) a[row + j] -= ci * col[j];
    }
  }
  let residual = 0;
  let negative = 0;
  for (let i = rank; i < n; i++) {
    residual = Math.max(residual, a[i * n + i]);
    negative = Math.min(negative, a[i * n + i]);
  }
  // Keep only L: zero the strict upper triangle and the columns past the rank.
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = Math.min(i + 1, rank); j < n; j++) a[row + j] = 0;
  }
  return { l: a, perm, rank, residual, negative };
}

// Swaps rows and columns k < q of a symmetric matrix whose lower triangle (from column k on)
// is current; columns before k hold finished rows of L, which move with their rows.
function swapSymmetric(a: Float64Array, n: number, k: number, q: number, perm: Int32Array): void {
  const rk = k * n, rq = q * n;
  for (let j = 0; j < k; j++) {
    const t = a[rk + j];
    a[rk + j] = a[rq + j];
    a[rq + j] = t;
  }
  const d = a[rk + k];
  a[rk + k] = a[rq + q];
  a[rq + q] = d;
  // Lower-triangle entries between the two: (i, k) for k < i < q pairs with (q, i).
  for (let i = k + 1; i < q; i++) {
    const t = a[i * n + k];
    a[i * n + k] = a[rq + i];
    a[rq + i] = t;
  }
  // Below q: (i, k) pairs with (i, q).
  for (let i = q + 1; i < n; i++) {
    const t = a[i * n + k];
    a[i * n + k] = a[i * n + q];
    a[i * n + q] = t;
  }
  // (q, k) stays: it is the same entry before and after.
  const p = perm[k];
  perm[k] = perm[q];
  perm[q] = p;
}
