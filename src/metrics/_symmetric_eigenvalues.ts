// Eigenvalues of a symmetric matrix in float64: Householder reduction to tridiagonal form,
// then the implicit QL algorithm with Wilkinson shifts (Golub and Van Loan, sections 8.3.1 and
// 8.3.5). Values only: no eigenvectors are accumulated, which keeps it at 4/3 n^3 flops.

/**
 * Reduces a symmetric matrix to tridiagonal form T = Q^T A Q by Householder reflections.
 * Reads and overwrites the lower triangle of `a` (n x n, row-major).
 * Returns the diagonal `d` and the sub-diagonal `e` (e[i] couples i and i + 1; e[n-1] = 0).
 *
 * Each step k needs p = beta B v over the trailing block B and then the rank-2 update
 * B -= v w^T + w v^T. The update of step k and the product of step k + 1 share one sweep over
 * the block (the next reflector only needs the block's first column, updated first), so the
 * block is read once per step instead of twice: at n = 2048 it does not fit in cache, and the
 * sweeps are bound by memory.
 */
export function _tridiagonalize(a: Float64Array, n: number): { d: Float64Array; e: Float64Array } {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { d, e };
  let v = new Float64Array(n);
  let p = new Float64Array(n);
  let vNext = new Float64Array(n);
  let pNext = new Float64Array(n);
  if (n >= 3) {
    // Step 0's reflector and product, unfused.
    const h = reflector(a, n, 0, v);
    e[0] = h.alpha;
    const m = n - 1;
    p.fill(0, 0, m);
    if (h.beta !== 0) {
      for (let i = 0; i < m; i++) {
        const row = (1 + i) * n + 1;
        const vi = v[i];
        let s = 0;
        for (let j = 0; j < i; j++) {
          const b = a[row + j];
          s += b * v[j];
          p[j] += b * vi;
        }
        p[i] += s + a[row + i] * vi;
      }
    }
    let beta = h.beta;
    for (let k = 0; k < n - 2; k++) {
      const m = n - k - 1; // the block B: rows and columns k+1 .. n-1
      const base = k + 1;
      d[k] = a[k * n + k];
      // p = beta B v; w = p - (beta p.v / 2) v, kept in p.
      let pv = 0;
      for (let i = 0; i < m; i++) {
        p[i] *= beta;
        pv += p[i] * v[i];
      }
      const kk = (beta * pv) / 2;
      for (let i = 0; i < m; i++) p[i] -= kk * v[i];
      const w = p;
      // B's first column first: it is the column the next reflector is built from.
      for (let i = 0; i < m; i++) a[(base + i) * n + base] -= v[i] * w[0] + w[i] * v[0];
      const last = k + 1 >= n - 2;
      let betaNext = 0;
      if (!last) {
        const h2 = reflector(a, n, base, vNext);
        e[base] = h2.alpha;
        betaNext = h2.beta;
        pNext.fill(0, 0, m - 1);
      }
      if (last || betaNext === 0) {
        // Update only (the next column is already zero below the sub-diagonal, or none is left).
        for (let i = 1; i < m; i++) {
          const row = (base + i) * n + base;
          const vi = v[i], wi = w[i];
          for (let j = 1; j <= i; j++) a[row + j] -= vi * w[j] + wi * v[j];
        }
      } else {
        // Update row i of B and use it at once for the next product, whose block is B
        // without its first row and column (indices shifted by one).
        for (let i = 1; i < m; i++) {
          const row = (base + i) * n + base;
          const vi = v[i], wi = w[i], vn = vNext[i - 1];
          let s = 0;
          for (let j = 1; j < i; j++) {
            const x = a[row + j] - vi * w[j] - wi * v[j];
            a[row + j] = x;
            s += x * vNext[j - 1];
            pNext[j - 1] += x * vn;
          }
          const diag = a[row + i] - 2 * vi * wi;
          a[row + i] = diag;
          pNext[i - 1] += s + diag * vn;
        }
      }
      [v, vNext] = [vNext, v];
      [p, pNext] = [pNext, p];
      beta = betaNext;
    }
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + n - 2];
    e[n - 2] = a[(n - 1) * n + n - 2];
  }
  d[n - 1] = a[(n - 1) * n + n - 1];
  return { d, e };
}

// The Householder reflector H = I - beta v v^T that maps column k of `a` below the diagonal
// (rows k+1 .. n-1) to (alpha, 0, ..., 0). Writes v (length n - k - 1); beta = 0 when the
// column is already zero.
function reflector(
  a: Float64Array,
  n: number,
  k: number,
  v: Float64Array,
): { alpha: number; beta: number } {
  const m = n - k - 1;
  const base = k + 1;
  let scale = 0;
  for (let i = 0; i < m; i++) scale = Math.max(scale, Math.abs(a[(base + i) * n + k]));
  if (scale === 0) {
    v.fill(0, 0, m);
    return { alpha: 0, beta: 0 };
  }
  // Scaled so the sum of squares neither overflows nor underflows.
  let sigma = 0;
  for (let i = 0; i < m; i++) {
    const x = a[(base + i) * n + k] / scale;
    v[i] = x;
    sigma += x * x;
  }
  const norm = Math.sqrt(sigma);
  const alpha = v[0] > 0 ? -norm : norm; // the sign that avoids cancellation in v[0] - alpha
  const x0 = v[0];
  v[0] = x0 - alpha;
  // ||x - alpha e1||^2 = sigma - 2 alpha x0 + alpha^2 = 2 (sigma - alpha x0).
  const beta = 1 / (sigma - alpha * x0);
  return { alpha: alpha * scale, beta };
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix with diagonal `d` and sub-diagonal `e`
 * (both overwritten), by implicit QL with Wilkinson shifts. Returns `d`, holding them unsorted.
 */
export function _tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    for (let iter = 0;; iter++) {
      // Find the first negligible off-diagonal entry at or after l: the block l..m splits off.
      let m = l;
      for (; m < n - 1; m++) {
        if (Math.abs(e[m]) <= eps * (Math.abs(d[m]) + Math.abs(d[m + 1]))) break;
      }
      if (m === l) break;
      if (iter >= 60) {
        throw new RangeError("Cannot compute eigenvalues: QL did not converge in 60 sweeps");
      }
      // Wilkinson shift from the leading 2x2 block, then chase the bulge from m up to l.
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1, c = 1, p = 0;
      let i = m - 1;
      let deflated = false;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // An exact zero split the block: undo the last shift and start again.
          d[i + 1] -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (deflated) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d;
}

/**
 * Eigenvalues of a symmetric matrix (its lower triangle is read), in ascending order.
 * `a` is n x n row-major and is left unchanged.
 */
export function _symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  const { d, e } = _tridiagonalize(a.slice(), n);
  return _tridiagonalEigenvalues(d, e).sort();
}
