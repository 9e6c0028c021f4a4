// The FID Inception-v3 on TF.js against a float64 host reference written with PyTorch's
// semantics (tests/_inception_reference.ts), with seeded random weights carrying the exact
// names and shapes of pytorch-fid's file, read through the legacy torch format.
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../src/backends/set_backend.ts";
import { readTorchStateDict } from "../src/formats/torch_pickle.ts";
import type { HostTensor } from "../src/formats/safetensors.ts";
import { InceptionV3 } from "../src/metrics/inception.ts";
import { inceptionWeightsFromStateDict } from "../src/metrics/inception_weights.ts";
import { mulberry32 } from "../src/random.ts";
import { assert, assertClose } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";
import { randomInceptionStateDict } from "./_inception_state_dict.ts";
import { chwFromHwc, referencePool3, resizeBilinear } from "./_inception_reference.ts";
import { torchSaveLegacy } from "./_torch_legacy_writer.ts";

await setBackend(FAST_BACKEND);
const onednnPass = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";

const sd = readTorchStateDict(torchSaveLegacy(randomInceptionStateDict(3)));

/** A 32x32 RGB image with smooth structure and noise, as bytes. */
function testImage(seed: number, h = 32, w = 32): Uint8Array {
  const rand = mulberry32(seed);
  return Uint8Array.from(
    { length: h * w * 3 },
    (_, i) => {
      const x = Math.floor(i / 3) % w, y = Math.floor(i / 3 / w), c = i % 3;
      return Math.round(127 + 90 * Math.sin(x / 4 + c) * Math.cos(y / 5) + 30 * (rand() - 0.5));
    },
  );
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

Deno.test("InceptionV3.features() pool3, pytorch-fid preprocessing, matches the float64 PyTorch-semantics reference within 1e-4", async () => {
  const net = new InceptionV3(inceptionWeightsFromStateDict(sd, "random.pth"));
  const image = testImage(1);
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(Float32Array.from(image), [1, 32, 32, 3]);
  // 107 x 107 keeps every block's spatial structure (Mixed_7c at 2 x 2) at 1/8 of the cost.
  const f = net.features(x, { size: 107 });
  const got = await f.pool.data();
  tf.dispose([x, f.pool, f.logitsUnbiased]);
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  const chw = chwFromHwc(image, 32, 32);
  chw.data.forEach((v, i) => (chw.data[i] = v / 255));
  const input = resizeBilinear(chw, 107);
  input.data.forEach((v, i) => (input.data[i] = 2 * v - 1));
  const want = referencePool3(input, sd);
  assert.ok(maxAbs(want) > 0.1, "the random network's features are not all zero");
  assertClose(got, want, { rtol: 0, atol: 1e-4 * maxAbs(want) });
  net.dispose();
});

Deno.test("InceptionV3.features() logits without bias, torch-fidelity preprocessing, match the reference within 1e-4", async () => {
  const net = new InceptionV3(inceptionWeightsFromStateDict(sd, "random.pth"));
  const image = testImage(2, 40, 24);
  const x = tf.tensor4d(Float32Array.from(image), [1, 40, 24, 3]);
  const f = net.features(x, { size: 75, preprocess: "torch-fidelity" });
  const got = await f.logitsUnbiased.data();
  tf.dispose([x, f.pool, f.logitsUnbiased]);
  const input = resizeBilinear(chwFromHwc(image, 40, 24), 75, true);
  input.data.forEach((v, i) => (input.data[i] = (v - 128) / 128));
  const pool = referencePool3(input, sd);
  const fc = sd.get("fc.weight")!.data;
  const want = Array.from({ length: 1008 }, (_, o) => {
    let s = 0;
    for (let i = 0; i < 2048; i++) s += pool[i] * fc[o * 2048 + i];
    return s;
  });
  assertClose(got, want, { rtol: 0, atol: 1e-4 * maxAbs(want) });
  net.dispose();
});

Deno.test("tf.image.resizeBilinear matches F.interpolate(align_corners=False) and TF 1.x's resize, up and down", async () => {
  for (const [h, w] of [[32, 32], [45, 37], [400, 330]]) {
    const image = testImage(h, h, w);
    const x = tf.tensor4d(Float32Array.from(image), [1, h, w, 3]);
    for (const tf1 of [false, true]) {
      const y = tf.image.resizeBilinear(x, [299, 299], false, !tf1);
      const got = await tf.transpose(y, [0, 3, 1, 2]).data();
      const want = resizeBilinear(chwFromHwc(image, h, w), 299, tf1).data;
      assertClose(got, want, {
        rtol: 0,
        atol: 2e-3,
        msg: `${h}x${w} ${tf1 ? "tf1" : "half-pixel"}`,
      });
      y.dispose();
    }
    x.dispose();
  }
});

Deno.test({
  name:
    "InceptionV3.features() at 299: [N, 2048] and [N, 1008], finite, each image independent of its batch",
  // One pass is enough: 6 GFLOP per image.
  ignore: onednnPass,
  async fn() {
    const net = new InceptionV3(inceptionWeightsFromStateDict(sd, "random.pth"));
    const a = testImage(5), b = testImage(6);
    const both = tf.tensor4d(Float32Array.from([...a, ...b]), [2, 32, 32, 3]);
    const one = tf.tensor4d(Float32Array.from(b), [1, 32, 32, 3]);
    const f2 = net.features(both);
    const f1 = net.features(one);
    assert.deepEqual(f2.pool.shape, [2, 2048]);
    assert.deepEqual(f2.logitsUnbiased.shape, [2, 1008]);
    const pool2 = await f2.pool.data();
    assert.ok(pool2.every(Number.isFinite));
    assertClose(await f1.pool.data(), pool2.subarray(2048), { rtol: 1e-5, atol: 1e-5 });
    tf.dispose([both, one, f2.pool, f2.logitsUnbiased, f1.pool, f1.logitsUnbiased]);
    net.dispose();
  },
});

Deno.test({
  name:
    "inceptionWeightsFromStateDict() lists missing, unexpected and mis-shaped tensors, and bad values",
  ignore: onednnPass,
  fn() {
    const broken = new Map<string, HostTensor>(sd);
    broken.delete("Mixed_5b.branch1x1.conv.weight");
    broken.set("AuxLogits.fc.weight", { dtype: "F32", shape: [1], data: new Float32Array(1) });
    broken.set("fc.bias", { dtype: "F32", shape: [1000], data: new Float32Array(1000) });
    assert.throws(
      () => inceptionWeightsFromStateDict(broken, "x.pth"),
      (err: Error) => {
        assert.equal(err.name, "FormatError");
        for (
          const part of [
            "x.pth is not the FID Inception weights file",
            "1 missing: Mixed_5b.branch1x1.conv.weight",
            "1 unexpected: AuxLogits.fc.weight",
            "fc.bias is [1000], expected [1008]",
          ]
        ) assert.ok(err.message.includes(part), `${err.message} lacks ${part}`);
        return true;
      },
    );
    const negative = new Map(sd);
    const v = sd.get("Conv2d_2a_3x3.bn.running_var")!;
    negative.set("Conv2d_2a_3x3.bn.running_var", {
      ...v,
      data: v.data.map((x, i) => (i === 3 ? -1 : x)),
    });
    assert.throws(() => inceptionWeightsFromStateDict(negative, "x.pth"), /running_var\[3\] is -1/);
    const nan = new Map(sd);
    const g = sd.get("fc.weight")!;
    nan.set("fc.weight", { ...g, data: g.data.map((x, i) => (i === 5 ? NaN : x)) });
    assert.throws(
      () => inceptionWeightsFromStateDict(nan, "x.pth"),
      /fc.weight holds NaN at index 5/,
    );
  },
});
