#!/usr/bin/env python3
"""PyTorch goldens for the reduction, softmax, matmul and layout ops (tests/test_ops_reduce.cpp,
tests/test_ops_shape.cpp).

Run with Debian's interpreter:  /usr/bin/python3 tools/gen_shape_goldens.py
Writes one uncompressed .npz per case into tests/data/shape/. Each holds the inputs (x, or a and b),
the upstream gradient g, the forward output y and the input gradients dx (or da, db) of
y.backward(g); indices are int64. Inputs are seeded, so reruns give identical files.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

from goldens import GoldenDir, f32

GOLDEN = GoldenDir("shape")
OUT = GOLDEN.out
save, unary_case, binary_case = GOLDEN.save, GOLDEN.unary_case, GOLDEN.binary_case


def matmul_case(name, a_shape, b_shape):
    binary_case(name, torch.randn(a_shape), torch.randn(b_shape), torch.matmul)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5)

    # Reductions.
    unary_case("sum_dims02", x, lambda t: t.sum(dim=(0, 2)))
    unary_case("mean_dim1_keep", x, lambda t: t.mean(dim=1, keepdim=True))
    unary_case("sum_neg_dim", x, lambda t: t.sum(dim=(-1,), keepdim=True))
    # Small integers give ties: max(dim) sends the gradient to the first maximum.
    ties = torch.randint(0, 3, (4, 6)).float()
    xt = ties.clone().requires_grad_(True)
    values, indices = xt.max(dim=1)
    g = torch.randn(values.shape)
    values.backward(g)
    save("max_dim1_ties", x=f32(ties), g=f32(g), y=f32(values), idx=indices.numpy().astype(np.int64),
         dx=f32(xt.grad))
    xt = ties.clone().requires_grad_(True)
    values, indices = xt.min(dim=0, keepdim=True)
    g = torch.randn(values.shape)
    values.backward(g)
    save("min_dim0_keep_ties", x=f32(ties), g=f32(g), y=f32(values), idx=indices.numpy().astype(np.int64),
         dx=f32(xt.grad))

    # The softmax family; large offsets check the max shift.
    big = x * 30 + 100
    unary_case("logsumexp_dim1", big, lambda t: torch.logsumexp(t, dim=1))
    unary_case("logsumexp_dim2_keep", x, lambda t: torch.logsumexp(t, dim=2, keepdim=True))
    unary_case("softmax_dim_last", big, lambda t: torch.softmax(t, dim=-1))
    unary_case("softmax_dim0", x, lambda t: torch.softmax(t, dim=0))
    unary_case("log_softmax_dim1", big, lambda t: torch.log_softmax(t, dim=1))

    # matmul in every rank combination torch.matmul accepts.
    matmul_case("matmul_2d", (3, 4), (4, 5))
    matmul_case("matmul_dot", (6,), (6,))
    matmul_case("matmul_vec_mat", (4,), (4, 3))
    matmul_case("matmul_mat_vec", (3, 4), (4,))
    matmul_case("matmul_batch_vec", (2, 3, 4), (4,))
    matmul_case("matmul_vec_batch", (4,), (2, 4, 3))
    matmul_case("matmul_broadcast", (2, 1, 3, 4), (5, 4, 2))
    matmul_case("matmul_shared_rhs", (2, 3, 4), (4, 5))

    # Layout ops.
    img = torch.randn(2, 3, 4, 5)
    unary_case("pad_mixed", img, lambda t: F.pad(t, (2, -1, -1, 3), value=0.5))
    unary_case("pad_three_dims", img, lambda t: F.pad(t, (1, 1, 0, 2, 1, 0)))
    unary_case("slice_step", img, lambda t: t[:, 1:, -3:10:2, ::3])
    unary_case("permute_reshape", img, lambda t: t.permute(2, 0, 3, 1).reshape(4, -1, 3))
    unary_case("expand_sum", torch.randn(3, 1, 2), lambda t: t.expand(4, 3, 5, 2) * torch.arange(5.0).view(5, 1))


if __name__ == "__main__":
    main()
