// Reading an image's width and height from its header, before decoding it, so that a small
// file declaring an enormous image (a decompression bomb) is refused without allocating it.

/** Width and height declared by a PNG or JPEG header, or undefined when none is found. */
export function _imageSize(
  bytes: Uint8Array,
  type: "png" | "jpeg",
): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === "png") {
    // Signature (8), IHDR length (4) and type (4), then width and height, big-endian.
    if (bytes.length < 24) return undefined;
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  // JPEG: walk the markers to the first start-of-frame (SOF0-SOF15 but DHT, JPG, DAC).
  let p = 2;
  while (p + 9 <= bytes.length) {
    if (bytes[p] !== 0xff) return undefined;
    const marker = bytes[p + 1];
    if (marker === 0xff) {
      p++;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { height: view.getUint16(p + 5), width: view.getUint16(p + 7) };
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2;
      continue;
    }
    p += 2 + view.getUint16(p + 2);
  }
  return undefined;
}
