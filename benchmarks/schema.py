"""What a benchmark result is, as data: rows, sections, and the ratios a module declares.

A module's result file (``harness.write_results``) is ``{"benchmark": NAME, "schema": 2,
"environment": ..., "notes": ..., "sections": {TITLE: [ROW, ...]}, "ratios": [RATIO, ...]}``.

**A row** is one contender at one size, a dict with

* ``name`` -- the contender's id, unique within its section at a given size;
* for a timed row (what ``harness.compare`` returns): ``times_s`` (every timed repeat, seconds
  per call), ``median_s``, ``min_s``, ``repeats``, ``inner``, ``warmup_s``, ``baseline`` (the
  row the ``ratio`` is taken against), ``ratio`` and ``rounds`` (shared by the rows timed in
  the same interleaved rounds); optionally ``cpu_times_s`` /
  ``cpu_median_s`` (process CPU time of the same calls) and ``clock: "cpu"`` when ``times_s``
  themselves are CPU times;
* size keys (:data:`SIZE_KEYS`: ``n``, ``d``, ``V`` ...), shown in the report's "size" column;
* anything else (``GBps``, ``peak_MiB``, ``bytes_per_token`` ...): shown as a column of its own.

A row without ``times_s`` is a single measurement (a peak RSS, a token count).

**A ratio** (:class:`Ratio`) names two rows by section title and contender name, so the report
computes it from the rows (the ratio of their medians, with the spread of the repeats) instead
of finding rows by matching text.  A ratio with a ``goal`` is a headline.

Result files written before this format (schema 1: no ``schema`` key, no ``ratios``) have the
same rows; they are read as they are (``--compare`` works on them), and declare no ratios.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.stats import ratio_spread, summarize

SCHEMA = 2
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
    "H",
    "L",
    "ops",
    "batch",
    "vocab",
    "corpus_bytes",
    "corpus_MB",
    "bytes",
    "pattern",
    "params",
)
#: keys of a timed row that the report shows in its fixed columns (or not at all)
TIMING_KEYS = frozenset(
    {
        "name",
        "median_s",
        "min_s",
        "times_s",
        "repeats",
        "inner",
        "warmup_s",
        "baseline",
        "ratio",
        "cpu_times_s",
        "rounds",
        "clock",
        "clipped",
        "note",
    }
)
OPS = (">=", "<=", "~")


@dataclass(frozen=True)
class Ratio:
    """A ratio of two rows' ``metric``, declared by the module that measured them.

    ``num`` / ``den`` are contender names in ``section`` (``den_section`` when the denominator
    lives in another section, e.g. the same step at another vocabulary size); ``at`` picks,
    among rows of one name, those whose keys have these values (``{"corpus_MB": 10}``), for
    sections that hold a contender at several sizes.  The value is
    ``num / den`` of the two medians, or ``den / num`` with ``invert`` (an "x faster" figure).
    With a ``goal`` the ratio is a headline: met when ``value >= goal`` (``op=">="``),
    ``value <= goal`` (``"<="``), or ``|value - 1| <= goal`` (``"~"``); ``source`` says who set
    the goal (an issue).
    """

    label: str
    section: str
    num: str
    den: str
    den_section: str | None = None
    at: dict[str, Any] | None = None
    metric: str = "median_s"
    invert: bool = False
    goal: float | None = None
    op: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if (self.goal is None) != (self.op is None):
            raise ValueError(f"{self.label!r}: give both goal and op, or neither")
        if self.op is not None and self.op not in OPS:
            raise ValueError(f"{self.label!r}: op must be one of {OPS}, got {self.op!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Ratio:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


def raw_values(row: Row, metric: str) -> list[float]:
    """The repeats behind ``row[metric]``: ``times_s`` for ``median_s``, ``cpu_times_s`` for
    ``cpu_median_s``; a single value otherwise (a count, a peak, a minimum)."""
    raw_key = metric.replace("median_s", "times_s") if metric.endswith("median_s") else None
    raw = row.get(raw_key) if raw_key else None
    if isinstance(raw, list) and raw:
        return [float(v) for v in raw if isinstance(v, (int, float))]
    v = row.get(metric)
    return [float(v)] if isinstance(v, (int, float)) and not isinstance(v, bool) else []


def size_of(row: Row) -> str:
    """The row's problem size as ``k=v`` pairs, e.g. ``d=64 V=50,000 ids=zipf``."""
    parts = []
    for k in SIZE_KEYS:
        if k in row and row[k] is not None:
            v = row[k]
            parts.append(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}")
    return " ".join(parts)


def is_timed(row: Row) -> bool:
    return isinstance(row.get("median_s"), (int, float))


def not_run(row: Row) -> bool:
    """An estimate recorded in place of a measurement (a point the scaling sweep skipped)."""
    return bool(row.get("clipped")) and str(row.get("note", "")).startswith("not run")


def iter_rows(modules: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple[str, str, Row]]:
    """Every row of every module: ``(module stem, section title, row)``."""
    for stem, payload in modules.items():
        for title, rows in (payload.get("sections") or {}).items():
            for row in rows:
                if isinstance(row, dict):
                    yield stem, title, row


