#!/usr/bin/env python3
"""Writes the image files tests/test_image_io.cpp reads (tests/data/images/) and what they must decode to.

PNG files come from a small PNG encoder below (every colour type, every bit depth, tRNS, Adam7
interlacing), so the expected values are the NumPy arrays they were made from: samples / (2^depth - 1).
JPEG files are written by PIL and their expected values are PIL's decoding (libjpeg-turbo, the library
convgrad uses) / 255. Everything goes to expected.npz as float32 (C, H, W), keyed by file name.
Run once with /usr/bin/python3 (numpy, PIL); commit the output.
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "images")
H, W = 5, 7  # odd sizes: packed rows end mid-byte, Adam7 passes are uneven
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_rows(samples, depth):
    """Scanlines (each with filter byte 0) of an (h, w, c) integer array at `depth` bits per sample."""
    out = b""
    for row in samples:
        flat = row.reshape(-1)
        if depth == 16:
            data = flat.astype(">u2").tobytes()
        elif depth == 8:
            data = flat.astype(np.uint8).tobytes()
        else:
            bits = "".join(format(int(v), f"0{depth}b") for v in flat)
            bits += "0" * (-len(bits) % 8)
            data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
        out += b"\x00" + data
    return out


def png(samples, depth, colour, interlace=False, extra=b""):
    """PNG bytes of (h, w, c) samples; `extra` chunks (PLTE, tRNS) go before IDAT."""
    h, w = samples.shape[:2]
    if interlace:
        raw = b"".join(pack_rows(samples[y0::dy, x0::dx], depth)
                       for x0, y0, dx, dy in ADAM7 if samples[y0::dy, x0::dx].size)
    else:
        raw = pack_rows(samples, depth)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, int(interlace))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def chw(a, scale):
    return np.ascontiguousarray((a.astype(np.float32) / np.float32(scale)).transpose(2, 0, 1))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    expected = {}

    def save(name, data, value):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        expected[name] = value

    # Every colour type at 8 and 16 bits (0 grey, 2 RGB, 4 grey+alpha, 6 RGBA), extremes included.
    for colour, c, tag in [(0, 1, "grey"), (4, 2, "grey_alpha"), (2, 3, "rgb"), (6, 4, "rgba")]:
        for depth in (8, 16):
            top = 2**depth - 1
            s = rng.integers(0, top + 1, size=(H, W, c))
            s[0, 0, :], s[0, 1, :] = 0, top
            save(f"{tag}{depth}.png", png(s, depth, colour), chw(s, top))
    # Grey at 1, 2 and 4 bits: samples scale to the full range (v * 255 / (2^d - 1)) / 255.
    for depth in (1, 2, 4):
        s = rng.integers(0, 2**depth, size=(H, W, 1))
        save(f"grey{depth}.png", png(s, depth, 0), chw(s, 2**depth - 1))
    # Adam7 interlacing.
    s = rng.integers(0, 256, size=(H, W, 3))
    save("rgb8_interlaced.png", png(s, 8, 2, interlace=True), chw(s, 255))
    s = rng.integers(0, 65536, size=(H, W, 4))
    save("rgba16_interlaced.png", png(s, 16, 6, interlace=True), chw(s, 65535))
    # Palette at 8 and 2 bits, without and with tRNS (a tRNS shorter than the palette: the rest is opaque).
    palette = rng.integers(0, 256, size=(4, 3))
    plte = chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    idx = rng.integers(0, 4, size=(H, W, 1))
    save("palette8.png", png(idx, 8, 3, extra=plte), chw(palette[idx[..., 0]], 255))
    save("palette2.png", png(idx, 2, 3, extra=plte), chw(palette[idx[..., 0]], 255))
    alpha = np.array([0, 128, 255, 255])
    trns = chunk(b"tRNS", bytes(alpha[:2].tolist()))
    rgba = np.concatenate([palette[idx[..., 0]], alpha[idx]], axis=2)
    save("palette8_trns.png", png(idx, 8, 3, extra=plte + trns), chw(rgba, 255))
    # tRNS on grey and RGB: the one listed colour becomes transparent, the rest opaque.
    s = rng.integers(0, 256, size=(H, W, 1))
    key = int(s[1, 1, 0])
    a = np.where(s[..., :1] == key, 0, 255)
    save("grey8_trns.png", png(s, 8, 0, extra=chunk(b"tRNS", struct.pack(">H", key))),
         chw(np.concatenate([s, a], axis=2), 255))
    s = rng.integers(0, 65536, size=(H, W, 3))
    key = s[2, 3].tolist()
    a = np.where((s == key).all(axis=2, keepdims=True), 0, 65535)
    save("rgb16_trns.png", png(s, 16, 2, extra=chunk(b"tRNS", struct.pack(">HHH", *key))),
         chw(np.concatenate([s, a], axis=2), 65535))

    # JPEG through PIL: baseline and progressive, grey and colour; a smooth picture plus noise.
    y, x = np.mgrid[0:24, 0:32]
    smooth = np.stack([x * 7, y * 9, (x + y) * 4], axis=2) + rng.integers(0, 30, size=(24, 32, 3))
    rgb = Image.fromarray(np.clip(smooth, 0, 255).astype(np.uint8), "RGB")
    for name, img in [("rgb", rgb), ("grey", rgb.convert("L"))]:
        for kind, progressive in [("baseline", False), ("progressive", True)]:
            path = os.path.join(OUT, f"{name}_{kind}.jpg")
            img.save(path, "JPEG", quality=85, progressive=progressive)
            decoded = np.asarray(Image.open(path))
            if decoded.ndim == 2:
                decoded = decoded[..., None]
            expected[f"{name}_{kind}.jpg"] = chw(decoded, 255)
    Image.fromarray(np.zeros((8, 8, 4), np.uint8), "CMYK").save(os.path.join(OUT, "cmyk.jpg"), "JPEG")

    # uint8 .npy images as NumPy / PIL store them: (H, W) and (H, W, C).
    s = rng.integers(0, 256, size=(H, W, 3)).astype(np.uint8)
    np.save(os.path.join(OUT, "u8_hwc.npy"), s)
    expected["u8_hwc.npy"] = chw(s, 255)
    s = rng.integers(0, 256, size=(H, W)).astype(np.uint8)
    np.save(os.path.join(OUT, "u8_hw.npy"), s)
    expected["u8_hw.npy"] = chw(s[..., None], 255)

    # Cross-check: PIL reads the 8-bit PNG files as the arrays they were made from.
    for name in ["grey8.png", "rgb8.png", "rgba8.png", "palette8.png", "rgb8_interlaced.png"]:
        got = np.asarray(Image.open(os.path.join(OUT, name)).convert(
            {1: "L", 3: "RGB", 4: "RGBA"}[expected[name].shape[0]]))
        got = got[..., None] if got.ndim == 2 else got
        assert np.array_equal(chw(got, 255), expected[name]), name
    got = np.asarray(Image.open(os.path.join(OUT, "grey16.png"))).astype(np.int64)
    assert np.array_equal(chw(got[..., None], 65535), expected["grey16.png"])

    np.savez_compressed(os.path.join(OUT, "expected.npz"), **expected)
    print(f"wrote {len(expected)} fixtures to {OUT}")


if __name__ == "__main__":
    main()
