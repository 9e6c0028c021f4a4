// The onednn backend: its kernels against cpu and float64, the UNet of every preset against
// cpu, and what a user sees without the library.
import * as tf from "@tensorflow/tfjs";
import { createUNet, type PresetName, presets, setBackend, type UNetConfig } from "../mod.ts";
import { assert } from "./_assert.ts";
import { HAS_ONEDNN } from "./_backend.ts";

if (!HAS_ONEDNN) {
  console.error("onednn tests skipped: libdnnl.so.2 is not installed (apt-get install libdnnl2)");
}

/**
 * Largest |a - b| over the largest |b| (or `floor`, if larger): the error relative to the
 * tensor's scale.
 */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  assert.equal(a.length, b.length);
  let num = 0;
  for (let i = 0; i < a.length; i++) num = Math.max(num, Math.abs(a[i] - b[i]));
  const den = Math.max(maxAbs(b), floor);
  return den === 0 ? num : num / den;
}

function maxAbs(b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(b[i]));
  return m;
}

/** A direct float64 convolution, NHWC and HWIO, explicit pads, for reference. */
function conv64(
  x: Float32Array,
  xs: number[],
  w: Float32Array,
  ws: number[],
  stride: number,
  padTop: number,
  padLeft: number,
  outH: number,
  outW: number,
): Float64Array {
  const [n, h, wd, ci] = xs, [kh, kw, , co] = ws;
  const y = new Float64Array(n * outH * outW * co);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * stride + ky - padTop;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * stride + kx - padLeft;
              if (ix < 0 || ix >= wd) continue;
              for (let c = 0; c < ci; c++) {
                s += x[((b * h + iy) * wd + ix) * ci + c] * w[((ky * kw + kx) * ci + c) * co + o];
              }
            }
          }
          y[((b * outH + oy) * outW + ox) * co + o] = s;
        }
      }
    }
  }
  return y;
}

const CONV_CASES = [
  { name: "3x3 stride 1 same", x: [2, 7, 6, 5], w: [3, 3, 5, 4], stride: 1, pad: "same" },
  {
    name: "3x3 stride 2 TF-same 0/1",
    x: [1, 8, 8, 3],
    w: [3, 3, 3, 6],
    stride: 2,
    pad: [[0, 1], [0, 1]],
  },
  { name: "3x3 stride 2 valid (odd)", x: [2, 9, 7, 4], w: [3, 3, 4, 2], stride: 2, pad: "valid" },
  { name: "1x1", x: [3, 4, 4, 17], w: [1, 1, 17, 9], stride: 1, pad: "valid" },
] as const;

Deno.test({
  name: "onednn convolution forward and gradients match float64 and the cpu backend",
  ignore: !HAS_ONEDNN,
  async fn() {
    await setBackend("cpu");
    for (const c of CONV_CASES) {
      const x = tf.randomNormal([...c.x], 0, 1, "float32", 1);
      const w = tf.randomNormal([...c.w], 0, 1, "float32", 2);
      const pad = typeof c.pad === "string"
        ? c.pad
        : [[0, 0], [...c.pad[0]], [...c.pad[1]], [0, 0]] as tf.backend_util.ExplicitPadding;
      const xv = x.dataSync() as Float32Array, wv = w.dataSync() as Float32Array;
      const results: Record<string, Float32Array[]> = {};
      for (const backend of ["cpu", "onednn"] as const) {
        await setBackend(backend);
        const xb = tf.tensor(xv, [...c.x]) as tf.Tensor4D,
          wb = tf.tensor(wv, [...c.w]) as tf.Tensor4D;
        const f = (a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, pad);
        const y = f(xb, wb);
        // A fixed, non-uniform upstream gradient exercises every position of both gradients.
        const dy = tf.randomNormal(y.shape, 0, 1, "float32", 3);
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), dy)))([
          xb,
          wb,
        ]);
        results[backend] = [y, gx, gw].map((t) => t.dataSync() as Float32Array);
        if (backend === "onednn") {
          const info = tf.backend_util.computeConv2DInfo(
            [...c.x] as [number, number, number, number],
            [...c.w] as [number, number, number, number],
            c.stride,
            1,
            pad,
          );
          const ref = conv64(
            xv,
            [...c.x],
            wv,
            [...c.w],
            c.stride,
            info.padInfo.top,
            info.padInfo.left,
            info.outHeight,
            info.outWidth,
          );
          assert.ok(relErr(results.onednn[0], ref) < 1e-6, `${c.name}: forward vs float64`);
        }
        tf.dispose([xb, wb, y, dy, gx, gw]);
      }
      const [y1, gx1, gw1] = results.onednn, [y0, gx0, gw0] = results.cpu;
      assert.ok(relErr(y1, y0) < 1e-5, `${c.name}: forward vs cpu`);
      assert.ok(relErr(gx1, gx0) < 1e-5, `${c.name}: input gradient vs cpu ${relErr(gx1, gx0)}`);
      assert.ok(relErr(gw1, gw0) < 1e-5, `${c.name}: filter gradient vs cpu ${relErr(gw1, gw0)}`);
      tf.dispose([x, w]);
    }
  },
});

