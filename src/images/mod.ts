/**
 * Images: decoding PNG/JPEG into pixels, and encoding batches of images as PNGs, grids and GIFs.
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
