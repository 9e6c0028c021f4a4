// The step a checkpoint records is read back from a file anyone can edit: it is checked as
// strictly as the --steps flag, because every draw of a resumed run and the rewind of
// metrics.jsonl derive from it.
/** The most steps a run may take (TrainConfig.steps' upper limit). */
const MAX_STEP = 1e12;

/**
 * Parses a checkpoint's `step` metadata: a decimal integer in [0, 1e12].
 *
 * @throws {RangeError} naming the file and the value (the caller makes it a CheckpointError).
 */
export function _checkpointStep(value: string | undefined, path: string): number {
  const step = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || !(step <= MAX_STEP)) {
    throw new RangeError(
      `${path} records step ${
        value === undefined ? "(none)" : JSON.stringify(value)
      }, not an integer in [0, ${MAX_STEP}]: the file was edited or damaged; use an earlier ` +
        "checkpoint of the run.",
    );
  }
  return step;
}
