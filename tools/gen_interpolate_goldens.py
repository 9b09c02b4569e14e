#!/usr/bin/env python3
"""PyTorch goldens for interpolate (tests/test_interpolate.cpp): every mode, align_corners and
antialias setting over upscaling, downscaling, non-integer factors and recomputed factors.

Run with Debian's interpreter:  /usr/bin/python3 tools/gen_interpolate_goldens.py
Writes tests/data/interpolate/<mode>_<geometry>.npz with x, g, y, dx (see tools/goldens.py).
The mode and geometry tables are repeated in tests/test_interpolate.cpp; keep them in step.
"""
import os

import torch
import torch.nn.functional as F

from goldens import GoldenDir

GOLDEN = GoldenDir("interpolate")

# name -> F.interpolate keyword arguments for the mode.
MODES = {
    "nearest": dict(mode="nearest"),
    "nearest_exact": dict(mode="nearest-exact"),
    "bilinear": dict(mode="bilinear", align_corners=False),
    "bilinear_ac": dict(mode="bilinear", align_corners=True),
    "bicubic": dict(mode="bicubic", align_corners=False),
    "bicubic_ac": dict(mode="bicubic", align_corners=True),
    "area": dict(mode="area"),
    "bilinear_aa": dict(mode="bilinear", align_corners=False, antialias=True),
    "bilinear_aa_ac": dict(mode="bilinear", align_corners=True, antialias=True),
    "bicubic_aa": dict(mode="bicubic", align_corners=False, antialias=True),
    "bicubic_aa_ac": dict(mode="bicubic", align_corners=True, antialias=True),
}

# name -> (input shape, F.interpolate keyword arguments for the output size).
GEOMETRIES = {
    "up2": ((2, 3, 5, 7), dict(scale_factor=2.0)),
    "up_size": ((2, 3, 5, 7), dict(size=(9, 13))),
    "down_size": ((2, 2, 8, 9), dict(size=(3, 4))),
    "down2": ((1, 2, 8, 8), dict(scale_factor=0.5)),
    "mixed_scale": ((1, 2, 6, 10), dict(scale_factor=(1.7, 0.45))),
    "mixed_recompute": ((1, 2, 6, 10), dict(scale_factor=(1.7, 0.45), recompute_scale_factor=True)),
    "big_down": ((1, 3, 32, 30), dict(size=(13, 7))),
}


def main():
    os.makedirs(GOLDEN.out, exist_ok=True)
    torch.manual_seed(0)
    for mode, mode_args in MODES.items():
        for geom, (shape, size_args) in GEOMETRIES.items():
            GOLDEN.unary_case(f"{mode}_{geom}", torch.randn(shape),
                              lambda t: F.interpolate(t, **size_args, **mode_args))
    print("wrote", len(os.listdir(GOLDEN.out)), "files to", os.path.normpath(GOLDEN.out))


if __name__ == "__main__":
    main()
