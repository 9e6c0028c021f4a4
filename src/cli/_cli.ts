// Shared plumbing of the command-line entry points: one-line errors and exit codes.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { BACKEND_NAMES, type BackendName } from "../backend.ts";

/** An error caused by the user's input (a flag, a path, a file): one line, exit code 2. */
export class CliError extends Error {
  /** The process exit code. */
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses flags strictly, turning node:util's errors into one-line CliErrors. */
export function parseFlags<T extends Options>(
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true }>>["values"] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional.*$/s, "");
    throw new CliError(`${msg}. Run with --help to see every flag.`);
  }
}

/** Parses a flag value as an integer in [min, max], or throws a CliError naming the flag. */
export function intFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 1,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new CliError(`--${name} must be an integer >= ${min}: got "${value}"`);
  }
  return n;
}

/** Parses a flag value as a finite number >= min, or throws a CliError naming the flag. */
export function numberFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 0,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    throw new CliError(`--${name} must be a number >= ${min}: got "${value}"`);
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

/** Parses `--backend`, shared by every command. */
export function backendFlag(value: string | undefined): BackendName {
  return choiceFlag("backend", value, BACKEND_NAMES, "auto");
}

/**
 * Runs a CLI's main function: user errors print one line and exit 2; anything else prints its
 * message (and the stack trace when DDPM_DEBUG is set) and exits 1.
 */
export async function runCli(main: () => Promise<number | void>): Promise<never> {
  let code = 0;
  try {
    code = (await main()) ?? 0;
  } catch (err) {
    const debug = Deno.env.get("DDPM_DEBUG");
    if (debug) console.error(err);
    if (err instanceof CliError) {
      console.error(`error: ${err.message}`);
      code = err.exitCode;
    } else if (isInputError(err)) {
      console.error(`error: ${(err as Error).message}`);
      code = 2;
    } else {
      console.error(`error: ${(err as Error)?.message ?? err}`);
      if (!debug) console.error("(set DDPM_DEBUG=1 to see the stack trace)");
      code = 1;
    }
  }
  Deno.exit(code);
}

function isInputError(err: unknown): boolean {
  return err instanceof RangeError || err instanceof TypeError ||
    err instanceof Deno.errors.NotFound ||
    (err instanceof Error &&
      /^(DatasetError|CheckpointError|FormatError|OneDnnUnavailableError)$/.test(err.name));
}
