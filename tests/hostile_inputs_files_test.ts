// Hostile files, round two (issue 24, part A: cases 1, 2, 3, 5, 16, 17, 18, 20): every size is
// checked against its cap before anything proportional to it is read or allocated, nothing from
// a user's file reaches the terminal unescaped, and input errors exit 2 before expensive work.
// Every fixture is small and built here; the large ones are sparse files.
import { deflateRawSync } from "node:zlib";
import { Image } from "imagescript";
import { DatasetError, FormatError, InputError, LimitError, readTorchStateDict } from "../mod.ts";
import { listImageFiles, loadImageFolder } from "../src/data/mod.ts";
import { _listImageFiles } from "../src/data/_walk_image_files.ts";
import { decodeImageRgb8 } from "../src/images/mod.ts";
import { _imageSize } from "../src/images/_image_size.ts";
import { readNpz, writeNpz } from "../src/formats/npy.ts";
import { loadActivationStats } from "../src/metrics/stats_file.ts";
import { openImageSource } from "../src/metrics/image_source.ts";
import { fid, inceptionScore } from "../src/metrics/fid.ts";
import type { InceptionV3 } from "../src/metrics/inception.ts";
import { _escapeControls, _showName } from "../src/_terminal_text.ts";
import { Pickle, zip } from "./_torch_writer.ts";
import { assert } from "./_assert.ts";

const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const CLI_CLI = new URL("../src/cli/_cli.ts", import.meta.url).href;
const tmp = await Deno.makeTempDir({ prefix: "ddpm_hostile_files_" });
const ESC = "\x1b";

async function task(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", CONFIG, ...args],
    cwd: tmp,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DDPM_CACHE_DIR: `${tmp}/cache` },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Runs `fn` with console.warn captured; returns what it warned, one string per call. */
async function warnings(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void seen.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.warn = original;
  }
  return seen;
}

async function redPng(): Promise<Uint8Array> {
  return await new Image(4, 4).fill(0xff0000ff).encode();
}

// ---- case 1: the JPEG size probe skips what decoders skip

function u16(n: number): number[] {
  return [(n >> 8) & 255, n & 255];
}

/** A small real JPEG, re-declared as `w` x `h`, with `stray` bytes inserted after APP0. */
async function lyingJpeg(w: number, h: number, stray: number[] = []): Promise<Uint8Array> {
  const real = await new Image(16, 16).fill(0x808080ff).encodeJPEG(80);
  const app0End = 4 + ((real[4] << 8) | real[5]); // SOI (2) + FF E0 + length
  const out = [...real.subarray(0, app0End), ...stray, ...real.subarray(app0End)];
  for (let p = 0; p + 9 < out.length; p++) {
    if (out[p] === 0xff && out[p + 1] === 0xc0) {
      out.splice(p + 5, 4, ...u16(h), ...u16(w));
      break;
    }
  }
  return new Uint8Array(out);
}

Deno.test("_imageSize() finds a JPEG frame after stray and fill bytes, as decoders do", async () => {
  const bomb = await lyingJpeg(16000, 16000, [0x00]);
  assert.ok(bomb.length < 1000, String(bomb.length));
  assert.deepEqual(_imageSize(bomb, "jpeg"), { width: 16000, height: 16000 });
  const filled = await lyingJpeg(300, 200, [0x12, 0x34, 0xff, 0xff]);
  assert.deepEqual(_imageSize(filled, "jpeg"), { width: 300, height: 200 });
  // A second, larger frame after the first scan counts too: the decoder would allocate it.
  const real = await new Image(16, 16).encodeJPEG(80);
  const sof = [0xff, 0xc0, ...u16(11), 8, ...u16(9000), ...u16(9000), 1, 1, 0x11, 0];
  const twoFrames = new Uint8Array([...real.subarray(0, -2), ...sof, 0xff, 0xd9]);
  assert.deepEqual(_imageSize(twoFrames, "jpeg"), { width: 9000, height: 9000 });
  // After EOI nothing is decoded, so a frame-like trailer does not count.
  const trailer = new Uint8Array([...real, ...sof]);
  assert.deepEqual(_imageSize(trailer, "jpeg"), { width: 16, height: 16 });
});

