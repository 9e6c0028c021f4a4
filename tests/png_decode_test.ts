// decodePng() against the PNG specification (hand-built files of every colour type, bit depth,
// filter and interlace, expected pixels computed from the samples here) and against imagescript's
// decoder (those files and the emoji PNGs), pixel for pixel; and its refusals.
import { Image } from "imagescript";
import { decodePng, FormatError, LimitError } from "../mod.ts";
import { assert } from "./_assert.ts";
import { buildPng, pngChunk, type PngSpec } from "./_png_builder.ts";

const W = 13, H = 11; // odd sizes, so every Adam7 pass has a partial last block

/** A deterministic sample in [0, 2^depth). */
function hash(x: number, y: number, c: number, depth: number): number {
  let h = (x * 374761393 + y * 668265263 + c * 2147483647) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177) >>> 0;
  return (h ^ (h >>> 16)) & ((1 << depth) - 1);
}

/** 8-bit value of a sample: 16-bit keeps its high byte; lower depths scale to 0-255. */
function to8(v: number, depth: number): number {
  return depth === 16 ? v >> 8 : depth === 8 ? v : (v * 255) / ((1 << depth) - 1);
}

interface Case {
  name: string;
  spec: PngSpec;
  expected: Uint8Array;
}

function cases(): Case[] {
  const out: Case[] = [];
  const depths = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  for (const [ct, ds] of Object.entries(depths)) {
    const colorType = Number(ct) as PngSpec["colorType"];
    for (const depth of ds) {
      for (const interlace of [false, true]) {
        for (const withTrns of colorType === 4 || colorType === 6 ? [false] : [false, true]) {
          const sample = (x: number, y: number, c: number) => hash(x, y, c, depth);
          const spec: PngSpec = {
            width: W,
            height: H,
            bitDepth: depth,
            colorType,
            interlace,
            sample,
          };
          const entries = colorType === 3 ? 1 << depth : 0;
          if (colorType === 3) {
            spec.palette = Uint8Array.from({ length: 3 * entries }, (_, i) => (i * 37 + 11) & 0xff);
            // tRNS shorter than the palette: the rest stay opaque.
            if (withTrns) {
              spec.trns = Uint8Array.from({ length: Math.max(1, entries >> 1) }, (_, i) => i * 9);
            }
          } else if (withTrns) {
            const key = Array.from({ length: colorType === 0 ? 1 : 3 }, (_, c) => sample(2, 3, c));
            spec.trns = new Uint8Array(key.flatMap((k) => [k >> 8, k & 0xff]));
          }
          const expected = new Uint8Array(W * H * 4);
          for (let y = 0; y < H; y++) {
            for (let x = 0; x < W; x++) {
              const o = (y * W + x) * 4;
              const s = (c: number) => sample(x, y, c);
              let rgba: number[];
              if (colorType === 3) {
                const i = s(0);
                rgba = [...spec.palette!.subarray(3 * i, 3 * i + 3), spec.trns?.[i] ?? 255];
              } else if (colorType === 0) {
                const g = to8(s(0), depth);
                // The colour that tRNS names is transparent black.
                rgba = spec.trns && s(0) === sample(2, 3, 0) ? [0, 0, 0, 0] : [g, g, g, 255];
              } else if (colorType === 4) {
                const g = to8(s(0), depth);
                rgba = [g, g, g, to8(s(1), depth)];
              } else if (colorType === 2) {
                const key = [0, 1, 2].every((c) => s(c) === sample(2, 3, c));
                rgba = spec.trns && key
                  ? [0, 0, 0, 0]
                  : [0, 1, 2].map((c) => to8(s(c), depth)).concat(255);
              } else {
                rgba = [0, 1, 2, 3].map((c) => to8(s(c), depth));
              }
              expected.set(rgba, o);
            }
          }
          const name = `colour type ${colorType}, ${depth}-bit${interlace ? ", Adam7" : ""}${
            withTrns ? ", tRNS" : ""
          }`;
          out.push({ name, spec: { ...spec, idatChunks: interlace ? 3 : 1 }, expected });
        }
      }
    }
  }
  return out;
}

function firstDifference(a: Uint8Array | Uint8ClampedArray, b: Uint8Array | Uint8ClampedArray) {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      return `pixel ${Math.floor(i / 4)} channel ${i % 4}: ${a[i]} vs ${b[i]}`;
    }
  }
  return undefined;
}

