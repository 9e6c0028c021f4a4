// torch.save's legacy stream format, written by tests/_torch_legacy_writer.ts as PyTorch's
// `_legacy_save` lays it out, including a file with the exact names and shapes of pytorch-fid's
// Inception weights.
import { assert } from "./_assert.ts";
import { readTorchStateDict } from "../src/formats/torch_pickle.ts";
import { loadTorchStateDictFile } from "../src/io/torch_file.ts";
import { torchSaveLegacy } from "./_torch_legacy_writer.ts";
import { randomInceptionStateDict, referenceShapes } from "./_inception_state_dict.ts";
import { inceptionWeightShapes } from "../src/metrics/inception_layers.ts";
import { Pickle } from "./_torch_writer.ts";

const ignore = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";

Deno.test({
  name:
    "readTorchStateDict() reads a legacy file: float32, 0-d int64, _metadata, either byte order",
  ignore,
  fn() {
    const tensors = new Map([
      ["conv.weight", { shape: [2, 1, 1, 3], data: Float32Array.of(1, -2, 3.5, 4, 5, -6e-8) }],
      ["bn.num_batches_tracked", { shape: [], data: BigInt64Array.of(1234n) }],
      ["fc.bias", { shape: [3], data: Float32Array.of(0.25, 0, -1) }],
    ]);
    for (const littleEndian of [true, false]) {
      const sd = readTorchStateDict(torchSaveLegacy(tensors, { littleEndian }));
      assert.deepEqual([...sd.keys()], [...tensors.keys()], "file order");
      for (const [name, t] of tensors) {
        const got = sd.get(name)!;
        assert.deepEqual(got.shape, t.shape, name);
        assert.deepEqual([...got.data], Array.from(t.data, Number).map(Math.fround), name);
      }
      assert.equal(sd.get("bn.num_batches_tracked")!.dtype, "I64");
    }
  },
});

Deno.test({
  name:
    "readTorchStateDict() reads the 566 tensors of the FID Inception file with their names and shapes",
  ignore,
  fn() {
    const written = randomInceptionStateDict(7);
    const sd = readTorchStateDict(torchSaveLegacy(written));
    const shapes = referenceShapes();
    assert.equal(sd.size, 566);
    assert.deepEqual([...sd.keys()], [...shapes.keys()]);
    let params = 0;
    for (const [name, shape] of shapes) {
      assert.deepEqual(sd.get(name)!.shape, shape, name);
      if (!/running_|num_batches/.test(name)) params += shape.reduce((a, b) => a * b, 1);
    }
    // torchvision's Inception3 without AuxLogits has 23,834,568 parameters with 1000 classes;
    // the 1008-class head adds 8 * 2048 + 8.
    assert.equal(params, 23_834_568 + 8 * 2049);
    assert.deepEqual(sd.get("fc.weight")!.shape, [1008, 2048]);
    assert.deepEqual(sd.get("Mixed_7c.branch_pool.bn.num_batches_tracked")!.shape, []);
    assert.deepEqual([...sd.get("Mixed_7c.branch_pool.bn.num_batches_tracked")!.data], [1000]);
    const w = written.get("Mixed_6b.branch7x7_2.conv.weight")!.data as Float32Array;
    assert.deepEqual(sd.get("Mixed_6b.branch7x7_2.conv.weight")!.data, w, "values intact");
    // The project's own table of the network names the same tensors.
    const table = inceptionWeightShapes();
    assert.deepEqual(
      [...table].map(([k, s]) => `${k}:${s}`),
      [...shapes].map(([k, s]) => `${k}:${s}`),
    );
  },
});

Deno.test({
  name: "readTorchStateDict() refuses truncated and inconsistent legacy files, naming the problem",
  ignore,
  async fn() {
    const one = new Map([["w", { shape: [4], data: Float32Array.of(1, 2, 3, 4) }]]);
    const bytes = torchSaveLegacy(one);
    assert.throws(() => readTorchStateDict(bytes.subarray(0, bytes.length - 3)), /truncated/);
    assert.throws(() => readTorchStateDict(bytes.subarray(0, 40)), /ends inside|truncated/);
    // The element count before the data says 1000.
    const big = bytes.slice();
    new DataView(big.buffer).setBigInt64(bytes.length - 16 - 8, 1000n, true);
    assert.throws(() => readTorchStateDict(big), /declares 1000 elements/);
    // A protocol version other than 1001.
    const v = bytes.slice();
    v[18] = 0xea;
    assert.throws(() => readTorchStateDict(v), /protocol version 1002/);
    // A pickle stream that is not torch's: no magic number.
    assert.throws(() => readTorchStateDict(new Pickle().int(5).end()), /magic number/);
    const dir = await Deno.makeTempDir();
    const path = `${dir}/legacy.pth`;
    await Deno.writeFile(path, bytes.subarray(0, 100));
    await assert.rejects(() => loadTorchStateDictFile(path), (err: Error) => {
      assert.equal(err.name, "FormatError");
      assert.ok(err.message.startsWith(path), err.message);
      return true;
    });
    await Deno.remove(dir, { recursive: true });
  },
});
