// The CRC-32 of PNG chunks (ISO 3309, polynomial 0xedb88320), shared by the encoder and decoder.

let table: Uint32Array | undefined;

/** The CRC-32 of `bytes`, as PNG stores it after each chunk's type and data. */
export function _crc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
