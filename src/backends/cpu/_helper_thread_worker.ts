/**
 * A helper thread (see `_helper_threads.ts`). It receives two shared buffers once, answers
 * "ready", then sleeps until the control word says WORK, runs the command and sets it back.
 *
 * The command is a Float64Array: the number of parts, then for each part the kernel's number,
 * `lo`, `hi`, `part`, the number of arrays, for each array its address, length and bytes per
 * element (4 or 8), the number of parameters and the parameters.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { _RANGE_KERNEL_NAMES, _RANGE_KERNELS, type _RangeArray } from "./_range_kernels.ts";

const IDLE = 0, WORK = 1;

/**
 * Views over other threads' arrays by address, length and element size. The same weights and
 * buffers come back every step; a view stays valid for as long as the caller sends its
 * address, since the caller sends only arrays that it holds.
 */
const views = new Map<string, _RangeArray>();

function view(address: number, length: number, bytes: number): _RangeArray {
  const key = `${address}:${length}:${bytes}`;
  let v = views.get(key);
  if (!v) {
    if (views.size > 4096) views.clear();
    const pointer = Deno.UnsafePointer.create(BigInt(address));
    if (!pointer) throw new Error("a null array address");
    const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, length * bytes);
    v = bytes === 8 ? new Float64Array(buffer) : new Float32Array(buffer);
    views.set(key, v);
  }
  return v;
}

function run(command: Float64Array): void {
  let at = 1;
  for (let k = 0; k < command[0]; k++) {
    const kernel = _RANGE_KERNELS[_RANGE_KERNEL_NAMES[command[at++]]];
    // Small integers: read as doubles, they would make every loop index a double.
    const lo = command[at++] | 0, hi = command[at++] | 0, part = command[at++] | 0;
    const arrays: _RangeArray[] = [];
    for (let n = command[at++]; n > 0; n--, at += 3) {
      arrays.push(view(command[at], command[at + 1] | 0, command[at + 2] | 0));
    }
    const params = Array.from(command.subarray(at + 1, at + 1 + command[at]));
    at += 1 + params.length;
    kernel(arrays, params, lo, hi, part);
  }
}

parentPort!.once("message", (message: { control: Int32Array; command: Float64Array }) => {
  const { control, command } = message;
  parentPort!.postMessage("ready");
  for (;;) {
    Atomics.wait(control, 0, IDLE);
    if (Atomics.load(control, 0) !== WORK) continue;
    try {
      run(command);
    } catch (err) {
      control[1] = 1;
      console.error("ddpm helper thread:", err);
    }
    Atomics.store(control, 0, IDLE);
    Atomics.notify(control, 0);
  }
});
