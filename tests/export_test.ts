// Half-precision export: the float32 -> binary16 encoder against a float64 reference of
// round-to-nearest-even, writeSafetensors' F16, saveDiffusers({ dtype: "float16" }) read back by
// loadPretrained, and the `ddpm export` command on a trained run.
import * as tf from "@tensorflow/tfjs";
import {
  createUNet,
  DDPMScheduler,
  InputError,
  loadPretrained,
  loadRun,
  presets,
  readSafetensors,
  saveDiffusers,
  setBackend,
  train,
  type UNet,
  writeSafetensors,
} from "../mod.ts";
import { _encodeFloat16, _floatToHalfBits, _halfBitsToFloat } from "../src/formats/_dtypes.ts";
import { main as exportMain } from "../src/cli/export.ts";
import { CliError } from "../src/cli/_cli.ts";
import { assert } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";
import { makeData } from "./_data.ts";

await setBackend(FAST_BACKEND);

const U = 2 ** -11; // unit roundoff of binary16: half the spacing 2^-10 of [1, 2)
const WEIGHTS = "diffusion_pytorch_model.safetensors";
const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;

/**
 * The binary16 value nearest to `x`, ties to the even significand, in float64 arithmetic: the
 * spacing of halves at |x| (2^-24 below 2^-14, else 2^(e-10) in [2^e, 2^(e+1))), the two
 * neighbours, the nearer one; past 65504 infinity. Multiples of a power of two are exact here.
 */
function referenceHalf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  let r: number;
  if (a === Infinity) {
    r = Infinity;
  } else {
    let spacing = 2 ** -24;
    if (a >= 2 ** -14) {
      let e = -14;
      while (2 ** (e + 1) <= a) e++;
      spacing = 2 ** (e - 10);
    }
    const k = Math.floor(a / spacing);
    const below = a - k * spacing, above = (k + 1) * spacing - a;
    r = below < above
      ? k * spacing
      : above < below
      ? (k + 1) * spacing
      : (k % 2 === 0 ? k : k + 1) * spacing;
    if (r > 65504) r = Infinity;
  }
  return x < 0 || Object.is(x, -0) ? -r : r;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (bits: number) => ((u32[0] = bits), f32[0]);
const bitsOf = (x: number) => ((f32[0] = x), u32[0]);

