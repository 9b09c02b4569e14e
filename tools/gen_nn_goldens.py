#!/usr/bin/env python3
"""Writes the PyTorch goldens of tests/test_ops_nn.cpp into tests/data/nn/ (run with /usr/bin/python3).

Each case <name> stores its inputs, its outputs and the gradients of the inputs for a random output
gradient <name>_gy.npy, all float32:
  pooling / upsampling:  <name>_x, <name>_y, <name>_gy, <name>_gx
  batch norm:            + <name>_w, <name>_b, <name>_rm, <name>_rv (running stats before the call),
                         <name>_rm_out, <name>_rv_out (after), <name>_gw, <name>_gb
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "nn")


def save(name, **arrays):
    for key, value in arrays.items():
        arr = value.detach().numpy() if torch.is_tensor(value) else value
        np.save(os.path.join(OUT, f"{name}_{key}.npy"), np.ascontiguousarray(arr, dtype=np.float32))


def run_case(name, fn, x):
    """fn(x) -> y for one input; saves x, y, a random gy and the input gradient."""
    x = x.clone().requires_grad_(True)
    y = fn(x)
    gy = torch.randn(y.shape)
    y.backward(gy)
    save(name, x=x, y=y, gy=gy, gx=x.grad)


def batch_norm_case(name, shape, training, momentum, eps):
    c = shape[1]
    x = (torch.randn(shape) * 2.0 + 1.5).requires_grad_(True)
    w = (torch.rand(c) + 0.5).requires_grad_(True)
    b = torch.randn(c).requires_grad_(True)
    rm = torch.randn(c) * 0.5
    rv = torch.rand(c) + 0.5
    rm_in, rv_in = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)
    gy = torch.randn(y.shape)
    y.backward(gy)
    save(name, x=x, w=w, b=b, rm=rm_in, rv=rv_in, rm_out=rm, rv_out=rv, y=y, gy=gy, gx=x.grad,
         gw=w.grad, gb=b.grad)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1234)
    # Max pooling: random normal inputs have no ties.
    run_case("maxpool_a", lambda x: F.max_pool2d(x, 3, 2, 1), torch.randn(2, 3, 7, 8))
    run_case("maxpool_b", lambda x: F.max_pool2d(x, (2, 3), (1, 2), (1, 0)), torch.randn(1, 2, 6, 9))
    run_case("maxpool_c", lambda x: F.max_pool2d(x, 2), torch.randn(2, 2, 8, 8))
    # Average pooling, count_include_pad=True (the default).
    run_case("avgpool_a", lambda x: F.avg_pool2d(x, 3, 2, 1), torch.randn(2, 3, 7, 8))
    run_case("avgpool_b", lambda x: F.avg_pool2d(x, (3, 2), (1, 2), (1, 1)), torch.randn(1, 2, 6, 9))
    # Batch norm: training updates running stats with the unbiased variance; eval uses them.
    batch_norm_case("bn_train4d", (4, 3, 5, 6), True, 0.1, 1e-5)
    batch_norm_case("bn_eval4d", (4, 3, 5, 6), False, 0.1, 1e-5)
    batch_norm_case("bn_train2d", (8, 5), True, 0.3, 1e-3)
    # Bilinear resizing, align_corners=False: up, down, exact 2x, and mixed.
    def up(size):
        return lambda x: F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    run_case("upsample_a", up((9, 13)), torch.randn(2, 3, 5, 7))
    run_case("upsample_b", up((4, 6)), torch.randn(2, 2, 8, 8))
    run_case("upsample_c", up((8, 8)), torch.randn(1, 2, 4, 4))
    run_case("upsample_d", up((7, 2)), torch.randn(1, 1, 3, 5))
    print("wrote", len(os.listdir(OUT)), "files to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
