/**
 * A diffusers model on the Hugging Face hub, by id, as a folder in the shared cache.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { HubError } from "../hub/hub_error.ts";
import { hubDownload } from "../hub/hub_download.ts";
import type { HubOptions } from "../hub/hub_settings.ts";
import { parseHubId } from "../hub/repo_id.ts";

/**
 * Downloads what {@linkcode loadPretrained} reads of a diffusers model on the hub, and returns
 * the snapshot folder in the cache. `model_index.json` decides: a pipeline reads
 * `unet/config.json` (else `config.json` at the root, as Google's DDPM repositories have it),
 * a model repository `config.json`; then `diffusion_pytorch_model.safetensors` beside it (else
 * `.bin`) and the scheduler's config (`scheduler/scheduler_config.json` in a pipeline, else
 * `scheduler_config.json`, else none). All files come from the commit the first one resolved to.
 *
 * @param id `owner/name` or `owner/name@revision`.
 * @param options The hub settings; unset ones come from `HF_ENDPOINT`, `HF_HUB_CACHE`,
 *   `HF_TOKEN`, `HF_HUB_OFFLINE` and the rest of huggingface_hub's variables.
 * @returns `<cache>/models--owner--name/snapshots/<commit>`.
 * @throws {HubError} when a file cannot be had (see {@linkcode hubDownload}), or the repository
 *   has no UNet config or weights.
 *
 * @example A file missing from the cache offline names the file and HF_HUB_OFFLINE
 * ```ts
 * import { downloadPretrained } from "@x/ddpm/diffusers";
 * const cacheDir = await Deno.makeTempDir();
 * const err = await downloadPretrained("google/ddpm-cifar10-32", { cacheDir, offline: true })
 *   .catch((e) => e);
 * if (!/config\.json .*HF_HUB_OFFLINE|HF_HUB_OFFLINE.*config\.json/.test(err.message)) throw err;
 * await Deno.remove(cacheDir, { recursive: true });
 * ```
 */
export async function downloadPretrained(id: string, options: HubOptions = {}): Promise<string> {
  const ref = parseHubId(id);
  if (!ref) throw new InputError(`"${id}" is not a hub id: expected owner/name[@revision]`);
  let revision = ref.revision;
  let snapshot: string | undefined;
  let lastMissing: HubError | undefined;
  /** Fetches a file; false when the repository (or, offline, the cache) does not have it. */
  const fetchFile = async (filename: string): Promise<boolean> => {
    try {
      const file = await hubDownload(ref.repoId, filename, { ...options, revision });
      // The rest comes from the same commit, even if the branch moves meanwhile.
      revision = file.commit;
      snapshot = file.snapshot;
      return true;
    } catch (err) {
      const missing = err instanceof HubError &&
        (err.kind === "entry-not-found" || err.kind === "offline");
      if (!missing) throw err;
      if (err.commit) revision = err.commit;
      lastMissing = err;
      return false;
    }
  };
  /** Fetches the first of `names` the repository has; the error names them all. */
  const fetchFirst = async (names: string[], what: string): Promise<void> => {
    for (const name of names) if (await fetchFile(name)) return;
    const all = names.join(" or ");
    if (lastMissing?.kind === "offline") {
      throw new HubError("offline", lastMissing.message.replace(names.at(-1)!, all));
    }
    throw new HubError("entry-not-found", `${id} has no ${all}: ${what}`, { cause: lastMissing });
  };

  const pipeline = await fetchFile("model_index.json");
  const unetDir = pipeline && (await fetchFile("unet/config.json")) ? "unet/" : "";
  if (!unetDir) {
    await fetchFirst(
      ["config.json"],
      "not a diffusers UNet2DModel repository (or pipeline with unet/)",
    );
  }
  await fetchFirst(
    [`${unetDir}diffusion_pytorch_model.safetensors`, `${unetDir}diffusion_pytorch_model.bin`],
    "the UNet's weights are missing",
  );
  if (!(pipeline && (await fetchFile("scheduler/scheduler_config.json")))) {
    await fetchFile("scheduler_config.json");
  }
  return snapshot!;
}