function assertEncodes(x: number): void {
  const bits = _floatToHalfBits(x);
  const got = _halfBitsToFloat(bits);
  const want = referenceHalf(x);
  assert.ok(Object.is(got, want), `${x} (0x${bitsOf(x).toString(16)}) -> ${got}, want ${want}`);
  if (Number.isNaN(x)) {
    assert.ok((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0, `NaN -> 0x${bits.toString(16)}`);
  }
}

Deno.test("_floatToHalfBits() rounds to nearest even as a float64 reference does", () => {
  // The decoder the comparison goes through, at fixed bit patterns.
  assert.equal(_halfBitsToFloat(0x7bff), 65504);
  assert.equal(_halfBitsToFloat(0x0001), 2 ** -24);
  assert.equal(_halfBitsToFloat(0x0400), 2 ** -14);
  assert.equal(_halfBitsToFloat(0x3c00), 1);
  // Exact bits at the edges.
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // largest finite
    [65519, 0x7bff], // below the midpoint to 65536: stays finite
    [65520, 0x7c00], // the midpoint: ties to even (0x7c00), infinity
    [70000, 0x7c00],
    [-1e30, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [1023.5 * 2 ** -24, 0x0400], // tie between them: to the even 1024
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24: to even, zero
    [fromBits(bitsOf(2 ** -25) + 1), 0x0001], // just above that tie
    [-(2 ** -26), 0x8000], // underflow keeps the sign
    [1.5 * 2 ** -24, 0x0002], // subnormal tie 1.5: to even, 2
    [2.5 * 2 ** -24, 0x0002], // subnormal tie 2.5: to even, 2
    [1 + 2 ** -11, 0x3c00], // tie: to even, 1
    [1 + 3 * 2 ** -11, 0x3c02], // tie: to even, 1 + 2^-9
    [fromBits(bitsOf(1 + 2 ** -11) + 1), 0x3c01], // just above a tie: up
    [1 - 2 ** -11, 0x3bff], // exact: the spacing below 1 is 2^-11
    [1 - 2 ** -12, 0x3c00], // tie between 0x3bff and 1: to the even, across the binade
  ];
  for (const [x, bits] of cases) {
    assert.equal(_floatToHalfBits(x), bits, `${x}: 0x${_floatToHalfBits(x).toString(16)}`);
    assertEncodes(x);
  }
  assertEncodes(NaN);
  assertEncodes(-NaN);
  assertEncodes(fromBits(0xffc00001)); // a NaN with a payload and the sign bit
  // Every float32 in windows around the boundaries (2^14 consecutive patterns each: every tie
  // in them), both signs, then random patterns over the whole range.
  const windows = [1, 65504, 2 ** 15, 2 ** -14, 2 ** -24, 2 ** -25, 1e-6, 0.1, 300];
  for (const start of windows) {
    const base = bitsOf(start) - 2 ** 13;
    for (let i = 0; i < 2 ** 14; i++) {
      const x = fromBits(base + i);
      assertEncodes(x);
      assertEncodes(-x);
    }
  }
  let seed = 12345;
  for (let i = 0; i < 200_000; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    // Half of the draws with exponents near binary16's range, where the rounding happens.
    const bits = i % 2 ? seed : (seed & 0x807fffff) | ((95 + (seed % 56)) << 23);
    assertEncodes(fromBits(bits >>> 0));
  }
});

Deno.test("_encodeFloat16() of an array (and of a view into one) is the scalar encoder per value", () => {
  const values = new Float32Array([0, -0, 1, 0.1, -3.3e-6, 65520, NaN, 1e-8, 12345.678]);
  const view = new Float32Array(values.buffer, 8, 5);
  const bits = _encodeFloat16(view);
  assert.equal(bits.length, 5);
  for (let i = 0; i < 5; i++) assert.equal(bits[i], _floatToHalfBits(view[i]), `index ${i}`);
});

Deno.test("writeSafetensors() F16 then readSafetensors() round-trips within half precision", () => {
  const n = 4000;
  const data = new Float32Array(n);
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    // Magnitudes log-uniform over the normal range [2^-14, 2^15], both signs.
    const mag = 2 ** (-14 + 29 * (seed / 2 ** 32));
    data[i] = i % 2 ? mag : -mag;
  }
  const tiny = new Float32Array([1e-7, -3e-6, 5.9e-5, 0]); // subnormal halves
  const tensors = new Map([
    ["w", { shape: [40, 100], data }],
    ["tiny", { shape: [4], data: tiny }],
    ["big", { shape: [2], data: new Float32Array([65504, -1e6]) }],
  ]);
  const bytes = writeSafetensors(tensors, { format: "pt" }, { dtype: "F16" });
  const f32Bytes = writeSafetensors(tensors, { format: "pt" });
  const headerLen = (b: Uint8Array) => 8 + Number(new DataView(b.buffer).getBigUint64(0, true));
  assert.equal(bytes.length - headerLen(bytes), 2 * (n + 6));
  assert.equal(f32Bytes.length - headerLen(f32Bytes), 4 * (n + 6));
  const { tensors: back, metadata } = readSafetensors(bytes);
  assert.deepEqual(metadata, { format: "pt" });
  assert.equal(back.get("w")!.dtype, "F16");
  assert.deepEqual(back.get("w")!.shape, [40, 100]);
  const w = back.get("w")!.data;
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(w[i] - data[i]) / Math.abs(data[i]));
  assert.ok(worst <= U, `relative error ${worst} > 2^-11`);
  assert.ok(worst > U / 2, `relative error ${worst}: were the values rounded at all?`);
  // Subnormals: absolute error at most half their spacing 2^-24.
  const t = back.get("tiny")!.data;
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(t[i] - tiny[i]) <= 2 ** -25, `tiny[${i}]`);
  assert.deepEqual([...back.get("big")!.data], [65504, -Infinity]);
  assert.equal(readSafetensors(f32Bytes).tensors.get("w")!.dtype, "F32");
  assert.throws(
    () => writeSafetensors(tensors, undefined, { dtype: "BF16" as "F16" }),
    /dtype "BF16" is not supported; use "F32" or "F16"/,
  );
});

/** Random weights of unit-scale activations: a fresh UNet's zero-initialised layers predict 0. */
function randomizeWeights(unet: UNet, seed: number): void {
  const weights = new Map<string, tf.Tensor>();
  let k = seed;
  for (const [name, v] of unet.getWeights()) {
    const fanIn = v.shape.length > 1 ? v.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
    const std = v.shape.length > 1 ? 1 / Math.sqrt(fanIn) : 0.1;
    const mean = v.shape.length === 1 && /norm.*\.weight$/.test(name) ? 1 : 0;
    weights.set(name, tf.randomNormal(v.shape, mean, std, "float32", k++));
  }
  unet.setWeights(weights);
  tf.dispose([...weights.values()]);
}

async function hostWeights(unet: UNet): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of unet.getWeights()) out.set(name, (await v.data()) as Float32Array);
  return out;
}

