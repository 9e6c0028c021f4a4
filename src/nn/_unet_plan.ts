// The block structure of diffusers' UNet2DModel for a UNetConfig, shared by the weight
// list and the forward pass so that the two cannot drift apart.
import type { UNetConfig } from "./unet_config.ts";

export interface _ResPlan {
  prefix: string;
  inCh: number;
  outCh: number;
}

export interface _LevelPlan {
  resnets: _ResPlan[];
  /** One attention prefix per resnet, or none at levels without attention. */
  attentions: string[];
  /** Prefix of the down/up sampler, or null at the last level. */
  sampler: string | null;
  channels: number;
}

export interface _UNetPlan {
  ch: number;
  tembCh: number;
  down: _LevelPlan[];
  mid: { resnets: [_ResPlan, _ResPlan]; attention: string; channels: number };
  up: _LevelPlan[];
}

/** Levels (0 = full resolution) whose resolution is listed in attnResolutions. */
export function _attentionLevels(cfg: UNetConfig): boolean[] {
  return cfg.chMult.map((_, i) => cfg.attnResolutions.includes(cfg.resolution / 2 ** i));
}

export function _planUNet(cfg: UNetConfig): _UNetPlan {
  const outs = cfg.chMult.map((m) => cfg.ch * m);
  const nLevels = outs.length;
  const attn = _attentionLevels(cfg);
  const down: _LevelPlan[] = [];
  let inCh = outs[0];
  for (let i = 0; i < nLevels; i++) {
    const p = `down_blocks.${i}`;
    const out = outs[i];
    const resnets: _ResPlan[] = [];
    const attentions: string[] = [];
    for (let j = 0; j < cfg.numResBlocks; j++) {
      resnets.push({ prefix: `${p}.resnets.${j}`, inCh: j === 0 ? inCh : out, outCh: out });
      if (attn[i]) attentions.push(`${p}.attentions.${j}`);
    }
    const sampler = i < nLevels - 1 ? `${p}.downsamplers.0.conv` : null;
    down.push({ resnets, attentions, sampler, channels: out });
    inCh = out;
  }
  const last = outs[nLevels - 1];
  const mid: _UNetPlan["mid"] = {
    resnets: [
      { prefix: "mid_block.resnets.0", inCh: last, outCh: last },
      { prefix: "mid_block.resnets.1", inCh: last, outCh: last },
    ],
    attention: "mid_block.attentions.0",
    channels: last,
  };
  const up: _LevelPlan[] = [];
  const rev = [...outs].reverse();
  let out = rev[0];
  for (let i = 0; i < nLevels; i++) {
    const p = `up_blocks.${i}`;
    const prev = out;
    out = rev[i];
    const skipIn = rev[Math.min(i + 1, nLevels - 1)];
    const level = nLevels - 1 - i;
    const resnets: _ResPlan[] = [];
    const attentions: string[] = [];
    for (let j = 0; j <= cfg.numResBlocks; j++) {
      const skip = j === cfg.numResBlocks ? skipIn : out;
      const from = j === 0 ? prev : out;
      resnets.push({ prefix: `${p}.resnets.${j}`, inCh: from + skip, outCh: out });
      if (attn[level]) attentions.push(`${p}.attentions.${j}`);
    }
    const sampler = i < nLevels - 1 ? `${p}.upsamplers.0.conv` : null;
    up.push({ resnets, attentions, sampler, channels: out });
  }
  return { ch: outs[0], tembCh: 4 * outs[0], down, mid, up };
}
