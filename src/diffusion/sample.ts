/**
 * The reverse process: from Gaussian noise to images (the paper's Algorithm 2).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { inferenceChunkSize } from "../memory/memory_limit.ts";
import { explainOutOfMemory } from "../memory/out_of_memory.ts";
import { deriveSeed, NormalStream } from "../random.ts";

/** The part of a UNet that sampling needs. */
export interface NoisePredictor {
  /** The model's output for x_t at timesteps t; the same shape as x (or 2C for learned variance). */
  predict(x: tf.Tensor4D, t: tf.Tensor1D, opts?: { training?: boolean }): tf.Tensor4D;
  /** Resolution and channels of the images it models. */
  readonly config: { resolution: number; inChannels: number };
}

/** The part of a DDPM, DDIM or DPM-Solver scheduler that sampling needs. */
export interface ReverseScheduler {
  /** Inference timesteps, from noisiest to cleanest, after {@linkcode setTimesteps}. */
  timesteps: Int32Array;
  /** Chooses `n` inference timesteps. */
  setTimesteps(n: number): void;
  /** One reverse step from x_t to x_{t-1}. */
  step(
    modelOutput: tf.Tensor4D,
    t: number,
    sample: tf.Tensor4D,
    opts?: { noise?: tf.Tensor4D; seed?: number; eta?: number },
  ): { prevSample: tf.Tensor4D; predOriginalSample: tf.Tensor4D };
  /** The scheduler's settings; only the number of training timesteps is read here. */
  readonly config: { numTrainTimesteps: number };
}

/** What {@linkcode SampleOptions.onStep} receives after each reverse step. */
export interface SampleStepInfo {
  /** Index of the step just taken, from 0 to numSteps - 1. */
  step: number;
  /** Number of reverse steps in this run. */
  numSteps: number;
  /** The timestep t of x_t that this step denoised. */
  t: number;
  /** The model's estimate of x_0 for every image, in [-1, 1]. Disposed after the callback. */
  predOriginalSample: tf.Tensor4D;
  /** x_{t-1} for every image. Disposed after the callback. */
  sample: tf.Tensor4D;
}

/** Options of {@linkcode sample}. */
export interface SampleOptions {
  /** The denoising network. */
  unet: NoisePredictor;
  /**
   * A DDPMScheduler (ancestral sampling), DDIMScheduler, or DPMSolverMultistepScheduler (about
   * 20 steps).
   */
  scheduler: ReverseScheduler;
  /** Number of images to make. Default 16. */
  batchSize?: number;
  /** Reverse steps. Default: all training timesteps (1000 in the paper). */
  numInferenceSteps?: number;
  /** Seed of the initial noise and of every step's noise. Default 0. */
  seed?: number;
  /** DDIM's noise scale (0 = deterministic). Ignored by DDPM. */
  eta?: number;
  /**
   * Images per forward pass; lower it to save memory. The images do not depend on it: every
   * step's noise is drawn for the whole batch. Default: the whole batch where the backend has
   * no known memory limit, else what fits in it, measured on passes of one and two images.
   */
  chunkSize?: number;
  /** Called after every step, e.g. to show progress or record frames of the reverse process. */
  onStep?: (info: SampleStepInfo) => void | Promise<void>;
  /** Initial x_T; by default standard normal noise drawn from `seed`. Not disposed. */
  initialNoise?: tf.Tensor4D;
  /**
   * Global indices of the images, one per image of the batch. When given, each image draws all
   * its noise (x_T, then every step's z, in that order) from its own {@linkcode NormalStream}
   * keyed by (seed, index), so an image depends only on the seed and its index: not on the
   * batch, the chunk size, or which other images are drawn with it. This is how
   * `deno task sample --out-dir` splits 50,000 images over processes and restarts.
   */
  imageIndices?: readonly number[];
}

/**
 * Draws images by running the reverse process from pure noise: at each inference timestep the
 * UNet predicts the noise and the scheduler takes one step toward x_0.
 *
 * Images are processed in chunks of `chunkSize` per forward pass, all chunks advancing
 * together, so `onStep` always sees the whole batch. Every step runs inside `tf.tidy`; the
 * result is the only tensor left behind. The same seed gives the same images on the same
 * backend.
 *
 * @param opts Model, scheduler and settings.
 * @returns The images, NHWC in [-1, 1] (as clipped by the scheduler).
 *
 * @example Sample two images with DDIM from an untrained tiny model
 * ```ts
 * import { createUNet, DDIMScheduler, presets, sample, setBackend } from "@x/ddpm";
 * await setBackend("wasm");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 * const images = await sample({
 *   unet,
 *   scheduler: new DDIMScheduler(),
 *   batchSize: 2,
 *   numInferenceSteps: 3,
 *   seed: 1,
 * });
 * if (images.shape.join() !== "2,8,8,3") throw new Error(images.shape.join());
 * images.dispose();
 * unet.dispose();
 * ```
 */
