// Kernels' recycled scratch arrays: zeroed on every request, never shared while in use, and
// given back even when the kernel throws.
import { _withScratch } from "../src/backends/cpu/_scratch.ts";
import { assert } from "./_assert.ts";

Deno.test("scratch: arrays are zeroed, distinct within a call and recycled after it", () => {
  const first = _withScratch((s) => {
    const a = s.f64(100), b = s.f64(100), c = s.f32(3);
    assert.notStrictEqual(a.buffer, b.buffer, "two live arrays share a buffer");
    assert.deepEqual([a.length, b.length, c.length], [100, 100, 3]);
    a.fill(7);
    b.fill(8);
    c.fill(9);
    return [a.buffer, b.buffer];
  });
  _withScratch((s) => {
    const a = s.f64(100);
    assert.ok(first.includes(a.buffer), "a returned buffer of the same size is reused");
    assert.ok(a.every((v) => v === 0), "a reused array is zeroed");
    const c = s.f32(3);
    assert.ok(c.every((v) => v === 0), "a reused small array is zeroed");
  });
});

Deno.test("scratch: a body that throws still gives its arrays back", () => {
  let kept: ArrayBufferLike | undefined;
  assert.throws(() =>
    _withScratch((s) => {
      kept = s.f64(4321).buffer;
      throw new Error("kernel failed");
    }), /kernel failed/);
  _withScratch((s) => assert.strictEqual(s.f64(4321).buffer, kept));
});
