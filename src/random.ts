/**
 * Deterministic seeds. Every random draw in the library (weight init, noise, shuffles,
 * dropout) takes a seed derived here from a base seed and counters such as the step number,
 * so that a run resumed at step k draws exactly what an uninterrupted run draws.
 *
 * @module
 */

/**
 * Mixes a base seed with counters into a new 31-bit seed (a splitmix32-style hash).
 *
 * @param seed The base seed.
 * @param parts Counters to mix in, such as a step and a purpose tag.
 * @returns A non-negative integer below 2^31, the same for the same inputs.
 *
 * @example
 * ```ts
 * import { deriveSeed } from "./random.ts";
 * if (deriveSeed(1, 2) !== deriveSeed(1, 2)) throw new Error("not deterministic");
 * if (deriveSeed(1, 2) === deriveSeed(1, 3)) throw new Error("no mixing");
 * ```
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = (seed | 0) ^ 0x9e3779b9;
  for (const p of [...parts, parts.length]) {
    h = Math.imul(h ^ (p | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 1;
}

/**
 * A small seeded generator of uniform numbers in [0, 1) (mulberry32), for host-side
 * choices such as shuffles and timestep draws.
 *
 * @param seed The seed.
 * @returns A function that returns the next number on each call.
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./random.ts";
 * const a = mulberry32(7), b = mulberry32(7);
 * if (a() !== b()) throw new Error("not deterministic");
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
