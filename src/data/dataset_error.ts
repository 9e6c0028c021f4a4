/**
 * The error a dataset loader throws when a source holds no usable images.
 *
 * @module
 */
import { InputError } from "../errors.ts";

/**
 * Thrown when a dataset source is missing, empty or in an unknown format. The message names
 * the source and what to pass instead; command-line tools print it as a one-line error.
 *
 * @example
 * ```ts
 * import { DatasetError } from "@x/ddpm";
 * const err = new DatasetError("no images in ./data");
 * if (err.name !== "DatasetError" || !(err instanceof Error)) throw new Error(err.name);
 * ```
 */
export class DatasetError extends InputError {
  /**
   * Makes the error.
   *
   * @param message What is wrong with the source, and the fix.
   * @param options The underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatasetError";
  }
}
