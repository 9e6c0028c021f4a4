import * as tf from "@tensorflow/tfjs";
import { Image } from "imagescript";
import { assert, assertClose } from "./_assert.ts";
import { setBackend } from "../src/backends/set_backend.ts";
import { batchIndices } from "../src/data/batch_indices.ts";
import { loadCifar10, parseCifar10 } from "../src/data/cifar10_dataset.ts";
import { loadDataset } from "../src/data/dataset.ts";
import { DatasetError } from "../src/data/dataset_error.ts";
import { emojiFolder } from "../src/data/emoji_dataset.ts";
import { loadImageFolder } from "../src/data/folder_dataset.ts";
import { createDataset } from "../src/data/in_memory_dataset.ts";

await setBackend("cpu");

async function solidPng(w: number, h: number, rgba: number): Promise<Uint8Array> {
  return await new Image(w, h).fill(rgba).encode();
}

/** Runs fn with console.warn captured. */
async function withWarnings<T>(fn: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    return { value: await fn(), warnings };
  } finally {
    console.warn = original;
  }
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ddpm_dataset_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A synthetic CIFAR-10 batch: record r has label r % 10 and channel c of pixel i = (r + 7c + i) % 256. */
function cifarBytes(records: number, first = 0): Uint8Array {
  const bytes = new Uint8Array(records * 3073);
  for (let r = 0; r < records; r++) {
    bytes[r * 3073] = (first + r) % 10;
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 1024; i++) {
        bytes[r * 3073 + 1 + c * 1024 + i] = (first + r + 7 * c + i) % 256;
      }
    }
  }
  return bytes;
}

Deno.test("loadImageFolder() loads PNG and JPEG recursively and skips a corrupt file with one warning", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/nested/deeper`, { recursive: true });
    await Deno.writeFile(`${dir}/a.png`, await solidPng(8, 8, 0xff0000ff));
    await Deno.writeFile(`${dir}/nested/deeper/b.PNG`, await solidPng(6, 4, 0x0000ff80));
    await Deno.writeFile(
      `${dir}/nested/c.jpg`,
      await new Image(8, 8).fill(0x808080ff).encodeJPEG(95),
    );
    await Deno.writeFile(
      `${dir}/nested/broken.png`,
      (await solidPng(8, 8, 0xffffffff)).slice(0, 50),
    );
    await Deno.writeFile(`${dir}/readme.txt`, new TextEncoder().encode("not an image"));
    const { value: data, warnings } = await withWarnings(() =>
      loadImageFolder(dir, { resolution: 4, cacheDir: false })
    );
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /nested\/broken\.png/);
    assert.equal(data.size, 3);
    assert.equal(data.resolution, 4);
    assert.equal(data.images.length, 3 * 4 * 4 * 3);
    // Sorted paths: a.png, nested/c.jpg, nested/deeper/b.PNG.
    assert.deepEqual(Array.from(data.images.subarray(0, 3)), [255, 0, 0]);
    assertClose(data.images.subarray(48, 51), [128, 128, 128], { atol: 3 });
    // Blue at alpha 128 on white: 255(1 - 128/255) = 127 for red and green, 255 for blue.
    assert.deepEqual(Array.from(data.images.subarray(96, 99)), [127, 127, 255]);
  });
});

Deno.test("loadImageFolder() and loadDataset() fail with DatasetError on empty, all-corrupt and missing folders", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/empty/sub`, { recursive: true });
    await assert.rejects(
      () => loadDataset(`${dir}/empty`, { resolution: 8, cacheDir: false }),
      (err: unknown) =>
        err instanceof DatasetError && err.message.includes(`${dir}/empty`) &&
        /no usable PNG or JPEG/.test(err.message),
    );
    await Deno.mkdir(`${dir}/bad`);
    await Deno.writeFile(`${dir}/bad/x.png`, new Uint8Array(100));
    const { warnings } = await withWarnings(() =>
      assert.rejects(
        () => loadImageFolder(`${dir}/bad`, { resolution: 8, cacheDir: false }),
        DatasetError,
      )
    );
    assert.equal(warnings.length, 1);
    await assert.rejects(
      () => loadDataset(`${dir}/missing`, { resolution: 8, cacheDir: false }),
      (err: unknown) => err instanceof DatasetError && err.message.includes(`${dir}/missing`),
    );
  });
});

