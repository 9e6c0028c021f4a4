// The FID Inception-v3 forward pass on the host in float64, written from pytorch-fid's and
// torchvision's definitions with PyTorch's semantics spelled out (CHW layout, OIHW weights,
// explicit zero padding, unfolded BatchNorm with eps 0.001, average pools that exclude padding,
// max pools that ignore it, F.interpolate's bilinear resize), independent of src/metrics.
import type { HostTensor } from "../src/formats/safetensors.ts";
import { type RefConv, referenceConvs } from "./_inception_state_dict.ts";

/** A CHW image in float64. */
export interface Chw {
  c: number;
  h: number;
  w: number;
  data: Float64Array;
}

function conv(x: Chw, u: RefConv, sd: Map<string, HostTensor>): Chw {
  const wt = sd.get(`${u.name}.conv.weight`)!.data;
  const [kh, kw] = u.k;
  const [ph, pw] = u.pad;
  const s = u.stride;
  const oh = Math.floor((x.h + 2 * ph - kh) / s) + 1;
  const ow = Math.floor((x.w + 2 * pw - kw) / s) + 1;
  const out = new Float64Array(u.cout * oh * ow);
  for (let o = 0; o < u.cout; o++) {
    for (let i = 0; i < u.cin; i++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const wv = wt[((o * u.cin + i) * kh + ky) * kw + kx];
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * s - ph + ky;
            if (iy < 0 || iy >= x.h) continue;
            const src = (i * x.h + iy) * x.w;
            const dst = (o * oh + oy) * ow;
            for (let ox = 0; ox < ow; ox++) {
              const ix = ox * s - pw + kx;
              if (ix >= 0 && ix < x.w) out[dst + ox] += wv * x.data[src + ix];
            }
          }
        }
      }
    }
  }
  // BatchNorm (eval) then ReLU.
  const g = sd.get(`${u.name}.bn.weight`)!.data, b = sd.get(`${u.name}.bn.bias`)!.data;
  const m = sd.get(`${u.name}.bn.running_mean`)!.data, v = sd.get(`${u.name}.bn.running_var`)!.data;
  for (let o = 0; o < u.cout; o++) {
    const scale = g[o] / Math.sqrt(v[o] + 0.001);
    for (let k = o * oh * ow; k < (o + 1) * oh * ow; k++) {
      out[k] = Math.max(0, (out[k] - m[o]) * scale + b[o]);
    }
  }
  return { c: u.cout, h: oh, w: ow, data: out };
}

function pool(x: Chw, k: number, s: number, p: number, kind: "avg" | "max"): Chw {
  const oh = Math.floor((x.h + 2 * p - k) / s) + 1, ow = Math.floor((x.w + 2 * p - k) / s) + 1;
  const out = new Float64Array(x.c * oh * ow);
  for (let c = 0; c < x.c; c++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let acc = kind === "max" ? -Infinity : 0, count = 0;
        for (let ky = 0; ky < k; ky++) {
          for (let kx = 0; kx < k; kx++) {
            const iy = oy * s - p + ky, ix = ox * s - p + kx;
            if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) continue; // padding: not counted
            const val = x.data[(c * x.h + iy) * x.w + ix];
            acc = kind === "max" ? Math.max(acc, val) : acc + val;
            count++;
          }
        }
        out[(c * oh + oy) * ow + ox] = kind === "max" ? acc : acc / count;
      }
    }
  }
  return { c: x.c, h: oh, w: ow, data: out };
}

function cat(parts: Chw[]): Chw {
  const c = parts.reduce((a, p) => a + p.c, 0);
  const data = new Float64Array(c * parts[0].h * parts[0].w);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { c, h: parts[0].h, w: parts[0].w, data };
}

/**
 * F.interpolate(x, size, mode="bilinear", align_corners=False) without antialias, or
 * TensorFlow 1.x's resize_bilinear (torch-fidelity's `interpolate_bilinear_2d_like_tensorflow1x`)
 * with `tf1`.
 */
