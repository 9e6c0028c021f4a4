// A NaN or an infinity in a checkpoint is never a trained value: the training loop skips
// every non-finite step. Sampling from such weights gives an all-black picture and exit 0, so
// the file is refused where it is read, naming the tensor.
import type { HostTensor } from "../formats/safetensors.ts";

/**
 * Throws a RangeError (the caller makes it a CheckpointError) naming the first tensor (and index) of `tensors` that holds a
 * value that is not finite.
 */
export function _checkFinite(tensors: Map<string, HostTensor>, path: string): void {
  for (const [name, { data }] of tensors) {
    for (let i = 0; i < data.length; i++) {
      // v - v is 0 for finite v, NaN for NaN and both infinities.
      if (data[i] - data[i] !== 0) {
        throw new RangeError(
          `${path}: tensor ${name} holds ${data[i]} at index ${i}; a trained checkpoint holds ` +
            "only finite values, so the file is damaged: use an earlier checkpoint of the run.",
        );
      }
    }
  }
}
