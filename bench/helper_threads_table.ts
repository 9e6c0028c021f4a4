// The JavaScript kernels of the onednn backend on one thread and split with the helper threads
// (src/backends/cpu/_helper_threads.ts), alternating in one process: Adam, the EMA and the
// gradient's sum of squares over cifar10's 35.7M parameters, group norm at a cifar10 layer.
//
//   deno run -A bench/helper_threads_table.ts [--rounds 5]
import { parseArgs } from "node:util";
import { _startHelperThreads, _useHelperThreads } from "../src/backends/cpu/_helper_threads.ts";
import { _rangeThreads, _runRangeTasks } from "../src/backends/cpu/_range_tasks.ts";
import { _groupStats } from "../src/backends/cpu/fused/_group_norm_stats.ts";
import { _groupNormBackward } from "../src/backends/cpu/fused/_group_norm_backward.ts";

const { values: flags } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const helpers = Math.max(1, navigator.hardwareConcurrency - 1);
const why = await _startHelperThreads(helpers);
if (why) throw new Error(why);

const PARAMS = 35_746_307; // the cifar10 preset's UNet
const filled = (n: number, v: number) => new Float32Array(n).fill(v);
const [w, g, m, v, e] = [0.1, 0.01, 0.001, 1e-4, 0.1].map((x) => filled(PARAMS, x));
const sums = new Float64Array(new ArrayBuffer(64));
const [n, h, wd, c] = [8, 32, 32, 128];
const d = { n, hw: h * wd, c, groups: 32 };
const x = Float32Array.from({ length: n * h * wd * c }, (_, i) => Math.sin(i));
const dy = Float32Array.from(x, (t) => t * 0.5), y = Float32Array.from(x, (t) => t / 2);
const gamma = filled(c, 1.1), beta = filled(c, 0.1);
// One output array, as the backend's buffer pool hands out: no page faults in the timing.
const dx = new Float32Array(x.length);

const cases: [string, () => void][] = [
  ["Adam, 35.7M weights", () =>
    _runRangeTasks([{
      kernel: "adam",
      arrays: [w, g, m, v, w, m, v],
      params: [1, 0.9, 0.999, 1e-8, 1e-9],
      size: PARAMS,
    }])],
  [
    "EMA, 35.7M weights",
    () => _runRangeTasks([{ kernel: "ema", arrays: [e, w, e], params: [0.9999], size: PARAMS }]),
  ],
  [
    "sum of squares, 35.7M",
    () => _runRangeTasks([{ kernel: "sumSquares", arrays: [g, sums], params: [0], size: PARAMS }]),
  ],
  [`group-norm statistics [${n},${h},${wd},${c}]`, () => void _groupStats(x, d, 1e-6)],
  [
    `group-norm + swish backward [${n},${h},${wd},${c}]`,
    () => void _groupNormBackward(dy, x, gamma, beta, d, { eps: 1e-6, swish: true, y }, () => dx),
  ],
];

function time(f: () => void): number {
  const reps = 3;
  const start = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - start) / reps;
}
const median = (a: number[]) => a.toSorted((p, q) => p - q)[a.length >> 1];

console.log(`helper threads: ${helpers} (${_rangeThreads()} threads in all)`);
console.log("| kernel | 1 thread ms | split ms | speed-up |");
console.log("| --- | --- | --- | --- |");
for (const [name, f] of cases) {
  // Compiles the code on every thread: a helper's JIT warms up apart from this thread's.
  for (const t0 = performance.now(); performance.now() - t0 < 1000;) f();
  const one: number[] = [], split: number[] = [];
  for (let r = 0; r < Number(flags.rounds); r++) {
    _useHelperThreads(false);
    one.push(time(f));
    _useHelperThreads(true);
    split.push(time(f));
  }
  const [a, b] = [median(one), median(split)];
  console.log(`| ${name} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / b).toFixed(2)}x |`);
}
