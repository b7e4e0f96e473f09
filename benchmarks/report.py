"""Collect a run's results into ``results.json``, ``REPORT.md`` and ``README_PERFORMANCE.md``.

Every benchmark module writes its own ``NAME.json`` (rows of ``harness.compare`` plus its
environment).  ``build(out_dir, meta)`` reads all of them from ``out_dir/modules/`` and writes:

* ``results.json``: the run (command, durations, what was skipped and why), the environment,
  the headline ratios, and every module's payload as it wrote it (raw times included);
* ``REPORT.md``: the headline ratios against the goals set in the issues, the plots, then each
  module's tables as *contender | size | median | min | ratio to minigrad | GB/s or MB/s*;
* ``README_PERFORMANCE.md``: a "Performance" section to paste into the README: the date, machine
  and versions, the headline table, three plots and the command that reproduces them.

A headline is a ratio of two medians from one table (or a value a module computed), compared
with its goal.  When a row it needs is missing (a peer not installed, a quick run that skips a
size) it reads "n/a" with the reason: the report never fails for a missing number.

    python -m benchmarks.report OUT_DIR     # rebuild the report of an earlier run
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import environment, fmt_time, markdown_table
from minigrad.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
Row = dict[str, Any]

#: row keys that describe the problem size (shown in the "size" column), in display order
SIZE_KEYS = (
    "n",
    "d",
    "V",
    "ids",
    "U",
    "C",
    "N",
    "B",
    "T",
    "ops",
    "batch",
    "vocab",
    "corpus_bytes",
    "bytes",
    "pattern",
    "params",
)
#: throughput keys, first found wins: (key, unit)
RATE_KEYS = (
    ("GBps", "GB/s"),
    ("GBps_rw", "GB/s"),
    ("MBps", "MB/s"),
    ("MB/s", "MB/s"),
    ("corpus_MBps", "MB/s"),
)


@dataclass(frozen=True)
class Headline:
    """One headline ratio: ``num`` over ``den`` (medians) in a section, compared with a goal.

    ``modules`` are file stems tried in order (the quick run writes ``scatter_quick``);
    ``section`` and the row names are regular expressions (``re.search``); the first section
    that matches and has both rows is used.  ``field`` reads a value from the ``num`` row
    instead of dividing.  ``invert`` reports den / num ("x faster").  The goal holds when the
    value is ``>= goal`` (``op=">="``), ``<= goal``, or within ``goal`` of 1 (``"~"``).
    """

    label: str
    modules: tuple[str, ...]
    section: str
    num: str
    den: str | None
    goal: float
    op: str
    source: str
    invert: bool = False
    field: str | None = None
    unit: str = "x"


HEADLINES: tuple[Headline, ...] = (
    Headline("autograd per-op overhead: torch eager time / minigrad time", ("autograd",),
             "per-op overhead", "^minigrad$", "^torch eager$", 1.0, ">=", "issue 2", invert=True),
    Headline("2-layer MLP fwd+bwd: minigrad time / torch eager", ("autograd",), "2-layer MLP",
             "^minigrad$", "^torch eager$", 1.0, "<=", "issue 2"),
    Headline("scatter-add, d=64 V=5e4 zipf: speed-up over np.add.at", ("scatter", "scatter_quick"),
             r"d=64 V=50,000 ids=zipf", r"^minigrad scatter_add \(zero", r"^np\.add\.at", 20.0,
             ">=", "issue 4", invert=True),
    Headline("scatter-add, d=64 V=5e4 zipf: speed-up over torch index_add_ 2T",
             ("scatter", "scatter_quick"), r"d=64 V=50,000 ids=zipf",
             r"^minigrad scatter_add \(zero", r"^torch index_add_ 2T", 1.5, ">=", "issue 4",
             invert=True),
    Headline("scatter alone (no zeroing) / copy floor, d=64 V=5e4 zipf",
             ("scatter", "scatter_quick"), r"d=64 V=50,000 ids=zipf",
             r"^minigrad scatter_add only", r"^floor: copy", 1.5, "<=", "issue 4"),
    Headline("row-sparse gradient: speed-up over torch sparse bwd + coalesce 1T",
             ("scatter", "scatter_quick"), r"d=64 V=50,000 ids=zipf",
             r"^minigrad row_sparse_sum", r"^torch sparse=True bwd \+ coalesce 1T", 4.0, ">=",
             "issue 4", invert=True),
    Headline("scatter-add, d=64 V=5e4 zipf: serial loop time / threaded time",
             ("scatter", "scatter_quick"), r"d=64 V=50,000 ids=zipf",
             r"^minigrad scatter_add \d+ threads forced", r"^minigrad scatter_add serial", 1.0,
             ">=", "issue 4", invert=True),
    Headline("embedding step, sparse + SGD: CPU time at V=1e6 / V=1e3 (models alone)",
             ("embedding_step", "embedding_step_malloc_tuned"), "^minigrad alone",
             r"^minigrad sparse \+ SGD$", None, 1.3, "<=", "issue 4", field="V=1e6 / V=1e3"),
    Headline("embedding step, sparse + Adam: CPU time at V=1e6 / V=1e3 (models alone)",
             ("embedding_step", "embedding_step_malloc_tuned"), "^minigrad alone",
             r"^minigrad sparse \+ Adam$", None, 1.3, "<=", "issue 4", field="V=1e6 / V=1e3"),
    Headline("embedding step, sparse + Adam: wall time at V=1e6 / V=1e3 (among torch steps)",
             ("embedding_step", "embedding_step_malloc_tuned"), "^growth with V",
             r"^minigrad sparse \+ Adam$", None, 1.3, "<=", "issue 4", field="V=1e6 / V=1e3"),
    Headline("cross-entropy fwd+bwd C=1,000: speed-up over torch 1T (both 1 thread)",
             ("cross_entropy", "cross_entropy_quick"), r"C=1,000 ",
             r"^minigrad fwd\+bwd \(1 thread\)", r"^torch F\.cross_entropy fwd\+bwd 1T", 1.2,
             ">=", "issue 4", invert=True),
    Headline("cross-entropy fwd+bwd C=50,000: speed-up over torch 1T (both 1 thread)",
             ("cross_entropy",), r"C=50,000 ", r"^minigrad fwd\+bwd \(1 thread\)",
             r"^torch F\.cross_entropy fwd\+bwd 1T", 2.0, ">=", "issue 4", invert=True),
    Headline("MLP LM SGD step: minigrad time / torch eager", ("mlp_lm",), "^MLP LM SGD step",
             "^minigrad$", "^torch eager$", 0.9, "<=", "issue 4"),
    Headline("MLP LM SGD step: minigrad time / numpy by hand", ("mlp_lm",), "^MLP LM SGD step",
             "^minigrad$", r"^numpy by hand \(floor\)", 1.15, "<=", "issue 4"),
    Headline("TinyGPT AdamW step: minigrad time / torch eager", ("tinygpt",), "^TinyGPT",
             "^minigrad$", "^torch eager$", 1.5, "<=", "issue 6"),
    Headline("BPE training, vocab 32,768: minigrad time / HF (1 thread)", ("bpe_train",),
             r"^training time.*vocab 32768", "^minigrad$", "^HF BpeTrainer RAYON=1$", 2.0, "<=",
             "issue 3"),
    Headline("BPE compression: bytes/token, minigrad / HF (same vocab)", ("bpe_train",),
             "^compression", r"^minigrad", None, 0.01, "~", "issue 3", field="ratio_vs_HF"),
    Headline("encoding, one string: minigrad (cold cache) speed / tiktoken", ("encode",),
             "^encode", r"^minigrad encode_ordinary \(cold cache\)", None, 0.5, ">=", "issue 3",
             field="vs_tiktoken_speed"),
)  # fmt: skip


def _find(rows: Sequence[Row], pattern: str) -> Row | None:
    return next((r for r in rows if re.search(pattern, str(r.get("name", "")))), None)


def evaluate(h: Headline, modules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The headline's value, where it was measured, and whether the goal was met."""
    out: dict[str, Any] = {"label": h.label, "goal": h.goal, "op": h.op, "source": h.source}
    stems = [m for m in h.modules if m in modules]
    if not stems:
        return {**out, "value": None, "met": None, "why": f"{' / '.join(h.modules)} not run"}
    why = "size not measured in this run"
    for stem in stems:
        for title, rows in modules[stem].get("sections", {}).items():
            if not re.search(h.section, title):
                continue
            num = _find(rows, h.num)
            den = _find(rows, h.den) if h.den else None
            if num is None or (h.den and den is None):
                why = f"no row {h.den if num else h.num!r}"
                continue
            if h.field is not None:
                value = num.get(h.field)
            else:
                a, b = num["median_s"], den["median_s"]
                value = b / a if h.invert else a / b
            if not isinstance(value, (int, float)) or math.isnan(value):
                why = f"no number in {stem}"
                continue
            met = {">=": value >= h.goal, "<=": value <= h.goal, "~": abs(value - 1) <= h.goal}
            return {**out, "value": value, "met": met[h.op], "where": f"{stem}: {title}"}
    return {**out, "value": None, "met": None, "why": why}


