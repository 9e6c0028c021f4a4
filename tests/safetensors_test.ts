import { assert } from "./_assert.ts";
import { readSafetensors, writeSafetensors } from "../src/formats/safetensors.ts";
import { loadSafetensorsFile, saveSafetensorsFile } from "../src/io/safetensors_file.ts";

/** Builds a safetensors file from a header object and a raw data section, unvalidated. */
function build(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function u16le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setUint16(2 * i, x, true));
  return out;
}

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: Error) => {
    for (const p of parts) assert.ok(err.message.includes(p), `"${err.message}" lacks "${p}"`);
    return true;
  });
}

Deno.test("writeSafetensors() then readSafetensors() round-trips values, shapes and metadata", () => {
  const tensors = new Map([
    ["b.weight", { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 1e-30, -0, 6]) }],
    ["a.scalar", { shape: [], data: new Float32Array([7.25]) }],
    ["c.empty", { shape: [0, 4], data: new Float32Array(0) }],
    ["d.odd", { shape: [3], data: new Float32Array([NaN, Infinity, -Infinity]) }],
  ]);
  const bytes = writeSafetensors(tensors, { format: "pt", note: "ünïcode" });
  const { tensors: back, metadata } = readSafetensors(bytes);
  assert.deepEqual(metadata, { format: "pt", note: "ünïcode" });
  assert.deepEqual([...back.keys()].sort(), [...tensors.keys()].sort());
  for (const [name, t] of tensors) {
    const r = back.get(name)!;
    assert.equal(r.dtype, "F32");
    assert.deepEqual(r.shape, t.shape, name);
    assert.deepEqual([...r.data], [...t.data], name);
  }
  assert.ok(Object.is(back.get("b.weight")!.data[4], -0), "negative zero kept");
});

Deno.test("writeSafetensors() pads the header with spaces to 8-byte alignment", () => {
  for (const name of ["x", "xy", "xyz", "long.tensor.name.1"]) {
    const bytes = writeSafetensors(new Map([[name, { shape: [1], data: new Float32Array([1]) }]]));
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + n) % 8, 0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    assert.match(text, /^\{.*\} *$/);
    const header = JSON.parse(text);
    assert.deepEqual(header[name], { dtype: "F32", shape: [1], data_offsets: [0, 4] });
    assert.equal(new DataView(bytes.buffer).getFloat32(8 + n, true), 1);
  }
});

Deno.test("writeSafetensors() refuses a value count that differs from the shape", () => {
  throwsWith(
    () => writeSafetensors(new Map([["w", { shape: [2, 2], data: new Float32Array(3) }]])),
    '"w"',
    "needs 4 values, got 3",
  );
});

Deno.test("readSafetensors() converts F16 and BF16 to the hand-computed float32 values", () => {
  // F16: 1, -2, 1/3 rounded, smallest subnormal 2^-24, largest finite 65504, +inf, -0.
  const f16Bits = [0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff, 0x7c00, 0x8000];
  const f16Want = [1, -2, 0.333251953125, 5.960464477539063e-8, 65504, Infinity, -0];
  // BF16: the top 16 bits of a float32: 1, -3, 0.15625, 3.140625.
  const bf16Bits = [0x3f80, 0xc040, 0x3e20, 0x4049];
  const bf16Want = [1, -3, 0.15625, 3.140625];
  const data = new Uint8Array([...u16le(f16Bits), ...u16le(bf16Bits)]);
  const bytes = build({
    h: { dtype: "F16", shape: [7], data_offsets: [0, 14] },
    b: { dtype: "BF16", shape: [2, 2], data_offsets: [14, 22] },
  }, data);
  const { tensors } = readSafetensors(bytes);
  assert.equal(tensors.get("h")!.dtype, "F16");
  assert.deepEqual([...tensors.get("h")!.data], f16Want);
  assert.ok(Object.is(tensors.get("h")!.data[6], -0));
  assert.deepEqual(tensors.get("b")!.shape, [2, 2]);
  assert.deepEqual([...tensors.get("b")!.data], bf16Want);
});

Deno.test("readSafetensors() converts F64, I64 and I32 to float32", () => {
  const data = new Uint8Array(16 + 16 + 8);
  const v = new DataView(data.buffer);
  v.setFloat64(0, 0.1, true);
  v.setFloat64(8, -1e300, true);
  v.setBigInt64(16, -5n, true);
  v.setBigInt64(24, 1000n, true);
  v.setInt32(32, -7, true);
  v.setInt32(36, 123456, true);
  const { tensors } = readSafetensors(build({
    f: { dtype: "F64", shape: [2], data_offsets: [0, 16] },
    l: { dtype: "I64", shape: [2], data_offsets: [16, 32] },
    i: { dtype: "I32", shape: [2], data_offsets: [32, 40] },
  }, data));
  assert.deepEqual([...tensors.get("f")!.data], [Math.fround(0.1), -Infinity]);
  assert.deepEqual([...tensors.get("l")!.data], [-5, 1000]);
  assert.deepEqual([...tensors.get("i")!.data], [-7, 123456]);
});

Deno.test("readSafetensors() rejects truncated files with the reason", () => {
  const good = writeSafetensors(new Map([["w", { shape: [4], data: new Float32Array(4) }]]));
  throwsWith(() => readSafetensors(good.subarray(0, 5)), "shorter than its 8-byte header length");
  throwsWith(() => readSafetensors(good.subarray(0, 20)), "header length", "exceeds");
  throwsWith(() => readSafetensors(good.subarray(0, good.length - 1)), '"w"', "run past");
});

Deno.test("readSafetensors() rejects invalid JSON and non-object headers", () => {
  throwsWith(
    () => readSafetensors(build(null, new Uint8Array(0), "{not json")),
    "not valid UTF-8 JSON",
  );
  throwsWith(() => readSafetensors(build([1, 2], new Uint8Array(0))), "not a JSON object");
});

Deno.test("readSafetensors() rejects offsets that disagree with the shape, overlap or leave gaps", () => {
  const d8 = new Uint8Array(8);
  throwsWith(
    () => readSafetensors(build({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, d8)),
    '"w"',
    "hold 8 bytes",
    "needs 12",
  );
  throwsWith(
    () =>
      readSafetensors(build({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
      }, d8)),
    "overlap",
    '"a"',
  );
  throwsWith(
    () => readSafetensors(build({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, d8)),
    '"a"',
    "gap",
  );
  throwsWith(
    () => readSafetensors(build({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, d8)),
    "cover 4 of the 8",
  );
  throwsWith(
    () => readSafetensors(build({ a: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, d8)),
    '"a"',
    "not [begin, end]",
  );
});

Deno.test("readSafetensors() names the tensor and the supported dtypes for an unknown dtype", () => {
  throwsWith(
    () =>
      readSafetensors(
        build({ q: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      ),
    '"q"',
    "F8_E4M3",
    "BF16",
  );
});

Deno.test("saveSafetensorsFile() writes through a temp file and loadSafetensorsFile() reads it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/m.safetensors`;
    await saveSafetensorsFile(
      path,
      new Map([["x", { shape: [2], data: new Float32Array([3, 4]) }]]),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.safetensors"]);
    const { tensors } = await loadSafetensorsFile(path);
    assert.deepEqual([...tensors.get("x")!.data], [3, 4]);
    await assert.rejects(() => loadSafetensorsFile(`${dir}/missing.safetensors`), /does not exist/);
    await Deno.writeFile(`${dir}/bad.safetensors`, new Uint8Array(3));
    await assert.rejects(() => loadSafetensorsFile(`${dir}/bad.safetensors`), /bad\.safetensors: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
