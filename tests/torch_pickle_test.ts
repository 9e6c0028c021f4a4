import { assert } from "./_assert.ts";
import { readTorchStateDict } from "../src/formats/torch_pickle.ts";
import { loadTorchStateDictFile } from "../src/io/torch_file.ts";
import { openZip } from "../src/formats/zip.ts";
import { Pickle, zip } from "./_torch_writer.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

function f32(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: Error) => {
    for (const p of parts) assert.ok(err.message.includes(p), `"${err.message}" lacks "${p}"`);
    return true;
  });
}

// ---- tests

Deno.test("readTorchStateDict() loads the shared torch.save fixture with the values its JSON lists", async () => {
  const bytes = await Deno.readFile(new URL("torch_state_dict.bin", FIXTURES));
  const spec = JSON.parse(await Deno.readTextFile(new URL("torch_state_dict.json", FIXTURES)));
  const dtypes: Record<string, string> = {
    float32: "F32",
    float16: "F16",
    bfloat16: "BF16",
    int64: "I64",
  };
  const sd = readTorchStateDict(bytes);
  assert.deepEqual([...sd.keys()], Object.keys(spec.tensors), "keys in file order");
  for (
    const [name, want] of Object.entries(spec.tensors) as [
      string,
      { dtype: string; shape: number[]; values_row_major: number[] },
    ][]
  ) {
    const got = sd.get(name)!;
    assert.equal(got.dtype, dtypes[want.dtype], name);
    assert.deepEqual(got.shape, want.shape, name);
    // The JSON holds the float32 values printed as float64, so equality after fround is exact.
    assert.deepEqual([...got.data], want.values_row_major.map(Math.fround), name);
  }
});

Deno.test("readTorchStateDict() refuses a pickle that asks for os.system and runs nothing", async () => {
  const marker = `${await Deno.makeTempDir()}/pwned`;
  const pkl = new Pickle().global("os", "system").str(`touch ${marker}`).op(0x85).reduce().end();
  throwsWith(() => readTorchStateDict(zip({ "archive/data.pkl": pkl })), '"os.system"', "Refusing");
  const viaStack = new Pickle().str("builtins").str("eval").op(0x93).str("1").op(0x85).reduce()
    .end();
  throwsWith(() => readTorchStateDict(zip({ "archive/data.pkl": viaStack })), '"builtins.eval"');
  const posix = new Pickle().global("posix", "system").end();
  throwsWith(() => readTorchStateDict(zip({ "archive/data.pkl": posix })), '"posix.system"');
  assert.equal(await Deno.stat(marker).then(() => true, () => false), false, "the command ran");
  await Deno.remove(marker.slice(0, -"/pwned".length), { recursive: true });
});

Deno.test("readTorchStateDict() refuses instructions a state dict does not need, by name", () => {
  // INST builds an object by calling a class it names; NEWOBJ calls cls.__new__.
  const inst = new Pickle().mark().op(0x69, ...new TextEncoder().encode("os\nsystem\n")).end();
  throwsWith(() => readTorchStateDict(zip({ "a/data.pkl": inst })), "INST");
  const newobj = new Pickle().global("collections", "OrderedDict").op(0x29, 0x81).end();
  throwsWith(() => readTorchStateDict(zip({ "a/data.pkl": newobj })), "NEWOBJ");
  // Allowed names are still only usable as what they are: a storage type cannot be called.
  const callStorage = new Pickle().global("torch", "FloatStorage").op(0x29).reduce().end();
  throwsWith(
    () => readTorchStateDict(zip({ "a/data.pkl": callStorage })),
    '"torch.FloatStorage" cannot be called',
  );
});

