/**
 * The fused swish kernels for TF.js's cpu-family backends.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { SWISH, SWISH_GRAD } from "../../../kernels/_swish.ts";
import { _float32Values, _input, _makeFloat32, _outputAlloc } from "../_cpu_family.ts";
import { _swishBackward, _swishForward } from "./_swish_math.ts";

/**
 * Registers `DdpmSwish` and `DdpmSwishGrad` for a backend that keeps float32 tensors as
 * Float32Arrays: `cpu` or one extending it. `swish` then runs as one kernel on that backend
 * instead of a sigmoid and a product (and five kernels backward). Calling it again for the
 * same backend does nothing.
 *
 * @param backendName The TF.js backend name, e.g. `"cpu"`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { swish } from "@x/ddpm/nn";
 * import { registerSwishKernels } from "./swish_kernels.ts";
 * await setBackend("cpu");
 * registerSwishKernels("cpu");
 * const dx = await tf.grad((x: tf.Tensor) => swish(x))(tf.tensor1d([0])).data();
 * if (Math.abs(dx[0] - 0.5) > 1e-7) throw new Error(`swish'(0) is 1/2, got ${dx[0]}`);
 * ```
 */
export function registerSwishKernels(backendName: string): void {
  if (!tf.getKernel(SWISH, backendName)) {
    tf.registerKernel({
      kernelName: SWISH,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const x = _input(inputs, "x", SWISH);
        return _makeFloat32(
          backend,
          x.shape,
          _swishForward(_float32Values(backend, x, SWISH), _outputAlloc(backend)),
        );
      },
    });
  }
  if (!tf.getKernel(SWISH_GRAD, backendName)) {
    tf.registerKernel({
      kernelName: SWISH_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const [dy, x] = ["dy", "x"].map((k) => _input(inputs, k, SWISH_GRAD));
        const values = (t: tf.TensorInfo) => _float32Values(backend, t, SWISH_GRAD);
        return _makeFloat32(
          backend,
          x.shape,
          _swishBackward(values(dy), values(x), _outputAlloc(backend)),
        );
      },
    });
  }
}
