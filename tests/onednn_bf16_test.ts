// bf16 mixed precision on the onednn backend: each kernel against float64 within bf16's error
// bound, a short training run against fp32's, and samples from the same weights.
//
// The bound. bf16 keeps 8 significant bits: rounding to nearest has unit roundoff u = 2^-8.
// A product of two rounded operands is exact in f32 (8 + 8 bits < 24), so a K-term dot product
// read in bf16 and accumulated in f32 is off from the exact one by at most
//   |err| <= (2u + u^2 + g_K) * sum|a||b|,   g_K = K 2^-24 / (1 - K 2^-24) (f32 accumulation).
// Against the dot product of the *rounded* operands, only the accumulation is left:
//   |err| <= g_K * sum|a~||b~|.
// The first bound says the result is as good as bf16 allows; the second that the operands were
// read in bf16 (round to nearest even) and summed in f32: an f32 kernel fails it.
import * as tf from "@tensorflow/tfjs";
import {
  createAdamState,
  createUNet,
  DDIMScheduler,
  DDPMScheduler,
  presets,
  sample,
  setBackend,
  type TrainState,
  trainStep,
} from "../mod.ts";
import { oneDnnBf16Support } from "../src/backends/mod.ts";
import { assert } from "./_assert.ts";
import { HAS_ONEDNN } from "./_backend.ts";

const bf16 = HAS_ONEDNN ? oneDnnBf16Support() : { ok: false, detail: "" };
const skip = !HAS_ONEDNN
  ? "libdnnl.so.2 is not installed (apt-get install libdnnl2)"
  : !bf16.ok
  ? `this CPU has no native bf16 kernels (${bf16.detail})`
  : "";
if (skip) console.error(`onednn bf16 tests skipped: ${skip}`);

const U = 2 ** -8;
const gamma = (k: number) => k * 2 ** -24 / (1 - k * 2 ** -24);

