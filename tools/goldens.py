"""Helpers shared by the PyTorch golden generators (tools/gen_*_goldens.py).

Each generator writes one uncompressed .npz per case under tests/data/<area>/. A case runs y = fn(x)
(or fn(a, b)), draws a random upstream gradient g of y's shape and stores the inputs, g, y and the
input gradients of y.backward(g) as float32; other arrays (int64 indices) the caller saves itself.
"""
import os

import numpy as np
import torch

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")


def f32(t):
    """A tensor's values as a float32 numpy array, detached from autograd."""
    return t.detach().numpy().astype(np.float32)


class GoldenDir:
    """tests/data/<area>/: where one generator's .npz files go."""

    def __init__(self, area):
        self.out = os.path.join(DATA, area)

    def save(self, name, **arrays):
        np.savez(os.path.join(self.out, name + ".npz"), **arrays)

    def unary_case(self, name, x, fn):
        """y = fn(x), g random of y's shape, dx = d<g, y>/dx."""
        x = x.clone().requires_grad_(True)
        y = fn(x)
        g = torch.randn(y.shape)
        y.backward(g)
        self.save(name, x=f32(x), g=f32(g), y=f32(y), dx=f32(x.grad))

    def binary_case(self, name, a, b, fn):
        """y = fn(a, b), g random of y's shape, da and db of <g, y>."""
        a = a.clone().requires_grad_(True)
        b = b.clone().requires_grad_(True)
        y = fn(a, b)
        g = torch.randn(y.shape)
        y.backward(g)
        self.save(name, a=f32(a), b=f32(b), g=f32(g), y=f32(y), da=f32(a.grad), db=f32(b.grad))
