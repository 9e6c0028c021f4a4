/**
 * Choosing how many images go through the network at once, from the backend's memory limit and
 * the memory a training step takes per image.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { _fitLargestTensor, _fitPeak, _profilePass } from "../memory/_pass_memory.ts";
import { bufferLimit } from "../memory/gpu_limits.ts";
import {
  backendMemoryLimit,
  chooseMicroBatchSize,
  formatBytes,
  MEMORY_HEADROOM,
} from "../memory/memory_limit.ts";
import { batchGradients } from "./batch_gradients.ts";
import type { TrainState } from "./train_state.ts";

/** Memory of a step as a function of its images: `fixedBytes + images * perImageBytes`. */
export interface StepMemory {
  /** Bytes held whatever the batch: weights, EMA, Adam moments, gradients. */
  fixedBytes: number;
  /** Bytes added by each image in a pass: activations kept for the backward pass. */
  perImageBytes: number;
  /**
   * A bound on the largest single tensor of a pass, `max(fixedBytes, images * perImageBytes)`:
   * what a GPU's per-buffer binding limit applies to.
   */
  largestTensor: { fixedBytes: number; perImageBytes: number };
}

/**
 * Measures the tensor memory of a forward and backward pass by `tf.profile`'s peak, on passes
 * of one and two images: the difference is the memory per image, and what remains of the first
 * is fixed. The largest tensor is bounded from the shapes of every kernel's inputs and outputs
 * in the same two passes. It takes two small passes of the real model on the backend in use, and reads
 * nothing back.
 *
 * @param state The model (its weights are not changed).
 * @returns Fixed and per-image bytes.
 *
 * @example
 * ```ts
 * import { createUNet, DDPMScheduler, presets, setBackend } from "@x/ddpm";
 * import { measureStepMemory } from "./micro_batch_size.ts";
 * await setBackend("cpu");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 * const state = { unet, weights: unet.getWeights(), scheduler: new DDPMScheduler() };
 * const m = await measureStepMemory(state);
 * if (!(m.perImageBytes > 0 && m.fixedBytes > 0)) throw new Error(JSON.stringify(m));
 * ```
 */
export async function measureStepMemory(
  state: Pick<TrainState, "unet" | "weights" | "scheduler">,
): Promise<StepMemory> {
  const { resolution, inChannels } = state.unet.config;
  const pass = async (images: number) => {
    const x0 = tf.zeros([images, resolution, resolution, inChannels]) as tf.Tensor4D;
    const t = Int32Array.from({ length: images }, (_, i) => 1 + i);
    try {
      return await _profilePass(() => {
        const { loss, grads } = batchGradients(state, { x0, t, noiseSeed: 0, dropoutSeed: 0 });
        tf.dispose([loss, ...Object.values(grads)]);
      });
    } finally {
      x0.dispose();
    }
  };
  const one = await pass(1);
  const two = await pass(2);
  return { ..._fitPeak(one, two), largestTensor: _fitLargestTensor(one, two) };
}

/**
 * Picks the micro-batch for `train()`: the given one, else one chosen from the backend's memory
 * limit and the measured memory of the model's step, and on webgpu from the device's largest
 * buffer (no tensor of a pass may exceed it). Backends without a known limit get the whole
 * batch and no measurement.
 *
 * @param state The model.
 * @param batchSize Images per step.
 * @param given The configured micro-batch, if any.
 * @returns The micro-batch, a line saying how it was chosen, and the step memory when measured.
 *
 * @example
 * ```ts
 * import { createUNet, DDPMScheduler, presets, setBackend } from "@x/ddpm";
 * import { resolveMicroBatchSize } from "./micro_batch_size.ts";
 * await setBackend("cpu");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 * const state = { unet, weights: unet.getWeights(), scheduler: new DDPMScheduler() };
 * const { microBatchSize } = await resolveMicroBatchSize(state, 8, undefined);
 * if (microBatchSize !== 8) throw new Error("cpu has no limit: the whole batch");
 * ```
 */
export async function resolveMicroBatchSize(
  state: Pick<TrainState, "unet" | "weights" | "scheduler">,
  batchSize: number,
  given: number | undefined,
): Promise<{ microBatchSize: number; line: string; memory?: StepMemory }> {
  const backend = tf.getBackend();
  const limitBytes = backendMemoryLimit();
  const bufferLimitBytes = bufferLimit();
  const memory = limitBytes === undefined && bufferLimitBytes === undefined
    ? undefined
    : await measureStepMemory(state);
  const need = (n: number) =>
    memory
      ? `a pass needs about ${formatBytes(memory.fixedBytes + n * memory.perImageBytes)}` +
        (bufferLimitBytes === undefined ? "" : `, its largest tensor ${
          formatBytes(
            Math.max(memory.largestTensor.fixedBytes, n * memory.largestTensor.perImageBytes),
          )
        }`)
      : "";
  if (given !== undefined) {
    const n = Math.min(given, batchSize);
    return {
      microBatchSize: n,
      line: `micro-batch ${n} of batch ${batchSize} (given)` + (memory ? `; ${need(n)}` : ""),
      memory,
    };
  }
  if (!memory) {
    return {
      microBatchSize: batchSize,
      line: `micro-batch ${batchSize} of batch ${batchSize} ` +
        `(backend "${backend}" has no memory limit known to ddpm)`,
    };
  }
  const microBatchSize = chooseMicroBatchSize({
    batchSize,
    limitBytes,
    ...memory,
    bufferLimitBytes,
  });
  const limits = [
    limitBytes === undefined
      ? ""
      : `within ${MEMORY_HEADROOM * 100}% of the ${backend} limit ${formatBytes(limitBytes)}`,
    bufferLimitBytes === undefined
      ? ""
      : `within the ${backend} buffer limit ${formatBytes(bufferLimitBytes)}`,
  ].filter(Boolean).join(", ");
  return {
    microBatchSize,
    line: `micro-batch ${microBatchSize} of batch ${batchSize} (chosen: ${need(microBatchSize)}, ` +
      `${formatBytes(memory.perImageBytes)} per image measured, ${limits})`,
    memory,
  };
}
