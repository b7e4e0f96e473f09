"""The shared timing helper every benchmark uses.

Rules it enforces (see docs/STYLE.md, "Benchmarks are honest"):

* every contender runs in the same process as its peers, **interleaved**: each repetition runs
  every contender once, in a fresh (seeded) random order, so that drift (thermal, other load,
  allocator state) and the after-effects of the previous call hit all of them alike;
* one untimed warm-up call per contender first (JIT compilation, caches, thread pools), whose
  time is reported separately as ``warmup_s`` (that is where numba's compile time shows up);
* results are medians (and minima) of the repetitions, with ratios against a named baseline;
* every result file records versions, CPU, thread counts and BLAS settings.

Usage::

    rows = compare([Contender("numpy", f_np), Contender("minigrad", f_mg)], repeats=7,
                   baseline="minigrad")
    print(markdown_table(rows))
    write_results("scatter", {"scatter d=64": rows},
                  ratios=[Ratio("minigrad / numpy", "scatter d=64", "minigrad", "numpy")])

**The module contract** (built-in ``benchmarks/bench_NAME.py`` and a user's ``bench_NAME.py``
run by ``python -m benchmarks --bench-dir DIR`` alike): the file defines
``main(argv: list[str] | None) -> int``, which accepts ``--quick`` (small sizes and few repeats:
a smoke run whose numbers nobody reads) and ends with one :func:`write_results` call.  The
runner starts it in a child process with ``$MINIGRAD_BENCH_OUT`` set, where ``write_results``
writes, and reads nothing else from it: the tables, spread and ratios in the report all come
from the rows and :class:`Ratio` declarations it wrote (``benchmarks/schema.py`` says what a row
holds).  Exit code 0 means success.
"""

from __future__ import annotations

import datetime as _dt
import gc
import itertools
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.schema import SCHEMA, Ratio, check_ratios

__all__ = [
    "Contender",
    "Ratio",
    "compare",
    "cpu_compare",
    "environment",
    "markdown_table",
    "set_threads",
    "threads",
    "write_results",
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Contender:
    """One thing to time: ``fn()`` is called once per repetition (``inner`` times in a row)."""

    name: str
    fn: Callable[[], Any]
    params: dict[str, Any] = field(default_factory=dict)
    #: called (untimed) before every timed call, e.g. to zero a buffer or set thread counts
    before: Callable[[], Any] | None = None


_calls = itertools.count()


def _rounds_id() -> str:
    """A tag shared by the rows of one :func:`compare` call: their ``times_s[i]`` were all
    measured in round ``i``, so per-round ratios between them are paired observations."""
    return f"{os.getpid()}:{next(_calls)}"


def _time_once(c: Contender, inner: int) -> float:
    if c.before is not None:
        c.before()
    t0 = time.perf_counter()
    for _ in range(inner):
        c.fn()
    return (time.perf_counter() - t0) / inner


def compare(
    contenders: Sequence[Contender],
    *,
    repeats: int = 5,
    inner: int = 1,
    warmup: int = 1,
    baseline: str | None = None,
    gap_s: float = 0.0,
) -> list[dict[str, Any]]:
    """Time ``contenders`` interleaved; return one row per contender.

    Each row has ``name``, ``median_s``, ``min_s``, ``times_s`` (every repetition), ``warmup_s``
    (the first, untimed call: compile time lives there), ``ratio`` = this median divided by the
    baseline's median (so ``ratio > 1`` means slower than the baseline) and ``rounds``, a tag
    shared by the rows of this call (``times_s[i]`` of each was measured in round ``i``).
    ``gap_s`` sleeps before each timed call, for measuring cold thread pools.
    """
    if not contenders:
        raise ValueError("compare() needs at least one contender")
    names = [c.name for c in contenders]
    if len(set(names)) != len(names):
        raise ValueError(f"contender names must be unique, got {names}")
    if baseline is not None and baseline not in names:
        raise ValueError(f"baseline {baseline!r} is not one of {names}")

    warm: dict[str, float] = {}
    for c in contenders:
        t0 = time.perf_counter()
        for _ in range(max(warmup, 0)):
            if c.before is not None:
                c.before()
            c.fn()
        warm[c.name] = time.perf_counter() - t0

    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    n = len(contenders)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats):
            # a new order every repetition (seeded: the same run order every time). A rotation
            # would keep each contender's predecessor fixed, and the predecessor matters: after
            # a torch 2-thread call, anything ran ~100 us slower on the 2-core VM (its OpenMP
            # workers still spin), which a rotation pinned on one contender in every round.
            for k in random.Random(r).sample(range(n), n):
                c = contenders[k]
                if gap_s:
                    time.sleep(gap_s)
                times[c.name].append(_time_once(c, inner))
            # the round's garbage is all young (the collector was off): collecting the two young
            # generations frees it; a full collection would also walk every object torch and
            # numba created at import (~0.1 s a round) and free nothing more
            gc.collect(1)
    finally:
        if gc_was_enabled:
            gc.enable()

    rows = []
    rounds = _rounds_id()
    for c in contenders:
        ts = times[c.name]
        rows.append(
            {
                "name": c.name,
                **c.params,
                "median_s": statistics.median(ts),
                "min_s": min(ts),
                "times_s": ts,
                "warmup_s": warm[c.name],
                "repeats": repeats,
                "inner": inner,
                "rounds": rounds,
            }
        )
    ref = baseline if baseline is not None else rows[0]["name"]
    ref_median = next(r["median_s"] for r in rows if r["name"] == ref)
    for row in rows:
        row["ratio"] = row["median_s"] / ref_median if ref_median > 0 else float("nan")
        row["baseline"] = ref
    return rows


