"""Collect a run's results into ``results.json``, ``REPORT.md`` and ``README_PERFORMANCE.md``.

Every benchmark module writes its own ``NAME.json`` (rows of ``harness.compare``, the ratios it
declares, its environment; the format is in ``benchmarks/schema.py``).  ``build(out_dir, meta)``
reads all of them from ``out_dir/modules/`` and writes:

* ``results.json``: the run (command, durations, what was skipped and why), the environment,
  the evaluated headline ratios, and every module's payload as it wrote it (raw times included);
* ``REPORT.md``: the headline ratios against their goals, the plots, then each module's tables;
  every timed row shows its median, interquartile range (IQR) and number of repeats, and is
  flagged when the IQR exceeds 10% of the median;
* ``README_PERFORMANCE.md``: a "Performance" section to paste into the README: the run it comes
  from, the headline table with each ratio's spread, three plots and the command that reproduces
  them.

Headlines are the ratios with a goal that the modules declared (``schema.Ratio``): two rows
named by section and contender, never found by matching text.  A ratio whose rows this run did
not measure (a peer not installed, a module not run, a quick run's smaller sizes) is left out of
the tables, and the report says which; so is a point a scaling sweep estimated instead of running.

    python -m benchmarks.report OUT_DIR     # rebuild the report of an earlier run
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.harness import environment, fmt_time
from benchmarks.schema import (
    SIZE_KEYS,
    TIMING_KEYS,
    declared_ratios,
    evaluate,
    is_timed,
    not_run,
    raw_values,
    size_of,
)
from benchmarks.stats import summarize
from minigrad.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
Row = dict[str, Any]
#: a row (or ratio) whose IQR exceeds this fraction of its median is flagged
NOISY = 0.10
FLAG = "⚠"


# ---- cells ------------------------------------------------------------------------------------
def fmt_value(key: str, v: Any) -> str:
    """One cell: times in human units, floats to 4 significant digits, missing as "–"."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v == "n/a":  # "n/a": old files
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and key.endswith("_s"):
        return fmt_time(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    return str(v)


def spread_cells(values: Sequence[float], as_time: bool = True) -> tuple[str, str, bool]:
    """(IQR cell, n cell, noisy) of a sample of repeats; IQR relative to the median in brackets,
    flagged when above :data:`NOISY`."""
    if not values:
        return "–", "–", False
    s = summarize(values)
    if s.n < 2:
        return "–", str(s.n), False
    noisy = s.rel_iqr > NOISY
    absolute = fmt_time(s.iqr) if as_time else f"{s.iqr:.3g}"
    return f"{absolute} ({s.rel_iqr:.0%}){' ' + FLAG if noisy else ''}", str(s.n), noisy


def _median_cell(row: Row) -> str:
    if row.get("clipped"):  # stopped at a time budget: a lower bound
        return f"> {fmt_time(row['median_s'])} ({row.get('note', 'clipped')})"
    return fmt_time(row["median_s"])


def _ratio_cell(row: Row) -> str:
    base = row.get("baseline")
    if row.get("clipped") or base is None or not isinstance(row.get("ratio"), (int, float)):
        return "–"
    if row.get("name") == base:
        return "1.00x (ref)"
    return f"{row['ratio']:.2f}x"


def _extra_columns(rows: Sequence[Row], skip: frozenset[str] | set[str]) -> list[str]:
    """Every key some row has that the fixed columns do not show, first seen first; lists (raw
    repeats) and keys only ``None`` everywhere are left out."""
    cols: list[str] = []
    for r in rows:
        for k, v in r.items():
            if k in skip or k in SIZE_KEYS or k in cols or isinstance(v, (list, dict)):
                continue
            cols.append(k)
    return [c for c in cols if any(r.get(c) is not None for r in rows)]


# ---- tables -----------------------------------------------------------------------------------
def timing_table(rows: Sequence[Row]) -> tuple[str, int]:
    """A table of timed rows; returns it and how many rows it flagged as noisy.

    Columns: contender | size | median | IQR | n | min | ratio (to the row marked "ref", the
    module's baseline at that size) | warm-up | then every other column the rows carry.
    """
    shown = [r for r in rows if not not_run(r)]
    has_size = any(size_of(r) for r in shown)
    extras = _extra_columns(shown, TIMING_KEYS)
    head = ["contender", *(["size"] if has_size else []), "median", "IQR", "n", "min", "ratio"]
    head += ["warm-up", *extras]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    flagged = 0
    for r in shown:
        iqr, n, noisy = spread_cells(raw_values(r, "median_s"))
        flagged += noisy
        inner = r.get("inner")
        if isinstance(inner, int) and inner > 1 and n != "–":
            n = f"{n} (×{inner} calls)"
        if r.get("clock") == "cpu":
            n += " CPU"
        cells = [str(r.get("name", "")), *([size_of(r) or "–"] if has_size else [])]
        cells += [_median_cell(r), iqr, n, fmt_value("min_s", r.get("min_s"))]
        cells += [_ratio_cell(r), fmt_value("warmup_s", r.get("warmup_s"))]
        cells += [fmt_value(c, r.get(c)) for c in extras]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), flagged


