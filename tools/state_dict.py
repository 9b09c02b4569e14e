#!/usr/bin/env python3
"""Convert a PyTorch state_dict to and from convgrad's checkpoint format (.npz, one array per name).

    state_dict.py to-npz   model.pt  out.npz   # torch.save(model.state_dict()) -> convgrad load()
    state_dict.py to-torch in.npz    out.pt    # convgrad save() -> model.load_state_dict(torch.load())

Names are kept as they are: convgrad's dotted names (`features.0.weight`, `bn.running_mean`,
`bn.num_batches_tracked`) follow PyTorch's, so a model built with the same layers in the same order
loads either way. float64 arrays become float32 and integer arrays int64 (the dtypes convgrad holds).
`to-npz` accepts a saved state_dict, a whole saved nn.Module, or a dict holding one under "state_dict"
or "model_state_dict". `to-torch` skips optimizer entries ("optim.*") unless --keep-optim is given.
"""
import argparse
import collections
import sys

import numpy as np
import torch

OPTIM_PREFIX = "optim."


def _as_state_dict(obj):
    """The name -> tensor mapping inside whatever torch.load returned."""
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                return obj[key]
        if all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise SystemExit("to-npz: expected a state_dict (name -> tensor), an nn.Module, or a dict with a "
                     "'state_dict' entry; got %s" % type(obj).__name__)


def _to_numpy(name, t):
    a = t.detach().cpu().numpy()
    # np.array(order="C"), not np.ascontiguousarray, which turns 0-d (num_batches_tracked) into 1-d.
    if a.dtype.kind == "f":
        return np.array(a, dtype=np.float32, order="C")
    if a.dtype.kind in "iub":
        return np.array(a, dtype=np.int64, order="C")
    raise SystemExit("to-npz: '%s' has dtype %s, which convgrad cannot hold (float32/int64 only)" % (name, a.dtype))


def state_dict_to_arrays(state_dict):
    """An ordered name -> ndarray mapping (float32 / int64) from a PyTorch state_dict."""
    return collections.OrderedDict((k, _to_numpy(k, v)) for k, v in state_dict.items())


def arrays_to_state_dict(arrays, keep_optim=False):
    """A PyTorch state_dict (OrderedDict of tensors) from name -> ndarray."""
    out = collections.OrderedDict()
    for k, a in arrays.items():
        if k.startswith(OPTIM_PREFIX) and not keep_optim:
            continue
        out[k] = torch.from_numpy(np.array(a))
    return out


def to_npz(src, dst):
    obj = torch.load(src, map_location="cpu")
    arrays = state_dict_to_arrays(_as_state_dict(obj))
    # np.savez writes an uncompressed ZIP, which convgrad reads without zlib.
    with open(dst, "wb") as f:
        np.savez(f, **arrays)
    return arrays


def to_torch(src, dst, keep_optim=False):
    with np.load(src, allow_pickle=False) as z:
        arrays = collections.OrderedDict((k, z[k]) for k in z.files)
    sd = arrays_to_state_dict(arrays, keep_optim)
    torch.save(sd, dst)
    return sd


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("to-npz", help="PyTorch .pt state_dict -> convgrad .npz")
    a.add_argument("src")
    a.add_argument("dst")
    b = sub.add_parser("to-torch", help="convgrad .npz -> PyTorch .pt state_dict")
    b.add_argument("src")
    b.add_argument("dst")
    b.add_argument("--keep-optim", action="store_true", help="keep 'optim.*' entries")
    args = p.parse_args(argv)
    if args.cmd == "to-npz":
        arrays = to_npz(args.src, args.dst)
    else:
        arrays = to_torch(args.src, args.dst, args.keep_optim)
    for k, v in arrays.items():
        print("%-40s %s %s" % (k, tuple(v.shape), str(v.dtype).replace("torch.", "")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
