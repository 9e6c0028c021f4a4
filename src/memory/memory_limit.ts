/**
 * How much memory a TensorFlow.js backend can hold, where it has a hard limit, and the
 * micro-batch that fits it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { _fitLargestTensor, _fitPeak, _profilePass } from "./_pass_memory.ts";
import { backendDescriptor } from "../kernels/backend_registry.ts";
import { bufferLimit } from "./gpu_limits.ts";

/**
 * The wasm backends' heap limit: wasm32 addresses 4 GiB, and the tfjs builds grow their heap up
 * to `getHeapMax()` = 4 GiB - 64 KiB. A request past it aborts the module.
 */
export const WASM_HEAP_LIMIT_BYTES = 4294901760;

/**
 * The most bytes the backend can hold, or `undefined` where it has no fixed limit that this
 * library knows (cpu: the JavaScript heap; webgl: the device's memory): what its descriptor's
 * `memoryLimit()` says. wasm's is its 4 GiB heap, onednn's half the machine's memory, and the
 * GPU backends (`webgpu`, `tensorflow`) have the budget set in `DDPM_GPU_MEMORY` (e.g. `16GiB`),
 * if any: WebGPU does not report a GPU's memory. On webgpu every tensor is also bounded by the
 * device's largest buffer, see {@linkcode bufferLimit}.
 *
 * @param backend A backend name; default the one in use.
 * @returns The limit in bytes, or undefined.
 *
 * @example
 * ```ts
 * import { setBackend } from "@x/ddpm";
 * import { backendMemoryLimit, WASM_HEAP_LIMIT_BYTES } from "./memory_limit.ts";
 * await setBackend("wasm");
 * if (backendMemoryLimit("wasm") !== WASM_HEAP_LIMIT_BYTES) throw new Error("wasm is 4 GiB");
 * if (backendMemoryLimit("no-such-backend") !== undefined) throw new Error("none known");
 * ```
 */
export function backendMemoryLimit(backend: string = tf.getBackend()): number | undefined {
  return backendDescriptor(backend)?.memoryLimit();
}

/**
 * Formats a byte count for messages: "3.2 GiB", "180 MiB", "36 KiB".
 *
 * @param bytes A byte count.
 * @returns The count in GiB (one decimal) from 1 GiB up, in MiB from 1 MiB up, else in KiB.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./memory_limit.ts";
 * if (formatBytes(3 * 2 ** 30) !== "3.0 GiB" || formatBytes(5 * 2 ** 20) !== "5 MiB") throw new Error();
 * if (formatBytes(36 * 1024) !== "36 KiB") throw new Error();
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return bytes >= 2 ** 20
    ? `${Math.round(bytes / 2 ** 20)} MiB`
    : `${Math.round(bytes / 1024)} KiB`;
}

/**
 * Share of the backend's limit that tensors may fill (cifar10 training on wasm: 1.5 GiB fixed,
 * 555 MiB per image measured; a batch of 4, 3.7 GiB, still runs). The rest is left for what the engine does
 * not count: XNNPACK's packed weights and scratch buffers, and the heap's fragmentation.
 */
export const MEMORY_HEADROOM = 0.75;

/**
 * The largest micro-batch that fits `limitBytes * headroom`, and whose largest tensor,
 * `max(largestTensor.fixedBytes, images * largestTensor.perImageBytes)`, fits `bufferLimitBytes`
 * (a GPU's per-buffer binding limit: a hard cap, no headroom), balanced over the passes it takes (so 128 images with room for 75 run as 2 passes of 64), at least 1 and at
 * most the batch.
 *
 * @param opts The batch, the limits (undefined: none) and the step's memory.
 * @returns Images per pass.
 *
 * @example
 * ```ts
 * import { chooseMicroBatchSize } from "./memory_limit.ts";
 * const mib = 2 ** 20;
 * const n = chooseMicroBatchSize({
 *   batchSize: 128, limitBytes: 4096 * mib, fixedBytes: 48 * mib, perImageBytes: 40 * mib,
 * });
 * if (n !== 64) throw new Error(String(n)); // 75% of 4 GiB holds 48 MiB + 75 images: 2 passes
 * const m = chooseMicroBatchSize({
 *   batchSize: 128, limitBytes: undefined, fixedBytes: 0, perImageBytes: 40 * mib,
 *   bufferLimitBytes: 128 * mib, largestTensor: { fixedBytes: 9 * mib, perImageBytes: 2 * mib },
 * });
 * if (m !== 64) throw new Error(String(m)); // a 128 MiB buffer holds the largest tensor of 64
 * ```
 */
export function chooseMicroBatchSize(opts: {
  batchSize: number;
  limitBytes: number | undefined;
  fixedBytes: number;
  perImageBytes: number;
  headroom?: number;
  bufferLimitBytes?: number;
  largestTensor?: { fixedBytes: number; perImageBytes: number };
}): number {
  const { batchSize, limitBytes, fixedBytes, perImageBytes, bufferLimitBytes, largestTensor } =
    opts;
  let fits = batchSize;
  if (limitBytes !== undefined) {
    const room = limitBytes * (opts.headroom ?? MEMORY_HEADROOM) - fixedBytes;
    fits = Math.min(fits, Math.floor(room / perImageBytes));
  }
  if (bufferLimitBytes !== undefined && largestTensor) {
    // A fixed tensor over the limit fails whatever the batch; one image per pass is the best.
    fits = Math.min(fits, Math.floor(bufferLimitBytes / largestTensor.perImageBytes));
  }
  fits = Math.max(1, fits);
  if (fits >= batchSize) return batchSize;
  return Math.ceil(batchSize / Math.ceil(batchSize / fits));
}

/**
 * Images per forward pass for inference (sampling, likelihood), `wanted` at most: the whole
 * request where the backend has no known limit, else what fits in its memory and, on webgpu,
 * in its largest buffer, measured by `tf.profile` on passes of one and two images (two small
 * forward passes of the real model; nothing is read back).
 *
 * @param unet The network; `predict` is called on zeros, without training.
 * @param imageShape Height, width and channels of one image.
 * @param wanted The images the caller would like per pass.
 * @returns Images per pass, 1 to `wanted`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createUNet, presets, setBackend } from "@x/ddpm";
 * import { inferenceChunkSize } from "./memory_limit.ts";
 * await setBackend("cpu");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 * if (await inferenceChunkSize(unet, [8, 8, 3], 64) !== 64) throw new Error("cpu: no limit");
 * ```
 */
export async function inferenceChunkSize(
  unet: {
    predict(x: tf.Tensor4D, t: tf.Tensor1D, opts?: { training?: boolean }): tf.Tensor4D;
  },
  imageShape: readonly [number, number, number],
  wanted: number,
): Promise<number> {
  const limitBytes = backendMemoryLimit();
  const bufferLimitBytes = bufferLimit();
  if ((limitBytes === undefined && bufferLimitBytes === undefined) || wanted <= 1) return wanted;
  const pass = (images: number) =>
    _profilePass(() =>
      tf.tidy(() => {
        const x = tf.zeros([images, ...imageShape]) as tf.Tensor4D;
        unet.predict(x, tf.fill([images], 1, "int32") as tf.Tensor1D, { training: false });
      })
    );
  const one = await pass(1);
  const two = await pass(2);
  return chooseMicroBatchSize({
    batchSize: wanted,
    limitBytes,
    ..._fitPeak(one, two),
    bufferLimitBytes,
    largestTensor: _fitLargestTensor(one, two),
  });
}
