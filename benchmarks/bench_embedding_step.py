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

What still grows with V in the sparse step is memory latency, not work: at V = 1e3 the table
(and Adam's two moment tables) sit in the L2 cache; at V = 1e6 each touched row is a cache miss
in 256 MB per table (SGD touches one table, lazy Adam three), and Zipf ids over a larger vocabulary
touch more distinct rows (the ``unique_ids`` column: ~510 at V = 1e3, ~1,170 at V = 1e6).

The last table reads the goal most cleanly: only minigrad's sparse steps, a V = 1e3 and a
V = 1e6 model interleaved, CPU time.  The growth of every contender from V = 1e3 to 1e6 (wall,
best and CPU time) is in the module's ratios, each with its spread.  In the interleaved tables
every step runs after three other contenders have walked their own 256 MB tables, so at V = 1e6
each step starts with cold caches, which a training loop with one model does not see.

Method: the sparse contenders are timed interleaved with each other and the dense ones
separately (a 300 ms dense step that sweeps a 256 MB table between two 1 ms sparse steps would
evict their caches and measure the neighbour, not the step).

Allocator note: each step allocates and frees a few 1 MB arrays (the lookup output, the
contiguous upstream gradient).  With glibc's default malloc settings such blocks are mapped and
returned to the OS over and over, and the page faults cost about 1 ms per step on this VM, more
than the step itself.  ``--malloc-tuned`` sets ``M_MMAP_THRESHOLD`` / ``M_TRIM_THRESHOLD`` (the
same as exporting ``MALLOC_MMAP_THRESHOLD_=67108864 MALLOC_TRIM_THRESHOLD_=268435456``) so freed
memory is kept and reused; it applies to every contender alike (torch's CPU allocator uses malloc
too).  Every table also has ``cpu_median_s``: the median CPU time (``time.process_time``) of the
same steps, which a busy machine's waiting does not inflate.

Numbers behind the choices in ``minigrad/kernels/gather.py``, ``prefetch.py`` and ``optim.py``
(lazy Adam), measured once on the project's 2-core AMD EPYC development VM while those kernels
were written, with this module's model (4,096 Zipf ids, d = 64, float32, caches disturbed
between calls); they explain the design there, not a promise for another machine:

* The row gather: ``np.take`` 111 us at V = 1e3 and 158 us at V = 1e6, the compiled loop with
  prefetching 43 us and 80 us; prefetching 16 ids ahead beat 4 and 8 for rows of 256 bytes.
* Lazy Adam on 1,173 random rows of three 1e6 x 64 float32 tables: 408 us without prefetching,
  165 us with prefetches two or more rows ahead (2 to 16 alike), 2.4x in all; numba's default
  error model (a zero check before every division) kept LLVM from vectorising the row loop and
  made it 6x slower on cache-resident rows, hence ``error_model="numpy"``.

Run: ``python -m benchmarks embedding_step [--quick] [--malloc-tuned]`` (``--quick``: V = 1e3
and 1e4, a smoke run).
"""

from __future__ import annotations

import argparse
import functools
import gc

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
from minigrad import nn, optim
from minigrad.testing.token_ids import zipf_ids

DIM, BAGS, BAG, N_BATCHES, LR = 64, 64, 64, 16, 0.1
TARGET = np.random.default_rng(123).standard_normal((BAGS, DIM)).astype(np.float32)


def tune_malloc() -> bool:
    """Keep freed memory in the process (glibc only); returns whether it could be set."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(
        libc.mallopt(m_mmap_threshold, 64 << 20) and libc.mallopt(m_trim_threshold, 256 << 20)
    )


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


