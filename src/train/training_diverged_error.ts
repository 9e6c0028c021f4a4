/**
 * The error that stops a run whose loss keeps coming out non-finite.
 *
 * @module
 */

/**
 * Thrown when too many steps in a row have a non-finite loss.
 *
 * @example
 * ```ts
 * import { TrainingDivergedError } from "@x/ddpm";
 * const err = new TrainingDivergedError("Training stopped");
 * if (err.name !== "TrainingDivergedError") throw new Error(err.name);
 * ```
 */
export class TrainingDivergedError extends Error {
  /**
   * Makes the error.
   *
   * @param message What happened and what to try.
   */
  constructor(message: string) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}
