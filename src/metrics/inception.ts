/**
 * The Inception-v3 of FID and the Inception Score, on TF.js: pool3 features and logits of
 * images, preprocessed as pytorch-fid or torch-fidelity do.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../errors.ts";
import { _inceptionPool3 } from "./_inception_forward.ts";
import {
  type InceptionWeights,
  inceptionWeightsPath,
  isPublishedInceptionWeights,
  loadInceptionWeights,
} from "./inception_weights.ts";

/**
 * How images become the network's input:
 * - `"pytorch-fid"`: pixels / 255, bilinear resize to 299 x 299 as
 *   `F.interpolate(mode="bilinear", align_corners=False)` (half-pixel centres, no antialias),
 *   then 2x - 1. FID uses it.
 * - `"torch-fidelity"`: bilinear resize as TensorFlow 1.x did it (source = destination x
 *   in / out, no half-pixel offset), then (x - 128) / 128. torch-fidelity's Inception Score
 *   uses it, matching the TensorFlow code the paper's IS came from.
 */
export type InceptionPreprocess = "pytorch-fid" | "torch-fidelity";

/** Options of {@linkcode InceptionV3.features}. */
export interface InceptionFeaturesOptions {
  /** Preprocessing; default `"pytorch-fid"`. */
  preprocess?: InceptionPreprocess;
  /**
   * Side of the network's input. Default 299, the size both tools use; smaller sides (at
   * least 75) make fast tests of the same network, which is convolutional up to its pool.
   */
  size?: number;
}

/** What {@linkcode InceptionV3.features} returns, as tensors the caller disposes. */
export interface InceptionFeatures {
  /** pool3: the 2048 features of the final average pool, which FID uses. [N, 2048]. */
  pool: tf.Tensor2D;
  /** pool3 @ fc.weight^T without fc.bias, which torch-fidelity's IS uses. [N, 1008]. */
  logitsUnbiased: tf.Tensor2D;
}

/**
 * pytorch-fid's FID Inception-v3 (TensorFlow's 2015 ImageNet graph): `FIDInceptionA/C/E`
 * blocks (average pools that exclude padding, a max pool in Mixed_7c), BatchNorm eps 0.001
 * folded into each convolution, and the 1008-class head.
 *
 * @example Features of two gray images, with random weights built in memory
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { INCEPTION_CONVS, InceptionV3 } from "@x/ddpm/metrics";
 * await setBackend("wasm");
 * const convs = new Map(INCEPTION_CONVS.map((c) => [c.name, {
 *   filter: tf.randomNormal([...c.kernel, c.inChannels, c.outChannels], 0, 0.05) as tf.Tensor4D,
 *   bias: tf.zeros([c.outChannels]) as tf.Tensor1D,
 * }]));
 * const net = new InceptionV3({
 *   convs,
 *   fcWeight: tf.zeros([2048, 1008]) as tf.Tensor2D,
 *   fcBias: tf.zeros([1008]) as tf.Tensor1D,
 * });
 * const images = tf.fill([2, 32, 32, 3], 128) as tf.Tensor4D;
 * const { pool, logitsUnbiased } = net.features(images, { size: 75 });
 * if (pool.shape.join() !== "2,2048" || logitsUnbiased.shape.join() !== "2,1008") throw new Error();
 * tf.dispose([images, pool, logitsUnbiased]);
 * net.dispose();
 * ```
 */
export class InceptionV3 {
  /** The weights, owned by this object. */
  readonly weights: InceptionWeights;
  /** SHA-256 of the file the weights came from, when loaded from one. */
  readonly sha256?: string;
  /** The file the weights came from, when loaded from one. */
  readonly path?: string;

  /**
   * Wraps folded weights (see `inceptionWeightsFromStateDict`); the network owns them.
   *
   * @param weights The weights.
   * @param source Where they came from: file and SHA-256.
   */
  constructor(weights: InceptionWeights, source: { path?: string; sha256?: string } = {}) {
    this.weights = weights;
    this.path = source.path;
    this.sha256 = source.sha256;
  }

  /**
   * Loads the weights from the user's copy of `pt_inception-2015-12-05-6726825d.pth`.
   *
   * @param path The file; default the `DDPM_INCEPTION` environment variable.
   * @returns The network.
   * @throws {InputError} When no file is given or it is missing, saying where it comes from.
   */
  static async load(path?: string): Promise<InceptionV3> {
    const file = inceptionWeightsPath(path);
    const { weights, sha256 } = await loadInceptionWeights(file);
    return new InceptionV3(weights, { path: file, sha256 });
  }

  /** Whether the weights are pytorch-fid's published file (by its SHA-256 prefix). */
  get isPublished(): boolean {
    return this.sha256 !== undefined && isPublishedInceptionWeights(this.sha256);
  }

  /**
   * Runs the network on images whose pixels are in [0, 255] (uint8 values as float32).
   *
   * @param pixels [N, H, W, 3] or [N, H, W, 1] (gray, repeated to RGB), any H and W.
   * @param opts Preprocessing and input size.
   * @returns pool3 features and the logits without bias.
   * @throws {InputError} For a tensor of another rank or channel count.
   */
  features(pixels: tf.Tensor4D, opts: InceptionFeaturesOptions = {}): InceptionFeatures {
    const { preprocess = "pytorch-fid", size = 299 } = opts;
    const [, , , channels] = pixels.shape;
    if (pixels.rank !== 4 || (channels !== 3 && channels !== 1)) {
      throw new InputError(
        `Inception features need [N, H, W, 3] or [N, H, W, 1] images: got [${pixels.shape}]`,
      );
    }
    if (!Number.isInteger(size) || size < 75) {
      throw new InputError(`Inception input size must be an integer >= 75: got ${size}`);
    }
    return tf.tidy(() => {
      const rgb = channels === 1 ? tf.tile(pixels, [1, 1, 1, 3]) : pixels;
      const x = preprocessImages(rgb as tf.Tensor4D, preprocess, size);
      const pool = _inceptionPool3(x, this.weights);
      const logitsUnbiased = tf.matMul(pool, this.weights.fcWeight) as tf.Tensor2D;
      return { pool, logitsUnbiased };
    });
  }

  /** Frees the weights. */
  dispose(): void {
    for (const c of this.weights.convs.values()) tf.dispose([c.filter, c.bias]);
    tf.dispose([this.weights.fcWeight, this.weights.fcBias]);
  }
}

function preprocessImages(
  rgb: tf.Tensor4D,
  preprocess: InceptionPreprocess,
  size: number,
): tf.Tensor4D {
  const [, h, w] = rgb.shape;
  const same = h === size && w === size;
  if (preprocess === "pytorch-fid") {
    // ToTensor's / 255, F.interpolate(align_corners=False), then 2x - 1.
    const unit = tf.div(rgb, 255) as tf.Tensor4D;
    const resized = same ? unit : tf.image.resizeBilinear(unit, [size, size], false, true);
    return tf.sub(tf.mul(resized, 2), 1) as tf.Tensor4D;
  }
  if (preprocess === "torch-fidelity") {
    const resized = same ? rgb : tf.image.resizeBilinear(rgb, [size, size], false, false);
    return tf.div(tf.sub(resized, 128), 128) as tf.Tensor4D;
  }
  throw new InputError(
    `Inception preprocess must be "pytorch-fid" or "torch-fidelity": got "${preprocess}"`,
  );
}
