// A run's seed is recorded in config.json and read back by `sample` and `--resume`; every
// generator takes 32 bits of it, so a seed outside [0, 2^32) would be refused later (or alias
// a smaller one), leaving a run that trained but cannot be used.

/** The largest seed a run may have. */
export const _MAX_SEED = 2 ** 32 - 1;

/** Throws a RangeError unless `seed` is an integer in [0, 2^32 - 1]. */
export function _checkSeed(seed: unknown): void {
  if (!Number.isInteger(seed) || (seed as number) < 0 || (seed as number) > _MAX_SEED) {
    throw new RangeError(
      `seed must be an integer in [0, ${_MAX_SEED}]: got ${JSON.stringify(seed)}`,
    );
  }
}