Deno.test("decodePng() decodes every colour type, bit depth, filter and interlace as the specification says", async () => {
  const all = cases();
  assert.equal(all.length, 52);
  for (const c of all) {
    const png = await buildPng(c.spec);
    const image = await decodePng(png, { name: c.name });
    assert.equal(image.width, W, c.name);
    assert.equal(image.height, H, c.name);
    const diff = firstDifference(image.data, c.expected);
    assert.equal(diff, undefined, `${c.name}: ${diff}`);
  }
});

Deno.test("decodePng() matches imagescript's decoder pixel for pixel on the hand-built PNGs", async () => {
  for (const c of cases()) {
    const png = await buildPng(c.spec);
    const ours = await decodePng(png);
    const theirs = await Image.decode(png);
    const diff = firstDifference(ours.data, theirs.bitmap);
    assert.equal(diff, undefined, `${c.name}: ${diff}`);
  }
});

Deno.test("decodePng() matches imagescript's decoder pixel for pixel on emoji PNGs", async () => {
  const dir = new URL(import.meta.resolve("emoji-datasource-google/img/google/64/x.png"));
  const names = [...Deno.readDirSync(new URL(".", dir))].map((e) => e.name).filter((n) =>
    n.endsWith(".png")
  )
    .sort();
  assert.ok(names.length > 3000, `${names.length} emoji`);
  // Every 25th file (about 150): all the colour types and sizes the set uses, quickly.
  for (let i = 0; i < names.length; i += 25) {
    const png = await Deno.readFile(new URL(names[i], dir));
    const ours = await decodePng(png, { name: names[i] });
    const theirs = await Image.decode(png);
    assert.equal(ours.width, theirs.width, names[i]);
    const diff = firstDifference(ours.data, theirs.bitmap);
    assert.equal(diff, undefined, `${names[i]}: ${diff}`);
  }
});

Deno.test("decodePng() refuses corrupt, truncated and oversized PNGs with errors naming the file", async () => {
  const spec: PngSpec = { width: 4, height: 4, bitDepth: 8, colorType: 2, sample: () => 7 };
  const good = await buildPng(spec);
  const rejects = async (bytes: Uint8Array, pattern: RegExp, type = FormatError) => {
    const err = await decodePng(bytes, { name: "x.png" }).then(() => undefined, (e) => e);
    assert.ok(err instanceof type, `expected ${type.name}, got ${err}`);
    assert.match(err.message, /^Cannot decode x\.png: /);
    assert.match(err.message, pattern);
  };
  const flipped = good.slice();
  flipped[40] ^= 1; // inside IDAT's data: its CRC no longer matches
  await rejects(flipped, /CRC does not match/);
  await rejects(good.subarray(0, good.length - 20), /truncated/);
  await rejects(new TextEncoder().encode("not a png at all"), /not a PNG/);

  // 100000 x 100000 pixels in a 60-byte file: refused from IHDR, before any allocation.
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, 100_000);
  new DataView(ihdr.buffer).setUint32(4, 100_000);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const sig = good.subarray(0, 8);
  const bomb = new Uint8Array([
    ...sig,
    ...pngChunk("IHDR", ihdr),
    ...pngChunk("IEND", new Uint8Array()),
  ]);
  await rejects(bomb, /100000 x 100000 pixels, over the cap/, LimitError);

  // Image data that inflates to less than the header declares.
  const short = await buildPng({ ...spec, height: 2 });
  const view = new DataView(short.buffer);
  const tall = short.slice();
  new DataView(tall.buffer).setUint32(20, 4); // height 2 -> 4, then fix IHDR's CRC
  tall.set(pngChunk("IHDR", tall.subarray(16, 29)).subarray(21), 29);
  assert.equal(view.getUint32(20), 2);
  await rejects(tall, /truncated: \d+ of \d+ bytes/);

  // A palette index past the palette's end.
  const bad = await buildPng({
    width: 2,
    height: 1,
    bitDepth: 8,
    colorType: 3,
    sample: (x) => x * 5,
    palette: new Uint8Array(6),
  });
  await rejects(bad, /palette entry 5 of 2/);
});
