// The threaded wasm build on 1 and 2 threads, side by side in one process: a 3x3 convolution
// (64 -> 64 channels, batch 8, 32x32) forward, and one training step of the tiny preset at its
// batch (8). Rounds alternate the two backends so that load from other processes hits both;
// the table shows medians and the 2-thread speed-up.
// Run: deno run -A bench/wasm_threads_table.ts [rounds]
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { createAdamState, createUNet, DDPMScheduler, presets, trainStep } from "../mod.ts";
import { registerThreadedWasm } from "../src/backends/wasm/prefer_threaded_wasm.ts";

const ROUNDS = Number(Deno.args[0] ?? 5);
const BACKENDS = [["wasm-1t", 1], ["wasm-2t", 2]] as const;

type Case = { name: string; gflop: number; make: () => () => unknown };

const convCase: Case = {
  name: "conv 3x3 64->64, 8x32x32, forward",
  gflop: 2 * 8 * 32 * 32 * 64 * 64 * 9 / 1e9,
  make() {
    const x = tf.randomNormal([8, 32, 32, 64], 0, 1, "float32", 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 64, 64], 0, 1, "float32", 2) as tf.Tensor4D;
    return () => tf.tidy(() => void tf.conv2d(x, w, 1, "same").dataSync());
  },
};

const trainCase: Case = {
  name: "tiny preset train step, batch 8",
  gflop: NaN,
  make() {
    const { unet: unetConfig, train } = presets.tiny;
    const unet = createUNet("tiny", { seed: 0 });
    const weights = unet.getWeights();
    const ema = new Map([...weights].map(([k, v]) => [k, tf.tidy(() => tf.variable(v.clone()))]));
    const state = {
      unet,
      weights,
      adam: createAdamState(weights),
      ema,
      scheduler: new DDPMScheduler(presets.tiny.scheduler),
    };
    const res = unetConfig.resolution;
    const x0 = tf.randomUniform([8, res, res, 3], -1, 1, "float32", 1) as tf.Tensor4D;
    const t = Int32Array.from({ length: 8 }, (_, i) => (i * 997) % 1000);
    let step = 0;
    return () => {
      step++;
      const inputs = { x0, t, noiseSeed: step, dropoutSeed: step, learningRate: 1e-4, step };
      return trainStep(state, inputs, train);
    };
  },
};

for (const [name, threads] of BACKENDS) {
  const started = await registerThreadedWasm(name, threads);
  if (started !== threads) throw new Error(`${name}: started ${started} threads`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`| case | ${BACKENDS.map(([n]) => `${n} ms`).join(" | ")} | speed-up 2 vs 1 |`);
console.log("|---|---|---|---|");
for (const c of [convCase, trainCase]) {
  const runs = new Map<string, () => unknown>();
  for (const [name] of BACKENDS) {
    await tf.setBackend(name);
    const fn = c.make();
    await fn(); // warm-up: operator setup and allocation
    runs.set(name, fn);
  }
  const reps = c === convCase ? 10 : 1;
  const times = new Map<string, number[]>(BACKENDS.map(([n]) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name] of BACKENDS) {
      await tf.setBackend(name);
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await runs.get(name)!();
      times.get(name)!.push((performance.now() - t0) / reps);
    }
  }
  const [one, two] = BACKENDS.map(([n]) => median(times.get(n)!));
  const gf = (ms: number) =>
    Number.isNaN(c.gflop) ? "" : ` (${(c.gflop / ms * 1e3).toFixed(1)} GFLOP/s)`;
  console.log(
    `| ${c.name} | ${one.toFixed(1)}${gf(one)} | ${two.toFixed(1)}${gf(two)} | ` +
      `${(one / two).toFixed(2)}x |`,
  );
}
console.log(
  `\n${ROUNDS} alternating rounds, medians; ${navigator.hardwareConcurrency} logical cores; ` +
    `CPU this process can get: ${(await cpuAvailable()).toFixed(2)} cores ` +
    `(2 spinning workers, CPU time / wall time); load average ${Deno.loadavg()[0].toFixed(2)}`,
);

/**
 * CPU time two busy workers get per second of wall time: 2 on an idle 2-core machine, less when
 * other processes (or their session's scheduling group) take the cores. A 2-thread speed-up
 * cannot exceed it.
 */
async function cpuAvailable(): Promise<number> {
  const code = "self.onmessage = () => { const t = performance.now(); let x = 0; " +
    "while (performance.now() - t < 1000) x += Math.sqrt(x + 1); postMessage(x); };";
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all([0, 1].map(() =>
    new Promise((done) => {
      const w = new Worker(url, { type: "module" });
      w.onmessage = () => {
        w.terminate();
        done(0);
      };
      w.postMessage(0);
    })
  ));
  const cpu = process.cpuUsage(c0);
  return (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
}