def goal_text(h: dict[str, Any]) -> str:
    if h["op"] == "~":
        return f"within {h['goal']:.0%} of 1"
    return f"{'≥' if h['op'] == '>=' else '≤'} {h['goal']:g}x"


def headline_table(headlines: Sequence[dict[str, Any]]) -> str:
    lines = ["| comparison | measured | goal | met | source |", "|---|---|---|---|---|"]
    for h in headlines:
        if h["value"] is None:
            value, met = f"n/a ({h['why']})", "–"
        else:
            value = f"{h['value']:.3f}" if h["op"] == "~" else f"{h['value']:.2f}x"
            met = "yes" if h["met"] else "**no**"
        lines.append(f"| {h['label']} | {value} | {goal_text(h)} | {met} | {h['source']} |")
    return "\n".join(lines)


# ---- module tables ----------------------------------------------------------------------------
def size_of(row: Row) -> str:
    """The row's problem size as ``k=v`` pairs, e.g. ``d=64 V=50,000 ids=zipf``."""
    parts = []
    for k in SIZE_KEYS:
        if k in row and row[k] is not None:
            v = row[k]
            parts.append(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}")
    return " ".join(parts)


def _median_cell(row: Row) -> str:
    if row.get("clipped"):  # stopped at a time budget (a lower bound), or estimated, not run
        note = str(row.get("note", "clipped"))
        sign = "~" if note.startswith("not run") and "~" in note else ">"
        return f"{sign} {fmt_time(row['median_s'])} ({note})"
    return fmt_time(row["median_s"])


