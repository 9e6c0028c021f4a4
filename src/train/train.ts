/**
 * The training loop of the paper (Algorithm 1): draw images, a timestep and noise, regress the
 * noise, take an Adam step; with warmup, clipping, an EMA of the weights, checkpoints, metrics
 * and sample grids in a run folder.
 *
 * @module
 */
import { _withRunLock } from "../runs/_run_lock.ts";
import { saveLossPlot } from "../runs/loss_plot.ts";
import { _resume } from "./_resume.ts";
import { _sampleGridDue, _writeSampleGrid } from "./_sample_grid.ts";
import {
  _createTrainState,
  _disposeTrainState,
  _loadTrainingData,
  _resolveMicroBatch,
} from "./_setup.ts";
import { _StepLog } from "./_step_log.ts";
import { _takeStep } from "./_take_step.ts";
import { _checkpointDue, _writeCheckpoint } from "./_write_checkpoint.ts";
import type { TrainOptions, TrainResult } from "./train_options.ts";
import { _DataParallel, _resolveRunConfigOnRanks } from "./_data_parallel.ts";

/**
 * Trains a UNet with the paper's recipe, writing a resumable run folder.
 *
 * @param opts What to train on, where to write, and overrides.
 * @returns The final step, loss and checkpoint.
 *
 * @example Two steps of a tiny model on a few random images
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { presets, setBackend, train } from "@x/ddpm";
 * await setBackend("wasm");
 * const images = new Uint8Array(4 * 8 * 8 * 3).map((_, i) => (i * 37) % 256);
 * const data = {
 *   size: 4,
 *   resolution: 8,
 *   images,
 *   getBatch: (idx: number[]) =>
 *     tf.tidy(() => tf.tensor4d(images, [4, 8, 8, 3]).gather(idx).div(127.5).sub(1)) as tf.Tensor4D,
 * };
 * const outDir = await Deno.makeTempDir();
 * const preset = { ...presets.tiny, unet: { ...presets.tiny.unet, resolution: 8 } };
 * const result = await train({
 *   outDir, preset, data, train: { steps: 2, batchSize: 2, sampleEvery: 0 },
 * });
 * if (result.step !== 2) throw new Error(String(result.step));
 * await Deno.remove(outDir, { recursive: true });
 * ```
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  // Rank 0 alone reads and writes the run folder, so it alone holds the folder's lock.
  if ((opts.collective?.rank ?? 0) !== 0) return await trainLocked(opts);
  return await _withRunLock(opts.outDir, () => trainLocked(opts));
}

async function trainLocked(opts: TrainOptions): Promise<TrainResult> {
  const { outDir, signal } = opts;
  // config.json is written only once the data has loaded, so a refused start changes nothing.
  // Data-parallel: rank 0 alone reads and writes the run folder and sends its state to all.
  const dp = opts.collective && new _DataParallel(opts.collective, signal);
  const writes = dp?.writes ?? true;
  const { run, save: saveRunConfig } = await _resolveRunConfigOnRanks(opts, dp);
  const data = await _loadTrainingData(opts.data, run);
  await saveRunConfig();
  const cfg = run.train;
  const state = _createTrainState(run);
  let log: _StepLog | undefined;
  try {
    const micro = await _resolveMicroBatch(state, run, saveRunConfig, dp?.share(cfg.batchSize));
    const resume = () => _resume(state, outDir, opts.resume ?? false);
    let { step, checkpoint } = dp ? await dp.resume(resume, state) : await resume();
    log = await _StepLog.open(outDir, step, opts.maxBadSteps ?? 5, { write: writes });
    while (step < cfg.steps) {
      const metrics = await _takeStep(state, data, run, step, micro, dp);
      step = metrics.step;
      await log.record(metrics, checkpoint, cfg.learningRate);
      opts.onStep?.(metrics);

      // Ranks stop together, after the step whose gradient sum carried a rank's stop flag.
      const interrupted = dp ? dp.stopReason !== undefined : signal?.aborted ?? false;
      if (_checkpointDue(step, cfg) || interrupted) {
        if (dp) await dp.checkInSync([state.weights, state.ema], step);
        if (writes) {
          checkpoint = await _writeCheckpoint(outDir, step, state, run);
          await saveLossPlot(`${outDir}/loss.png`, log.losses);
        }
      }
      if (writes && _sampleGridDue(step, cfg)) {
        await _writeSampleGrid(outDir, step, run, state.ema);
      }
      if (interrupted) {
        const stopReason = dp ? dp.stopReason : signal?.reason;
        return { step, loss: log.lastLoss, status: "interrupted", checkpoint, outDir, stopReason };
      }
      // Let signal handlers and timers run between steps.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (!checkpoint && writes) checkpoint = await _writeCheckpoint(outDir, step, state, run);
    return { step, loss: log.lastLoss, status: "done", checkpoint, outDir };
  } finally {
    log?.close();
    _disposeTrainState(state);
  }
}
