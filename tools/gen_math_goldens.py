#!/usr/bin/env python3
"""PyTorch goldens for the elementwise ops (tests/test_ops_math.cpp) and the expected print strings
(tests/test_print.cpp).

Run with Debian's interpreter:  /usr/bin/python3 tools/gen_math_goldens.py [--print]
Writes one uncompressed .npz per case into tests/data/math/: the inputs (x, or a and b), the upstream
gradient g, the forward output y and the input gradients (dx, or da and db) of y.backward(g).
Inputs are seeded, so reruns give identical files. With --print it instead prints the torch.__str__
of the tensors test_print.cpp builds, as C++ string literals to paste into that test.
"""
import os
import sys

import numpy as np
import torch

from goldens import GoldenDir, f32

GOLDEN = GoldenDir("math")
OUT = GOLDEN.out
save, unary_case, binary_case = GOLDEN.save, GOLDEN.unary_case, GOLDEN.binary_case


def goldens():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    a = torch.randn(2, 3, 4)
    col = torch.randn(3, 1)
    pos = torch.rand(4) + 0.5
    # Broadcasting: (2,3,4) with (3,1), with (4,), and (2,1,4) with (3,1) (both sides expand).
    binary_case("add_bcast", a, col, torch.add)
    binary_case("sub_bcast", a, pos, torch.sub)
    binary_case("mul_bcast", torch.randn(2, 1, 4), col, torch.mul)
    binary_case("div_bcast", a, pos, torch.div)
    binary_case("div_rev", pos, a.abs() + 0.5, torch.div)
    binary_case("maximum_bcast", a, col, torch.maximum)
    binary_case("minimum_bcast", a, col, torch.minimum)
    # Ties: equal values split the gradient.
    t = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    binary_case("maximum_ties", t, torch.tensor([2.0, 2.0, 2.0]), torch.maximum)
    binary_case("minimum_ties", t, torch.tensor([2.0, 2.0, 2.0]), torch.minimum)
    binary_case("scalar_mix", a, torch.tensor(1.5), lambda x, s: (2.0 - x) * s / 3.0 + x / s)

    p = torch.rand(3, 5) + 0.1
    x = torch.randn(3, 5) * 2
    unary_case("exp", x, torch.exp)
    unary_case("log", p, torch.log)
    unary_case("sqrt", p, torch.sqrt)
    unary_case("pow_frac", p, lambda v: torch.pow(v, 2.5))
    unary_case("pow_two", x, lambda v: torch.pow(v, 2.0))
    unary_case("pow_neg", p, lambda v: torch.pow(v, -1.5))
    unary_case("abs", x, torch.abs)
    unary_case("relu", x, torch.relu)
    unary_case("leaky_relu", x, lambda v: torch.nn.functional.leaky_relu(v, 0.2))
    unary_case("sigmoid", torch.cat([x.flatten(), torch.tensor([-100.0, -30.0, 30.0, 100.0])]), torch.sigmoid)
    unary_case("tanh", x, torch.tanh)
    unary_case("clamp", torch.tensor([-2.0, -0.5, -0.2, 0.0, 0.3, 0.7, 1.5]), lambda v: torch.clamp(v, -0.5, 0.7))
    unary_case("neg", x, torch.neg)

    cond = (torch.randn(3, 1) > 0).float()
    a2 = torch.randn(3, 4).requires_grad_(True)
    b2 = torch.randn(4).requires_grad_(True)
    y = torch.where(cond.bool(), a2, b2)
    g = torch.randn(y.shape)
    y.backward(g)
    save("where", cond=f32(cond), a=f32(a2), b=f32(b2), g=f32(g), y=f32(y), da=f32(a2.grad), db=f32(b2.grad))

    # int64 arithmetic keeps int64 (true division gives float); mixing with float32 promotes.
    i = torch.tensor([[7, -7, 3], [0, 10, -4]])
    j = torch.tensor([2, -3, 5])
    f = torch.tensor([0.5, 2.0, -1.5])
    save("int64", i=i.numpy(), j=j.numpy(), f=f.numpy(), add=(i + j).numpy(), sub=(i - j).numpy(),
         mul=(i * j).numpy(), div=(i / j).numpy(), maximum=torch.maximum(i, j).numpy(),
         mixed=(i * f).numpy(), lt=(i < j).float().numpy(), neg=(-i).numpy(), abs=i.abs().numpy(),
         times2=(i * 2).numpy(), cast=torch.tensor([-2.7, -0.5, 0.5, 2.7, 1e3]).long().numpy())