Deno.test("parseCifar10() reorders CHW records to HWC and keeps labels", () => {
  const { count, images, labels } = parseCifar10(cifarBytes(3));
  assert.equal(count, 3);
  assert.deepEqual(Array.from(labels), [0, 1, 2]);
  for (const [r, i] of [[0, 0], [1, 5], [2, 1023]]) {
    const got = Array.from(images.subarray((r * 1024 + i) * 3, (r * 1024 + i) * 3 + 3));
    assert.deepEqual(got, [0, 1, 2].map((c) => (r + 7 * c + i) % 256), `record ${r} pixel ${i}`);
  }
  assert.throws(() => parseCifar10(new Uint8Array(3074), "x.bin"), DatasetError);
  assert.throws(() => parseCifar10(new Uint8Array(0)), DatasetError);
});

Deno.test("loadDataset() reads CIFAR-10 from a file, the batches folder and its parent", async () => {
  await withTempDir(async (dir) => {
    const batches = `${dir}/cifar-10-batches-bin`;
    await Deno.mkdir(batches);
    await Deno.writeFile(`${batches}/data_batch_2.bin`, cifarBytes(2, 10));
    await Deno.writeFile(`${batches}/data_batch_1.bin`, cifarBytes(3, 0));
    await Deno.writeFile(`${batches}/test_batch.bin`, cifarBytes(4, 50));
    const one = await loadDataset(`${batches}/data_batch_2.bin`, {
      resolution: 32,
      cacheDir: false,
    });
    assert.equal(one.size, 2);
    for (const source of [batches, dir]) {
      const data = await loadDataset(source, { resolution: 32, cacheDir: false });
      // Training batches only, in numeric order: 3 records of batch 1 then 2 of batch 2.
      assert.equal(data.size, 5);
      assert.deepEqual(Array.from(data.labels!), [0, 1, 2, 0, 1]);
      assert.equal(data.images[3 * 3072], 10); // record 0 of batch 2, red of pixel 0
    }
    // At 16x16 each output pixel is the mean of a 2x2 block: red of pixel (0, 0) of record 0
    // averages (0 + 1 + 32 + 33) / 4 = 16.5 -> 17 (rounded half up).
    const half = await loadCifar10(batches, { resolution: 16, cacheDir: false });
    assert.equal(half.resolution, 16);
    assert.equal(half.images[0], 17);
    await Deno.writeFile(`${dir}/odd.bin`, new Uint8Array(5000));
    await assert.rejects(() => loadDataset(`${dir}/odd.bin`, { resolution: 32 }), DatasetError);
  });
});

Deno.test("loadDataset() caches decoded images keyed by file size and mtime", async () => {
  await withTempDir(async (dir) => {
    const data = `${dir}/images`;
    const cacheDir = `${dir}/cache`;
    await Deno.mkdir(data);
    await Deno.writeFile(`${data}/a.png`, await solidPng(4, 4, 0x102030ff));
    await Deno.writeFile(`${data}/b.png`, await solidPng(4, 4, 0x405060ff));
    const first = await loadDataset(data, { resolution: 2, cacheDir });
    const cached = [...Deno.readDirSync(cacheDir)].map((e) => e.name);
    assert.equal(cached.length, 1);
    assert.match(cached[0], /^folder-images-2px-[0-9a-f]{16}\.bin$/);
    // Same size, same mtime, other pixels: a cache hit must still return the old pixels.
    const stat = await Deno.stat(`${data}/a.png`);
    const swapped = await solidPng(4, 4, 0x708090ff);
    assert.equal(swapped.length, stat.size);
    await Deno.writeFile(`${data}/a.png`, swapped);
    await Deno.utime(`${data}/a.png`, stat.atime!, stat.mtime!);
    const second = await loadDataset(data, { resolution: 2, cacheDir });
    assert.deepEqual(second.images, first.images);
    assert.equal(second.images[0], 0x10);
    // A new mtime invalidates the entry.
    await Deno.utime(`${data}/a.png`, stat.atime!, new Date(stat.mtime!.getTime() + 5000));
    const third = await loadDataset(data, { resolution: 2, cacheDir });
    assert.equal(third.images[0], 0x70);
    // A corrupt cache file is rebuilt, not trusted.
    for (const name of [...Deno.readDirSync(cacheDir)].map((e) => e.name)) {
      await Deno.writeFile(`${cacheDir}/${name}`, new Uint8Array(10));
    }
    const fourth = await loadDataset(data, { resolution: 2, cacheDir });
    assert.deepEqual(fourth.images, third.images);
  });
});