export async function sample(opts: SampleOptions): Promise<tf.Tensor4D> {
  const { unet, scheduler, seed = 0, eta, onStep } = opts;
  const batchSize = opts.batchSize ?? 16;
  const numSteps = opts.numInferenceSteps ?? scheduler.config.numTrainTimesteps;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Cannot sample: batchSize must be an integer >= 1, got ${batchSize}`);
  }
  const { resolution, inChannels } = unet.config;
  const chunkSize = opts.chunkSize ??
    await inferenceChunkSize(unet, [resolution, resolution, inChannels], batchSize);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`Cannot sample: chunkSize must be an integer >= 1, got ${chunkSize}`);
  }
  scheduler.setTimesteps(numSteps);
  const shape: [number, number, number, number] = [batchSize, resolution, resolution, inChannels];
  if (opts.initialNoise && opts.initialNoise.shape.join() !== shape.join()) {
    throw new TypeError(
      `Cannot sample: initialNoise has shape [${opts.initialNoise.shape}], expected [${shape}]`,
    );
  }

  const streams = opts.imageIndices && imageStreams(opts.imageIndices, seed, batchSize);
  if (streams && opts.initialNoise) {
    throw new TypeError("Cannot sample: give imageIndices or initialNoise, not both");
  }
  const streamNoise = (): tf.Tensor4D[] =>
    chunkRanges(batchSize, chunkSize).map(([start, end]) => {
      const one = resolution * resolution * inChannels;
      const values = new Float32Array((end - start) * one);
      for (let b = start; b < end; b++) {
        streams![b].fill(values.subarray((b - start) * one, (b - start + 1) * one));
      }
      return tf.tensor4d(values, [end - start, resolution, resolution, inChannels]);
    });

  // x_T ~ N(0, I).
  let x: tf.Tensor4D = streams
    ? tf.tidy(() => tf.concat(streamNoise(), 0) as tf.Tensor4D)
    : opts.initialNoise
    ? opts.initialNoise.clone()
    : tf.randomNormal(shape, 0, 1, "float32", deriveSeed(seed, 0x7a11)) as tf.Tensor4D;

  const timesteps = Array.from(scheduler.timesteps);
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i];
    const stepSeed = deriveSeed(seed, i, 0);
    // The model runs chunk by chunk; the scheduler steps once on the whole batch, so a
    // multistep scheduler's history covers every image, and the step's noise is drawn for the
    // whole batch, so chunking changes nothing. With per-image streams every image draws its
    // own noise, used or not, so that the streams stay in step whatever the scheduler does.
    const [prev, x0] = tf.tidy(() => {
      const outputs = splitBatch(x, chunkSize).map((part) =>
        tf.tidy(() => {
          const tBatch = tf.fill([part.shape[0]], t, "int32") as tf.Tensor1D;
          return explainedPredict(
            () => unet.predict(part, tBatch, { training: false }),
            chunkSize,
          );
        })
      );
      const modelOutput = outputs.length === 1 ? outputs[0] : tf.concat(outputs, 0);
      const noise = streams ? tf.concat(streamNoise(), 0) as tf.Tensor4D : undefined;
      const out = scheduler.step(
        modelOutput as tf.Tensor4D,
        t,
        x,
        noise ? { noise, eta } : { seed: stepSeed, eta },
      );
      return [out.prevSample, out.predOriginalSample] as const;
    });
    x.dispose();
    x = prev;
    if (onStep) {
      // A copy, so that what the callback does with it cannot touch the loop's x.
      const xt = x.clone();
      try {
        await onStep({
          step: i,
          numSteps: timesteps.length,
          t,
          predOriginalSample: x0,
          sample: xt,
        });
      } catch (err) {
        tf.dispose([x0, xt, x]);
        throw err;
      } finally {
        xt.dispose();
      }
    }
    x0.dispose();
    // Yield to the event loop so signal handlers and timers run during long loops.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return x;
}

/** Runs a forward pass, turning an out-of-memory failure into an error naming --batch. */
function explainedPredict(predict: () => tf.Tensor4D, chunkSize: number): tf.Tensor4D {
  try {
    return predict();
  } catch (err) {
    throw explainOutOfMemory(err, {
      what: `Sampling (passes of ${chunkSize} images)`,
      flag: "chunkSize (sample CLI: --batch)",
      value: chunkSize,
    });
  }
}

function imageStreams(indices: readonly number[], seed: number, batchSize: number): NormalStream[] {
  if (indices.length !== batchSize) {
    throw new RangeError(
      `Cannot sample: imageIndices has ${indices.length} entries for a batch of ${batchSize}`,
    );
  }
  return indices.map((i) => {
    if (!Number.isInteger(i) || i < 0 || i >= 2 ** 32) {
      throw new RangeError(`Cannot sample: image index ${i} is not an integer in [0, 2^32)`);
    }
    return new NormalStream(seed >>> 0, i);
  });
}

function chunkRanges(n: number, size: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let start = 0; start < n; start += size) ranges.push([start, Math.min(n, start + size)]);
  return ranges;
}

function splitBatch(x: tf.Tensor, size: number): tf.Tensor4D[] {
  const n = x.shape[0];
  if (n <= size) return [x as tf.Tensor4D];
  const sizes: number[] = [];
  for (let start = 0; start < n; start += size) sizes.push(Math.min(size, n - start));
  return tf.split(x, sizes, 0) as tf.Tensor4D[];
}
