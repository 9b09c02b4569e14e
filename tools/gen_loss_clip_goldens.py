#!/usr/bin/env python3
"""PyTorch goldens for l1_loss and smooth_l1_loss (tests/test_loss_l1.cpp -> tests/data/loss/) and
clip_grad_norm_ (tests/test_clip_grad.cpp -> tests/data/clip/).

Run with Debian's interpreter:  /usr/bin/python3 tools/gen_loss_clip_goldens.py
Losses: one .npz per case with a (input), b (target), g (upstream gradient, a scalar for mean/sum),
y, da, db (see tools/goldens.py). Clipping: grads p0, p1, p2 before, c0, c1, c2 after, and the
returned total norm `norm`. Seeded, so reruns give identical files.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

from goldens import GoldenDir, f32

LOSS = GoldenDir("loss")
CLIP = GoldenDir("clip")


def losses():
    a = torch.randn(3, 4, 5)
    b = torch.randn(3, 4, 5)
    b[0, 0, :3] = a[0, 0, :3]  # equal elements: zero gradient for L1
    b[1, 1, 0] = a[1, 1, 0] - 0.5  # exactly at |d| = beta = 0.5
    for red in ["mean", "sum", "none"]:
        LOSS.binary_case(f"l1_{red}", a, b, lambda x, t: F.l1_loss(x, t, reduction=red))
        for beta, tag in [(1.0, "1"), (0.5, "0_5"), (0.0, "0"), (2.5, "2_5")]:
            LOSS.binary_case(f"smooth_l1_b{tag}_{red}", a, b,
                             lambda x, t: F.smooth_l1_loss(x, t, reduction=red, beta=beta))


def clip_case(name, max_norm, norm_type, scale=1.0):
    grads = [torch.randn(3, 4) * scale, torch.randn(5) * scale, torch.randn(2, 2, 2) * scale]
    params = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    CLIP.save(name, p0=f32(grads[0]), p1=f32(grads[1]), p2=f32(grads[2]), c0=f32(params[0].grad),
              c1=f32(params[1].grad), c2=f32(params[2].grad), norm=np.float32(norm.item()))


def clipping():
    clip_case("clip_l2", 1.0, 2.0)
    clip_case("clip_l2_no_clip", 100.0, 2.0)  # the norm is below max_norm: gradients unchanged
    clip_case("clip_l1", 2.0, 1.0)
    clip_case("clip_inf", 0.5, float("inf"))
    clip_case("clip_l3", 0.7, 3.0, scale=4.0)


def main():
    os.makedirs(LOSS.out, exist_ok=True)
    os.makedirs(CLIP.out, exist_ok=True)
    torch.manual_seed(0)
    losses()
    clipping()
    print("wrote", len(os.listdir(LOSS.out)), "and", len(os.listdir(CLIP.out)), "files")


if __name__ == "__main__":
    main()