Deno.test("decodeImageRgb8() refuses a JPEG over the cap hidden behind a stray byte", async () => {
  // 4100 x 4100 is just over MAX_IMAGE_PIXELS: cheap even if it were decoded.
  await assert.rejects(
    async () =>
      decodeImageRgb8(await lyingJpeg(4100, 4100, [0x00]), { resolution: 8, name: "s.jpg" }),
    (e: unknown) => e instanceof LimitError && /s\.jpg.*4100 x 4100/.test(e.message),
  );
  await assert.rejects(
    async () =>
      decodeImageRgb8(await lyingJpeg(16000, 16000, [0x00]), { resolution: 8, name: "b.jpg" }),
    (e: unknown) => e instanceof LimitError && /16000 x 16000/.test(e.message),
  );
  // No frame header before the image data: refused before the decoder sees it.
  const noFrame = new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xda,
    ...u16(8),
    1,
    1,
    0,
    0,
    63,
    0,
    0xff,
    0xd9,
  ]);
  await assert.rejects(
    () => decodeImageRgb8(new Uint8Array([...noFrame, ...new Uint8Array(8)]), { resolution: 4 }),
    (e: unknown) => e instanceof FormatError && /no frame header/.test(e.message),
  );
  // A JPEG within the cap, with a stray byte, still decodes.
  const ok = await decodeImageRgb8(await lyingJpeg(16, 16, [0x00]), { resolution: 2 });
  assert.equal(ok.length, 12);
});

// ---- case 2: .npz statistics read only mu and sigma, sizes checked before inflating

function npyHeader(descr: string, shape: number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  h += " ".repeat((64 - ((10 + h.length + 1) % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + h.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 255, h.length >> 8]);
  out.set(new TextEncoder().encode(h), 10);
  return out;
}

Deno.test("loadActivationStats() reads only mu and sigma of a .npz, and caps the total", async () => {
  const stats = writeNpz({
    mu: { shape: [2], data: new Float64Array([1, 2]) },
    sigma: { shape: [2, 2], data: new Float64Array([1, 0, 0, 1]) },
  });
  const entries: Record<string, Uint8Array> = {};
  const arrays = readNpz(stats);
  for (const name of ["mu", "sigma"]) {
    const a = arrays.get(name)!;
    const body = new Uint8Array(a.data.buffer.slice(0));
    entries[`${name}.npy`] = new Uint8Array([...npyHeader("<f8", a.shape), ...body]);
  }
  // Twelve extra entries, each deflated and declaring 200 MiB once inflated, that would be
  // inflated and widened to float64 if read; one is not even a float array.
  const extra = deflateRawSync(new Uint8Array(1 << 20));
  const bytes = zip({ ...entries, "junk.npy": npyHeader("<i8", [1]) });
  const withExtras = addDeflatedEntries(bytes, 12, extra, 200 * 2 ** 20);
  await Deno.writeFile(`${tmp}/multi.npz`, withExtras);
  const loaded = await loadActivationStats(`${tmp}/multi.npz`);
  assert.deepEqual([...loaded.mu], [1, 2]);
  assert.deepEqual([...loaded.sigma], [1, 0, 0, 1]);

  // The declared sizes of the entries asked for are summed before any is inflated: sigma's
  // data is garbage, so reading it would fail with another error.
  const liar = addDeflatedEntries(zip(entries), 1, new Uint8Array(64), 100 * 2 ** 20, "big");
  assert.throws(
    () => readNpz(liar, { names: ["mu", "big0"], maxBytes: 64 * 2 ** 20 }),
    (e: unknown) => e instanceof LimitError && /big0\.npy/.test(e.message) && /cap/.test(e.message),
  );
  // The float64 a small float16 entry widens to counts against the total too.
  const half = zip({
    "h.npy": new Uint8Array([...npyHeader("<f2", [1024]), ...new Uint8Array(2048)]),
  });
  assert.equal(readNpz(half, { maxBytes: 16384 }).get("h")!.data.length, 1024);
  assert.throws(
    () => readNpz(half, { maxBytes: 8000 }),
    (e: unknown) => e instanceof LimitError && /h\.npy/.test(e.message),
  );
});

/**
 * Rebuilds `archive` with `count` extra deflated entries `<prefix>k.npy` whose raw deflate data
 * is `data` and whose central directory declares `declared` bytes once inflated.
 */
function addDeflatedEntries(
  archive: Uint8Array,
  count: number,
  data: Uint8Array,
  declared: number,
  prefix = "extra",
): Uint8Array {
  // Re-zip: the writer makes stored entries; patch method and sizes in place afterwards.
  const files: Record<string, Uint8Array> = {};
  const arrays = readEntries(archive);
  for (const [name, body] of arrays) files[name] = body;
  for (let k = 0; k < count; k++) files[`${prefix}${k}.npy`] = data;
  const out = zip(files);
  const view = new DataView(out.buffer);
  const names = new Set(Array.from({ length: count }, (_, k) => `${prefix}${k}.npy`));
  for (let p = 0; p + 46 <= out.length; p++) {
    const sig = view.getUint32(p, true);
    if (sig !== 0x02014b50 && sig !== 0x04034b50) continue;
    const central = sig === 0x02014b50;
    const nameLen = view.getUint16(p + (central ? 28 : 26), true);
    const nameAt = p + (central ? 46 : 30);
    const name = new TextDecoder().decode(out.subarray(nameAt, nameAt + nameLen));
    if (!names.has(name)) continue;
    view.setUint16(p + (central ? 10 : 8), 8, true);
    if (central) view.setUint32(p + 24, declared, true);
  }
  return out;
}

function readEntries(archive: Uint8Array): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  for (let p = 0; p + 30 <= archive.length;) {
    if (view.getUint32(p, true) !== 0x04034b50) break;
    const nameLen = view.getUint16(p + 26, true);
    const name = new TextDecoder().decode(archive.subarray(p + 30, p + 30 + nameLen));
    // The test writer leaves local sizes zero: find the size in the central directory.
    const size = centralSize(archive, name);
    out.push([name, archive.slice(p + 30 + nameLen, p + 30 + nameLen + size)]);
    p += 30 + nameLen + size;
  }
  return out;
}

