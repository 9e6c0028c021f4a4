/**
 * The layers of the Inception-v3 that FID and the Inception Score use: TensorFlow's 2015
 * ImageNet graph (`inception-2015-12-05`) as pytorch-fid ported it (`FIDInceptionA/C/E`
 * blocks, a 1008-class head), with the names and shapes of its weights file
 * `pt_inception-2015-12-05-6726825d.pth`.
 *
 * @module
 */

/**
 * One convolution + batch norm + ReLU unit (torchvision's `BasicConv2d`): a bias-free
 * convolution `<name>.conv.weight` [out, in, kh, kw], then BatchNorm with eps 0.001
 * (`<name>.bn.weight`, `.bias`, `.running_mean`, `.running_var`, `.num_batches_tracked`).
 */
export interface InceptionConv {
  /** Weight-name prefix, such as `Mixed_5b.branch5x5_2`. */
  name: string;
  /** Input channels. */
  inChannels: number;
  /** Output channels. */
  outChannels: number;
  /** Kernel height and width. */
  kernel: [number, number];
  /** Stride in both directions. */
  stride: 1 | 2;
  /**
   * "valid" (PyTorch padding 0) or "same" (stride 1 with padding (kh - 1) / 2, (kw - 1) / 2,
   * which is TensorFlow's SAME for odd kernels).
   */
  padding: "valid" | "same";
}

/** BatchNorm epsilon of every unit (TensorFlow's graph, torchvision's `BasicConv2d`). */
export const INCEPTION_BN_EPS = 0.001;

/** Feature width of the pool3 layer that FID uses. */
export const INCEPTION_POOL_FEATURES = 2048;

/** Classes of the head: ImageNet's 1000 and 8 unused, as in TensorFlow's 2015 graph. */
export const INCEPTION_CLASSES = 1008;

function conv(
  name: string,
  inChannels: number,
  outChannels: number,
  kernel: number | [number, number],
  opts: { stride?: 1 | 2; padding?: "valid" | "same" } = {},
): InceptionConv {
  const k: [number, number] = typeof kernel === "number" ? [kernel, kernel] : kernel;
  return {
    name,
    inChannels,
    outChannels,
    kernel: k,
    stride: opts.stride ?? 1,
    padding: opts.padding ?? (k[0] === 1 && k[1] === 1 ? "same" : "valid"),
  };
}

const SAME = { padding: "same" } as const;
const DOWN = { stride: 2, padding: "valid" } as const;

/** InceptionA (Mixed_5b/c/d): 1x1; 1x1 -> 5x5; 1x1 -> 3x3 -> 3x3; avg pool -> 1x1. */
function blockA(p: string, cin: number, poolFeatures: number): InceptionConv[] {
  return [
    conv(`${p}.branch1x1`, cin, 64, 1),
    conv(`${p}.branch5x5_1`, cin, 48, 1),
    conv(`${p}.branch5x5_2`, 48, 64, 5, SAME),
    conv(`${p}.branch3x3dbl_1`, cin, 64, 1),
    conv(`${p}.branch3x3dbl_2`, 64, 96, 3, SAME),
    conv(`${p}.branch3x3dbl_3`, 96, 96, 3, SAME),
    conv(`${p}.branch_pool`, cin, poolFeatures, 1),
  ];
}

/** InceptionB (Mixed_6a): 3x3 stride 2; 1x1 -> 3x3 -> 3x3 stride 2; max pool stride 2. */
function blockB(p: string, cin: number): InceptionConv[] {
  return [
    conv(`${p}.branch3x3`, cin, 384, 3, DOWN),
    conv(`${p}.branch3x3dbl_1`, cin, 64, 1),
    conv(`${p}.branch3x3dbl_2`, 64, 96, 3, SAME),
    conv(`${p}.branch3x3dbl_3`, 96, 96, 3, DOWN),
  ];
}

/** InceptionC (Mixed_6b..e): factorised 7x7 branches of width c7; avg pool -> 1x1. */
function blockC(p: string, cin: number, c7: number): InceptionConv[] {
  return [
    conv(`${p}.branch1x1`, cin, 192, 1),
    conv(`${p}.branch7x7_1`, cin, c7, 1),
    conv(`${p}.branch7x7_2`, c7, c7, [1, 7], SAME),
    conv(`${p}.branch7x7_3`, c7, 192, [7, 1], SAME),
    conv(`${p}.branch7x7dbl_1`, cin, c7, 1),
    conv(`${p}.branch7x7dbl_2`, c7, c7, [7, 1], SAME),
    conv(`${p}.branch7x7dbl_3`, c7, c7, [1, 7], SAME),
    conv(`${p}.branch7x7dbl_4`, c7, c7, [7, 1], SAME),
    conv(`${p}.branch7x7dbl_5`, c7, 192, [1, 7], SAME),
    conv(`${p}.branch_pool`, cin, 192, 1),
  ];
}