def cpu_compare(
    steps: dict[str, Callable[[], Any]], repeats: int, baseline: str
) -> list[dict[str, Any]]:
    """Process CPU time (``time.process_time``) per call, interleaved in a new order each round.

    On a shared machine wall-clock time includes the time other processes held the core; CPU
    time counts only this process's work (it still feels their cache pollution).  A supplement to
    :func:`compare`, whose wall-clock medians stay the headline numbers.  No warm-up: call each
    step once before.  Rows as :func:`compare`'s, with ``clock: "cpu"`` (``times_s`` are CPU
    times).
    """
    if baseline not in steps:
        raise ValueError(f"baseline {baseline!r} is not one of {list(steps)}")
    names = list(steps)
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for k in random.Random(r).sample(range(len(names)), len(names)):  # as compare()
            name = names[k]
            t0 = time.process_time()
            steps[name]()
            cpu[name].append(time.process_time() - t0)
    ref = statistics.median(cpu[baseline])
    rounds = _rounds_id()
    return [
        {
            "name": n,
            "rounds": rounds,
            "median_s": statistics.median(cpu[n]),
            "min_s": min(cpu[n]),
            "times_s": cpu[n],
            "repeats": repeats,
            "inner": 1,
            "clock": "cpu",
            "ratio": statistics.median(cpu[n]) / ref if ref > 0 else float("nan"),
            "baseline": baseline,
        }
        for n in names
    ]


def _set_torch_and_numba_threads(n: int) -> None:
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass
    try:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass


def set_threads(n: int, *, torch: bool = True) -> None:
    """Set the thread count of every pool a contender may use: torch, numba, BLAS.

    ``torch=False`` leaves torch alone (and unimported: ~1.5 s) for modules with no torch
    contender; torch's threads are still set if something imported it already.
    """
    os.environ["RAYON_NUM_THREADS"] = str(n)
    if torch or "torch" in sys.modules:
        _set_torch_and_numba_threads(n)
    else:
        try:
            import numba

            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        except ImportError:
            pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:
        pass


def threads(n: int) -> Callable[[], None]:
    """A ``before`` hook for :class:`Contender`: set torch's and numba's thread counts to ``n``
    right before the (untimed) start of each timed call, so interleaved contenders that want
    different thread counts each get theirs.  BLAS is left alone (see :func:`set_threads`)."""

    def before() -> None:
        _set_torch_and_numba_threads(n)

    return before


