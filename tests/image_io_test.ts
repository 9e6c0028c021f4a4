import * as tf from "@tensorflow/tfjs";
import { GIF, Image } from "imagescript";
import { assert, assertClose } from "./_assert.ts";
import { setBackend } from "../src/backends/set_backend.ts";
import { decodeImage, decodeImageRgb8 } from "../src/images/image.ts";
import { imagesToGrid } from "../src/images/grid.ts";
import { tensorToImages } from "../src/images/png.ts";
import { encodeGif } from "../src/images/gif.ts";
import { saveGrid } from "../src/io/save_grid.ts";
import { saveImages } from "../src/io/save_images.ts";
import { saveGif } from "../src/io/save_gif.ts";

await setBackend("cpu");

/** Encodes an RGBA image given row by row as [r, g, b, a] pixels. */
async function png(rows: number[][][]): Promise<Uint8Array> {
  const img = new Image(rows[0].length, rows.length);
  img.bitmap.set(rows.flat(2));
  return await img.encode();
}

/** The RGB bytes of a decoded PNG, and its size. */
async function pixels(bytes: Uint8Array): Promise<{ w: number; h: number; rgb: number[] }> {
  const img = await Image.decode(bytes);
  const rgb: number[] = [];
  for (let i = 0; i < img.bitmap.length; i += 4) rgb.push(...img.bitmap.subarray(i, i + 3));
  return { w: img.width, h: img.height, rgb };
}

Deno.test("imagesToGrid() lays images out with gaps and maps [-1, 1] to rounded bytes", async () => {
  // Three 1x2 images (H = 1, W = 2), all channels equal, in a 2-column grid with gap 1.
  const values = [
    [-1, 0], // 0 and round(127.5) = 128
    [0.5, 1], // round(191.25) = 191 and 255
    [-0.996, 1.5], // round(0.51) = 1 and clamped to 255
  ];
  const x = tf.tensor4d(values.flatMap((v) => v.flatMap((c) => [c, c, c])), [3, 1, 2, 3]);
  const before = tf.memory().numTensors;
  const grid = await pixels(await imagesToGrid(x, { cols: 2, gap: 1, background: [10, 20, 30] }));
  assert.equal(tf.memory().numTensors, before, "imagesToGrid leaked tensors");
  x.dispose();
  // Width 2 * 2 + 1 gap, height 2 rows * 1 + 1 gap.
  assert.equal(grid.w, 5);
  assert.equal(grid.h, 3);
  const bg = [10, 20, 30];
  const g = (v: number) => [v, v, v];
  const expected = [
    [...g(0), ...g(128), ...bg, ...g(191), ...g(255)],
    [...bg, ...bg, ...bg, ...bg, ...bg],
    [...g(1), ...g(255), ...bg, ...bg, ...bg], // the empty cell is background
  ].flat();
  assert.deepEqual(grid.rgb, expected);
});

Deno.test("imagesToGrid() defaults to ceil(sqrt(N)) columns, gap 2, black, and accepts one channel", async () => {
  const x = tf.fill([5, 3, 4, 1], 1) as tf.Tensor4D;
  const grid = await pixels(await imagesToGrid(x));
  x.dispose();
  assert.equal(grid.w, 3 * 4 + 2 * 2);
  assert.equal(grid.h, 2 * 3 + 1 * 2);
  assert.deepEqual(grid.rgb.slice(0, 3), [255, 255, 255]);
  assert.deepEqual(grid.rgb.slice(4 * 3, 5 * 3), [0, 0, 0], "gap pixel");
});

Deno.test("imagesToGrid() rejects a non-image tensor and bad layout options", async () => {
  const x3 = tf.zeros([2, 2, 3]);
  await assert.rejects(() => imagesToGrid(x3 as unknown as tf.Tensor4D), TypeError);
  x3.dispose();
  const x = tf.zeros([1, 2, 2, 4]) as tf.Tensor4D;
  await assert.rejects(() => imagesToGrid(x), TypeError);
  x.dispose();
  const y = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
  await assert.rejects(() => imagesToGrid(y, { cols: 0 }), RangeError);
  await assert.rejects(() => imagesToGrid(y, { gap: -1 }), RangeError);
  y.dispose();
});

Deno.test("saveGrid() and saveImages() write PNGs that decode to the tensor's pixels", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const x = tf.tensor4d([-1, 0, 1, 0.2, 0.4, 0.6], [2, 1, 1, 3]);
    await saveGrid(x, `${dir}/sub/grid.png`, { cols: 2, gap: 0 });
    const grid = await pixels(await Deno.readFile(`${dir}/sub/grid.png`));
    // round(1.2 * 127.5) = 153, round(1.4 * 127.5) = 178.5 -> 179, round(1.6 * 127.5) = 204
    assert.deepEqual(grid.rgb, [0, 128, 255, 153, 179, 204]);
    const paths = await saveImages(x, `${dir}/each`);
    assert.deepEqual(paths, [`${dir}/each/image_0000.png`, `${dir}/each/image_0001.png`]);
    assert.deepEqual((await pixels(await Deno.readFile(paths[1]))).rgb, [153, 179, 204]);
    const pngs = await tensorToImages(x);
    assert.equal(pngs.length, 2);
    x.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encodeGif() writes the requested frames, the last held longer", async () => {
  const frames = Array.from(
    { length: 5 },
    (_, i) => tf.fill([4, 3, 3, 3], i / 2 - 1) as tf.Tensor4D,
  );
  const before = tf.memory().numTensors;
  const bytes = await encodeGif(frames, { delayMs: 80, holdLastMs: 1500, cols: 2, gap: 1 });
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(frames);
  const gif = await GIF.decode(bytes);
  assert.equal(gif.length, 5);
  assert.equal(gif.width, 7);
  assert.equal(gif.height, 7);
  const durations: number[] = [];
  for (const frame of gif) durations.push(frame.duration);
  assert.deepEqual(durations, [80, 80, 80, 80, 1500]);
  // The GIF palette is lossy only in colour count; a flat grey survives within a few levels.
  assert.ok(Math.abs(gif[2].bitmap[0] - 128) <= 2, `frame 2 pixel ${gif[2].bitmap[0]}`);
});

