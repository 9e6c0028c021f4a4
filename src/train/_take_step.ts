// One step of the loop: this step's draws from (seed, step), the learning rate and EMA decay of
// the schedule, the update, and its metrics.
import { batchIndices } from "../data/dataset.ts";
import { explainOutOfMemory } from "../memory/out_of_memory.ts";
import { deriveSeed, mulberry32 } from "../random.ts";
import type { RunConfig } from "../runs/run_config.ts";
import { emaDecayAt, learningRateAt } from "./schedule.ts";
import type { _MicroBatch } from "./_setup.ts";
import type { StepMetrics, TrainingData } from "./train_options.ts";
import type { TrainState } from "./train_state.ts";
import { trainStep } from "./train_step.ts";
import type { _DataParallel } from "./_data_parallel.ts";

/** Takes step `step + 1` and returns its metrics; a step whose loss is not finite is marked skipped. */
export async function _takeStep(
  state: TrainState,
  data: TrainingData,
  run: RunConfig,
  step: number,
  micro: _MicroBatch,
  dp?: _DataParallel,
): Promise<StepMetrics> {
  const started = performance.now();
  const { seed, train: cfg } = run;
  // Draws of this step depend only on (seed, step), so a resumed run repeats them.
  const indices = batchIndices(data.size, cfg.batchSize, seed, step);
  const rand = mulberry32(deriveSeed(seed, step, 1));
  const flip = indices.map(() => cfg.randomFlip && rand() < 0.5);
  const T = state.scheduler.config.numTrainTimesteps;
  const t = Int32Array.from(indices, () => Math.floor(rand() * T));
  const lr = learningRateAt(step, cfg);

  // A data-parallel rank takes its slice of the same draws; the gradients are summed over ranks.
  const share = dp?.share(cfg.batchSize);
  const mine = <T extends { slice(a: number, b: number): T }>(a: T) =>
    share ? a.slice(share.offset, share.offset + share.size) : a;
  const x0 = data.getBatch(mine(indices), { flip: mine(flip) });
  let result: { loss: number; gradNorm: number };
  try {
    result = await trainStep(state, {
      x0,
      t: mine(t),
      batchShare: share,
      reduceGradients: dp && ((l, g) => dp.sumGradients(l, g)),
      noiseSeed: deriveSeed(seed, step, 2),
      dropoutSeed: deriveSeed(seed, step, 3),
      learningRate: lr,
      step: step + 1,
      microBatchSize: micro.microBatchSize,
    }, { ...cfg, emaDecay: emaDecayAt(step + 1, cfg) });
  } catch (err) {
    throw explainOutOfMemory(err, {
      what: `The training step (passes of ${micro.microBatchSize} images)`,
      neededBytes: micro.passBytes,
      flag: "--micro-batch",
      value: micro.microBatchSize,
    });
  } finally {
    x0.dispose();
  }
  const { loss, gradNorm } = result;
  const metrics: StepMetrics = {
    step: step + 1,
    loss,
    lr,
    gradNorm,
    imagesPerSec: cfg.batchSize / ((performance.now() - started) / 1000),
  };
  if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) metrics.skipped = true;
  return metrics;
}
