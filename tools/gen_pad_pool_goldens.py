#!/usr/bin/env python3
"""Writes the PyTorch goldens of tests/test_pad.cpp, tests/test_pool_options.cpp and
tests/test_conv_padding_mode.cpp into tests/data/padpool/ (run with /usr/bin/python3, PyTorch 1.13).

pad.npz, maxpool_grid.npz, avgpool_grid.npz: case i stores c<i>.x, c<i>.g (upstream gradient),
c<i>.y, c<i>.dx (float32) and its arguments as int64 c<i>.args:
  pad:      [mode, value * 1000, pad...]  (mode 0 constant, 1 reflect, 2 replicate, 3 circular)
  pooling:  [kh, kw, sh, sw, ph, pw, ceil_mode, count_include_pad, divisor_override (0: none)]
Argument sets PyTorch rejects are stored as e<j>.args with e<j>.shape (the input shape): the C++
op must throw for each. "count" holds [cases, errors].
conv2d_<name>.npz: nn.Conv2d with a padding_mode, in tools/gen_layer_goldens.py's layout
(x, gy, y, gx, p.weight, p.bias, g.weight, g.bias); the options are repeated in the C++ test.
"""
import itertools
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from goldens import GoldenDir, f32  # noqa: E402

MODES = ["constant", "reflect", "replicate", "circular"]


class CaseFile:
    """Many small cases in one .npz: c<i>.* for the ones PyTorch computes, e<j>.* for its errors."""

    def __init__(self):
        self.arrays = {}
        self.cases = 0
        self.errors = 0

    def run(self, x, args, fn):
        x = x.clone().requires_grad_(True)
        try:
            y = fn(x)
        except (RuntimeError, NotImplementedError, ValueError):
            key = f"e{self.errors}"
            self.arrays[key + ".args"] = np.array(args, dtype=np.int64)
            self.arrays[key + ".shape"] = np.array(x.shape, dtype=np.int64)
            self.errors += 1
            return
        g = torch.randn(y.shape)
        y.backward(g)
        key = f"c{self.cases}"
        self.arrays.update({key + ".x": f32(x), key + ".g": f32(g), key + ".y": f32(y), key + ".dx": f32(x.grad),
                            key + ".args": np.array(args, dtype=np.int64)})
        self.cases += 1

    def save(self, out, name):
        self.arrays["count"] = np.array([self.cases, self.errors], dtype=np.int64)
        out.save(name, **self.arrays)
        print(f"{name}: {self.cases} cases, {self.errors} errors")


def pad_cases(out):
    cf = CaseFile()

    def case(shape, pads, mode, value=0.0):
        x = torch.randn(shape)
        kwargs = {"value": value} if mode == "constant" else {}
        cf.run(x, [MODES.index(mode), round(value * 1000)] + list(pads),
               lambda t: F.pad(t, list(pads), mode=mode, **kwargs))

    for mode in MODES:
        case((2, 3, 5, 6), (1, 2, 3, 1), mode)           # 2-D padding of (N, C, H, W)
        case((1, 2, 4, 5), (0, 0, 2, 3), mode)           # rows only
        case((1, 2, 4, 5), (3, 3, 0, 0), mode)           # columns only, 3 < 5
        case((2, 2, 7), (2, 3), mode)                    # 1-D padding of (N, C, W)
        case((3, 5, 4), (1, 2, 2, 1), mode)              # (C, H, W): unbatched for reflect/replicate
        case((2, 6), (2, 1), mode)                       # (C, W)
        case((1, 2, 4, 5), (-1, 2, 1, -2), mode)         # mixed crop and pad
        case((1, 1, 3, 4), (-2, -1, 0, 0), mode)         # crop only
        case((1, 1, 3, 4), (-2, -2, 0, 0), mode)         # crop to an empty width
        case((1, 1, 3, 4), (4, 4, 0, 0), mode)           # pad == size: reflect fails, circular wraps once
        case((1, 1, 3, 4), (3, 0, 2, 2), mode)           # pad == size - 1 (largest reflect pad)
        case((1, 1, 3, 4), (5, 0, 0, 0), mode)           # pad > size: only replicate / constant
        case((1, 1, 4), (-1, 3), mode)                   # circular: pad == the cropped size
        case((1, 1, 4), (2, -2), mode)
        case((1, 1, 4), (-2, 3), mode)                   # circular: pad > the cropped size is an error
        case((1, 1, 4), (3, -2), mode)
        case((1, 1, 2, 3, 4), (1, 1, 1, 0, 1, 1), mode)  # 3-D padding of (N, C, D, H, W)
        case((2, 1, 1, 3), (2, 2, 0, 0), mode)           # height 1
        case((1, 1, 3, 4), (-3, -3, 0, 0), mode)         # negative output size: always an error
        case((1, 0, 3, 4), (1, 1, 1, 1), mode)           # empty channels
        case((0, 2, 3, 4), (1, 1, 1, 1), mode)           # empty batch
        case((1, 2, 3, 4), (1, 1), mode)                 # 1 padded dim of a 4-D input
        case((4,), (1, 2), mode)                         # a 1-D input
        case((2, 3), (1, 1, 1, 1), mode)                 # 2 padded dims of a 2-D input
        case((1, 2, 3, 4), (1,), mode)                   # odd pad length
        case((2, 3), (1, 1, 1, 1, 1, 1), mode)           # more pads than dimensions
    case((2, 3, 4, 5), (1, 2, 0, 1, 1, 0), "constant", 1.5)  # 3 dims of a 4-D input, value
    case((2, 3, 4, 5), (1, 1, 1, 1, 1, 1, 1, 1), "constant", -2.25)
    case((2, 3, 4, 5), (-1, -1, 2, 0, 0, -1, 1, 1), "constant", 0.5)
    cf.save(out, "pad")