export function resizeBilinear(x: Chw, size: number, tf1 = false): Chw {
  const coords = (n: number) =>
    Array.from({ length: size }, (_, o) => {
      const src = tf1 ? o * (n / size) : Math.max(0, (o + 0.5) * (n / size) - 0.5);
      const lo = Math.floor(src);
      return { lo, hi: Math.min(lo + 1, n - 1), f: src - lo };
    });
  const ys = coords(x.h), xs = coords(x.w);
  const out = new Float64Array(x.c * size * size);
  for (let c = 0; c < x.c; c++) {
    for (let oy = 0; oy < size; oy++) {
      const { lo: y0, hi: y1, f: fy } = ys[oy];
      for (let ox = 0; ox < size; ox++) {
        const { lo: x0, hi: x1, f: fx } = xs[ox];
        const at = (y: number, xx: number) => x.data[(c * x.h + y) * x.w + xx];
        const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
        const bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
        out[(c * size + oy) * size + ox] = top + (bottom - top) * fy;
      }
    }
  }
  return { c: x.c, h: size, w: size, data: out };
}

/** An HWC image of bytes as a CHW float64 image. */
export function chwFromHwc(rgb: ArrayLike<number>, h: number, w: number): Chw {
  const data = new Float64Array(3 * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) data[(c * h + y) * w + x] = rgb[(y * w + x) * 3 + c];
    }
  }
  return { c: 3, h, w, data };
}

/** pool3 (2048) of an input already resized and scaled, as pytorch-fid's InceptionV3 blocks. */
export function referencePool3(input: Chw, sd: Map<string, HostTensor>): Float64Array {
  const units = new Map(referenceConvs().map((u) => [u.name, u]));
  const u = (x: Chw, name: string) => conv(x, units.get(name)!, sd);
  let x = u(u(u(input, "Conv2d_1a_3x3"), "Conv2d_2a_3x3"), "Conv2d_2b_3x3");
  x = pool(x, 3, 2, 0, "max");
  x = pool(u(u(x, "Conv2d_3b_1x1"), "Conv2d_4a_3x3"), 3, 2, 0, "max");
  for (const m of ["Mixed_5b", "Mixed_5c", "Mixed_5d"]) {
    x = cat([
      u(x, `${m}.branch1x1`),
      u(u(x, `${m}.branch5x5_1`), `${m}.branch5x5_2`),
      u(u(u(x, `${m}.branch3x3dbl_1`), `${m}.branch3x3dbl_2`), `${m}.branch3x3dbl_3`),
      u(pool(x, 3, 1, 1, "avg"), `${m}.branch_pool`),
    ]);
  }
  x = cat([
    u(x, "Mixed_6a.branch3x3"),
    u(u(u(x, "Mixed_6a.branch3x3dbl_1"), "Mixed_6a.branch3x3dbl_2"), "Mixed_6a.branch3x3dbl_3"),
    pool(x, 3, 2, 0, "max"),
  ]);
  for (const m of ["Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"]) {
    const a = u(u(u(x, `${m}.branch7x7_1`), `${m}.branch7x7_2`), `${m}.branch7x7_3`);
    let b = u(x, `${m}.branch7x7dbl_1`);
    for (const k of [2, 3, 4, 5]) b = u(b, `${m}.branch7x7dbl_${k}`);
    x = cat([u(x, `${m}.branch1x1`), a, b, u(pool(x, 3, 1, 1, "avg"), `${m}.branch_pool`)]);
  }
  let d = u(x, "Mixed_7a.branch7x7x3_1");
  for (const k of [2, 3, 4]) d = u(d, `Mixed_7a.branch7x7x3_${k}`);
  x = cat([u(u(x, "Mixed_7a.branch3x3_1"), "Mixed_7a.branch3x3_2"), d, pool(x, 3, 2, 0, "max")]);
  for (const m of ["Mixed_7b", "Mixed_7c"]) {
    const a = u(x, `${m}.branch3x3_1`);
    const b = u(u(x, `${m}.branch3x3dbl_1`), `${m}.branch3x3dbl_2`);
    // FIDInceptionE_1 averages (padding excluded); FIDInceptionE_2 (Mixed_7c) max-pools.
    const p = pool(x, 3, 1, 1, m === "Mixed_7b" ? "avg" : "max");
    x = cat([
      u(x, `${m}.branch1x1`),
      u(a, `${m}.branch3x3_2a`),
      u(a, `${m}.branch3x3_2b`),
      u(b, `${m}.branch3x3dbl_3a`),
      u(b, `${m}.branch3x3dbl_3b`),
      u(p, `${m}.branch_pool`),
    ]);
  }
  const out = new Float64Array(x.c);
  const hw = x.h * x.w;
  for (let c = 0; c < x.c; c++) {
    let s = 0;
    for (let k = 0; k < hw; k++) s += x.data[c * hw + k];
    out[c] = s / hw;
  }
  return out;
}
