"""One training step of an embedding model for vocabularies of 1e3, 1e5 and 1e6 rows.

Model: ids (64 bags x 64 ids = 4,096 ids) -> Embedding(V, 64) -> mean over each bag ->
Linear(64, 64) -> loss = mean((y - target)^2) against a fixed random target (a loss
that pulls weights to 0 would fill them with subnormal floats, slow on every CPU); forward,
backward, update.  The ids are Zipf(1.2)
distributed (draws past V re-drawn, not clipped), like token ids; each contender cycles through
the same 16 pre-drawn batches, so different rows are touched from step to step.

What it shows: with row-sparse gradients the step costs O(ids x d), so minigrad's time should
hardly change between V = 1e3 and 1e6 (goal: within 1.3x); a dense embedding gradient (PyTorch's
default, or minigrad with ``sparse=False``) allocates, zeroes and updates all V x 64 numbers
every step, so its time grows with V.  One thread for everyone.

Run: ``python -m benchmarks embedding_step [--quick]``.
"""

from __future__ import annotations

import argparse
import functools
import gc

import numpy as np

import minigrad as mg
from benchmarks.harness import Contender, compare, markdown_table, set_threads, write_results
from minigrad import nn, optim

DIM, BAGS, BAG, N_BATCHES, LR = 64, 64, 64, 16, 0.1
TARGET = np.random.default_rng(123).standard_normal((BAGS, DIM)).astype(np.float32)


def zipf_ids(rng: np.random.Generator, vocab: int, shape: tuple[int, ...], a: float = 1.2):
    """Zipf(a) ids in 0..V-1, out-of-range draws re-drawn (clipping would pile mass on V-1)."""
    ids = rng.zipf(a, size=shape) - 1
    bad = ids >= vocab
    while bad.any():
        ids[bad] = rng.zipf(a, size=int(bad.sum())) - 1
        bad = ids >= vocab
    return ids.astype(np.int64)


class BagModel(nn.Module):
    def __init__(self, vocab: int, sparse: bool) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, DIM, sparse=sparse)
        self.fc = nn.Linear(DIM, DIM)

    def forward(self, ids: np.ndarray) -> mg.Tensor:
        return self.fc(self.emb(ids).mean(dim=1))


def minigrad_step(vocab, batches, sparse, adam, init):
    model = BagModel(vocab, sparse)
    model.load_state_dict(init)
    opt = optim.Adam(model.parameters(), lr=1e-3) if adam else optim.SGD(model.parameters(), LR)
    k = [0]
    target = mg.tensor(TARGET)

    def step():
        ids = batches[k[0] % N_BATCHES]
        k[0] += 1
        opt.zero_grad()
        diff = model(ids) - target
        loss = (diff * diff).mean()
        loss.backward()
        opt.step()

    return step


def torch_step(torch, vocab, batches, sparse, adam, init):
    emb = torch.nn.Embedding(vocab, DIM, sparse=sparse)
    fc = torch.nn.Linear(DIM, DIM)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(init["emb.weight"]))
        fc.weight.copy_(torch.from_numpy(init["fc.weight"]))
        fc.bias.copy_(torch.from_numpy(init["fc.bias"]))
    if adam:  # torch's Adam refuses sparse gradients: SparseAdam for the table
        opts = [torch.optim.SparseAdam([emb.weight], lr=1e-3), torch.optim.Adam(fc.parameters())]
    else:
        opts = [torch.optim.SGD([emb.weight, *fc.parameters()], lr=LR)]
    tb = [torch.from_numpy(b) for b in batches]
    ttarget = torch.from_numpy(TARGET)
    k = [0]

    def step():
        ids = tb[k[0] % N_BATCHES]
        k[0] += 1
        for o in opts:
            o.zero_grad()
        diff = fc(emb(ids).mean(dim=1)) - ttarget
        loss = (diff * diff).mean()
        loss.backward()
        for o in opts:
            o.step()

    return step


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks embedding_step", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="few repeats, for a smoke test")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    repeats, inner = (3, 2) if args.quick else (9, 4)
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: PyTorch rows skipped")

    sections = {}
    per_v: dict[str, dict[int, float]] = {}
    for vocab in (1_000, 100_000, 1_000_000):
        rng = np.random.default_rng(0)
        batches = [zipf_ids(rng, vocab, (BAGS, BAG)) for _ in range(N_BATCHES)]
        uniq = np.mean([np.unique(b).size for b in batches])
        mg.manual_seed(0)
        init = BagModel(vocab, sparse=True).state_dict()
        # (name, factory, (sparse, adam)): each contender gets its own model and optimizer
        makers = [
            ("minigrad sparse + SGD", minigrad_step, (True, False)),
            ("minigrad sparse + Adam", minigrad_step, (True, True)),
            ("minigrad dense + SGD", minigrad_step, (False, False)),
        ]
        if torch is not None:
            tstep = functools.partial(torch_step, torch)
            makers += [
                ("torch dense + SGD", tstep, (False, False)),
                ("torch sparse + SGD", tstep, (True, False)),
                ("torch sparse + SparseAdam", tstep, (True, True)),
            ]
        params = {"V": vocab, "unique_ids": round(float(uniq), 1)}
        contenders = [
            Contender(name, make(vocab, batches, *flags, init), params)
            for name, make, flags in makers
        ]
        rows = compare(contenders, repeats=repeats, inner=inner, baseline="minigrad sparse + SGD")
        for r in rows:
            r["ms"] = round(r["median_s"] * 1e3, 3)
            per_v.setdefault(r["name"], {})[vocab] = r["median_s"]
        title = f"V={vocab:,}: step on 4,096 Zipf ids, d={DIM}, {args.threads}T"
        print(f"\n## {title}\n")
        print(markdown_table(rows))
        sections[title] = rows
        del contenders, init
        gc.collect()

    growth = [
        {
            "name": name,
            **{f"V={v:,} ms": round(t * 1e3, 3) for v, t in ts.items()},
            "V=1e6 / V=1e3": round(ts[1_000_000] / ts[1_000], 3),
        }
        for name, ts in per_v.items()
    ]
    title = "growth with V (goal for minigrad sparse: V=1e6 / V=1e3 <= 1.3)"
    print(f"\n## {title}\n")
    print(markdown_table(growth))
    sections[title] = growth
    paths = write_results("embedding_step", sections, notes=f"threads={args.threads}")
    print("\nwrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
