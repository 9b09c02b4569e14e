#!/usr/bin/env python3
"""PyTorch goldens for the super-resolution ops (tests/test_ops_sr.cpp): pixel shuffle and unshuffle,
PReLU.

Run with Debian's interpreter:  /usr/bin/python3 tools/gen_sr_goldens.py
Writes one uncompressed .npz per case into tests/data/sr/ (see tools/goldens.py): x, g, y, dx for
one-input ops; a (input), b (weight), g, y, da, db for prelu. Seeded, so reruns give identical files.
"""
import os

import torch
import torch.nn.functional as F

from goldens import GoldenDir

GOLDEN = GoldenDir("sr")


def main():
    os.makedirs(GOLDEN.out, exist_ok=True)
    torch.manual_seed(0)
    unary = GOLDEN.unary_case

    unary("pixel_shuffle_r2", torch.randn(2, 8, 3, 4), lambda t: F.pixel_shuffle(t, 2))
    unary("pixel_shuffle_r3", torch.randn(1, 18, 2, 3), lambda t: F.pixel_shuffle(t, 3))
    unary("pixel_shuffle_5d", torch.randn(2, 3, 4, 2, 3), lambda t: F.pixel_shuffle(t, 2))
    unary("pixel_unshuffle_r2", torch.randn(2, 3, 6, 4), lambda t: F.pixel_unshuffle(t, 2))
    unary("pixel_unshuffle_r3", torch.randn(1, 2, 6, 9), lambda t: F.pixel_unshuffle(t, 3))
    unary("pixel_unshuffle_3d", torch.randn(3, 4, 6), lambda t: F.pixel_unshuffle(t, 2))

    # PReLU: per-channel weights, one shared weight, 2-D (N, C) and 1-D inputs; exact zeros in x
    # take the negative branch (x > 0 is false), as in PyTorch.
    def prelu_case(name, x, w):
        GOLDEN.binary_case(name, x, w, F.prelu)

    x = torch.randn(2, 3, 4, 5)
    x[0, 0, 0, :3] = 0.0
    prelu_case("prelu_channels", x, torch.tensor([0.25, -0.5, 1.5]))
    prelu_case("prelu_shared", torch.randn(2, 3, 4, 5), torch.tensor([0.1]))
    prelu_case("prelu_2d", torch.randn(6, 4), torch.rand(4))
    prelu_case("prelu_1d", torch.randn(7), torch.tensor([0.3]))
    print("wrote", len(os.listdir(GOLDEN.out)), "files to", os.path.normpath(GOLDEN.out))


if __name__ == "__main__":
    main()
