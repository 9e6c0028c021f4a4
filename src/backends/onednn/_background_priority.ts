/**
 * Gives V8's background threads (its garbage collector's and compiler's helpers) the lowest
 * scheduling priority, so that they use a core only when the compute threads leave it idle.
 *
 * A training step keeps every core busy: the main thread, OpenMP's threads inside oneDNN's
 * primitives, and the helper threads of the JavaScript kernels. V8's workers took 15-20 ms of
 * CPU time a tiny step here. When one of them holds a core while a primitive's OpenMP thread
 * waits for it, the primitive stalls for a scheduler time slice: a 0.3 ms bf16 weight-gradient
 * convolution took 12-16 ms in some steps (`ONEDNN_VERBOSE=1`), 17 such stalls in 15 steps, and
 * none with V8's workers off. Lowering their priority keeps them (the heap still gets
 * collected) without the stalls. In one process switching both ways, a tiny bf16 step's median
 * fell from 103-114 ms to 95-101 ms and its worst from 162-233 to 115-148 ms; across processes
 * the medians moved 1.02x (0.88-1.09x, `bench/v8_worker_priority_step.ts`), within the noise.
 *
 * Linux only: threads are found by name under `/proc/self/task` and reniced with libc's
 * `setpriority`, which on Linux applies to one thread, both through FFI (which the onednn
 * backend has). Raising one's own threads' nice value needs no privilege. Where anything is
 * missing, the threads stay as they are.
 *
 * @module
 */
import { InputError } from "../../errors.ts";

/** What V8 names its platform's worker threads (`comm` keeps 15 characters). */
const V8_WORKER = "V8 DefaultWorke";
/** `PRIO_PROCESS`: with a thread id, Linux sets that thread's nice value. */
const PRIO_PROCESS = 0;
/** The lowest priority. */
const DEFAULT_NICE = 19;

/**
 * Lowers the priority of V8's worker threads, unless `DDPM_V8_WORKER_NICE` says otherwise
 * (0 leaves them alone; 1-19 is the nice value to give them).
 *
 * @returns How many threads were reniced (0 where nothing could be done).
 */
export function lowerV8WorkerPriority(): number {
  const nice = niceSetting();
  if (nice === 0 || Deno.build.os !== "linux") return 0;
  let libc: Deno.DynamicLibrary<typeof LIBC>;
  try {
    libc = Deno.dlopen("libc.so.6", LIBC);
  } catch {
    return 0;
  }
  try {
    const tids = threadsNamed(libc, V8_WORKER);
    return tids.filter((tid) => libc.symbols.setpriority(PRIO_PROCESS, tid, nice) === 0).length;
  } finally {
    libc.close();
  }
}

/** What this module calls in libc. */
const LIBC = {
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

/** Where `d_name` starts in glibc's `struct dirent` on 64-bit Linux (after 8 + 8 + 2 + 1 bytes). */
const DIRENT_NAME_OFFSET = 19;

/**
 * The ids of this process's threads whose name starts with `prefix`, read from
 * `/proc/self/task` through libc: Deno's own file APIs demand `--allow-all` for `/proc/self`.
 *
 * @param libc The opened library.
 * @param prefix The start of the names wanted.
 * @returns Thread ids.
 */
function threadsNamed(libc: Deno.DynamicLibrary<typeof LIBC>, prefix: string): number[] {
  const c = libc.symbols;
  const enc = new TextEncoder();
  const dir = c.opendir(enc.encode("/proc/self/task\0"));
  if (dir === null) return [];
  const tids: number[] = [];
  try {
    for (let entry = c.readdir(dir); entry !== null; entry = c.readdir(dir)) {
      const name = new Deno.UnsafePointerView(entry).getCString(DIRENT_NAME_OFFSET);
      if (!/^\d+$/.test(name)) continue; // "." and ".."
      const fd = c.open(enc.encode(`/proc/self/task/${name}/comm\0`), 0);
      if (fd < 0) continue; // the thread ended meanwhile
      const buf = new Uint8Array(32);
      const n = Number(c.read(fd, buf, BigInt(buf.length)));
      c.close(fd);
      if (n > 0 && new TextDecoder().decode(buf.subarray(0, n)).startsWith(prefix)) {
        tids.push(Number(name));
      }
    }
  } finally {
    c.closedir(dir);
  }
  return tids;
}

/** `DDPM_V8_WORKER_NICE` as 0-19, else the default. */
function niceSetting(): number {
  let raw: string | undefined;
  try {
    raw = Deno.env.get("DDPM_V8_WORKER_NICE");
  } catch {
    return DEFAULT_NICE; // no --allow-env
  }
  if (raw === undefined || raw === "") return DEFAULT_NICE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 19) {
    throw new InputError(
      `DDPM_V8_WORKER_NICE must be an integer from 0 (leave V8's threads alone) to 19: got "${raw}"`,
    );
  }
  return n;
}
