/**
 * The precision the onednn backend computes convolutions and matrix products in.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../../errors.ts";
import type { Precision } from "../../kernels/backend_descriptor.ts";
import { _probeBf16, type Bf16Support } from "./_bf16_probe.ts";
import type { _OneDnnBackendLike } from "./_kernel_util.ts";
import { openOneDnn } from "./_lib.ts";
import { ONEDNN_BACKEND, registerOneDnnBackend } from "./backend.ts";

export type { Bf16Support } from "./_bf16_probe.ts";

/**
 * The precisions, default first. `"fp32"`: everything in float32. `"bf16"`: mixed precision as
 * PyTorch's CPU autocast does it: convolutions (forward and both gradients) and matrix products
 * read bfloat16 operands and write float32; weights, optimiser state, normalisation statistics,
 * softmax and the loss stay float32.
 */
export const PRECISIONS: readonly Precision[] = ["fp32", "bf16"];

export type { Precision } from "../../kernels/backend_descriptor.ts";

/** bf16 was asked for where oneDNN has no native bf16 kernels; the message says what to use. */
export class Bf16UnavailableError extends InputError {
  /** @param message Why, and the fix. */
  constructor(message: string) {
    super(message);
    this.name = "Bf16UnavailableError";
  }
}

/**
 * Whether oneDNN has native bf16 convolutions and matrix products on this CPU (AVX512-BF16 or
 * AMX), probed once by building them.
 *
 * @returns `ok` and the implementation names, or why not.
 * @throws {OneDnnUnavailableError} when oneDNN cannot be loaded.
 *
 * @example
 * ```ts ignore
 * import { oneDnnBf16Support } from "@x/ddpm/backends";
 * console.log(oneDnnBf16Support().ok);
 * ```
 */
export function oneDnnBf16Support(): Bf16Support {
  return _probeBf16(openOneDnn());
}

/**
 * Sets the precision of the registered onednn backend's convolutions and matrix products.
 *
 * @param precision `"fp32"` or `"bf16"`.
 * @throws {RangeError} for another name.
 * @throws {Bf16UnavailableError} for `"bf16"` on a CPU without native bf16 kernels.
 *
 * @example
 * ```ts ignore
 * import { registerOneDnnBackend, setOneDnnPrecision } from "@x/ddpm/backends";
 * registerOneDnnBackend();
 * setOneDnnPrecision("bf16");
 * ```
 */
export function setOneDnnPrecision(precision: Precision): void {
  if (!PRECISIONS.includes(precision)) {
    throw new RangeError(
      `Cannot set precision "${precision}": expected one of ${PRECISIONS.join(", ")}`,
    );
  }
  registerOneDnnBackend();
  const b = tf.findBackend(ONEDNN_BACKEND) as _OneDnnBackendLike | null;
  if (!b) throw new Error("internal: the onednn backend did not start");
  if (precision === "bf16") {
    const support = _probeBf16(b.onednn.rt);
    if (!support.ok) {
      throw new Bf16UnavailableError(
        `precision bf16 needs native bf16 kernels (AVX512-BF16 or AMX) in oneDNN, and this ` +
          `CPU has none (${support.detail}): use precision fp32 (--precision fp32)`,
      );
    }
  }
  b.onednn.conv.precision = precision;
  b.onednn.matmul.precision = precision;
}
