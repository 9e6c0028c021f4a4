// Small deterministic image sets for tests: smooth blobs and stripes, not noise, so that a
// model can learn them quickly.
import * as tf from "@tensorflow/tfjs";
import type { TrainingData } from "../src/train/mod.ts";

/** `n` RGB images of `res` x `res` pixels as uint8 HWC, each a coloured disc on a gradient. */
export function makeImages(n: number, res: number): Uint8Array {
  const out = new Uint8Array(n * res * res * 3);
  for (let k = 0; k < n; k++) {
    const cx = res * (0.3 + 0.4 * ((k * 7) % 5) / 4), cy = res * (0.3 + 0.4 * ((k * 3) % 4) / 3);
    const r = res * (0.2 + 0.1 * (k % 3));
    const color = [(k * 80) % 256, (k * 150 + 60) % 256, (k * 40 + 200) % 256];
    for (let y = 0; y < res; y++) {
      for (let x = 0; x < res; x++) {
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
        for (let c = 0; c < 3; c++) {
          const bg = Math.round((255 * (x + y)) / (2 * res)) ^ (c * 40);
          out[((k * res + y) * res + x) * 3 + c] = inside ? color[c] : bg & 255;
        }
      }
    }
  }
  return out;
}

/** An in-memory TrainingData over {@linkcode makeImages}. */
export function makeData(n: number, res: number, images = makeImages(n, res)): TrainingData {
  return {
    size: n,
    resolution: res,
    getBatch(indices: number[], opts: { flip?: boolean[] } = {}): tf.Tensor4D {
      return tf.tidy(() => {
        const all = tf.tensor4d(images, [n, res, res, 3], "int32");
        const batch = tf.gather(all, indices).toFloat().div(127.5).sub(1) as tf.Tensor4D;
        if (!opts.flip?.some((f) => f)) return batch;
        const flipped = tf.reverse(batch, 2);
        const mask = tf.tensor4d(opts.flip.map((f) => (f ? 1 : 0)), [indices.length, 1, 1, 1]);
        return tf.add(tf.mul(flipped, mask), tf.mul(batch, tf.sub(1, mask))) as tf.Tensor4D;
      });
    },
  };
}
