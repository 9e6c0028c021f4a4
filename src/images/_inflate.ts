// Inflating a zlib stream of known size with the web-standard DecompressionStream, so that the
// PNG decoder needs no native code and runs the same in Deno and in browsers.

/**
 * Inflates the concatenation of `parts` (one zlib stream) into exactly `size` bytes. Output
 * past `size` is not kept: reading stops there, so a stream that inflates to far more than the
 * header declared (a decompression bomb) costs no memory. Errors after all `size` bytes arrived
 * (a bad checksum or junk after the stream, which other decoders tolerate too) are ignored.
 *
 * @returns The inflated bytes, or a string saying why they are not all there.
 */
export async function _inflateExact(
  parts: readonly Uint8Array[],
  size: number,
): Promise<Uint8Array | string> {
  const out = new Uint8Array(size);
  const stream = new DecompressionStream("deflate");
  const writer = stream.writable.getWriter();
  // The writes settle only as the reader drains them; their errors surface through the reader.
  const written = (async () => {
    for (const part of parts) await writer.write(part as Uint8Array<ArrayBuffer>);
    await writer.close();
  })().catch(() => {});
  const reader = stream.readable.getReader();
  let filled = 0;
  try {
    while (filled < size) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, size - filled);
      out.set(take === value.length ? value : value.subarray(0, take), filled);
      filled += take;
    }
  } catch (err) {
    if (filled < size) {
      return `the image data is corrupt (${err instanceof Error ? err.message : String(err)})`;
    }
  } finally {
    reader.cancel().catch(() => {});
    writer.abort().catch(() => {});
  }
  await written;
  if (filled < size) {
    return `the image data is corrupt or truncated: ${filled} of ${size} bytes after inflating`;
  }
  return out;
}
