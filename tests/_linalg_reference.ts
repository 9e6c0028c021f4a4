// Independent float64 linear algebra for checking src/metrics: cyclic Jacobi eigen-decomposition
// (slow, simple, accurate to a few ulps of the norm) and the Denman-Beavers square root
// iteration on a general matrix. Row-major n x n arrays throughout.

/** Eigenvalues and eigenvectors (columns of `vectors`) of a symmetric matrix, by cyclic Jacobi. */
export function jacobiEigen(
  a: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  const m = a.slice();
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    if (off < 1e-300) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p], mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k], mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = m[i * n + i];
  return { values, vectors: v };
}

export function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const x = a[i * n + k];
      for (let j = 0; j < n; j++) c[i * n + j] += x * b[k * n + j];
    }
  }
  return c;
}

/**
 * The PSD square root V diag(sqrt(max(lambda, 0))) V^T of a symmetric matrix; eigenvalues below
 * `zeroBelow` times the largest count as exact zeros (the null space of a singular covariance,
 * which rounding fills with values near 1e-17 whose square roots are near 3e-9).
 */
export function sqrtPsd(a: Float64Array, n: number, zeroBelow = 0): Float64Array {
  const { values, vectors } = jacobiEigen(a, n);
  const cut = zeroBelow * Math.max(...values);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const r = values[k] > cut ? Math.sqrt(values[k]) : 0;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * r;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return out;
}

/** tr sqrt(S1 S2) as sum sqrt(eig(A S2 A)), A = sqrt(S1), all by Jacobi. */
export function traceSqrtByJacobi(
  s1: Float64Array,
  s2: Float64Array,
  n: number,
  zeroBelow = 0,
): number {
  const a = sqrtPsd(s1, n, zeroBelow);
  const m = matmul(matmul(a, s2, n), a, n);
  const { values } = jacobiEigen(m, n);
  // A S2 A has the same null space as S1; its rounding is cut the same way.
  const cut = zeroBelow * Math.max(...values);
  return values.reduce((s, v) => s + (v > cut ? Math.sqrt(v) : 0), 0);
}

function inverse(a: Float64Array, n: number): Float64Array {
  // Gauss-Jordan with partial pivoting.
  const m = a.slice();
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) {
      if (Math.abs(m[r * n + col]) > Math.abs(m[p * n + col])) p = r;
    }
    for (let k = 0; k < n; k++) {
      [m[col * n + k], m[p * n + k]] = [m[p * n + k], m[col * n + k]];
      [inv[col * n + k], inv[p * n + k]] = [inv[p * n + k], inv[col * n + k]];
    }
    const d = m[col * n + col];
    for (let k = 0; k < n; k++) {
      m[col * n + k] /= d;
      inv[col * n + k] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r * n + col];
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        m[r * n + k] -= f * m[col * n + k];
        inv[r * n + k] -= f * inv[col * n + k];
      }
    }
  }
  return inv;
}

/**
 * sqrt(P) of a matrix with no eigenvalues on the closed negative axis, by the Denman-Beavers
 * iteration Y <- (Y + Z^-1) / 2, Z <- (Z + Y^-1) / 2 from Y = P, Z = I, with determinant scaling
 * for fast convergence on ill-conditioned P.
 */
export function denmanBeaversSqrt(p: Float64Array, n: number): Float64Array {
  let y = p.slice();
  let z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) z[i * n + i] = 1;
  for (let it = 0; it < 100; it++) {
    const yi = inverse(y, n), zi = inverse(z, n);
    // Scaling by |det Y det Z|^(-1/(2n)) for the first iterations (Higham, Functions of
    // Matrices, section 6.3), then the plain iteration, which converges quadratically.
    const g = it < 10 ? Math.exp(-(luLogAbsDet(y, n) + luLogAbsDet(z, n)) / (2 * n)) : 1;
    const ny = new Float64Array(n * n), nz = new Float64Array(n * n);
    let change = 0, scale = 0;
    for (let k = 0; k < n * n; k++) {
      ny[k] = (g * y[k] + zi[k] / g) / 2;
      nz[k] = (g * z[k] + yi[k] / g) / 2;
      change = Math.max(change, Math.abs(ny[k] - y[k]));
      scale = Math.max(scale, Math.abs(ny[k]));
    }
    y = ny;
    z = nz;
    if (change <= 1e-15 * scale && it >= 10) break;
  }
  return y;
}

function luLogAbsDet(a: Float64Array, n: number): number {
  const m = a.slice();
  let log = 0;
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) {
      if (Math.abs(m[r * n + col]) > Math.abs(m[p * n + col])) p = r;
    }
    if (p !== col) {
      for (let k = 0; k < n; k++) [m[col * n + k], m[p * n + k]] = [m[p * n + k], m[col * n + k]];
    }
    const d = m[col * n + col];
    log += Math.log(Math.abs(d));
    for (let r = col + 1; r < n; r++) {
      const f = m[r * n + col] / d;
      for (let k = col; k < n; k++) m[r * n + k] -= f * m[col * n + k];
    }
  }
  return log;
}

/** A random orthogonal matrix (QR of a Gaussian-ish matrix by Gram-Schmidt, twice). */
export function randomOrthogonal(n: number, rand: () => number): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) q[i] = rand() - 0.5;
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * n + j] * q[i * n + k];
        for (let i = 0; i < n; i++) q[i * n + j] -= dot * q[i * n + k];
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += q[i * n + j] ** 2;
      norm = Math.sqrt(norm);
      for (let i = 0; i < n; i++) q[i * n + j] /= norm;
    }
  }
  return q;
}

/** Q diag(values) Q^T. */
export function withEigenvalues(
  q: Float64Array,
  values: ArrayLike<number>,
  n: number,
): Float64Array {
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      const qik = q[i * n + k] * values[k];
      for (let j = 0; j < n; j++) out[i * n + j] += qik * q[j * n + k];
    }
  }
  // Exactly symmetric.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) out[j * n + i] = out[i * n + j];
  return out;
}
