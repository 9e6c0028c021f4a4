// Speed of the FID pieces: the Inception-v3 forward pass per backend (random weights, images
// of 32 x 32 resized to 299, pytorch-fid's preprocessing) with the hours that 50,000 images
// would take at that rate, and the float64 Frechet distance at d = 512 .. 2048.
// Run: deno run -A bench/metrics_table.ts [--backends wasm,onednn] [--batch 8] [--rounds 2]
//        [--dims 512,1024,2048]
import process from "node:process";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setBackend } from "../src/backends/set_backend.ts";
import { frechetDistance } from "../src/metrics/frechet_distance.ts";
import { InceptionV3 } from "../src/metrics/inception.ts";
import { INCEPTION_CONVS, type InceptionConv } from "../src/metrics/inception_layers.ts";
import { mulberry32 } from "../src/random.ts";

const { values } = parseArgs({
  options: {
    backends: { type: "string", default: "wasm,onednn" },
    batch: { type: "string", default: "8" },
    rounds: { type: "string", default: "2" },
    dims: { type: "string", default: "512,1024,2048" },
  },
});
const batch = Number(values.batch), rounds = Number(values.rounds);

// Output side of each unit at a 299 x 299 input, for the analytic FLOP count.
function outputSide(c: InceptionConv): number {
  const fixed: Record<string, number> = {
    Conv2d_1a_3x3: 149,
    Conv2d_2a_3x3: 147,
    Conv2d_2b_3x3: 147,
    Conv2d_3b_1x1: 73,
    Conv2d_4a_3x3: 71,
    "Mixed_6a.branch3x3": 17,
    "Mixed_6a.branch3x3dbl_3": 17,
    "Mixed_7a.branch3x3_2": 8,
    "Mixed_7a.branch7x7x3_4": 8,
  };
  if (c.name in fixed) return fixed[c.name];
  if (/^Mixed_5|^Mixed_6a/.test(c.name)) return 35;
  if (/^Mixed_6|^Mixed_7a/.test(c.name)) return 17;
  return 8;
}
const gflopPerImage = INCEPTION_CONVS.reduce(
  (s, c) => s + 2 * c.kernel[0] * c.kernel[1] * c.inChannels * c.outChannels * outputSide(c) ** 2,
  2 * 2048 * 1008,
) / 1e9;

console.log(
  `Inception-v3 forward, ${gflopPerImage.toFixed(2)} GFLOP/image (convolutions and head)`,
);
console.log("| backend | batch | img/s | GFLOP/s | 50,000 images (one pass) |");
console.log("|---|---|---|---|---|");
for (const backend of values.backends!.split(",") as BackendName[]) {
  await setBackend(backend);
  const net = new InceptionV3({
    convs: new Map(INCEPTION_CONVS.map((c) => [c.name, {
      filter: tf.randomNormal(
        [...c.kernel, c.inChannels, c.outChannels],
        0,
        Math.sqrt(2 / (c.kernel[0] * c.kernel[1] * c.inChannels)),
      ) as tf.Tensor4D,
      bias: tf.zeros([c.outChannels]) as tf.Tensor1D,
    }])),
    fcWeight: tf.randomNormal([2048, 1008], 0, 0.02) as tf.Tensor2D,
    fcBias: tf.zeros([1008]) as tf.Tensor1D,
  });
  const images = tf.randomUniform([batch, 32, 32, 3], 0, 255) as tf.Tensor4D;
  const run = async () => {
    const f = net.features(images);
    await f.pool.data();
    tf.dispose([f.pool, f.logitsUnbiased]);
  };
  await run(); // warm-up: operator setup
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) await run();
  const imgPerS = (batch * rounds) / ((performance.now() - t0) / 1000);
  const hours = 50000 / imgPerS / 3600;
  console.log(
    `| ${tf.getBackend()} | ${batch} | ${imgPerS.toFixed(2)} | ${
      (imgPerS * gflopPerImage).toFixed(1)
    } | ${hours.toFixed(1)} h (extrapolated) |`,
  );
  images.dispose();
  net.dispose();
}

console.log("\nFrechet distance in float64 (pivoted Cholesky, L^T S2 L, tridiagonal QL), one core");
console.log("| d | wall s | cpu s |");
console.log("|---|---|---|");
for (const d of values.dims!.split(",").map(Number)) {
  const stats = [1, 2].map((seed) => {
    // Covariance of 2d samples of correlated features: full rank, condition near 1e3.
    const rand = mulberry32(seed);
    const n = 2 * d;
    const x = new Float64Array(n * d);
    for (let i = 0; i < x.length; i++) x[i] = rand() - 0.5 + ((i % d) / d) * x[i - (i % d)];
    const sigma = new Float64Array(d * d);
    for (let s = 0; s < n; s++) {
      for (let i = 0; i < d; i++) {
        const xi = x[s * d + i];
        for (let j = 0; j <= i; j++) sigma[i * d + j] += (xi * x[s * d + j]) / (n - 1);
      }
    }
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) sigma[j * d + i] = sigma[i * d + j];
    return { mu: new Float64Array(d), sigma };
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  frechetDistance(stats[0], stats[1]);
  const cpu = process.cpuUsage(c0);
  console.log(
    `| ${d} | ${((performance.now() - t0) / 1000).toFixed(2)} | ${
      ((cpu.user + cpu.system) / 1e6).toFixed(2)
    } |`,
  );
}
