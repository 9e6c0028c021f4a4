// The helper threads of the JavaScript kernels (src/backends/cpu/_helper_threads.ts): a task
// split between this thread and a helper gives what one thread gives, the helper really takes
// parts, and a process with helpers still ends on its own.
import { mulberry32 } from "../src/random.ts";
import {
  _HELPER_MIN_VALUES,
  _helperThreadStats,
  _startHelperThreads,
  _useHelperThreads,
} from "../src/backends/cpu/_helper_threads.ts";
import { _rangeThreads, _runRangeTasks } from "../src/backends/cpu/_range_tasks.ts";
import { _SAME_SHAPE_OPS } from "../src/backends/cpu/_range_kernels.ts";
import { _groupStats } from "../src/backends/cpu/fused/_group_norm_stats.ts";
import { _groupNormBackward } from "../src/backends/cpu/fused/_group_norm_backward.ts";
import { assert, assertClose } from "./_assert.ts";

const started = await _startHelperThreads(1);
/** Enough values for two pieces, whatever the threshold. */
const TWO_PIECES = 2 * _HELPER_MIN_VALUES;

function randoms(n: number, seed: number, scale = 1): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

/** `f` run with the helpers off, then on; asserts that the helpers took parts. */
function bothWays<T>(f: () => T): { one: T; split: T } {
  _useHelperThreads(false);
  const one = f();
  _useHelperThreads(true);
  const before = _helperThreadStats.parts;
  const split = f();
  assert.ok(_helperThreadStats.parts > before, "no part went to a helper");
  return { one, split };
}

Deno.test("helper threads start when FFI is allowed", () => {
  assert.equal(started, undefined);
  assert.equal(_rangeThreads(), 2);
});

Deno.test("Adam and the EMA split between threads equal one thread's, bit for bit", () => {
  // An odd size: the pieces' boundary is not a multiple of it. The gradient sits at an offset
  // inside a larger buffer, as a cpu backend's slice does.
  const n = TWO_PIECES + 3;
  const g = randoms(n + 7, 2, 0.1).subarray(7);
  const run = () => {
    const [w, m, v, e] = [1, 3, 4, 5].map((seed) => randoms(n, seed));
    v.forEach((x, i) => (v[i] = Math.abs(x)));
    const w0 = w.slice();
    _runRangeTasks([{
      kernel: "adam",
      arrays: [w, g, m, v, w, m, v],
      params: [0.5, 0.9, 0.999, 1e-8, 1e-3],
      size: n,
    }]);
    _runRangeTasks([{ kernel: "ema", arrays: [e, w0, e], params: [0.999], size: n }]);
    return [w, m, v, e];
  };
  const { one, split } = bothWays(run);
  for (let k = 0; k < one.length; k++) assert.deepEqual(split[k], one[k]);
});

Deno.test("many tasks too small to split are shared out whole between threads", () => {
  // 64 weights, each alone too small to split, together worth two threads.
  const sizes = Array.from({ length: 64 }, () => TWO_PIECES / 64 + 5);
  const run = () => {
    const es = sizes.map((n, i) => randoms(n, 100 + i));
    const ws = sizes.map((n, i) => randoms(n, 200 + i));
    _runRangeTasks(es.map((e, i) => ({
      kernel: "ema",
      arrays: [e, ws[i], e],
      params: [0.9],
      size: e.length,
    })));
    return es;
  };
  const { one, split } = bothWays(run);
  for (let k = 0; k < one.length; k++) assert.deepEqual(split[k], one[k]);
});

Deno.test("elementwise ops split between threads round as float32(float64 result), bit for bit", () => {
  const n = TWO_PIECES + 5;
  const a = randoms(n, 11, 4), b = randoms(n, 12, 4);
  const host: Record<string, (x: number, y: number) => number> = {
    Add: (x, y) => x + y,
    Sub: (x, y) => x - y,
    Multiply: (x, y) => x * y,
    RealDiv: (x, y) => x / y,
    SquaredDifference: (x, y) => (x - y) * (x - y),
    Maximum: Math.max,
    Minimum: Math.min,
  };
  _SAME_SHAPE_OPS.forEach((op, k) => {
    const before = _helperThreadStats.parts;
    const out = new Float32Array(n);
    _runRangeTasks([{ kernel: "binarySame", arrays: [a, b, out], params: [k], size: n }]);
    assert.ok(_helperThreadStats.parts > before, `${op}: no part went to a helper`);
    const want = Float32Array.from(a, (x, i) => host[op](x, b[i]));
    assert.deepEqual(out, want, op);
  });
});

