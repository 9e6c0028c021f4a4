/**
 * The backend that tests needing real speed run on: `wasm` by default, or the one named by
 * `DDPM_TEST_BACKEND` (CI runs the suite a second time with `onednn`). Tests that compare
 * two specific backends name them instead.
 */
export const FAST_BACKEND: "wasm" | "onednn" = Deno.env.get("DDPM_TEST_BACKEND") === "onednn"
  ? "onednn"
  : "wasm";

/** Whether oneDNN 2.x (`libdnnl.so.2`) loads here, for tests that need the onednn backend. */
export const HAS_ONEDNN: boolean = (() => {
  try {
    Deno.dlopen("libdnnl.so.2", {}).close();
    return true;
  } catch {
    return false;
  }
})();