Deno.test({
  name: "onednn falls back to the JS kernels for what it does not take (dilation), correctly",
  ignore: !HAS_ONEDNN,
  async fn() {
    await setBackend("cpu");
    const xv = tf.randomNormal([1, 9, 9, 3], 0, 1, "float32", 11).dataSync();
    const wv = tf.randomNormal([3, 3, 3, 2], 0, 1, "float32", 12).dataSync();
    const outs: Float32Array[] = [];
    for (const backend of ["cpu", "onednn", "onednn"] as const) {
      await setBackend(backend);
      const x = tf.tensor4d(xv, [1, 9, 9, 3]), w = tf.tensor4d(wv, [3, 3, 3, 2]);
      const y = tf.conv2d(x, w, 1, "same", "NHWC", 2);
      outs.push(y.dataSync() as Float32Array);
      tf.dispose([x, w, y]);
    }
    // The second onednn call takes the remembered refusal path.
    assert.ok(relErr(outs[1], outs[0]) < 1e-6 && relErr(outs[2], outs[0]) < 1e-6);
  },
});

Deno.test({
  name: "onednn matMul handles transposes, batch broadcast, bias and relu like cpu",
  ignore: !HAS_ONEDNN,
  async fn() {
    const cases = [
      { a: [5, 7], b: [7, 3], ta: false, tb: false },
      { a: [2, 7, 5], b: [2, 3, 7], ta: true, tb: true },
      { a: [4, 6, 5], b: [5, 9], ta: false, tb: false },
      { a: [5, 6], b: [3, 5, 2], ta: true, tb: false },
    ];
    await setBackend("cpu");
    for (const c of cases) {
      const a = tf.randomNormal(c.a, 0, 1, "float32", 4).dataSync();
      const b = tf.randomNormal(c.b, 0, 1, "float32", 5).dataSync();
      const outs: Float32Array[] = [];
      for (const backend of ["cpu", "onednn"] as const) {
        await setBackend(backend);
        const ta = tf.tensor(a, c.a), tb = tf.tensor(b, c.b);
        const n = c.tb ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
        const bias = tf.linspace(-1, 1, n);
        const y = tf.fused.matMul({
          a: ta,
          b: tb,
          transposeA: c.ta,
          transposeB: c.tb,
          bias,
          activation: "relu",
        });
        outs.push(y.dataSync() as Float32Array);
        tf.dispose([ta, tb, bias, y]);
      }
      assert.ok(relErr(outs[1], outs[0]) < 1e-6, `matMul ${JSON.stringify(c)}`);
    }
  },
});

Deno.test({
  name: "onednn softmax matches float64 over the last axis, and its gradient matches cpu",
  ignore: !HAS_ONEDNN,
  async fn() {
    await setBackend("cpu");
    const shape = [3, 5, 37];
    const xv = tf.randomNormal(shape, 0, 4, "float32", 9).dataSync();
    const wv = tf.randomNormal(shape, 0, 1, "float32", 10).dataSync();
    const run = async (backend: "cpu" | "onednn") => {
      await setBackend(backend);
      const x = tf.tensor(xv, shape), w = tf.tensor(wv, shape);
      const y = tf.softmax(x).dataSync() as Float32Array;
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.softmax(a), w)))(x);
      const out = { y, g: g.dataSync() as Float32Array };
      tf.dispose([x, w, g]);
      return out;
    };
    const cpu = await run("cpu"), dnn = await run("onednn");
    const cols = shape[2];
    const ref = new Float64Array(xv.length);
    for (let r = 0; r < xv.length / cols; r++) {
      let max = -Infinity, sum = 0;
      for (let j = 0; j < cols; j++) max = Math.max(max, xv[r * cols + j]);
      for (let j = 0; j < cols; j++) sum += Math.exp(xv[r * cols + j] - max);
      for (let j = 0; j < cols; j++) ref[r * cols + j] = Math.exp(xv[r * cols + j] - max) / sum;
    }
    assert.ok(relErr(dnn.y, ref) < 1e-6, `forward vs float64 ${relErr(dnn.y, ref)}`);
    assert.ok(relErr(dnn.g, cpu.g) < 1e-5, `gradient vs cpu ${relErr(dnn.g, cpu.g)}`);
  },
});