def row_key(stem: str, title: str, row: Row) -> tuple[str, str, str, str]:
    """What identifies a row across two runs: module, section, contender, size."""
    return stem, title, str(row.get("name", "")), size_of(row)


def declared_ratios(payload: Mapping[str, Any]) -> list[Ratio]:
    return [Ratio.from_dict(d) for d in payload.get("ratios") or []]


def check_ratios(ratios: Sequence[Ratio], sections: Mapping[str, Sequence[Row]]) -> None:
    """Refuse a ratio whose section the module did not write (a typo would hide it forever).

    Missing *rows* are allowed: a peer that is not installed leaves its rows out, and the report
    then leaves the ratio out too.
    """
    for r in ratios:
        for s in (r.section, r.den_section or r.section):
            if s not in sections:
                raise ValueError(
                    f"ratio {r.label!r} names section {s!r}, which this module did not write; "
                    f"its sections: {list(sections)}"
                )


def _find(rows: Sequence[Row], name: str, at: Mapping[str, Any] | None) -> Row | str:
    """The one measured row called ``name`` (matching ``at``), or why there is none."""
    found = [
        r
        for r in rows
        if r.get("name") == name
        and not not_run(r)
        and all(r.get(k) == v for k, v in (at or {}).items())
    ]
    if len(found) == 1:
        return found[0]
    where = f" with {at}" if at else ""
    if not found:
        return f"no row {name!r}{where}"
    return f"{len(found)} rows {name!r}{where}: give `at` to pick one"


def evaluate(ratio: Ratio, sections: Mapping[str, Sequence[Row]]) -> dict[str, Any]:
    """The ratio's value from the rows, its spread, and whether its goal is met.

    Returns the declaration plus ``value`` (``None`` when a row or number is missing, with
    ``why``), ``q1`` / ``q3`` (quartiles of the ratio of medians over bootstrap resamples of the
    repeats, rounds kept together when both rows were timed in the same rounds: see
    ``stats.ratio_spread``; ``None`` for single values), ``n`` (repeats of numerator and
    denominator), ``paired``, ``met`` and ``noisy_goal`` (the goal lies inside the quartiles: the
    verdict could flip on a rerun).
    """
    out: dict[str, Any] = {**ratio.to_dict(), "value": None, "met": None}
    den_section = ratio.den_section or ratio.section
    num_rows = sections.get(ratio.section)
    den_rows = sections.get(den_section)
    if num_rows is None or den_rows is None:
        return {**out, "why": f"section {ratio.section if num_rows is None else den_section!r}"}
    num, den = _find(num_rows, ratio.num, ratio.at), _find(den_rows, ratio.den, ratio.at)
    if isinstance(num, str) or isinstance(den, str):
        return {**out, "why": num if isinstance(num, str) else den}
    a, b = raw_values(num, ratio.metric), raw_values(den, ratio.metric)
    va, vb = num.get(ratio.metric), den.get(ratio.metric)
    if not a or not b or not isinstance(va, (int, float)) or not isinstance(vb, (int, float)):
        return {**out, "why": f"no {ratio.metric} in both rows"}
    if ratio.metric.endswith("median_s"):  # recompute: the stored value may be rounded
        va, vb = summarize(a).median, summarize(b).median
    if ratio.invert:
        a, b, va, vb = b, a, vb, va
    if not vb or math.isnan(va) or math.isnan(vb):
        return {**out, "why": "zero or NaN denominator"}
    value = va / vb
    # paired: both wall-clock samples come from one compare() call, round by round
    paired = (
        ratio.metric == "median_s"
        and num.get("rounds") is not None
        and num.get("rounds") == den.get("rounds")
        and len(a) == len(b)
    )
    spread = ratio_spread(a, b, paired) if len(a) > 1 or len(b) > 1 else None
    out.update(value=value, n=[_repeats(num, ratio.metric), _repeats(den, ratio.metric)],
               paired=paired)  # fmt: skip
    out["q1"], out["q3"] = spread if spread else (None, None)
    if ratio.goal is not None:
        out["met"] = goal_met(value, ratio.goal, ratio.op)
        if spread:
            lo, hi = goal_region(ratio.goal, ratio.op)
            inside = spread[0] >= lo and spread[1] <= hi
            touches = spread[1] >= lo and spread[0] <= hi
            out["noisy_goal"] = touches and not inside
    return out


def _repeats(row: Row, metric: str) -> int:
    """How many measurements stand behind ``row[metric]`` (a minimum: all the repeats)."""
    raw = raw_values(row, metric)
    if metric.endswith("median_s") or not isinstance(row.get("times_s"), list):
        return len(raw)
    return len(row["times_s"]) if metric == "min_s" else len(raw)


def goal_region(goal: float, op: str | None) -> tuple[float, float]:
    """The values that meet the goal, as a closed interval."""
    if op == ">=":
        return goal, math.inf
    if op == "<=":
        return -math.inf, goal
    if op == "~":
        return 1 - goal, 1 + goal
    raise ValueError(f"unknown op {op!r}")


def goal_met(value: float, goal: float, op: str | None) -> bool:
    lo, hi = goal_region(goal, op)
    return lo <= value <= hi