def _version(mod: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(mod)
    except Exception:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(import_libs: bool = True) -> dict[str, Any]:
    """Versions, CPU, thread and BLAS settings: recorded beside every result.

    ``import_libs=False`` reads numba's and torch's thread counts only when something already
    imported them (the report's parent process, which times nothing, need not pay ~2 s).
    """
    env: dict[str, Any] = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "versions": {
            m: _version(m)
            for m in ("minigrad", "numpy", "numba", "regex", "torch", "tiktoken", "tokenizers")
        },
        "env": {
            k: os.environ.get(k)
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
                "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS",
                "RAYON_NUM_THREADS",
            )
        },
    }
    try:
        if import_libs or "numba" in sys.modules:
            import numba

            env["numba_threads"] = numba.get_num_threads()
            env["numba_threading_layer"] = numba.config.THREADING_LAYER
    except ImportError:
        pass
    try:
        if import_libs or "torch" in sys.modules:
            import torch

            env["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        env["blas"] = [
            {k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for d in threadpool_info()
        ]
    except ImportError:
        pass
    return env


def load_note(load_before: tuple[float, float, float]) -> str:
    """One sentence on how busy the machine was: ``load_before`` is ``os.getloadavg()`` taken
    before timing; the value now is read here."""
    load_now = os.getloadavg()
    return (
        f"load average before/after: {load_before[0]:.2f} / {load_now[0]:.2f} (1 min; "
        f"{os.cpu_count()} CPUs: anything above ~0.5 means other processes competed for the cores, "
        "which hurts every multi-threaded contender most). "
    )


def fmt_time(seconds: float) -> str:
    """Human units: 1.23 s, 45.6 ms, 789 us."""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as a markdown table; times in human units, ratios as ``1.23x``."""
    if not rows:
        return ""
    if columns is None:
        columns = [
            k
            for k in rows[0]
            if k not in ("times_s", "repeats", "inner", "baseline", "warmup_s", "rounds")
            and not k.endswith("times_s")
        ]
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for col in columns:
            v = row.get(col, "")
            if col.endswith("_s") and isinstance(v, float):
                cells.append(fmt_time(v))
            elif col == "ratio" and isinstance(v, float):
                cells.append(f"{v:.2f}x")
            elif isinstance(v, float):
                cells.append(f"{v:.4g}")
            else:
                cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results(
    name: str,
    sections: dict[str, Sequence[dict[str, Any]]],
    *,
    notes: str = "",
    out_dir: Path | None = None,
    ratios: Sequence[Ratio] = (),
) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.json`` (raw, with environment) and ``<name>.md`` (tables).

    ``ratios`` are the comparisons this module vouches for (:class:`Ratio`: two rows by section
    and contender name; with a goal, a headline of the report).  Each must name a section in
    ``sections`` (``ValueError`` otherwise); rows may be missing (a peer not installed).

    ``out_dir`` defaults to ``$MINIGRAD_BENCH_OUT`` when that is set (the ``python -m
    benchmarks`` runner sets it for each module it starts), else ``benchmarks/results/<today>/``.
    """
    if not name or not all(ch.isalnum() or ch in "_-." for ch in name):
        raise ValueError(f"result name must be letters, digits, _ - or ., got {name!r}")
    check_ratios(ratios, sections)
    env = environment(import_libs=False)  # a module that never imported torch did not use it
    if out_dir is None and os.environ.get("MINIGRAD_BENCH_OUT"):
        out_dir = Path(os.environ["MINIGRAD_BENCH_OUT"])
    if out_dir is None:
        out_dir = RESULTS_DIR / _dt.date.today().isoformat()
    out_dir = Path(out_dir)
    payload = {
        "benchmark": name,
        "schema": SCHEMA,
        "environment": env,
        "notes": notes,
        "sections": sections,
        "ratios": [r.to_dict() for r in ratios],
    }
    json_path = out_dir / f"{name}.json"
    md_path = out_dir / f"{name}.md"
    _atomic_write(json_path, json.dumps(payload, indent=1, default=str) + "\n")
    md = [f"# {name}", "", f"{env['date']} · {env['cpu']} · {env['cpu_count']} CPUs", ""]
    md.append("versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v))
    md.append("")
    if notes:
        md += [notes, ""]
    for title, rows in sections.items():
        md += [f"## {title}", "", markdown_table(rows), ""]
    _atomic_write(md_path, "\n".join(md))
    return json_path, md_path
