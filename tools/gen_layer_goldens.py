#!/usr/bin/env python3
"""Writes the PyTorch goldens under tests/data/layers/ that tests/test_layers.cpp compares against.

Run with PyTorch 1.13:  /usr/bin/python3 tools/gen_layer_goldens.py
Each case file <name>.npz holds: x (input), gy (upstream gradient), y (output), gx (input gradient),
p.<state name> (parameters/buffers before the forward, loaded into the convgrad layer),
g.<param name> (parameter gradients) and s.<buffer name> (buffers after the forward).
The layer options of each case are repeated by hand in the C++ test.
"""
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import state_dict as sdconv  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "layers")


def f32(t):
    return t.detach().cpu().numpy().astype(np.float32)


def away_from_zero(t, margin=0.05):
    """Moves values out of (-margin, margin) so relu/maxpool kinks are not hit by rounding."""
    return torch.where(t.abs() < margin, torch.sign(t + 1e-9) * margin + t, t)


def save(name, arrays):
    path = os.path.join(OUT, name + ".npz")
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    print("wrote", os.path.relpath(path), sum(a.nbytes for a in arrays.values()), "bytes")


def run_case(name, module, x, train=True, call=None):
    """Forward + backward of one module; saves the golden arrays."""
    module.train(train)
    module.zero_grad(set_to_none=True)
    before = {k: v.detach().clone() for k, v in module.state_dict().items()}
    x = x.clone().requires_grad_(True)
    y = call(module, x) if call else module(x)
    gy = torch.randn_like(y)
    y.backward(gy)
    arrays = {"x": f32(x), "gy": f32(gy), "y": f32(y), "gx": f32(x.grad)}
    for k, v in before.items():
        arrays["p." + k] = v.numpy() if v.dtype == torch.int64 else f32(v)
    for k, p in module.named_parameters():
        arrays["g." + k] = f32(p.grad)
    for k, b in module.named_buffers():
        arrays["s." + k] = b.numpy() if b.dtype == torch.int64 else f32(b)
    save(name, arrays)


def layer_cases():
    run_case("conv2d_basic", nn.Conv2d(3, 4, 3, padding=1), torch.randn(2, 3, 6, 6))
    run_case("conv2d_options",
             nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
             torch.randn(2, 4, 7, 8))
    run_case("conv2d_same", nn.Conv2d(2, 3, 4, padding="same", bias=False), torch.randn(1, 2, 5, 6))
    run_case("convt_basic", nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1), torch.randn(2, 3, 4, 5))
    run_case("convt_options",
             nn.ConvTranspose2d(4, 6, (3, 4), stride=(2, 3), padding=(1, 2), output_padding=(1, 0), groups=2,
                                dilation=(2, 1)),
             torch.randn(2, 4, 3, 4))
    run_case("convt_output_size", nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), torch.randn(1, 2, 4, 4),
             call=lambda m, x: m(x, output_size=[8, 8]))
    run_case("linear", nn.Linear(5, 3), torch.randn(4, 5))
    run_case("linear_3d", nn.Linear(5, 3, bias=False), torch.randn(2, 3, 5))
    run_case("relu", nn.ReLU(), away_from_zero(torch.randn(2, 3, 4)))
    run_case("leaky_relu", nn.LeakyReLU(0.2), away_from_zero(torch.randn(2, 3, 4)))
    run_case("sigmoid", nn.Sigmoid(), 3 * torch.randn(2, 3, 4))
    run_case("tanh", nn.Tanh(), 2 * torch.randn(2, 3, 4))
    # Distinct values (a permutation) so no max-pool window has a tie.
    run_case("maxpool", nn.MaxPool2d(3, stride=2, padding=1), torch.randperm(2 * 3 * 7 * 7).float().reshape(2, 3, 7, 7) / 50)
    run_case("avgpool", nn.AvgPool2d(2), torch.randn(2, 3, 6, 8))
    run_case("avgpool_pad", nn.AvgPool2d(3, stride=2, padding=1), torch.randn(1, 2, 7, 6))
    run_case("flatten", nn.Flatten(), torch.randn(2, 3, 2, 2))
    run_case("upsample_x2", nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), torch.randn(1, 2, 3, 4))
    run_case("upsample_size", nn.Upsample(size=(7, 9), mode="bilinear", align_corners=False), torch.randn(2, 1, 4, 5))

    bn = nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(3) + 0.5)
        bn.bias.copy_(torch.randn(3))
    run_case("batchnorm_train", bn, 2 + 3 * torch.randn(4, 3, 5, 5), train=True)
    # Eval with non-trivial running statistics (those left by the training case).
    run_case("batchnorm_eval", bn, 2 + 3 * torch.randn(2, 3, 4, 4), train=False)
    bn_cum = nn.BatchNorm2d(2, momentum=None, affine=False)
    for _ in range(2):
        bn_cum(torch.randn(3, 2, 4, 4) * 2 + 1)
    run_case("batchnorm_cumulative", bn_cum, torch.randn(3, 2, 4, 4), train=True)


class SmallNet(nn.Module):
    """The whole-model case: every parameterised layer family once, with PyTorch's state-dict names."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
        self.up = nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 5))

    def forward(self, x):
        return self.head(torch.tanh(self.up(self.features(x))))


def small_fcn():
    """A tiny conv / transposed-conv segmenter, as the pretrained model of the converter test."""
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 8, 3, stride=2, padding=1),
                         nn.BatchNorm2d(8), nn.ReLU(), nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1), nn.ReLU(),
                         nn.Conv2d(4, 2, 1))


def toy_segmentation(n, gen):
    """Images with a bright square; the target is the square's mask."""
    x = torch.randn(n, 1, 8, 8, generator=gen) * 0.3
    t = torch.zeros(n, 8, 8, dtype=torch.int64)
    for i in range(n):
        r, c = torch.randint(0, 5, (2,), generator=gen).tolist()
        x[i, 0, r:r + 3, c:c + 3] += 1.0
        t[i, r:r + 3, c:c + 3] = 1
    return x, t


def model_cases():
    net = SmallNet()
    run_case("model_small", net, torch.randn(2, 2, 8, 8))

    # Train a small FCN in PyTorch, save it the usual way, convert with tools/state_dict.py.
    gen = torch.Generator().manual_seed(1)
    model = small_fcn()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        x, t = toy_segmentation(16, gen)
        loss = nn.functional.cross_entropy(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print("pretrained fcn: final training loss %.4f" % loss.item())
    model.eval()
    x, t = toy_segmentation(4, gen)
    with torch.no_grad():
        y = model(x)
    with tempfile.TemporaryDirectory() as tmp:
        pt = os.path.join(tmp, "fcn.pt")
        torch.save(model.state_dict(), pt)
        arrays = sdconv.to_npz(pt, os.path.join(OUT, "pretrained_fcn.npz"))
        assert all(arrays[k].shape == tuple(v.shape) for k, v in model.state_dict().items())
        # Round trip through the other direction must give the model back bit for bit.
        back = os.path.join(tmp, "back.pt")
        sdconv.to_torch(os.path.join(OUT, "pretrained_fcn.npz"), back)
        clone = small_fcn()
        clone.load_state_dict(torch.load(back))
        clone.eval()
        assert torch.equal(clone(x), y), "state_dict.py round trip changed the model"
    accuracy = (y.argmax(1) == t).float().mean().item()
    print("pretrained fcn: pixel accuracy on the saved batch %.3f" % accuracy)
    save("pretrained_fcn_io", {"x": f32(x), "y": f32(y), "target": t.numpy()})


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    layer_cases()
    model_cases()


if __name__ == "__main__":
    main()
