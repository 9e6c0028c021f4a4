/**
 * Models by Hugging Face hub id: files fetched with the hub's resolve protocol into
 * huggingface_hub's cache layout, so that Python and this library share one cache.
 *
 * @example
 * ```ts
 * import { parseHubId, repoCache } from "@x/ddpm/hub";
 * const ref = parseHubId("google/ddpm-cifar10-32")!;
 * const { storage } = repoCache("/cache", ref.repoId);
 * if (storage !== "/cache/models--google--ddpm-cifar10-32" || ref.revision !== "main") {
 *   throw new Error(storage);
 * }
 * ```
 *
 * @module
 */
export * from "./hub_error.ts";
export * from "./repo_id.ts";
export * from "./hub_settings.ts";
export * from "./hub_cache.ts";
export * from "./hub_download.ts";
