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
