/**
 * Loading the FID Inception weights (`pt_inception-2015-12-05-6726825d.pth`) from the user's
 * own copy, checking every name and shape, and folding each BatchNorm into its convolution.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { FormatError, InputError, LimitError } from "../errors.ts";
import { type HostTensor, MAX_STATE_DICT_BYTES } from "../formats/safetensors.ts";
import { _showName } from "../_terminal_text.ts";
import { readTorchStateDict } from "../formats/torch_pickle.ts";
import {
  INCEPTION_BN_EPS,
  INCEPTION_CLASSES,
  INCEPTION_CONVS,
  INCEPTION_POOL_FEATURES,
  inceptionWeightShapes,
} from "./inception_layers.ts";

/** The file name pytorch-fid downloads; its SHA-256 starts with 6726825d. */
export const INCEPTION_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth";

/** Where the file comes from; ddpm never downloads it. */
export const INCEPTION_WEIGHTS_URL =
  "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth";

/** The first hex digits of the real file's SHA-256 (torch hub's naming convention). */
export const INCEPTION_SHA256_PREFIX = "6726825d";

/** A convolution with its BatchNorm folded in: y = relu(conv(x, filter) + bias). */
export interface FoldedConv {
  /** HWIO filter: the file's OIHW weight times gamma / sqrt(running_var + 0.001). */
  filter: tf.Tensor4D;
  /** beta - running_mean * gamma / sqrt(running_var + 0.001), per output channel. */
  bias: tf.Tensor1D;
}

/** The network's weights as TF.js tensors, ready for {@linkcode InceptionV3}. */
export interface InceptionWeights {
  /** Each unit of `INCEPTION_CONVS` by name. */
  convs: Map<string, FoldedConv>;
  /** The head's weight transposed to [2048, 1008], for pool3 @ weight. */
  fcWeight: tf.Tensor2D;
  /** The head's bias [1008]; torch-fidelity's Inception Score leaves it out. */
  fcBias: tf.Tensor1D;
}

function listProblems(what: string, items: string[]): string {
  if (!items.length) return "";
  const shown = items.slice(0, 5).join(", ");
  return `; ${items.length} ${what}: ${shown}${items.length > 5 ? ", ..." : ""}`;
}

/**
 * Builds the weights from a state dict with the names and shapes of the FID Inception file,
 * folding each BatchNorm (eps 0.001) into the convolution before it, in float64 then rounded
 * once to float32.
 *
 * @param sd The state dict, as `readTorchStateDict` returns it.
 * @param source The file's name, for messages.
 * @returns The folded weights, as tensors the caller disposes.
 * @throws {FormatError} Listing the missing, unexpected and mis-shaped tensors together, or
 *   naming a tensor that holds a non-finite value or a negative variance.
 *
 * @example A state dict of another network is refused with what is missing
 * ```ts
 * import { inceptionWeightsFromStateDict } from "./inception_weights.ts";
 * let message = "";
 * try {
 *   inceptionWeightsFromStateDict(new Map(), "empty.pth");
 * } catch (err) {
 *   message = (err as Error).message;
 * }
 * if (!message.includes("566 missing")) throw new Error(message);
 * ```
 */
export function inceptionWeightsFromStateDict(
  sd: Map<string, HostTensor>,
  source: string,
): InceptionWeights {
  const shapes = inceptionWeightShapes();
  const missing = [...shapes.keys()].filter((k) => !sd.has(k));
  const unexpected = [...sd.keys()].filter((k) => !shapes.has(k));
  const misShaped = [...shapes].filter(([k, s]) =>
    sd.has(k) && sd.get(k)!.shape.join() !== s.join()
  )
    .map(([k, s]) => `${k} is [${sd.get(k)!.shape}], expected [${s}]`);
  if (missing.length || unexpected.length || misShaped.length) {
    throw new FormatError(
      `${source} is not the FID Inception weights file (${INCEPTION_WEIGHTS_FILE})` +
        listProblems("missing", missing) + listProblems("unexpected", unexpected) +
        listProblems("mis-shaped", misShaped),
    );
  }
  const get = (name: string): Float32Array => {
    const data = sd.get(name)!.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new FormatError(`${source}: ${name} holds ${data[i]} at index ${i}`);
      }
    }
    return data;
  };
  const convs = new Map<string, FoldedConv>();
  try {
    for (const c of INCEPTION_CONVS) {
      const w = get(`${c.name}.conv.weight`);
      const gamma = get(`${c.name}.bn.weight`);
      const beta = get(`${c.name}.bn.bias`);
      const mean = get(`${c.name}.bn.running_mean`);
      const variance = get(`${c.name}.bn.running_var`);
      const [kh, kw] = c.kernel;
      const cin = c.inChannels, cout = c.outChannels;
      const scale = new Float64Array(cout);
      const bias = new Float32Array(cout);
      for (let o = 0; o < cout; o++) {
        if (variance[o] < 0) {
          throw new FormatError(
            `${source}: ${c.name}.bn.running_var[${o}] is ${variance[o]}, a negative variance`,
          );
        }
        scale[o] = gamma[o] / Math.sqrt(variance[o] + INCEPTION_BN_EPS);
        bias[o] = beta[o] - mean[o] * scale[o];
      }
      // OIHW (PyTorch) to HWIO (TF.js), scaled per output channel.
      const filter = new Float32Array(kh * kw * cin * cout);
      for (let o = 0; o < cout; o++) {
        for (let i = 0; i < cin; i++) {
          for (let y = 0; y < kh; y++) {
            for (let x = 0; x < kw; x++) {
              filter[((y * kw + x) * cin + i) * cout + o] = w[((o * cin + i) * kh + y) * kw + x] *
                scale[o];
            }
          }
        }
      }
      convs.set(c.name, {
        filter: tf.tensor4d(filter, [kh, kw, cin, cout]),
        bias: tf.tensor1d(bias),
      });
    }
    const fc = get("fc.weight");
    const fcT = new Float32Array(INCEPTION_POOL_FEATURES * INCEPTION_CLASSES);
    for (let o = 0; o < INCEPTION_CLASSES; o++) {
      for (let i = 0; i < INCEPTION_POOL_FEATURES; i++) {
        fcT[i * INCEPTION_CLASSES + o] = fc[o * INCEPTION_POOL_FEATURES + i];
      }
    }
    return {
      convs,
      fcWeight: tf.tensor2d(fcT, [INCEPTION_POOL_FEATURES, INCEPTION_CLASSES]),
      fcBias: tf.tensor1d(get("fc.bias")),
    };
  } catch (err) {
    for (const c of convs.values()) tf.dispose([c.filter, c.bias]);
    throw err;
  }
}