Deno.test("encodeGif() accepts PNG frames and rejects frames of different sizes", async () => {
  const a = await png([[[255, 0, 0, 255], [0, 255, 0, 255]]]);
  const gif = await GIF.decode(await encodeGif([a, a, a]));
  assert.equal(gif.length, 3);
  const b = await png([[[255, 0, 0, 255]]]);
  await assert.rejects(() => encodeGif([a, b]), RangeError);
  await assert.rejects(() => encodeGif([]), RangeError);
  const dir = await Deno.makeTempDir();
  try {
    await saveGif([a, a], `${dir}/x/steps.gif`);
    assert.equal((await GIF.decode(await Deno.readFile(`${dir}/x/steps.gif`))).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeImageRgb8() centre-crops a wide image and averages when shrinking", async () => {
  // 4x2: the centre square is columns 1-2. Red channel there: 10, 20 / 30, 40 -> mean 25.
  const bytes = await png([
    [[99, 0, 0, 255], [10, 1, 2, 255], [20, 3, 4, 255], [99, 0, 0, 255]],
    [[99, 0, 0, 255], [30, 5, 6, 255], [40, 7, 8, 255], [99, 0, 0, 255]],
  ]);
  assert.deepEqual(Array.from(await decodeImageRgb8(bytes, { resolution: 1 })), [25, 4, 5]);
  assert.deepEqual(
    Array.from(await decodeImageRgb8(bytes, { resolution: 2 })),
    [10, 1, 2, 20, 3, 4, 30, 5, 6, 40, 7, 8],
  );
});

Deno.test("decodeImageRgb8() centre-crops a tall image", async () => {
  const rows = [0, 60, 120, 180].map((v) => [[v, v, v, 255], [v, v, v, 255]]);
  const out = await decodeImageRgb8(await png(rows), { resolution: 2 });
  // Rows 1 and 2 of 4 survive.
  assert.deepEqual(Array.from(out), [60, 60, 60, 60, 60, 60, 120, 120, 120, 120, 120, 120]);
});

Deno.test("decodeImageRgb8() resizes 3 -> 2 by area and 2 -> 4 bilinearly", async () => {
  // Columns 0, 90, 180: output pixel 0 covers [0, 1.5) -> (2/3)0 + (1/3)90 = 30,
  // pixel 1 covers [1.5, 3) -> (1/3)90 + (2/3)180 = 150.
  const row = [0, 90, 180].map((v) => [v, v, v, 255]);
  const down = await decodeImageRgb8(await png([row, row, row]), { resolution: 2 });
  assert.deepEqual(Array.from(down).filter((_, i) => i % 3 === 0), [30, 150, 30, 150]);
  // Columns 0, 200 at centres 0.5 and 1.5; outputs sample at 0.25, 0.75, 1.25, 1.75 (input
  // units) -> clamped, 0.25, 0.75, clamped -> 0, 50, 150, 200.
  const row2 = [0, 200].map((v) => [v, v, v, 255]);
  const up = await decodeImageRgb8(await png([row2, row2]), { resolution: 4 });
  assert.deepEqual(Array.from(up).filter((_, i) => i % 3 === 0), [
    ...[0, 50, 150, 200],
    ...[0, 50, 150, 200],
    ...[0, 50, 150, 200],
    ...[0, 50, 150, 200],
  ]);
});

Deno.test("decodeImageRgb8() composites alpha on white", async () => {
  const bytes = await png([[[100, 0, 200, 128], [7, 8, 9, 0]]]);
  const out = await decodeImageRgb8(bytes, { resolution: 1 });
  // Square crop keeps the left pixel (offset floor(1 / 2) = 0). With a = 128 / 255:
  // 100a + 255(1 - a) = 177.196..., 255(1 - a) = 127, 200a + 255(1 - a) = 227.39...
  assert.deepEqual(Array.from(out), [177, 127, 227]);
  const clear = await decodeImageRgb8(await png([[[7, 8, 9, 0]]]), { resolution: 1 });
  assert.deepEqual(Array.from(clear), [255, 255, 255]);
});

Deno.test("decodeImage() scales bytes to [-1, 1] and reads JPEG", async () => {
  const img = new Image(8, 8).fill(0x336699ff);
  const x = await decodeImage(await img.encode(), { resolution: 2 });
  assertClose(x, Array(4).fill([0x33, 0x66, 0x99]).flat().map((v) => v / 127.5 - 1), {
    atol: 1e-6,
  });
  const jpeg = await decodeImageRgb8(await img.encodeJPEG(95), { resolution: 2 });
  assertClose(jpeg, Array(4).fill([0x33, 0x66, 0x99]).flat(), { atol: 4 });
});

Deno.test("decodeImageRgb8() names the file when it is corrupt or not PNG/JPEG", async () => {
  const good = await png([[[1, 2, 3, 255]]]);
  await assert.rejects(
    () => decodeImageRgb8(good.slice(0, 40), { resolution: 4, name: "cat.png" }),
    /cat\.png.*corrupt/,
  );
  await assert.rejects(
    () =>
      decodeImageRgb8(new TextEncoder().encode("hello world"), { resolution: 4, name: "a.jpg" }),
    /a\.jpg.*only PNG and JPEG/,
  );
  await assert.rejects(() => decodeImageRgb8(good, { resolution: 0 }), RangeError);
});
