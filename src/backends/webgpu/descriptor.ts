/**
 * The "webgpu" backend: TF.js on WebGPU, in Deno (its built-in `navigator.gpu`: a real GPU, or
 * software Vulkan) and in browsers.
 *
 * @module
 */
import type { BackendDescriptor } from "../../kernels/backend_descriptor.ts";
import { _activate } from "../_activate.ts";
import { _startedBackend, _webGpuDevice } from "../_tfjs_internals.ts";
import { watchWebGpuErrors } from "./webgpu_errors.ts";
import { registerWebGpuOptimizerKernels } from "./webgpu_optimizer_kernels.ts";

/** The part of TF.js's WebGPU backend read for the buffer limit: the device it opened. */
interface WebGpuBackendLike {
  device?: { limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number } };
}

/**
 * The webgpu backend. Its matmul and convolution gradients are native: the filter gradient
 * written as a forward convolution has a kernel as large as the image, which TF.js's WebGPU
 * convolution handles badly (a tiny-preset step at batch 2: 20.9 s that way on software Vulkan,
 * 13.8 s native; bench/profile_train_step.ts). WebGPU reports no memory size, so the budget is
 * what `memoryBudget` says (in Deno: `DDPM_GPU_MEMORY`); every tensor is bounded by the device's
 * largest buffer.
 *
 * @param opts Where its memory budget comes from; default none known.
 * @returns The descriptor.
 *
 * @example
 * ```ts
 * import { webgpuBackend } from "./descriptor.ts";
 * const gpu = webgpuBackend({ memoryBudget: () => 2 ** 34 });
 * if (gpu.memoryLimit() !== 2 ** 34 || !gpu.capabilities.nativeMatMul) throw new Error();
 * ```
 */
export function webgpuBackend(
  opts: { memoryBudget?: () => number | undefined } = {},
): BackendDescriptor {
  return {
    name: "webgpu",
    capabilities: {
      nativeMatMul: true,
      nativeConvGradients: true,
      precisions: ["fp32"],
      deviceMemory: true,
    },
    async start() {
      // Registers "webgpu"; it starts only where navigator.gpu gives an adapter.
      await import("@tensorflow/tfjs-backend-webgpu");
      await _activate(
        "webgpu",
        'Cannot start backend "webgpu": no WebGPU adapter was found. On a machine without a ' +
          "GPU install software Vulkan (`apt-get install mesa-vulkan-drivers`), or use --backend wasm.",
      );
      // Adam and the EMA as one compute shader per output, instead of a dozen kernels per weight.
      registerWebGpuOptimizerKernels();
      // WebGPU drops an invalid dispatch without throwing; say so instead of training on zeros.
      const device = _webGpuDevice();
      if (device) watchWebGpuErrors(device);
      return "";
    },
    memoryLimit: () => opts.memoryBudget?.(),
    bufferLimit() {
      const limits = _startedBackend<WebGpuBackendLike>("webgpu")?.device?.limits;
      const sizes = [limits?.maxStorageBufferBindingSize, limits?.maxBufferSize]
        .filter((v): v is number => typeof v === "number" && v > 0);
      return sizes.length > 0 ? Math.min(...sizes) : undefined;
    },
  };
}
