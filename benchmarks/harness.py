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
    write_results("scatter", {"scatter d=64": rows})
"""

from __future__ import annotations

import datetime as _dt
import gc
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

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Contender:
    """One thing to time: ``fn()`` is called once per repetition (``inner`` times in a row)."""

    name: str
    fn: Callable[[], Any]
    params: dict[str, Any] = field(default_factory=dict)
    #: called (untimed) before every timed call, e.g. to zero a buffer or set thread counts
    before: Callable[[], Any] | None = None


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
    (the first, untimed call: compile time lives there) and ``ratio`` = this median divided by the
    baseline's median (so ``ratio > 1`` means slower than the baseline).  ``gap_s`` sleeps before
    each timed call, for measuring cold thread pools.
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
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()

    rows = []
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
            }
        )
    ref = baseline if baseline is not None else rows[0]["name"]
    ref_median = next(r["median_s"] for r in rows if r["name"] == ref)
    for row in rows:
        row["ratio"] = row["median_s"] / ref_median if ref_median > 0 else float("nan")
        row["baseline"] = ref
    return rows


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


def set_threads(n: int) -> None:
    """Set the thread count of every pool a contender may use: torch, numba, BLAS."""
    os.environ["RAYON_NUM_THREADS"] = str(n)
    _set_torch_and_numba_threads(n)
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


def environment() -> dict[str, Any]:
    """Versions, CPU, thread and BLAS settings: recorded beside every result."""
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
        import numba

        env["numba_threads"] = numba.get_num_threads()
        env["numba_threading_layer"] = numba.config.THREADING_LAYER
    except ImportError:
        pass
    try:
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
            k for k in rows[0] if k not in ("times_s", "repeats", "inner", "baseline", "warmup_s")
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
) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.json`` (raw, with environment) and ``<name>.md`` (tables).

    ``out_dir`` defaults to ``$MINIGRAD_BENCH_OUT`` when that is set (the ``python -m
    benchmarks`` runner sets it for each module it starts), else ``benchmarks/results/<today>/``.
    """
    env = environment()
    if out_dir is None and os.environ.get("MINIGRAD_BENCH_OUT"):
        out_dir = Path(os.environ["MINIGRAD_BENCH_OUT"])
    if out_dir is None:
        out_dir = RESULTS_DIR / _dt.date.today().isoformat()
    out_dir = Path(out_dir)
    payload = {"benchmark": name, "environment": env, "notes": notes, "sections": sections}
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
