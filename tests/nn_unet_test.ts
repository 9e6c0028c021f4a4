import * as tf from "@tensorflow/tfjs";
import { createUNet, presets, setBackend, type UNet, type UNetConfig } from "../mod.ts";
import {
  conv2d,
  countUNetParams,
  downsample,
  groupNorm,
  resBlock,
  selfAttention,
  timestepEmbedding,
  unetWeightSpecs,
  upsample,
} from "../src/nn/mod.ts";
import { _planUNet } from "../src/nn/_unet_plan.ts";
import { mulberry32 } from "../src/random.ts";
import { assert, assertClose } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

const SMALL: UNetConfig = {
  resolution: 8,
  inChannels: 3,
  outChannels: 3,
  ch: 8,
  chMult: [1, 2],
  numResBlocks: 1,
  attnResolutions: [4],
  dropout: 0.3,
  numGroups: 4,
  normEps: 1e-6,
};

/** Replaces every weight by seeded uniform noise, so that no branch is zero. */
function randomize(unet: UNet, seed: number): void {
  const r = mulberry32(seed);
  const map = new Map<string, tf.Tensor>();
  for (const [k, v] of unet.getWeights()) {
    map.set(
      k,
      tf.tensor(Float32Array.from({ length: v.size }, () => (r() * 2 - 1) * 0.3), v.shape),
    );
  }
  unet.setWeights(map);
  tf.dispose([...map.values()]);
}

function inputs(n: number, res: number, seed: number): [tf.Tensor4D, tf.Tensor1D] {
  const r = mulberry32(seed);
  const x = tf.tensor4d(Float32Array.from({ length: n * res * res * 3 }, () => r() * 2 - 1), [
    n,
    res,
    res,
    3,
  ]);
  const t = tf.tensor1d(Array.from({ length: n }, (_, i) => (i * 397) % 1000), "int32");
  return [x, t];
}

Deno.test("countUNetParams() gives the paper's sizes: 35,746,307 and 113,673,219", () => {
  assert.equal(countUNetParams(presets.cifar10.unet), 35_746_307);
  assert.equal(countUNetParams(presets.celebahq256.unet), 113_673_219);
  assert.equal(countUNetParams(presets.lsun256.unet), 113_673_219);
});

Deno.test("createUNet().numParams() equals countUNetParams() for tiny and cifar10", async () => {
  await setBackend(FAST_BACKEND);
  for (const name of ["tiny", "cifar10"] as const) {
    const unet = createUNet(name);
    assert.equal(unet.numParams(), countUNetParams(presets[name].unet), name);
    unet.dispose();
  }
});

Deno.test("getWeights() holds diffusers UNet2DModel keys with matching shapes for cifar10", async () => {
  await setBackend(FAST_BACKEND);
  // [key, PyTorch shape] pairs from diffusers' UNet2DModel with google/ddpm-cifar10-32's config.
  const expected: [string, number[]][] = [
    ["conv_in.weight", [128, 3, 3, 3]],
    ["time_embedding.linear_1.weight", [512, 128]],
    ["time_embedding.linear_2.bias", [512]],
    ["down_blocks.0.resnets.0.norm1.weight", [128]],
    ["down_blocks.0.resnets.0.time_emb_proj.weight", [128, 512]],
    ["down_blocks.0.downsamplers.0.conv.weight", [128, 128, 3, 3]],
    ["down_blocks.1.resnets.0.conv_shortcut.weight", [256, 128, 1, 1]],
    ["down_blocks.1.attentions.0.group_norm.weight", [256]],
    ["down_blocks.1.attentions.1.to_q.weight", [256, 256]],
    ["down_blocks.1.attentions.0.to_out.0.weight", [256, 256]],
    ["down_blocks.3.resnets.1.conv2.weight", [256, 256, 3, 3]],
    ["mid_block.attentions.0.to_k.weight", [256, 256]],
    ["mid_block.resnets.1.conv1.weight", [256, 256, 3, 3]],
    ["up_blocks.0.resnets.0.conv1.weight", [256, 512, 3, 3]],
    ["up_blocks.0.resnets.2.conv_shortcut.weight", [256, 512, 1, 1]],
    ["up_blocks.2.attentions.2.to_v.weight", [256, 256]],
    ["up_blocks.2.upsamplers.0.conv.weight", [256, 256, 3, 3]],
    ["up_blocks.3.resnets.0.conv1.weight", [128, 384, 3, 3]],
    ["up_blocks.3.resnets.2.conv1.weight", [128, 256, 3, 3]],
    ["conv_norm_out.weight", [128]],
    ["conv_out.weight", [3, 128, 3, 3]],
  ];
  const unet = createUNet("cifar10");
  const w = unet.getWeights();
  const torchShape = (s: number[]) =>
    s.length === 4 ? [s[3], s[2], s[0], s[1]] : s.length === 2 ? [s[1], s[0]] : s;
  for (const [key, shape] of expected) {
    assert.ok(w.has(key), `missing ${key}`);
    assert.deepEqual(torchShape(w.get(key)!.shape), shape, key);
  }
  for (
    const absent of [
      "down_blocks.3.downsamplers.0.conv.weight",
      "up_blocks.3.upsamplers.0.conv.weight",
      "down_blocks.0.attentions.0.to_q.weight",
    ]
  ) {
    assert.ok(!w.has(absent), `unexpected ${absent}`);
  }
  const specs = unetWeightSpecs(presets.cifar10.unet);
  assert.equal(w.size, specs.length);
  assert.deepEqual([...w.keys()], specs.map((s) => s.name));
  let total = 0;
  for (const v of w.values()) total += v.size;
  assert.equal(total, 35_746_307);
  unet.dispose();
});

