// The float64 host Adam that the optimiser tests check the device updates against.

/** Adam in float64 on the host, written from Kingma & Ba's Algorithm 1 with TF's epsilon. */
export function hostAdam(
  w: number[],
  grads: number[][],
  opts: { lr: number[]; b1: number; b2: number; eps: number; clip: number },
): number[] {
  const m = w.map(() => 0), v = w.map(() => 0);
  const x = w.slice();
  grads.forEach((g, k) => {
    const norm = Math.sqrt(g.reduce((s, gi) => s + gi * gi, 0));
    const scale = norm > opts.clip ? opts.clip / norm : 1;
    const step = k + 1;
    const alpha = opts.lr[k] * Math.sqrt(1 - opts.b2 ** step) / (1 - opts.b1 ** step);
    for (let i = 0; i < x.length; i++) {
      const gi = g[i] * scale;
      m[i] = opts.b1 * m[i] + (1 - opts.b1) * gi;
      v[i] = opts.b2 * v[i] + (1 - opts.b2) * gi * gi;
      x[i] -= alpha * m[i] / (Math.sqrt(v[i]) + opts.eps);
    }
  });
  return x;
}
