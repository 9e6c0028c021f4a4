// DDPM_WASM_THREADS is a user's input like a flag: "abc", 0, -1 and 1.5 are refused in one
// line instead of silently running on the default, and a count over the most threads the
// build starts is lowered to it, saying so.
import { InputError } from "../../errors.ts";

/**
 * Parses DDPM_WASM_THREADS: undefined when unset, else an integer in [1, `max`] (larger ones
 * are lowered to `max` with `note` saying so).
 *
 * @throws {InputError} for a value that is not an integer >= 1.
 */
export function _wasmThreadsFromEnv(
  text: string | undefined,
  max: number,
): { threads?: number; note?: string } {
  if (text === undefined) return {};
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1)) {
    throw new InputError(
      `DDPM_WASM_THREADS must be an integer from 1 to ${max}: got ${JSON.stringify(text)}`,
    );
  }
  if (n > max) {
    return { threads: max, note: `DDPM_WASM_THREADS=${text.trim()} is over ${max}; using ${max}` };
  }
  return { threads: n };
}