function centralSize(archive: Uint8Array, name: string): number {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  for (let p = 0; p + 46 <= archive.length; p++) {
    if (view.getUint32(p, true) !== 0x02014b50) continue;
    const nameLen = view.getUint16(p + 28, true);
    if (new TextDecoder().decode(archive.subarray(p + 46, p + 46 + nameLen)) === name) {
      return view.getUint32(p + 20, true);
    }
  }
  throw new Error(`no ${name}`);
}

// ---- case 3: a storage shared by many keys is read once

Deno.test("readTorchStateDict() reads a storage shared by 40 keys once, counting it once", () => {
  const numel = 1 << 18; // 1 MiB of float32, deflated to a few hundred bytes
  const shared = (keys: number, storages: number) => {
    const p = new Pickle().dict();
    for (let k = 0; k < keys; k++) {
      p.str(`w${k}`).tensor(String(k % storages), numel, 0, [numel], [1]);
    }
    const files: Record<string, Uint8Array> = { "archive/data.pkl": p.op(0x75).end() };
    for (let s = 0; s < storages; s++) files[`archive/data/${s}`] = new Uint8Array(numel * 4);
    return zip(files, { deflate: true });
  };
  const one = readTorchStateDict(shared(40, 1), { maxBytes: 2 * numel * 4 });
  assert.equal(one.size, 40);
  assert.equal(new Set([...one.values()].map((t) => t.data.buffer)).size, 1, "copies made");
  // Each deflated 1 MiB storage costs 2 MiB (inflated, and as float32): three against a 5 MiB
  // cap are refused before the third is inflated.
  assert.throws(
    () => readTorchStateDict(shared(3, 3), { maxBytes: 5 * numel * 4 }),
    (e: unknown) => e instanceof LimitError && /storage 2/.test(e.message),
  );
  // Views into one storage share its memory too.
  const p = new Pickle().dict()
    .str("a").tensor("0", 8, 0, [4], [1])
    .str("b").tensor("0", 8, 4, [2, 2], [2, 1]);
  const bytes = zip({
    "archive/data.pkl": p.op(0x75).end(),
    "archive/data/0": new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]).buffer),
  });
  const views = readTorchStateDict(bytes);
  assert.deepEqual([...views.get("b")!.data], [4, 5, 6, 7]);
  assert.equal(views.get("a")!.data.buffer, views.get("b")!.data.buffer);
});

// ---- case 5: a huge file in a data folder is refused from its size and header

