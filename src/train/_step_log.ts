// The run's record of its steps: metrics.jsonl (rewound to the resumed step), the finite losses
// for the loss plot, and the stop when too many steps in a row are not finite.
import { _rewindMetrics } from "../runs/_metrics_log.ts";
import type { StepMetrics } from "./train_options.ts";
import { TrainingDivergedError } from "./training_diverged_error.ts";

/** Appends each step's metrics to `<outDir>/metrics.jsonl` and watches for divergence. */
export class _StepLog {
  /** The finite losses so far, for the loss plot. */
  readonly losses: { step: number; loss: number }[];
  /** The loss of the last finite step, NaN before one. */
  lastLoss = NaN;
  #badInRow = 0;
  #encoder = new TextEncoder();

  private constructor(
    private readonly file: Deno.FsFile | undefined,
    losses: { step: number; loss: number }[],
    private readonly maxBadSteps: number,
  ) {
    this.losses = losses;
  }

  /** Opens the log of a run that continues from `step`: later lines (and torn ones) are dropped. */
  static async open(
    outDir: string,
    step: number,
    maxBadSteps: number,
    opts: { write?: boolean } = {},
  ): Promise<_StepLog> {
    // A data-parallel rank other than 0 counts bad steps as rank 0 does but writes nothing.
    if (opts.write === false) return new _StepLog(undefined, [], maxBadSteps);
    const path = `${outDir}/metrics.jsonl`;
    const logged = await _rewindMetrics(path, step);
    const losses = logged.filter((m) => !m.skipped).map((m) => ({ step: m.step, loss: m.loss }));
    const file = await Deno.open(path, { append: true, create: true });
    return new _StepLog(file, losses, maxBadSteps);
  }

  /**
   * Writes one step's line. Throws {@linkcode TrainingDivergedError} after `maxBadSteps`
   * skipped steps in a row, naming the last good checkpoint and the learning rate to lower.
   */
  async record(m: StepMetrics, lastCheckpoint: string, learningRate: number): Promise<void> {
    if (m.skipped) {
      this.#badInRow++;
      console.error(
        `ddpm: step ${m.step}: loss ${m.loss}, gradient norm ${m.gradNorm}; update skipped`,
      );
    } else {
      this.#badInRow = 0;
      this.lastLoss = m.loss;
      this.losses.push({ step: m.step, loss: m.loss });
    }
    await this.file?.write(this.#encoder.encode(JSON.stringify(m) + "\n"));
    if (this.#badInRow >= this.maxBadSteps) {
      throw new TrainingDivergedError(
        `Training stopped: ${this.#badInRow} steps in a row had a non-finite loss. The last ` +
          `good checkpoint is ${lastCheckpoint || "none"}; lower the learning rate ` +
          `(now ${learningRate}) or check the data, then --resume.`,
      );
    }
  }

  /** Closes the file. */
  close(): void {
    this.file?.close();
  }
}
