// NumPy's legacy `np.random.RandomState(seed).permutation(n)`, bit for bit: the Mersenne
// Twister MT19937 seeded by `init_genrand`, and a Fisher-Yates shuffle from the end whose
// indices come from masked rejection sampling (numpy's `random_interval`). torch-fidelity
// shuffles its Inception Score rows with it (seed 2020), so the split scores depend on it.

const N = 624;
const M = 397;

/** A MT19937 generator of 32-bit words, seeded as NumPy's RandomState(int) seeds it. */
export class _Mt19937 {
  #mt = new Uint32Array(N);
  #index = N;

  constructor(seed: number) {
    const mt = this.#mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** The next 32-bit output, as an unsigned integer. */
  next(): number {
    if (this.#index >= N) this.#twist();
    let y = this.#mt[this.#index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  #twist(): void {
    const mt = this.#mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.#index = 0;
  }
}

/** A uniform integer in [0, max] by numpy's rejection on the smallest covering bit mask. */
function randomInterval(rng: _Mt19937, max: number): number {
  if (max === 0) return 0;
  let mask = max;
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask >>>= 0;
  for (;;) {
    const value = (rng.next() & mask) >>> 0;
    if (value <= max) return value;
  }
}

/**
 * `np.random.RandomState(seed).permutation(n)` for 0 <= seed < 2^32 and n < 2^32.
 */
export function _numpyPermutation(n: number, seed: number): Int32Array {
  const rng = new _Mt19937(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i >= 1; i--) {
    const j = randomInterval(rng, i);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}