def short(v: int) -> str:
    """``1e3`` for 1,000: the vocabulary sizes in ratio labels."""
    e = len(str(v)) - 1
    return f"1e{e}" if v == 10**e else f"{v:,}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks embedding_step", description=__doc__)
    ap.add_argument(
        "--quick", action="store_true", help="V = 1e3 and 1e4, few repeats: a smoke run"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--malloc-tuned", action="store_true", help="keep freed memory (see docstring)")
    args = ap.parse_args(argv)
    tuned = tune_malloc() if args.malloc_tuned else False
    set_threads(args.threads)
    # inner=1 and many repeats: a median that a descheduled step (busy machine) does not move
    repeats, inner = (3, 1) if args.quick else (25, 1)
    vocabs = (1_000, 10_000) if args.quick else (1_000, 100_000, 1_000_000)
    small, big = vocabs[0], vocabs[-1]
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: PyTorch rows skipped")

    sections = {}
    titles: dict[tuple[int, str], str] = {}
    names: list[str] = []
    for vocab in vocabs:
        rng = np.random.default_rng(0)
        batches = [zipf_ids(rng, (BAGS, BAG), vocab) for _ in range(N_BATCHES)]
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
        for kind in ("sparse", "dense"):
            contenders = [
                Contender(name, make(vocab, batches, *flags, init), params)
                for name, make, flags in makers
                if flags[0] == (kind == "sparse")
            ]
            base = "minigrad sparse + SGD" if kind == "sparse" else "minigrad dense + SGD"
            rows = compare(contenders, repeats=repeats, inner=inner, baseline=base)
            n_cpu = 3 * repeats if kind == "sparse" else repeats
            cpu = cpu_compare({c.name: c.fn for c in contenders}, n_cpu, baseline=base)
            cpu_by = {r["name"]: r for r in cpu}
            for r in rows:
                r["cpu_median_s"] = cpu_by[r["name"]]["median_s"]
                r["cpu_times_s"] = cpu_by[r["name"]]["times_s"]
                if r["name"] not in names:
                    names.append(r["name"])
            title = (
                f"V={vocab:,}, {kind} gradients: step on 4,096 Zipf ids, d={DIM}, {args.threads}T"
            )
            print(f"\n## {title}\n")
            print(markdown_table(rows))
            sections[title] = rows
            titles[vocab, kind] = title
            del contenders
            gc.collect()
        del init
        gc.collect()

    # The cleanest reading of the goal: only minigrad's sparse steps, the smallest and largest
    # vocabulary interleaved, CPU time (no other large tables evicting the caches between steps).
    alone = {}
    for vocab in (small, big):
        rng = np.random.default_rng(0)
        batches = [zipf_ids(rng, (BAGS, BAG), vocab) for _ in range(N_BATCHES)]
        mg.manual_seed(0)
        init = BagModel(vocab, sparse=True).state_dict()
        for adam in (False, True):
            name = f"minigrad sparse + {'Adam' if adam else 'SGD'}, V={vocab:,}"
            alone[name] = minigrad_step(vocab, batches, True, adam, init)
    for fn in alone.values():
        for _ in range(10):
            fn()
    alone_rows = cpu_compare(alone, (4 if args.quick else 16) * repeats, next(iter(alone)))
    for r in alone_rows:
        r["V"] = big if r["name"].endswith(f"V={big:,}") else small
    alone_title = (
        f"minigrad alone (V={short(small)} and V={short(big)} models interleaved), "
        "CPU time per step"
    )
    print(f"\n## {alone_title}\n")
    print(markdown_table(alone_rows))
    sections[alone_title] = alone_rows

    growth = f"V={short(big)} / V={short(small)}"
    ratios = []
    for opt_name in ("SGD", "Adam"):
        ratios.append(
            Ratio(
                f"embedding step, sparse + {opt_name}: CPU time at {growth} (models alone)",
                alone_title,
                f"minigrad sparse + {opt_name}, V={big:,}",
                f"minigrad sparse + {opt_name}, V={small:,}",
                goal=1.3,
                op="<=",
                source="issue 4",
            )
        )
    ratios.append(
        Ratio(
            f"embedding step, sparse + Adam: wall time at {growth} (among torch steps)",
            titles[big, "sparse"],
            "minigrad sparse + Adam",
            "minigrad sparse + Adam",
            den_section=titles[small, "sparse"],
            goal=1.3,
            op="<=",
            source="issue 4",
        )
    )
    # growth with V of every contender (goal for minigrad sparse: <= 1.3), three readings
    for name in names:
        kind = "sparse" if "sparse" in name else "dense"
        readings = (("median_s", "wall"), ("min_s", "best (min)"), ("cpu_median_s", "CPU"))
        for metric, what in readings:
            ratios.append(
                Ratio(
                    f"{name}: {what} time at {growth}",
                    titles[big, kind],
                    name,
                    name,
                    den_section=titles[small, kind],
                    metric=metric,
                )
            )
    name = "embedding_step_malloc_tuned" if tuned else "embedding_step"
    notes = (
        f"threads={args.threads}; malloc tuned: {tuned}. cpu_median_s: median CPU time "
        "(process_time) of the same steps, timed in separate interleaved rounds."
    )
    paths = write_results(name, sections, notes=notes, ratios=ratios)
    print("\nwrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
