/**
 * Loading diffusers `UNet2DModel` checkpoints, such as Google's published DDPM models
 * (`google/ddpm-cifar10-32`, `google/ddpm-celebahq-256`, ...), into this library's UNet.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { unetConfigFromDiffusers } from "./diffusers_config.ts";
import { fromDiffusersLayout, normalizeDiffusersKey } from "./diffusers_layout.ts";
import { type UNet, UNetModel } from "../nn/unet.ts";
import { unetWeightSpecs } from "../nn/unet_weight_specs.ts";
import type { UNetConfig } from "../nn/unet_config.ts";
import { DDPMScheduler } from "../diffusion/ddpm_scheduler.ts";
import {
  dpmSolverConfigFromJson,
  schedulerConfigFromDpmSolver,
} from "../diffusion/dpm_solver_config.ts";
import { asFormatError, FormatError, InputError } from "../errors.ts";
import { type HostTensor, MAX_STATE_DICT_BYTES, readSafetensors } from "../formats/safetensors.ts";
import { readTorchStateDict } from "../formats/torch_pickle.ts";
import type { HubOptions } from "../hub/hub_settings.ts";
import { parseHubId } from "../hub/repo_id.ts";
import { downloadPretrained } from "./download_pretrained.ts";
import { _readFileOr } from "../io/_read_file.ts";
import { _showName } from "../_terminal_text.ts";

/** What {@linkcode loadPretrained} returns. */
export interface PretrainedModel {
  /** The UNet with the checkpoint's weights. */
  unet: UNet;
  /** The scheduler of `scheduler_config.json`, or the paper's defaults when there is none. */
  scheduler: DDPMScheduler;
  /** The UNet's diffusers `config.json`, as read. */
  config: Record<string, unknown>;
}

const WEIGHT_FILES = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"];

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Python's `json` writes infinities and NaN as bare `Infinity`, `-Infinity`, `NaN` (diffusers'
 * DPM-Solver configs hold `"lambda_min_clipped": -Infinity`), which JSON.parse refuses: outside
 * strings they become null, which the config readers take as "the default".
 */
function _pythonFloatsToNull(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (m) => m.startsWith('"') ? m : "null");
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  // A config is a few KB; 16 MiB leaves room for a trained_betas list of any length.
  const text = new TextDecoder().decode(await _readFileOr(path, (err) => err, 16 * 2 ** 20));
  let json: unknown;
  try {
    json = JSON.parse(_pythonFloatsToNull(text));
  } catch (err) {
    throw new FormatError(
      `Cannot load ${_showName(path)}: not valid JSON (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new FormatError(`Cannot load ${_showName(path)}: expected a JSON object`);
  }
  return json as Record<string, unknown>;
}

/** The first of `names` that exists in `dir`, or undefined. */
async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const name of names) {
    if (await exists(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

async function readStateDict(path: string): Promise<Map<string, HostTensor>> {
  const bytes = await _readFileOr(path, (err) => err, MAX_STATE_DICT_BYTES);
  // A clone without `git lfs pull` leaves ~130-byte text pointers where the weights should be.
  const head = new TextDecoder().decode(bytes.subarray(0, 64));
  if (head.startsWith("version https://git-lfs")) {
    throw new FormatError(
      `Cannot load ${path}: it is a Git LFS pointer, not the weights; run \`git lfs pull\` in ` +
        "the repository, or download it with `huggingface-cli download`",
    );
  }
  try {
    return path.endsWith(".safetensors")
      ? readSafetensors(bytes).tensors
      : readTorchStateDict(bytes);
  } catch (err) {
    throw err instanceof FormatError
      ? new FormatError(`${path}: ${err.message}`, { cause: err })
      : asFormatError(err, path);
  }
}

function listProblems(label: string, items: string[]): string {
  if (items.length === 0) return "";
  const shown = items.slice(0, 30).join(", ");
  return `; ${label} (${items.length}): ${shown}${items.length > 30 ? ", ..." : ""}`;
}

/**
 * Builds the UNet of `config` from a diffusers state dict, converting every weight to TF.js
 * layout. All problems are collected first and reported together; nothing is skipped. The
 * state dict is emptied as it goes, so that host and device copies of a large model do not
 * coexist for long.
 */
function buildUNet(
  config: UNetConfig,
  stateDict: Map<string, HostTensor>,
  source: string,
): UNet {
  const specs = new Map(unetWeightSpecs(config).map((s) => [s.name, s.shape]));
  const byName = new Map<string, string>(); // normalised name -> key in the file
  const unexpected: string[] = [];
  const misShaped: string[] = [];
  for (const key of stateDict.keys()) {
    const name = normalizeDiffusersKey(key);
    if (byName.has(name)) misShaped.push(`${key} (duplicates ${byName.get(name)})`);
    else if (!specs.has(name)) unexpected.push(key);
    else byName.set(name, key);
  }
  const missing = [...specs.keys()].filter((name) => !byName.has(name));
  const variables = new Map<string, tf.Variable>();
  for (const [name, want] of specs) {
    const key = byName.get(name);
    if (key === undefined) continue;
    const t = stateDict.get(key)!;
    stateDict.delete(key);
    let value: tf.Tensor | undefined;
    try {
      value = fromDiffusersLayout(name, t.shape, t.data);
    } catch {
      // Reported below with the expected shape.
    }
    if (!value || value.shape.join() !== want.join()) {
      misShaped.push(`${key} (shape [${t.shape}] does not fit [${want}] in TF.js layout)`);
    } else if (missing.length === 0 && unexpected.length === 0 && misShaped.length === 0) {
      // The variable shares the tensor's memory; disposing the tensor keeps it alive.
      variables.set(name, tf.variable(value));
    }
    value?.dispose();
  }
  if (missing.length || unexpected.length || misShaped.length) {
    tf.dispose([...variables.values()]);
    throw new TypeError(
      `Cannot load ${source}: its weights do not match the UNet its config describes` +
        listProblems("missing", missing) + listProblems("unexpected", unexpected) +
        listProblems("mis-shaped", misShaped),
    );
  }
  return new UNetModel(config, variables);
}

