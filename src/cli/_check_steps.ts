// `--steps` meets the model's scheduler before any sampling: a count over T, or a count that
// the scheduler's stepsOffset pushes past T (read from a run's or a diffusers model's config),
// is the user's input to fix, not a crash half-way into the first step.
import { CliError } from "./_cli.ts";

/** The part of a scheduler this check needs. */
interface StepScheduler {
  config: { numTrainTimesteps: number };
  setTimesteps(n: number): void;
}

/**
 * Throws a one-line CliError unless `scheduler` can take `steps` reverse steps; `model` names
 * where its settings came from.
 */
export function checkSteps(scheduler: StepScheduler, steps: number, model: string): void {
  const T = scheduler.config.numTrainTimesteps;
  if (steps > T) throw new CliError(`--steps must be at most T = ${T}: got ${steps}`);
  try {
    scheduler.setTimesteps(steps);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new CliError(
      `Cannot take ${steps} steps with the scheduler of ${model}: ${err.message}`,
      2,
      { cause: err },
    );
  }
}
