// imagescript, loaded on first use: its module opens a native codec (a Node-API addon) as it
// loads, which needs `--allow-ffi`. Only JPEG decoding and GIF encoding reach it, so importing
// the library, and training or sampling from PNG folders, runs without FFI.
import type * as Imagescript from "imagescript";

let loaded: Promise<typeof Imagescript> | undefined;

/** The imagescript module, imported once, on the first call. */
export function _imagescript(): Promise<typeof Imagescript> {
  loaded ??= import("imagescript");
  return loaded;
}