Deno.test("createUNet() is deterministic for a seed and differs across seeds", async () => {
  await setBackend("cpu");
  const a = createUNet("tiny", { seed: 3 }), b = createUNet("tiny", { seed: 3 });
  const c = createUNet("tiny", { seed: 4 });
  const wa = a.getWeights(), wb = b.getWeights(), wc = c.getWeights();
  for (const [k, v] of wa) {
    assert.deepEqual(v.dataSync(), wb.get(k)!.dataSync(), k);
  }
  const k = "down_blocks.0.resnets.0.conv1.weight";
  assert.notDeepEqual(wa.get(k)!.dataSync(), wc.get(k)!.dataSync());
  // Glorot-uniform bound sqrt(6 / (9 * (32 + 32))).
  const vals = wa.get(k)!.dataSync();
  const bound = Math.sqrt(6 / (9 * 64));
  assert.ok(vals.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...vals) > 0.9 * bound);
  for (
    const zero of [
      "conv_out.weight",
      "mid_block.attentions.0.to_out.0.weight",
      "mid_block.resnets.0.conv2.weight",
    ]
  ) {
    assert.ok(wa.get(zero)!.dataSync().every((v) => v === 0), zero);
  }
  [a, b, c].forEach((u) => u.dispose());
});

Deno.test("a fresh UNet outputs exactly zero, with the input's shape (tiny, cifar10)", async () => {
  await setBackend(FAST_BACKEND);
  for (const name of ["tiny", "cifar10"] as const) {
    const unet = createUNet(name, { seed: 1 });
    const [x, t] = inputs(2, 32, 5);
    const y = unet.predict(x, t);
    assert.deepEqual(y.shape, x.shape, name);
    assert.ok(y.dataSync().every((v) => v === 0), name);
    tf.dispose([x, t, y]);
    unet.dispose();
  }
});

Deno.test(`UNet gradients on ${FAST_BACKEND} equal cpu's (conv gradients end to end)`, async () => {
  const run = async (backend: "cpu" | typeof FAST_BACKEND) => {
    await setBackend(backend);
    const unet = createUNet({ ...SMALL, dropout: 0 }, { seed: 2 });
    randomize(unet, 9);
    const [x, t] = inputs(2, 8, 6);
    const vars = [...unet.getWeights().values()];
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.square(tf.sub(unet.predict(x, t), x))) as tf.Scalar,
      vars,
    );
    const out = { loss: value.dataSync()[0], g: vars.map((v) => grads[v.name].dataSync()) };
    tf.dispose([value, x, t, ...Object.values(grads)]);
    unet.dispose();
    return out;
  };
  const cpu = await run("cpu");
  const wasm = await run(FAST_BACKEND);
  assertClose([wasm.loss], [cpu.loss], { rtol: 1e-4 });
  const flat = (gs: ArrayLike<number>[]) => Float64Array.from(gs.flatMap((g) => Array.from(g)));
  const gc = flat(cpu.g), gw = flat(wasm.g);
  const scale = Math.max(...gc.map(Math.abs));
  assertClose(gw, gc, { rtol: 1e-3, atol: 1e-4 * scale });
});

