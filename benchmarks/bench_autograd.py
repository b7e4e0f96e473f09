"""What the autograd costs: per-op overhead and a small MLP step, beside PyTorch and raw numpy.

Two measurements, each minigrad vs PyTorch eager (one thread) vs a hand-written numpy version of
the same computation (the floor: the gap between minigrad and numpy is the price of the graph):

1. *Per-op overhead*: a chain of ``n_ops`` small elementwise ops on a 16-element vector,
   forward + backward.  Arithmetic is negligible here, so the time is bookkeeping.
2. *2-layer MLP step*: x (256, 512) -> Linear(512, 256) -> tanh -> Linear(256, 10) -> mean
   squared error, forward + backward (no update), float32.

Run: ``python -m benchmarks autograd [--quick]``.
"""

from __future__ import annotations

import argparse

import numpy as np

import minigrad as mg
from benchmarks.harness import (
    Contender,
    Ratio,
    compare,
    markdown_table,
    set_threads,
    write_results,
)


def _chain_minigrad(x0: np.ndarray, n_ops: int):
    def step():
        x = mg.Tensor._wrap(x0).requires_grad_()
        y = x
        for _ in range(n_ops // 2):
            y = y * 0.999
            y = y + 0.001
        y.sum().backward()
        return x.grad

    return step


def _chain_torch(torch, x0: np.ndarray, n_ops: int):
    def step():
        x = torch.from_numpy(x0).requires_grad_()
        y = x
        for _ in range(n_ops // 2):
            y = y * 0.999
            y = y + 0.001
        y.sum().backward()
        return x.grad

    return step


def _chain_numpy(x0: np.ndarray, n_ops: int):
    def step():
        # forward keeps nothing (the derivative of y*c + d is c); backward multiplies the scales
        y = x0
        for _ in range(n_ops // 2):
            y = y * 0.999
            y = y + 0.001
        g = np.ones_like(x0)
        for _ in range(n_ops // 2):
            g = g * 0.999
        return g

    return step


def _mlp_data(batch: int, d_in: int, hidden: int, d_out: int):
    rng = np.random.default_rng(0)
    f32 = np.float32
    return {
        "x": rng.standard_normal((batch, d_in)).astype(f32),
        "y": rng.standard_normal((batch, d_out)).astype(f32),
        "w1": (rng.standard_normal((d_in, hidden)) / np.sqrt(d_in)).astype(f32),
        "b1": np.zeros(hidden, f32),
        "w2": (rng.standard_normal((hidden, d_out)) / np.sqrt(hidden)).astype(f32),
        "b2": np.zeros(d_out, f32),
    }


def _mlp_minigrad(d):
    params = {k: mg.Tensor._wrap(d[k].copy()).requires_grad_() for k in ("w1", "b1", "w2", "b2")}
    x, y = d["x"], d["y"]

    def step():
        for p in params.values():
            p.grad = None
        h = (mg.Tensor._wrap(x) @ params["w1"] + params["b1"]).tanh()
        out = h @ params["w2"] + params["b2"]
        diff = out - y
        loss = (diff * diff).mean()
        loss.backward()
        return loss.item()

    return step


def _mlp_torch(torch, d):
    params = {k: torch.from_numpy(d[k].copy()).requires_grad_() for k in ("w1", "b1", "w2", "b2")}
    x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])

    def step():
        for p in params.values():
            p.grad = None
        h = torch.tanh(x @ params["w1"] + params["b1"])
        out = h @ params["w2"] + params["b2"]
        diff = out - y
        loss = (diff * diff).mean()
        loss.backward()
        return loss.item()

    return step


def _mlp_numpy(d):
    x, y, w1, b1, w2, b2 = (d[k] for k in ("x", "y", "w1", "b1", "w2", "b2"))

    def step():
        h = np.tanh(x @ w1 + b1)
        out = h @ w2 + b2
        diff = out - y
        loss = (diff * diff).mean()
        g_out = diff * (2.0 / diff.size)
        g_w2 = h.T @ g_out
        g_b2 = g_out.sum(0)
        g_h = g_out @ w2.T
        g_pre = g_h * (1 - h * h)
        g_w1 = x.T @ g_pre
        g_b1 = g_pre.sum(0)
        return float(loss), g_w1, g_b1, g_w2, g_b2

    return step


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks autograd", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="few repeats, for a smoke test")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    repeats = 3 if args.quick else 15
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: PyTorch columns skipped")

    sections = {}
    n_ops = 100 if args.quick else 1000
    x0 = np.linspace(-1, 1, 16, dtype=np.float32)
    contenders = [Contender("minigrad", _chain_minigrad(x0, n_ops), {"ops": n_ops})]
    if torch is not None:
        contenders.append(Contender("torch eager", _chain_torch(torch, x0, n_ops), {"ops": n_ops}))
    contenders.append(Contender("numpy (no graph)", _chain_numpy(x0, n_ops), {"ops": n_ops}))
    rows = compare(contenders, repeats=repeats, baseline="minigrad")
    for r in rows:
        r["us_per_op"] = r["median_s"] / n_ops * 1e6
    chain = f"per-op overhead: chain of {n_ops} elementwise ops, fwd+bwd"
    sections[chain] = rows

    d = _mlp_data(256, 512, 256, 10)
    mg_step = _mlp_minigrad(d)
    np_step = _mlp_numpy(d)
    contenders = [Contender("minigrad", mg_step), Contender("numpy fwd/bwd by hand", np_step)]
    checks = {"loss_minigrad": mg_step(), "loss_numpy": np_step()[0]}
    if torch is not None:
        t_step = _mlp_torch(torch, d)
        checks["loss_torch"] = t_step()
        contenders.insert(1, Contender("torch eager", t_step))
    losses = list(checks.values())
    if not np.allclose(losses, losses[0], rtol=1e-4):
        raise RuntimeError(f"the contenders disagree on the loss: {checks}")
    rows = compare(contenders, repeats=repeats * 2, baseline="minigrad")
    mlp = "2-layer MLP fwd+bwd, batch 256, 512-256-10, float32"
    sections[mlp] = rows

    for title, rs in sections.items():
        print(f"\n## {title}\n")
        print(markdown_table(rs))
    notes = f"threads={args.threads}; losses on the first step: {checks}"
    ratios = [
        Ratio("autograd per-op overhead: torch eager time / minigrad time", chain, "minigrad",
              "torch eager", invert=True, goal=1.0, op=">=", source="issue 2"),
        Ratio("2-layer MLP fwd+bwd: minigrad time / torch eager", mlp, "minigrad", "torch eager",
              goal=1.0, op="<=", source="issue 2"),
        Ratio("per-op chain: minigrad time / numpy (the price of the graph)", chain, "minigrad",
              "numpy (no graph)"),
        Ratio("2-layer MLP: minigrad time / numpy by hand", mlp, "minigrad",
              "numpy fwd/bwd by hand"),
    ]  # fmt: skip
    paths = write_results("autograd", sections, notes=notes, ratios=ratios)
    print("\nwrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