/**
 * The weights file to use: `path` if given, else the `DDPM_INCEPTION` environment variable.
 *
 * @param path A path from the command line, or undefined.
 * @returns The path.
 * @throws {InputError} When neither is set, saying where the file comes from.
 *
 * @example
 * ```ts
 * import { inceptionWeightsPath } from "./inception_weights.ts";
 * if (inceptionWeightsPath("/data/w.pth") !== "/data/w.pth") throw new Error();
 * ```
 */
export function inceptionWeightsPath(path?: string): string {
  if (path) return path;
  let env: string | undefined;
  try {
    env = Deno.env.get("DDPM_INCEPTION");
  } catch {
    env = undefined; // no --allow-env
  }
  if (env) return env;
  throw new InputError(
    `FID and the Inception Score need pytorch-fid's Inception weights, ${INCEPTION_WEIGHTS_FILE} ` +
      `(95 MB): pass --inception PATH or set DDPM_INCEPTION=PATH. ddpm downloads nothing; get the ` +
      `file once from ${INCEPTION_WEIGHTS_URL} (or the copy torch hub keeps in ` +
      `~/.cache/torch/hub/checkpoints/ after running pytorch-fid)`,
  );
}

/**
 * Reads a weights file from disk and checks it (needs `--allow-read`).
 *
 * @param path The `.pth` file (torch's legacy format, as published, or the ZIP format).
 * @returns The folded weights and the file's SHA-256 in hex.
 * @throws {InputError} When the file is missing, saying where it comes from; a
 *   {@linkcode FormatError} when it is malformed or holds another network.
 *
 * @example
 * ```ts
 * import { loadInceptionWeights } from "./inception_weights.ts";
 * const err = await loadInceptionWeights("/nonexistent.pth").catch((e) => e);
 * if (!String(err.message).includes("pytorch-fid")) throw new Error(err.message);
 * ```
 */
export async function loadInceptionWeights(
  path: string,
): Promise<{ weights: InceptionWeights; sha256: string }> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    // pytorch-fid's file is 95 MB; a larger one (a sparse file can claim terabytes) is not read.
    const { size } = await Deno.stat(path);
    if (size > MAX_STATE_DICT_BYTES) {
      throw new LimitError(
        `Cannot read the Inception weights ${_showName(path)}: it is ${size} bytes, over the ` +
          `cap of ${MAX_STATE_DICT_BYTES}; pytorch-fid's ${INCEPTION_WEIGHTS_FILE} is 95 MB`,
      );
    }
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InputError(
        `Cannot read the Inception weights ${path}: it does not exist. Get pytorch-fid's ` +
          `${INCEPTION_WEIGHTS_FILE} from ${INCEPTION_WEIGHTS_URL}`,
        { cause: err },
      );
    }
    throw err;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  let sd: Map<string, HostTensor>;
  try {
    sd = readTorchStateDict(bytes);
  } catch (err) {
    if (err instanceof FormatError || err instanceof TypeError || err instanceof RangeError) {
      throw new FormatError(`${path}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  return { weights: inceptionWeightsFromStateDict(sd, path), sha256 };
}

/**
 * Whether a SHA-256 (hex) is that of pytorch-fid's file, by the prefix in its name.
 *
 * @param sha256 The file's SHA-256 in hex.
 * @returns True for the published weights.
 *
 * @example
 * ```ts
 * import { isPublishedInceptionWeights } from "./inception_weights.ts";
 * if (isPublishedInceptionWeights("00")) throw new Error();
 * ```
 */
export function isPublishedInceptionWeights(sha256: string): boolean {
  return sha256.startsWith(INCEPTION_SHA256_PREFIX);
}
