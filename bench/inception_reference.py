"""PyTorch cross-check of ddpm's FID Inception (never a dependency of the project).

Builds pytorch-fid's FID Inception-v3 (FIDInceptionA/C/E blocks, torchvision's InceptionB/D,
BatchNorm eps 0.001, the 1008-class head) in plain PyTorch without torchvision, with seeded
random weights, saves its state dict in torch's legacy format as pytorch-fid's file is
(`_use_new_zipfile_serialization=False`), and writes, for a few 32 x 32 images:
  pool.npy             pool3 features, pytorch-fid's preprocessing (x / 255, F.interpolate
                       bilinear align_corners=False to 299, 2x - 1)
  logits_unbiased.npy  pool3 @ fc.weight^T with torch-fidelity's preprocessing (TF 1.x resize,
                       (x - 128) / 128)
bench/inception_vs_pytorch.ts runs this and compares ddpm's numbers with it.
Run with Debian's torch (python3-torch), e.g. /usr/bin/python3 bench/inception_reference.py DIR.
"""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Unit(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def avg3(x):
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


class A(nn.Module):
    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = Unit(cin, 64, kernel_size=1)
        self.branch5x5_1 = Unit(cin, 48, kernel_size=1)
        self.branch5x5_2 = Unit(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = Unit(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = Unit(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = Unit(96, 96, kernel_size=3, padding=1)
        self.branch_pool = Unit(cin, pool_features, kernel_size=1)

    def forward(self, x):
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(avg3(x)),
        ], 1)


class B(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = Unit(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = Unit(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = Unit(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = Unit(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, 2),
        ], 1)


class C(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = Unit(cin, 192, kernel_size=1)
        self.branch7x7_1 = Unit(cin, c7, kernel_size=1)
        self.branch7x7_2 = Unit(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = Unit(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = Unit(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = Unit(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = Unit(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = Unit(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = Unit(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = Unit(cin, 192, kernel_size=1)

    def forward(self, x):
        b = self.branch7x7dbl_1(x)
        for m in [self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5]:
            b = m(b)
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            b,
            self.branch_pool(avg3(x)),
        ], 1)


class D(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = Unit(cin, 192, kernel_size=1)
        self.branch3x3_2 = Unit(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = Unit(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = Unit(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = Unit(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = Unit(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        d = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), d, F.max_pool2d(x, 3, 2)], 1)


class E(nn.Module):
    def __init__(self, cin, max_pool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = Unit(cin, 320, kernel_size=1)
        self.branch3x3_1 = Unit(cin, 384, kernel_size=1)
        self.branch3x3_2a = Unit(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = Unit(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = Unit(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = Unit(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = Unit(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = Unit(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = Unit(cin, 192, kernel_size=1)

    def forward(self, x):
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        # FIDInceptionE_2 (Mixed_7c) max-pools; FIDInceptionE_1 averages without the padding.
        p = F.max_pool2d(x, 3, 1, 1) if self.max_pool else avg3(x)
        return torch.cat([
            self.branch1x1(x), self.branch3x3_2a(a), self.branch3x3_2b(a),
            self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b), self.branch_pool(p),
        ], 1)


class FidInception(nn.Module):
    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = Unit(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = Unit(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = Unit(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = Unit(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = Unit(80, 192, kernel_size=3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = A(192, 32), A(256, 64), A(288, 64)
        self.Mixed_6a = B(288)
        self.Mixed_6b, self.Mixed_6c = C(768, 128), C(768, 160)
        self.Mixed_6d, self.Mixed_6e = C(768, 160), C(768, 192)
        self.Mixed_7a = D(768)
        self.Mixed_7b, self.Mixed_7c = E(1280, False), E(2048, True)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, x):
        x = F.max_pool2d(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))), 3, 2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, 2)
        for name in ["5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"]:
            x = getattr(self, f"Mixed_{name}")(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)


def resize_tf1(x, size):
    """torch-fidelity's TF 1.x bilinear resize: source = destination * in / out."""
    n = x.shape[2]
    g = torch.arange(size, dtype=torch.float32) * torch.tensor(n / size, dtype=torch.float32)
    lo = g.long()
    hi = (lo + 1).clamp_max(n - 1)
    f = g - lo.float()
    a, b = x[:, :, lo, :][:, :, :, lo], x[:, :, lo, :][:, :, :, hi]
    c, d = x[:, :, hi, :][:, :, :, lo], x[:, :, hi, :][:, :, :, hi]
    top = a + (b - a) * f.view(1, 1, 1, -1)
    bottom = c + (d - c) * f.view(1, 1, 1, -1)
    return top + (bottom - top) * f.view(1, 1, -1, 1)


def main(out):
    torch.manual_seed(0)
    net = FidInception().eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight.normal_(0, (2 / fan) ** 0.5)
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(1000)
        net.fc.weight.normal_(0, 0.02)
        net.fc.bias.normal_(0, 0.1)
    sd = net.state_dict()
    assert len(sd) == 566, len(sd)
    torch.save(sd, f"{out}/random_legacy.pth", _use_new_zipfile_serialization=False)
    rng = np.random.RandomState(1)
    images = rng.randint(0, 256, size=(3, 32, 32, 3)).astype(np.uint8)
    images[1] = np.clip(np.arange(32)[None, :, None] * 8, 0, 255)
    np.save(f"{out}/images.npy", images)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        pool = net(F.interpolate(x / 255, size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1)
        logits = net((resize_tf1(x, 299) - 128) / 128).mm(net.fc.weight.T)
    np.save(f"{out}/pool.npy", pool.numpy().astype(np.float64))
    np.save(f"{out}/logits_unbiased.npy", logits.numpy().astype(np.float64))


if __name__ == "__main__":
    main(sys.argv[1])