def plain_table(rows: Sequence[Row]) -> str:
    """Rows of single measurements (no repeats): every column any row has."""
    cols = ["name", *_extra_columns(rows, {"name"})]
    if any(size_of(r) for r in rows):
        cols.insert(1, "size")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [(size_of(r) or "–") if c == "size" else fmt_value(c, r.get(c)) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ratio_value(h: dict[str, Any]) -> str:
    return f"{h['value']:.3f}" if h.get("op") == "~" else f"{h['value']:.2f}x"


def ratio_spread_cell(h: dict[str, Any]) -> str:
    """``1.05–1.21x`` (the bootstrap quartiles of the ratio), flagged when wider than 10% of the
    value;
    "–" for a ratio of single values (one measurement each, or two minima)."""
    if h.get("q1") is None:
        return "–"
    width = (h["q3"] - h["q1"]) / h["value"] if h["value"] else float("nan")
    flag = f" {FLAG}" if width > NOISY else ""
    return f"{h['q1']:.2f}–{h['q3']:.2f}x{flag}"


def goal_text(h: dict[str, Any]) -> str:
    if h.get("goal") is None:
        return "–"
    if h["op"] == "~":
        return f"within {h['goal']:.0%} of 1"
    return f"{'≥' if h['op'] == '>=' else '≤'} {h['goal']:g}x"


def met_text(h: dict[str, Any]) -> str:
    if h.get("met") is None:
        return "–"
    text = "yes" if h["met"] else "**no**"
    return text + (" (goal inside the IQR)" if h.get("noisy_goal") else "")


def _n_text(h: dict[str, Any]) -> str:
    n = h.get("n") or []
    return "/".join(str(k) for k in n) if n else "–"


def benchmark_file(module: str | None, bench_dir: str | None = None) -> str:
    """The file that measured a headline, as a reader finds it: ``benchmarks/bench_NAME.py``.

    A scaling curve is ``benchmarks/scaling.py``; a module of ``--bench-dir DIR`` is
    ``DIR/bench_NAME.py`` (the folder's own name); no module (a run stored before headlines
    named theirs) is ``–``.
    """
    if not module:
        return "–"
    if bench_dir:
        return f"{Path(bench_dir).name}/bench_{module}.py"
    if module.startswith("scaling_"):
        return "benchmarks/scaling.py"
    return f"benchmarks/bench_{module}.py"


def headline_table(
    headlines: Sequence[dict[str, Any]], cite: bool = True, bench_dir: str | None = None
) -> str:
    """The measured headlines (unmeasured ones are left out: see :func:`unmeasured_line`).

    With ``cite`` the last column names the benchmark module that measured each ratio, where
    its method and the numbers behind the kernels' design are documented.
    """
    head = ["comparison", "measured", "IQR of the ratio", "n", "goal", "met"]
    head += ["benchmark"] if cite else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for h in headlines:
        if h.get("value") is None:
            continue
        cells = [h["label"], _ratio_value(h), ratio_spread_cell(h), _n_text(h), goal_text(h)]
        cells += [met_text(h)]
        cells += [f"`{benchmark_file(h.get('module'), bench_dir)}`"] if cite else []
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def unmeasured_line(headlines: Sequence[dict[str, Any]]) -> str:
    missing = [h for h in headlines if h.get("value") is None]
    if not missing:
        return ""
    items = "; ".join(f"{h['label']} ({h.get('why', '?')})" for h in missing)
    return f"Declared but not measured in this run, so not shown: {items}."


def ratios_table(evaluated: Sequence[dict[str, Any]]) -> str:
    head = ["ratio", "value", "IQR of the ratio", "n", "goal", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for h in evaluated:
        if h.get("value") is None:
            continue
        cells = [h["label"], _ratio_value(h), ratio_spread_cell(h), _n_text(h), goal_text(h)]
        lines.append("| " + " | ".join([*cells, met_text(h)]) + " |")
    return "\n".join(lines)


def module_markdown(stem: str, payload: dict[str, Any]) -> tuple[list[str], int]:
    """A module's part of the report, and how many of its rows were flagged noisy."""
    md = [f"## {stem}", ""]
    if payload.get("error"):
        md += [f"**{payload['error']}**", ""]
    if payload.get("notes"):
        md += [f"_{payload['notes']}_", ""]
    sections = payload.get("sections") or {}
    try:
        evaluated = [evaluate(r, sections) for r in declared_ratios(payload)]
    except (TypeError, ValueError) as exc:
        md += [f"**Unreadable ratio declarations: {exc}**", ""]
        evaluated = []
    if any(h.get("value") is not None for h in evaluated):
        md += ["### Ratios", "", ratios_table(evaluated), ""]
    flagged = 0
    for title, rows in sections.items():
        shown = [r for r in rows if not not_run(r)]
        if not shown:
            continue
        md.append(f"### {title}\n")
        if all(is_timed(r) for r in shown):
            table, k = timing_table(rows)
            flagged += k
            md.append(table)
            skipped = len(rows) - len(shown)
            if skipped:
                md += ["", f"_{skipped} points estimated instead of run are left out (plotted)._"]
        else:
            md += [plain_table(shown), "", "_Single measurements: n = 1 each, no spread._"]
        md.append("")
    return md, flagged


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


def evaluate_headlines(modules: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every declared ratio with a goal, evaluated, in module order; each with ``module``."""
    out = []
    for stem, payload in modules.items():
        try:
            ratios = declared_ratios(payload)
            sections = payload.get("sections") or {}
            out += [{**evaluate(r, sections), "module": stem} for r in ratios if r.goal is not None]
        except (TypeError, ValueError) as exc:
            out.append({"label": f"{stem}: unreadable ratios ({exc})", "value": None, "why": stem})
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
SPREAD_NOTE = (
    "Each timed row: the median of its n repeats (each repeat one call, or the mean of the "
    "calls shown), and the interquartile range (IQR = Q3 - Q1 of the repeats, with its share "
    f"of the median); {FLAG} marks an IQR above {NOISY:.0%} of the median, where the median is "
    "less certain than its digits. A ratio is of two medians; its IQR is the middle half of "
    "that ratio over 2,000 bootstrap resamples of the repeats (whole rounds resampled when both "
    "rows were timed in the same interleaved rounds), so it says how far the ratio could move "
    'on a rerun; "goal inside the IQR" means the verdict could flip. n is numerator/denominator '
    "repeats."
)


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
        f"- spread: {SPREAD_NOTE}",
        "",
        "## Headline ratios",
        "",
    ]
    heads = results["headlines"]
    if any(h.get("value") is not None for h in heads):
        md += [headline_table(heads, bench_dir=meta.get("bench_dir")), ""]
        md += ['Time ratios are of median wall-clock times; "x faster" rows are peer / minigrad.']
    elif not any(p.get("ratios") for p in results["modules"].values()):
        md.append(
            "No module of this run declared ratios (result files older than schema 2 do not): "
            "no headline to compute."
        )
    else:
        md.append("No headline was measured in this run.")
    missing = unmeasured_line(heads)
    md += ["", *([missing, ""] if missing else [])]
    notes = _peer_lines(meta)
    if notes:
        md += ["## Notes: skipped, failed, how it ran", "", *notes, ""]
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
    body, flagged = [], 0
    for stem, payload in results["modules"].items():
        part, k = module_markdown(stem, payload)
        body += part
        flagged += k
    md += ["# Every table", ""]
    if flagged:
        md += [f"{flagged} rows flagged {FLAG}: IQR above {NOISY:.0%} of the median.", ""]
    return "\n".join(md + body) + "\n"


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
    took = f"{meta.get('wall_s', 0) / 60:.1f} min, {meta.get('cpu_s', 0) / 60:.1f} min of CPU"
    md += [
        f"From the run of {str(meta.get('started') or env.get('date', ''))[:16].replace('T', ' ')}"
        f" (`{meta.get('command', 'python -m benchmarks')}`, {took}) on {_machine(env)} "
        f"({_versions(env)}; load average at the end of the run {load or 'not recorded'}). Each "
        "comparison runs minigrad and its peers in one process, interleaved in a new random "
        "order each round after a warm-up call; a ratio is of the two medians, its IQR the "
        "middle half of that ratio over bootstrap resamples of the repeats (how far it could "
        f"move on a rerun), {FLAG} where that is wider than {NOISY:.0%} of the ratio, and n the "
        "repeats behind numerator/denominator. Thread counts are in the contender names "
        "(1T / 2T). "
        f"Every table, raw timing and spread: [`{rel}/REPORT.md`]({rel}/REPORT.md), "
        f"[`{rel}/results.json`]({rel}/results.json).",
        "",
        headline_table(results["headlines"], bench_dir=meta.get("bench_dir")),
        "",
    ]
    for f in README_PLOTS:
        if (out_dir / f).exists():
            md += [f"![{dict(PLOTS)[f]}]({rel}/{f})", ""]
    cmd = "python -m benchmarks" + (f" --threads {meta['threads']}" if meta.get("threads") else "")
    md += [
        "Reproduce (results land in `benchmarks/results/<date>/`), or reproduce and see which "
        "rows differ from this run beyond the noise:",
        "",
        "```sh",
        "pip install -e '.[compare]'",
        cmd,
        f"{cmd} --compare {rel}/results.json",
        "```",
        "",
    ]
    return "\n".join(md)


def build(out_dir: Path, meta: dict[str, Any], plots: bool = True) -> list[Path]:
    """Write results.json, REPORT.md, README_PERFORMANCE.md (and the plots) into ``out_dir``."""
    out_dir = Path(out_dir)
    modules = load_modules(out_dir / "modules")
    results = {
        "schema": 2,
        "run": meta,
        "environment": environment(import_libs=False),
        "headlines": evaluate_headlines(modules),
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
