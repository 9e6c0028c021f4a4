// Activation statistics, the Inception Score's arithmetic, NumPy's permutation, and the .npz
// files that hold FID statistics: host code, checked against direct float64 computations,
// closed forms and published reference values.
import { crc32 } from "node:zlib";
import { assert, assertClose, assertNear } from "./_assert.ts";
import { ActivationStatsAccumulator } from "../src/metrics/activation_stats.ts";
import { inceptionScoreFromLogits } from "../src/metrics/inception_score_math.ts";
import { _Mt19937, _numpyPermutation } from "../src/metrics/_numpy_permutation.ts";
import { loadActivationStats, saveActivationStats } from "../src/metrics/stats_file.ts";
import { decodeNpy, encodeNpy, readNpz, writeNpz } from "../src/formats/npy.ts";
import { writeZip } from "../src/formats/zip_writer.ts";
import { openZip } from "../src/formats/zip.ts";
import { mulberry32 } from "../src/random.ts";

const ignore = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";

Deno.test({
  name:
    "ActivationStatsAccumulator gives np.mean and np.cov (ddof 1) within 1e-13, whatever the batches",
  ignore,
  fn() {
    const d = 9, n = 23;
    const rand = mulberry32(4);
    // An offset of 1000 makes a naive sum of squares lose 6 digits; the shift keeps them.
    const x = Float32Array.from({ length: n * d }, (_, i) => 1000 + (i % d) + rand());
    const mu = new Float64Array(d);
    for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) mu[i] += x[r * d + i] / n;
    const cov = new Float64Array(d * d);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          cov[i * d + j] += (x[r * d + i] - mu[i]) * (x[r * d + j] - mu[j]) / (n - 1);
        }
      }
    }
    for (const sizes of [[23], [1, 1, 21], [4, 4, 4, 4, 4, 3], [7, 9, 7]]) {
      const acc = new ActivationStatsAccumulator(d);
      let at = 0;
      for (const s of sizes) {
        acc.add(x.subarray(at * d, (at + s) * d));
        at += s;
      }
      assert.equal(acc.count, n);
      const got = acc.result();
      assertClose(got.mu, mu, { rtol: 1e-13, msg: `mu ${sizes}` });
      assertClose(got.sigma, cov, { rtol: 0, atol: 1e-13, msg: `sigma ${sizes}` });
    }
    const one = new ActivationStatsAccumulator(2);
    one.add([1, 2]);
    assert.throws(() => one.result(), /at least 2/);
    assert.throws(() => one.add([1, NaN]), /NaN/);
    assert.throws(() => one.add([1, 2, 3]), /vectors of 2/);
  },
});

Deno.test({
  name:
    "NumPy's RandomState: MT19937's 10000th output of seed 5489 is 4123659995; permutation(20) of seed 2020 is numpy's",
  ignore,
  fn() {
    // The C++ standard's check value for mt19937 (std::mt19937's default seed is 5489).
    const g = new _Mt19937(5489);
    let x = 0;
    for (let i = 0; i < 10000; i++) x = g.next();
    assert.equal(x, 4123659995);
    // np.random.RandomState(2020).permutation(20), printed by NumPy 2.4.
    assert.deepEqual(
      [..._numpyPermutation(20, 2020)],
      [6, 9, 12, 4, 5, 14, 1, 2, 15, 10, 19, 18, 7, 16, 13, 11, 17, 3, 8, 0],
    );
    const big = _numpyPermutation(50000, 2020);
    assert.deepEqual([...big.slice(0, 5)], [24397, 39273, 6546, 13504, 49765]);
    assert.equal(new Set(big).size, 50000, "a permutation");
  },
});

// The Inception Score written out directly from its definition, in float64, for comparison.
function directIs(logits: Float32Array, classes: number, order: ArrayLike<number>, splits: number) {
  const n = logits.length / classes;
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const rows: number[][] = [];
    for (let r = Math.floor(s * n / splits); r < Math.floor((s + 1) * n / splits); r++) {
      const l = Array.from(logits.subarray(order[r] * classes, (order[r] + 1) * classes));
      const z = l.reduce((a, v) => a + Math.exp(v), 0);
      rows.push(l.map((v) => Math.exp(v) / z));
    }
    const py = Array.from(
      { length: classes },
      (_, c) => rows.reduce((a, p) => a + p[c], 0) / rows.length,
    );
    const kl = rows.reduce(
      (a, p) => a + p.reduce((b, pc, c) => b + pc * Math.log(pc / py[c]), 0),
      0,
    );
    scores.push(Math.exp(kl / rows.length));
  }
  const mean = scores.reduce((a, b) => a + b) / splits;
  return { mean, std: Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits), scores };
}

Deno.test({
  name:
    "inceptionScoreFromLogits() matches the definition on shuffled splits within 1e-12, and closed forms",
  ignore,
  fn() {
    const classes = 7, n = 53;
    const rand = mulberry32(8);
    const logits = Float32Array.from({ length: n * classes }, () => 4 * rand() - 2);
    const got = inceptionScoreFromLogits(logits, classes, { splits: 10 });
    const want = directIs(logits, classes, _numpyPermutation(n, 2020), 10);
    assertClose(got.scores, want.scores, { rtol: 1e-12 });
    assertNear(got.mean, want.mean, 1e-12 * want.mean);
    assertNear(got.std, want.std, 1e-10);
    const plain = inceptionScoreFromLogits(logits, classes, { splits: 3, shuffle: false });
    const wantPlain = directIs(logits, classes, Array.from({ length: n }, (_, i) => i), 3);
    assertClose(plain.scores, wantPlain.scores, { rtol: 1e-12 });
    // Confident predictions spread evenly over k classes score k; identical ones score 1.
    const k = 5;
    const sure = Float32Array.from(
      { length: 50 * k },
      (_, i) => (i % k === Math.floor(i / k) % k ? 60 : 0),
    );
    assertNear(inceptionScoreFromLogits(sure, k, { splits: 2, shuffle: false }).mean, k, 1e-9);
    const same = Float32Array.from({ length: 50 * k }, (_, i) => i % k);
    assertNear(inceptionScoreFromLogits(same, k).mean, 1, 1e-12);
    assert.throws(
      () => inceptionScoreFromLogits(new Float32Array(9 * 2), 2),
      /9 images cannot make 10 splits/,
    );
  },
});

