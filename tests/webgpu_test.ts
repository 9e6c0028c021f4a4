// Smoke test of the WebGPU path: one small convolution and its gradients, against cpu.
// Skipped with a printed reason where Deno finds no WebGPU adapter.
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../mod.ts";
import { assertClose } from "./_assert.ts";

async function adapterReason(): Promise<string | undefined> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return "navigator.gpu is missing in this Deno";
  try {
    if (!(await gpu.requestAdapter())) return "no WebGPU adapter (install mesa-vulkan-drivers)";
  } catch (err) {
    return `requestAdapter() failed: ${(err as Error).message}`;
  }
  return undefined;
}

const reason = await adapterReason();
if (reason) console.log(`webgpu_test: skipped: ${reason}`);

Deno.test({
  name: "webgpu computes conv2d and its gradients like cpu",
  ignore: reason !== undefined,
  // The WebGPU device keeps resources alive across the test boundary.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const xs = Float32Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i * 0.37));
    const ws = Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.11));
    const run = async (backend: "cpu" | "webgpu") => {
      await setBackend(backend);
      const x = tf.tensor4d(xs, [2, 6, 6, 3]);
      const w = tf.tensor4d(ws, [3, 3, 3, 4]);
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same").square().sum();
      const y = f(x, w);
      const [dx, dw] = tf.grads(f)([x, w]);
      const out = [await y.data(), await dx.data(), await dw.data()];
      tf.dispose([x, w, y, dx, dw]);
      return out;
    };
    const cpu = await run("cpu");
    const gpu = await run("webgpu");
    for (let i = 0; i < 3; i++) assertClose(gpu[i], cpu[i], { rtol: 1e-3, atol: 1e-3 });
    await setBackend("cpu");
  },
});
