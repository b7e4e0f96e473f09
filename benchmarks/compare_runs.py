"""Compare two benchmark runs row by row: which changes exceed the noise?

    python -m benchmarks.compare_runs OLD NEW      # each a results.json or the folder holding it
    python -m benchmarks --compare OLD NEW         # the same
    python -m benchmarks --compare OLD [options]   # run the benchmarks, then compare with OLD

A row is identified by module, section title, contender name and size (``schema.row_key``), so
the same contender at the same size in both runs is compared; a row in only one run is listed as
such (a module not run, a peer not installed, a quick run against a full one).  For each common
timed row: the ratio of the medians (new / old: above 1 is slower), and a two-sided Mann-Whitney
U test on the raw repeats (``stats.mann_whitney_u``).  With hundreds of rows, some would reach
p < 0.05 by chance alone, so a change counts as beyond the noise when its Benjamini-Hochberg
q-value is below ``alpha`` (default 0.05): among the rows called changed, at most ~5% are
expected to be false alarms.

What the test cannot tell: a slower machine (or a busier one) moves every row; compare runs made
on the same machine, quiet, with the same versions (the differences in the environment are listed
first).  And with few repeats nothing can be significant: 3 repeats against 3 can never give
p < 0.1, which the output says.

Reads result files of both formats (before and after declared ratios): only rows are compared.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import fmt_time
from benchmarks.schema import is_timed, iter_rows, not_run, raw_values, row_key
from benchmarks.stats import benjamini_hochberg, mann_whitney_u, smallest_p, summarize

Key = tuple[str, str, str, str]


def results_path(path: str | Path) -> Path:
    """``path`` itself, or ``path/results.json`` when ``path`` is a folder."""
    p = Path(path)
    return p / "results.json" if p.is_dir() else p


def load_run(path: str | Path) -> dict[str, Any]:
    """A run's ``results.json``, checked to be one (``ValueError`` with the reason otherwise)."""
    p = results_path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"{p}: no such file (give a results.json or the folder holding it)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}: not a readable results.json ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        raise ValueError(f"{p}: not the results.json of a benchmark run (no 'modules' in it)")
    data.setdefault("run", {})
    data.setdefault("environment", {})
    return data


def timed_rows(run: Mapping[str, Any]) -> tuple[dict[Key, list[float]], list[Key]]:
    """Each measured, timed row's raw repeats by key; and the keys seen twice (first one kept)."""
    out: dict[Key, list[float]] = {}
    dupes: list[Key] = []
    for stem, title, row in iter_rows(run["modules"]):
        if not is_timed(row) or not_run(row) or row.get("clipped"):
            continue
        key = row_key(stem, title, row)
        if key in out:
            dupes.append(key)
            continue
        out[key] = raw_values(row, "median_s")
    return out, dupes


@dataclass
class RowChange:
    key: Key
    old: list[float]
    new: list[float]
    ratio: float
    p: float | None = None
    q: float | None = None
    method: str = ""

    @property
    def old_median(self) -> float:
        return summarize(self.old).median

    @property
    def new_median(self) -> float:
        return summarize(self.new).median


@dataclass
class Comparison:
    alpha: float
    changed: list[RowChange] = field(default_factory=list)
    unchanged: list[RowChange] = field(default_factory=list)
    untested: list[RowChange] = field(default_factory=list)
    only_old: list[Key] = field(default_factory=list)
    only_new: list[Key] = field(default_factory=list)
    duplicates: list[Key] = field(default_factory=list)
    blind: int = 0  # rows whose repeats are too few for any p < alpha


def compare_runs(old: Mapping[str, Any], new: Mapping[str, Any], alpha: float = 0.05) -> Comparison:
    """Every common timed row: ratio of medians, Mann-Whitney p, BH q; and the rows in one run."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    a, dup_a = timed_rows(old)
    b, dup_b = timed_rows(new)
    cmp = Comparison(alpha, duplicates=dup_a + dup_b)
    cmp.only_old = [k for k in a if k not in b]
    cmp.only_new = [k for k in b if k not in a]
    tested: list[RowChange] = []
    for key in (k for k in a if k in b):
        x, y = a[key], b[key]
        if not x or not y:
            continue
        old_med, new_med = summarize(x).median, summarize(y).median
        ch = RowChange(key, x, y, new_med / old_med if old_med else float("nan"))
        if len(x) < 2 or len(y) < 2:
            cmp.untested.append(ch)
            continue
        mw = mann_whitney_u(y, x)
        ch.p, ch.method = mw.p, mw.method
        cmp.blind += smallest_p(len(x), len(y)) >= alpha
        tested.append(ch)
    for ch, q in zip(tested, benjamini_hochberg([c.p for c in tested])):
        ch.q = q
        (cmp.changed if q < alpha else cmp.unchanged).append(ch)
    cmp.changed.sort(key=lambda c: -abs(c.ratio - 1))
    return cmp


# ---- output -----------------------------------------------------------------------------------
def _describe(run: Mapping[str, Any], path: str) -> str:
    meta, env = run.get("run", {}), run.get("environment", {})
    when = str(meta.get("started") or env.get("date") or "?")[:16].replace("T", " ")
    mode = "QUICK" if meta.get("quick") else "full"
    only = f", only {meta['only']}" if meta.get("only") else ""
    return f"`{path}`: {when}, {mode} run{only}, `{meta.get('command', '?')}`"


def env_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between the two environments that could move every row."""
    eo, en = old.get("environment", {}), new.get("environment", {})
    out = []
    for k in ("cpu", "cpu_count", "python", "platform", "numba_threads", "torch_threads"):
        if eo.get(k) != en.get(k):
            out.append(f"{k}: {eo.get(k)} -> {en.get(k)}")
    vo, vn = eo.get("versions") or {}, en.get("versions") or {}
    for k in sorted(set(vo) | set(vn)):
        if vo.get(k) != vn.get(k):
            out.append(f"{k}: {vo.get(k)} -> {vn.get(k)}")
    if bool(old.get("run", {}).get("quick")) != bool(new.get("run", {}).get("quick")):
        out.append("one run is QUICK and the other full: their rows have different sizes")
    return out


