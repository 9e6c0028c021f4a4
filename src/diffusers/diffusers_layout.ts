/**
 * The one place where weights change layout between TF.js and PyTorch (diffusers):
 * conv kernels HWIO <-> OIHW, dense kernels `[in, out]` <-> torch Linear `[out, in]`.
 * Pure functions, for the checkpoint loaders and savers.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A weight in diffusers (PyTorch) layout: row-major data and its shape. */
export interface DiffusersTensor {
  /** PyTorch shape: conv `[out, in, kh, kw]`, Linear `[out, in]`, vectors `[n]`. */
  shape: number[];
  /** Row-major float32 values. */
  data: Float32Array;
}

const ATTENTION_PROJECTION = /\.(to_q|to_k|to_v|to_out\.0)\.weight$/;

const LEGACY_ATTENTION_NAMES: [RegExp, string][] = [
  [/\.attentions\.(\d+)\.query\./, ".attentions.$1.to_q."],
  [/\.attentions\.(\d+)\.key\./, ".attentions.$1.to_k."],
  [/\.attentions\.(\d+)\.value\./, ".attentions.$1.to_v."],
  [/\.attentions\.(\d+)\.proj_attn\./, ".attentions.$1.to_out.0."],
];

/**
 * Maps a state-dict key of an older diffusers checkpoint to the current scheme used by
 * `UNet.getWeights()`: attention `query`, `key`, `value`, `proj_attn` become `to_q`, `to_k`,
 * `to_v`, `to_out.0`. Other keys are returned unchanged.
 *
 * @param key A diffusers `UNet2DModel` state-dict key.
 * @returns The key in the current naming.
 *
 * @example
 * ```ts
 * import { setBackend } from "@x/ddpm";
 * import { normalizeDiffusersKey } from "@x/ddpm/diffusers";
 * await setBackend("cpu");
 * const k = normalizeDiffusersKey("mid_block.attentions.0.proj_attn.weight");
 * if (k !== "mid_block.attentions.0.to_out.0.weight") throw new Error(k);
 * ```
 */
export function normalizeDiffusersKey(key: string): string {
  for (const [from, to] of LEGACY_ATTENTION_NAMES) {
    if (from.test(key)) return key.replace(from, to);
  }
  return key;
}

/**
 * Converts a TF.js-layout weight to diffusers layout: rank-4 HWIO kernels to OIHW, rank-2
 * `[in, out]` kernels to `[out, in]`, vectors unchanged. Reads the tensor back asynchronously,
 * so it works on GPU backends, which cannot read synchronously.
 *
 * @param name The weight's diffusers key (used in error messages).
 * @param tensor The weight in TF.js layout.
 * @returns Shape and data in PyTorch layout.
 * @throws {TypeError} for a tensor of rank other than 1, 2 or 4.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { toDiffusersLayout } from "@x/ddpm/diffusers";
 * await setBackend("cpu");
 * const t = await toDiffusersLayout("time_embedding.linear_1.weight", tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]));
 * if (t.shape.join() !== "3,2" || t.data.join() !== "1,4,2,5,3,6") throw new Error();
 * ```
 */
export async function toDiffusersLayout(
  name: string,
  tensor: tf.Tensor,
): Promise<DiffusersTensor> {
  if (tensor.rank !== 1 && tensor.rank !== 2 && tensor.rank !== 4) {
    throw new TypeError(
      `Cannot convert "${name}" of rank ${tensor.rank}: expected rank 1, 2 or 4`,
    );
  }
  const data = await tensor.data() as Float32Array;
  const s = tensor.shape as number[];
  if (tensor.rank === 1) return { shape: [...s], data: Float32Array.from(data) };
  if (tensor.rank === 2) return { shape: [s[1], s[0]], data: transpose2d(data, s[0], s[1]) };
  const [kh, kw, ci, co] = s;
  const out = new Float32Array(data.length);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) {
          out[((o * ci + i) * kh + a) * kw + b] = data[((a * kw + b) * ci + i) * co + o];
        }
      }
    }
  }
  return { shape: [co, ci, kh, kw], data: out };
}

/**
 * Converts a diffusers-layout weight to a TF.js tensor: OIHW conv kernels to HWIO, Linear
 * `[out, in]` to `[in, out]`, vectors unchanged. Attention projections (`to_q`, `to_k`,
 * `to_v`, `to_out.0`, after {@linkcode normalizeDiffusersKey}) are accepted both as Linear
 * `[out, in]` and as old 1x1-conv `[out, in, 1, 1]` weights and always become `[in, out]`.
 *
 * @param name The diffusers key (decides the attention-projection case).
 * @param shape The PyTorch shape.
 * @param data Row-major values.
 * @returns A new tensor in TF.js layout; the caller disposes it.
 *
 * @example
 * ```ts
 * import { setBackend } from "@x/ddpm";
 * import { fromDiffusersLayout } from "@x/ddpm/diffusers";
 * await setBackend("cpu");
 * const w = fromDiffusersLayout("mid_block.attentions.0.to_q.weight", [2, 2, 1, 1], new Float32Array([1, 2, 3, 4]));
 * if (w.shape.join() !== "2,2" || (await w.data()).join() !== "1,3,2,4") throw new Error();
 * ```
 */
export function fromDiffusersLayout(
  name: string,
  shape: number[],
  data: Float32Array,
): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new TypeError(
      `Cannot convert "${name}": shape [${shape}] has ${size} values but data has ${data.length}`,
    );
  }
  const key = normalizeDiffusersKey(name);
  if (shape.length === 1) return tf.tensor1d(Float32Array.from(data));
  if (shape.length === 4 && ATTENTION_PROJECTION.test(key)) {
    if (shape[2] !== 1 || shape[3] !== 1) {
      throw new TypeError(
        `Cannot convert "${name}": an attention projection must be [out, in] or ` +
          `[out, in, 1, 1], got [${shape}]`,
      );
    }
    return tf.tensor2d(transpose2d(data, shape[0], shape[1]), [shape[1], shape[0]]);
  }
  if (shape.length === 2) {
    return tf.tensor2d(transpose2d(data, shape[0], shape[1]), [shape[1], shape[0]]);
  }
  if (shape.length === 4) {
    const [co, ci, kh, kw] = shape;
    const out = new Float32Array(size);
    for (let o = 0; o < co; o++) {
      for (let i = 0; i < ci; i++) {
        for (let a = 0; a < kh; a++) {
          for (let b = 0; b < kw; b++) {
            out[((a * kw + b) * ci + i) * co + o] = data[((o * ci + i) * kh + a) * kw + b];
          }
        }
      }
    }
    return tf.tensor4d(out, [kh, kw, ci, co]);
  }
  throw new TypeError(`Cannot convert "${name}" of shape [${shape}]: expected rank 1, 2 or 4`);
}

function transpose2d(data: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return out;
}