/** Asserts `unet` holds exactly `expected` rounded to half precision, value by value. */
async function assertHalfOf(unet: UNet, expected: Map<string, Float32Array>): Promise<void> {
  const got = await hostWeights(unet);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
  for (const [name, want] of expected) {
    const g = got.get(name)!;
    for (let i = 0; i < want.length; i++) {
      const half = Math.fround(referenceHalf(want[i]));
      assert.ok(Object.is(g[i], half), `${name}[${i}]: ${g[i]}, want ${half} (from ${want[i]})`);
    }
  }
}

async function predict(unet: UNet): Promise<Float32Array> {
  const out = tf.tidy(() => {
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => Math.sin(0.37 * i)),
      [2, 8, 8, 3],
    );
    return unet.predict(x, tf.tensor1d([10, 500], "int32"));
  });
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

Deno.test("saveDiffusers({ dtype: 'float16' }) halves the file; loadPretrained gets the rounded weights", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ddpm-export-" });
  const before = tf.memory().numTensors;
  const unet = createUNet({ ...presets.tiny.unet, resolution: 8 }, { seed: 1 });
  try {
    randomizeWeights(unet, 3);
    const scheduler = new DDPMScheduler({ varianceType: "fixed_large" });
    await saveDiffusers(unet, scheduler, `${dir}/fp32`);
    await saveDiffusers(unet, scheduler, `${dir}/fp16`, { dtype: "float16" });
    const s32 = await Deno.readFile(`${dir}/fp32/${WEIGHTS}`);
    const s16 = await Deno.readFile(`${dir}/fp16/${WEIGHTS}`);
    const data = (b: Uint8Array) =>
      b.length - 8 - Number(new DataView(b.buffer).getBigUint64(0, true));
    assert.equal(data(s16) * 2, data(s32));
    assert.equal(data(s32), 4 * unet.numParams());
    assert.ok(s16.length < 0.52 * s32.length, `${s16.length} vs ${s32.length} bytes`);

    const reference = await predict(unet);
    const original = await hostWeights(unet);
    const fp32 = await loadPretrained(`${dir}/fp32`);
    const fp16 = await loadPretrained(`${dir}/fp16`);
    try {
      assert.equal(fp16.scheduler.config.varianceType, "fixed_large");
      await assertHalfOf(fp16.unet, original);
      // float32 keeps the weights, so the same graph on the same backend gives the same numbers.
      assert.deepEqual(await predict(fp32.unet), reference);
      // Each of the L weight layers (convs, linears) sees its weights moved by at most 2^-11
      // relative, so its output by at most 2^-11 |W||x|; GroupNorm keeps every layer's input at
      // unit scale, so to first order the prediction moves by at most about L * 2^-11 of its
      // own scale.
      const layers = [...unet.getWeights().values()].filter((v) => v.shape.length > 1).length;
      const scale = Math.max(...reference.map(Math.abs));
      const got = await predict(fp16.unet);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - reference[i]));
      console.log(
        `fp16 prediction: max |error| ${worst.toExponential(2)} of scale ${scale.toFixed(3)}; ` +
          `tolerance ${layers} layers * 2^-11 * scale = ${(layers * U * scale).toExponential(2)}`,
      );
      assert.ok(scale > 0.1, `prediction scale ${scale}: the weights were not randomised`);
      assert.ok(worst > 0, "float16 changed nothing: were the weights rounded?");
      assert.ok(worst <= layers * U * scale, `max |error| ${worst}`);
    } finally {
      fp32.unet.dispose();
      fp16.unet.dispose();
    }

    // A weight that float16 cannot hold is refused before anything is written.
    const huge = new Map<string, tf.Tensor>(
      [...unet.getWeights()].map((
        [name, v],
      ) => [name, name === "conv_in.bias" ? tf.fill(v.shape, 7e4) : v.clone()]),
    );
    unet.setWeights(huge);
    tf.dispose([...huge.values()]);
    await assert.rejects(
      () => saveDiffusers(unet, scheduler, `${dir}/overflow`, { dtype: "float16" }),
      (err: Error) =>
        err instanceof InputError && /conv_in\.bias.*70000.*65504.*float32/.test(err.message),
    );
    await assert.rejects(() => Deno.stat(`${dir}/overflow`), Deno.errors.NotFound);
    await assert.rejects(
      () => saveDiffusers(unet, scheduler, `${dir}/bad`, { dtype: "bfloat16" as "float16" }),
      /dtype "bfloat16" is not supported/,
    );
  } finally {
    unet.dispose();
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
});

/** Runs `ddpm export` in this process; its stdout lines, or what it threw. */
async function runExport(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { code: await exportMain(args), lines };
  } finally {
    console.log = log;
  }
}