def _key_text(key: Key) -> str:
    stem, title, name, size = key
    return f"{stem} › {title} › {name}" + (f" [{size}]" if size else "")


def _table(changes: list[RowChange]) -> list[str]:
    lines = [
        "| module | section | contender | size | old median | new median | new / old | p | q |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in changes:
        stem, title, name, size = c.key
        p = "–" if c.p is None else f"{c.p:.3g}"
        q = "–" if c.q is None else f"{c.q:.3g}"
        lines.append(
            f"| {stem} | {title} | {name} | {size or '–'} | {fmt_time(c.old_median)} "
            f"({len(c.old)}) | {fmt_time(c.new_median)} ({len(c.new)}) | {c.ratio:.3f}x | {p} "
            f"| {q} |"
        )
    return lines


def markdown(
    cmp: Comparison, old: Mapping[str, Any], new: Mapping[str, Any], paths: tuple[str, str]
) -> str:
    """The comparison as markdown: environment, verdicts, every row's ratio, unmatched rows."""
    slower = sum(c.ratio > 1 for c in cmp.changed)
    n_tested = len(cmp.changed) + len(cmp.unchanged)
    md = [
        "# Benchmark comparison",
        "",
        f"- old: {_describe(old, paths[0])}",
        f"- new: {_describe(new, paths[1])}",
    ]
    diffs = env_differences(old, new)
    md.append("- environment differences: " + ("; ".join(diffs) if diffs else "none recorded"))
    md += [
        f"- method: two-sided Mann-Whitney U test of each row's raw repeats (new against old); a "
        f"change is beyond the noise when its Benjamini-Hochberg q-value over the {n_tested} "
        f"rows tested is below {cmp.alpha:g}. new / old is the ratio of the medians (above 1: "
        "slower); old and new medians show their repeats in brackets.",
        "",
    ]
    if cmp.blind:
        md += [
            f"**{cmp.blind} of the {n_tested} rows have too few repeats for any difference to "
            f"reach p < {cmp.alpha:g}** (e.g. 3 against 3 repeats: the smallest p is 0.1); "
            "compare full runs for a verdict on those.",
            "",
        ]
    faster = len(cmp.changed) - slower
    md += [f"## Beyond the noise: {len(cmp.changed)} rows ({slower} slower, {faster} faster)", ""]
    md += [*_table(cmp.changed), ""] if cmp.changed else ["None.", ""]
    md += [f"## Within the noise: {len(cmp.unchanged)} rows", ""]
    if cmp.unchanged:
        md += [*_table(cmp.unchanged), ""]
    if cmp.untested:
        md += [f"## Not tested (a single repeat on one side): {len(cmp.untested)} rows", ""]
        md += [*_table(cmp.untested), ""]
    for title, keys in (
        ("Only in the old run", cmp.only_old),
        ("Only in the new run", cmp.only_new),
    ):
        if keys:
            md += [f"## {title}: {len(keys)} rows", "", *[f"- {_key_text(k)}" for k in keys], ""]
    if cmp.duplicates:
        md += ["## Rows that appear twice in one run (the first was compared)", ""]
        md += [f"- {_key_text(k)}" for k in cmp.duplicates] + [""]
    return "\n".join(md)


def compare_files(old_path: str | Path, new_path: str | Path, alpha: float = 0.05) -> str:
    """Load two runs and return the comparison as markdown (``ValueError`` on a bad file)."""
    old, new = load_run(old_path), load_run(new_path)
    cmp = compare_runs(old, new, alpha)
    return markdown(cmp, old, new, (str(results_path(old_path)), str(results_path(new_path))))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare_runs", description=__doc__)
    ap.add_argument("old", help="the earlier run: results.json or its folder")
    ap.add_argument("new", help="the later run: results.json or its folder")
    ap.add_argument("--alpha", type=float, default=0.05, help="false discovery rate (0.05)")
    args = ap.parse_args(argv)
    try:
        print(compare_files(args.old, args.new, args.alpha))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