Deno.test("loadImageFolder() refuses a 3 GB sparse huge.png by its size, without reading it", async () => {
  const dir = `${tmp}/huge`;
  await Deno.mkdir(dir);
  await Deno.writeFile(`${dir}/ok.png`, await redPng());
  const huge = await Deno.open(`${dir}/huge.png`, { write: true, create: true });
  await huge.truncate(3 * 2 ** 30);
  huge.close();
  // Under the size cap but not an image: refused from its first bytes.
  const zeros = await Deno.open(`${dir}/zeros.png`, { write: true, create: true });
  await zeros.truncate(64 * 2 ** 20);
  zeros.close();
  let size = 0;
  const seen = await warnings(async () => {
    size = (await loadImageFolder(dir, { resolution: 2, cacheDir: false })).size;
  });
  assert.equal(size, 1);
  assert.ok(seen.some((w) => /huge\.png.*3221225472 bytes.*cap/.test(w)), seen.join("\n"));
  assert.ok(seen.some((w) => /zeros\.png.*not an image/.test(w)), seen.join("\n"));
  // The FID image source reads through the same check.
  const source = await openImageSource(dir);
  await assert.rejects(async () => {
    for await (const _ of source.batches(4)) { /* read all */ }
  }, (e: unknown) => e instanceof LimitError && /huge\.png/.test(e.message));
});

// ---- case 17: names from the user's files are escaped before they reach the terminal

Deno.test("_showName() quotes names a terminal would act on, and leaves plain ones alone", () => {
  assert.equal(_showName("data/a b:c.png"), "data/a b:c.png");
  assert.equal(_showName("bad\x1b[31mRED\x1b[0m.png"), '"bad\\u001b[31mRED\\u001b[0m.png"');
  assert.equal(_showName('x\n"y'), '"x\\n\\"y"');
  assert.equal(_showName("a\u202egnp.exe"), '"a\\u202egnp.exe"');
  assert.equal(_escapeControls("a\nb\x9bc"), "a\\nb\\u009bc");
});

Deno.test("loadImageFolder() warns about hostile file names escaped, one line each", async () => {
  const dir = `${tmp}/names`;
  await Deno.mkdir(dir);
  await Deno.writeFile(`${dir}/ok.png`, await redPng());
  const names = [
    `bad${ESC}[31mRED${ESC}[0m.png`,
    "x.png\nddpm: done at step 4 (final loss 0.01).png",
    "a: b.png",
  ];
  for (const name of names) await Deno.writeTextFile(`${dir}/${name}`, "not an image");
  const seen = await warnings(() => loadImageFolder(dir, { resolution: 2, cacheDir: false }));
  assert.equal(seen.length, 3, seen.join("\n"));
  for (const w of seen) {
    assert.ok(!w.includes(ESC) && !w.includes("\n"), JSON.stringify(w));
  }
  assert.ok(seen.some((w) => w.includes("\\u001b[31mRED")), seen.join("\n"));
  assert.ok(seen.some((w) => w.includes("\\nddpm: done")), seen.join("\n"));
  // A ":" in a name leaves the reason intact.
  assert.ok(
    seen.includes(
      `ddpm: skipping ${dir}/a: b.png: it is not an image; only PNG and JPEG files are supported`,
    ),
    seen.join("\n"),
  );
});

Deno.test("runCli() prints an error holding terminal escapes and newlines on one escaped line", async () => {
  const script = `import { runCli } from "${CLI_CLI}";
import { InputError } from "${new URL("../src/errors.ts", import.meta.url).href}";
runCli(() => Promise.reject(new InputError("Cannot read x${ESC}[2J\\nddpm: done.png: bad")));`;
  await Deno.writeTextFile(`${tmp}/escapes.ts`, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, "--allow-env", `${tmp}/escapes.ts`],
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, stderr);
  assert.equal(stderr, "error: Cannot read x\\u001b[2J\\nddpm: done.png: bad\n");
});

// ---- case 18: the data folder walk stays in the folder and is bounded

