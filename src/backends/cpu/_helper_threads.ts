/**
 * Helper threads for the JavaScript kernels of the onednn backend, so that Adam, the EMA, the
 * gradient's sum of squares and group norm use every core oneDNN uses, not one.
 *
 * A task is a range kernel (`_range_kernels.ts`) over indices `0` to `size - 1`. The calling
 * thread splits it into one part per thread, hands the other parts to the helpers as raw
 * pointers to the arrays (the arrays stay where they are: no copies), runs part 0 itself and
 * waits. A helper is a `node:worker_threads` worker, unreferenced so that it never keeps the
 * process alive, that sleeps in `Atomics.wait` between calls: a round trip costs 12-25 µs.
 * Reading another thread's memory through a pointer needs Deno's FFI, which the onednn
 * backend has anyway; without it, or with `DDPM_HELPER_THREADS=0`, everything runs on the
 * calling thread, through the same functions.
 *
 * @module
 */
import { _RANGE_KERNEL_NAMES, _RANGE_KERNELS, type _RangeArray } from "./_range_kernels.ts";
import { type _RangeTask, _setRangeRunner } from "./_range_tasks.ts";

/**
 * The fewest array elements worth a helper: 128K take Adam about 0.8 ms and group norm 0.5.
 * A hand-off costs 12-25 µs between two idle threads, but far more right after a oneDNN
 * primitive, whose OpenMP threads keep spinning on the other cores for a while: below this the
 * tiny preset's step ran 5-15% slower with the helpers than without.
 */
export const _HELPER_MIN_VALUES = 1 << 18;
/** Part boundaries fall on 64-byte lines for elementwise tasks, so no two threads share one. */
const ALIGN = 16;
/** Numbers in a helper's command buffer (1 MiB): a cifar10 Adam call needs about 8K. */
const COMMAND_CAPACITY = 1 << 17;
/** The control word: WORK while a helper has a command; it sets it back to 0 (idle). */
const WORK = 1;

interface Helper {
  /** `[state, failed]`, shared. */
  control: Int32Array;
  /** The command, shared; see `_helper_thread_worker.ts` for its layout. */
  command: Float64Array;
}

let helpers: Helper[] = [];
/** Parts handed to helpers so far, for tests and benchmarks. */
export const _helperThreadStats = { parts: 0 };
let enabled = true;
let starting: Promise<string | undefined> | undefined;

/**
 * Starts `count` helper threads once (later calls return the first call's result).
 *
 * @param count Helpers to start: the cores to use minus the calling thread.
 * @returns Undefined when they run or none were asked for, else one line saying why not.
 */
export function _startHelperThreads(count: number): Promise<string | undefined> {
  starting ??= start(count);
  return starting;
}

async function start(count: number): Promise<string | undefined> {
  if (count < 1 || setting() === "0") return undefined;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return "no --allow-ffi: JavaScript kernels run on one core";
  }
  try {
    const { Worker } = await import("node:worker_threads");
    const url = new URL("./_helper_thread_worker.ts", import.meta.url);
    const started = await Promise.all(Array.from({ length: count }, async () => {
      const control = new Int32Array(new SharedArrayBuffer(8));
      const command = new Float64Array(new SharedArrayBuffer(COMMAND_CAPACITY * 8));
      const worker = new Worker(url);
      worker.unref();
      const ready = new Promise<void>((resolve, reject) => {
        worker.once("message", () => resolve());
        worker.once("error", reject);
      });
      worker.postMessage({ control, command });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer in 30 s")), 30_000);
      });
      try {
        await Promise.race([ready, timeout]);
      } finally {
        clearTimeout(timer);
      }
      return { control, command };
    }));
    helpers = started;
    _setRangeRunner({ threads, run });
    return undefined;
  } catch (err) {
    return `helper threads did not start (${
      err instanceof Error ? err.message : err
    }): JavaScript kernels run on one core`;
  }
}

/** `DDPM_HELPER_THREADS`, or undefined where the environment may not be read. */
function setting(): string | undefined {
  try {
    return Deno.env.get("DDPM_HELPER_THREADS");
  } catch {
    return undefined;
  }
}

/** The threads that share a task now: the caller and its helpers. */
function threads(): number {
  return enabled ? helpers.length + 1 : 1;
}