def timing_table(rows: Sequence[Row]) -> str:
    """contender | size | median | min | ratio to minigrad | rate; ratios within each size."""
    rate = next(((k, u) for k, u in RATE_KEYS if any(k in r for r in rows)), None)
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(size_of(r), []).append(r)
    head = ["contender", "size", "median", "min", "ratio to minigrad"] + ([rate[1]] if rate else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size, group in groups.items():
        base = group[0].get("baseline")
        ref = next((r for r in group if r["name"] == base and base.startswith("minigrad")), None)
        ref = ref or next((r for r in group if str(r["name"]).startswith("minigrad")), None)
        for r in group:
            if ref is None or r.get("clipped") or not ref["median_s"]:
                ratio = "–"
            elif r is ref:
                ratio = "1.00x (ref)"
            else:
                ratio = f"{r['median_s'] / ref['median_s']:.2f}x"
            mn = fmt_time(r["min_s"]) if isinstance(r.get("min_s"), float) else "–"
            cells = [str(r["name"]), size or "–", _median_cell(r), mn, ratio]
            if rate:
                v = r.get(rate[0])
                cells.append(f"{v:.3g}" if isinstance(v, (int, float)) else "–")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def module_markdown(stem: str, payload: dict[str, Any]) -> list[str]:
    md = [f"## {stem}", ""]
    if payload.get("notes"):
        md += [f"_{payload['notes']}_", ""]
    for title, rows in payload.get("sections", {}).items():
        md.append(f"### {title}\n")
        if rows and all(isinstance(r.get("median_s"), (int, float)) for r in rows):
            md.append(timing_table(rows))
        else:
            md.append(markdown_table(rows))
        md.append("")
    return md


# ---- the three files --------------------------------------------------------------------------
def load_modules(modules_dir: Path) -> dict[str, dict[str, Any]]:
    """Every ``*.json`` a module wrote, by file stem (unreadable files are reported, not fatal)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(modules_dir.glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            out[path.stem] = {"error": f"could not read {path}: {exc}", "sections": {}}
    return out


def _versions(env: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items() if v)


def _machine(env: dict[str, Any]) -> str:
    return f"{env.get('cpu', '?')}, {env.get('cpu_count', '?')} CPUs, Python {env.get('python')}"


def _rel(path: Path, start: Path) -> str:
    try:
        return os.path.relpath(path, start)
    except ValueError:  # another drive (Windows)
        return str(path)


def _peer_lines(meta: dict[str, Any]) -> list[str]:
    lines = [f"- {n}" for n in meta.get("notes", [])]
    for j in meta.get("jobs", []):
        if j.get("status") and not j["status"].startswith(("ok", "skipped", "pending")):
            lines.append(f"- {j['name']}: {j['status']}")
    return lines


PLOTS = (
    ("scatter_vs_n.png", "scatter-add time vs rows n"),
    ("scatter_vs_d.png", "scatter-add time vs width d"),
    ("embedding_vs_V.png", "embedding training step vs vocabulary size"),
    ("bpe_training.png", "BPE training time vs vocabulary and corpus size"),
    ("encode_vs_size.png", "encoding throughput vs text size"),
)
README_PLOTS = ("embedding_vs_V.png", "bpe_training.png", "encode_vs_size.png")


def report_markdown(out_dir: Path, results: dict[str, Any]) -> str:
    meta, env = results["run"], results["environment"]
    md = ["# minigrad performance report", ""]
    if meta.get("quick"):
        md += ["**QUICK run**: small sizes and few repeats, a smoke test; not for quoting.", ""]
    md += [
        f"- date: {env.get('date')}; machine: {_machine(env)}",
        f"- versions: {_versions(env)}",
        f"- threads: {meta.get('threads') or 'module defaults'}; BLAS/env: {env.get('env')}",
        f"- command: `{meta.get('command')}`; run took {meta.get('wall_s', 0):.0f} s wall, "
        f"{meta.get('cpu_s', 0):.0f} s CPU; load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in meta.get('load_average_end', []))}",
        f"- method: {meta.get('isolation')}; inside each, minigrad and its peers interleaved in "
        "a new random order each round after one warm-up call, median of the repeats "
        "(`benchmarks/harness.py`)",
        "",
        "## Headline ratios",
        "",
        headline_table(results["headlines"]),
        "",
        'Time ratios are of median wall-clock times; "x faster" rows are peer / minigrad.',
        "",
    ]
    notes = _peer_lines(meta)
    if notes:
        md += ["## Skipped and failed", "", *notes, ""]
    plots = [(f, t) for f, t in PLOTS if (out_dir / f).exists()]
    if plots:
        md += ["## Scaling curves", ""] + [f"![{t}]({f})\n" for f, t in plots]
    md += ["## Jobs", ""]
    md.append("| job | status | wall | CPU | files |\n|---|---|---|---|---|")
    for j in meta.get("jobs", []):
        md.append(
            f"| {j['name']} | {j.get('skip') or j['status']} | {j['wall_s']:.0f} s | "
            f"{j['cpu_s']:.0f} s | {', '.join(j['files'])} |"
        )
    md.append("")
    md += ["# Every table", ""]
    for stem, payload in results["modules"].items():
        md += module_markdown(stem, payload)
    return "\n".join(md) + "\n"


def readme_markdown(out_dir: Path, results: dict[str, Any]) -> str:
    """The README's "Performance" section: every number in it comes from this run."""
    meta, env = results["run"], results["environment"]
    inside = out_dir.resolve().is_relative_to(ROOT)
    rel = _rel(out_dir.resolve(), ROOT) if inside else str(out_dir.resolve())
    md = ["## Performance", ""]
    if meta.get("quick") or meta.get("only"):
        what = (
            "a QUICK run (smoke test)" if meta.get("quick") else f"a partial run ({meta['only']})"
        )
        md += [f"> Generated from {what}: rerun `python -m benchmarks` before pasting.", ""]
    if not inside:
        md += [
            f"> The results folder {rel} is outside the repository: move it under "
            "`benchmarks/results/` and regenerate, or the links below will not resolve.",
            "",
        ]
    load = ", ".join(f"{x:.1f}" for x in meta.get("load_average_end", []))
    md += [
        f"Measured on {str(env.get('date', ''))[:10]} on {_machine(env)} "
        f"({_versions(env)}; load average at the end of the run {load or 'n/a'}). Each "
        "comparison runs minigrad and its peers in one process, interleaved in a new random "
        "order each round after a warm-up call, median of the repeats; thread counts are in "
        f"the contender names (1T / 2T). Every raw timing and table: "
        f"[`{rel}/REPORT.md`]({rel}/REPORT.md).",
        "",
        headline_table(results["headlines"]),
        "",
    ]
    for f in README_PLOTS:
        if (out_dir / f).exists():
            md += [f"![{dict(PLOTS)[f]}]({rel}/{f})", ""]
    cmd = "python -m benchmarks" + (f" --threads {meta['threads']}" if meta.get("threads") else "")
    took = f"{meta.get('wall_s', 0) / 60:.1f} min, {meta.get('cpu_s', 0) / 60:.1f} min of CPU"
    md += [
        f"Reproduce (this run took {took}; results land in `benchmarks/results/<date>/`):",
        "",
        "```sh",
        "pip install -e '.[compare]'",
        cmd,
        "```",
        "",
    ]
    return "\n".join(md)


def build(out_dir: Path, meta: dict[str, Any], plots: bool = True) -> list[Path]:
    """Write results.json, REPORT.md, README_PERFORMANCE.md (and the plots) into ``out_dir``."""
    out_dir = Path(out_dir)
    modules = load_modules(out_dir / "modules")
    results = {
        "run": meta,
        "environment": environment(),
        "headlines": [evaluate(h, modules) for h in HEADLINES],
        "modules": modules,
    }
    written = []
    if plots:
        from benchmarks import plots as plotting

        written += plotting.make_all(results, out_dir)
    paths = {n: out_dir / n for n in ("results.json", "REPORT.md", "README_PERFORMANCE.md")}
    atomic_write_text(paths["results.json"], json.dumps(results, indent=1, default=str) + "\n")
    atomic_write_text(paths["REPORT.md"], report_markdown(out_dir, results))
    atomic_write_text(paths["README_PERFORMANCE.md"], readme_markdown(out_dir, results))
    return [*paths.values(), *written]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: python -m benchmarks.report OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    if not (out / "modules").is_dir():
        print(
            f"{out} has no modules/ folder: not the output of python -m benchmarks", file=sys.stderr
        )
        return 2
    old = out / "results.json"
    meta = json.loads(old.read_text())["run"] if old.exists() else {"command": "(unknown)"}
    for p in build(out, meta):
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
