// imagescript, loaded on first use: its module opens a native codec (a Node-API addon) as it
// loads, which needs `--allow-ffi`. Only JPEG decoding and GIF encoding reach it, so importing
// the library, and training or sampling from PNG folders, runs without FFI.
import type * as Imagescript from "imagescript";
import { InputError } from "../errors.ts";

let loaded: Promise<typeof Imagescript> | undefined;

/**
 * The imagescript module, imported once, on the first call.
 *
 * @throws {InputError} When FFI is not allowed, naming the flag.
 */
export function _imagescript(): Promise<typeof Imagescript> {
  loaded ??= import("imagescript").catch((err) => {
    loaded = undefined;
    const message = err instanceof Error ? err.message : String(err);
    if (!/Requires ffi access/.test(message)) throw err;
    throw new InputError(
      "writing GIFs and decoding JPEGs loads imagescript's native codec: run deno with " +
        `--allow-ffi, or scoped to the codec (${
          message.match(/"([^"]+\.node)"/)?.[1] ?? "its .node file"
        })`,
      { cause: err },
    );
  });
  return loaded;
}
