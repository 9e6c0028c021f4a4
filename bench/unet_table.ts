// Prints ms per image and GFLOP/s (analytic FLOPs, backward counted as 2x forward) for the
// cases of unet_bench.ts. Run: deno run -A bench/unet_table.ts
import { presets } from "../mod.ts";
import { unetForwardFlops } from "./_unet_flops.ts";
import { BATCH, CASES, prepare } from "./unet_bench.ts";

const REPEATS = 2;
console.log("| backend | preset | pass | ms/image | GFLOP/image | GFLOP/s |");
console.log("|---|---|---|---|---|---|");
for (const [backend, name] of CASES) {
  for (const backward of [false, true]) {
    const step = await prepare(backend, name, backward);
    step(); // warm-up: operator setup and allocation
    const t0 = performance.now();
    for (let i = 0; i < REPEATS; i++) step();
    const msPerImage = (performance.now() - t0) / REPEATS / BATCH;
    const gflop = unetForwardFlops(presets[name].unet) * (backward ? 3 : 1) / 1e9;
    console.log(
      `| ${backend} | ${name} | ${backward ? "fwd+bwd" : "fwd"} | ${msPerImage.toFixed(0)} | ` +
        `${gflop.toFixed(2)} | ${(gflop / msPerImage * 1e3).toFixed(1)} |`,
    );
  }
}
