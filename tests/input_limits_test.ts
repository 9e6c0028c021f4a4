// Bounded inputs: every size a file declares is checked against a documented cap before
// anything is allocated for it, and what a cache skipped is still reported. Issue 13, cases
// 4, 5, 8 (self-referencing pickle), 10 and 11.
import { deflateSync } from "node:zlib";
import { Image } from "imagescript";
import {
  FormatError,
  LimitError,
  loadPretrained,
  MAX_IMAGE_PIXELS,
  presets,
  readTorchStateDict,
} from "../mod.ts";
import { loadImageFolder } from "../src/data/mod.ts";
import { resolveSchedulerConfig } from "../src/diffusion/mod.ts";
import { decodeImageRgb8 } from "../src/images/mod.ts";
import { loadTorchStateDictFile } from "../src/io/mod.ts";
import { validateUNetConfig } from "../src/nn/mod.ts";
import { openZip } from "../src/formats/zip.ts";
import { _tfjsNodeInstalled } from "../src/backends/tensorflow/_tfjs_node_installed.ts";
import { Pickle, zip } from "./_torch_writer.ts";
import { assert } from "./_assert.ts";

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A valid black RGB PNG of `side` x `side` pixels: a few hundred KB for millions of pixels. */
function blackPng(side: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, side);
  v.setUint32(4, side);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = new Uint8Array(side * (1 + 3 * side)); // filter byte 0 and black pixels
  const idat = new Uint8Array(deflateSync(raw, { level: 9 }));
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

Deno.test("decodeImageRgb8() refuses a PNG over MAX_IMAGE_PIXELS before decoding it", async () => {
  const png = blackPng(5000);
  assert.ok(5000 * 5000 > MAX_IMAGE_PIXELS && png.length < 200_000, String(png.length));
  const started = performance.now();
  await assert.rejects(
    () => decodeImageRgb8(png, { resolution: 8, name: "bomb.png" }),
    (e: unknown) =>
      e instanceof LimitError && /bomb\.png/.test(e.message) && /5000 x 5000/.test(e.message),
  );
  assert.ok(performance.now() - started < 500, "decoded before refusing");
  // An image within the cap still decodes.
  const ok = await decodeImageRgb8(await new Image(4, 4).encode(), { resolution: 2 });
  assert.equal(ok.length, 12);
});

Deno.test("openZip().read() refuses a deflated entry declaring more than the cap", () => {
  const bytes = zip({ "a/data.pkl": new Uint8Array(1000) }, { deflate: true });
  // Make the central directory declare 1 GiB once inflated.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (view.getUint32(i, true) === 0x02014b50) view.setUint32(i + 24, 2 ** 30, true);
  }
  assert.throws(
    () => openZip(bytes).read("a/data.pkl"),
    (e: unknown) => e instanceof LimitError && /1073741824 bytes/.test(e.message),
  );
});

Deno.test("readTorchStateDict() refuses a dict that contains itself, without a stack overflow", async () => {
  // {} ; memo[0] = it ; it["a"] = memo[0]
  const pkl = new Pickle().op(0x7d, 0x71, 0).str("a").op(0x68, 0, 0x73).end();
  const bytes = zip({ "archive/data.pkl": pkl });
  assert.throws(
    () => readTorchStateDict(bytes),
    (e: unknown) => e instanceof Error && /contains itself/.test(e.message),
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/m.bin`, bytes);
    await assert.rejects(
      () => loadTorchStateDictFile(`${dir}/m.bin`),
      (e: unknown) => e instanceof FormatError && e.message.startsWith(`${dir}/m.bin: `),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validateUNetConfig() and resolveSchedulerConfig() cap sizes, naming field and range", () => {
  const u = presets.tiny.unet;
  for (
    const [bad, field] of [
      [{ numResBlocks: 1e9 }, "numResBlocks"],
      [{ ch: 1e6 }, "ch"],
      [{ resolution: 2 ** 20 }, "resolution"],
      [{ chMult: new Array(40).fill(1) }, "chMult"],
    ] as const
  ) {
    assert.throws(
      () => validateUNetConfig({ ...u, ...bad }),
      (e: unknown) => e instanceof RangeError && e.message.includes(field),
      field,
    );
  }
  assert.throws(
    () => resolveSchedulerConfig({ numTrainTimesteps: 1e9 }),
    (e: unknown) => e instanceof RangeError && /\[1, 100000\]/.test(e.message),
  );
});

Deno.test("loadPretrained() refuses a config asking for 1e9 blocks or timesteps at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = {
      _class_name: "UNet2DModel",
      act_fn: "silu",
      attention_head_dim: null,
      block_out_channels: [8, 16],
      center_input_sample: false,
      down_block_types: ["DownBlock2D", "DownBlock2D"],
      downsample_padding: 0,
      flip_sin_to_cos: false,
      freq_shift: 1,
      in_channels: 3,
      layers_per_block: 1e9,
      mid_block_scale_factor: 1,
      norm_eps: 1e-6,
      norm_num_groups: 4,
      out_channels: 3,
      sample_size: 8,
      time_embedding_type: "positional",
      up_block_types: ["UpBlock2D", "UpBlock2D"],
    };
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
    await Deno.writeFile(`${dir}/diffusion_pytorch_model.bin`, new Uint8Array(10));
    const started = performance.now();
    await assert.rejects(
      () => loadPretrained(dir),
      (e: unknown) => e instanceof FormatError && /numResBlocks/.test(e.message),
    );
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ ...config, layers_per_block: 1 }),
    );
    await Deno.writeTextFile(
      `${dir}/scheduler_config.json`,
      JSON.stringify({ num_train_timesteps: 1e9 }),
    );
    await assert.rejects(
      () => loadPretrained(dir),
      (e: unknown) =>
        e instanceof FormatError && /scheduler_config\.json: .*numTrainTimesteps/.test(e.message),
    );
    assert.ok(performance.now() - started < 2000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadImageFolder() from its cache still warns about the files it skipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/images`);
    await Deno.writeFile(`${dir}/images/good.png`, await new Image(4, 4).encode());
    await Deno.writeFile(`${dir}/images/broken.png`, new Uint8Array([137, 80, 78, 71, 1, 2]));
    const warnings: string[] = [];
    const orig = console.warn;
    console.warn = (...a: unknown[]) => warnings.push(a.join(" "));
    try {
      for (let run = 0; run < 2; run++) {
        warnings.length = 0;
        const data = await loadImageFolder(`${dir}/images`, {
          resolution: 4,
          cacheDir: `${dir}/cache`,
        });
        assert.equal(data.size, 1);
        assert.ok(warnings.some((w) => w.includes("broken.png")), `run ${run}: ${warnings}`);
      }
    } finally {
      console.warn = orig;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setBackend('auto') counts tfjs-node as installed only with its native binding", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pkg = `${dir}/node_modules/@tensorflow/tfjs-node-gpu`;
    await Deno.mkdir(`${pkg}/lib`, { recursive: true });
    await Deno.writeTextFile(`${pkg}/package.json`, "{}");
    // What Deno leaves after a probe: the package without its install script's download.
    assert.equal(_tfjsNodeInstalled("@tensorflow/tfjs-node-gpu", `${dir}/sub`), false);
    await Deno.mkdir(`${pkg}/lib/napi-v8`);
    await Deno.writeFile(`${pkg}/lib/napi-v8/tfjs_binding.node`, new Uint8Array(1));
    assert.equal(_tfjsNodeInstalled("@tensorflow/tfjs-node-gpu", `${dir}/sub`), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
