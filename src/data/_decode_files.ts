// Decoding many image files into one block of bytes, skipping the ones that fail.
import { _escapeControls, _showName } from "../_terminal_text.ts";
import { decodeImageRgb8 } from "../images/image.ts";
import { _readImageFile } from "../io/_read_image_file.ts";

const MAX_NAMED_WARNINGS = 5;

/**
 * Reads and decodes files in order into `n * r * r * 3` bytes. A file that cannot be read or
 * decoded is skipped with one console warning naming it (after five, the rest are counted in
 * one closing warning, so a broken folder does not flood the terminal).
 */
export async function _decodeFiles(
  paths: readonly string[],
  resolution: number,
  onProgress?: (done: number, total: number) => void,
): Promise<{ images: Uint8Array; decoded: number; skipped: string[] }> {
  const pixels = resolution * resolution * 3;
  let images = new Uint8Array(paths.length * pixels);
  let decoded = 0;
  const skipped: string[] = [];
  for (let i = 0; i < paths.length; i++) {
    try {
      const bytes = await _readImageFile(paths[i]);
      images.set(await decodeImageRgb8(bytes, { resolution, name: paths[i] }), decoded * pixels);
      decoded++;
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable) throw err;
      skipped.push(paths[i]);
      if (skipped.length <= MAX_NAMED_WARNINGS) {
        const shown = _showName(paths[i]);
        const why = err instanceof Error ? err.message : String(err);
        // The decoder's messages start with this; cut it by length, as a name may hold ": ".
        const prefix = `Cannot decode ${shown}: `;
        const reason = why.startsWith(prefix) ? why.slice(prefix.length) : why;
        console.warn(`ddpm: skipping ${shown}: ${_escapeControls(reason)}`);
      }
    }
    onProgress?.(i + 1, paths.length);
  }
  if (skipped.length > MAX_NAMED_WARNINGS) {
    console.warn(
      `ddpm: skipped ${skipped.length - MAX_NAMED_WARNINGS} more unreadable images ` +
        `(${skipped.length} of ${paths.length} in all)`,
    );
  }
  if (decoded < paths.length) images = images.slice(0, decoded * pixels);
  return { images, decoded, skipped };
}
