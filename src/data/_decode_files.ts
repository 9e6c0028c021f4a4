// Decoding many image files into one block of bytes, skipping the ones that fail.
import { decodeImageRgb8 } from "../images/image.ts";

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
      const bytes = await Deno.readFile(paths[i]);
      images.set(await decodeImageRgb8(bytes, { resolution, name: paths[i] }), decoded * pixels);
      decoded++;
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable) throw err;
      skipped.push(paths[i]);
      if (skipped.length <= MAX_NAMED_WARNINGS) {
        const why = err instanceof Error ? err.message : String(err);
        console.warn(`ddpm: skipping ${paths[i]}: ${why.replace(/^Cannot decode [^:]*: /, "")}`);
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
