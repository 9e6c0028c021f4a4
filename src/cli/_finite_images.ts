// Non-finite output is an error, not a picture: a NaN pixel encodes as black, so an
// overflowing model would otherwise write an all-black PNG and exit 0.
import type * as tf from "@tensorflow/tfjs";

/** Sampling gave NaN or an infinity: a bug or an overflowing model, never an image. */
export class NonFiniteOutputError extends Error {
  /** Makes the error. */
  constructor(message: string) {
    super(message);
    this.name = "NonFiniteOutputError";
  }
}

/**
 * Throws a {@linkcode NonFiniteOutputError} when `images` holds a value that is not finite,
 * saying how many and where they came from (`what`, e.g. "the samples of pretrained X").
 */
export async function assertFiniteImages(images: tf.Tensor, what: string): Promise<void> {
  const data = await images.data();
  let bad = 0, first = -1;
  for (let i = 0; i < data.length; i++) {
    if (data[i] - data[i] !== 0) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad === 0) return;
  const perImage = data.length / images.shape[0];
  throw new NonFiniteOutputError(
    `${what}: ${bad} of ${data.length} values are ${data[first]} or another non-finite ` +
      `number (first in image ${Math.floor(first / perImage)}), so no image was written. The ` +
      "model's output overflowed float32: its weights are damaged or far out of range.",
  );
}
