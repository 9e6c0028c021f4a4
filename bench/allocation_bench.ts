// What a kernel pays for a fresh output or scratch array against a recycled one: a new
// ArrayBuffer (allocation, zeroing, the collector's bookkeeping) against zeroing one that was
// used before. Why the buffer pool keeps buffers from 256 bytes (src/backends/cpu/_buffer_pool.ts)
// and kernels take their scratch from src/backends/cpu/_scratch.ts.
// Run: deno bench -P bench/allocation_bench.ts
import { _withScratch } from "../src/backends/cpu/_scratch.ts";

for (const bytes of [128, 1024, 4096, 16384, 131072]) {
  const n = bytes / 8;
  Deno.bench(`fresh ArrayBuffer, ${bytes} B`, { group: `${bytes} B`, baseline: true }, () => {
    const a = new Float64Array(new ArrayBuffer(bytes));
    a[1] = 1;
  });
  Deno.bench(`recycled scratch, ${bytes} B`, { group: `${bytes} B` }, () => {
    _withScratch((s) => {
      s.f64(n)[1] = 1;
    });
  });
}
