/**
 * The backend that tests needing real speed run on: `wasm` by default, or the one named by
 * `DDPM_TEST_BACKEND` (CI runs the suite a second time with `onednn`). Tests that compare
 * two specific backends name them instead.
 */
export const FAST_BACKEND: "wasm" | "onednn" = Deno.env.get("DDPM_TEST_BACKEND") === "onednn"
  ? "onednn"
  : "wasm";
