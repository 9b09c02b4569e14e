#!/usr/bin/env python3
"""Writes the small NumPy-made files tests/test_npy.cpp reads (tests/data/npy/). Run once; commit the output.

Also checks, when given --check DIR, that NumPy reads back the files convgrad wrote into DIR.
"""
import os
import sys
import zipfile

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "npy")


def write_all():
    os.makedirs(OUT, exist_ok=True)
    f32 = (np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5) / 4
    np.save(f"{OUT}/f4_2x3.npy", f32)
    np.save(f"{OUT}/f8_2x3.npy", f32.astype(np.float64) + 1e-9)
    np.save(f"{OUT}/i8_4.npy", np.array([-3, 0, 7, 2**40], dtype=np.int64))
    np.save(f"{OUT}/i4_2x2.npy", np.array([[1, -2], [3, 2**31 - 1]], dtype=np.int32))
    np.save(f"{OUT}/scalar_f4.npy", np.float32(3.25))
    np.save(f"{OUT}/empty_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    np.save(f"{OUT}/f4_2x3x4x5.npy", np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5) * 0.5)
    # Format versions 2.0 and 3.0 (3.0 allows a utf-8 header).
    for version in [(2, 0), (3, 0)]:
        with open(f"{OUT}/f4_v{version[0]}.npy", "wb") as f:
            np.lib.format.write_array(f, f32, version=version)
    # Unsupported: Fortran order, big-endian, other dtypes, object and structured arrays.
    np.save(f"{OUT}/fortran_2x3.npy", np.asfortranarray(f32))
    np.save(f"{OUT}/bigendian_f4.npy", f32.astype(">f4"))
    np.save(f"{OUT}/u8_3.npy", np.array([1, 2, 3], dtype=np.uint8))
    np.save(f"{OUT}/object.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    np.save(f"{OUT}/structured.npy", np.zeros(2, dtype=[("x", "<f4"), ("y", "<i8")]))
    # Archives: stored (np.savez), deflated (np.savez_compressed), a non-npy member.
    np.savez(f"{OUT}/stored.npz", weight=f32, **{"blocks.2.bias": np.array([1.5, -2], np.float32)},
             labels=np.array([0, 2, 1], np.int64))
    np.savez_compressed(f"{OUT}/deflated.npz", weight=f32, labels=np.array([0, 2, 1], np.int64),
                        big=np.tile(np.arange(10, dtype=np.float32), 100))
    with zipfile.ZipFile(f"{OUT}/not_npy_member.npz", "w") as z:
        z.writestr("readme.txt", "hello")


def check(directory):
    """Reads what test_npy wrote (when CONVGRAD_NPY_EXPORT is set) and compares with expectations."""
    a = np.load(f"{directory}/roundtrip.npy")
    assert a.dtype == np.float32 and a.shape == (2, 3, 4), (a.dtype, a.shape)
    assert np.array_equal(a.ravel(), np.arange(24, dtype=np.float32) * 0.25 - 1), a
    with np.load(f"{directory}/roundtrip.npz") as z:
        assert sorted(z.files) == ["conv.weight", "labels", "scalar"], z.files
        assert np.array_equal(z["conv.weight"], np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.25 - 1)
        assert z["labels"].dtype == np.int64 and list(z["labels"]) == [3, -1, 1 << 40]
        assert z["scalar"].shape == () and z["scalar"] == np.float32(2.5)
    with zipfile.ZipFile(f"{directory}/roundtrip.npz") as z:
        assert z.testzip() is None
    print("numpy reads convgrad's files: OK")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        write_all()
