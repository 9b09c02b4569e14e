#!/usr/bin/env python3
"""Writes the per-op PyTorch goldens of tests/test_double_backward_op_goldens.cpp into
tests/data/double_backward/ops/ (run with /usr/bin/python3, Debian's python3-torch 1.13).

One <case>.npz per case, for an op f over float inputs in0, in1, ... (and an int64 `target` for
cross_entropy). The inputs are drawn in float32 and the gradients computed in float64 from those values,
then stored as float32:
  gy                  a random output gradient (the first order's grad_outputs)
  g0, g1, ...         the first-order gradients of <gy, f(in0, in1, ...)>, taken with create_graph=True
  v0, v1, ...         random weights of the second order
  h0, h1, ..., hgy    the gradients of sum_i <g_i, v_i> with respect to every input and gy
Each case's f must be written the same way in the C++ test (its table of cases).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

# binary_cross_entropy_with_logits's pos_weight: a constant, written the same way in the C++ test.
POS_WEIGHT = torch.tensor([0.5, 2.0, 1.5])
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "double_backward", "ops")


def away_from_zero(shape, lo=0.2, hi=1.0):
    """Values with |v| in [lo, hi], random signs: kinks (relu, abs, clamp, prelu) stay out of reach."""
    mag = torch.rand(shape) * (hi - lo) + lo
    sign = torch.where(torch.rand(shape) < 0.5, -1.0, 1.0)
    return mag * sign


def case(name, f, inputs, target=None):
    xs = [t.double().requires_grad_(True) for t in inputs]
    y = f(*xs, target) if target is not None else f(*xs)
    gy = torch.randn(y.shape).double().requires_grad_(True)
    gs = torch.autograd.grad(y, xs, gy, create_graph=True)
    vs = [torch.randn(t.shape).double() for t in xs]
    s = sum((g * v).sum() for g, v in zip(gs, vs))
    hs = torch.autograd.grad(s, xs + [gy], allow_unused=True)
    hs = [torch.zeros_like(t) if h is None else h for h, t in zip(hs, xs + [gy])]
    arrays = {"gy": gy}
    for i, (x, g, v, h) in enumerate(zip(xs, gs, vs, hs)):
        arrays.update({f"in{i}": x, f"g{i}": g, f"v{i}": v, f"h{i}": h})
    arrays["hgy"] = hs[-1]
    arrays = {k: v.detach().numpy().astype(np.float32) for k, v in arrays.items()}
    if target is not None:
        arrays["target"] = target.numpy().astype(np.int64)
    np.savez(os.path.join(OUT, name + ".npz"), **arrays)


def main():
    torch.manual_seed(16)
    os.makedirs(OUT, exist_ok=True)
    x = lambda *s: torch.randn(*s)  # noqa: E731
    pos = lambda *s: torch.rand(*s) + 0.5  # noqa: E731
    case("exp", torch.exp, [x(2, 3)])
    case("log", torch.log, [pos(2, 3)])
    case("sqrt", torch.sqrt, [pos(2, 3)])
    case("pow3", lambda a: torch.pow(a, 3), [x(2, 3)])
    case("abs_times_x", lambda a: torch.abs(a) * a, [away_from_zero((2, 3))])
    case("sigmoid", torch.sigmoid, [x(2, 3)])
    case("tanh", torch.tanh, [x(2, 3)])
    case("relu_times_x", lambda a: F.relu(a) * a, [away_from_zero((2, 3))])
    case("leaky_relu_times_x", lambda a: F.leaky_relu(a, 0.2) * a, [away_from_zero((2, 3))])
    case("clamp_times_x", lambda a: torch.clamp(a, -0.5, 0.5) * a, [away_from_zero((2, 3))])
    case("prelu_times_x", lambda a, w: F.prelu(a, w) * a, [away_from_zero((2, 3, 2, 2)), torch.rand(3) * 0.5])
    case("mul", lambda a, b: a * b * a, [x(2, 3), x(3)])
    case("div", lambda a, b: a / b, [x(2, 3), pos(2, 3)])
    case("maximum_minimum", lambda a, b: torch.maximum(a, b) * torch.minimum(a, b), [x(2, 3), x(2, 3)])
    case("softmax", lambda a: torch.softmax(a, 1), [x(2, 4)])
    case("log_softmax", lambda a: torch.log_softmax(a, 0), [x(3, 4)])
    case("logsumexp", lambda a: torch.logsumexp(a, 1), [x(2, 4)])
    case("sum_mean", lambda a: (a * a).sum(1, keepdim=True) * (a * a).mean(0, keepdim=True), [x(2, 3)])
    case("max_dim_times_x", lambda a: a.max(1, keepdim=True)[0] * a, [x(2, 5)])
    case("matmul", lambda a, b: (a @ b) * (a @ b), [x(2, 3), x(3, 4)])
    case("batch_norm_train", lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True),
         [x(4, 3, 2, 2), pos(3), x(3)])
    case("max_pool2d_of_square", lambda a: F.max_pool2d(a * a, 2), [x(1, 2, 4, 4)])
    case("avg_pool2d_of_square", lambda a: F.avg_pool2d(a * a, 2, 1), [x(1, 2, 4, 4)])
    case("bilinear_of_square", lambda a: F.interpolate(a * a, scale_factor=2, mode="bilinear", align_corners=False),
         [x(1, 2, 3, 3)])
    case("bicubic_of_square", lambda a: F.interpolate(a * a, size=(5, 4), mode="bicubic", align_corners=True),
         [x(1, 1, 3, 3)])
    case("reflect_pad_of_square", lambda a: F.pad(a * a, (1, 2, 2, 1), mode="reflect"), [x(1, 2, 4, 4)])
    case("pixel_shuffle_of_square", lambda a: F.pixel_shuffle(a * a, 2), [x(1, 8, 2, 3)])
    case("cross_entropy", lambda a, t: F.cross_entropy(a, t), [x(4, 5)], target=torch.randint(0, 5, (4,)))
    case("cross_entropy_none", lambda a, t: F.cross_entropy(a, t, reduction="none"), [x(2, 3, 2, 2)],
         target=torch.randint(0, 3, (2, 2, 2)))
    case("mse_loss", lambda a, b: F.mse_loss(a, b), [x(2, 3), x(2, 3)])
    # The squares make the second derivative depend on the input; the differences stay away from the kinks.
    a = away_from_zero((2, 3), 0.3, 1.2)
    case("l1_loss_of_square", lambda a, b: F.l1_loss(a * a, b), [a, a * a + away_from_zero((2, 3))])
    a = away_from_zero((2, 4), 0.3, 1.2)
    b = a * a + torch.tensor([0.2, -0.3, 0.9, -1.2]) * torch.tensor([[1.0], [-1.0]])  # inside and outside beta
    case("smooth_l1_loss_of_square", lambda a, b: F.smooth_l1_loss(a * a, b, reduction="sum", beta=0.5), [a, b])
    case("bce_with_logits", lambda a, t: F.binary_cross_entropy_with_logits(a, t), [x(2, 3), torch.rand(2, 3)])
    case("bce_with_logits_pos_weight_none",
         lambda a, t: F.binary_cross_entropy_with_logits(a, t, pos_weight=POS_WEIGHT.to(a.dtype), reduction="none"),
         [x(2, 3), torch.rand(2, 3)])


if __name__ == "__main__":
    main()
