// The tensors of pytorch-fid's pt_inception-2015-12-05-6726825d.pth, written out here from
// torchvision's Inception3 (aux_logits=False, num_classes=1008) with pytorch-fid's FID blocks,
// independently of src/metrics/inception_layers.ts, so that a test can check that table
// against it. Each BasicConv2d holds conv.weight [out, in, kh, kw] and a BatchNorm2d's
// weight, bias, running_mean, running_var [out] and num_batches_tracked (0-d int64).
import { mulberry32 } from "../src/random.ts";
import type { LegacyTensor } from "./_torch_legacy_writer.ts";

/** A BasicConv2d as torchvision declares it: in, out, kernel, stride, padding. */
export interface RefConv {
  name: string;
  cin: number;
  cout: number;
  k: [number, number];
  stride: number;
  pad: [number, number];
}

function c(
  name: string,
  cin: number,
  cout: number,
  k: number | [number, number],
  opts: { stride?: number; padding?: number | [number, number] } = {},
): RefConv {
  const kk: [number, number] = typeof k === "number" ? [k, k] : k;
  const p = opts.padding ?? 0;
  return {
    name,
    cin,
    cout,
    k: kk,
    stride: opts.stride ?? 1,
    pad: typeof p === "number" ? [p, p] : p,
  };
}

/** torchvision's module order: Conv2d_1a_3x3 ... Mixed_7c, then fc. */
export function referenceConvs(): RefConv[] {
  const out: RefConv[] = [
    c("Conv2d_1a_3x3", 3, 32, 3, { stride: 2 }),
    c("Conv2d_2a_3x3", 32, 32, 3),
    c("Conv2d_2b_3x3", 32, 64, 3, { padding: 1 }),
    c("Conv2d_3b_1x1", 64, 80, 1),
    c("Conv2d_4a_3x3", 80, 192, 3),
  ];
  for (
    const [m, cin, pf] of [["Mixed_5b", 192, 32], ["Mixed_5c", 256, 64], [
      "Mixed_5d",
      288,
      64,
    ]] as const
  ) {
    out.push(
      c(`${m}.branch1x1`, cin, 64, 1),
      c(`${m}.branch5x5_1`, cin, 48, 1),
      c(`${m}.branch5x5_2`, 48, 64, 5, { padding: 2 }),
      c(`${m}.branch3x3dbl_1`, cin, 64, 1),
      c(`${m}.branch3x3dbl_2`, 64, 96, 3, { padding: 1 }),
      c(`${m}.branch3x3dbl_3`, 96, 96, 3, { padding: 1 }),
      c(`${m}.branch_pool`, cin, pf, 1),
    );
  }
  out.push(
    c("Mixed_6a.branch3x3", 288, 384, 3, { stride: 2 }),
    c("Mixed_6a.branch3x3dbl_1", 288, 64, 1),
    c("Mixed_6a.branch3x3dbl_2", 64, 96, 3, { padding: 1 }),
    c("Mixed_6a.branch3x3dbl_3", 96, 96, 3, { stride: 2 }),
  );
  for (
    const [m, c7] of [["Mixed_6b", 128], ["Mixed_6c", 160], ["Mixed_6d", 160], [
      "Mixed_6e",
      192,
    ]] as const
  ) {
    out.push(
      c(`${m}.branch1x1`, 768, 192, 1),
      c(`${m}.branch7x7_1`, 768, c7, 1),
      c(`${m}.branch7x7_2`, c7, c7, [1, 7], { padding: [0, 3] }),
      c(`${m}.branch7x7_3`, c7, 192, [7, 1], { padding: [3, 0] }),
      c(`${m}.branch7x7dbl_1`, 768, c7, 1),
      c(`${m}.branch7x7dbl_2`, c7, c7, [7, 1], { padding: [3, 0] }),
      c(`${m}.branch7x7dbl_3`, c7, c7, [1, 7], { padding: [0, 3] }),
      c(`${m}.branch7x7dbl_4`, c7, c7, [7, 1], { padding: [3, 0] }),
      c(`${m}.branch7x7dbl_5`, c7, 192, [1, 7], { padding: [0, 3] }),
      c(`${m}.branch_pool`, 768, 192, 1),
    );
  }
  out.push(
    c("Mixed_7a.branch3x3_1", 768, 192, 1),
    c("Mixed_7a.branch3x3_2", 192, 320, 3, { stride: 2 }),
    c("Mixed_7a.branch7x7x3_1", 768, 192, 1),
    c("Mixed_7a.branch7x7x3_2", 192, 192, [1, 7], { padding: [0, 3] }),
    c("Mixed_7a.branch7x7x3_3", 192, 192, [7, 1], { padding: [3, 0] }),
    c("Mixed_7a.branch7x7x3_4", 192, 192, 3, { stride: 2 }),
  );
  for (const [m, cin] of [["Mixed_7b", 1280], ["Mixed_7c", 2048]] as const) {
    out.push(
      c(`${m}.branch1x1`, cin, 320, 1),
      c(`${m}.branch3x3_1`, cin, 384, 1),
      c(`${m}.branch3x3_2a`, 384, 384, [1, 3], { padding: [0, 1] }),
      c(`${m}.branch3x3_2b`, 384, 384, [3, 1], { padding: [1, 0] }),
      c(`${m}.branch3x3dbl_1`, cin, 448, 1),
      c(`${m}.branch3x3dbl_2`, 448, 384, 3, { padding: 1 }),
      c(`${m}.branch3x3dbl_3a`, 384, 384, [1, 3], { padding: [0, 1] }),
      c(`${m}.branch3x3dbl_3b`, 384, 384, [3, 1], { padding: [1, 0] }),
      c(`${m}.branch_pool`, cin, 192, 1),
    );
  }
  return out;
}

