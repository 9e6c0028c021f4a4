/**
 * The "webgl" backend: TF.js on WebGL, in browsers only (the umbrella package registers it).
 *
 * @module
 */
import type { BackendDescriptor } from "../../kernels/backend_descriptor.ts";
import { _activate } from "../_activate.ts";

/**
 * The webgl backend: the layers take the same rewrites as on wasm; its memory is the device's,
 * which this library does not know.
 *
 * @example
 * ```ts
 * import { webglBackend } from "./descriptor.ts";
 * if (webglBackend.memoryLimit() !== undefined) throw new Error("no known limit");
 * ```
 */
export const webglBackend: BackendDescriptor = {
  name: "webgl",
  capabilities: {
    nativeMatMul: false,
    nativeConvGradients: false,
    precisions: ["fp32"],
    deviceMemory: true,
  },
  async start() {
    await _activate("webgl");
    return "";
  },
  memoryLimit: () => undefined,
};
