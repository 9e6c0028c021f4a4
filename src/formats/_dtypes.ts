// Element types that checkpoint files store, and their conversion to float32, shared by the
// safetensors and torch readers. Names follow safetensors ("F16", "BF16", ...).

/** Bytes per element of every dtype the readers accept. */
export const _DTYPE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
});

let halfTable: Float32Array | undefined;

// A lookup table over all 65536 half-precision bit patterns: converting 100M weights bit by
// bit would dominate load time.
function getHalfTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) halfTable[h] = _halfBitsToFloat(h);
  return halfTable;
}

/** IEEE 754 binary16 bits -> number (subnormals, infinities and NaN included). */
export function _halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// One float32's bits, shared by the scalar encoder (no allocation per value).
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * float32 bits -> IEEE 754 binary16 bits, rounding to nearest with ties to even: magnitudes
 * that round past the largest finite half (65504) become infinity, those below 2^-14 the
 * subnormals (2^-25 and below round to zero), NaN stays a (quiet) NaN of the same sign.
 */
function float32BitsToHalf(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | (mant ? 0x7e00 : 0x7c00);
  // The exponent rebiased from 127 to 15.
  const e = exp - 112;
  if (e >= 31) return sign | 0x7c00;
  let q: number, rest: number, halfway: number;
  if (e > 0) {
    // Normal: drop 13 of the 23 fraction bits. A carry out of the fraction raises the
    // exponent, and out of exponent 30 it gives 0x7c00, infinity, as it should.
    q = (e << 10) | (mant >>> 13);
    rest = mant & 0x1fff;
    halfway = 0x1000;
  } else {
    // Subnormal (or zero): the implicit leading 1 made explicit, then 14 - e bits dropped.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    q = m >>> shift;
    rest = m & ((1 << shift) - 1);
    halfway = 1 << (shift - 1);
  }
  if (rest > halfway || (rest === halfway && (q & 1) === 1)) q++;
  return sign | q;
}

/**
 * number -> IEEE 754 binary16 bits, round to nearest, ties to even. `x` is first rounded to
 * float32, as a `Float32Array` would store it: for float32 values (the writer's input) the
 * result is the correctly rounded half.
 */
export function _floatToHalfBits(x: number): number {
  f32Scratch[0] = x;
  return float32BitsToHalf(u32Scratch[0]);
}

/** float32 values -> their binary16 bits ({@linkcode _floatToHalfBits} for each). */
export function _encodeFloat16(values: Float32Array): Uint16Array {
  // A Float32Array always starts at a multiple of 4 bytes, so this view is legal.
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToHalf(bits[i]);
  return out;
}

/**
 * Decodes `count` elements of `dtype` starting at `bytes[0]` into float32. int64 values above
 * 2^24 lose precision, as they must in float32.
 */
export function _decodeToFloat32(
  bytes: Uint8Array,
  dtype: string,
  count: number,
  littleEndian = true,
): Float32Array {
  const size = _DTYPE_BYTES[dtype];
  if (size === undefined) throw new TypeError(`Unknown dtype "${dtype}"`);
  if (bytes.length < count * size) {
    throw new RangeError(`Need ${count * size} bytes for ${count} ${dtype}, got ${bytes.length}`);
  }
  const out = new Float32Array(count);
  if (count === 0) return out;
  // slice() copies into a fresh, aligned buffer, so typed views over it are always legal.
  const raw = bytes.slice(0, count * size);
  if (littleEndian) {
    switch (dtype) {
      case "F32":
        return new Float32Array(raw.buffer);
      case "F64":
        out.set(new Float64Array(raw.buffer));
        return out;
      case "F16": {
        const table = getHalfTable();
        const h = new Uint16Array(raw.buffer);
        for (let i = 0; i < count; i++) out[i] = table[h[i]];
        return out;
      }
      case "BF16": {
        // bfloat16 is the top half of a float32.
        const h = new Uint16Array(raw.buffer);
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < count; i++) bits[i] = h[i] << 16;
        return out;
      }
      case "I32":
        out.set(new Int32Array(raw.buffer));
        return out;
      case "I16":
        out.set(new Int16Array(raw.buffer));
        return out;
    }
  }
  const view = new DataView(raw.buffer);
  const table = dtype === "F16" ? getHalfTable() : undefined;
  const scratch = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < count; i++) {
    const o = i * size;
    switch (dtype) {
      case "F64":
        out[i] = view.getFloat64(o, littleEndian);
        break;
      case "F32":
        out[i] = view.getFloat32(o, littleEndian);
        break;
      case "F16":
        out[i] = table![view.getUint16(o, littleEndian)];
        break;
      case "BF16":
        scratch.setUint32(0, view.getUint16(o, littleEndian) << 16);
        out[i] = scratch.getFloat32(0);
        break;
      case "I64":
        out[i] = Number(view.getBigInt64(o, littleEndian));
        break;
      case "I32":
        out[i] = view.getInt32(o, littleEndian);
        break;
      case "I16":
        out[i] = view.getInt16(o, littleEndian);
        break;
      case "I8":
        out[i] = view.getInt8(o);
        break;
      default: // U8, BOOL
        out[i] = view.getUint8(o);
    }
  }
  return out;
}
