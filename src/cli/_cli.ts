// Shared plumbing of the command-line entry points: flag values, one-line errors and exit codes.
import { BACKEND_NAMES, type BackendName } from "../backends/set_backend.ts";
import { type Precision, PRECISIONS } from "../backends/onednn/precision.ts";
import { InputError } from "../errors.ts";
import { _escapeControls } from "../_terminal_text.ts";
import { getPreset, type Preset, presets } from "../presets/presets.ts";

/** An error caused by the user's input (a flag, a path, a file): one line, exit code 2. */
export class CliError extends InputError {
  /** The process exit code. */
  readonly exitCode: number;
  constructor(message: string, exitCode = 2, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

type Value = string | undefined;

/** Parses a flag value as an integer >= min, or throws a CliError naming the flag. */
export function intFlag(name: string, value: Value, fallback: number, min = 1): number {
  return parseNumber(name, value, fallback, { min, integer: true });
}

/** Parses a flag value as a finite number >= min, or throws a CliError naming the flag. */
export function numberFlag(name: string, value: Value, fallback: number, min = 0): number {
  return parseNumber(name, value, fallback, { min, integer: false });
}

/**
 * The largest seed: every generator of the library takes 32 bits of it, so a larger seed would
 * draw the images of a smaller one (2^32 those of 0), and a run recorded with it could not be
 * sampled or resumed.
 */
export const MAX_SEED = 2 ** 32 - 1;

/** Parses `--seed`: an integer in [0, {@linkcode MAX_SEED}]. */
export function seedFlag(value: Value, fallback: number): number {
  const seed = intFlag("seed", value, fallback, 0);
  if (seed > MAX_SEED) {
    throw new CliError(`--seed must be an integer in [0, ${MAX_SEED}] (32 bits): got "${value}"`);
  }
  return seed;
}

/**
 * Parses `--eta`, DDIM's noise scale, in [0, 1]: 0 is deterministic, 1 the DDPM posterior's
 * noise; above 1 the noise outgrows the step's variance and the images blow up.
 */
export function etaFlag(value: Value): number {
  const eta = numberFlag("eta", value, 0);
  if (eta > 1) throw new CliError(`--eta must be a number in [0, 1]: got "${value}"`);
  return eta;
}

function parseNumber(
  name: string,
  value: Value,
  fallback: number,
  opts: { min: number; integer: boolean },
): number {
  if (value === undefined) return fallback;
  // Number("") and Number(" ") are 0: an empty value must not pass as zero.
  const n = value.trim() === "" ? NaN : Number(value);
  if (!(opts.integer ? Number.isInteger(n) : Number.isFinite(n)) || n < opts.min) {
    const kind = opts.integer ? "an integer" : "a number";
    throw new CliError(`--${name} must be ${kind} >= ${opts.min}: got "${value}"`);
  }
  return n;
}

/** Parses a flag value that must be one of `choices`. */
export function choiceFlag<C extends string>(
  name: string,
  value: string | undefined,
  choices: readonly C[],
  fallback: C,
): C {
  if (value === undefined) return fallback;
  if (!choices.includes(value as C)) {
    throw new CliError(`--${name} must be one of ${choices.join(", ")}: got "${value}"`);
  }
  return value as C;
}

/** Parses `--preset`: the preset of that name, or a CliError listing the names. */
export function presetFlag(value: string): Preset {
  if (!Object.hasOwn(presets, value)) {
    throw new CliError(
      `--preset must be one of ${Object.keys(presets).join(", ")}: got "${value}"`,
    );
  }
  return getPreset(value);
}

/** Parses `--backend`, shared by every command. */
export function backendFlag(value: string | undefined): BackendName {
  return choiceFlag("backend", value, BACKEND_NAMES, "auto");
}

/** Parses `--precision`: fp32 (default) or bf16. */
export function precisionFlag(value: string | undefined): Precision {
  return choiceFlag("precision", value, PRECISIONS, "fp32");
}

/**
 * Runs a CLI's main function: user errors print one line and exit 2; anything else prints its
 * message (and the stack trace when DDPM_DEBUG is set) and exits 1. The whole message is kept,
 * on one line: control characters in it (a file name's newline or terminal escape) are printed
 * escaped.
 */
export async function runCli(main: () => Promise<number | void>): Promise<never> {
  let code = 0;
  try {
    code = (await main()) ?? 0;
  } catch (err) {
    const debug = Deno.env.get("DDPM_DEBUG");
    if (debug) console.error(err);
    if (err instanceof CliError) {
      console.error(`error: ${_escapeControls(err.message)}`);
      code = err.exitCode;
    } else if (isInputError(err)) {
      console.error(`error: ${_escapeControls((err as Error).message)}`);
      code = 2;
    } else {
      console.error(`error: ${_escapeControls(String((err as Error)?.message ?? err))}`);
      if (!debug) console.error("(set DDPM_DEBUG=1 to see the stack trace)");
      code = 1;
    }
  }
  Deno.exit(code);
}

/** The file-system errors that come from a path the user gave or from the machine's state. */
const USER_FS_ERRORS = [
  Deno.errors.NotFound,
  Deno.errors.AlreadyExists,
  Deno.errors.NotADirectory,
  Deno.errors.IsADirectory,
  Deno.errors.PermissionDenied,
  Deno.errors.NotCapable,
];

/**
 * Input errors (exit code 2): the library's InputError classes, and file-system errors on the
 * user's paths (a missing file, `--out` naming a file, a full disk). TypeError and RangeError
 * are not: the library turns those that come from input into InputErrors where it reads the
 * input, so any that reach here are bugs.
 */
function isInputError(err: unknown): boolean {
  if (err instanceof InputError) return true;
  if (USER_FS_ERRORS.some((E) => err instanceof E)) return true;
  // ENOSPC (a full disk), EROFS (--out on a read-only file system), EDQUOT (over quota).
  return err instanceof Error &&
    /\(os error (28|30|122)\)|No space left on device|Read-only file system/.test(err.message);
}
