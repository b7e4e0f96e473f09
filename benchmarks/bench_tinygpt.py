"""TinyGPT training step, minigrad vs PyTorch eager; and linear_cross_entropy vs the unfused path.

1. One AdamW training step (forward + backward + step) of a TinyGPT with context 64,
   d_model 128, 4 heads, 2 layers, vocab 4,096, batch 16, on one thread for everyone
   (``set_threads(1)``).  Both models start from the same float32 weights (the torch model is
   the plain ``torch.nn`` reference of the tests, loaded from minigrad's state dict) and their
   first-step losses are checked to agree before anything is timed.  minigrad's loss is the fused
   ``linear_cross_entropy``; torch's is ``Linear`` + ``cross_entropy`` (it has no fused op).
   Goal (issue 6): minigrad within 1.5x of torch eager.

2. ``linear_cross_entropy`` (chunked) vs ``Linear`` + ``cross_entropy`` at N = 8,192 rows,
   V = 32,768 classes, d = 128, float32: forward + backward time, and the peak of Python-heap
   allocations during it (``tracemalloc``, which sees every numpy buffer), measured in separate
   runs so that tracing does not slow the timed ones.

The exact GELU of the blocks needs ``erf``, which NumPy lacks: ``minigrad/kernels/elementwise.py``
computes the float32 GELU in one vectorised pass through its own erfc polynomial (libm's scalar
``erff`` per element was ~6x slower on the 1024 x 512 activations: 3.9 ms vs 0.67 ms CPU, measured
once on the project's 2-core AMD EPYC development VM under load; ``np.vectorize(math.erf)`` ~100x).

Issue 19 asks for <= 0.7x torch eager.  Every matmul of the step alone (the head's three and the
blocks') took ~69 ms CPU there, against ~105-115 ms for torch's whole step: the rest of minigrad's
step (softmax-cross-entropy rows, GELU, attention softmax and copies, AdamW, LayerNorm, the
engine) is ~10 ms.  The step reports CPU time beside the wall clock (the machine is shared).

Run: ``python -m benchmarks tinygpt [--quick] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tracemalloc

import numpy as np

import minigrad as mg
from benchmarks.harness import (
    Contender,
    Ratio,
    compare,
    cpu_compare,
    markdown_table,
    set_threads,
    write_results,
)
from minigrad.models.tinygpt import TinyGPT
from minigrad.nn import functional as F
from minigrad.nn.functional import linear_cross_entropy
from minigrad.optim import AdamW

VOCAB, CTX, DIM, HEADS, LAYERS, BATCH, LR = 4096, 64, 128, 4, 2, 16, 1e-3


def minigrad_step(ids: np.ndarray, targets: np.ndarray):
    mg.manual_seed(0)
    model = TinyGPT(VOCAB, CTX, DIM, HEADS, LAYERS)
    opt = AdamW(model.parameters(), lr=LR)
    return model, lambda: model.train_step(opt, ids, targets)


def torch_step(torch, state, ids, targets):
    from benchmarks.torch_tinygpt import TorchTinyGPT, to_torch_state

    model = TorchTinyGPT(VOCAB, CTX, DIM, HEADS, LAYERS)
    model.load_state_dict(to_torch_state(state))
    opt = torch.optim.AdamW(model.parameters(), lr=LR)
    tids, ttargets = torch.from_numpy(ids), torch.from_numpy(targets)

    def step() -> float:
        opt.zero_grad()
        loss = model.loss(tids, ttargets)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def bench_step(torch, repeats: int, profile: bool) -> tuple[list[dict], dict]:
    rng = np.random.default_rng(1)
    data = rng.integers(0, VOCAB, size=(BATCH, CTX + 1))
    ids, targets = data[:, :-1], data[:, 1:]
    model, mg_step = minigrad_step(ids, targets)
    steps = {"minigrad": mg_step}
    if torch is not None:
        steps["torch eager"] = torch_step(torch, model.state_dict(), ids, targets)
    first = {name: fn() for name, fn in steps.items()}  # the check, not timed
    if not all(np.isclose(v, first["minigrad"], rtol=1e-5) for v in first.values()):
        raise RuntimeError(f"contenders disagree on the first-step loss: {first}")
    params = {"B": BATCH, "T": CTX, "d": DIM, "H": HEADS, "L": LAYERS, "V": VOCAB}
    rows = compare(
        [Contender(n, fn, params) for n, fn in steps.items()], repeats=repeats, baseline="minigrad"
    )
    # CPU time as well: on a shared machine the wall clock also counts the time other processes
    # held the core (mlp_lm reports both the same way)
    info = {"first_losses": first, "cpu_rows": cpu_compare(steps, repeats, baseline="minigrad")}
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(5):
            mg_step()
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
        info["profile"] = out.getvalue()
    return rows, info


def bench_fused_ce(torch, n: int, v: int, d: int, repeats: int) -> list[dict]:
    rng = np.random.default_rng(0)
    h_np = rng.standard_normal((n, d)).astype(np.float32)
    w_np = (rng.standard_normal((v, d)) * d**-0.5).astype(np.float32)
    t = rng.integers(0, v, n)
    h, w = mg.Tensor(h_np, requires_grad=True), mg.Tensor(w_np, requires_grad=True)

    def fused() -> None:
        h.grad = w.grad = None
        linear_cross_entropy(h, w, t).backward()

    def unfused() -> None:
        h.grad = w.grad = None
        F.cross_entropy(F.linear(h, w), t).backward()

    contenders = {"fused (chunked)": fused, "unfused (Linear + cross_entropy)": unfused}
    if torch is not None:
        th = torch.tensor(h_np, requires_grad=True)
        tw = torch.tensor(w_np, requires_grad=True)
        tt = torch.from_numpy(t)

        def torch_unfused() -> None:
            th.grad = tw.grad = None
            torch.nn.functional.cross_entropy(th @ tw.T, tt).backward()

        contenders["torch eager, unfused"] = torch_unfused
    peaks = {}
    for name, fn in contenders.items():
        if name.startswith("torch"):
            continue  # torch's buffers are not numpy's: tracemalloc does not see them
        fn()  # warm, then measure the peak of one fused forward + backward
        tracemalloc.start()
        fn()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    rows = compare(
        [Contender(k, f, {"N": n, "V": v, "d": d}) for k, f in contenders.items()],
        repeats=repeats,
        baseline="fused (chunked)",
    )
    for r in rows:
        peak = peaks.get(r["name"])
        if peak is not None:  # none for torch: its buffers are not numpy's
            r["peak_MiB"] = round(peak / 2**20, 1)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks tinygpt", description=__doc__)
    ap.add_argument(
        "--quick", action="store_true", help="3 repeats and a small CE case (a smoke run)"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="cProfile five minigrad steps")
    args = ap.parse_args(argv)
    set_threads(args.threads)
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: PyTorch rows skipped")

    repeats = 3 if args.quick else 20
    step_rows, info = bench_step(torch, repeats, args.profile)
    title = (
        f"TinyGPT AdamW step, B={BATCH} T={CTX} d={DIM} H={HEADS} L={LAYERS} V={VOCAB}, "
        f"{args.threads}T"
    )
    print(f"\n## {title}\n\n{markdown_table(step_rows)}")
    by = {r["name"]: r["median_s"] for r in step_rows}
    ratio = by["minigrad"] / by["torch eager"] if "torch eager" in by else float("nan")
    print(f"\nminigrad / torch eager = {ratio:.3f}  (goal: <= 1.5; issue 19: <= 0.7)")
    cpu_rows = info["cpu_rows"]
    cpu_title = "TinyGPT AdamW step, CPU time per step (process_time), same contenders"
    by_cpu = {r["name"]: r["median_s"] for r in cpu_rows}
    cpu_ratio = by_cpu["minigrad"] / by_cpu.get("torch eager", float("nan"))
    print(f"\n## {cpu_title}\n\n{markdown_table(cpu_rows)}")
    print(f"\nCPU time: minigrad / torch eager = {cpu_ratio:.3f}")
    if "profile" in info:
        print("\n" + info["profile"])

    n, v, d = (512, 4096, 128) if args.quick else (8192, 32768, 128)
    ce_rows = bench_fused_ce(torch, n, v, d, 2 if args.quick else 3)
    ce_title = f"linear_cross_entropy forward + backward, N={n} V={v} d={d}, float32"
    print(f"\n## {ce_title}\n\n{markdown_table(ce_rows)}")
    notes = (
        f"threads={args.threads}; first-step losses (agree): {info['first_losses']}; "
        f"TinyGPT minigrad / torch eager = {ratio:.3f} (goal <= 1.5), in CPU time "
        f"{cpu_ratio:.3f}. peak_MiB: tracemalloc "
        "peak of numpy allocations during one forward + backward (the (N, V) float32 logits "
        f"alone are {n * v * 4 / 2**20:.0f} MiB)."
    )
    ratios = [
        Ratio("TinyGPT AdamW step: minigrad time / torch eager", title, "minigrad", "torch eager",
              goal=1.5, op="<=", source="issue 6"),
        Ratio("TinyGPT AdamW step: minigrad time / torch eager (frontier)", title, "minigrad",
              "torch eager", goal=0.7, op="<=", source="issue 19"),
        Ratio("TinyGPT AdamW step: minigrad / torch eager, CPU time", cpu_title, "minigrad",
              "torch eager", goal=0.7, op="<=", source="issue 19"),
        Ratio("linear_cross_entropy: fused time / unfused", ce_title, "fused (chunked)",
              "unfused (Linear + cross_entropy)"),
        Ratio("linear_cross_entropy: fused time / torch eager unfused", ce_title,
              "fused (chunked)", "torch eager, unfused"),
        Ratio("linear_cross_entropy: fused peak memory / unfused", ce_title, "fused (chunked)",
              "unfused (Linear + cross_entropy)", metric="peak_MiB"),
    ]  # fmt: skip
    paths = write_results(
        "tinygpt",
        {title: step_rows, cpu_title: cpu_rows, ce_title: ce_rows},
        notes=notes,
        ratios=ratios,
    )
    print("\nwrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
