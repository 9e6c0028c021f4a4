/**
 * The emoji model that ships inside the package: a diffusers folder in `models/emoji/`, trained
 * by this project on the 212 emoji faces, hearts and hands (see the model card in that folder).
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { loadPretrained, type PretrainedModel } from "./pretrained.ts";

/** Where the shipped emoji model's diffusers folder lies, next to this module. */
export const EMOJI_MODEL_URL: URL = new URL("../../models/emoji/", import.meta.url);

/** The files of the folder that `loadPretrained` reads. */
const MODEL_FILES = [
  "config.json",
  "diffusion_pytorch_model.safetensors",
  "scheduler_config.json",
  "model_index.json",
];

/**
 * Loads the emoji model shipped in the package (`models/emoji/`, 32x32, float16 weights widened
 * to float32). From a checkout it is read from disk (`--allow-read`); from a registry it is
 * fetched next to the module (`--allow-net` for that host, `--allow-write` for a temporary
 * folder). Sample it with the preset `emoji`'s settings: DPM-Solver++, 20 steps.
 *
 * @returns The UNet (EMA weights) and its scheduler.
 * @throws {InputError} when the files cannot be fetched.
 *
 * @example
 * ```ts
 * import { loadEmojiModel, presets, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const { unet } = await loadEmojiModel();
 * if (unet.config.ch !== presets.emoji.unet.ch) throw new Error("not the emoji preset's UNet");
 * unet.dispose();
 * ```
 */
export async function loadEmojiModel(): Promise<PretrainedModel> {
  return await _loadModelFromUrl(EMOJI_MODEL_URL);
}

/**
 * Loads a flat diffusers folder from a `file:` URL, or from an `http(s):` one by fetching its
 * files into a temporary folder (removed afterwards), since `loadPretrained` reads folders.
 */
export async function _loadModelFromUrl(folder: URL): Promise<PretrainedModel> {
  if (folder.protocol === "file:") {
    return await loadPretrained(decodeURIComponent(folder.pathname));
  }
  const dir = await Deno.makeTempDir({ prefix: "ddpm-model-" });
  try {
    for (const name of MODEL_FILES) {
      const url = new URL(name, folder);
      const res = await fetch(url).catch((err) => {
        throw new InputError(
          `Cannot fetch the model's ${name} from ${url.href}: ${err.message}; allow the ` +
            "network for that host (--allow-net), or run from a checkout of the repository",
        );
      });
      if (!res.ok) {
        await res.body?.cancel();
        throw new InputError(
          `Cannot fetch the model's ${name} from ${url.href}: HTTP ${res.status}`,
        );
      }
      await Deno.writeFile(`${dir}/${name}`, new Uint8Array(await res.arrayBuffer()));
    }
    return await loadPretrained(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