/** InceptionD (Mixed_7a): 1x1 -> 3x3 stride 2; 1x1 -> 1x7 -> 7x1 -> 3x3 stride 2; max pool. */
function blockD(p: string, cin: number): InceptionConv[] {
  return [
    conv(`${p}.branch3x3_1`, cin, 192, 1),
    conv(`${p}.branch3x3_2`, 192, 320, 3, DOWN),
    conv(`${p}.branch7x7x3_1`, cin, 192, 1),
    conv(`${p}.branch7x7x3_2`, 192, 192, [1, 7], SAME),
    conv(`${p}.branch7x7x3_3`, 192, 192, [7, 1], SAME),
    conv(`${p}.branch7x7x3_4`, 192, 192, 3, DOWN),
  ];
}

/** InceptionE (Mixed_7b/c): 1x1; 1x1 -> (1x3, 3x1); 1x1 -> 3x3 -> (1x3, 3x1); pool -> 1x1. */
function blockE(p: string, cin: number): InceptionConv[] {
  return [
    conv(`${p}.branch1x1`, cin, 320, 1),
    conv(`${p}.branch3x3_1`, cin, 384, 1),
    conv(`${p}.branch3x3_2a`, 384, 384, [1, 3], SAME),
    conv(`${p}.branch3x3_2b`, 384, 384, [3, 1], SAME),
    conv(`${p}.branch3x3dbl_1`, cin, 448, 1),
    conv(`${p}.branch3x3dbl_2`, 448, 384, 3, SAME),
    conv(`${p}.branch3x3dbl_3a`, 384, 384, [1, 3], SAME),
    conv(`${p}.branch3x3dbl_3b`, 384, 384, [3, 1], SAME),
    conv(`${p}.branch_pool`, cin, 192, 1),
  ];
}

/**
 * Every convolution unit of the network, in the order of the weights file (torchvision's
 * module order): 94 units.
 *
 * @example
 * ```ts
 * import { INCEPTION_CONVS } from "./inception_layers.ts";
 * if (INCEPTION_CONVS.length !== 94) throw new Error(String(INCEPTION_CONVS.length));
 * ```
 */
export const INCEPTION_CONVS: readonly InceptionConv[] = Object.freeze([
  conv("Conv2d_1a_3x3", 3, 32, 3, DOWN),
  conv("Conv2d_2a_3x3", 32, 32, 3),
  conv("Conv2d_2b_3x3", 32, 64, 3, SAME),
  conv("Conv2d_3b_1x1", 64, 80, 1),
  conv("Conv2d_4a_3x3", 80, 192, 3),
  ...blockA("Mixed_5b", 192, 32),
  ...blockA("Mixed_5c", 256, 64),
  ...blockA("Mixed_5d", 288, 64),
  ...blockB("Mixed_6a", 288),
  ...blockC("Mixed_6b", 768, 128),
  ...blockC("Mixed_6c", 768, 160),
  ...blockC("Mixed_6d", 768, 160),
  ...blockC("Mixed_6e", 768, 192),
  ...blockD("Mixed_7a", 768),
  ...blockE("Mixed_7b", 1280),
  ...blockE("Mixed_7c", 2048),
]);

/**
 * The name and shape of every tensor in `pt_inception-2015-12-05-6726825d.pth`: six per unit
 * (the 0-d `num_batches_tracked` included) and the head `fc.weight` [1008, 2048], `fc.bias`
 * [1008]; 566 in all.
 *
 * @returns Shapes by name, in the file's order.
 *
 * @example
 * ```ts
 * import { inceptionWeightShapes } from "./inception_layers.ts";
 * const shapes = inceptionWeightShapes();
 * if (shapes.size !== 566 || shapes.get("fc.weight")?.join() !== "1008,2048") throw new Error();
 * ```
 */
export function inceptionWeightShapes(): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const c of INCEPTION_CONVS) {
    shapes.set(`${c.name}.conv.weight`, [c.outChannels, c.inChannels, ...c.kernel]);
    for (const s of ["weight", "bias", "running_mean", "running_var"]) {
      shapes.set(`${c.name}.bn.${s}`, [c.outChannels]);
    }
    shapes.set(`${c.name}.bn.num_batches_tracked`, []);
  }
  shapes.set("fc.weight", [INCEPTION_CLASSES, INCEPTION_POOL_FEATURES]);
  shapes.set("fc.bias", [INCEPTION_CLASSES]);
  return shapes;
}
