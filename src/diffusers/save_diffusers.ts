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
import { InputError } from "../errors.ts";
import { type Float32TensorData, writeSafetensors } from "../formats/safetensors.ts";

/** How {@linkcode saveDiffusers} stores the weights. */
export interface SaveDiffusersOptions {
  /**
   * `"float32"` (default) keeps the weights exact; `"float16"` rounds each to the nearest IEEE
   * half (relative error at most 2^-11) and halves the file, which keeps the same name:
   * `UNet2DModel.from_pretrained` and {@linkcode loadPretrained} read either and compute in
   * float32 (diffusers in the dtype asked for with `torch_dtype`).
   */
  dtype?: "float16" | "float32";
}

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
 * @param options `dtype: "float16"` halves the weights file (default `"float32"`).
 * @returns Nothing, once every file is in place.
 * @throws {TypeError} for a dtype other than float16 or float32.
 * @throws {InputError} for float16 when a weight's magnitude is 65520 or more (it would round to
 *   infinity), before anything is written.
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
 *
 * @example Half-precision weights, half the file
 * ```ts
 * import { createUNet, DDPMScheduler, loadPretrained, presets, saveDiffusers, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const dir = await Deno.makeTempDir();
 *   const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 *   await saveDiffusers(unet, new DDPMScheduler(), `${dir}/fp32`);
 *   await saveDiffusers(unet, new DDPMScheduler(), `${dir}/fp16`, { dtype: "float16" });
 *   const size = async (d: string) =>
 *     (await Deno.stat(`${dir}/${d}/diffusion_pytorch_model.safetensors`)).size;
 *   if ((await size("fp16")) > 0.51 * (await size("fp32"))) throw new Error("not halved");
 *   const loaded = await loadPretrained(`${dir}/fp16`);
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
  options: SaveDiffusersOptions = {},
): Promise<void> {
  const dtype = options.dtype ?? "float32";
  if (dtype !== "float16" && dtype !== "float32") {
    throw new TypeError(
      `saveDiffusers: dtype ${JSON.stringify(dtype)} is not supported; use "float16" or "float32"`,
    );
  }
  const tensors = new Map<string, Float32TensorData>();
  for (const [name, variable] of unet.getWeights()) {
    const tensor = await toDiffusersLayout(name, variable);
    if (dtype === "float16") _checkFitsHalf(name, tensor.data);
    tensors.set(name, tensor);
  }
  await Deno.mkdir(dir, { recursive: true });
  const json = (x: unknown) => JSON.stringify(x, null, 2) + "\n";
  // diffusers writes this key, and transformers' loaders refuse files without it.
  const metadata = { format: "pt" };
  await _writeFileAtomic(
    `${dir}/diffusion_pytorch_model.safetensors`,
    writeSafetensors(tensors, metadata, { dtype: dtype === "float16" ? "F16" : "F32" }),
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

// 65504, the largest finite half, plus half the spacing of halves there (32 / 2): from there
// on rounding to nearest gives infinity.
const HALF_OVERFLOW = 65520;

function _checkFitsHalf(name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Math.abs(v) >= HALF_OVERFLOW) {
      throw new InputError(
        `Cannot save ${name} as float16: it holds ${v}, beyond float16's largest value 65504 ` +
          "(it would become infinity); save as float32",
      );
    }
  }
}
