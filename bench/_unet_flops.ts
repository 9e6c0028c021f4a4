// Analytic FLOPs (2 per multiply-add) of one UNet forward pass per image: convolutions,
// attention projections and products. Norms and activations are left out (< 1%).
import { _planUNet } from "../src/nn/_unet_plan.ts";
import type { UNetConfig } from "../mod.ts";

export function unetForwardFlops(cfg: UNetConfig): number {
  const plan = _planUNet(cfg);
  const conv = (k: number, ci: number, co: number, r: number) => 2 * k * k * ci * co * r * r;
  const attn = (c: number, r: number) => 4 * 2 * c * c * r * r + 2 * 2 * r ** 4 * c;
  const res = (ci: number, co: number, r: number) =>
    conv(3, ci, co, r) + conv(3, co, co, r) + (ci !== co ? conv(1, ci, co, r) : 0);
  let f = conv(3, cfg.inChannels, plan.ch, cfg.resolution);
  const L = plan.down.length;
  plan.down.forEach((lv, i) => {
    const r = cfg.resolution / 2 ** i;
    for (const rp of lv.resnets) f += res(rp.inCh, rp.outCh, r);
    f += lv.attentions.length * attn(lv.channels, r);
    if (lv.sampler) f += conv(3, lv.channels, lv.channels, r / 2);
  });
  const rMid = cfg.resolution / 2 ** (L - 1);
  f += 2 * res(plan.mid.channels, plan.mid.channels, rMid) + attn(plan.mid.channels, rMid);
  plan.up.forEach((lv, i) => {
    const r = cfg.resolution / 2 ** (L - 1 - i);
    for (const rp of lv.resnets) f += res(rp.inCh, rp.outCh, r);
    f += lv.attentions.length * attn(lv.channels, r);
    if (lv.sampler) f += conv(3, lv.channels, lv.channels, 2 * r);
  });
  return f + conv(3, plan.ch, cfg.outChannels, cfg.resolution);
}
