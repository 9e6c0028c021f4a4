// Making a registered TF.js backend the active one, with an error that says what to do when it
// does not start. Every descriptor's start() ends here.
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../errors.ts";

/**
 * Thrown by a descriptor's start() when the backend is not available on this machine: an input
 * error (exit 2), since the fix is to install it or to ask for another one.
 */
export class BackendUnavailableError extends InputError {
  /** @param message Why, and what to install. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackendUnavailableError";
  }
}

/** Sets `name` as TF.js's backend and waits until it is ready; throws `hint` if it fails. */
export async function _activate(name: string, hint?: string): Promise<void> {
  if (tf.getBackend() === name) return;
  let ok = false;
  let cause: unknown;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (err) {
    cause = err;
  }
  if (!ok) {
    throw new Error(
      hint ?? `Cannot start backend "${name}": TensorFlow.js could not initialise it. ` +
          "Use --backend wasm, which needs no install.",
      { cause },
    );
  }
}
