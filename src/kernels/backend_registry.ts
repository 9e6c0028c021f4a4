/**
 * The one registry of backend descriptors: `setBackend` and `setBrowserBackend` start backends
 * from it, and the core (`nn`, `memory`) asks it what the active backend can do.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type BackendCapabilities,
  type BackendDescriptor,
  PLAIN_CAPABILITIES,
} from "./backend_descriptor.ts";

const descriptors = new Map<string, BackendDescriptor>();

/**
 * Adds a backend's descriptor, or replaces the one of the same name.
 *
 * @param descriptor The backend.
 *
 * @example
 * ```ts
 * import { backendDescriptor, registerBackendDescriptor } from "./backend_registry.ts";
 * import { PLAIN_CAPABILITIES } from "./backend_descriptor.ts";
 * registerBackendDescriptor({
 *   name: "example",
 *   capabilities: PLAIN_CAPABILITIES,
 *   start: () => Promise.resolve(""),
 *   memoryLimit: () => 2 ** 30,
 * });
 * if (backendDescriptor("example")?.memoryLimit() !== 2 ** 30) throw new Error("not registered");
 * ```
 */
export function registerBackendDescriptor(descriptor: BackendDescriptor): void {
  descriptors.set(descriptor.name, descriptor);
}

/**
 * The descriptor registered under `name`.
 *
 * @param name A TF.js backend name; default the one in use.
 * @returns The descriptor, or undefined for a backend this library did not start.
 *
 * @example
 * ```ts
 * import { backendDescriptor } from "./backend_registry.ts";
 * if (backendDescriptor("no-such-backend") !== undefined) throw new Error();
 * ```
 */
export function backendDescriptor(name: string = tf.getBackend()): BackendDescriptor | undefined {
  return descriptors.get(name);
}

/**
 * What the backend can do: its descriptor's capabilities, or {@linkcode PLAIN_CAPABILITIES}
 * for one without a descriptor.
 *
 * @param name A TF.js backend name; default the one in use.
 * @returns Its capabilities.
 *
 * @example
 * ```ts
 * import { backendCapabilities } from "./backend_registry.ts";
 * if (backendCapabilities("no-such-backend").nativeMatMul) throw new Error("plain by default");
 * ```
 */
export function backendCapabilities(name: string = tf.getBackend()): BackendCapabilities {
  return descriptors.get(name)?.capabilities ?? PLAIN_CAPABILITIES;
}
