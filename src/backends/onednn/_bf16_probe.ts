/**
 * Whether this CPU's oneDNN has native bf16 kernels: a convolution (forward and both
 * gradients) and a matmul built in bf16, each refused when oneDNN offers only its reference
 * implementation or one that emulates bf16 in f32 arithmetic.
 *
 * @module
 */
import { ConvPrimitives, type ConvShape } from "./_conv.ts";
import type { DnnlRuntime } from "./_lib.ts";
import { LowpCache } from "./_lowp_cache.ts";
import { MatMulPrimitives } from "./_matmul.ts";
import { allocFloats } from "./_primitive.ts";

/** What the probe found. */
export interface Bf16Support {
  /** Every probed kernel is native. */
  ok: boolean;
  /** The implementations found, or why there are none. */
  detail: string;
}

const probed = new WeakMap<DnnlRuntime, Bf16Support>();

/** A 3x3 convolution at 64 channels: the UNet's most common kind, small enough to build fast. */
const SHAPE: ConvShape = {
  batch: 2,
  inHeight: 8,
  inWidth: 8,
  inChannels: 64,
  outHeight: 8,
  outWidth: 8,
  outChannels: 64,
  filterHeight: 3,
  filterWidth: 3,
  strideHeight: 1,
  strideWidth: 1,
  padTop: 1,
  padLeft: 1,
};

/**
 * Probes once per runtime.
 *
 * @param rt The runtime.
 * @returns Whether bf16 is native, and the implementation names.
 */
export function _probeBf16(rt: DnnlRuntime): Bf16Support {
  let found = probed.get(rt);
  if (found) return found;
  const lowp = new LowpCache(rt, { take: allocFloats, give: () => {} });
  const conv = new ConvPrimitives(rt, allocFloats, lowp);
  const matmul = new MatMulPrimitives(rt, allocFloats, lowp);
  try {
    const impls = new Set<string>();
    const note = (impl: string) => {
      // Without AVX512-BF16 oneDNN 2.6 still builds bf16 kernels that convert to f32 and
      // back around f32 arithmetic ("emulation"): slower than f32, so not offered.
      if (!/bf16|amx/.test(impl)) throw new Error(`${impl} emulates bf16`);
      impls.add(impl);
    };
    for (const impl of conv.bf16Impls(SHAPE)) note(impl);
    note(matmul.bf16Impl({
      batchA: 1,
      batchB: 1,
      m: 64,
      k: 64,
      n: 64,
      transposeA: false,
      transposeB: false,
      bias: false,
      relu: false,
    }));
    found = { ok: true, detail: [...impls].join(", ") };
  } catch (err) {
    found = { ok: false, detail: String((err as Error)?.message ?? err).split("\n")[0] };
  } finally {
    conv.dispose();
    matmul.dispose();
    lowp.dispose();
  }
  probed.set(rt, found);
  return found;
}
