// The optimiser's kernels over every weight at once (DdpmAdamAll, DdpmEmaAll,
// DdpmSumSquaresAll) change their inputs' values instead of making tensors. These tests pin
// what that must not break, on cpu and on the fast backend (wasm, or onednn in CI's second
// pass): one kernel call per step, tensors that share a weight's data and arrays read before a
// step keep their values, onednn's cached copies of a weight follow the new values, no leaks.
import * as tf from "@tensorflow/tfjs";
import {
  createAdamState,
  createUNet,
  DDPMScheduler,
  presets,
  setBackend,
  trainStep,
} from "../mod.ts";
import { adamUpdate, emaUpdate, globalNorm } from "../src/train/mod.ts";
import { mulberry32 } from "../src/random.ts";
import { FAST_BACKEND, HAS_ONEDNN } from "./_backend.ts";
import { assert } from "./_assert.ts";

const SHAPES: Record<string, number[]> = { "a.kernel": [3, 3, 4, 8], "a.bias": [8], "b": [40] };
const SETTINGS = { learningRate: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

function values(n: number, seed: number, scale = 1): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

function setup() {
  const names = Object.keys(SHAPES);
  const make = (seed: number, scale = 1) =>
    new Map(names.map((name, i) => {
      const shape = SHAPES[name];
      const n = shape.reduce((a, b) => a * b, 1);
      return [name, tf.variable(tf.tensor(values(n, seed + i, scale), shape))];
    }));
  const weights = make(1);
  const ema = make(1);
  const grads = Object.fromEntries([...make(50, 0.1)].map(([k, v]) => [k, v as tf.Tensor]));
  const state = createAdamState(weights);
  const step = (k: number) => {
    adamUpdate(weights, grads, state, { ...SETTINGS, step: k, gradScale: 1 });
    emaUpdate(ema, weights, 0.9);
  };
  const dispose = () => {
    tf.dispose([weights, ema, state.m, state.v].flatMap((m) => [...m.values()]));
    tf.dispose(Object.values(grads));
  };
  return { weights, ema, grads, state, step, dispose };
}

for (const backend of ["cpu", FAST_BACKEND] as const) {
  Deno.test(`${backend}: one kernel call updates every weight, and nothing leaks`, async () => {
    await setBackend(backend);
    const s = setup();
    try {
      const before = tf.memory().numTensors;
      // The first step copies the variables that share their data (here each weight with the
      // tensor it was made from); from then on a step is the three kernels and a sqrt.
      const first = await tf.profile(() => s.step(1));
      const copies = first.kernels.filter((k) => k.name === "Multiply").length;
      assert.equal(copies, 6, "one copy per weight and EMA weight (made from live tensors)");
      const profile = await tf.profile(() => {
        s.step(2);
        globalNorm(s.grads).dispose();
      });
      const names = profile.kernels.map((k) => k.name);
      assert.deepEqual(names, ["DdpmAdamAll", "DdpmEmaAll", "DdpmSumSquaresAll", "Sqrt"]);
      for (let k = 3; k <= 5; k++) s.step(k);
      assert.equal(tf.memory().numTensors, before, "tensors after 5 steps");
    } finally {
      s.dispose();
    }
  });

  Deno.test(`${backend}: a tensor sharing a weight's data and an array read before a step keep their values`, async () => {
    await setBackend(backend);
    const plain = setup(), aliased = setup();
    try {
      const name = "a.kernel";
      // After a first step the kernels own every array and write in place (onednn): reading
      // one or sharing its data must stop that.
      plain.step(1);
      aliased.step(1);
      const alias = aliased.weights.get(name)!.clone(); // shares the data on cpu and wasm
      const read = aliased.weights.get(name)!.dataSync();
      const readCopy = Float32Array.from(read);
      const emaRead = aliased.ema.get("b")!.dataSync();
      const emaCopy = Float32Array.from(emaRead);
      plain.step(2);
      aliased.step(2);
      assert.deepEqual([...alias.dataSync()], [...readCopy], "the clone kept the old values");
      assert.deepEqual([...read], [...readCopy], "the array read before the step is unchanged");
      assert.deepEqual([...emaRead], [...emaCopy], "the EMA array read before is unchanged");
      for (const key of Object.keys(SHAPES)) {
        const moved = aliased.weights.get(key)!.dataSync();
        assert.deepEqual([...moved], [...plain.weights.get(key)!.dataSync()], `${key} stepped`);
        assert.ok(moved.some((x, i) => x !== (key === name ? readCopy[i] : NaN)), `${key} moved`);
      }
      alias.dispose();
    } finally {
      plain.dispose();
      aliased.dispose();
    }
  });
}

// Backends cache what they derive from a weight (onednn: bf16 and reordered copies per array;
// wasm: XNNPACK's packed filters per tensor id): a convolution after a step must see the step.
const CONV_CASES: { backend: "cpu" | "wasm" | "onednn"; precision?: "fp32" | "bf16" }[] = [
  { backend: "cpu" },
  { backend: "wasm" },
  { backend: "onednn" },
  { backend: "onednn", precision: "bf16" },
];
for (const { backend, precision } of CONV_CASES) {
  Deno.test({
    name: `${backend}${
      precision ? ` ${precision}` : ""
    }: a convolution after a step uses the new weights`,
    ignore: backend === "onednn" && !HAS_ONEDNN,
    fn: async () => {
      const x = values(2 * 6 * 6 * 4, 9);
      const conv = (w: tf.Tensor) =>
        tf.tidy(
          () => [
            ...tf.conv2d(tf.tensor4d(x, [2, 6, 6, 4]), w as tf.Tensor4D, 1, "same").dataSync(),
          ],
        );
      await setBackend(backend, precision ? { precision } : undefined);
      const s = setup();
      try {
        const w = s.weights.get("a.kernel")!;
        s.step(1); // from now on the kernels may write w's data in place
        const stale = conv(w); // caches what the backend derives from w
        s.step(2);
        const after = conv(w);
        const moved = w.dataSync().slice();
        await setBackend("cpu");
        const shape = SHAPES["a.kernel"] as [number, number, number, number];
        const expected = conv(tf.tensor4d(moved, shape));
        const maxDiff = (a: number[]) => Math.max(...a.map((v, i) => Math.abs(v - expected[i])));
        // The step moves each weight by about the learning rate: the old weights' output is
        // far from the new one's, farther than bf16's rounding of 36-term sums.
        const staleDiff = maxDiff(stale);
        assert.ok(staleDiff > 0.1, `the step changed the output: ${staleDiff}`);
        const bound = precision === "bf16" ? staleDiff / 4 : 1e-4;
        assert.ok(maxDiff(after) < bound, `${maxDiff(after)} vs bound ${bound}`);
      } finally {
        s.dispose();
        await setBackend("cpu");
      }
    },
  });
}

// End to end: training steps through a UNet (convolutions, matmuls, group norms reading the
// weights the kernels wrote) give the losses of the per-weight path, bit for bit.
for (const backend of new Set(["wasm", FAST_BACKEND] as const)) {
  Deno.test(`${backend}: trainStep with the kernels over all weights takes the same steps as without`, async () => {
    await setBackend(backend);
    const name = tf.getBackend();
    const losses = async () => {
      const unet = createUNet({ ...presets.tiny.unet, resolution: 8 }, { seed: 3 });
      const weights = unet.getWeights();
      const ema = new Map([...weights].map(([k, w]) => [k, tf.tidy(() => tf.variable(w.clone()))]));
      const state = {
        unet,
        weights,
        adam: createAdamState(weights),
        ema,
        scheduler: new DDPMScheduler(),
      };
      const x0 = tf.tensor4d(values(2 * 8 * 8 * 3, 4), [2, 8, 8, 3]);
      const out: number[] = [];
      for (let step = 1; step <= 4; step++) {
        const inputs = {
          x0,
          t: Int32Array.of(50, 700),
          noiseSeed: step,
          dropoutSeed: step,
          learningRate: 1e-3,
          step,
        };
        out.push((await trainStep(state, inputs, presets.tiny.train)).loss);
      }
      tf.dispose([x0, ...ema.values(), ...state.adam.m.values(), ...state.adam.v.values()]);
      unet.dispose();
      return out;
    };
    const all = ["DdpmAdamAll", "DdpmEmaAll", "DdpmSumSquaresAll"].map((k) =>
      tf.getKernel(k, name)!
    );
    assert.ok(all.every((k) => k), `${name} registers the kernels over all weights`);
    const fused = await losses();
    for (const k of all) tf.unregisterKernel(k.kernelName, name);
    let perWeight: number[];
    try {
      perWeight = await losses();
    } finally {
      for (const k of all) tf.registerKernel(k);
    }
    assert.ok(fused[3] < fused[0], `the loss fell: ${fused}`);
    assert.deepEqual(fused, perWeight);
  });
}