/** The 566 names and shapes, in torchvision's order. */
export function referenceShapes(): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const u of referenceConvs()) {
    shapes.set(`${u.name}.conv.weight`, [u.cout, u.cin, ...u.k]);
    for (const s of ["weight", "bias", "running_mean", "running_var"]) {
      shapes.set(`${u.name}.bn.${s}`, [u.cout]);
    }
    shapes.set(`${u.name}.bn.num_batches_tracked`, []);
  }
  shapes.set("fc.weight", [1008, 2048]);
  shapes.set("fc.bias", [1008]);
  return shapes;
}

/**
 * Seeded random values for every tensor, scaled so activations stay of order one through the
 * 94 units: convolutions uniform with He's variance 2 / fan_in, BatchNorm gamma and variance in
 * [0.5, 1.5], beta and mean of standard deviation 0.2; num_batches_tracked = 1000.
 */
export function randomInceptionStateDict(seed: number): Map<string, LegacyTensor> {
  const rand = mulberry32(seed);
  // Uniform on [-sqrt 3, sqrt 3]: unit variance, and 24M of them cost no logarithms.
  const unitVariance = () => (2 * rand() - 1) * Math.sqrt(3);
  const out = new Map<string, LegacyTensor>();
  for (const [name, shape] of referenceShapes()) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (name.endsWith("num_batches_tracked")) {
      out.set(name, { shape, data: BigInt64Array.of(1000n) });
      continue;
    }
    const data = new Float32Array(n);
    if (name.endsWith("conv.weight")) {
      const std = Math.sqrt(2 / (shape[1] * shape[2] * shape[3]));
      for (let i = 0; i < n; i++) data[i] = unitVariance() * std;
    } else if (name.endsWith("bn.weight") || name.endsWith("running_var")) {
      for (let i = 0; i < n; i++) data[i] = 0.5 + rand();
    } else if (name === "fc.weight") {
      for (let i = 0; i < n; i++) data[i] = unitVariance() * 0.02;
    } else {
      for (let i = 0; i < n; i++) data[i] = unitVariance() * 0.2;
    }
    out.set(name, { shape, data });
  }
  return out;
}