Deno.test("a sum of squares split between threads is the float64 sum within 1e-12", () => {
  const x = randoms(TWO_PIECES + 1, 6);
  let exact = 0;
  for (const v of x) exact += v * v;
  const { one, split } = bothWays(() => {
    const sums = new Float64Array(new ArrayBuffer(64));
    _runRangeTasks([{ kernel: "sumSquares", arrays: [x, sums], params: [0], size: x.length }]);
    return sums[0] + sums[1];
  });
  assertClose([one, split], [exact, exact], { rtol: 1e-12 });
});

Deno.test("group-norm statistics and backward split over pixels equal one thread's within 1e-6", () => {
  // [n, 32, 32, 64], 16 groups, with two pieces' worth of values.
  const d = { n: Math.ceil(TWO_PIECES / (32 * 32 * 64)), hw: 32 * 32, c: 64, groups: 16 };
  const size = d.n * d.hw * d.c;
  const x = randoms(size, 7, 3).map((v) => v + 5); // a mean far from zero
  const dy = randoms(size, 8), gamma = randoms(d.c, 9), beta = randoms(d.c, 10);
  const { one, split } = bothWays(() => {
    const stats = _groupStats(x, d, 1e-6);
    const grads = _groupNormBackward(dy, x, gamma, beta, d, { eps: 1e-6, swish: true, stats });
    return { stats, grads };
  });
  // Partial sums added in another order differ in float64's last bits only.
  assertClose(split.stats.mean, one.stats.mean, { rtol: 1e-12 });
  assertClose(split.stats.rstd, one.stats.rstd, { rtol: 1e-12 });
  const peak = one.grads.dx.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  assertClose(split.grads.dx, one.grads.dx, { rtol: 1e-6, atol: 1e-6 * peak });
  assertClose(split.grads.dgamma, one.grads.dgamma, { rtol: 1e-6, atol: 1e-6 });
  assertClose(split.grads.dbeta, one.grads.dbeta, { rtol: 1e-6, atol: 1e-6 });
});

/** Runs `code` in a fresh Deno with `flags`; its output, within 60 s or a failure. */
async function runDeno(flags: string[], code: string): Promise<string> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", ...flags, file],
    signal: AbortSignal.timeout(60_000),
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(file));
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `exit ${out.code}: ${text}`);
  return text;
}

const PROGRAM = `
import { _startHelperThreads, _helperThreadStats, _HELPER_MIN_VALUES } from "${
  new URL("../src/backends/cpu/_helper_threads.ts", import.meta.url).href
}";
import { _runRangeTasks } from "${
  new URL("../src/backends/cpu/_range_tasks.ts", import.meta.url).href
}";
console.log("start:", (await _startHelperThreads(1)) ?? "ok");
const n = 2 * _HELPER_MIN_VALUES;
const e = new Float32Array(n).fill(1), w = new Float32Array(n).fill(3);
_runRangeTasks([{ kernel: "ema", arrays: [e, w, e], params: [0.5], size: e.length }]);
console.log("values:", e[0], e[e.length - 1], "helper parts:", _helperThreadStats.parts);
`;

Deno.test("a process with helper threads ends when its work is done", async () => {
  const out = await runDeno(["--allow-read", "--allow-ffi", "--allow-env"], PROGRAM);
  assert.match(out, /start: ok/);
  assert.match(out, /values: 2 2 helper parts: 1/);
});

Deno.test("without --allow-ffi the kernels run on one thread and say so", async () => {
  // Nor --allow-env: DDPM_HELPER_THREADS then reads as unset.
  const out = await runDeno(["--allow-read"], PROGRAM);
  assert.match(out, /start: no --allow-ffi: JavaScript kernels run on one core/);
  assert.match(out, /values: 2 2 helper parts: 0/);
});
