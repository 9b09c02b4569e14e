#!/usr/bin/env python3
"""Writes the PyTorch goldens of tests/test_conv_goldens.cpp into tests/data/conv/ (run with /usr/bin/python3,
Debian's python3-torch 1.13).

One <case>.npz per case, float32 arrays:
  x, w, [b], y = op(x, w, b), gy (a random output gradient), gx, gw, [gb] = the gradients of <gy, y>
and `args`, int64: [transposed, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups,
                    output_padding_h, output_padding_w, same, output_size_h, output_size_w]
(same = 1 for padding="same"; output_size = -1 when not given).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "conv")


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def case(name, transposed, x_shape, w_shape, bias, stride=1, padding=0, dilation=1, groups=1,
         output_padding=0, output_size=None):
    x = torch.randn(x_shape, requires_grad=True)
    w = torch.randn(w_shape, requires_grad=True)
    out_ch = w_shape[1] * groups if transposed else w_shape[0]
    b = torch.randn(out_ch, requires_grad=True) if bias else None
    same = padding == "same"
    if not transposed:
        y = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        op = (0, 0)
    else:
        m = torch.nn.ConvTranspose2d(w_shape[0], out_ch, w_shape[2:], stride=stride, padding=padding,
                                     output_padding=output_padding, groups=groups, bias=bias,
                                     dilation=dilation)
        with torch.no_grad():
            m.weight.copy_(w)
            if bias:
                m.bias.copy_(b)
        # The module's forward derives output_padding from output_size: PyTorch's rule, not ours.
        y = m(x, output_size=list(output_size)) if output_size else m(x)
        gw_param, gb_param = m.weight, m.bias
        op = pair(output_padding)
    gy = torch.randn(y.shape)
    y.backward(gy)
    arrays = {"x": x, "w": w, "y": y, "gy": gy, "gx": x.grad}
    if transposed:
        arrays["gw"] = gw_param.grad
        if bias:
            arrays["b"], arrays["gb"] = b, gb_param.grad
    else:
        arrays["gw"] = w.grad
        if bias:
            arrays["b"], arrays["gb"] = b, b.grad
    s, d = pair(stride), pair(dilation)
    p = (0, 0) if same or padding == "valid" else pair(padding)
    size = tuple(output_size) if output_size else (-1, -1)
    args = [int(transposed), *s, *p, *d, groups, *op, int(same), *size]
    out = {k: np.ascontiguousarray(v.detach().numpy(), dtype=np.float32) for k, v in arrays.items()}
    out["args"] = np.array(args, dtype=np.int64)
    np.savez(os.path.join(OUT, name + ".npz"), **out)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(2024)
    case("conv_basic", False, (2, 3, 7, 6), (4, 3, 3, 3), True, padding=1)
    case("conv_groups_stride_dilation", False, (2, 6, 11, 9), (9, 2, 3, 2), True, stride=(2, 3), padding=(1, 2),
         dilation=(2, 1), groups=3)
    case("conv_same_even_kernel", False, (1, 4, 8, 7), (5, 4, 4, 4), True, padding="same", dilation=2)
    case("conv_valid_unbatched", False, (3, 9, 8), (2, 3, 5, 3), False, padding="valid")
    case("conv_depthwise", False, (2, 5, 9, 9), (5, 1, 3, 3), True, stride=2, padding=1, groups=5)
    case("convt_basic", True, (2, 4, 5, 4), (4, 3, 3, 3), True, stride=2, padding=1, output_padding=1)
    case("convt_groups_dilation", True, (1, 6, 4, 5), (6, 2, 3, 4), True, stride=(1, 2), padding=(1, 0),
         dilation=(3, 2), groups=3, output_padding=(2, 1))
    case("convt_fcn_k16s8", True, (1, 3, 3, 4), (3, 3, 16, 16), True, stride=8, padding=4)
    case("convt_output_size_unbatched", True, (4, 5, 5), (4, 2, 3, 3), False, stride=3, padding=1,
         output_size=(15, 14))
    case("convt_depthwise_op_gt_pad", True, (2, 3, 4, 4), (3, 1, 3, 3), False, stride=2, output_padding=1,
         groups=3)


if __name__ == "__main__":
    main()
