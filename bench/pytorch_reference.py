"""PyTorch yardstick for the ddpm benchmarks (never a dependency of the project).

The paper's UNet (Ho et al. 2020), written in plain PyTorch with the block structure of
src/nn/_unet_plan.ts: a stand-in for diffusers' UNet2DModel with the same config (diffusers
is not installable here). It asserts the parameter counts of `createUNet(preset).numParams()`
and times, on CPU in float32 (or, with --precision bf16, under torch.autocast("cpu",
dtype=torch.bfloat16) with group norm, softmax and the loss in float32), each after warm-up,
the median of a few repeats:
  forward  no_grad, eval mode, batch 16
  train    forward in train mode (the preset's dropout), MSE on the noise, backward,
           grad-norm clip 1.0, Adam step, EMA update; batch 8, and 128 for cifar10
Activations are channels_last by default: measured interleaved against contiguous on two
loaded cores it was 2-13% faster (forward and train, tiny and cifar10), i.e. at worst even.
--pass, --preset and --batch repeat; the cases are their product. Peak RSS is the process's high-water mark so far (ru_maxrss), so it only grows from one
row to the next: run a configuration on its own for its own peak.

Run with Debian's torch (python3-torch 1.13), not the pyenv python3 on PATH:
  /usr/bin/python3 bench/pytorch_reference.py                    # markdown table, all cases
  /usr/bin/python3 bench/pytorch_reference.py --preset cifar10 --pass train --batch 128 --json
Flags: --preset tiny|cifar10|celebahq256, --pass forward|train, --batch N, --threads N (default 2),
--precision fp32|bf16 (fp32), --memory-format channels_last|contiguous, --warmup N (1), --repeats N (5; fewer once 60 s
are timed), --json (one JSON line per case). cifar10 train at batch 128 takes minutes a step on
two cores: `--warmup 0 --repeats 1` times a single step.
"""
import argparse, json, math, resource, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

# Copied from src/presets/presets.ts (unet, and the train fields the step uses).
PRESETS = {
    "tiny": dict(ch=32, ch_mult=(1, 2, 2), num_res_blocks=1, attn_res=(8,), dropout=0.0,
                 groups=8, resolution=32, lr=1e-3, ema_decay=0.999, params=1_113_955),
    "cifar10": dict(ch=128, ch_mult=(1, 2, 2, 2), num_res_blocks=2, attn_res=(16,), dropout=0.1,
                    groups=32, resolution=32, lr=2e-4, ema_decay=0.9999, params=35_746_307),
    "celebahq256": dict(ch=128, ch_mult=(1, 1, 2, 2, 4, 4), num_res_blocks=2, attn_res=(16,),
                        dropout=0.0, groups=32, resolution=256, lr=2e-5, ema_decay=0.9999,
                        params=113_673_219),
}
EPS = 1e-6  # GroupNorm epsilon (normEps)


class GroupNorm32(nn.GroupNorm):
    """Group norm in float32 under autocast too, as later torch versions do (1.13's CPU
    autocast has no rule for group_norm and would run it in bfloat16)."""

    def forward(self, x):
        with torch.autocast("cpu", enabled=False):
            return super().forward(x.float())


def norm(c, g):
    return GroupNorm32(g, c, eps=EPS)


def zero(m):  # layers ending a residual branch start at zero scale, as in the paper
    nn.init.zeros_(m.weight), nn.init.zeros_(m.bias)
    return m


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb_ch, g, dropout):
        super().__init__()
        self.norm1, self.conv1 = norm(cin, g), nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_ch, cout)
        self.norm2, self.dropout = norm(cout, g), nn.Dropout(dropout)
        self.conv2 = zero(nn.Conv2d(cout, cout, 3, padding=1))
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.conv_shortcut(x) + h


class Attention(nn.Module):  # single head over all H*W positions
    def __init__(self, c, g):
        super().__init__()
        self.group_norm = norm(c, g)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = zero(nn.Linear(c, c))

    def forward(self, x):
        n, c, h, w = x.shape
        s = self.group_norm(x).flatten(2).transpose(1, 2)  # [n, hw, c]
        q, k, v = self.to_q(s) * c ** -0.5, self.to_k(s), self.to_v(s)
        a = torch.softmax((q @ k.transpose(1, 2)).float(), dim=-1) @ v  # softmax in fp32
        return x + self.to_out(a).transpose(1, 2).reshape(n, c, h, w)


