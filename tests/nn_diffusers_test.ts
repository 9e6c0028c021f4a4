import * as tf from "@tensorflow/tfjs";
import { presets, setBackend } from "../mod.ts";
import {
  fromDiffusersLayout,
  normalizeDiffusersKey,
  toDiffusersLayout,
  unetConfigFromDiffusers,
  unetConfigToDiffusers,
} from "../src/diffusers/mod.ts";
import { assert } from "./_assert.ts";

// google/ddpm-cifar10-32's unet/config.json, as published.
const CIFAR10_JSON = {
  _class_name: "UNet2DModel",
  act_fn: "silu",
  attention_head_dim: null,
  block_out_channels: [128, 256, 256, 256],
  center_input_sample: false,
  down_block_types: ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
  downsample_padding: 0,
  flip_sin_to_cos: false,
  freq_shift: 1,
  in_channels: 3,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  norm_eps: 1e-6,
  norm_num_groups: 32,
  out_channels: 3,
  sample_size: 32,
  time_embedding_type: "positional",
  up_block_types: ["UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
};

Deno.test("toDiffusersLayout() and fromDiffusersLayout() move conv HWIO <-> OIHW and dense [in,out] <-> [out,in]", async () => {
  await setBackend("cpu");
  const conv = tf.tensor4d(Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i), [2, 3, 4, 5]);
  const t = await toDiffusersLayout("conv_in.weight", conv);
  assert.deepEqual(t.shape, [5, 4, 2, 3]);
  // HWIO element [a=1, b=2, i=3, o=4] sits at OIHW [4, 3, 1, 2].
  assert.equal(t.data[((4 * 4 + 3) * 2 + 1) * 3 + 2], conv.arraySync()[1][2][3][4]);
  const back = fromDiffusersLayout("conv_in.weight", t.shape, t.data);
  assert.deepEqual(back.shape, conv.shape);
  assert.deepEqual(back.dataSync(), conv.dataSync());
  const lin = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const l = await toDiffusersLayout("time_embedding.linear_1.weight", lin);
  assert.deepEqual(l.shape, [3, 2]);
  assert.deepEqual([...l.data], [1, 4, 2, 5, 3, 6]);
  assert.deepEqual(fromDiffusersLayout("x.weight", l.shape, l.data).dataSync(), lin.dataSync());
  const vec = await toDiffusersLayout("conv_in.bias", tf.tensor1d([7, 8]));
  assert.deepEqual([vec.shape, [...vec.data]], [[2], [7, 8]]);
  await assert.rejects(() => toDiffusersLayout("x", tf.zeros([1, 2, 3])), TypeError);
  tf.dispose([conv, back, lin]);
});

Deno.test("fromDiffusersLayout() accepts attention projections as Linear or 1x1 conv, and legacy names", async () => {
  await setBackend("cpu");
  const data = new Float32Array([1, 2, 3, 4, 5, 6]); // torch [out=2, in=3]
  const a = fromDiffusersLayout("mid_block.attentions.0.to_q.weight", [2, 3], data);
  const b = fromDiffusersLayout("mid_block.attentions.0.to_q.weight", [2, 3, 1, 1], data);
  const c = fromDiffusersLayout("mid_block.attentions.0.query.weight", [2, 3, 1, 1], data);
  for (const w of [a, b, c]) {
    assert.deepEqual(w.shape, [3, 2]);
    assert.deepEqual([...w.dataSync()], [1, 4, 2, 5, 3, 6]);
  }
  assert.throws(
    () => fromDiffusersLayout("a.to_k.weight", [2, 3, 3, 1], new Float32Array(18)),
    TypeError,
  );
  assert.throws(() => fromDiffusersLayout("a.weight", [2, 3], new Float32Array(5)), TypeError);
  assert.equal(
    normalizeDiffusersKey("down_blocks.1.attentions.1.key.bias"),
    "down_blocks.1.attentions.1.to_k.bias",
  );
  assert.equal(
    normalizeDiffusersKey("up_blocks.2.attentions.0.value.weight"),
    "up_blocks.2.attentions.0.to_v.weight",
  );
  assert.equal(
    normalizeDiffusersKey("mid_block.attentions.0.proj_attn.bias"),
    "mid_block.attentions.0.to_out.0.bias",
  );
  assert.equal(
    normalizeDiffusersKey("down_blocks.0.resnets.0.conv1.weight"),
    "down_blocks.0.resnets.0.conv1.weight",
  );
  tf.dispose([a, b, c]);
});

Deno.test("unetConfigToDiffusers(cifar10) reproduces google/ddpm-cifar10-32's config", () => {
  const json = unetConfigToDiffusers(presets.cifar10.unet);
  for (const [k, v] of Object.entries(CIFAR10_JSON)) assert.deepEqual(json[k], v, k);
  const big = unetConfigToDiffusers(presets.celebahq256.unet);
  assert.deepEqual(big.block_out_channels, [128, 128, 256, 256, 512, 512]);
  assert.deepEqual(big.down_block_types, [
    "DownBlock2D",
    "DownBlock2D",
    "DownBlock2D",
    "DownBlock2D",
    "AttnDownBlock2D",
    "DownBlock2D",
  ]);
  assert.deepEqual(big.up_block_types, [
    "UpBlock2D",
    "AttnUpBlock2D",
    "UpBlock2D",
    "UpBlock2D",
    "UpBlock2D",
    "UpBlock2D",
  ]);
});

Deno.test("unetConfigFromDiffusers() reads the published config and round-trips every preset", () => {
  const cfg = unetConfigFromDiffusers(CIFAR10_JSON);
  assert.deepEqual(cfg, { ...presets.cifar10.unet, dropout: 0 });
  for (const p of Object.values(presets)) {
    assert.deepEqual(unetConfigFromDiffusers(unetConfigToDiffusers(p.unet)), p.unet);
  }
});

Deno.test("unetConfigFromDiffusers() refuses what it cannot build, listing every reason", () => {
  const refuse = (json: Record<string, unknown>, ...patterns: RegExp[]) =>
    assert.throws(() => unetConfigFromDiffusers(json), (e: Error) => {
      assert.ok(e instanceof RangeError, String(e));
      for (const p of patterns) assert.match(e.message, p);
      return true;
    });
  refuse(
    {
      ...CIFAR10_JSON,
      down_block_types: ["DownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
    },
    /CrossAttnDownBlock2D/,
  );
  refuse(
    { ...CIFAR10_JSON, flip_sin_to_cos: true, freq_shift: 0 },
    /flip_sin_to_cos/,
    /freq_shift/,
  );
  refuse({ ...CIFAR10_JSON, attention_head_dim: 8 }, /multi-head/);
  refuse({ ...CIFAR10_JSON, _class_name: "UNet2DConditionModel" }, /UNet2DConditionModel/);
  refuse({ ...CIFAR10_JSON, downsample_padding: 1 }, /downsample_padding/);
  const { flip_sin_to_cos: _f, freq_shift: _s, ...defaults } = CIFAR10_JSON;
  refuse(defaults, /flip_sin_to_cos is true/, /freq_shift is 0/);
  refuse({
    ...CIFAR10_JSON,
    up_block_types: ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
  }, /mirror/);
});
