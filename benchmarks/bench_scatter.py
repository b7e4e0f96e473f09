"""Embedding-gradient scatter-add: minigrad's kernels vs NumPy and PyTorch, side by side.

``python -m benchmarks scatter [--quick] [--repeats R]``

n = 65,536 rows of the upstream gradient g (float32), d in {64, 256}, V in {1e3, 5e4, 1e6},
ids Zipf(1.2) (draws past V redrawn, not clipped: clipping piles 10-22% of the mass on row V-1) or
uniform.
Contenders, all timed interleaved in one process (``harness.compare``):

* dense (V x d output, zeroing included): minigrad ``scatter_add(..., zero_first=True)`` (the
  default, which is the serial loop; the private-table threads forced; serial forced),
  ``out.fill(0)`` + ``np.add.at``, ``zero_()`` + ``torch.index_add_`` 1T/2T, ``F.embedding``
  backward 1T/2T;
* minigrad ``scatter_add`` alone (the zeroing done untimed in ``before``);
* compact (unique rows + summed values): minigrad ``row_sparse_sum`` vs torch ``sparse=True``
  backward + ``coalesce()`` 1T/2T;
* floor: a copy of g into a preallocated array (``np.copyto``);
* ceiling for threads: one read of g (a compiled sum) on 1 thread and split over all threads.
  Every scatter must read g once; if two threads cannot read it faster than one, no
  multi-threaded scatter can beat the serial loop by more than that margin.

GB/s = (bytes of g + 2 x U x d x 4) / time (reading g, read-modify-write of the U touched rows);
for the copy it is 2 x bytes of g / time. ``frac_copy`` = GB/s over the copy's GB/s.

Numbers behind the choices in ``minigrad/kernels/scatter.py``, ``sparse_rows.py`` and ``pool.py``,
measured on the project's 2-core AMD EPYC development VM (by this module where a contender is
named, the others once, while the kernel was written); they are why the defaults are what they
are there, not promises for another machine:

* ``np.add.at`` (zeroing included) was ~25x slower than the compiled scatter (this module's
  "speed-up over np.add.at" ratio). Prefetching the destination row ids ahead gained 1.7x on
  uniform ids at V = 1e6; about 4 KiB ahead was best at d = 64 and 256 (16 rows of 256 bytes,
  4 of 1 KiB). The compiled zeroing loop ran at twice the speed of ``ndarray.fill(0)``.
* Threads (``parallel=True``): reading the 17 MB g (n = 65,536, d = 64) ran at 29.0 GB/s on one
  core and 30.5 GB/s on two (the "ceiling" rows), so no split of the work could gain more than
  ~5% at that size, and the private tables' merge pass (~0.2 ms) made the threaded scatter slower
  (0.7-1.8 ms against 0.6-1.1 ms serial, zeroing included). With a 268 MB g (DRAM, where two
  cores did read faster: 45 vs 31 GB/s) it won 1.4x in some runs and lost in others. Hence
  ``parallel=None`` means the serial loop.
* numba's ``prange`` instead of the kernels' thread pool: at a load average of 6-8 a ``prange``
  scatter-add took 20-40x the serial time (OpenMP's spinning barrier waits for a worker that is
  not scheduled).
* ``row_sparse_sum``: buffers allocated by numba inside the kernel faulted in fresh pages on every
  call (0.2 ms per MiB), so NumPy allocates them; int32 hash slots (512 KiB for n = 65,536, in the
  L2 cache) took 0.1 ms instead of 0.65 ms for 65,536 Zipf ids.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numba
import numpy as np

from benchmarks.harness import (
    Contender,
    Ratio,
    compare,
    load_note,
    markdown_table,
    threads,
    write_results,
)
from minigrad.kernels import row_sparse_sum, scatter_add
from minigrad.kernels.pool import run_on_ranges
from minigrad.testing.token_ids import zipf_ids

N_ROWS = 65_536


@numba.njit(cache=True, nogil=True, fastmath=True)
def read_rows(g: np.ndarray, sums: np.ndarray, lo: int, hi: int) -> None:
    """Sum rows lo..hi-1 of g into ``sums[lo]``: one streaming read, vectorised (fastmath)."""
    s = g.dtype.type(0)
    for i in range(lo, hi):
        for j in range(g.shape[1]):
            s += g[i, j]
    sums[lo] = s


def read_split(g: np.ndarray, sums: np.ndarray, parts: int) -> None:
    n = g.shape[0]
    run_on_ranges(read_rows, [n * p // parts for p in range(parts + 1)], g, sums)


def one_config(d: int, V: int, kind: str, repeats: int, with_torch: bool) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1234 + d + V)
    index = zipf_ids(rng, N_ROWS, V) if kind == "zipf" else rng.integers(0, V, N_ROWS)
    g = rng.standard_normal((N_ROWS, d)).astype(np.float32)
    copy_dst = np.empty_like(g)
    sums = np.zeros(g.shape[0], np.float32)
    out = np.zeros((V, d), np.float32)  # shared by the dense NumPy contenders (each zeroes it)
    U = int(np.unique(index).size)
    nthreads = numba.config.NUMBA_NUM_THREADS
    params = {"d": d, "V": V, "ids": kind, "U": U}

    def dense(fn):
        def run() -> None:
            out.fill(0)
            fn()

        return run

    cs = [
        Contender(
            "minigrad scatter_add (zero + scatter)",
            lambda: scatter_add(out, index, g, zero_first=True),
            before=threads(nthreads),
        ),
        Contender(
            f"minigrad scatter_add {nthreads} threads forced (zero + scatter)",
            lambda: scatter_add(out, index, g, zero_first=True, parallel=True),
            before=threads(nthreads),
        ),
        Contender(
            "minigrad scatter_add serial (zero + scatter)",
            lambda: scatter_add(out, index, g, zero_first=True, parallel=False),
            before=threads(1),
        ),
        Contender(
            "minigrad scatter_add only",
            lambda: scatter_add(out, index, g),
            before=lambda: (threads(nthreads)(), out.fill(0)),
        ),
        Contender(
            "np.add.at (zero + scatter)", dense(lambda: np.add.at(out, index, g)), before=threads(1)
        ),
        Contender(
            "minigrad row_sparse_sum (compact)",
            lambda: row_sparse_sum(index, g),
            before=threads(nthreads),
        ),
        Contender("floor: copy g (np.copyto)", lambda: np.copyto(copy_dst, g), before=threads(1)),
        Contender(
            "ceiling: read g, 1 thread",
            lambda: read_rows(g, sums, 0, g.shape[0]),
            before=threads(1),
        ),
        Contender(
            f"ceiling: read g, {nthreads} threads",
            lambda: read_split(g, sums, nthreads),
            before=threads(nthreads),
        ),
    ]
    if with_torch:
        import torch
        import torch.nn.functional as F

        t_out = torch.from_numpy(out)
        t_idx = torch.from_numpy(index)
        t_g = torch.from_numpy(g)
        weight = torch.zeros(V, d, requires_grad=True)

        def index_add() -> None:
            t_out.zero_()
            t_out.index_add_(0, t_idx, t_g)

        def emb_dense() -> None:
            weight.grad = None
            F.embedding(t_idx, weight).backward(t_g)

        def emb_sparse() -> None:
            weight.grad = None
            F.embedding(t_idx, weight, sparse=True).backward(t_g)
            weight.grad.coalesce()

        for n in (1, 2):
            cs += [
                Contender(f"torch index_add_ {n}T (zero + scatter)", index_add, before=threads(n)),
                Contender(f"torch F.embedding bwd dense {n}T", emb_dense, before=threads(n)),
                Contender(f"torch sparse=True bwd + coalesce {n}T", emb_sparse, before=threads(n)),
            ]
    rows = compare(cs, repeats=repeats, baseline="minigrad scatter_add (zero + scatter)")
    g_bytes = g.nbytes
    copy_row = next(r for r in rows if r["name"].startswith("floor"))
    copy_gbps = 2 * g_bytes / copy_row["median_s"] / 1e9
    for r in rows:
        if r is copy_row:
            moved = 2 * g_bytes
        elif r["name"].startswith("ceiling"):
            moved = g_bytes
        else:
            moved = g_bytes + 2 * U * d * 4
        r.update(params)
        r["GBps"] = moved / r["median_s"] / 1e9
        r["frac_copy"] = r["GBps"] / copy_gbps
    threads(nthreads)()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks scatter", description=__doc__)
    ap.add_argument(
        "--quick", action="store_true", help="only d=64, V=5e4, Zipf ids, n=16,384, 3 repeats"
    )
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    with_torch = not args.no_torch
    if with_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            with_torch = False
    dims = [64] if args.quick else [64, 256]
    vocabs = [50_000] if args.quick else [1_000, 50_000, 1_000_000]
    kinds = ["zipf"] if args.quick else ["zipf", "uniform"]
    repeats = 3 if args.quick else args.repeats
    if args.quick:  # a smoke run: a quarter of the rows of g
        global N_ROWS
        N_ROWS = 16_384
    columns = ["name", "U", "median_s", "min_s", "ratio", "GBps", "frac_copy", "warmup_s"]
    sections: dict[str, list[dict[str, Any]]] = {}
    for d in dims:
        for V in vocabs:
            for kind in kinds:
                rows = one_config(d, V, kind, repeats, with_torch)
                title = f"scatter n={N_ROWS} d={d} V={V:,} ids={kind} (U={rows[0]['U']:,})"
                sections[title] = rows
                print(f"\n## {title}\n\n{markdown_table(rows, columns)}", flush=True)
    # the headlines: d=64, V=50,000, Zipf ids (the size of a real token-embedding gradient)
    head = next(t for t in sections if " d=64 V=50,000 ids=zipf " in t)
    nthreads = numba.config.NUMBA_NUM_THREADS
    mine = "minigrad scatter_add (zero + scatter)"
    ratios = [
        Ratio("scatter-add, d=64 V=5e4 zipf: speed-up over np.add.at", head, mine,
              "np.add.at (zero + scatter)", invert=True, goal=20.0, op=">=", source="issue 4"),
        Ratio("scatter-add, d=64 V=5e4 zipf: speed-up over torch index_add_ 2T", head, mine,
              "torch index_add_ 2T (zero + scatter)", invert=True, goal=1.5, op=">=",
              source="issue 4"),
        Ratio("scatter alone (no zeroing) / copy floor, d=64 V=5e4 zipf", head,
              "minigrad scatter_add only", "floor: copy g (np.copyto)", goal=1.5, op="<=",
              source="issue 4"),
        Ratio("row-sparse gradient: speed-up over torch sparse bwd + coalesce 1T", head,
              "minigrad row_sparse_sum (compact)", "torch sparse=True bwd + coalesce 1T",
              invert=True, goal=4.0, op=">=", source="issue 4"),
        Ratio("scatter-add, d=64 V=5e4 zipf: serial loop time / threaded time", head,
              f"minigrad scatter_add {nthreads} threads forced (zero + scatter)",
              "minigrad scatter_add serial (zero + scatter)", invert=True, goal=1.0, op=">=",
              source="issue 4"),
    ]  # fmt: skip
    notes = load_note(load_before) + (
        "ratio = median / minigrad scatter_add (zero + scatter) median "
        "(>1: slower than minigrad). "
        f"minigrad uses numba's {numba.config.NUMBA_NUM_THREADS} threads unless marked serial; "
        "torch nT = torch.set_num_threads(n). GBps = (bytes of g + 2*U*d*4)/time; copy: 2*g/time."
    )
    name = "scatter_quick" if args.quick else "scatter"
    json_path, md_path = write_results(name, sections, notes=notes, ratios=ratios)
    print(f"\nwrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
