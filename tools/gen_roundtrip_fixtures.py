#!/usr/bin/env python3
"""Writes the NumPy / PyTorch side of the file round trip (tests/data/roundtrip/), read by
tests/test_npy_roundtrip.cpp. Run once; commit the output.

- `*.npy`: written by np.save. convgrad must read them, and its npy_bytes of the same values must be
  these bytes exactly.
- `checkpoint.npz`: a PyTorch model's state_dict (Conv2d(2, 3, 3) + BatchNorm2d(3), trained one step so
  that every entry is non-trivial), each member the bytes of np.save, archived uncompressed with Python's
  zipfile in the layout convgrad's save_npz writes (stored, dated 1980-01-01, made by Unix, rw-r--r--).
  Before writing, this script checks that np.load and torch's load_state_dict read the archive back.
  convgrad must load it into the same model and give PyTorch's output (`checkpoint_io.npz`), and its
  save() of that model must reproduce the archive byte for byte: so what convgrad writes is what NumPy
  and PyTorch were seen to read.
"""
import io
import os
import zipfile

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "roundtrip")


def npy_bytes(a):
    f = io.BytesIO()
    np.save(f, a)
    return f.getvalue()


def convgrad_layout_npz(arrays):
    """An uncompressed archive with the header fields convgrad's npz_bytes writes."""
    f = io.BytesIO()
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
        for name, a in arrays:
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3  # Unix
            info.create_version = 20
            info.extract_version = 20
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, npy_bytes(a))
    return f.getvalue()


def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.BatchNorm2d(3))


def main():
    os.makedirs(OUT, exist_ok=True)
    arrays = {
        "f4_2x3x4": np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.25 - 1,
        "i8_3": np.array([3, -1, 1 << 40], dtype=np.int64),
        "f4_scalar": np.float32(2.5),
        "f4_0x3": np.zeros((0, 3), dtype=np.float32),
        # 21 dimensions: a header longer than one 64-byte block, so the padding spans two.
        "f4_rank21": (np.arange(2, dtype=np.float32) - 0.5).reshape((1,) * 20 + (2,)),
        # A header whose text ends exactly on a 64-byte boundary: NumPy then pads a whole 64 spaces.
        "f4_aligned": (np.arange(100, dtype=np.float32) * 0.5).reshape((1,) * 13 + (100,)),
        "f4_specials": np.array([0.0, -0.0, np.inf, -np.inf, 1e-45, 3.4028235e38], dtype=np.float32),
    }
    for name, a in arrays.items():
        np.save(f"{OUT}/{name}.npy", a)

    m = model()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    x = torch.randn(2, 2, 5, 5)
    m.train()
    m(x).square().mean().backward()  # one step: running stats and the batch counter move too
    opt.step()
    m.eval()
    state = [(k, v.detach().numpy().copy()) for k, v in m.state_dict().items()]
    archive = convgrad_layout_npz(state)
    # NumPy and PyTorch read the archive back.
    with np.load(io.BytesIO(archive)) as z:
        assert list(z.files) == [k for k, _ in state], z.files
        for k, v in state:
            assert z[k].dtype == v.dtype and np.array_equal(z[k], v), k
        back = model()
        back.load_state_dict({k: torch.from_numpy(z[k]) for k in z.files})
    back.eval()
    xi = torch.randn(1, 2, 4, 6)
    with torch.no_grad():
        y = m(xi)
        assert torch.equal(back(xi), y)
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert z.testzip() is None
    with open(f"{OUT}/checkpoint.npz", "wb") as f:
        f.write(archive)
    np.savez(f"{OUT}/checkpoint_io.npz", x=xi.numpy(), y=y.numpy())
    print(f"wrote {len(arrays)} .npy files, checkpoint.npz ({len(archive)} bytes) and checkpoint_io.npz to {OUT}")


if __name__ == "__main__":
    main()
