/**
 * What the WebAssembly SIMD kernels share: instantiating a module from its base64 binary (one
 * instance per thread, made on first use), views of its memory that follow its growth, and the
 * switch that turns them all off.
 *
 * WebAssembly reads only its own memory, so the kernels copy blocks of their arrays in and
 * results out (`TypedArray.set`, about 0.1 ns per value), in blocks small enough to stay in
 * cache. This module stays free of TensorFlow.js, as helper threads load it.
 *
 * @module
 */

/** Values of one array per block copied in: 32 KiB, so a call's blocks stay in L2. */
export const _BLOCK_VALUES = 8192;

/**
 * Below this many values an elementwise call stays in JavaScript: copying a few values in and
 * out costs more than the loop.
 */
export const _SIMD_MIN_VALUES = 256;

/** A module's instance with float32 and float64 views of its memory. */
export class _SimdInstance<T> {
  /** The module's exported functions. */
  readonly fn: T;
  readonly #memory: WebAssembly.Memory;
  /** The memory as float32s; replaced when the memory grows. */
  f32: Float32Array;
  /** The memory as float64s; replaced when the memory grows. */
  f64: Float64Array;

  constructor(instance: WebAssembly.Instance) {
    this.fn = instance.exports as T;
    this.#memory = instance.exports.memory as WebAssembly.Memory;
    this.f32 = new Float32Array(this.#memory.buffer);
    this.f64 = new Float64Array(this.#memory.buffer);
  }

  /** Grows the memory to at least `bytes`. */
  reserve(bytes: number): void {
    const memory = this.#memory;
    const short = bytes - memory.buffer.byteLength;
    if (short > 0) memory.grow(Math.ceil(short / 65536));
    if (this.f32.buffer !== memory.buffer) {
      this.f32 = new Float32Array(memory.buffer);
      this.f64 = new Float64Array(memory.buffer);
    }
  }
}

let enabled = _enabledByEnv();

/** `DDPM_SIMD=0` turns the kernels off, where the environment may be read without a prompt. */
function _enabledByEnv(): boolean {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  try {
    if (deno?.permissions.querySync({ name: "env", variable: "DDPM_SIMD" }).state !== "granted") {
      return true;
    }
    return deno.env.get("DDPM_SIMD") !== "0";
  } catch {
    return true;
  }
}

/**
 * Turns this thread's SIMD kernels on or off (on by default, `DDPM_SIMD=0` off), for tests
 * and benchmarks that compare them with the JavaScript loops.
 *
 * @returns Whether they were on.
 */
export function _useSimdKernels(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/**
 * A getter for this thread's instance of the module in `base64`: null where WebAssembly
 * SIMD is missing or the kernels are turned off.
 */
export function _simdModule<T>(base64: string): () => _SimdInstance<T> | null {
  let instance: _SimdInstance<T> | null | undefined;
  return () => {
    if (!enabled) return null;
    if (instance === undefined) {
      instance = null;
      const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
      if (typeof WebAssembly === "object" && WebAssembly.validate(bytes)) {
        instance = new _SimdInstance<T>(new WebAssembly.Instance(new WebAssembly.Module(bytes)));
      }
    }
    return instance;
  };
}