/** The exit code and message runCli would give for what `ddpm export` threw. */
async function exportError(args: string[]): Promise<{ code: number; message: string }> {
  const err = await runExport(args).then(
    () => assert.fail(`ddpm export ${args.join(" ")} succeeded`),
    (e) => e as Error,
  );
  const code = err instanceof CliError ? err.exitCode : err instanceof InputError ? 2 : 1;
  return { code, message: err.message };
}

Deno.test("ddpm export writes a trained run's EMA weights as a float16 diffusers folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ddpm-export-cli-" });
  try {
    const run = `${dir}/run`;
    await setBackend(FAST_BACKEND);
    await train({
      outDir: run,
      preset: { ...presets.tiny, unet: { ...presets.tiny.unet, resolution: 8 } },
      data: makeData(4, 8),
      train: { steps: 2, batchSize: 2, sampleEvery: 0 },
    });
    const trained = await loadRun(run);
    const ema = await hostWeights(trained.unet);
    const params = trained.unet.numParams();
    trained.unet.dispose();

    const before = tf.memory().numTensors;
    const r = await runExport(["--checkpoint", run, "--out", `${dir}/model`, "--dtype", "float16"]);
    assert.equal(tf.memory().numTensors, before, "ddpm export leaked tensors");
    assert.equal(r.code, 0);
    assert.equal(r.lines.length, 1, r.lines.join("\n"));
    const size = (await Deno.stat(`${dir}/model/${WEIGHTS}`)).size;
    assert.ok(r.lines[0].includes(`${dir}/model`), r.lines[0]);
    assert.ok(r.lines[0].includes(`${params.toLocaleString("en-US")} parameters`), r.lines[0]);
    assert.ok(r.lines[0].includes(`float16 ${(size / 1e6).toFixed(1)} MB`), r.lines[0]);
    assert.ok(r.lines[0].includes("step 2"), r.lines[0]);

    const loaded = await loadPretrained(`${dir}/model`);
    try {
      await assertHalfOf(loaded.unet, ema);
      const want = new DDPMScheduler(presets.tiny.scheduler).config;
      assert.deepEqual(loaded.scheduler.config, want);
    } finally {
      loaded.unet.dispose();
    }

    // Bad input: one message naming the problem, exit code 2, nothing written.
    const cases: [string[], RegExp][] = [
      [["--checkpoint", `${dir}/none`, "--out", `${dir}/x`], /Checkpoint not found: .*none/],
      [["--out", `${dir}/x`], /Pass --checkpoint RUN/],
      [["--checkpoint", run], /Pass --out DIR/],
      [
        ["--checkpoint", run, "--out", `${dir}/x`, "--dtype", "half"],
        /--dtype must be one of float16, float32: got "half"/,
      ],
      [
        ["--checkpoint", run, "--out", run],
        /holds a config\.json that is not a diffusers UNet2DModel's/,
      ],
      [["--checkpoint", run, "--out", `${run}/config.json`], /is a file: give a folder/],
      [
        ["--checkpoint", run, "--out", `${dir}/x`, "--backend", "cpu"],
        /Unknown option '--backend'/,
      ],
    ];
    const runConfig = await Deno.readTextFile(`${run}/config.json`);
    for (const [args, message] of cases) {
      const e = await exportError(args);
      assert.equal(e.code, 2, `${args.join(" ")}: ${e.message}`);
      assert.match(e.message, message);
      assert.ok(!e.message.includes("\n"), e.message);
    }
    assert.equal(await Deno.readTextFile(`${run}/config.json`), runConfig, "the run was changed");
    await assert.rejects(() => Deno.stat(`${dir}/x`), Deno.errors.NotFound);
    // A second export into the same folder replaces it, in float32 by default.
    assert.equal((await runExport(["--checkpoint", run, "--out", `${dir}/model`])).code, 0);
    const again = readSafetensors(await Deno.readFile(`${dir}/model/${WEIGHTS}`)).tensors;
    assert.deepEqual(new Set([...again.values()].map((t) => t.dtype)), new Set(["F32"]));

    // As a user runs it: one `error:` line, exit code 2.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "export", "--checkpoint", `${dir}/none`, "--out", `${dir}/x`],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    const errors = stderr.split("\n").filter((l) => l.startsWith("error:"));
    assert.equal(out.code, 2, stderr);
    assert.equal(errors.length, 1, stderr);
    assert.match(errors[0], /^error: Checkpoint not found: .*none/);
    assert.ok(!/^\s+at /m.test(stderr), stderr);
  } finally {
    await setBackend(FAST_BACKEND);
    await Deno.remove(dir, { recursive: true });
  }
});
