// Every preset's UNet, one forward pass each, with every weight non-zero (the layers that
// start at zero get small seeded values, so each residual branch contributes) except the last
// decoder block, which is pinned: its residual branch and shortcut kernels are zero, so the
// head's input is exactly the shortcut's bias c, a per-channel constant, whatever came before.
// The head (GroupNorm, swish, 3x3 SAME conv) of that constant is computed here in float64 and
// compared. Since 0 * NaN = NaN, a NaN or infinity anywhere upstream still reaches the output,
// and the second test shows that it does.
import * as tf from "@tensorflow/tfjs";
import { presets, setBackend, type UNet, type UNetConfig } from "../mod.ts";
import { createUNet } from "../src/presets/create_unet.ts";
import { assert, assertClose } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";
import { fillZeroWeights, setWeight, uniform } from "./_unet_weights.ts";

/** The head's weights and the constant c its input is pinned to. */
interface Head {
  c: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  kernel: Float32Array; // [3, 3, ch, outChannels], HWIO
  bias: Float32Array;
}

/** Zeros the last decoder block's residual branch and shortcut kernel; sets c and the head. */
function pinHead(unet: UNet, seed: number): Head {
  const { ch, chMult, numResBlocks, outChannels } = unet.config;
  const block = `up_blocks.${chMult.length - 1}`;
  const last = `${block}.resnets.${numResBlocks}`;
  const names = new Set(unet.getWeights().keys());
  const zero = (name: string) => {
    const v = unet.getWeights().get(name)!;
    setWeight(unet, name, new Float32Array(v.size));
  };
  zero(`${last}.conv2.weight`);
  zero(`${last}.conv2.bias`);
  zero(`${last}.conv_shortcut.weight`);
  // An attention after the last resnet adds its projection; zero it too where there is one.
  const attention = `${block}.attentions.${numResBlocks}.to_out.0`;
  if (names.has(`${attention}.weight`)) {
    zero(`${attention}.weight`);
    zero(`${attention}.bias`);
  }
  const head: Head = {
    c: uniform(ch, 1, seed),
    gamma: uniform(ch, 0.5, seed + 1).map((g) => 1 + g),
    beta: uniform(ch, 0.5, seed + 2),
    kernel: uniform(9 * ch * outChannels, Math.sqrt(6 / (9 * (ch + outChannels))), seed + 3),
    bias: uniform(outChannels, 0.1, seed + 4),
  };
  setWeight(unet, `${last}.conv_shortcut.bias`, head.c);
  setWeight(unet, "conv_norm_out.weight", head.gamma);
  setWeight(unet, "conv_norm_out.bias", head.beta);
  setWeight(unet, "conv_out.weight", head.kernel);
  setWeight(unet, "conv_out.bias", head.bias);
  return head;
}

/** The head of a spatially constant input, in float64: one [H, W, outChannels] image. */
function headReference(head: Head, cfg: UNetConfig): Float64Array {
  const { ch, numGroups, normEps, outChannels, resolution: res } = cfg;
  const per = ch / numGroups;
  const z = new Float64Array(ch);
  for (let g = 0; g < numGroups; g++) {
    let mean = 0, variance = 0;
    for (let c = g * per; c < (g + 1) * per; c++) mean += head.c[c] / per;
    for (let c = g * per; c < (g + 1) * per; c++) variance += (head.c[c] - mean) ** 2 / per;
    for (let c = g * per; c < (g + 1) * per; c++) {
      const n = (head.c[c] - mean) / Math.sqrt(variance + normEps) * head.gamma[c] + head.beta[c];
      z[c] = n / (1 + Math.exp(-n));
    }
  }
  // SAME padding: a border pixel sees only the taps that fall inside the image.
  const out = new Float64Array(res * res * outChannels);
  for (let y = 0; y < res; y++) {
    for (let x = 0; x < res; x++) {
      for (let o = 0; o < outChannels; o++) {
        let sum = head.bias[o];
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            if (y + ky - 1 < 0 || y + ky - 1 >= res || x + kx - 1 < 0 || x + kx - 1 >= res) {
              continue;
            }
            for (let c = 0; c < ch; c++) {
              sum += z[c] * head.kernel[((ky * 3 + kx) * ch + c) * outChannels + o];
            }
          }
        }
        out[(y * res + x) * outChannels + o] = sum;
      }
    }
  }
  return out;
}

/** Different images and timesteps per batch element. */
function inputs(n: number, res: number): [tf.Tensor4D, tf.Tensor1D] {
  const x = tf.tensor4d(uniform(n * res * res * 3, 1, 99), [n, res, res, 3]);
  const t = tf.tensor1d(Array.from({ length: n }, (_, i) => 10 + 900 * i), "int32");
  return [x, t];
}

// The 256x256 forward pass is ~450 GFLOP: about a minute on wasm with two cores.
Deno.test("UNet.predict() of every preset is finite and ends in the float64 head", async () => {
  await setBackend(FAST_BACKEND);
  // lsun256 and celebahq256 share one architecture; one forward pass covers both.
  assert.deepEqual(presets.lsun256.unet, presets.celebahq256.unet);
  for (const name of ["tiny", "cifar10", "celebahq256"] as const) {
    const cfg = presets[name].unet;
    const n = cfg.resolution > 64 ? 1 : 2;
    const unet = createUNet(name, { seed: 1 });
    fillZeroWeights(unet, 1000);
    const head = pinHead(unet, 7);
    const [x, t] = inputs(n, cfg.resolution);
    const y = unet.predict(x, t);
    assert.deepEqual(y.shape, x.shape, name);
    const got = await y.data();
    tf.dispose([x, t, y]);
    unet.dispose();
    const want = headReference(head, cfg);
    // GroupNorm's statistics are float32 sums over res^2 * ch / groups values. Measured
    // worst errors: tiny and cifar10 7e-7 to 1.5e-6 (wasm, onednn); celebahq256 1.5e-6 on
    // onednn but 2.6e-4 on wasm, whose GroupNorm sums 262,144 values per group in float32.
    const tol = cfg.resolution > 64 ? 1e-3 : 1e-5;
    for (let i = 0; i < n; i++) {
      const image = got.subarray(i * want.length, (i + 1) * want.length);
      assertClose(image, want, { rtol: tol, atol: tol, msg: `${name} image ${i}` });
    }
  }
});

Deno.test("UNet.predict() carries a NaN upstream of the pinned head to the output", async () => {
  await setBackend(FAST_BACKEND);
  const unet = createUNet("tiny", { seed: 1 });
  fillZeroWeights(unet, 1000);
  pinHead(unet, 7);
  const bias = unet.getWeights().get("down_blocks.0.resnets.0.conv1.bias")!;
  setWeight(unet, "down_blocks.0.resnets.0.conv1.bias", new Float32Array(bias.size).fill(NaN));
  const [x, t] = inputs(1, unet.config.resolution);
  const y = unet.predict(x, t);
  const got = await y.data();
  tf.dispose([x, t, y]);
  unet.dispose();
  assert.ok(got.every(Number.isNaN), "a NaN in the first res block must reach every output");
});
