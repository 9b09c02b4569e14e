#!/usr/bin/env python3
"""Writes tests/data/image_ops/metrics.npz: fixed images and what scikit-image and NumPy make of them.

PSNR: skimage.metrics.peak_signal_noise_ratio. SSIM: skimage.metrics.structural_similarity with
gaussian_weights=True, sigma=1.5, use_sample_covariance=False (the reference MATLAB ssim_index),
channel_axis for colour. Colour conversions: MATLAB rgb2ycbcr's formula / 255 and ITU-R 601-2 luma.
Run once with /usr/bin/python3 (numpy, scikit-image); commit the output.
"""
import os

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "image_ops")
YCBCR = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
OFFSET = np.array([16.0, 128.0, 128.0])


def ycbcr(chw):
    return (np.einsum("kc,chw->khw", YCBCR, chw.astype(np.float64)) + OFFSET[:, None, None]) / 255.0


def ssim(a, b, data_range=1.0):
    """SSIM of (C, H, W) images, averaged over channels."""
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=data_range)
    if a.shape[0] == 1:
        return structural_similarity(a[0].astype(np.float64), b[0].astype(np.float64), **kw)
    hwc = [x.transpose(1, 2, 0).astype(np.float64) for x in (a, b)]
    return structural_similarity(*hwc, channel_axis=2, **kw)


def crop(x, border):
    return x[..., border:x.shape[-2] - border, border:x.shape[-1] - border] if border else x


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(11)
    y, x = np.mgrid[0:24, 0:30] / 30.0
    base = np.stack([0.5 + 0.4 * np.sin(6 * x + 2 * y), x * 0.8 + 0.1, 0.3 + 0.5 * y * y])
    a = np.clip(base + 0.05 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)
    b = np.clip(a + 0.04 * rng.standard_normal(a.shape) + 0.02, 0, 1).astype(np.float32)
    c = np.clip(base[:, ::-1] + 0.1 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)
    d = np.clip(c * 0.9 + 0.03 * rng.standard_normal(c.shape), 0, 1).astype(np.float32)
    g = {"a": a, "b": b, "c": c, "d": d}

    def put(name, value):
        # convgrad loads float64 arrays as float32: store a double as float32 (hi, lo) with hi + lo == value.
        hi = np.float32(value)
        g[name] = np.array([hi, np.float32(value - np.float64(hi))], dtype=np.float32)

    ya, yb = ycbcr(a)[:1], ycbcr(b)[:1]
    put("psnr", peak_signal_noise_ratio(a.astype(np.float64), b.astype(np.float64), data_range=1.0))
    put("psnr_border4", peak_signal_noise_ratio(crop(a, 4).astype(np.float64), crop(b, 4).astype(np.float64),
                                                data_range=1.0))
    put("psnr_y_border4", peak_signal_noise_ratio(crop(ya, 4), crop(yb, 4), data_range=1.0))
    put("psnr_cd", peak_signal_noise_ratio(c.astype(np.float64), d.astype(np.float64), data_range=1.0))
    put("ssim", ssim(a, b))
    put("ssim_border3", ssim(crop(a, 3), crop(b, 3)))
    put("ssim_y", ssim(ya, yb))
    put("ssim_y_border2", ssim(crop(ya, 2), crop(yb, 2)))
    put("ssim_grey", ssim(a[:1], b[:1]))
    put("ssim_cd", ssim(c, d))
    put("ssim_255", ssim(a * 255, b * 255, data_range=255.0))
    g["ycbcr_a"] = ycbcr(a).astype(np.float32)
    g["grey_a"] = (0.299 * a[0:1].astype(np.float64) + 0.587 * a[1:2] + 0.114 * a[2:3]).astype(np.float32)
    np.savez_compressed(os.path.join(OUT, "metrics.npz"), **g)
    print({k: float(v[0]) + float(v[1]) for k, v in g.items() if v.shape == (2,)})


if __name__ == "__main__":
    main()
