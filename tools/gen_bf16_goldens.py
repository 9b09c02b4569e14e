"""PyTorch goldens for bfloat16: conversion and CPU autocast (tests/data/bf16/).

convert.npz: x (float32: random values over many scales, float32 denormals, exact ties, the largest
float32s, infinities) and y = torch.tensor(x).bfloat16().float(), the round-to-nearest-even PyTorch does.

autocast_<op>_<case>.npz: one op run under torch.autocast("cpu", dtype=torch.bfloat16) on float32 leaves
(conv_transpose2d, which 1.13's CPU autocast leaves in float32: on the leaves cast to bfloat16 by hand)
x, w (and b): the inputs, the upstream gradient g (float32, cast to bfloat16 as the bfloat16 output's
gradient is), the output y (bfloat16, stored as float32) and the float32 leaf gradients dx, dw (db).
Run: /usr/bin/python3 tools/gen_bf16_goldens.py
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from goldens import GoldenDir, f32  # noqa: E402


def conversion_values(rng):
    parts = [
        rng.standard_normal(2000).astype(np.float32),
        (rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000)).astype(np.float32),
        # float32 denormals and the smallest normals
        (rng.integers(1, 1 << 23, 500).astype(np.uint32)).view(np.float32),
        # exact ties: the low 16 bits are 0x8000, with the bfloat16 lsb odd and even
        ((rng.integers(0, 1 << 16, 500).astype(np.uint32) << 16) | 0x8000).view(np.float32),
        np.array([np.finfo(np.float32).max, -np.finfo(np.float32).max, np.inf, -np.inf, 0.0, -0.0],
                 dtype=np.float32),
    ]
    x = np.concatenate(parts)
    return x[np.isfinite(x) | np.isinf(x)].astype(np.float32)


class RoundBf16(torch.autograd.Function):
    """A bfloat16 tensor held in float32: rounds the values, and the gradient, to bfloat16."""

    @staticmethod
    def forward(ctx, t):
        return t.bfloat16().float()

    @staticmethod
    def backward(ctx, g):
        return g.bfloat16().float()


def autocast_case(out, name, fn, x, w, b, explicit=False):
    """explicit: PyTorch 1.13's CPU autocast keeps the op in float32 (and its bfloat16 CPU kernel rejects
    these shapes), so the op runs in float32 on inputs, output and gradients rounded to bfloat16: the
    values a bfloat16 op with float32 accumulation gives."""
    leaves = [t.clone().requires_grad_(True) for t in (x, w, b) if t is not None]
    if explicit:
        y = RoundBf16.apply(fn(*[RoundBf16.apply(t) for t in leaves])).bfloat16()
    else:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = fn(*leaves)
    assert y.dtype == torch.bfloat16, f"{name}: autocast did not run in bfloat16 ({y.dtype})"
    g = torch.randn(y.shape)
    y.backward(g.to(torch.bfloat16))
    arrays = dict(x=f32(leaves[0]), w=f32(leaves[1]), g=f32(g), y=f32(y.float()), dx=f32(leaves[0].grad),
                  dw=f32(leaves[1].grad))
    if b is not None:
        arrays.update(b=f32(leaves[2]), db=f32(leaves[2].grad))
    for k, v in arrays.items():
        assert v.dtype == np.float32, k
    out.save(name, **arrays)


def main():
    torch.manual_seed(18)
    rng = np.random.default_rng(18)
    out = GoldenDir("bf16")
    os.makedirs(out.out, exist_ok=True)
    x = conversion_values(rng)
    y = torch.from_numpy(x).bfloat16().float().numpy()
    out.save("convert", x=x, y=y)

    r = torch.randn
    # conv2d: (name, x shape, w shape, bias, stride, padding, dilation, groups)
    convs = [("conv2d_3x3", (2, 8, 9, 10), (16, 8, 3, 3), True, 1, 1, 1, 1),
             ("conv2d_s2", (2, 16, 12, 11), (8, 16, 3, 3), False, 2, 1, 1, 1),
             ("conv2d_groups", (1, 8, 7, 7), (12, 2, 3, 3), True, 1, 0, 1, 4),
             ("conv2d_dilated", (2, 4, 10, 10), (6, 4, 3, 3), True, 1, 2, 2, 1)]
    for name, xs, ws, bias, s, p, d, g in convs:
        autocast_case(out, "autocast_" + name,
                      lambda x, w, b=None, s=s, p=p, d=d, g=g: F.conv2d(x, w, b, s, p, d, g),
                      r(xs), r(ws) * 0.2, r(ws[0]) if bias else None)
    # conv_transpose2d: (name, x shape, w shape (in, out/g, kh, kw), bias, stride, padding, output_padding, groups)
    convts = [("conv_transpose2d_k4s2", (2, 8, 6, 5), (8, 4, 4, 4), True, 2, 1, 0, 1),
              ("conv_transpose2d_k3s2op", (1, 6, 5, 5), (6, 8, 3, 3), False, 2, 1, 1, 1),
              ("conv_transpose2d_groups", (2, 4, 5, 6), (4, 3, 3, 3), True, 1, 1, 0, 2)]
    for name, xs, ws, bias, s, p, op, g in convts:
        autocast_case(out, "autocast_" + name,
                      lambda x, w, b=None, s=s, p=p, op=op, g=g: F.conv_transpose2d(x, w, b, s, p, op, g),
                      r(xs), r(ws) * 0.2, r(ws[1] * g) if bias else None, explicit=True)
    # GEMMs of more than 16^3 multiply-adds: PyTorch 1.13 runs smaller bfloat16 GEMMs on a path that does
    # not accumulate in float32 (errors of 1% of the scale on 7x33x5), larger ones on oneDNN's.
    autocast_case(out, "autocast_linear", lambda x, w, b: F.linear(x, w, b), r(16, 40), r(24, 40) * 0.2, r(24))
    autocast_case(out, "autocast_linear_3d", lambda x, w: F.linear(x, w), r(2, 8, 33), r(20, 33) * 0.2, None)
    autocast_case(out, "autocast_matmul", lambda a, b: torch.matmul(a, b), r(16, 48), r(48, 24), None)


if __name__ == "__main__":
    main()
