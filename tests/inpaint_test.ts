import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../src/backends/set_backend.ts";
import { DDPMScheduler } from "../src/diffusion/ddpm_scheduler.ts";
import { inpaint } from "../src/diffusion/inpaint.ts";
import type { NoisePredictor } from "../src/diffusion/sample.ts";
import { createUNetFromConfig } from "../src/nn/create_unet_from_config.ts";
import { presets } from "../src/presets/presets.ts";
import { assert, assertClose, assertNear } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

const RES = 8;

function picture(n: number, seed: number): tf.Tensor4D {
  return tf.tidy(() =>
    tf.randomUniform([n, RES, RES, 3], -1, 1, "float32", seed).round().mul(0.8) as tf.Tensor4D
  );
}

/** Known: the left half of every image. */
function leftHalf(): tf.Tensor2D {
  return tf.tidy(() => tf.concat([tf.ones([RES, RES / 2]), tf.zeros([RES, RES / 2])], 1));
}

/** A model of "sample" type that always predicts `x0`, counting its calls. */
function truthModel(x0: tf.Tensor4D): NoisePredictor & { calls: number } {
  return {
    calls: 0,
    config: { resolution: RES, inChannels: 3 },
    predict(x) {
      this.calls++;
      return tf.tidy(() => tf.broadcastTo(x0, x.shape) as tf.Tensor4D);
    },
  };
}

Deno.test("inpaint() keeps the known pixels exactly and changes the unknown ones", async () => {
  await setBackend(FAST_BACKEND);
  const unet = createUNetFromConfig({ ...presets.tiny.unet, resolution: RES }, { seed: 2 });
  const image = picture(2, 1);
  const mask = leftHalf();
  const before = tf.memory().numTensors;
  const out = await inpaint({
    unet,
    scheduler: new DDPMScheduler({ numTrainTimesteps: 50 }),
    image,
    mask,
    numInferenceSteps: 10,
    resampleSteps: 2,
    seed: 4,
  });
  assert.deepEqual(out.shape, image.shape);
  const got = out.dataSync(), want = image.dataSync();
  let unknownChanged = 0, unknown = 0;
  for (let i = 0; i < got.length; i++) {
    const x = Math.floor(i / 3) % RES;
    if (x < RES / 2) assert.equal(got[i], want[i], `known value ${i} changed`);
    else {
      unknown++;
      if (Math.abs(got[i] - want[i]) > 1e-3) unknownChanged++;
    }
  }
  assert.ok(unknownChanged > 0.9 * unknown, `${unknownChanged} of ${unknown} unknown changed`);
  out.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([image, mask]);
  unet.dispose();
});

Deno.test("inpaint() with a model that knows the image restores the hidden pixels", async () => {
  await setBackend("cpu");
  const truth = picture(1, 7);
  const model = truthModel(truth);
  // The unknown region of the input is blanked; only the model can bring it back.
  const mask = tf.tidy(() => leftHalf().reshape([1, RES, RES, 1]));
  const image = tf.tidy(() => truth.mul(mask) as tf.Tensor4D);
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 20, predictionType: "sample" });
  const known: number[] = [];
  const out = await inpaint({
    unet: model,
    scheduler,
    image,
    mask,
    resampleSteps: 3,
    onStep: ({ sample, t }) => {
      // x_{t-1}'s known pixels are the image diffused to t - 1: their standardised residual
      // is standard normal.
      if (t === 0) return;
      const ab = scheduler.alphasCumprod[t - 1];
      const r = tf.tidy(() =>
        sample.sub(image.mul(Math.sqrt(ab))).div(Math.sqrt(1 - ab)).mul(mask).dataSync()
      );
      r.forEach((v, i) => (Math.floor(i / 3) % RES < RES / 2) && known.push(v));
    },
  });
  assertClose(out.dataSync(), truth.dataSync(), { atol: 1e-5 });
  // 20 steps, each taken 3 times but the last.
  assert.equal(model.calls, 20 * 3 - 2);
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  const variance = known.reduce((a, b) => a + (b - mean) ** 2, 0) / known.length;
  assertNear(mean, 0, 0.05, "residual mean");
  assertNear(variance, 1, 0.1, "residual variance");
  tf.dispose([truth, mask, image, out]);
});

Deno.test("inpaint() rejects a mask that does not fit the images", async () => {
  await setBackend("cpu");
  const image = picture(1, 1);
  const model = truthModel(image);
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 5 });
  const bad = tf.ones([RES, RES + 1]);
  await assert.rejects(inpaint({ unet: model, scheduler, image, mask: bad }), TypeError);
  await assert.rejects(
    inpaint({ unet: model, scheduler, image, mask: leftHalf(), resampleSteps: 0 }),
    RangeError,
  );
  tf.dispose([image, bad]);
});