/** Every block type of each preset, at a size the cpu reference computes in seconds. */
function smallConfig(name: PresetName): UNetConfig {
  const cfg = presets[name].unet;
  const resolution = 2 ** (cfg.chMult.length - 1) * 2 >= 16 ? 2 ** (cfg.chMult.length - 1) * 2 : 16;
  // Attention where the preset has it, scaled to the smaller resolution by level.
  const attnLevels = cfg.attnResolutions.map((r) => Math.log2(cfg.resolution / r));
  return {
    ...cfg,
    ch: 16,
    numGroups: 8,
    dropout: 0,
    resolution,
    attnResolutions: attnLevels.map((l) => resolution / 2 ** l),
  };
}

async function forwardAndGrads(cfg: UNetConfig, backend: "cpu" | "onednn") {
  await setBackend(backend);
  const unet = createUNet(cfg, { seed: 3 });
  const weights = unet.getWeights();
  // Fresh UNets start with zero output layers; random weights make every path count.
  let i = 0;
  for (const w of weights.values()) {
    const scale = 1 / Math.sqrt(w.shape.slice(0, -1).reduce((a, b) => a * b, 1) || 1);
    tf.tidy(() => w.assign(tf.randomNormal(w.shape, 0, scale, "float32", 100 + i++)));
  }
  const r = cfg.resolution;
  const x = tf.randomNormal([2, r, r, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  const t = tf.tensor1d([3, 700], "int32");
  const target = tf.randomNormal([2, r, r, 3], 0, 1, "float32", 8);
  const y = unet.predict(x, t).dataSync() as Float32Array;
  const { grads } = tf.variableGrads(
    () => tf.mean(tf.squaredDifference(unet.predict(x, t), target)) as tf.Scalar,
    [...weights.values()],
  );
  const g = new Map<string, Float32Array>();
  for (const [name, w] of weights) g.set(name, grads[w.name].dataSync() as Float32Array);
  tf.dispose([x, t, target, ...Object.values(grads)]);
  unet.dispose();
  return { y, g };
}

for (const name of ["tiny", "cifar10", "celebahq256"] as const) {
  Deno.test({
    name: `onednn UNet (${name} blocks) matches cpu: forward 1e-5, gradients 1e-4 relative`,
    ignore: !HAS_ONEDNN,
    async fn() {
      const cfg = smallConfig(name);
      const cpu = await forwardAndGrads(cfg, "cpu");
      const dnn = await forwardAndGrads(cfg, "onednn");
      assert.ok(relErr(dnn.y, cpu.y) < 1e-5, `forward ${relErr(dnn.y, cpu.y)}`);
      // Some gradients are zero in exact arithmetic (a key bias shifts every logit of a
      // query equally, which softmax ignores): their scale is the rounding of the whole
      // model's, so the error is measured against 1e-3 of the largest gradient at least.
      const floor = 1e-3 * Math.max(...[...cpu.g.values()].map(maxAbs));
      for (const [k, gc] of cpu.g) {
        const e = relErr(dnn.g.get(k)!, gc, floor);
        assert.ok(e < 1e-4, `gradient of ${k}: relative error ${e}`);
      }
    },
  });
}

async function runWithoutOneDnn(code: string): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    cwd: new URL("..", import.meta.url).pathname,
    env: { DDPM_ONEDNN_LIB: "/nonexistent/libdnnl.so.2" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("without libdnnl, 'auto' falls back to wasm with one line naming the install", async () => {
  const r = await runWithoutOneDnn(
    `import { setBackend } from "./mod.ts"; console.log(await setBackend("auto"));`,
  );
  assert.equal(r.code, 0, r.stderr);
  // (A half-installed tfjs-node in node_modules may add a line of its own.)
  const lines = r.stderr.trim().split("\n").filter((l) => /onednn|libdnnl/.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^ddpm: using TensorFlow.js backend "wasm".*apt-get install libdnnl2/);
});

Deno.test("without libdnnl, --backend onednn is one error line naming the install, exit 2", async () => {
  const r = await runWithoutOneDnn(
    `import { setBackend } from "./mod.ts";
     await setBackend("onednn").catch((e) => { console.error("caught: " + e.message); Deno.exit(3); });`,
  );
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /caught: Cannot start backend "onednn".*apt-get install libdnnl2/);
  const cli = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "sample", "--preset", "tiny", "--n", "1", "--backend", "onednn"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { DDPM_ONEDNN_LIB: "/nonexistent/libdnnl.so.2" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(cli.stderr);
  assert.equal(cli.code, 2, stderr);
  assert.match(stderr, /^error: Cannot start backend "onednn".*apt-get install libdnnl2/m);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
});