Deno.test("UNet.predict() leaks no tensors over 10 training steps of tiny", async () => {
  await setBackend(FAST_BACKEND);
  const unet = createUNet({ ...presets.tiny.unet, dropout: 0.1 }, { seed: 0 });
  const [x, t] = inputs(2, 16, 7); // tiny runs on any size divisible by 4
  const vars = [...unet.getWeights().values()];
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.square(unet.predict(x, t, { training: true }))) as tf.Scalar,
        vars,
      );
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.1)));
      return value.dataSync()[0];
    });
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 10; i++) step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, t]);
  unet.dispose();
});

Deno.test("dropout acts only with training: true, and is reproducible for a seed", async () => {
  await setBackend(FAST_BACKEND);
  const unet = createUNet(SMALL, { seed: 1 });
  randomize(unet, 3);
  const [x, t] = inputs(2, 8, 8);
  const get = (opts?: { training?: boolean; seed?: number }) =>
    tf.tidy(() => unet.predict(x, t, opts).dataSync());
  const plain = get();
  assert.deepEqual(get({ seed: 5 }), plain, "seed alone must not enable dropout");
  const a = get({ training: true, seed: 5 }), b = get({ training: true, seed: 5 });
  const c = get({ training: true, seed: 6 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, plain);
  assert.notDeepEqual(a, c);
  tf.dispose([x, t]);
  unet.dispose();
});

Deno.test("setWeights() assigns values and lists missing, unexpected and mis-shaped keys", async () => {
  await setBackend("cpu");
  const unet = createUNet(SMALL);
  const w = unet.getWeights();
  const map = new Map<string, tf.Tensor>();
  for (const [k, v] of w) map.set(k, tf.onesLike(v));
  unet.setWeights(map);
  assert.ok(w.get("conv_out.weight")!.dataSync().every((v) => v === 1));
  map.get("conv_in.bias")!.dispose();
  map.delete("conv_in.bias");
  map.set("foo.weight", tf.zeros([1]));
  const bad = map.get("conv_out.weight")!;
  map.set("conv_out.weight", tf.zeros([1, 1, 1, 1]));
  assert.throws(
    () => unet.setWeights(map),
    (e: Error) =>
      e instanceof TypeError && /missing \(1\): conv_in\.bias/.test(e.message) &&
      /unexpected \(1\): foo\.weight/.test(e.message) &&
      /mis-shaped \(1\): conv_out\.weight \(expected \[3,3,8,3\], got \[1,1,1,1\]\)/.test(
        e.message,
      ),
  );
  tf.dispose([...map.values(), bad]);
  unet.dispose();
});

Deno.test("createUNet() and predict() reject bad configs and inputs", async () => {
  await setBackend("cpu");
  assert.throws(() => createUNet({ ...SMALL, numGroups: 3 }), RangeError);
  assert.throws(() => createUNet({ ...SMALL, attnResolutions: [16] }), RangeError);
  assert.throws(() => createUNet({ ...SMALL, resolution: 9 }), RangeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => createUNet("nope" as any), RangeError);
  const unet = createUNet(SMALL);
  const x = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
  assert.throws(() => unet.predict(x, tf.tensor1d([1], "int32")), TypeError);
  assert.throws(
    () => unet.predict(tf.zeros([2, 7, 7, 3]), tf.tensor1d([1, 2], "int32")),
    TypeError,
  );
  assert.throws(
    () => unet.predict(tf.zeros([2, 8, 8, 1]), tf.tensor1d([1, 2], "int32")),
    TypeError,
  );
  unet.dispose();
});

Deno.test("each block's timestep projection gets its own gradient through the shared matmul", async () => {
  // The UNet projects the embedding for all residual blocks in one matmul of the kernels
  // concatenated, and splits the result: each kernel's gradient comes back through the concat.
  // Checked against a central difference along a random direction, per block.
  await setBackend("cpu");
  const unet = createUNet(SMALL, { seed: 3 });
  randomize(unet, 4);
  const [x, t] = inputs(2, 8, 5);
  const weights = unet.getWeights();
  const names = [...weights.keys()].filter((k) => k.endsWith("time_emb_proj.weight"));
  assert.ok(names.length >= 5, `only ${names.length} blocks`);
  const r = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 6);
  const loss = () => tf.sum(tf.mul(unet.predict(x, t), r)) as tf.Scalar;
  const grads = tf.variableGrads(loss, names.map((k) => weights.get(k)!)).grads;
  for (const name of names) {
    const w = weights.get(name)!;
    const dir = tf.randomNormal(w.shape, 0, 1, "float32", 7);
    const analytic = (await tf.sum(tf.mul(grads[w.name], dir)).data())[0];
    const at = async (eps: number) => {
      const keep = w.clone();
      w.assign(tf.add(keep, tf.mul(dir, eps)));
      const v = (await loss().data())[0];
      w.assign(keep);
      keep.dispose();
      return v;
    };
    const eps = 1e-2;
    const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
    // float32 losses of magnitude ~10 differenced at eps 1e-2: a few 1e-3 of absolute noise.
    assert.ok(
      Math.abs(analytic - numeric) <= 0.02 * Math.abs(numeric) + 5e-3,
      `${name}: gradient . direction ${analytic}, central difference ${numeric}`,
    );
    assert.ok(Math.abs(numeric) > 1e-2, `${name}: the loss does not depend on it`);
  }
  unet.dispose();
});

