/**
 * The "onednn" TF.js backend: TF.js's plain-JS cpu backend, its tensors ordinary typed arrays
 * (no WebAssembly heap limit), with the hot kernels replaced by oneDNN primitives called
 * through Deno's FFI.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BufferPool } from "../cpu/_buffer_pool.ts";
import { registerCpuFamilyKernels } from "../cpu/cpu_family_kernels.ts";
import { _cpuBackendClass, _silenceCpuBanner } from "../_tfjs_internals.ts";
import { ConvPrimitives } from "./_conv.ts";
import { convKernels } from "./_conv_kernels.ts";
import type { _OneDnnState } from "./_kernel_util.ts";
import { openOneDnn } from "./_lib.ts";
import { LowpCache } from "./_lowp_cache.ts";
import { MatMulPrimitives } from "./_matmul.ts";
import { matMulKernels } from "./_matmul_kernels.ts";
import { groupNormKernel } from "./_group_norm_kernel.ts";
import { ScaleShiftPrimitives } from "./_scale_shift.ts";
import { SoftmaxPrimitives } from "./_softmax.ts";
import { softmaxKernel } from "./_softmax_kernel.ts";

/** The members of TF.js's cpu backend that the oneDNN backend extends. */
interface CpuBackendLike extends tf.KernelBackend {
  data: { get(id: tf.DataId): { values?: unknown } | undefined; has(id: tf.DataId): boolean };
  write(values: unknown, shape: number[], dtype: tf.DataType): tf.DataId;
  move(dataId: tf.DataId, values: unknown, shape: number[], dtype: tf.DataType, n: number): void;
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/**
 * Bytes of released buffers kept for reuse: an eighth of the machine's memory, at most 2 GiB
 * (a cifar10 step at batch 8 cycles through about 1.9 GiB).
 */
function poolBytes(): number {
  // DDPM_ONEDNN_POOL=0 turns recycling off, to measure it or to rule it out.
  if (envFlag("DDPM_ONEDNN_POOL") === "0") return 0;
  let total = 8 * 2 ** 30;
  try {
    total = Deno.systemMemoryInfo().total;
  } catch {
    // No --allow-sys: assume a small machine.
  }
  return Math.min(2 * 2 ** 30, total / 8);
}

function envFlag(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env
  }
}

/** The backend's name in TF.js's registry. */
export const ONEDNN_BACKEND = "onednn";

/**
 * Registers the "onednn" backend with TF.js (once): every kernel of the cpu backend, with
 * convolutions and matrix products native. Select it with `tf.setBackend("onednn")`.
 *
 * @returns The oneDNN version loaded.
 * @throws {OneDnnUnavailableError} when `libdnnl.so.2` cannot be loaded, naming the fix.
 *
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs";
 * import { registerOneDnnBackend } from "@x/ddpm/backends";
 * registerOneDnnBackend();
 * await tf.setBackend("onednn");
 * ```
 */
export function registerOneDnnBackend(): string {
  const rt = openOneDnn();
  if (tf.findBackend(ONEDNN_BACKEND)) return rt.version;
  const CpuBackend = _cpuBackendClass<CpuBackendLike>();
  class OneDnnBackend extends CpuBackend {
    /** Recycled kernel outputs; see `_buffer_pool.ts` for when a buffer may be reused. */
    bufferPool = new BufferPool(poolBytes());
    #outputs = (n: number) => this.bufferPool.take(n, false);
    /** bf16 copies of activations and weights, and weights in the primitives' layouts. */
    #lowp = new LowpCache(rt, {
      take: this.#outputs,
      give: (arr) => {
        this.bufferPool.retain(arr);
        this.bufferPool.release(arr);
      },
    });
    onednn: _OneDnnState = {
      rt,
      lowp: this.#lowp,
      conv: new ConvPrimitives(rt, this.#outputs, this.#lowp),
      matmul: new MatMulPrimitives(rt, this.#outputs, this.#lowp),
      softmax: new SoftmaxPrimitives(rt, this.#outputs),
      scaleShift: new ScaleShiftPrimitives(rt, this.#outputs),
    };
    override write(values: unknown, shape: number[], dtype: tf.DataType): tf.DataId {
      this.bufferPool.retain(values);
      return super.write(values, shape, dtype);
    }
    override move(
      dataId: tf.DataId,
      values: unknown,
      shape: number[],
      dtype: tf.DataType,
      refCount: number,
    ): void {
      this.bufferPool.retain(values);
      super.move(dataId, values, shape, dtype, refCount);
    }
    override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
      const values = super.readSync(dataId);
      this.bufferPool.escape(values);
      return values;
    }
    /**
     * The values of `dataId` when a kernel may overwrite them in place (the optimiser's
     * kernels over all weights): nothing else stores or has read their buffer. Their cached
     * copies are dropped first. Undefined otherwise.
     */
    writableValues(dataId: tf.DataId): Float32Array | undefined {
      const values = this.data.get(dataId)?.values;
      if (!(values instanceof Float32Array) || !this.bufferPool.exclusive(values)) return undefined;
      this.#lowp.forget(values);
      return values;
    }
    /**
     * Makes `values` the data of `dataId` in place of its old array, for a kernel that could
     * not write in place: the old array's cached copies are dropped and its buffer recycled.
     * `values` is tracked from now on, so that the next step may write it in place.
     */
    replaceValues(dataId: tf.DataId, values: Float32Array): void {
      const entry = this.data.get(dataId) as { values?: unknown };
      const old = entry.values;
      this.bufferPool.adopt(values);
      this.bufferPool.retain(values);
      entry.values = values;
      this.#lowp.forget(old);
      this.bufferPool.release(old);
    }
    override disposeData(dataId: tf.DataId, force?: boolean): boolean {
      // `data.get` of an id already gone would try to move it in from another backend.
      const values = this.data.has(dataId) ? this.data.get(dataId)?.values : undefined;
      const released = super.disposeData(dataId, force);
      if (values !== undefined && !this.data.has(dataId)) {
        this.#lowp.forget(values);
        this.bufferPool.release(values);
      }
      return released;
    }
    override dispose(): void {
      this.bufferPool.clear();
      this.onednn.conv.dispose();
      this.onednn.matmul.dispose();
      this.onednn.softmax.dispose();
      this.onednn.scaleShift.dispose();
      this.#lowp.dispose();
      super.dispose();
    }
  }
  tf.registerBackend(ONEDNN_BACKEND, () => {
    const b = new OneDnnBackend();
    _silenceCpuBanner(b);
    return b;
  }, 0);
  const native = [
    ...convKernels(ONEDNN_BACKEND),
    ...matMulKernels(ONEDNN_BACKEND),
    softmaxKernel(ONEDNN_BACKEND),
    // Before the cpu family's kernels below, which register only names not yet taken.
    groupNormKernel(ONEDNN_BACKEND),
  ];
  const nativeNames = new Set(native.map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend("cpu")) {
    if (!nativeNames.has(k.kernelName)) tf.registerKernel({ ...k, backendName: ONEDNN_BACKEND });
  }
  for (const k of native) tf.registerKernel(k);
  registerCpuFamilyKernels(ONEDNN_BACKEND);
  return rt.version;
}
