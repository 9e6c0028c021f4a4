/**
 * The seeded shuffle that decides which images each training step sees.
 *
 * @module
 */
import { deriveSeed, mulberry32 } from "../random.ts";

// Permutations are rebuilt per epoch; keeping the last two makes consecutive steps cheap even
// when a batch straddles an epoch boundary.
const recent = new Map<string, Uint32Array>();

function epochPermutation(size: number, seed: number, epoch: number): Uint32Array {
  const key = `${size}:${seed}:${epoch}`;
  let perm = recent.get(key);
  if (perm) return perm;
  perm = new Uint32Array(size);
  for (let i = 0; i < size; i++) perm[i] = i;
  const rand = mulberry32(deriveSeed(seed, epoch, 0x5eed));
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  recent.set(key, perm);
  if (recent.size > 2) recent.delete(recent.keys().next().value!);
  return perm;
}

/**
 * The dataset indices of training step `step`: the data is walked in epochs, each a fresh
 * permutation drawn from (seed, epoch), and step k takes positions k * batchSize to
 * (k + 1) * batchSize - 1 of that endless sequence. The result depends only on the arguments,
 * so a run resumed at step k draws the same batches as one that never stopped.
 *
 * @param size Number of images in the dataset.
 * @param batchSize Images per step.
 * @param seed The run's seed.
 * @param step The training step, from 0.
 * @returns `batchSize` indices in [0, size); every image appears once per epoch.
 *
 * @example One epoch of 10 images in batches of 5 visits each image once
 * ```ts
 * import { batchIndices } from "@x/ddpm/data";
 * const seen = [...batchIndices(10, 5, 1, 0), ...batchIndices(10, 5, 1, 1)].sort((a, b) => a - b);
 * if (seen.join() !== "0,1,2,3,4,5,6,7,8,9") throw new Error(seen.join());
 * ```
 */
export function batchIndices(
  size: number,
  batchSize: number,
  seed: number,
  step: number,
): number[] {
  checkInteger("size", size, 1);
  checkInteger("batchSize", batchSize, 1);
  checkInteger("step", step, 0);
  const out = new Array<number>(batchSize);
  let pos = step * batchSize;
  for (let i = 0; i < batchSize; i++, pos++) {
    const epoch = Math.floor(pos / size);
    out[i] = epochPermutation(size, seed, epoch)[pos - epoch * size];
  }
  return out;
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `Cannot draw a batch: ${name} must be an integer >= ${min}, current value is ${value}`,
    );
  }
}
