"""Pre-tokenization throughput: minigrad's compiled scanner vs ``regex.findall``, one thread.

Corpus: the first 10 MB of the standard library's sorted ``.py`` files (``corpus.py``).  For
each built-in pattern (GPT-4 / cl100k, o200k, GPT-2), interleaved by ``harness.compare``:

* ``minigrad utf8_chunk_bounds``: byte offsets into the UTF-8 text (what the BPE encoder uses);
* ``minigrad chunk_bounds``: code-point offsets (the above plus a lead-byte count);
* ``minigrad split_fast``: a list of str, one per chunk (what ``pretokenize.split`` returns);
* ``regex.findall``: the reference, the path custom patterns take.

For context, ``tiktoken`` ``encode_ordinary`` is also timed with its own pattern and a vocabulary
of the 256 single bytes only: no merges to apply, so it is roughly tiktoken's split plus its
per-piece overhead (a full cl100k vocabulary cannot be downloaded here; with the 32,768-token
vocabulary of ``bench_encode`` tiktoken runs at about 19.6 MB/s on this machine).  Before
timing, the benchmark checks that every minigrad contender returns exactly ``regex``'s chunks.

Times are wall-clock medians (``median_s``, ``MB/s``) and, because this machine is shared,
also medians of the process CPU time (``cpu_median_s``, ``MB/s (CPU)``), which leave out the
time spent waiting for a core.  The one-time costs are reported apart: building the class
table from ``regex`` (and loading it from the disk cache), and the first call of each contender
(``warmup_s``, numba's cache load).

    python -m benchmarks pretokenize            # 10 MB, 5 repeats
    python -m benchmarks pretokenize --quick    # 200 KB, 3 repeats (a smoke run)

Figures the tokenizer code's docstrings refer to (measured 2026-12-04 on the 2-core development
VM, Python 3.11.7, CPU time, best of 3, 10 MB corpus): the GPT-4 pattern cuts it into 2,330,979
chunks, only 55,285 of them distinct, which is why the encoder and the trainer work on distinct
chunks (``tokenizers/fast/encoder.py``, ``tokenizers/trainer.py``); ``regex.findall`` ran at
6.5 MB/s, the compiled scanner's byte offsets about 18x and ``split_fast``'s list of strings
about 4x faster (``tokenizers/pretokenize.py``, ``tokenizers/fast/pretokenize.py``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.corpus import stdlib_corpus
from benchmarks.harness import (
    Contender,
    Ratio,
    compare,
    markdown_table,
    set_threads,
    write_results,
)

TIKTOKEN_FULL_VOCAB_MB_S = 19.6  # measured by the author, 32,768-token vocab, 1 thread


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks pretokenize", description=__doc__.split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="200 KB, 3 repeats")
    p.add_argument("--bytes", type=int, default=None, help="corpus size in bytes (default 10 MB)")
    p.add_argument("--repeats", type=int, default=None, help="timed repetitions (default 5)")
    p.add_argument(
        "--patterns", default="gpt4,o200k,gpt2", help="comma-separated built-in pattern names"
    )
    p.add_argument("--out-dir", type=Path, default=None, help="where results go")
    return p.parse_args(argv)


def _one_time_costs() -> dict[str, float]:
    """Seconds to build the class table from the pinned Unicode data, and to load it from the
    disk cache."""
    from minigrad.tokenizers.fast import unicode_table as ut

    t0 = time.perf_counter()
    table = ut.build_class_table()
    build_s = time.perf_counter() - t0
    path = ut.cache_path()
    ut.write_cached(path, table)
    t0 = time.perf_counter()
    loaded = ut.read_cached(path)
    load_s = time.perf_counter() - t0 if loaded is not None else float("nan")
    return {"table_build_s": build_s, "table_cache_load_s": load_s}


def _tiktoken_bytes_only(pattern: str) -> Any | None:
    try:
        import tiktoken
    except ImportError:
        return None
    ranks = {bytes([b]): b for b in range(256)}
    return tiktoken.Encoding(
        "bytes-only", pat_str=pattern, mergeable_ranks=ranks, special_tokens={}
    )


def _with_cpu_time(c: Contender, cpu: dict[str, list[float]]) -> Contender:
    """The same contender, also recording the process CPU time of every call in ``cpu``.

    On a shared machine wall time includes waiting for a core; CPU time does not, so both are
    reported (CPU time still feels other load through shared caches and hyperthreads).
    """
    times = cpu.setdefault(c.name, [])

    def fn(f=c.fn) -> Any:
        t0 = time.process_time()
        result = f()
        times.append(time.process_time() - t0)
        return result

    return Contender(c.name, fn, c.params, c.before)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    n_bytes = args.bytes or (200_000 if args.quick else 10_000_000)
    repeats = args.repeats or (3 if args.quick else 5)
    names = [n.strip() for n in args.patterns.split(",") if n.strip()]
    set_threads(1, torch=False)

    import regex

    from minigrad.tokenizers.fast.pretokenize import (
        chunk_bounds,
        split_fast,
        utf8_chunk_bounds,
    )
    from minigrad.tokenizers.patterns import PATTERN_NAMES as FAST_PATTERNS
    from minigrad.tokenizers.patterns import PATTERNS

    bad = [n for n in names if n not in FAST_PATTERNS]
    if bad:
        raise ValueError(f"unknown pattern names {bad}; expected some of {FAST_PATTERNS}")

    text = stdlib_corpus(n_bytes)
    size = len(text.encode("utf-8"))
    print(f"corpus: {size:,} bytes, {len(text):,} code points")
    costs = _one_time_costs()
    print(
        f"class table: built from the pinned Unicode data in {costs['table_build_s']:.2f} s, "
        f"loaded from cache in {costs['table_cache_load_s'] * 1e3:.1f} ms"
    )

    sections: dict[str, list[dict[str, Any]]] = {}
    ratios = []
    for name in names:
        pat = regex.compile(PATTERNS[name])
        want = pat.findall(text)
        got = split_fast(text, name)
        if got != want:
            first = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
            raise AssertionError(
                f"{name}: chunk {first} differs: {got[first]!r} vs {want[first]!r}"
            )
        data, ub = utf8_chunk_bounds(text, name)
        if [data[a:b].decode() for a, b in zip(ub[:-1].tolist(), ub[1:].tolist())] != want:
            raise AssertionError(f"{name}: utf8_chunk_bounds disagrees with regex")
        n_chunks = len(want)
        del want, got, data, ub

        params = {"pattern": name}
        contenders = [
            Contender(
                "minigrad utf8_chunk_bounds", lambda n=name: utf8_chunk_bounds(text, n), params
            ),
            Contender("minigrad chunk_bounds", lambda n=name: chunk_bounds(text, n), params),
            Contender("minigrad split_fast", lambda n=name: split_fast(text, n), params),
            Contender("regex.findall", lambda p=pat: p.findall(text), params),
        ]
        enc = _tiktoken_bytes_only(PATTERNS[name])
        if enc is not None:
            contenders.append(
                Contender(
                    "tiktoken encode_ordinary (256-byte vocab)",
                    lambda e=enc: e.encode_ordinary(text),
                    params,
                )
            )
        cpu: dict[str, list[float]] = {}
        contenders = [_with_cpu_time(c, cpu) for c in contenders]
        rows = compare(contenders, repeats=repeats, baseline="minigrad split_fast")
        for row in rows:
            row["MB/s"] = size / row["median_s"] / 1e6
            # the first entry is the warm-up call
            row["cpu_median_s"] = statistics.median(cpu[row["name"]][1:])
            row["MB/s (CPU)"] = size / row["cpu_median_s"] / 1e6
        title = f"{name}: {size / 1e6:.1f} MB, {n_chunks:,} chunks"
        sections[title] = rows
        ratios.append(
            Ratio(
                f"{name}: compiled scanner (byte offsets) speed / regex.findall",
                title,
                "minigrad utf8_chunk_bounds",
                "regex.findall",
                invert=True,
            )
        )
        print(f"\n## {title}\n")
        cols = [
            "name",
            "median_s",
            "min_s",
            "warmup_s",
            "MB/s",
            "cpu_median_s",
            "MB/s (CPU)",
            "ratio",
        ]
        print(markdown_table(rows, cols))

    notes = (
        f"One thread. Class table: built from the pinned Unicode data in "
        f"{costs['table_build_s']:.2f} s (once per data file), loaded from the disk cache in "
        f"{costs['table_cache_load_s'] * 1e3:.1f} ms."
        f" warmup_s is the first call (numba cache load or compile). For context: tiktoken "
        f"encode_ordinary with a real 32,768-token vocabulary runs at about "
        f"{TIKTOKEN_FULL_VOCAB_MB_S} MB/s here (see bench_encode); ratio > 1 means slower than "
        f"split_fast."
    )
    json_path, md_path = write_results(
        "pretokenize", sections, notes=notes, out_dir=args.out_dir, ratios=ratios
    )
    print(f"\nwrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
