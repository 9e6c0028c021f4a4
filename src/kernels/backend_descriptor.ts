/**
 * What a backend is to this library: one descriptor that says how it starts, which of this
 * library's kernels it gets, how much memory it holds, and what it can do. The core asks a
 * backend's capabilities (see `backend_registry.ts`), never its name.
 *
 * @module
 */

/** A floating-point precision a backend's kernels compute in. */
export type Precision = "fp32" | "bf16";

/** What the core may ask of a backend, instead of comparing its name. */
export interface BackendCapabilities {
  /**
   * Whether `BatchMatMul` is native and fast. Where it is not (wasm, cpu), the layers write
   * products as 1x1 convolutions, which those backends run best.
   */
  readonly nativeMatMul: boolean;
  /**
   * Whether `Conv2DBackpropInput` and `Conv2DBackpropFilter` are native and fast. Where they
   * are not, the layers write the gradients as forward convolutions.
   */
  readonly nativeConvGradients: boolean;
  /** The precisions its kernels compute in; `"fp32"` everywhere. */
  readonly precisions: readonly Precision[];
  /**
   * Whether tensors live in a device's own memory (a GPU), whose size the environment states
   * (`DDPM_GPU_MEMORY`) since WebGPU does not report it.
   */
  readonly deviceMemory: boolean;
  /** Threads its kernels run on, once started; undefined where not known (a GPU). */
  threads?: number;
}

/** One backend: its TF.js name, how it starts, its kernels, limits and capabilities. */
export interface BackendDescriptor {
  /** The name TF.js knows it by (`tf.getBackend()`). */
  readonly name: string;
  /** What the core may ask of it. */
  readonly capabilities: BackendCapabilities;
  /**
   * Loads and registers the TF.js backend and makes it the active one, then registers this
   * library's kernels for it. Returns a short line for the log (which build, why), or "".
   * Throws when it cannot start, naming what to install or use instead.
   *
   * @param auto True when "auto" is trying it: install nothing, and throw an error that
   *   `isUnavailable` recognises when it is not there, so that the next one is tried.
   */
  start(auto: boolean): Promise<string>;
  /**
   * Sets the precision of its kernels, after `start`; throws for one it cannot compute in
   * natively, naming what to use. Absent: fp32 only.
   */
  setPrecision?(precision: Precision): void;
  /** For "auto": whether it is installed at all; one that is not is passed by in silence. */
  present?(): boolean;
  /** For "auto": whether an error of `start` means "not available here" (try the next). */
  isUnavailable?(err: unknown): boolean;
  /** The most bytes it can hold, or undefined where no fixed limit is known. */
  memoryLimit(): number | undefined;
  /** The largest tensor one kernel can bind, in bytes (a GPU's buffer limit), if any. */
  bufferLimit?(): number | undefined;
}

/**
 * The capabilities of a backend this library has no descriptor for (one set with
 * `tf.setBackend` directly): nothing native is assumed, so the layers take the rewrites that
 * run everywhere.
 */
export const PLAIN_CAPABILITIES: BackendCapabilities = Object.freeze({
  nativeMatMul: false,
  nativeConvGradients: false,
  precisions: Object.freeze(["fp32"]) as readonly Precision[],
  deviceMemory: false,
});
