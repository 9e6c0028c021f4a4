/**
 * The `ddpm` command line: `ddpm <train|sample|eval|interpolate|inpaint|demo|fid|export> [flags]`.
 * `ddpm --help` lists the commands, `ddpm COMMAND --help` a command's flags. Install it from JSR
 * with the permissions it needs (the README's Permissions section says which and why):
 *
 * ```sh
 * deno install -g -n ddpm -R -W -E --allow-sys=cpus,systemMemoryInfo jsr:@x/ddpm/cli
 * ddpm train --data ./images --out runs/mine
 * ddpm sample --checkpoint runs/mine --out samples.png
 * ```
 *
 * From a program, {@linkcode ddpm} runs a command line and returns its exit code.
 *
 * @example Print the list of commands
 * ```ts
 * import { ddpm } from "@x/ddpm/cli";
 * const code = await ddpm(["--help"]);
 * if (code !== 0) throw new Error(`exit code ${code}`);
 * ```
 *
 * @module
 */
import { CliError, runCli } from "./_cli.ts";
import { COMMANDS } from "./_commands.ts";

/**
 * The top-level help: usage, then each command with its one-line summary.
 *
 * @returns The text `ddpm --help` prints.
 *
 * @example
 * ```ts
 * import { ddpmHelp } from "@x/ddpm/cli";
 * if (!ddpmHelp().includes("  sample ")) throw new Error(ddpmHelp());
 * ```
 */
export function ddpmHelp(): string {
  const names = Object.keys(COMMANDS);
  const column = Math.max(...names.map((n) => n.length)) + 4;
  return [
    `Usage: ddpm <${names.join("|")}> [flags]`,
    "",
    "Denoising diffusion probabilistic models (Ho et al. 2020) on TensorFlow.js.",
    "",
    "Commands:",
    ...names.map((n) => `  ${n.padEnd(column)}${COMMANDS[n].summary}`),
    "",
    "Run `ddpm COMMAND --help` for a command's flags.",
  ].join("\n") + "\n";
}

/**
 * Runs one `ddpm` command line: `args[0]` names the command, the rest are its flags. With no
 * command or `--help`, prints the list of commands.
 *
 * @param args The arguments after `ddpm`, e.g. `["sample", "--n", "4"]`.
 * @returns The exit code: 0 on success (and for `--help`).
 * @throws {CliError} For an unknown command (exit code 2), and whatever the command throws.
 *
 * @example A command's own help
 * ```ts
 * import { ddpm } from "@x/ddpm/cli";
 * if (await ddpm(["interpolate", "--help"]) !== 0) throw new Error();
 * ```
 */
export async function ddpm(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--help" || name === "-h" || name === "help") {
    if (name === "help" && rest[0] !== undefined) return await ddpm([rest[0], "--help"]);
    console.log(ddpmHelp());
    return 0;
  }
  if (name === undefined) {
    console.error(ddpmHelp());
    return 2;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    throw new CliError(
      `unknown command ${JSON.stringify(name)}: the commands are ${
        Object.keys(COMMANDS).join(", ")
      } (ddpm --help)`,
    );
  }
  const { main } = await COMMANDS[name].load();
  return await main(rest);
}

if (import.meta.main) runCli(() => ddpm(Deno.args));