Deno.test({
  name: "npy round trip; float32, big-endian and Fortran-order arrays decode to C-order float64",
  ignore,
  fn() {
    const a = { shape: [2, 3], data: Float64Array.from([1.5, -2, 3e-300, Math.PI, 0, -0]) };
    const bytes = encodeNpy(a);
    assert.equal((bytes.length - 0) % 64, (6 * 8) % 64, "header padded to 64 bytes");
    const back = decodeNpy(bytes);
    assert.deepEqual(back.shape, [2, 3]);
    assert.deepEqual([...back.data], [...a.data]);
    // Hand-built: '>f4', fortran_order True, shape (2, 3): columns stored one after another.
    const header = "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }";
    const pad = " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
    const head = new TextEncoder().encode(header + pad);
    const file = new Uint8Array(10 + head.length + 24);
    file.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
    new DataView(file.buffer).setUint16(8, head.length, true);
    file.set(head, 10);
    const body = new DataView(file.buffer, 10 + head.length);
    // Matrix [[1, 2, 3], [4, 5, 6]] in column order: 1 4 2 5 3 6.
    [1, 4, 2, 5, 3, 6].forEach((v, i) => body.setFloat32(i * 4, v, false));
    assert.deepEqual([...decodeNpy(file).data], [1, 2, 3, 4, 5, 6]);
    const int = new TextEncoder().encode(
      "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
    );
    const bad = new Uint8Array(10 + int.length + 8);
    bad.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
    new DataView(bad.buffer).setUint16(8, int.length, true);
    bad.set(int, 10);
    assert.throws(() => decodeNpy(bad), /'<i8' is not a float/);
    assert.throws(() => decodeNpy(bytes.subarray(0, bytes.length - 8)), /needs 48 bytes/);
  },
});

// CRC-32 bit by bit (polynomial 0xEDB88320), independent of node:zlib's table.
function crcBitwise(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

Deno.test({
  name: "writeZip() stores entries with correct CRC-32s that the ZIP reader reads back",
  ignore,
  fn() {
    const files = {
      "mu.npy": new Uint8Array([1, 2, 3]),
      "dir/é.bin": new TextEncoder().encode("hello, zip"),
      "empty": new Uint8Array(0),
    };
    const bytes = writeZip(files);
    const zip = openZip(bytes);
    assert.deepEqual([...zip.entries.keys()], Object.keys(files));
    const view = new DataView(bytes.buffer);
    for (const [name, data] of Object.entries(files)) {
      assert.deepEqual([...zip.read(name)], [...data], name);
      const entry = zip.entries.get(name)!;
      assert.equal(entry.method, 0, "stored");
      assert.equal(view.getUint32(entry.localHeaderOffset + 14, true), crcBitwise(data), name);
      assert.equal(crc32(data) >>> 0, crcBitwise(data));
    }
    assert.deepEqual(writeZip(files), bytes, "the same entries give the same bytes");
  },
});

Deno.test({
  name:
    "saveActivationStats() writes an .npz that loadActivationStats() and readNpz() read back exactly",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const d = 5;
    const mu = Float64Array.from({ length: d }, (_, i) => i / 3);
    const sigma = Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? 2 : 0.1));
    await saveActivationStats(`${dir}/s.npz`, { mu, sigma });
    const back = await loadActivationStats(`${dir}/s.npz`);
    assert.deepEqual([...back.mu], [...mu]);
    assert.deepEqual([...back.sigma], [...sigma]);
    const arrays = readNpz(await Deno.readFile(`${dir}/s.npz`));
    assert.deepEqual([...arrays.keys()], ["mu", "sigma"]);
    assert.deepEqual(arrays.get("sigma")!.shape, [d, d]);
    // Files other tools write: float32 sigma, extra arrays; and what is not statistics.
    await Deno.writeFile(
      `${dir}/f32.npz`,
      writeNpz({
        mu: { shape: [1], data: Float64Array.of(1) },
        sigma: { shape: [1, 1], data: Float64Array.of(4) },
      }),
    );
    assert.equal((await loadActivationStats(`${dir}/f32.npz`)).sigma[0], 4);
    await Deno.writeFile(
      `${dir}/no_sigma.npz`,
      writeNpz({ mu: { shape: [1], data: Float64Array.of(1) } }),
    );
    await assert.rejects(() => loadActivationStats(`${dir}/no_sigma.npz`), /no sigma array/);
    await Deno.writeFile(
      `${dir}/shape.npz`,
      writeNpz({
        mu: { shape: [2], data: new Float64Array(2) },
        sigma: { shape: [3, 3], data: new Float64Array(9) },
      }),
    );
    await assert.rejects(
      () => loadActivationStats(`${dir}/shape.npz`),
      /expected \(d,\) and \(d, d\)/,
    );
    await Deno.writeTextFile(`${dir}/text.npz`, "not a zip");
    await assert.rejects(() => loadActivationStats(`${dir}/text.npz`), /not a readable \.npz/);
    await assert.rejects(() => loadActivationStats(`${dir}/missing.npz`), /does not exist/);
    await Deno.remove(dir, { recursive: true });
  },
});
