/**
 * The library's input errors: what a command-line tool reports as a one-line `error:` with
 * exit code 2. Anything else that escapes is a bug (exit code 1). Every class keeps the
 * underlying error as `cause` instead of rewriting its message.
 *
 * @module
 */

/**
 * Bad input from the user: a flag, a file, a config value out of range, a resource over a
 * documented cap. The message names the problem and the fix.
 *
 * @example
 * ```ts
 * import { InputError } from "@x/ddpm";
 * const err = new InputError("--steps must be >= 0: got -1");
 * if (!(err instanceof Error) || err.name !== "InputError") throw new Error(err.name);
 * ```
 */
export class InputError extends Error {
  /**
   * Makes the error.
   *
   * @param message What is wrong, and the fix.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InputError";
  }
}

/**
 * A file that is not what it claims to be: corrupt, truncated, of another format, unsafe (a
 * pickle asking for code), or holding a config whose values are out of range.
 *
 * @example
 * ```ts
 * import { FormatError, InputError } from "@x/ddpm";
 * const err = new FormatError("model.bin: not a ZIP archive", { cause: new RangeError("x") });
 * if (!(err instanceof InputError) || !(err.cause instanceof RangeError)) throw new Error();
 * ```
 */
export class FormatError extends InputError {
  /**
   * Makes the error.
   *
   * @param message The file, what is wrong with it, and the fix.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FormatError";
  }
}

/**
 * An input that asks for more than a documented cap allows (pixels per image, bytes per ZIP
 * entry, channels, blocks, timesteps), refused before anything is allocated for it.
 *
 * @example
 * ```ts
 * import { InputError, LimitError } from "@x/ddpm";
 * const err = new LimitError("a.png is 8000 x 8000 pixels, over the cap of 16777216");
 * if (!(err instanceof InputError) || err.name !== "LimitError") throw new Error(err.name);
 * ```
 */
export class LimitError extends InputError {
  /**
   * Makes the error.
   *
   * @param message The input, its size, the cap, and the fix.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LimitError";
  }
}

/**
 * Wraps a TypeError or RangeError thrown while validating a file's contents as a
 * {@linkcode FormatError} that names the file, keeping the original as `cause`. Other errors
 * (input errors already, bugs) are returned unchanged.
 *
 * @param err What was thrown.
 * @param file The file being read, prefixed to the message.
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { FormatError } from "@x/ddpm";
 * import { asFormatError } from "./errors.ts";
 * const e = asFormatError(new RangeError("ch must be <= 1024"), "config.json");
 * if (!(e instanceof FormatError) || e.message !== "config.json: ch must be <= 1024") {
 *   throw new Error(String(e));
 * }
 * ```
 */
export function asFormatError(err: unknown, file: string): unknown {
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) {
    return new FormatError(`${file}: ${err.message}`, { cause: err });
  }
  return err;
}