/**
 * The UNet forward pass rebuilt from the public layers, each residual block projecting the
 * timestep embedding itself (`resBlock` without `tembProjected`), as UNetModel did before it
 * batched the projections.
 */
function perBlockForward(unet: UNet, x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
  const w = unet.getWeights() as Map<string, tf.Tensor>;
  const get = <T extends tf.Tensor>(k: string) => w.get(k)! as T;
  const lin = (p: string) => ({
    kernel: get<tf.Tensor2D>(`${p}.weight`),
    bias: get<tf.Tensor1D>(`${p}.bias`),
  });
  const conv = (p: string) => ({
    kernel: get<tf.Tensor4D>(`${p}.weight`),
    bias: get<tf.Tensor1D>(`${p}.bias`),
  });
  const norm = (p: string) => ({
    gamma: get<tf.Tensor1D>(`${p}.weight`),
    beta: get<tf.Tensor1D>(`${p}.bias`),
  });
  const cfg = unet.config;
  const opts = { groups: cfg.numGroups, eps: cfg.normEps };
  const plan = _planUNet(cfg);
  const temb = timestepEmbedding(t, {
    linear1: lin("time_embedding.linear_1"),
    linear2: lin("time_embedding.linear_2"),
  });
  const res = (h: tf.Tensor4D, p: string) =>
    resBlock(h, temb, {
      norm1: norm(`${p}.norm1`),
      conv1: conv(`${p}.conv1`),
      timeEmbProj: lin(`${p}.time_emb_proj`),
      norm2: norm(`${p}.norm2`),
      conv2: conv(`${p}.conv2`),
      convShortcut: w.has(`${p}.conv_shortcut.weight`) ? conv(`${p}.conv_shortcut`) : undefined,
    }, opts);
  const attn = (h: tf.Tensor4D, p: string) =>
    selfAttention(h, {
      norm: norm(`${p}.group_norm`),
      q: lin(`${p}.to_q`),
      k: lin(`${p}.to_k`),
      v: lin(`${p}.to_v`),
      out: lin(`${p}.to_out.0`),
    }, opts);
  const c = conv("conv_in");
  let h = conv2d(x, c.kernel, { bias: c.bias });
  const skips = [h];
  for (const level of plan.down) {
    level.resnets.forEach((r, j) => {
      h = res(h, r.prefix);
      if (level.attentions.length) h = attn(h, level.attentions[j]);
      skips.push(h);
    });
    if (level.sampler) skips.push(h = downsample(h, conv(level.sampler)));
  }
  h = attn(res(h, plan.mid.resnets[0].prefix), plan.mid.attention);
  h = res(h, plan.mid.resnets[1].prefix);
  for (const level of plan.up) {
    level.resnets.forEach((r, j) => {
      h = res(tf.concat([h, skips.pop()!], 3), r.prefix);
      if (level.attentions.length) h = attn(h, level.attentions[j]);
    });
    if (level.sampler) h = upsample(h, conv(level.sampler));
  }
  h = groupNorm(h, norm("conv_norm_out"), { ...opts, swish: true });
  const out = conv("conv_out");
  return conv2d(h, out.kernel, { bias: out.bias });
}

Deno.test("predict() with all blocks' timestep projections in one matmul equals one per block", async () => {
  await setBackend("cpu");
  const unet = createUNet({ ...SMALL, dropout: 0, numResBlocks: 2 }, { seed: 8 });
  randomize(unet, 9);
  const [x, t] = inputs(2, 8, 10);
  const got = await unet.predict(x, t).data();
  const want = await tf.tidy(() => perBlockForward(unet, x, t)).data();
  assertClose(got, want, { rtol: 1e-5, atol: 1e-5 });
  unet.dispose();
});
