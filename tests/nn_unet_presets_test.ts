import * as tf from "@tensorflow/tfjs";
import { createUNet, presets, setBackend } from "../mod.ts";
import { assert } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

// The 256x256 forward pass is ~450 GFLOP: about a minute on wasm with two cores.
Deno.test("UNet.predict() keeps the input's shape for every preset", async () => {
  await setBackend(FAST_BACKEND);
  // lsun256 and celebahq256 share one architecture; one forward pass covers both.
  assert.deepEqual(presets.lsun256.unet, presets.celebahq256.unet);
  for (const name of ["tiny", "cifar10", "celebahq256"] as const) {
    const res = presets[name].unet.resolution;
    const n = res > 64 ? 1 : 2;
    const unet = createUNet(name, { seed: 1 });
    const x = tf.ones([n, res, res, 3]) as tf.Tensor4D;
    const t = tf.tensor1d(Array.from({ length: n }, (_, i) => 10 * i), "int32");
    const y = unet.predict(x, t);
    assert.deepEqual(y.shape, x.shape, name);
    tf.dispose([x, t, y]);
    unet.dispose();
  }
});
