// `deno task export`: a training run's EMA weights as a diffusers model folder, optionally in
// float16 (half the bytes), for `UNet2DModel.from_pretrained`, `--pretrained` and the demo.
import { _showName } from "../_terminal_text.ts";
import { setBackend } from "../backends/set_backend.ts";
import { DDPMScheduler } from "../diffusion/ddpm_scheduler.ts";
import { saveDiffusers } from "../diffusers/save_diffusers.ts";
import { loadRun } from "../runs/load_run.ts";
import { choiceFlag, CliError, runCli } from "./_cli.ts";
import { flag, parseCommand } from "./_flags.ts";
import { formatBytes } from "./_progress.ts";

const DTYPES = ["float16", "float32"] as const;
const WEIGHTS_FILE = "diffusion_pytorch_model.safetensors";

const COMMAND = {
  usage: "ddpm export --checkpoint RUN --out DIR [flags]",
  intro: `Writes a training run's EMA weights and its scheduler as a diffusers model folder
(config.json, ${WEIGHTS_FILE}, scheduler_config.json, model_index.json):
UNet2DModel.from_pretrained(DIR), --pretrained DIR and the demo read it.`,
  noBackend: true,
  flags: {
    checkpoint: flag(
      "PATH",
      "run folder written by `deno task train` (its newest checkpoint), or one\n" +
        "checkpoint file in its checkpoints/ folder (required)",
      "Model:",
    ),
    out: flag(
      "DIR",
      "the diffusers folder, created if missing; files of the same names in it\nare replaced (required)",
      "Output:",
    ),
    dtype: flag(
      "NAME",
      "float32 (exact) or float16 (half the bytes, relative error <= 2^-11 per\nweight) (default float32)",
    ),
  },
};

/** Runs `ddpm export` with the arguments after its name; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseCommand(COMMAND, args);
  if (!flags) return 0;
  if (!flags.checkpoint) {
    throw new CliError("Pass --checkpoint RUN: the run folder written by `deno task train`");
  }
  if (!flags.out) throw new CliError("Pass --out DIR: the folder to write the diffusers model to");
  const dtype = choiceFlag("dtype", flags.dtype, DTYPES, "float32");
  const out = flags.out;
  await _checkOut(out);
  // Nothing here is heavy: the weights are only read back, so the plain JS backend does.
  await setBackend("cpu");

  const run = await loadRun(flags.checkpoint);
  try {
    await saveDiffusers(run.unet, new DDPMScheduler(run.config.scheduler), out, { dtype });
    const { size } = await Deno.stat(`${out}/${WEIGHTS_FILE}`);
    console.log(
      `wrote ${_showName(out)} (${run.unet.numParams().toLocaleString("en-US")} parameters, ` +
        `${dtype} ${formatBytes(size)}, EMA weights of step ${run.step})`,
    );
  } finally {
    run.unet.dispose();
  }
  return 0;
}

/**
 * `--out` must be a folder or not exist yet. `saveDiffusers` replaces `config.json`: in a run
 * folder (or any folder whose `config.json` is not a diffusers model's) that would destroy
 * something the user keeps, so such a folder is refused before anything is written.
 */
async function _checkOut(out: string): Promise<void> {
  try {
    if (!(await Deno.stat(out)).isDirectory) {
      throw new CliError(`--out ${_showName(out)} is a file: give a folder`);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  let text: string;
  try {
    text = await Deno.readTextFile(`${out}/config.json`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if ((json as { _class_name?: unknown } | undefined)?._class_name !== "UNet2DModel") {
    throw new CliError(
      `--out ${_showName(out)} holds a config.json that is not a diffusers UNet2DModel's ` +
        "(a training run's?); it would be replaced: choose another folder",
    );
  }
}

if (import.meta.main) runCli(() => main(Deno.args));