# (C++ expression, torch expression) pairs for test_print.cpp; the C++ side builds the same tensor.
PRINT_CASES = [
    ("tensor({{0, 0, 1}, {0, 4, 6}, {4, 12, 9}})", "torch.tensor([[0., 0, 1], [0, 4, 6], [4, 12, 9]])"),
    ("full({1, 1, 1, 1}, 4.0)", "torch.full((1, 1, 1, 1), 4.0)"),
    ("full({}, 3.5)", "torch.tensor(3.5)"),
    ("full({}, -0.5)", "torch.tensor(-0.5)"),
    ("full({}, 3.0)", "torch.tensor(3.0)"),
    ("full({}, 7, DType::Int64)", "torch.tensor(7)"),
    ("tensor({0.12345f, 1.5f})", "torch.tensor([0.12345, 1.5])"),
    ("tensor({1e-5f, 1e3f})", "torch.tensor([1e-5, 1e3])"),
    ("tensor({1e-5f, 2e-5f})", "torch.tensor([1e-5, 2e-5])"),
    ("tensor({1.f, 1e10f})", "torch.tensor([1., 1e10])"),
    ("tensor({123456789.f})", "torch.tensor([123456789.])"),
    ("tensor({-1.5f, 2.25f, -0.001f})", "torch.tensor([-1.5, 2.25, -0.001])"),
    ("tensor({-1.f, 2.f, -300.f})", "torch.tensor([-1., 2., -300.])"),
    ("tensor({0.f, 0.f})", "torch.tensor([0., 0.])"),
    ("tensor({nan, inf, -inf, 1.5f})", "torch.tensor([float('nan'), float('inf'), float('-inf'), 1.5])"),
    ("tensor({nan, 1.f, 2.f})", "torch.tensor([float('nan'), 1., 2.])"),
    ("tensor({0.f, nan})", "torch.tensor([0., float('nan')])"),
    ("tensor({nan, 1e-6f, 1.f})", "torch.tensor([float('nan'), 1e-6, 1.])"),
    ("zeros({0, 3})", "torch.zeros(0, 3)"),
    ("zeros({0})", "torch.zeros(0)"),
    ("zeros({2, 0, 3}, DType::Int64)", "torch.zeros(2, 0, 3, dtype=torch.long)"),
    ("zeros({0}, DType::Int64)", "torch.zeros(0, dtype=torch.long)"),
    ("from_vector(std::vector<int64_t>{1, 2, 3}, {3})", "torch.tensor([1, 2, 3])"),
    ("from_vector(std::vector<int64_t>{-5, 120, 3, 0}, {2, 2})", "torch.tensor([[-5, 120], [3, 0]])"),
    ("arange(30) * 1.5f", "torch.arange(30.) * 1.5"),
    ("arange(24) * 1e5f", "torch.arange(24.) * 1e5"),
    ("pattern({4, 25})", "pattern((4, 25))"),
    ("pattern({2, 3, 4})", "pattern((2, 3, 4))"),
    ("pattern({120})", "pattern((120,))"),
    ("pattern({1001})", "pattern((1001,))"),
    ("iota({40, 50})", "torch.arange(2000.).reshape(40, 50)"),
    ("pattern({2, 2, 8, 40})", "pattern((2, 2, 8, 40))"),
    ("pattern({8, 2, 70})", "pattern((8, 2, 70))"),
    ("arange(12) * 1e4f + 0.5f", "torch.arange(12.) * 1e4 + 0.5"),
    ("full({}, 1e-5)", "torch.tensor(1e-5)"),
    ("full({2, 2}, -0.0)", "torch.full((2, 2), -0.0)"),
    ("arange(2000, DType::Int64)", "torch.arange(2000)"),
    ("pattern({5, 300})", "pattern((5, 300))"),
]


def pattern(shape):
    """Deterministic non-integer values the C++ test rebuilds bit-exactly: (i % 13) / 7 - 1 in float32."""
    n = int(np.prod(shape))
    i = torch.arange(n, dtype=torch.float32)
    return (torch.remainder(i, 13.0) / 7.0 - 1.0).reshape(shape)


def cpp_literal(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def print_strings():
    for cpp, expr in PRINT_CASES:
        t = eval(expr)
        print(f"    {{{cpp_literal(cpp)}, [] {{ return {cpp}; }},\n     {cpp_literal(str(t))}}},")


if __name__ == "__main__":
    if "--print" in sys.argv:
        print_strings()
    else:
        goldens()
