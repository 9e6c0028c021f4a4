/**
 * The loss and gradients of one batch, computed in micro-batches whose gradients are summed,
 * so that a batch larger than the backend's memory gives the same update as in one pass.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "../random.ts";
import type { StepInputs, TrainState } from "./train_state.ts";

/**
 * Splits `batchSize` images into micro-batches of at most `microBatchSize`, as even as possible:
 * ceil(batch / micro) passes of near-equal size.
 *
 * @param batchSize Images in the batch.
 * @param microBatchSize Most images per pass; at least the batch means one pass.
 * @returns `[start, size]` of each pass, in order.
 *
 * @example
 * ```ts
 * import { microBatches } from "./batch_gradients.ts";
 * const parts = microBatches(10, 4);
 * if (JSON.stringify(parts) !== "[[0,4],[4,3],[7,3]]") throw new Error(JSON.stringify(parts));
 * ```
 */
export function microBatches(batchSize: number, microBatchSize: number): [number, number][] {
  if (!Number.isInteger(microBatchSize) || microBatchSize < 1) {
    throw new RangeError(
      `Cannot split a batch as microBatchSize must be an integer >= 1: current value is ${microBatchSize}`,
    );
  }
  const passes = Math.ceil(batchSize / microBatchSize);
  const parts: [number, number][] = [];
  for (let i = 0, start = 0; i < passes; i++) {
    const size = Math.floor(batchSize / passes) + (i < batchSize % passes ? 1 : 0);
    parts.push([start, size]);
    start += size;
  }
  return parts;
}

/**
 * L_simple of the batch and its gradient with respect to every weight, by micro-batches.
 *
 * The noise is drawn for the whole batch from `noiseSeed` and sliced, and the timesteps are
 * given per image, so both are the same whatever the micro-batch size; each pass's mean loss is
 * weighted by its share of the batch, so the sum is the batch mean. Dropout masks are drawn per
 * pass (the first from `dropoutSeed` itself, so one pass matches an unsplit step).
 *
 * @param state The model and its weights (not updated).
 * @param inputs The batch and its draws; `microBatchSize` (default: the batch) caps each pass.
 * @returns The batch's mean loss (a scalar tensor: nothing is read back to the host) and the
 * gradients by weight name; the caller disposes all of them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createUNet, DDPMScheduler, presets, setBackend } from "@x/ddpm";
 * import { batchGradients } from "./batch_gradients.ts";
 * await setBackend("cpu");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 * const weights = unet.getWeights();
 * const state = { unet, weights, scheduler: new DDPMScheduler() };
 * const x0 = tf.zeros([3, 8, 8, 3]) as tf.Tensor4D;
 * const inputs = { x0, t: Int32Array.of(1, 500, 999), noiseSeed: 1, dropoutSeed: 2 };
 * const { loss, grads } = batchGradients(state, { ...inputs, microBatchSize: 2 });
 * const [l] = await loss.data();
 * if (!(l > 0.5 && l < 2) || Object.keys(grads).length !== weights.size) throw new Error();
 * tf.dispose([loss, ...Object.values(grads)]);
 * ```
 */
export function batchGradients(
  state: Pick<TrainState, "unet" | "weights" | "scheduler">,
  inputs: Pick<
    StepInputs,
    "x0" | "t" | "noiseSeed" | "dropoutSeed" | "microBatchSize" | "batchShare"
  >,
): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const { unet, weights, scheduler } = state;
  const { x0 } = inputs;
  const local = x0.shape[0];
  // Data-parallel ranks hold a slice of a larger batch: its noise, loss weights and dropout
  // seeds are those of the same images in one process's step.
  const offset = inputs.batchShare?.offset ?? 0;
  const batch = inputs.batchShare?.total ?? local;
  const noise = tf.tidy(() => {
    const all = tf.randomNormal([batch, ...x0.shape.slice(1)], 0, 1, "float32", inputs.noiseSeed);
    return (local === batch ? all : all.slice([offset, 0, 0, 0], [local, -1, -1, -1]));
  }) as tf.Tensor4D;
  const vars = [...weights.values()];
  let loss: tf.Scalar | undefined;
  let sum: Record<string, tf.Tensor> = {};
  try {
    const parts = microBatches(local, inputs.microBatchSize ?? local);
    for (const [start, size] of parts) {
      const { value, grads } = tf.tidy(() => {
        const slice = <T extends tf.Tensor4D>(a: T) =>
          size === local ? a : a.slice([start, 0, 0, 0], [size, -1, -1, -1]) as T;
        const x0i = slice(x0);
        const noisei = slice(noise);
        const t = tf.tensor1d(inputs.t.subarray(start, start + size), "int32");
        const xt = scheduler.addNoise(x0i, noisei, t);
        // L_simple regresses the noise; x_0 and v are the other parameterisations.
        const predictionType = scheduler.config.predictionType;
        const target = predictionType === "epsilon"
          ? noisei
          : predictionType === "sample"
          ? x0i
          : scheduler.getVelocity(x0i, noisei, t);
        const at = offset + start;
        const seed = at === 0 ? inputs.dropoutSeed : deriveSeed(inputs.dropoutSeed, at);
        return tf.variableGrads(
          () =>
            tf.mul(
              tf.mean(tf.squaredDifference(
                unet.predict(xt, t, { training: true, seed }),
                target,
              )),
              size / batch,
            ) as tf.Scalar,
          vars,
        );
      });
      // Summed on the device: the host reads the loss once per step, with the gradient norm.
      const total: tf.Scalar = loss ? tf.add(loss, value) : value;
      if (loss) tf.dispose([loss, value]);
      loss = total;
      // variableGrads keys gradients by tf.Variable.name; the weights map by diffusers name.
      const next: Record<string, tf.Tensor> = {};
      for (const [name, w] of weights) {
        const g = grads[w.name];
        if (!g) continue;
        next[name] = sum[name] ? tf.add(sum[name], g) : g;
        if (sum[name]) g.dispose();
      }
      tf.dispose(Object.values(sum));
      sum = next;
    }
    return { loss: loss!, grads: sum };
  } catch (err) {
    tf.dispose([...(loss ? [loss] : []), ...Object.values(sum)]);
    throw err;
  } finally {
    noise.dispose();
  }
}
