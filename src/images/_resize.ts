// Pixel resampling shared by the image decoder and the CIFAR-10 loader. Kept in float so that
// rounding to bytes happens once, after compositing, cropping and resizing.

/** Resampling taps of one axis: output pixel i reads inputs start[i] .. start[i] + taps[i].length. */
interface AxisTaps {
  start: Int32Array;
  taps: Float64Array[];
}

// Downscaling averages the input area each output pixel covers (no aliasing, and a 2x reduction
// is the plain mean of 2x2 blocks); upscaling interpolates linearly between pixel centres.
function axisTaps(inSize: number, outSize: number): AxisTaps {
  const start = new Int32Array(outSize);
  const taps: Float64Array[] = [];
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    if (scale >= 1) {
      const lo = i * scale;
      const hi = (i + 1) * scale;
      const j0 = Math.floor(lo);
      const j1 = Math.min(inSize, Math.ceil(hi - 1e-9));
      const w = new Float64Array(j1 - j0);
      for (let j = j0; j < j1; j++) {
        w[j - j0] = (Math.min(j + 1, hi) - Math.max(j, lo)) / scale;
      }
      start[i] = j0;
      taps.push(w);
    } else {
      const c = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), inSize - 1);
      const j0 = Math.min(Math.floor(c), inSize - 1);
      const f = c - j0;
      start[i] = j0;
      taps.push(j0 + 1 < inSize ? Float64Array.of(1 - f, f) : Float64Array.of(1));
    }
  }
  return { start, taps };
}

/**
 * Resizes an RGB HWC float image with separable area averaging (down) or bilinear
 * interpolation (up).
 */
export function _resizeRgb(
  src: Float32Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  if (width === outWidth && height === outHeight) return src;
  const xs = axisTaps(width, outWidth);
  const ys = axisTaps(height, outHeight);
  const rows = new Float32Array(height * outWidth * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      const w = xs.taps[x];
      let r = 0, g = 0, b = 0;
      for (let k = 0, p = (y * width + xs.start[x]) * 3; k < w.length; k++, p += 3) {
        r += w[k] * src[p];
        g += w[k] * src[p + 1];
        b += w[k] * src[p + 2];
      }
      const q = (y * outWidth + x) * 3;
      rows[q] = r;
      rows[q + 1] = g;
      rows[q + 2] = b;
    }
  }
  const out = new Float32Array(outHeight * outWidth * 3);
  const stride = outWidth * 3;
  for (let y = 0; y < outHeight; y++) {
    const w = ys.taps[y];
    const o = y * stride;
    for (let k = 0; k < w.length; k++) {
      const p = (ys.start[y] + k) * stride;
      for (let i = 0; i < stride; i++) out[o + i] += w[k] * rows[p + i];
    }
  }
  return out;
}

/** Rounds float pixel values to bytes, clamping to [0, 255]. */
export function _toBytes(src: Float32Array): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = Math.round(src[i]);
    // A typed-array store wraps out-of-range values, so clamp first (NaN stores as 0).
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}
