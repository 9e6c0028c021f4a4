/**
 * Images: decoding PNG/JPEG into pixels, and encoding batches of images as PNGs, grids and GIFs.
 *
 * @example
 * ```ts
 * import { decodePng, encodePng } from "@x/ddpm/images";
 * const png = await encodePng({ width: 1, height: 1, data: new Uint8Array([255, 0, 0, 255]) });
 * const { data } = await decodePng(png);
 * if (data.join() !== "255,0,0,255") throw new Error(data.join());
 * ```
 *
 * @module
 */
export * from "./image.ts";
export * from "./png.ts";
export * from "./grid.ts";
export * from "./gif.ts";
export * from "./png_encode.ts";
export * from "./png_decode.ts";
export * from "./grid_pixels.ts";