/** Rounds f32 values to bf16 (nearest, ties to even), returned as f32. */
function roundBf16(x: Float32Array): Float32Array {
  const bits = new Uint32Array(x.length);
  new Float32Array(bits.buffer).set(x);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    bits[i] = ((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0;
  }
  return new Float32Array(bits.buffer);
}

/** Random values of mixed sign and magnitude from a fixed seed. */
function values(n: number, seed: number): Float32Array {
  return tf.tidy(() => tf.randomNormal([n], 0, 1, "float32", seed).dataSync() as Float32Array);
}

/**
 * One dot product per output: the exact value and sum|a||b|, for the raw and the rounded
 * operands. `terms(o, add)` calls `add(i, j)` for each term a[i] * b[j] of output o.
 */
function dots(
  outputs: number,
  a: Float32Array,
  b: Float32Array,
  terms: (o: number, add: (i: number, j: number) => void) => void,
) {
  const ar = roundBf16(a), br = roundBf16(b);
  const exact = new Float64Array(outputs), mass = new Float64Array(outputs);
  const rounded = new Float64Array(outputs), roundedMass = new Float64Array(outputs);
  for (let o = 0; o < outputs; o++) {
    let e = 0, m = 0, r = 0, rm = 0;
    terms(o, (i, j) => {
      e += a[i] * b[j];
      m += Math.abs(a[i] * b[j]);
      r += ar[i] * br[j];
      rm += Math.abs(ar[i] * br[j]);
    });
    exact[o] = e, mass[o] = m, rounded[o] = r, roundedMass[o] = rm;
  }
  return { exact, mass, rounded, roundedMass };
}

/** Checks both bounds for every output; returns the worst error over the first bound. */
function checkBounds(what: string, got: Float32Array, d: ReturnType<typeof dots>, k: number) {
  let worst = 0;
  for (let o = 0; o < got.length; o++) {
    const errExact = Math.abs(got[o] - d.exact[o]);
    const boundExact = (2 * U + U * U + gamma(k)) * d.mass[o];
    // A few ulps of f32 on top, for outputs that cancel to about zero.
    const slack = 1e-30;
    assert.ok(
      errExact <= boundExact + slack,
      `${what}[${o}]: |err| ${errExact} > (2u + u^2 + g_${k}) sum|a||b| = ${boundExact}`,
    );
    const errRounded = Math.abs(got[o] - d.rounded[o]);
    const boundRounded = gamma(k) * d.roundedMass[o];
    assert.ok(
      errRounded <= boundRounded + slack,
      `${what}[${o}]: |err| ${errRounded} against the rounded operands > g_${k} sum = ` +
        `${boundRounded}: not read in bf16 with f32 sums`,
    );
    if (d.mass[o] > 0) worst = Math.max(worst, errExact / d.mass[o]);
  }
  return worst;
}

Deno.test({
  name: "bf16 conv2d forward, input and filter gradients are within bf16's dot-product bound",
  ignore: !!skip,
  async fn() {
    await setBackend("onednn", { precision: "bf16" });
    for (const stride of [1, 2]) {
      const [n, h, w, ci, co, kh] = [2, 8, 8, 32, 24, 3];
      const xv = values(n * h * w * ci, 1), wv = values(kh * kh * ci * co, 2);
      const oh = Math.ceil(h / stride), ow = Math.ceil(w / stride);
      const dyv = values(n * oh * ow * co, 3);
      const pad = Math.max((oh - 1) * stride + kh - h, 0) >> 1;
      const [y, dx, dw] = tf.tidy(() => {
        const x = tf.tensor4d(xv, [n, h, w, ci]), f = tf.tensor4d(wv, [kh, kh, ci, co]);
        const conv = (a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, "same");
        const [gx, gw] = tf.grads(conv)([x, f], tf.tensor4d(dyv, [n, oh, ow, co]));
        return [conv(x, f), gx, gw].map((t) => t.dataSync() as Float32Array);
      });
      // Every (output pixel, filter tap, in, out) that lands inside the input.
      const taps = (visit: (xi: number, wi: number, yi: number) => void) => {
        for (let b = 0; b < n; b++) {
          for (let oy = 0; oy < oh; oy++) {
            for (let ox = 0; ox < ow; ox++) {
              for (let ky = 0; ky < kh; ky++) {
                const iy = oy * stride + ky - pad;
                if (iy < 0 || iy >= h) continue;
                for (let kx = 0; kx < kh; kx++) {
                  const ix = ox * stride + kx - pad;
                  if (ix < 0 || ix >= w) continue;
                  for (let c = 0; c < ci; c++) {
                    for (let o = 0; o < co; o++) {
                      visit(
                        ((b * h + iy) * w + ix) * ci + c,
                        ((ky * kh + kx) * ci + c) * co + o,
                        ((b * oh + oy) * ow + ox) * co + o,
                      );
                    }
                  }
                }
              }
            }
          }
        }
      };
      // Group each output's terms once, then hand them to `dots`.
      const group = (size: number, pick: (xi: number, wi: number, yi: number) => number[]) => {
        const lists: number[][][] = Array.from({ length: size }, () => []);
        taps((xi, wi, yi) => {
          const [o, i, j] = pick(xi, wi, yi);
          lists[o].push([i, j]);
        });
        return (o: number, add: (i: number, j: number) => void) => {
          for (const [i, j] of lists[o]) add(i, j);
        };
      };
      const fw = dots(y.length, xv, wv, group(y.length, (xi, wi, yi) => [yi, xi, wi]));
      const bd = dots(dx.length, dyv, wv, group(dx.length, (xi, wi, yi) => [xi, yi, wi]));
      const bw = dots(dw.length, xv, dyv, group(dw.length, (xi, wi, yi) => [wi, xi, yi]));
      checkBounds(`conv s${stride} y`, y, fw, kh * kh * ci);
      checkBounds(`conv s${stride} dx`, dx, bd, kh * kh * co);
      checkBounds(`conv s${stride} dw`, dw, bw, n * oh * ow);
    }
    await setBackend("onednn", { precision: "fp32" });
  },
});

Deno.test({
  name: "bf16 matMul (plain and transposed) is within bf16's dot-product bound",
  ignore: !!skip,
  async fn() {
    await setBackend("onednn", { precision: "bf16" });
    const [m, k, n] = [16, 256, 24];
    const av = values(m * k, 4), bv = values(n * k, 5);
    for (const transposeB of [false, true]) {
      const c = tf.tidy(() => {
        const a = tf.tensor2d(av, [m, k]);
        const b = transposeB ? tf.tensor2d(bv, [n, k]) : tf.tensor2d(bv, [k, n]);
        return tf.matMul(a, b, false, transposeB).dataSync() as Float32Array;
      });
      const d = dots(m * n, av, bv, (o, add) => {
        const i = Math.floor(o / n), j = o % n;
        for (let p = 0; p < k; p++) add(i * k + p, transposeB ? j * k + p : p * n + j);
      });
      checkBounds(`matMul transposeB=${transposeB}`, c, d, k);
    }
    await setBackend("onednn", { precision: "fp32" });
  },
});

/** A batch of smooth images (a blob whose place and colour vary), so the loss can fall. */
function smoothBatch(batch: number, res: number): tf.Tensor4D {
  return tf.tidy(() => {
    const coords = tf.linspace(-1, 1, res);
    const yy = coords.reshape([1, res, 1, 1]), xx = coords.reshape([1, 1, res, 1]);
    const cx = tf.linspace(-0.5, 0.5, batch).reshape([batch, 1, 1, 1]);
    const colour = tf.tensor([0.9, -0.3, 0.5]).reshape([1, 1, 1, 3]);
    const blob = tf.exp(yy.square().add(xx.sub(cx).square()).mul(-4));
    return blob.mul(colour).mul(2).sub(0.5).clipByValue(-1, 1) as tf.Tensor4D;
  });
}

const BATCH = 4;

/** Runs `steps` tiny-preset steps from the same weights and draws; returns the losses. */
async function trainLosses(precision: "fp32" | "bf16", steps: number): Promise<number[]> {
  await setBackend("onednn", { precision });
  const res = 16;
  const unet = createUNet({ ...presets.tiny.unet, resolution: res }, { seed: 0 });
  const weights = unet.getWeights();
  const state: TrainState = {
    unet,
    weights,
    adam: createAdamState(weights),
    ema: new Map([...weights].map(([k, w]) => [k, tf.tidy(() => tf.variable(w.clone()))])),
    scheduler: new DDPMScheduler(presets.tiny.scheduler),
  };
  const x0 = smoothBatch(BATCH, res);
  const losses: number[] = [];
  for (let step = 1; step <= steps; step++) {
    const t = Int32Array.from({ length: BATCH }, (_, i) => (i * 131 + step * 17) % 1000);
    const { loss } = await trainStep(state, {
      x0,
      t,
      noiseSeed: step,
      dropoutSeed: step,
      learningRate: 2e-3,
      step,
    }, presets.tiny.train);
    losses.push(loss);
  }
  x0.dispose();
  for (const v of [...state.adam.m.values(), ...state.adam.v.values(), ...state.ema.values()]) {
    v.dispose();
  }
  unet.dispose();
  return losses;
}

Deno.test({
  name: "a tiny bf16 training run tracks fp32's loss: first step within 2%, last four within 10%",
  ignore: !!skip,
  async fn() {
    const steps = 12;
    await setBackend("onednn");
    const before = tf.memory().numTensors;
    const fp32 = await trainLosses("fp32", steps);
    const bf = await trainLosses("bf16", steps);
    await setBackend("onednn", { precision: "fp32" });
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
    // Step 1 differs only by the forward pass's rounding; later steps by the weights' drift.
    assert.ok(
      Math.abs(bf[0] - fp32[0]) <= 0.02 * fp32[0],
      `step 1: bf16 ${bf[0]}, fp32 ${fp32[0]}`,
    );
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const lastBf = mean(bf.slice(-4)), last32 = mean(fp32.slice(-4));
    assert.ok(
      Math.abs(lastBf - last32) <= 0.1 * last32,
      `mean loss of the last four steps: bf16 ${lastBf}, fp32 ${last32}`,
    );
    // And both learn: the run's end is below its start.
    assert.ok(last32 < 0.8 * mean(fp32.slice(0, 3)), `fp32 did not learn: ${fp32}`);
    assert.ok(lastBf < 0.8 * mean(bf.slice(0, 3)), `bf16 did not learn: ${bf}`);
  },
});

Deno.test({
  name: "bf16 predictions are within 2% (relative RMS) of fp32's, and samples within 2/255",
  ignore: !!skip,
  async fn() {
    const res = 16;
    const unet = createUNet({ ...presets.tiny.unet, resolution: res }, { seed: 3 });
    // A fresh UNet's residual branches and last convolution start at zero (the paper's init),
    // which would hide them: give those weights seeded values.
    let seed = 100;
    for (const [name, w] of unet.getWeights()) {
      if (name.endsWith(".weight") && tf.tidy(() => w.abs().max().dataSync()[0]) === 0) {
        w.assign(tf.tidy(() => tf.randomNormal(w.shape, 0, 0.05, "float32", seed++)));
      }
    }
    const run = async <T>(f: () => Promise<T>) => {
      const out: T[] = [];
      for (const precision of ["fp32", "bf16"] as const) {
        await setBackend("onednn", { precision });
        out.push(await f());
      }
      await setBackend("onednn", { precision: "fp32" });
      return out;
    };
    // One pass: about 8 layers of convolutions, each adding rounding errors of order 2^-8.
    const x = tf.randomNormal([4, res, res, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    for (const t of [999, 500, 20]) {
      const [a, b] = await run(() =>
        Promise.resolve(tf.tidy(() => {
          const ts = tf.tensor1d(new Int32Array(4).fill(t), "int32");
          return unet.predict(x, ts).dataSync() as Float32Array;
        }))
      );
      let num = 0, den = 0;
      for (let i = 0; i < a.length; i++) num += (a[i] - b[i]) ** 2, den += a[i] ** 2;
      const rel = Math.sqrt(num / den);
      assert.ok(rel > 0, "bf16 predictions equal fp32's bit for bit: bf16 was not used");
      assert.ok(rel < 0.02, `t=${t}: relative RMS error ${rel}`);
    }
    x.dispose();
    // Ten DDIM steps with fresh noise at each (eta 1), from the same seed. A deterministic
    // chain (eta 0) from a random, untrained network amplifies any difference (see README).
    const [a, b] = await run(async () => {
      const images = await sample({
        unet,
        scheduler: new DDIMScheduler(presets.tiny.scheduler),
        batchSize: 4,
        numInferenceSteps: 10,
        eta: 1,
        seed: 7,
      });
      const px = await images.data() as Float32Array;
      images.dispose();
      return px;
    });
    unet.dispose();
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
    // Pixels in [-1, 1]: 127.5 per unit of the [0, 255] range.
    const meanErr = sum / a.length * 127.5;
    assert.ok(meanErr < 2, `mean pixel error ${meanErr.toFixed(3)}/255`);
  },
});

/** Runs a `deno task` in the repository with extra environment; returns code and stderr. */
async function task(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args],
    cwd: new URL("..", import.meta.url).pathname,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test({
  name: "--precision bf16 without native bf16 kernels is one error line, exit 2",
  ignore: !HAS_ONEDNN,
  async fn() {
    // oneDNN limited to AVX512 without BF16: its bf16 kernels would only emulate it.
    const r = await task(
      ["sample", "--preset", "tiny", "--n", "1", "--backend", "onednn", "--precision", "bf16"],
      { DNNL_MAX_CPU_ISA: "AVX512_CORE" },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: precision bf16 needs native bf16 kernels.*--precision fp32/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    const wasm = await task(
      ["sample", "--preset", "tiny", "--n", "1", "--backend", "wasm", "--precision", "bf16"],
    );
    assert.equal(wasm.code, 2, wasm.stderr);
    assert.match(wasm.stderr, /^error: precision bf16 needs the onednn backend/m);
  },
});

Deno.test({
  name: "auto says bf16 is available; a bf16 run records it in config.json, --resume keeps it",
  ignore: !!skip,
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      // One step, then resumes that train no further: what matters is what they record.
      const common = ["--out", out, "--batch-size", "2", "--sample-every", "0", "--steps", "1"];
      const first = await task(["train", ...common, "--precision", "bf16"]);
      assert.equal(first.code, 0, first.stderr);
      // No --backend: "auto", whose first line says bf16 is available.
      assert.match(first.stderr, /^ddpm: using .*"onednn".*bf16 available.*precision bf16/m);
      const config = () => Deno.readTextFile(`${out}/config.json`).then(JSON.parse);
      assert.equal((await config()).train.precision, "bf16");
      const resumed = await task(["train", ...common, "--resume"]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, /precision bf16/);
      assert.equal((await config()).train.precision, "bf16");
      const told = await task(["train", ...common, "--resume", "--precision", "fp32"]);
      assert.equal(told.code, 0, told.stderr);
      assert.match(told.stderr, /precision bf16 -> fp32/);
      assert.equal((await config()).train.precision, "fp32");
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
