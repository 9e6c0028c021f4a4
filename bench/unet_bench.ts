// UNet forward, and forward + backward (gradients of a mean-square loss with respect to
// every weight), for the tiny and cifar10 presets at batch 4, on wasm and cpu.
// cifar10 on cpu is left out: its forward + backward takes minutes per batch there.
// `deno run -A bench/unet_table.ts` prints the same cases as ms/image and GFLOP/s.
import * as tf from "@tensorflow/tfjs";
import { createUNet, type PresetName, presets, setBackend, type UNet } from "../mod.ts";

export const BATCH = 4;
export const CASES: [backend: "wasm" | "cpu", preset: PresetName][] = [
  ["wasm", "tiny"],
  ["wasm", "cifar10"],
  ["cpu", "tiny"],
];

const models = new Map<string, { unet: UNet; x: tf.Tensor4D; t: tf.Tensor1D }>();

/** Builds (once per backend and preset) a model and its batch; returns one timed step. */
export async function prepare(
  backend: "wasm" | "cpu",
  name: PresetName,
  backward: boolean,
): Promise<() => void> {
  await setBackend(backend);
  const key = `${backend}/${name}`;
  if (!models.has(key)) {
    const res = presets[name].unet.resolution;
    models.set(key, {
      unet: createUNet(name, { seed: 0 }),
      x: tf.randomNormal([BATCH, res, res, 3], 0, 1, "float32", 1) as tf.Tensor4D,
      t: tf.tensor1d([1, 250, 500, 999], "int32"),
    });
  }
  const { unet, x, t } = models.get(key)!;
  const vars = [...unet.getWeights().values()];
  if (!backward) return () => tf.tidy(() => void unet.predict(x, t).dataSync());
  return () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () => tf.mean(tf.square(tf.sub(unet.predict(x, t), x))) as tf.Scalar,
        vars,
      );
      grads[vars[0].name].dataSync();
    });
}

if (import.meta.main) {
  for (const [backend, name] of CASES) {
    for (const backward of [false, true]) {
      const mode = backward ? "forward+backward" : "forward";
      Deno.bench({
        group: `${name} ${mode}`,
        name: `${backend} ${name} ${mode} batch ${BATCH}`,
        baseline: backend === "wasm",
        n: 3,
        warmup: 1,
        async fn(b) {
          const step = await prepare(backend, name, backward);
          b.start();
          step();
          b.end();
        },
      });
    }
  }
}
