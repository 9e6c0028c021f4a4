// Group norm's three passes over the activations, JavaScript loops against WebAssembly SIMD
// (src/backends/cpu/simd/), on one thread at the UNet's shapes: ns per value, medians of
// alternating rounds, so that both columns see the same machine.
//
//   deno run -A bench/group_norm_simd_table.ts [--rounds 7]
import { parseArgs } from "node:util";
import {
  _channelSumsRange,
  _groupNormGradApplyRange,
  _groupNormGradSumsRange,
} from "../src/backends/cpu/fused/_group_norm_ranges.ts";
import { _useSimdKernels } from "../src/backends/cpu/simd/_simd_module.ts";
import { mulberry32 } from "../src/random.ts";

const { values: flags } = parseArgs({ options: { rounds: { type: "string", default: "7" } } });
const rounds = Number(flags.rounds);

/** [batch, pixels, channels]: tiny's and cifar10's group-norm inputs at batch 8. */
const SHAPES = [[8, 1024, 32], [8, 256, 64], [8, 1024, 128], [8, 256, 256]];

function randoms(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => offset + (rand() * 2 - 1) * scale);
}

const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1];

console.log("| shape | pass | JavaScript ns/value | SIMD ns/value | speed-up |");
console.log("|---|---|---|---|---|");
for (const [n, hw, c] of SHAPES) {
  const len = n * hw * c, nc = n * c, d = { n, hw, c };
  const x = randoms(len, 1), dy = randoms(len, 2), y = randoms(len, 3);
  const gamma = randoms(c, 4, 0.2, 1), beta = randoms(c, 5, 0.2);
  const r = Float64Array.from(randoms(nc, 6, 0.2, 1)), mu = Float64Array.from(randoms(nc, 7));
  const dx = new Float32Array(len), s1 = new Float64Array(nc), s2 = new Float64Array(nc);
  const inp = { dy, x, gamma, beta, y, swish: true };
  const coef = { a: r, bx: mu, mu, d1: r };
  const passes: [string, () => void][] = [
    ["statistics", () => _channelSumsRange(x, mu, s1, s2, d, 0, hw, 0)],
    ["backward sums + swish", () => _groupNormGradSumsRange(inp, r, mu, dx, s1, s2, d, 0, hw, 0)],
    ["backward apply", () => _groupNormGradApplyRange(x, dx, coef, d, 0, hw)],
  ];
  for (const [name, pass] of passes) {
    const times: Record<"js" | "simd", number[]> = { js: [], simd: [] };
    for (let round = 0; round < rounds; round++) {
      for (const way of ["js", "simd"] as const) {
        _useSimdKernels(way === "simd");
        pass();
        const start = performance.now();
        for (let i = 0; i < 5; i++) pass();
        times[way].push((performance.now() - start) / 5 * 1e6 / len);
      }
    }
    const js = median(times.js), simd = median(times.simd);
    console.log(
      `| ${n}x${hw}x${c} | ${name} | ${js.toFixed(2)} | ${simd.toFixed(2)} | ` +
        `${(js / simd).toFixed(2)}x |`,
    );
  }
}
_useSimdKernels(true);