Deno.test("readTorchStateDict() materialises strided views and storage offsets contiguously", () => {
  const storage = f32([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const pkl = new Pickle().dict()
    .str("t").tensor("0", 10, 0, [3, 2], [1, 3]) // the transpose of [[0,1,2],[3,4,5]]
    .str("o").tensor("0", 10, 4, [2, 2], [2, 1]) // a contiguous block from element 4
    .str("s").tensor("0", 10, 1, [2, 2], [4, 2]) // every other element, rows 4 apart
    .op(0x75).end();
  const sd = readTorchStateDict(zip({ "m/data.pkl": pkl, "m/data/0": storage }));
  assert.deepEqual([...sd.get("t")!.data], [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(sd.get("t")!.shape, [3, 2]);
  assert.deepEqual([...sd.get("o")!.data], [4, 5, 6, 7]);
  assert.deepEqual([...sd.get("s")!.data], [1, 3, 5, 7]);
  sd.get("o")!.data[0] = 100;
  assert.equal(sd.get("t")!.data[0], 0, "tensors sharing a storage do not alias");
});

Deno.test("readTorchStateDict() ignores the _metadata state of a module's state_dict()", () => {
  // state_dict() pickles as OrderedDict(...) items, then BUILD with {"_metadata": {...}}.
  const pkl = new Pickle().dict().str("w").tensor("0", 2, 0, [2], [1]).op(0x75)
    .op(0x7d).str("_metadata").op(0x7d).op(0x73).op(0x62).end();
  const sd = readTorchStateDict(zip({ "m/data.pkl": pkl, "m/data/0": f32([1.5, -2]) }));
  assert.deepEqual([...sd.keys()], ["w"]);
  assert.deepEqual([...sd.get("w")!.data], [1.5, -2]);
});

Deno.test("readTorchStateDict() reads deflated, ZIP64 and big-endian archives", () => {
  const pkl = new Pickle().dict().str("w").tensor("0", 3, 0, [3], [1]).op(0x75).end();
  const files = { "m/data.pkl": pkl, "m/data/0": f32([1, 2, 3]) };
  for (const opts of [{ deflate: true }, { zip64: true }, { zip64: true, deflate: true }]) {
    const sd = readTorchStateDict(zip(files, opts));
    assert.deepEqual([...sd.get("w")!.data], [1, 2, 3], JSON.stringify(opts));
  }
  const big = new Uint8Array(12);
  [1, 2, 3].forEach((v, i) => new DataView(big.buffer).setFloat32(4 * i, v, false));
  const sd = readTorchStateDict(
    zip({ ...files, "m/data/0": big, "m/byteorder": new TextEncoder().encode("big") }),
  );
  assert.deepEqual([...sd.get("w")!.data], [1, 2, 3]);
});

Deno.test("readTorchStateDict() rejects a tensor that reaches past its storage", () => {
  const pkl = new Pickle().dict().str("w").tensor("0", 4, 2, [2, 2], [2, 1]).op(0x75).end();
  throwsWith(
    () => readTorchStateDict(zip({ "m/data.pkl": pkl, "m/data/0": f32([0, 1, 2, 3]) })),
    "needs 6 elements",
    "holds 4",
  );
  const missing = new Pickle().dict().str("w").tensor("7", 1, 0, [1], [1]).op(0x75).end();
  throwsWith(() => readTorchStateDict(zip({ "m/data.pkl": missing })), "m/data/7 is missing");
});

Deno.test("readTorchStateDict() fails clearly on truncated or foreign files", async () => {
  const bytes = await Deno.readFile(new URL("torch_state_dict.bin", FIXTURES));
  for (const cut of [10, 1000, bytes.length - 30]) {
    assert.throws(
      () => readTorchStateDict(bytes.subarray(0, cut)),
      /truncated or corrupt/,
      `cut at ${cut}`,
    );
  }
  // A pickle cut short inside an instruction.
  const pkl = new Pickle().dict().str("w").end().subarray(0, -3);
  throwsWith(() => readTorchStateDict(zip({ "m/data.pkl": pkl })), "ends inside an instruction");
  throwsWith(
    () => readTorchStateDict(new Uint8Array([0x80, 0x02, 0x8a, 0x0a])),
    "magic number",
    "truncated",
  );
  throwsWith(() => readTorchStateDict(zip({ "x.txt": new Uint8Array(1) })), "data.pkl");
  await assert.rejects(() => loadTorchStateDictFile("/nonexistent/model.bin"), /does not exist/);
});

Deno.test("openZip() reads entry names and bytes, and refuses entries outside the file", () => {
  const archive = zip({
    "a/b.txt": new TextEncoder().encode("hello"),
    "c": new Uint8Array([1, 2]),
  });
  const z = openZip(archive);
  assert.deepEqual([...z.entries.keys()], ["a/b.txt", "c"]);
  assert.equal(new TextDecoder().decode(z.read("a/b.txt")), "hello");
  assert.throws(() => z.read("nope"), /not in the archive/);
  // Point the first entry's local header offset past the end of the file.
  const bad = archive.slice();
  const cd = new DataView(bad.buffer).getUint32(bad.length - 22 + 16, true);
  new DataView(bad.buffer).setUint32(cd + 42, bad.length + 100, true);
  assert.throws(() => openZip(bad).read("a/b.txt"), /local header/);
});

Deno.test("readTorchStateDict() refuses a view with more elements than its storage", () => {
  // Shape [1000000] with stride 0 would repeat one stored float a million times.
  const pkl = new Pickle().dict().str("w").tensor("0", 1, 0, [1000000], [0]).op(0x75).end();
  throwsWith(
    () => readTorchStateDict(zip({ "m/data.pkl": pkl, "m/data/0": f32([1]) })),
    "more elements than its storage",
  );
});
