#!/usr/bin/env python3
"""Writes the PyTorch goldens of tests/test_double_backward_goldens.cpp into tests/data/double_backward/
(run with /usr/bin/python3, Debian's python3-torch 1.13).

One <case>.npz per case. The inputs are drawn in float32 and the gradients computed in float64 from those
values, then stored as float32:
  x, w, gy            input, weight, and an output gradient (the first order's grad_outputs)
  gx, gw              the first-order gradients of <gy, op(x, w)>, taken with create_graph=True
  vx, vw              random weights of the second order
  hx, hw, hgy         the gradients of <gx, vx> + <gw, vw> with respect to x, w and gy
  args (int64)        [transposed, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups,
                       output_padding_h, output_padding_w]
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "double_backward")


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def case(name, transposed, x_shape, w_shape, stride=1, padding=0, dilation=1, groups=1, output_padding=0):
    x32, w32 = torch.randn(x_shape), torch.randn(w_shape)
    x = x32.double().requires_grad_(True)
    w = w32.double().requires_grad_(True)

    def op(x, w):
        if transposed:
            return F.conv_transpose2d(x, w, None, stride=stride, padding=padding, output_padding=output_padding,
                                      groups=groups, dilation=dilation)
        return F.conv2d(x, w, None, stride=stride, padding=padding, dilation=dilation, groups=groups)

    y = op(x, w)
    gy = torch.randn(y.shape).double().requires_grad_(True)
    gx, gw = torch.autograd.grad(y, (x, w), gy, create_graph=True)
    vx, vw = torch.randn(x_shape).double(), torch.randn(w_shape).double()
    s = (gx * vx).sum() + (gw * vw).sum()
    hx, hw, hgy = torch.autograd.grad(s, (x, w, gy))
    args = [int(transposed), *pair(stride), *pair(padding), *pair(dilation), groups, *pair(output_padding)]
    arrays = dict(x=x, w=w, gy=gy, gx=gx, gw=gw, vx=vx, vw=vw, hx=hx, hw=hw, hgy=hgy)
    arrays = {k: v.detach().numpy().astype(np.float32) for k, v in arrays.items()}
    np.savez(os.path.join(OUT, name + ".npz"), args=np.array(args, dtype=np.int64), **arrays)


def main():
    torch.manual_seed(16)
    os.makedirs(OUT, exist_ok=True)
    case("conv_basic", False, (2, 3, 6, 5), (4, 3, 3, 3))
    case("conv_stride2_pad1", False, (2, 2, 7, 6), (3, 2, 3, 3), stride=2, padding=1)
    case("conv_dilation2", False, (1, 2, 8, 7), (2, 2, 3, 2), dilation=2, padding=(1, 2))
    case("conv_groups2_stride21", False, (2, 4, 6, 6), (6, 2, 2, 3), stride=(2, 1), groups=2, padding=(0, 1))
    case("convt_basic", True, (2, 3, 4, 5), (3, 2, 3, 3))
    case("convt_stride2_outpad1", True, (1, 2, 4, 3), (2, 3, 3, 3), stride=2, padding=1, output_padding=1)
    case("convt_groups2_dilation2", True, (2, 4, 3, 4), (4, 2, 3, 2), stride=(2, 1), dilation=2, groups=2,
         output_padding=(1, 0))


if __name__ == "__main__":
    main()
