/**
 * The error a wasm backend raises when its heap is full, apart from the loader that raises it
 * so that code catching it (sampling, training) does not import Deno's worker plumbing.
 *
 * @module
 */

/**
 * Thrown when the wasm heap cannot hold a new tensor. tfjs itself would write the tensor at
 * address 0 when `malloc` fails, silently overwriting other tensors.
 */
export class WasmHeapFullError extends Error {
  /**
   * Makes the error.
   *
   * @param bytes The allocation that failed.
   */
  constructor(readonly bytes: number) {
    super(`the wasm heap cannot hold ${bytes} more bytes`);
    this.name = "WasmHeapFullError";
  }
}
