// The UNet's dropout: its mask's statistics, scale, seeding and gradient.
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../mod.ts";
import { _dropout } from "../src/nn/_dropout.ts";
import { assert } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

Deno.test("dropout keeps 1 - rate of the elements, scaled by 1 / (1 - rate), per seed", async () => {
  await setBackend(FAST_BACKEND);
  const n = 200_000, rate = 0.1;
  const x = tf.fill([n], 3);
  const y = _dropout(x, rate, 42).dataSync();
  let kept = 0;
  for (const v of y) {
    if (v !== 0) {
      kept++;
      assert.ok(Math.abs(v - 3 / 0.9) < 1e-6, `a kept element is ${v}, not 3 / 0.9`);
    }
  }
  // Binomial(n, 0.9): standard deviation ~134 elements; allow 5 of them.
  const sd = Math.sqrt(n * rate * (1 - rate));
  assert.ok(Math.abs(kept - n * (1 - rate)) < 5 * sd, `kept ${kept} of ${n}`);
  const again = _dropout(x, rate, 42).dataSync();
  assert.ok(again.every((v, i) => v === y[i]), "same seed, same mask");
  const other = _dropout(x, rate, 43).dataSync();
  let differ = 0;
  for (let i = 0; i < n; i++) if ((other[i] === 0) !== (y[i] === 0)) differ++;
  // Two independent masks disagree on 2 p (1 - p) = 18% of the elements.
  assert.ok(Math.abs(differ / n - 0.18) < 0.01, `masks of two seeds differ on ${differ}`);
  assert.equal(_dropout(x, 0, 42), x, "rate 0 is the identity");
  x.dispose();
});

Deno.test("dropout's gradient is its mask", async () => {
  await setBackend(FAST_BACKEND);
  const x = tf.randomNormal([4, 8, 8, 16], 0, 1, "float32", 1);
  const before = tf.memory().numTensors;
  const mask = tf.tidy(() => _dropout(tf.onesLike(x), 0.3, 7).dataSync());
  const dx = tf.tidy(() => tf.grad((v: tf.Tensor) => _dropout(v, 0.3, 7).sum())(x).dataSync());
  assert.deepEqual(dx, mask);
  assert.equal(tf.memory().numTensors, before, "no tensor leaked");
  x.dispose();
});