/**
 * Loads a diffusers model for sampling: a model folder (`config.json`,
 * `diffusion_pytorch_model.safetensors` or `.bin`, optional `scheduler_config.json`) or a
 * pipeline folder (`model_index.json` with `unet/` and `scheduler/` subfolders, or with the
 * files at its root, as `google/ddpm-cifar10-32` has them). The UNet config is checked
 * against what this library can build; both attention naming schemes (`to_q`/`to_k`/`to_v`/
 * `to_out.0`, and the older `query`/`key`/`value`/`proj_attn`, as Linear or 1x1-conv weights)
 * load. Needs `--allow-read`.
 *
 * `source` may also be a Hugging Face hub id, `owner/name` or `owner/name@revision` (a branch,
 * tag or commit): the files are downloaded into huggingface_hub's cache, shared with Python (see
 * {@linkcode downloadPretrained}), which needs `--allow-net`, `--allow-write` and `--allow-env`.
 * A path that exists wins over an id: `google/ddpm-cifar10-32` is read as a folder when there is
 * one of that name in the working directory.
 *
 * @param source The folder, or a hub id.
 * @param options For a hub id: the hub settings (endpoint, cache, token, offline, progress);
 *   unset ones come from huggingface_hub's environment variables.
 * @returns The UNet (dispose it when done), the scheduler, and the UNet's config.json.
 * @throws {InputError} naming the folder when it or a file in it is missing.
 * @throws {HubError} for a hub id that cannot be downloaded: no access (`HF_TOKEN`), not found,
 *   unreachable (`HF_ENDPOINT`), offline (`HF_HUB_OFFLINE`) and not in the cache.
 * @throws {FormatError} naming the file when it is malformed, unsafe or out of range (what the
 *   config asks for that this UNet cannot build; missing, unexpected and mis-shaped weights),
 *   with the validator's TypeError or RangeError as `cause`.
 *
 * @example A missing folder is reported with what to do
 * ```ts
 * import { loadPretrained } from "@x/ddpm";
 * const err = await loadPretrained("/nonexistent/ddpm-cifar10-32").catch((e) => e);
 * if (!String(err).includes("does not exist")) throw new Error(String(err));
 * ```
 */
export async function loadPretrained(
  source: string,
  options: HubOptions = {},
): Promise<PretrainedModel> {
  let dir = source.replace(/\/+$/, "") || "/";
  if (!(await exists(dir))) {
    if (!parseHubId(source)) {
      throw new InputError(
        `Cannot load pretrained model: ${dir} does not exist. Give a diffusers folder, or a ` +
          "Hugging Face hub id such as google/ddpm-cifar10-32 (owner/name[@revision])",
      );
    }
    dir = await downloadPretrained(source, options);
  }
  const unetDir = (await exists(`${dir}/unet/config.json`)) ? `${dir}/unet` : dir;
  if (!(await exists(`${unetDir}/config.json`))) {
    throw new InputError(
      `Cannot load pretrained model: no config.json in ${dir} or ${dir}/unet; expected a ` +
        "diffusers UNet2DModel folder or a pipeline folder with a unet/ subfolder",
    );
  }
  const config = await readJson(`${unetDir}/config.json`);
  const isRun = config.format === "ddpm-run-v1" ||
    (!("_class_name" in config) && "train" in config && "unet" in config);
  if (isRun) {
    throw new FormatError(
      `Cannot load pretrained model: ${_showName(`${unetDir}/config.json`)} is a training ` +
        "run's config, not a diffusers model's; load the run with loadRun() (on the command " +
        "line, --checkpoint instead of --pretrained)",
    );
  }
  let unetConfig: UNetConfig;
  try {
    unetConfig = unetConfigFromDiffusers(config);
  } catch (err) {
    throw asFormatError(err, `${unetDir}/config.json`);
  }
  const weightsPath = await firstExisting(unetDir, WEIGHT_FILES);
  if (!weightsPath) {
    throw new InputError(
      `Cannot load pretrained model: ${unetDir} has neither ${WEIGHT_FILES.join(" nor ")}`,
    );
  }

  const schedulerPath = await firstExisting(dir, [
    "scheduler/scheduler_config.json",
    "scheduler_config.json",
  ]);
  let scheduler = new DDPMScheduler();
  if (schedulerPath) {
    try {
      const json = await readJson(schedulerPath);
      // A pipeline saved with DPM-Solver as its scheduler: the model's schedule is in it too.
      scheduler = json._class_name === "DPMSolverMultistepScheduler"
        ? new DDPMScheduler(schedulerConfigFromDpmSolver(dpmSolverConfigFromJson(json)))
        : DDPMScheduler.fromConfig(json);
    } catch (err) {
      throw err instanceof FormatError ? err : asFormatError(err, schedulerPath);
    }
  }

  const stateDict = await readStateDict(weightsPath);
  let unet: UNet;
  try {
    unet = buildUNet(unetConfig, stateDict, weightsPath);
  } catch (err) {
    throw asFormatError(err, weightsPath);
  }
  return { unet, scheduler, config };
}