def pool_args(k, s, p, ceil, cip=1, div=0):
    return [k[0], k[1], s[0], s[1], p[0], p[1], int(ceil), int(cip), div]


def pool_grid(out):
    mx, av = CaseFile(), CaseFile()
    shapes = [(1, 2, 5, 7), (2, 1, 6, 6)]
    for shape, k, s, p, ceil in itertools.product(shapes, [2, 3], [1, 2, 3], [0, 1], [False, True]):
        # A permutation: no ties inside a max-pool window.
        x = torch.randperm(int(np.prod(shape))).float().reshape(shape) / 10
        mx.run(x, pool_args((k, k), (s, s), (p, p), ceil),
               lambda t: F.max_pool2d(t, k, s, p, ceil_mode=ceil))
        for cip in (True, False):
            x = torch.randn(shape)
            av.run(x, pool_args((k, k), (s, s), (p, p), ceil, cip),
                   lambda t: F.avg_pool2d(t, k, s, p, ceil_mode=ceil, count_include_pad=cip))
    # Edge cases, shared by both ops.
    edges = [
        ((1, 1, 1, 1), (2, 2), (2, 2), (0, 0), True),   # kernel larger than the input: ceil gives 1
        ((1, 1, 1, 1), (2, 2), (2, 2), (0, 0), False),  # ... floor gives 0: an error
        ((1, 1, 5, 5), (2, 2), (2, 2), (1, 1), True),   # a 4th window would start in the right padding: dropped
        ((1, 1, 5, 5), (3, 3), (2, 2), (1, 1), True),   # ceil and floor agree
        ((1, 1, 6, 6), (3, 3), (2, 2), (1, 1), True),   # the last window hangs past the right padding
        ((1, 2, 4, 7), (3, 2), (2, 3), (1, 1), True),   # asymmetric kernel, stride and padding
        ((1, 2, 4, 7), (2, 3), (3, 2), (1, 0), False),
        ((1, 1, 3, 3), (3, 3), (3, 3), (1, 1), True),   # stride = kernel with padding
        ((1, 1, 2, 9), (1, 4), (1, 4), (0, 2), True),
        ((1, 1, 5, 5), (3, 3), (2, 2), (2, 2), False),  # padding > kernel / 2: an error
        ((2, 2, 5), (2, 2), (2, 2), (1, 1), True),      # unbatched (C, H, W)
    ]
    for shape, k, s, p, ceil in edges:
        x = torch.randperm(int(np.prod(shape))).float().reshape(shape) / 10
        mx.run(x, pool_args(k, s, p, ceil), lambda t: F.max_pool2d(t, k, s, p, ceil_mode=ceil))
        for cip, div in [(True, 0), (False, 0), (True, 3), (False, -2)]:
            x = torch.randn(shape)
            av.run(x, pool_args(k, s, p, ceil, cip, div),
                   lambda t: F.avg_pool2d(t, k, s, p, ceil_mode=ceil, count_include_pad=cip,
                                          divisor_override=div or None))
    mx.save(out, "maxpool_grid")
    av.save(out, "avgpool_grid")


def conv_case(out, name, module, x):
    x = x.clone().requires_grad_(True)
    before = {k: v.detach().clone() for k, v in module.state_dict().items()}
    y = module(x)
    gy = torch.randn_like(y)
    y.backward(gy)
    arrays = {"x": f32(x), "gy": f32(gy), "y": f32(y), "gx": f32(x.grad)}
    arrays.update({"p." + k: f32(v) for k, v in before.items()})
    arrays.update({"g." + k: f32(p.grad) for k, p in module.named_parameters()})
    out.save(name, **arrays)


def conv_cases(out):
    conv_case(out, "conv2d_reflect", nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="reflect"),
              torch.randn(2, 2, 5, 6))
    conv_case(out, "conv2d_replicate", nn.Conv2d(2, 4, (3, 2), stride=2, padding=2, padding_mode="replicate"),
              torch.randn(1, 2, 6, 5))
    conv_case(out, "conv2d_circular",
              nn.Conv2d(4, 2, 3, padding=(2, 1), dilation=(2, 1), groups=2, padding_mode="circular"),
              torch.randn(2, 4, 5, 4))
    conv_case(out, "conv2d_reflect_same", nn.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2), bias=False,
                                                    padding_mode="reflect"), torch.randn(1, 2, 6, 7))
    conv_case(out, "conv2d_replicate_unbatched", nn.Conv2d(3, 2, 3, padding=1, padding_mode="replicate"),
              torch.randn(3, 4, 4))
    conv_case(out, "conv2d_zeros", nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="zeros"),
              torch.randn(2, 2, 5, 6))


def main():
    torch.manual_seed(2024)
    out = GoldenDir("padpool")
    os.makedirs(out.out, exist_ok=True)
    pad_cases(out)
    pool_grid(out)
    conv_cases(out)


if __name__ == "__main__":
    main()
