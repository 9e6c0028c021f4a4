/**
 * Sample-quality metrics: FID and the Inception Score as pytorch-fid and torch-fidelity compute
 * them, with the Inception-v3 on TF.js and the statistics in float64.
 *
 * @example The Frechet distance of two Gaussians
 * ```ts
 * import { frechetDistance } from "@x/ddpm/metrics";
 * const sigma = new Float64Array([4, 0, 0, 9]);
 * const d = frechetDistance({ mu: new Float64Array(2), sigma }, { mu: new Float64Array(2), sigma });
 * if (Math.abs(d) > 1e-9) throw new Error(String(d));
 * ```
 *
 * @module
 */
export * from "./frechet_distance.ts";
export * from "./trace_sqrt_product.ts";
export * from "./activation_stats.ts";
export * from "./inception_score_math.ts";
export * from "./inception_layers.ts";
export * from "./inception_weights.ts";
export * from "./inception.ts";
export * from "./image_source.ts";
export * from "./stats_file.ts";
export * from "./fid.ts";
export * from "./merge_stats.ts";
