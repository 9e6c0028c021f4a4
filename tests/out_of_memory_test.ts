import { OutOfMemoryError } from "../mod.ts";
import { explainOutOfMemory, isOutOfMemory } from "../src/memory/mod.ts";
import { createSingleThreadWasmBackend } from "../src/backends/wasm/wasm_threads.ts";
import { wasmBackend } from "../src/backends/wasm/descriptor.ts";
import { registerBackendDescriptor } from "../src/kernels/backend_registry.ts";
import { WasmHeapFullError } from "../src/memory/wasm_heap_full_error.ts";
import { assert } from "./_assert.ts";

Deno.test("a wasm allocation past the heap throws WasmHeapFullError, not a write at address 0", async () => {
  const { backend } = await createSingleThreadWasmBackend();
  const wasm = backend.wasm as unknown as { _malloc(n: number): number; _free(p: number): void };
  // The whole 4 GiB heap cannot fit beside the module's own data: malloc returns 0.
  assert.throws(
    () => wasm._malloc(4294901760),
    (err: unknown) => err instanceof WasmHeapFullError && err.bytes === 4294901760,
  );
  const p = wasm._malloc(1024); // the heap still works afterwards
  assert.ok(p > 0);
  wasm._free(p);
  backend.dispose();
});

Deno.test("explainOutOfMemory() says what was needed, the limit and the flag; passes others", () => {
  registerBackendDescriptor(wasmBackend); // the limit is the descriptor's, as setBackend leaves it
  for (const cause of [new WasmHeapFullError(2 ** 30), new WebAssembly.RuntimeError("Aborted()")]) {
    assert.ok(isOutOfMemory(cause));
    const err = explainOutOfMemory(cause, {
      what: "The training step",
      neededBytes: 5.5 * 2 ** 30,
      backend: "wasm",
      flag: "--micro-batch",
      value: 8,
    });
    assert.ok(err instanceof OutOfMemoryError);
    const message = (err as Error).message;
    for (const part of ["about 5.5 GiB", "limit is 4.0 GiB", "--micro-batch (now 8)"]) {
      assert.ok(message.includes(part), `"${part}" in: ${message}`);
    }
    assert.ok(!message.startsWith("Aborted"), message);
    assert.equal((err as Error).cause, cause);
  }
  const other = new TypeError("shapes differ");
  assert.equal(explainOutOfMemory(other, { what: "x", flag: "--f", value: 1 }), other);
  assert.ok(!isOutOfMemory(new Error("Aborted() elsewhere")));
});