class Downsample(nn.Module):  # 3x3 stride 2, TF "SAME": pad 0 before, 1 after
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):  # nearest x2, then 3x3 conv
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(nn.Module):
    def __init__(self, ch, ch_mult, num_res_blocks, attn_res, dropout, groups, resolution, **_):
        super().__init__()
        self.ch, temb = ch, 4 * ch
        outs = [ch * m for m in ch_mult]
        attn = [resolution // 2 ** i in attn_res for i in range(len(outs))]
        res = lambda i, o: ResBlock(i, o, temb, groups, dropout)
        self.linear_1, self.linear_2 = nn.Linear(ch, temb), nn.Linear(temb, temb)
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        self.down, skip_chs, cin = nn.ModuleList(), [ch], ch
        for i, out in enumerate(outs):  # encoder: num_res_blocks per level, then downsample
            for _ in range(num_res_blocks):
                self.down.append(res(cin, out)), skip_chs.append(out)
                if attn[i]:
                    self.down.append(Attention(out, groups))
                cin = out
            if i < len(outs) - 1:
                self.down.append(Downsample(out)), skip_chs.append(out)
        self.mid = nn.ModuleList([res(cin, cin), Attention(cin, groups), res(cin, cin)])
        self.up = nn.ModuleList()
        for i, out in reversed(list(enumerate(outs))):  # decoder: one more block, on skips
            for _ in range(num_res_blocks + 1):
                self.up.append(res(cin + skip_chs.pop(), out))
                if attn[i]:
                    self.up.append(Attention(out, groups))
                cin = out
            if i > 0:
                self.up.append(Upsample(out))
        self.norm_out = norm(cin, groups)
        self.conv_out = zero(nn.Conv2d(cin, 3, 3, padding=1))

    def forward(self, x, t):
        half = self.ch // 2  # sinusoids: f_i = exp(-ln(10000) i / (half - 1)), sin then cos
        f = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / (half - 1))
        args = t.float()[:, None] * f[None]
        emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
        temb = self.linear_2(F.silu(self.linear_1(emb)))
        h = self.conv_in(x)
        skips = [h]
        for m in self.down:
            h = m(h, temb) if isinstance(m, ResBlock) else m(h)
            if isinstance(m, Attention):
                skips[-1] = h  # at attention levels the skip is the attention's output
            else:
                skips.append(h)
        h = self.mid[2](self.mid[1](self.mid[0](h, temb)), temb)
        for m in self.up:
            h = m(torch.cat([h, skips.pop()], dim=1), temb) if isinstance(m, ResBlock) else m(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def median_time(step, warmup, repeats, budget_s=60.0):
    """Median seconds of `step` after `warmup` calls; stops repeating after budget_s."""
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
        if i >= warmup and sum(times[warmup:]) > budget_s:
            break
    return statistics.median(times[warmup:])


def measure(name, pass_, batch, fmt, warmup, repeats, precision="fp32"):
    cfg = PRESETS[name]
    torch.manual_seed(0)
    model = UNet(**cfg).to(memory_format=fmt)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == cfg["params"], f"{name}: {n_params} params, TypeScript has {cfg['params']}"
    r = cfg["resolution"]
    x0 = torch.randn(batch, 3, r, r).contiguous(memory_format=fmt)
    t = torch.randint(0, 1000, (batch,))
    # bf16: torch.autocast on CPU (convolutions and matmuls read bf16); weights, Adam, EMA,
    # group norm, softmax and the loss stay float32.
    cast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    if pass_ == "forward":
        model.eval()

        def step():
            with torch.no_grad(), cast():
                model(x0, t)
    else:
        model.train()
        abar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), 0)
        params = list(model.parameters())
        opt = torch.optim.Adam(params, lr=cfg["lr"], eps=1e-8)
        ema = [p.detach().clone() for p in params]
        d = cfg["ema_decay"]

        def step():
            noise = torch.randn_like(x0)
            a = abar[t][:, None, None, None]
            with cast():
                pred = model(a.sqrt() * x0 + (1 - a).sqrt() * noise, t)
            loss = F.mse_loss(pred.float(), noise)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            with torch.no_grad():
                torch._foreach_mul_(ema, d)
                torch._foreach_add_(ema, [p.detach() for p in params], alpha=1 - d)
    sec = median_time(step, warmup, repeats)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"preset": name, "pass": pass_, "batch": batch, "precision": precision,
            "img_per_s": round(batch / sec, 2),
            "ms_per_step": round(1000 * sec, 1), "peak_rss_mb": round(rss, 1)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", choices=PRESETS, action="append")
    p.add_argument("--pass", dest="pass_", choices=("forward", "train"), action="append")
    p.add_argument("--batch", type=int, action="append")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--memory-format", choices=("channels_last", "contiguous"),
                   default="channels_last")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    fmt = torch.channels_last if a.memory_format == "channels_last" else torch.contiguous_format
    default_batches = {"forward": [16], "train": [8]}
    cases = []
    for name in a.preset or PRESETS:
        for pass_ in a.pass_ or ("forward", "train"):
            extra = [128] if (name, pass_) == ("cifar10", "train") else []
            for batch in a.batch or default_batches[pass_] + extra:
                cases.append((name, pass_, batch))
    if not a.json:
        kind = "float32" if a.precision == "fp32" else "bfloat16 autocast"
        print(f"torch {torch.__version__}, {a.threads} threads, {kind}, {a.memory_format}\n")
        print("| preset | pass | batch | precision | img/s | ms/step | peak RSS MB |\n"
              "|---|---|---|---|---|---|---|")
    for case in cases:
        m = measure(*case, fmt, a.warmup, max(1, a.repeats), a.precision)
        print(json.dumps(m) if a.json else "| " + " | ".join(map(str, m.values())) + " |",
              flush=True)


if __name__ == "__main__":
    main()
