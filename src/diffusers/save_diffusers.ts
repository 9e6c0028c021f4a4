/**
 * Exporting a UNet and its scheduler as a diffusers model folder.
 *
 * @module
 */
import { unetConfigToDiffusers } from "./diffusers_config.ts";
import { toDiffusersLayout } from "./diffusers_layout.ts";
import type { UNet } from "../nn/unet.ts";
import type { NoiseScheduler } from "../diffusion/noise_scheduler.ts";
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { type Float32TensorData, writeSafetensors } from "../formats/safetensors.ts";

/**
 * Writes `unet` and `scheduler` as a diffusers folder: `config.json` and
 * `diffusion_pytorch_model.safetensors` (PyTorch layout: conv OIHW, Linear `[out, in]`), which
 * `UNet2DModel.from_pretrained(dir)` loads, `scheduler_config.json` for
 * `DDPMScheduler.from_pretrained(dir)`, and a `model_index.json` naming both, the layout of
 * `google/ddpm-cifar10-32`. Each file is written to a temporary name and renamed into place.
 * {@linkcode loadPretrained} reads the folder back. Needs `--allow-write`.
 *
 * @param unet The model.
 * @param scheduler Its scheduler (DDPM or DDIM).
 * @param dir The folder; created if missing, existing files of these names replaced.
 * @returns Nothing, once every file is in place.
 *
 * @example
 * ```ts
 * import { createUNet, DDPMScheduler, loadPretrained, presets, saveDiffusers, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * // Writing needs --allow-write; without it this example checks nothing.
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const dir = await Deno.makeTempDir();
 *   const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 *   await saveDiffusers(unet, new DDPMScheduler({ varianceType: "fixed_large" }), dir);
 *   const loaded = await loadPretrained(dir);
 *   if (loaded.scheduler.config.varianceType !== "fixed_large") throw new Error("lost config");
 *   if (loaded.unet.numParams() !== unet.numParams()) throw new Error("lost weights");
 *   unet.dispose();
 *   loaded.unet.dispose();
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function saveDiffusers(
  unet: UNet,
  scheduler: NoiseScheduler,
  dir: string,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const tensors = new Map<string, Float32TensorData>();
  for (const [name, variable] of unet.getWeights()) {
    tensors.set(name, await toDiffusersLayout(name, variable));
  }
  const json = (x: unknown) => JSON.stringify(x, null, 2) + "\n";
  // diffusers writes this key, and transformers' loaders refuse files without it.
  const metadata = { format: "pt" };
  await _writeFileAtomic(
    `${dir}/diffusion_pytorch_model.safetensors`,
    writeSafetensors(tensors, metadata),
  );
  await _writeFileAtomic(`${dir}/config.json`, json(unetConfigToDiffusers(unet.config)));
  await _writeFileAtomic(`${dir}/scheduler_config.json`, json(scheduler.toConfig()));
  await _writeFileAtomic(
    `${dir}/model_index.json`,
    json({
      _class_name: "DDPMPipeline",
      scheduler: ["diffusers", scheduler.className],
      unet: ["diffusers", "UNet2DModel"],
    }),
  );
}
