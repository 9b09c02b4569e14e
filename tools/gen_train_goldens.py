#!/usr/bin/env python3
"""PyTorch goldens for losses, optimizers and LR schedules (tests/test_loss.cpp, tests/test_optim.cpp).

Run with the system Python that has torch 1.13:  /usr/bin/python3 tools/gen_train_goldens.py
Writes small uncompressed .npz files (one .npy per array) under tests/data/train/; commit them.
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "train")


def arr(t):
    t = t.detach() if isinstance(t, torch.Tensor) else torch.tensor(t)
    return t.numpy().copy()


def save(name, **arrays):
    np.savez(os.path.join(OUT, name + ".npz"), **{k: arr(v) for k, v in arrays.items()})


def loss_case(name, fn, inputs, consts, reduction):
    """Loss value and gradients; for reduction 'none' the upstream gradient is a fixed random tensor."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out = fn(**leaves, **consts, reduction=reduction)
    upstream = torch.randn(out.shape) if reduction == "none" else torch.ones(())
    out.backward(upstream)
    grads = {f"grad_{k}": v.grad for k, v in leaves.items()}
    save(name, **inputs, **consts, out=out, upstream=upstream, **grads)


def losses():
    g = torch.Generator().manual_seed(0)
    ce = lambda logits, target, weight=None, ignore_index=-100, reduction="mean": F.cross_entropy(
        logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction)
    # (N, C) with an ignored sample; (N, C, H, W) with class weights and ignore_index 255.
    logits2 = torch.randn(6, 5, generator=g) * 3
    target2 = torch.tensor([0, 4, 2, -100, 1, 4])
    for red in ["mean", "sum", "none"]:
        loss_case(f"ce_nc_{red}", lambda logits, target, reduction: ce(logits, target, reduction=reduction),
                  {"logits": logits2}, {"target": target2}, red)
    logits4 = torch.randn(2, 3, 4, 5, generator=g) * 2
    target4 = torch.randint(0, 3, (2, 4, 5), generator=g)
    target4[0, 1, 2] = 255
    target4[1, 3, 0] = 255
    weight = torch.tensor([0.2, 1.0, 2.5])
    for red in ["mean", "sum", "none"]:
        loss_case(f"ce_nchw_{red}",
                  lambda logits, target, weight, reduction: ce(logits, target, weight, 255, reduction),
                  {"logits": logits4}, {"target": target4, "weight": weight}, red)
    # Huge logits: finite loss and gradient.
    huge = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [3.0, 1e4, -1e4]])
    loss_case("ce_huge", lambda logits, target, reduction: ce(logits, target, reduction=reduction),
              {"logits": huge}, {"target": torch.tensor([1, 1, 2])}, "mean")

    x, t = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    for red in ["mean", "sum", "none"]:
        loss_case(f"mse_{red}", lambda input, target, reduction: F.mse_loss(input, target, reduction=reduction),
                  {"input": x, "target": t}, {}, red)

    xb = torch.randn(4, 3, generator=g) * 4
    xb[0, 0], xb[1, 1] = 60.0, -60.0  # saturated logits
    tb = torch.rand(4, 3, generator=g)
    pw = torch.tensor([0.5, 1.0, 3.0])
    for red in ["mean", "sum", "none"]:
        loss_case(f"bce_{red}", lambda input, target, pos_weight, reduction: F.binary_cross_entropy_with_logits(
            input, target, pos_weight=pos_weight, reduction=reduction), {"input": xb, "target": tb},
            {"pos_weight": pw}, red)
    loss_case("bce_nopw_mean", lambda input, target, reduction: F.binary_cross_entropy_with_logits(
        input, target, reduction=reduction), {"input": xb, "target": tb}, {}, "mean")


# Optimizers: params p0 (3, 4) and p1 (5,), gradients g = c * p + b (a quadratic bowl, recomputed from the
# current params each step, in float32, exactly as the C++ test does); p2 never gets a gradient.
OPTIMIZERS = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-2),
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda ps: torch.optim.Adam(ps, lr=1e-2),
    "adam_wd_amsgrad": lambda ps: torch.optim.Adam(ps, lr=5e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1,
                                                   amsgrad=True),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.05),
    "adamw_amsgrad": lambda ps: torch.optim.AdamW(ps, lr=2e-2, betas=(0.5, 0.9), amsgrad=True),
}
STEPS = 6


def optimizers():
    g = torch.Generator().manual_seed(1)
    init = {k: torch.randn(s, generator=g) for k, s in [("p0", (3, 4)), ("p1", (5,)), ("p2", (2,))]}
    c = {k: torch.rand(init[k].shape, generator=g) * 2 + 0.1 for k in ["p0", "p1"]}
    b = {k: torch.randn(init[k].shape, generator=g) for k in ["p0", "p1"]}
    for name, make in OPTIMIZERS.items():
        ps = {k: v.clone().requires_grad_(True) for k, v in init.items()}
        opt = make([ps["p0"], ps["p1"], ps["p2"]])
        hist = {k: [] for k in ["p0", "p1"]}
        for _ in range(STEPS):
            opt.zero_grad()
            for k in ["p0", "p1"]:
                ps[k].grad = c[k] * ps[k].detach() + b[k]
            opt.step()
            for k in ["p0", "p1"]:
                hist[k].append(ps[k].detach().clone())
        assert torch.equal(ps["p2"].detach(), init["p2"])
        state = {f"state_{key}": val for key, val in opt.state[ps["p0"]].items() if key != "step" and val is not None}
        save(f"optim_{name}", **{f"init_{k}": v for k, v in init.items()}, **{f"c_{k}": v for k, v in c.items()},
             **{f"b_{k}": v for k, v in b.items()}, p0_steps=torch.stack(hist["p0"]),
             p1_steps=torch.stack(hist["p1"]), **state)


def schedules():
    """Learning rates per epoch, stored losslessly as the int64 bit patterns of the float64 values."""
    def run(make, epochs):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(epochs):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        return np.array(lrs, dtype=np.float64).view(np.int64)

    S = torch.optim.lr_scheduler
    np.savez(os.path.join(OUT, "schedules.npz"),
             step_3_half=run(lambda o: S.StepLR(o, step_size=3, gamma=0.5), 12),
             step_1_default=run(lambda o: S.StepLR(o, step_size=1), 5),
             cosine_5_min=run(lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=1e-3), 17),
             cosine_4=run(lambda o: S.CosineAnnealingLR(o, T_max=4), 12))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    losses()
    optimizers()
    schedules()
    print("wrote", len(os.listdir(OUT)), "files to", os.path.normpath(OUT))
