"""Scaling curves: how each contender's time grows with the size of the problem.

The benchmark modules time a few fixed sizes; these curves sweep one size at a time, so that the
*shape* shows: a line that stays flat, one that grows linearly, one that falls off a cliff.

    python -m benchmarks scaling_scatter [--quick]     # or scaling_embedding / _bpe / _encode
    python -m benchmarks.scaling all --quick           # every curve in one process

* ``scatter``: embedding-gradient scatter-add time vs rows n (1e3 ... 1e6, d = 64) and vs width
  d (16 ... 1024, n = 65,536), V = 50,000, Zipf ids.  The contenders are exactly those of
  ``bench_scatter.one_config`` (its row count is set per point), including the copy of g that
  is the bandwidth floor.
* ``embedding``: one training step of ``bench_embedding_step``'s bag model vs vocabulary size V
  (1e3 ... 1e6): minigrad and PyTorch with sparse gradients, and both dense.  A sparse step does
  O(ids x d) work whatever V is: its line should be flat, the dense ones climb with V.
* ``bpe``: training time vs vocabulary size (1k ... 32k, 10 MB) and vs corpus size (0.1 ...
  10 MB, vocab 1,024; the points under 1 MB are there so the naive trainer finishes some) for
  minigrad, HF ``tokenizers`` (one rayon thread, ``bench_bpe_train``'s worker) and the naive
  oracle.  The naive trainer is stopped at a time budget (a ``SIGALRM``); a point whose estimate
  (linear in merges x corpus bytes from the last measured point) is over the budget is not run
  but recorded as ``clipped`` with that estimate.
* ``encode``: encoding MB/s vs text size (10 KB ... 10 MB) for minigrad (chunk cache cleared
  inside every call, and warm), tiktoken and HF, all with the same ranks.

Every point is timed with ``harness.compare`` (interleaved, warm-up, median of repeats); rows
also carry ``cpu_median_s``, the median process CPU time of the same calls (on a shared machine
waiting for a core inflates wall time, not CPU time).  Results are written like any module's
(``harness.write_results``), one section per curve; ``benchmarks/plots.py`` draws them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import Contender, compare, markdown_table, set_threads, write_results
from benchmarks.peers import peer_available

CURVES = ("scatter", "embedding", "bpe", "encode")
Rows = list[dict[str, Any]]


def timed_with_cpu(contenders: list[Contender], **kw: Any) -> Rows:
    """``harness.compare`` that also records each call's process CPU time (``cpu_median_s``).

    The warm-up call is left out of the CPU median, as it is of the wall-clock one.
    """
    cpu: dict[str, list[float]] = {c.name: [] for c in contenders}

    def wrap(c: Contender) -> Contender:
        def fn(f: Callable[[], Any] = c.fn, out: list[float] = cpu[c.name]) -> Any:
            t0 = time.process_time()
            result = f()
            out.append(time.process_time() - t0)
            return result

        return Contender(c.name, fn, c.params, c.before)

    rows = compare([wrap(c) for c in contenders], **kw)
    skip = kw.get("warmup", 1) * kw.get("inner", 1)
    for r in rows:
        ts = cpu[r["name"]][skip:] or cpu[r["name"]]
        r["cpu_median_s"] = statistics.median(ts) if ts else float("nan")
    return rows


# ---- scatter-add ----------------------------------------------------------------------------
@contextmanager
def rows_of_g(module: Any, n: int) -> Iterator[None]:
    """Temporarily set ``bench_scatter.N_ROWS`` (the rows of g that ``one_config`` draws)."""
    if not hasattr(module, "N_ROWS"):
        raise AttributeError(f"{module.__name__} has no N_ROWS: its one_config changed shape")
    old = module.N_ROWS
    module.N_ROWS = n
    try:
        yield
    finally:
        module.N_ROWS = old


def scatter_curves(quick: bool, repeats: int | None, threads: int) -> dict[str, Rows]:
    """Scatter-add time and GB/s vs n and vs d, every contender of ``bench_scatter``."""
    from benchmarks import bench_scatter as bs

    with_torch = peer_available("torch")
    reps = repeats or (2 if quick else 3)
    vocab = 50_000
    ns = [1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    ds = [16, 64] if quick else [16, 64, 256, 1024]
    n_for_d = 4_096 if quick else 65_536
    out: dict[str, Rows] = {"scatter_vs_n": [], "scatter_vs_d": []}
    sweeps = {"scatter_vs_n": [(n, 64) for n in ns], "scatter_vs_d": [(n_for_d, d) for d in ds]}
    for key, points in sweeps.items():
        for n, d in points:
            with rows_of_g(bs, n):
                rows = bs.one_config(d, vocab, "zipf", reps, with_torch)
            for r in rows:
                r["n"] = n
            out[key] += rows
            print(f"{key}: n={n:,} d={d} done", flush=True)
    return out


# ---- sparse embedding step --------------------------------------------------------------------
def embedding_curve(quick: bool, repeats: int | None, threads: int) -> dict[str, Rows]:
    """Step time vs V of ``bench_embedding_step``'s model: sparse and dense gradients."""
    import functools
    import gc

    import minigrad as mg
    from benchmarks import bench_embedding_step as be

    set_threads(threads)
    torch = None
    if peer_available("torch"):
        import torch
    vocabs = [1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    reps = {"sparse": repeats or (2 if quick else 15), "dense": repeats or (1 if quick else 4)}
    makers: list[tuple[str, Callable[..., Any], bool, bool]] = [
        ("minigrad sparse + SGD", be.minigrad_step, True, False),
        ("minigrad sparse + Adam", be.minigrad_step, True, True),
        ("minigrad dense + SGD", be.minigrad_step, False, False),
    ]
    if torch is not None:
        tstep = functools.partial(be.torch_step, torch)
        makers += [
            ("torch sparse + SGD", tstep, True, False),
            ("torch sparse + SparseAdam", tstep, True, True),
            ("torch dense + SGD", tstep, False, False),
        ]
    rows: Rows = []
    for vocab in vocabs:
        rng = np.random.default_rng(0)
        batches = [be.zipf_ids(rng, (be.BAGS, be.BAG), vocab) for _ in range(be.N_BATCHES)]
        mg.manual_seed(0)
        init = be.BagModel(vocab, sparse=True).state_dict()
        # sparse and dense timed apart, as in the module: a dense step sweeping a 256 MB
        # table between two 1 ms sparse steps would evict their caches
        for kind in ("sparse", "dense"):
            cs = [
                Contender(name, make(vocab, batches, sparse, adam, init), {"V": vocab})
                for name, make, sparse, adam in makers
                if sparse == (kind == "sparse")
            ]
            base = f"minigrad {kind} + SGD"
            rows += timed_with_cpu(cs, repeats=reps[kind], baseline=base)
            del cs
            gc.collect()
        del init
        gc.collect()
        print(f"embedding: V={vocab:,} done", flush=True)
    return {"embedding_vs_V": rows}


# ---- BPE training -----------------------------------------------------------------------------
class Clipped(Exception):
    """Raised by the alarm when the naive trainer overruns its time budget."""


def naive_point(docs: list[str], vocab: int, budget_s: float) -> dict[str, Any]:
    """Train the naive oracle once; stop it (``clipped``) when it overruns ``budget_s``.

    The trainer is pure Python, so a ``SIGALRM`` handler can interrupt it between two bytecodes;
    only the training is under the budget, not the corpus preparation.
    """
    import signal

    from minigrad.tokenizers.naive_trainer import train_naive

    def on_alarm(signum: int, frame: Any) -> None:
        raise Clipped

    previous = signal.signal(signal.SIGALRM, on_alarm)
    t0 = time.perf_counter()
    try:
        signal.setitimer(signal.ITIMER_REAL, budget_s)
        ranks = train_naive(docs, vocab)
        elapsed = time.perf_counter() - t0
    except Clipped:
        return {"median_s": budget_s, "clipped": True, "note": f"stopped after {budget_s:g} s"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return {"median_s": elapsed, "clipped": False, "vocab_out": len(ranks)}


def corpus_docs(n_bytes: int) -> list[str]:
    """The first ``n_bytes`` of the stdlib corpus as ``bench_bpe_train``'s ~4 KB documents."""
    from benchmarks import bench_bpe_train as bb
    from benchmarks.corpus import stdlib_corpus

    return bb._docs(stdlib_corpus(n_bytes))


def naive_sweep(points: list[tuple[int, int]], budget_s: float) -> Rows:
    """Naive oracle at ``(bytes, vocab)`` points (ascending); clip what would overrun.

    One run per point, no warm-up (nothing to compile).  The first point always runs, stopped at
    the budget.  Each later one is first estimated from the last measured point, scaled by
    merges x bytes (the naive cost: every merge recounts every pair); over the budget it is
    recorded as clipped with that estimate and not run.  If the first point was stopped, its
    budget is a lower bound and so are the estimates made from it.
    """
    rows: Rows = []
    last: tuple[float, int, int] | None = None  # (seconds, merges, bytes) of the last measured
    bound = False  # whether `last` is a lower bound (its run was stopped at the budget)
    for n_bytes, vocab in points:
        est = None
        if last is not None:
            est = last[0] * (vocab - 256) / last[1] * n_bytes / last[2]
        if est is None or est <= budget_s:
            res = naive_point(corpus_docs(n_bytes), vocab, budget_s)
            if not res["clipped"] or last is None:
                last, bound = (res["median_s"], vocab - 256, n_bytes), res["clipped"]
        else:
            note = f"not run: estimated {'>=' if bound else '~'} {est:.0f} s"
            res = {"median_s": est, "clipped": True, "note": note}
        row = {"name": "naive oracle", "corpus_bytes": n_bytes, "vocab": vocab, **res}
        rows.append({**row, "estimate_s": est, "budget_s": budget_s})
    return rows


def bpe_curves(quick: bool, repeats: int | None, threads: int) -> dict[str, Rows]:
    """BPE training time vs vocab and vs corpus size: minigrad, HF (one worker), naive."""
    from benchmarks import bench_bpe_train as bb
    from minigrad.tokenizers.trainer import train_bpe

    set_threads(1, torch=False)
    reps = repeats or (1 if quick else 2)
    big = 100_000 if quick else 10_000_000  # corpus of the vocab sweep
    vocabs = [300, 512] if quick else [1024, 2048, 4096, 8192, 16384, 32768]
    # corpus sizes of the other sweep, at size_vocab
    sizes = [50_000, 100_000] if quick else [100_000, 250_000, 500_000]
    if not quick:
        sizes += [1_000_000, 2_000_000, 5_000_000, 10_000_000]
    size_vocab = 300 if quick else 1024
    budget = 0.5 if quick else 20.0  # seconds for one naive training
    hf_name = f"HF BpeTrainer RAYON={threads}"
    out: dict[str, Rows] = {"bpe_vs_vocab": [], "bpe_vs_corpus": []}
    with tempfile.TemporaryDirectory(prefix="scaling_bpe_") as tmpdir:
        tmp = Path(tmpdir)
        bb._write_child(tmp)
        worker = bb.HFWorker(threads, tmp) if peer_available("tokenizers") else None
        try:
            points = [("bpe_vs_vocab", big, v) for v in vocabs]
            points += [("bpe_vs_corpus", n, size_vocab) for n in sizes]
            for key, n_bytes, vocab in points:
                docs = corpus_docs(n_bytes)
                params = {"corpus_bytes": n_bytes, "vocab": vocab}
                cs = [Contender("minigrad", lambda d=docs, v=vocab: train_bpe(d, v), params)]
                if worker is not None:
                    path = tmp / f"docs_{n_bytes}.json"
                    if not path.exists():
                        path.write_text(json.dumps(docs))
                    train = lambda p=path, v=vocab, w=worker: w.train(p, v)  # noqa: E731
                    cs.append(Contender(hf_name, train, params))
                rows = timed_with_cpu(cs, repeats=reps, baseline="minigrad")
                for r in rows:  # HF trains in its worker: this process's CPU time says nothing
                    if r["name"] == hf_name:
                        r["cpu_median_s"] = None
                out[key] += rows
                print(f"{key}: {n_bytes / 1e6:g} MB vocab {vocab} done", flush=True)
        finally:
            if worker is not None:
                worker.close()
    out["bpe_vs_vocab"] += naive_sweep([(big, v) for v in vocabs], budget)
    out["bpe_vs_corpus"] += naive_sweep([(n, size_vocab) for n in sizes], budget)
    return out


# ---- encoding throughput ----------------------------------------------------------------------
def encode_curve(quick: bool, repeats: int | None, threads: int) -> dict[str, Rows]:
    """Encoding MB/s vs text size: minigrad (cold and warm cache), tiktoken, HF; same ranks."""
    from benchmarks.corpus import stdlib_corpus
    from minigrad.tokenizers import BPETokenizer
    from minigrad.tokenizers.trainer import train_bpe

    set_threads(threads, torch=False)
    train_bytes, vocab = (200_000, 1024) if quick else (10_000_000, 32768)
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000, 10_000_000]
    reps = repeats or (2 if quick else 3)
    tok = BPETokenizer(train_bpe(stdlib_corpus(train_bytes), vocab), pattern="gpt4")
    enc = hf = None
    if peer_available("tiktoken"):
        import tiktoken

        enc = tiktoken.Encoding(
            "scaling", pat_str=tok.pattern, mergeable_ranks=tok.mergeable_ranks, special_tokens={}
        )
    if peer_available("tokenizers"):
        import tokenizers

        with tempfile.TemporaryDirectory() as d:
            tok.to_huggingface_json(Path(d) / "tokenizer.json")
            hf = tokenizers.Tokenizer.from_file(str(Path(d) / "tokenizer.json"))
    rows: Rows = []
    for size in sizes:
        text = stdlib_corpus(size)
        n_bytes = len(text.encode("utf-8"))
        ids = tok.encode_ordinary(text)
        if enc is not None and enc.encode_ordinary(text) != ids:
            raise RuntimeError(f"minigrad and tiktoken disagree on the first {size:,} bytes")

        def cold(t: str = text) -> list[int]:
            tok._cache.clear()  # in the timed call: `before` runs once per repeat, not per inner
            return tok.encode_ordinary(t)

        params = {"bytes": n_bytes, "train_vocab": len(tok.mergeable_ranks)}
        cs = [
            Contender("minigrad encode_ordinary (cache cleared in every call)", cold, params),
            Contender(
                "minigrad encode_ordinary (warm chunk cache)",
                lambda t=text: tok.encode_ordinary(t),
                params,
            ),
        ]
        if enc is not None:
            cs.append(
                Contender("tiktoken encode_ordinary", lambda t=text: enc.encode_ordinary(t), params)
            )
        if hf is not None:
            cs.append(Contender("HF tokenizers encode", lambda t=text: hf.encode(t), params))
        per_call = 200_000 if quick else 1_000_000  # bytes of text per timed call
        inner = max(1, per_call // max(n_bytes, 1))
        part = timed_with_cpu(cs, repeats=reps, inner=inner, baseline=cs[0].name)
        for r in part:
            r["MBps"] = n_bytes / r["median_s"] / 1e6
        rows += part
        print(f"encode: {n_bytes:,} bytes done", flush=True)
    return {"encode_vs_size": rows}


RUNNERS: dict[str, Callable[[bool, int | None, int], dict[str, Rows]]] = {
    "scatter": scatter_curves,
    "embedding": embedding_curve,
    "bpe": bpe_curves,
    "encode": encode_curve,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__)
    ap.add_argument("curve", choices=[*CURVES, "all"], help="which curve to measure")
    ap.add_argument("--quick", action="store_true", help="fewer points and repeats (smoke test)")
    ap.add_argument("--repeats", type=int, default=None, help="override the repeats per point")
    ap.add_argument("--threads", type=int, default=1, help="threads for the peers (default 1)")
    ap.add_argument("--out-dir", type=Path, default=None, help="where results go")
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error(f"--threads must be at least 1, got {args.threads}")
    if args.repeats is not None and args.repeats < 1:
        ap.error(f"--repeats must be at least 1, got {args.repeats}")
    for curve in CURVES if args.curve == "all" else (args.curve,):
        t0 = time.perf_counter()
        sections = RUNNERS[curve](args.quick, args.repeats, args.threads)
        for title, rows in sections.items():
            keys = ("name", "n", "d", "V", "corpus_bytes", "vocab", "bytes")
            cols = [c for c in keys if c in rows[0]]
            print(f"\n## {title}\n\n{markdown_table(rows, [*cols, 'median_s', 'cpu_median_s'])}")
        notes = (
            f"scaling curve {curve!r}{' (QUICK)' if args.quick else ''}; threads={args.threads}; "
            f"measured in {time.perf_counter() - t0:.1f} s. See benchmarks/scaling.py."
        )
        paths = write_results(f"scaling_{curve}", sections, notes=notes, out_dir=args.out_dir)
        print("wrote", *paths, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