/**
 * Turns the helpers off and on, for a comparison in one process.
 *
 * @param on Whether tasks may use them.
 */
export function _useHelperThreads(on: boolean): void {
  enabled = on;
}

/** Runs every task to the end, each split among the calling thread and the helpers. */
function run(tasks: _RangeTask[]): void {
  // The tasks laid end to end, in array elements, cut into equal pieces: many small tasks
  // (a small model's weights) cost one hand-off per call, not one each.
  const total = tasks.reduce((sum, t) => sum + t.size * (t.width ?? 1), 0);
  const pieces = Math.max(1, Math.min(threads(), Math.floor(total / _HELPER_MIN_VALUES)));
  const writers = helpers.slice(0, pieces - 1).map((h) => new CommandWriter(h.command));
  const mine: [task: _RangeTask, lo: number, hi: number, part: number][] = [];
  let start = 0; // the task's first element in the end-to-end layout
  for (const task of tasks) {
    const width = task.width ?? 1;
    const align = Math.max(1, Math.ceil(ALIGN / width));
    // Where piece j starts inside this task, in its indices, clamped to the task. Small
    // integers (`| 0`): a double bound would make the kernel's loop index a double.
    const bound = (j: number) => {
      if (j === pieces) return task.size | 0;
      const at = Math.floor((Math.floor((total * j) / pieces) - start) / width / align) * align;
      return Math.min(Math.max(at, 0), task.size) | 0;
    };
    for (let j = 0; j < pieces; j++) {
      const lo = bound(j), hi = bound(j + 1);
      if (lo >= hi) continue;
      // A full command buffer leaves the part to the calling thread.
      if (j === 0 || !writers[j - 1].add(task, lo, hi, j)) mine.push([task, lo, hi, j]);
    }
    start += task.size * width;
  }
  const posted = writers.flatMap((w, i) => w.count > 0 ? [helpers[i]] : []);
  for (const h of posted) {
    Atomics.store(h.control, 1, 0);
    Atomics.store(h.control, 0, WORK);
    Atomics.notify(h.control, 0);
  }
  try {
    for (const [t, lo, hi, part] of mine) {
      _RANGE_KERNELS[t.kernel](t.arrays, t.params, lo, hi, part);
    }
  } finally {
    for (const h of posted) {
      while (Atomics.load(h.control, 0) === WORK) Atomics.wait(h.control, 0, WORK);
    }
  }
  if (posted.some((h) => h.control[1] !== 0)) {
    throw new Error(
      "A ddpm helper thread failed in a kernel; set DDPM_HELPER_THREADS=0 to run without them " +
        "and see the error",
    );
  }
}

/** Each buffer's address: `Deno.UnsafePointer.of` costs about 2 us, a lookup far less. */
const baseAddresses = new WeakMap<ArrayBufferLike, number>();

/**
 * The address of `a`'s first element. V8 keeps a typed array of 64 bytes or less inside its
 * moving heap until something asks for its buffer; asking moves it out for good, so the
 * address stays valid while the array lives.
 */
function address(a: _RangeArray): number {
  const buffer = a.buffer;
  let base = baseAddresses.get(buffer);
  if (base === undefined) {
    base = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer as ArrayBuffer)));
    baseAddresses.set(buffer, base);
  }
  return base + a.byteOffset;
}

/** Lays tasks out in a helper's command buffer. */
class CommandWriter {
  #at = 1;
  count = 0;
  constructor(readonly command: Float64Array) {}

  /** Adds a part; false when it does not fit. */
  add(task: _RangeTask, lo: number, hi: number, part: number): boolean {
    const need = 6 + 3 * task.arrays.length + task.params.length;
    if (this.#at + need > this.command.length) return false;
    const c = this.command;
    let at = this.#at;
    c[at++] = _RANGE_KERNEL_NAMES.indexOf(task.kernel);
    c[at++] = lo;
    c[at++] = hi;
    c[at++] = part;
    c[at++] = task.arrays.length;
    for (const a of task.arrays) {
      c[at++] = address(a);
      c[at++] = a.length;
      c[at++] = a instanceof Float64Array ? 8 : 4;
    }
    c[at++] = task.params.length;
    for (const p of task.params) c[at++] = p;
    this.#at = at;
    c[0] = ++this.count;
    _helperThreadStats.parts++;
    return true;
  }
}
