// The flags of the five command lines in one table: each flag's parse type and its --help line
// come from the same entry, so the help cannot drift from what is parsed.
import { parseArgs } from "node:util";
import { BACKEND_NAMES } from "../backends/set_backend.ts";
import { presets } from "../presets/presets.ts";
import { CliError } from "./_cli.ts";

/** One flag: how node:util parses it and how --help shows it. */
export interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
  /** The value's placeholder in --help (`N`, `FILE`); none for a boolean flag. */
  arg?: string;
  /** The help text with its default; `\n` continues it on the next line. */
  help: string;
  /** Starts a new block of the help under this title ("": a blank line, no title). */
  heading?: string;
}

/** A command: its usage line, what it does, and its flags in help order (then --backend, --help). */
export interface Command<F extends Record<string, FlagSpec>> {
  usage: string;
  intro: string;
  flags: F;
  /** Text after the flags. */
  outro?: string;
  /** Leave out --backend (a command that computes nothing itself). */
  noBackend?: boolean;
}

/** The parsed values: a string or a boolean per flag given, by the flag's type. */
export type FlagValues<F extends Record<string, FlagSpec>> = {
  [K in keyof F | keyof typeof COMMON_FLAGS]?: K extends "help" ? boolean
    : K extends keyof F ? F[K]["type"] extends "boolean" ? boolean : string
    : string;
};

const stringFlag = (arg: string, help: string, heading?: string): FlagSpec => ({
  type: "string",
  arg,
  help,
  heading,
});

const PRESET_NAMES = Object.keys(presets).join(", ");

/** The model flags of the commands that load one (see `_load_model.ts`). */
export const MODEL_FLAGS = {
  checkpoint: stringFlag(
    "PATH",
    "run folder or checkpoint file written by `deno task train`, e.g.\nruns/tiny (default: the emoji model shipped in models/emoji)",
    "Model (one of):",
  ),
  pretrained: stringFlag(
    "DIR|ID",
    "diffusers model folder (config.json + diffusion_pytorch_model.*), or a\n" +
      "Hugging Face hub id owner/name[@revision], downloaded into the shared cache",
  ),
};

/** The flags every command has, after its own. */
const COMMON_FLAGS = {
  backend: stringFlag("NAME", `${BACKEND_NAMES.join(", ")} (default auto)`),
  help: { type: "boolean", short: "h", help: "show this help" },
} satisfies Record<string, FlagSpec>;

/** A command's flags in order: its own, then the common ones. */
function allFlags(command: Command<Record<string, FlagSpec>>): [string, FlagSpec][] {
  const { backend, help } = COMMON_FLAGS;
  return Object.entries({ ...command.flags, ...(command.noBackend ? {} : { backend }), help });
}

/** The flags several commands share, with the same meaning and help everywhere. */
export const FLAGS = {
  untrainedPreset: stringFlag("NAME", `an untrained model: ${PRESET_NAMES}`),
  trainPreset: stringFlag("NAME", `${PRESET_NAMES} (default tiny)`),
  eta: stringFlag("X", "DDIM noise scale in [0, 1], 0 = deterministic (default 0)"),
  noiseSeed: stringFlag("N", "seed of the noise, 0 to 4294967295 (default 0)"),
  precision: stringFlag(
    "NAME",
    "fp32 or bf16: bf16 is mixed precision on onednn, as PyTorch's autocast\n(default fp32)",
  ),
} satisfies Record<string, FlagSpec>;

/** `--out`: the file written, and its default name. */
export const outFlag = (what: string, fallback: string): FlagSpec =>
  stringFlag("FILE", `${what} (default ${fallback})`, "Output:");

/** `--sampler`, with the command's default, as in "(default ddpm)". */
export const samplerFlag = (defaultText: string): FlagSpec =>
  stringFlag(
    "NAME",
    "ddpm (ancestral, the paper), ddim, dpm (DPM-Solver++, ~20 steps), or\n" +
      `dpm-sde (DPM-Solver++'s stochastic form, ~20 steps)\n${defaultText}`,
  );

/** A flag of one command only. */
export const flag = stringFlag;

/** The --help text of a command, flags in table order. */
export function helpText<F extends Record<string, FlagSpec>>(command: Command<F>): string {
  const label = ([name, spec]: [string, FlagSpec]) =>
    `${spec.short ? `-${spec.short}, ` : ""}--${name}${spec.arg ? ` ${spec.arg}` : ""}`;
  const entries = allFlags(command);
  const column = Math.max(22, ...entries.map((e) => label(e).length + 4));
  const lines = [`Usage: ${command.usage}`, "", command.intro];
  for (const entry of entries) {
    const spec = entry[1];
    if (spec.heading !== undefined) lines.push("", ...(spec.heading ? [spec.heading] : []));
    const [first, ...rest] = spec.help.split("\n");
    lines.push(`  ${label(entry).padEnd(column - 2)}${first}`);
    for (const more of rest) lines.push(`${" ".repeat(column)}${more}`);
  }
  if (command.outro) lines.push("", command.outro);
  return lines.join("\n") + "\n";
}

/**
 * Parses a command's flags strictly, turning node:util's errors into one-line CliErrors.
 * With `--help` it prints the help and returns undefined: the command then exits 0.
 */
export function parseCommand<F extends Record<string, FlagSpec>>(
  command: Command<F>,
  args: string[],
): FlagValues<F> | undefined {
  const options = Object.fromEntries(
    allFlags(command).map((
      [name, s],
    ) => [name, s.short ? { type: s.type, short: s.short } : { type: s.type }]),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false })
      .values as typeof values;
  } catch (err) {
    const msg = (err as Error).message;
    const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(msg);
    if (ambiguous) {
      const flag = ambiguous[1];
      throw new CliError(
        `${flag} needs a value, not another flag; to pass a negative number write ${flag}=-N`,
        2,
        { cause: err },
      );
    }
    const first = msg.replace(/\. To specify a positional.*$/s, "").split("\n")[0];
    throw new CliError(`${first}. Run with --help to see every flag.`, 2, { cause: err });
  }
  if (values.help) {
    console.log(helpText(command));
    return undefined;
  }
  // `--steps=` parses as an empty string; silently using the default would hide the mistake.
  for (const [name, value] of Object.entries(values)) {
    if (value === "") throw new CliError(`--${name} is empty: give it a value or leave it out`);
  }
  return values as FlagValues<F>;
}
