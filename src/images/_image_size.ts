// Reading an image's width and height from its header, before decoding it, so that a small
// file declaring an enormous image (a decompression bomb) is refused without allocating it.

/**
 * Width and height declared by a PNG or JPEG header, or undefined when none is found. For a
 * JPEG, the largest frame declared anywhere in the file, found the way decoders find markers.
 */
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
  return jpegFrameSize(bytes, view);
}

// Start-of-frame markers: SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC).
const isFrame = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
// Markers without a length: TEM, RST0-7, SOI.
const isStandalone = (m: number) => m === 0x01 || (m >= 0xd0 && m <= 0xd8);

// Decoders (libjpeg's next_marker, and the ones after it) skip any bytes that are not 0xFF
// between segments, then 0xFF fill bytes, and take the next byte as the marker. The walk here
// does the same, and goes on through the scans (entropy-coded data, where 0xFF00 is a stuffed
// byte and RSTn a restart) to EOI, so a frame declared after the first scan is seen too.
function jpegFrameSize(
  bytes: Uint8Array,
  view: DataView,
): { width: number; height: number } | undefined {
  let best: { width: number; height: number } | undefined;
  let p = 2; // past SOI
  const n = bytes.length;
  while (p < n) {
    while (p < n && bytes[p] !== 0xff) p++;
    while (p < n && bytes[p] === 0xff) p++;
    if (p >= n) break;
    const marker = bytes[p++];
    // Decoders stop at EOI: what follows it (a trailer, another file) is never decoded.
    if (marker === 0xd9) break;
    if (marker === 0x00 || isStandalone(marker)) continue; // stuffed byte, restart, SOI
    if (p + 2 > n) break;
    const length = view.getUint16(p);
    if (isFrame(marker) && p + 7 <= n) {
      const height = view.getUint16(p + 3);
      const width = view.getUint16(p + 5);
      if (!best || width * height > best.width * best.height) best = { width, height };
    }
    // A length under 2 is corrupt; step over the two bytes so the walk always advances.
    p += Math.max(length, 2);
  }
  return best;
}