Deno.test("Dataset.getBatch() scales to [-1, 1], flips columns and leaks no tensors", async () => {
  const r = 3;
  const images = Uint8Array.from({ length: 2 * r * r * 3 }, (_, i) => (i * 11) % 256);
  const data = createDataset(images, r);
  assert.equal(data.size, 2);
  const before = tf.memory().numTensors;
  const x = data.getBatch([1, 0, 1], { flip: [false, false, true] });
  assert.deepEqual(x.shape, [3, r, r, 3]);
  const v = await x.data();
  x.dispose();
  assert.equal(tf.memory().numTensors, before);
  const expected: number[] = [];
  for (const [idx, flip] of [[1, false], [0, false], [1, true]] as const) {
    for (let y = 0; y < r; y++) {
      for (let col = 0; col < r; col++) {
        const sx = flip ? r - 1 - col : col;
        for (let c = 0; c < 3; c++) {
          expected.push(images[((idx * r + y) * r + sx) * 3 + c] / 127.5 - 1);
        }
      }
    }
  }
  assertClose(v, expected, { atol: 1e-6 });
  assert.throws(() => data.getBatch([2]), RangeError);
  assert.throws(() => data.getBatch([0], { flip: [true, false] }), RangeError);
  assert.throws(() => createDataset(new Uint8Array(10), 3), RangeError);
});

Deno.test("batchIndices() is a function of (seed, step) that visits every image once per epoch", () => {
  const size = 10;
  const a = Array.from({ length: 7 }, (_, step) => batchIndices(size, 4, 123, step));
  // Calling in another order (as a resumed run would) gives the same batches.
  for (const step of [6, 2, 5, 0]) assert.deepEqual(batchIndices(size, 4, 123, step), a[step]);
  const stream = a.flat();
  for (let epoch = 0; epoch < 2; epoch++) {
    const seen = stream.slice(epoch * size, (epoch + 1) * size).sort((p, q) => p - q);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], `epoch ${epoch}`);
  }
  assert.notDeepEqual(stream.slice(0, size), stream.slice(size, 2 * size), "epochs reshuffle");
  assert.notDeepEqual(batchIndices(size, 10, 124, 0), batchIndices(size, 10, 123, 0), "seed");
  // A batch larger than the dataset spans several epochs.
  assert.equal(batchIndices(3, 8, 1, 0).length, 8);
  assert.throws(() => batchIndices(0, 4, 1, 0), RangeError);
  assert.throws(() => batchIndices(10, 4, 1, -1), RangeError);
});

const emoji = await emojiFolder().catch(() => undefined);

Deno.test({
  name: "loadDataset('emoji') loads the 3,786 emoji of emoji-datasource-google@16",
  ignore: emoji === undefined,
  fn: async () => {
    await withTempDir(async (cacheDir) => {
      const data = await loadDataset("emoji", { resolution: 16, cacheDir });
      assert.equal(data.size, 3786);
      assert.equal(data.resolution, 16);
      assert.equal(data.images.length, 3786 * 16 * 16 * 3);
      // Emoji are drawn on transparency, which becomes white: corners are white.
      let whiteCorners = 0;
      for (let i = 0; i < data.size; i++) {
        if (data.images.subarray(i * 768, i * 768 + 3).every((v) => v === 255)) whiteCorners++;
      }
      assert.ok(whiteCorners > 0.9 * data.size, `${whiteCorners} white corners`);
      const again = await loadDataset("emoji", { resolution: 16, cacheDir });
      assert.deepEqual(again.images, data.images);
    });
  },
});

Deno.test({
  name: "loadDataset('emoji:faces') loads the faces, hearts and hands, more yellow than the rest",
  ignore: emoji === undefined,
  fn: async () => {
    await withTempDir(async (cacheDir) => {
      const all = await loadDataset("emoji", { resolution: 8, cacheDir });
      const faces = await loadDataset("emoji:faces", { resolution: 8, cacheDir });
      // Counted from the package's own emoji.json: every "Smileys & Emotion" entry and the
      // hand gestures of "People & Body", each image once (skin tones are separate files).
      const entries: { image: string; category: string; subcategory: string }[] = JSON.parse(
        await Deno.readTextFile(`${emoji!.dir}/../../../emoji.json`),
      );
      const expected = entries.filter((e) =>
        e.category === "Smileys & Emotion" ||
        (e.category === "People & Body" && e.subcategory.startsWith("hand"))
      ).length;
      assert.equal(faces.size, expected);
      assert.ok(faces.size > 150 && faces.size < all.size / 10, String(faces.size));
      // Yellow = red and green high, blue low: the faces' mean (r + g) / 2 - b is far above the
      // whole set's, which a wrong or empty filter would not give.
      const yellowness = (d: typeof all) => {
        let sum = 0;
        for (let i = 0; i < d.images.length; i += 3) {
          sum += (d.images[i] + d.images[i + 1]) / 2 - d.images[i + 2];
        }
        return sum / (d.images.length / 3);
      };
      assert.ok(
        yellowness(faces) > yellowness(all) + 10,
        `${yellowness(faces)} vs ${yellowness(all)}`,
      );
    });
  },
});