Deno.test("listImageFiles() does not follow links out of the folder, and bounds the walk", async () => {
  const outer = `${tmp}/walk`;
  const dir = `${outer}/data`;
  await Deno.mkdir(`${dir}/sub`, { recursive: true });
  await Deno.writeFile(`${dir}/sub/a.png`, await redPng());
  await Deno.writeFile(`${outer}/outside.png`, await redPng());
  await Deno.symlink("/", `${dir}/root`);
  await Deno.symlink(outer, `${dir}/up`);
  await Deno.symlink(`${dir}/sub`, `${dir}/inside`); // a link within the folder is followed
  let files: string[] = [];
  const seen = await warnings(async () => {
    files = await listImageFiles(dir);
  });
  // The folder reached twice (through inside/ and as sub/) is listed once, first by name.
  assert.deepEqual(files, [`${dir}/inside/a.png`]);
  assert.ok(seen.some((w) => /2 link\(s\) to folders outside/.test(w)), seen.join("\n"));
  // The walk is bounded by entries and by depth, with an error that says so.
  for (let k = 0; k < 12; k++) await Deno.writeFile(`${dir}/sub/f${k}.png`, new Uint8Array());
  await assert.rejects(
    () => _listImageFiles(dir, { maxEntries: 10, maxDepth: 32 }),
    (e: unknown) => e instanceof DatasetError && /more than 10 entries/.test(e.message),
  );
  await Deno.mkdir(`${dir}/d1/d2/d3/d4`, { recursive: true });
  await assert.rejects(
    () => _listImageFiles(dir, { maxEntries: 100, maxDepth: 3 }),
    (e: unknown) => e instanceof DatasetError && /deeper than 3/.test(e.message),
  );
});

// ---- cases 16 and 20: CLI errors keep every reason, and come before expensive work

Deno.test("sample --pretrained lists every reason a config is refused, on one line", async () => {
  const dir = `${tmp}/unsupported`;
  await Deno.mkdir(dir);
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({ _class_name: "UNet2DModel", flip_sin_to_cos: true, freq_shift: 0 }),
  );
  const r = await task(["sample", "--pretrained", dir, "--n", "1"]);
  assert.equal(r.code, 2, r.stderr);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], /flip_sin_to_cos/);
  assert.match(errors[0], /freq_shift/);
  // A training run's folder given as --pretrained: told what it is and what to pass.
  const run = `${tmp}/run`;
  await Deno.mkdir(run);
  await Deno.writeTextFile(
    `${run}/config.json`,
    JSON.stringify({ preset: "tiny", unet: {}, scheduler: {}, train: {} }),
  );
  const r2 = await task(["sample", "--pretrained", run, "--n", "1"]);
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /^error: .*training run.*--checkpoint/m);
});

Deno.test("deno task fid refuses too few images for --splits, or a --ref of other dimensions, first", async () => {
  const dir = `${tmp}/four`;
  await Deno.mkdir(dir);
  for (let k = 0; k < 4; k++) await Deno.writeFile(`${dir}/${k}.png`, await redPng());
  // The weights do not exist: a check that ran after loading them would report that instead.
  const common = ["fid", "--samples", dir, "--inception", `${tmp}/no-weights.pth`];
  const r = await task([...common, "--is", "--splits", "10"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: .*10 splits needs at least 10 images: got 4/m);
  await Deno.writeFile(
    `${tmp}/ref2.npz`,
    writeNpz({
      mu: { shape: [2], data: new Float64Array(2) },
      sigma: { shape: [2, 2], data: new Float64Array([1, 0, 0, 1]) },
    }),
  );
  const r2 = await task([...common, "--ref", `${tmp}/ref2.npz`]);
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /^error: .*ref2\.npz.* 2-dimensional.*2048/m);
});

Deno.test("fid() and inceptionScore() check what they can before running the network", async () => {
  const dir = `${tmp}/four-lib`;
  await Deno.mkdir(dir);
  for (let k = 0; k < 4; k++) await Deno.writeFile(`${dir}/${k}.png`, await redPng());
  const network = {
    features: () => {
      throw new Error("the network ran");
    },
  } as unknown as InceptionV3;
  await assert.rejects(
    () => inceptionScore(dir, { inception: network, splits: 10 }),
    (e: unknown) => e instanceof InputError && /at least 10 images: got 4/.test(e.message),
  );
  const two = { mu: new Float64Array(2), sigma: new Float64Array([1, 0, 0, 1]) };
  await assert.rejects(
    () => fid(dir, two, { inception: network }),
    (e: unknown) =>
      e instanceof InputError && /2048 dimensions and the reference's 2/.test(e.message),
  );
});

Deno.test("cleanup", async () => {
  await Deno.remove(tmp, { recursive: true });
});
