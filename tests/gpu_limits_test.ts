// The GPU side of micro-batching: the per-buffer bound measured from a pass's tensors, the
// choice of micro-batch under a binding limit, and the DDPM_GPU_MEMORY budget.
import * as tf from "@tensorflow/tfjs";
import { createUNet, DDPMScheduler, InputError, presets, setBackend } from "../mod.ts";
import { _fitLargestTensor, _profilePass } from "../src/memory/_pass_memory.ts";
import {
  bufferLimit,
  GPU_MEMORY_ENV,
  gpuMemoryBudget,
  parseByteSize,
} from "../src/memory/gpu_limits.ts";
import {
  backendMemoryLimit,
  chooseMicroBatchSize,
  WASM_HEAP_LIMIT_BYTES,
} from "../src/memory/memory_limit.ts";
import { batchGradients } from "../src/train/batch_gradients.ts";
import { measureStepMemory } from "../src/train/micro_batch_size.ts";
import { assert } from "./_assert.ts";

const MIB = 2 ** 20;

Deno.test("parseByteSize() reads bytes and binary units, and rejects the rest", () => {
  assert.equal(parseByteSize("1024"), 1024);
  assert.equal(parseByteSize("16GiB"), 16 * 2 ** 30);
  assert.equal(parseByteSize("16 gb"), 16 * 2 ** 30);
  assert.equal(parseByteSize("512M"), 512 * MIB);
  assert.equal(parseByteSize("1.5TiB"), 1.5 * 2 ** 40);
  for (const bad of ["", "lots", "-1GiB", "0", "12 PiB", "1e400"]) {
    assert.equal(parseByteSize(bad), undefined, bad);
  }
});

Deno.test("DDPM_GPU_MEMORY sets the budget of the GPU backends only; a bad value names the fix", async () => {
  await setBackend("cpu"); // registers every backend's descriptor
  const old = Deno.env.get(GPU_MEMORY_ENV);
  try {
    Deno.env.set(GPU_MEMORY_ENV, "12GiB");
    assert.equal(gpuMemoryBudget(Deno.env.get(GPU_MEMORY_ENV)), 12 * 2 ** 30);
    assert.equal(backendMemoryLimit("webgpu"), 12 * 2 ** 30);
    assert.equal(backendMemoryLimit("tensorflow"), 12 * 2 ** 30);
    assert.equal(backendMemoryLimit("wasm"), WASM_HEAP_LIMIT_BYTES);
    assert.equal(backendMemoryLimit("cpu"), undefined);
    Deno.env.set(GPU_MEMORY_ENV, "twelve");
    assert.throws(
      () => backendMemoryLimit("webgpu"),
      (e: unknown) => e instanceof InputError && /DDPM_GPU_MEMORY=16GiB/.test(e.message),
    );
    Deno.env.delete(GPU_MEMORY_ENV);
    assert.equal(backendMemoryLimit("webgpu"), undefined, "WebGPU reports no memory size");
  } finally {
    if (old === undefined) Deno.env.delete(GPU_MEMORY_ENV);
    else Deno.env.set(GPU_MEMORY_ENV, old);
  }
  assert.equal(bufferLimit("cpu"), undefined);
});

Deno.test("chooseMicroBatchSize() keeps the largest tensor within a buffer limit", () => {
  const base = { batchSize: 128, limitBytes: undefined, fixedBytes: 0, perImageBytes: 40 * MIB };
  // Largest tensor 3 MiB per image (a 9 MiB weight aside): 128 MiB holds 42 images, so 4
  // passes of 32.
  const largestTensor = { fixedBytes: 9 * MIB, perImageBytes: 3 * MIB };
  assert.equal(chooseMicroBatchSize({ ...base, bufferLimitBytes: 128 * MIB, largestTensor }), 32);
  assert.equal(chooseMicroBatchSize({ ...base, bufferLimitBytes: 2 ** 31, largestTensor }), 128);
  // Both limits: the tighter one decides (75% of 2 GiB holds 38 images of 40 MiB: 4 x 32).
  assert.equal(
    chooseMicroBatchSize({
      ...base,
      limitBytes: 2 * 1024 * MIB,
      bufferLimitBytes: 2 ** 31,
      largestTensor,
    }),
    32,
  );
  // A single image too large for a buffer still gets one pass per image.
  assert.equal(
    chooseMicroBatchSize({ ...base, bufferLimitBytes: MIB, largestTensor }),
    1,
  );
});

Deno.test({
  name: "measureStepMemory()'s largest-tensor bound holds for a pass of 5 images",
  // Shapes do not depend on the backend: once, on wasm, not again on the onednn pass.
  ignore: Deno.env.get("DDPM_TEST_BACKEND") === "onednn",
  fn: async () => {
    await setBackend("wasm");
    const unet = createUNet({
      ...presets.tiny.unet,
      resolution: 16,
      ch: 8,
      chMult: [1, 2],
      numGroups: 4,
      attnResolutions: [8],
    }, { seed: 1 });
    const state = { unet, weights: unet.getWeights(), scheduler: new DDPMScheduler() };
    const m = await measureStepMemory(state);
    // Independently: every tensor of a real pass of 5 images, from the profile's shapes.
    const x0 = tf.zeros([5, 16, 16, 3]) as tf.Tensor4D;
    const five = await _profilePass(() => {
      const t = Int32Array.of(1, 2, 3, 4, 5);
      const { loss, grads } = batchGradients(state, { x0, t, noiseSeed: 0, dropoutSeed: 0 });
      tf.dispose([loss, ...Object.values(grads)]);
    });
    const largest = Math.max(...five.tensorBytes);
    const bound = Math.max(m.largestTensor.fixedBytes, 5 * m.largestTensor.perImageBytes);
    assert.ok(largest <= bound, `largest ${largest} B exceeds the bound ${bound} B`);
    // Not vacuous: the largest tensor here is an activation, for which the bound is exact.
    assert.equal(bound, largest);
    // The total peak grows by the measured per-image bytes, within a tenth.
    assert.ok(m.perImageBytes > 0 && m.fixedBytes > 0, JSON.stringify(m));
    const predicted = m.fixedBytes + 5 * m.perImageBytes;
    assert.ok(Math.abs(five.peakBytes - predicted) <= 0.1 * five.peakBytes, `${predicted}`);
    x0.dispose();
    unet.dispose();
  },
});

Deno.test("_fitLargestTensor() bounds weights, activations and mixes at every batch", () => {
  // Tensors of f + n g bytes: a weight, two activations, and a mix (say a concat of the two).
  const tensors = [[80, 0], [0, 10], [0, 45], [30, 20]];
  const pass = (n: number) => ({ peakBytes: 0, tensorBytes: tensors.map(([f, g]) => f + n * g) });
  const fit = _fitLargestTensor(pass(1), pass(2));
  assert.deepEqual(fit, { fixedBytes: 80, perImageBytes: 45 });
  for (let n = 1; n <= 64; n++) {
    const largest = Math.max(...pass(n).tensorBytes);
    const bound = Math.max(fit.fixedBytes, n * fit.perImageBytes);
    assert.ok(largest <= bound, `n = ${n}: ${largest} > ${bound}`);
  }
});
