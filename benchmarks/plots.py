"""The scaling plots of a run, drawn from its ``results.json`` data (matplotlib, Agg backend).

``make_all(results, out_dir)`` writes one PNG per curve that the run measured (see
``benchmarks/scaling.py``) and returns their paths; a curve that was not run is simply absent.

Conventions, so that the plots read alike: sizes that span decades on log axes; minigrad in
blues, PyTorch in oranges and reds, NumPy in greens, HF ``tokenizers`` in purple, tiktoken in
brown, the naive trainer in grey; a floor or ceiling (the copy bandwidth) as a thick black dashed
line; points that were clipped (the naive trainer stopped at its time budget, or not run because
its estimate was over it) as hollow triangles pointing up, since the true value is higher.

    python -m benchmarks.plots OUT_DIR       # redraw from OUT_DIR/results.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter

Row = dict[str, Any]
FAMILIES = (  # (name prefix, colour map): the first prefix that matches wins
    ("floor", "Greys"),
    ("minigrad", "Blues"),
    ("torch", "Oranges"),
    ("np", "Greens"),
    ("numpy", "Greens"),
    ("HF", "Purples"),
    ("tiktoken", "YlOrBr"),
    ("naive", "Greys"),
)
MARKERS = "osD^vP*Xhp<>"


def style_for(names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """A line style per contender name: a colour of its family's map, a distinct marker.

    >>> s = style_for(["floor: copy g", "minigrad a"])
    >>> s["floor: copy g"]["linestyle"], s["minigrad a"]["linestyle"]
    ('--', '-')
    """
    members: dict[str, list[str]] = {}
    for n in names:
        fam = next((f for f, _ in FAMILIES if n.startswith(f)), "other")
        members.setdefault(fam, []).append(n)
    styles = {}
    for i, n in enumerate(names):
        fam = next((f for f, _ in FAMILIES if n.startswith(f)), "other")
        if fam == "floor":
            styles[n] = {"color": "black", "linestyle": "--", "linewidth": 2.5, "marker": None}
            continue
        cmap = dict(FAMILIES).get(fam, "tab10")
        k, m = members[fam].index(n), len(members[fam])
        shade = 0.45 + 0.5 * (k / max(m - 1, 1)) if fam != "other" else 0.0
        color = plt.get_cmap(cmap)(shade) if fam != "other" else plt.get_cmap("tab10")(i % 10)
        dense = "dense" in n or "zero +" in n or "np.add.at" in n
        styles[n] = {
            "color": color,
            "linestyle": ":" if "naive" in n else ("-" if not dense else "-."),
            "linewidth": 1.6,
            "marker": MARKERS[i % len(MARKERS)],
        }
    return styles


def by_name(rows: Sequence[Row]) -> dict[str, list[Row]]:
    """Rows grouped by contender name, in first-seen order."""
    out: dict[str, list[Row]] = {}
    for r in rows:
        out.setdefault(str(r["name"]), []).append(r)
    return out


def draw(ax: Axes, rows: Sequence[Row], x: str, y: Callable[[Row], float | None]) -> None:
    """One line per contender: ``y(row)`` against ``row[x]``; clipped points hollow, dotted."""
    groups = by_name(rows)
    styles = style_for(list(groups))
    for name, rs in groups.items():
        st = styles[name]
        pts = sorted((r[x], y(r), bool(r.get("clipped"))) for r in rs if y(r) is not None)
        real = [(a, b) for a, b, c in pts if not c]
        clipped = [(a, b) for a, b, c in pts if c]
        if real:
            ax.plot(*zip(*real), label=name, **st)
        if clipped:
            joined = real[-1:] + clipped
            ax.plot(*zip(*joined), color=st["color"], linestyle=":", linewidth=1.2)
            ax.plot(
                *zip(*clipped),
                linestyle="none",
                marker="^",
                markersize=9,
                markerfacecolor="none",
                markeredgecolor=st["color"],
                label=f"{name}, clipped (△: stopped at the budget, or an estimate, not run)",
            )


PLAIN = FuncFormatter(lambda v, _: f"{v:g}")


def data_ticks(
    ax: Axes, values: Sequence[float], fmt: Callable[[float], str] = "{:g}".format
) -> None:
    """Tick the x axis at the measured sizes only, labelled plainly (``0.25``, ``4,096``)."""
    ax.set_xticks(sorted(set(values)), labels=[fmt(v) for v in sorted(set(values))])
    ax.xaxis.set_minor_formatter(NullFormatter())


def _plain_log_labels(ax: Axes) -> None:
    """Plain numbers (``0.5``, ``20``) instead of ``5x10^-1`` on a log y axis."""
    if ax.get_yscale() != "log":
        return
    ax.yaxis.set_major_formatter(PLAIN)
    lo, hi = ax.get_ylim()
    ax.yaxis.set_minor_formatter(PLAIN if hi / lo < 10 else NullFormatter())


def _finish(fig: plt.Figure, axes: Sequence[Axes], title: str, path: Path, ncol: int) -> Path:
    for ax in axes:
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.1)
        _plain_log_labels(ax)
    seen: dict[str, Any] = {}  # every panel's entries, each label once
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    labels, handles = list(seen), list(seen.values())
    fig.suptitle(title, fontsize=12)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    rows = (len(labels) + ncol - 1) // ncol
    fig.tight_layout(rect=(0, 0.015 + 0.03 * rows * 7.5 / fig.get_figheight(), 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _section(results: dict[str, Any], module: str, section: str) -> list[Row]:
    return results.get("modules", {}).get(module, {}).get("sections", {}).get(section, [])


def _ms(r: Row) -> float:
    return r["median_s"] * 1e3


def plot_scatter(rows: list[Row], x: str, path: Path) -> Path:
    """Time and GB/s of every scatter-add contender against ``x`` (``n`` or ``d``)."""
    fixed = "d=64" if x == "n" else f"n={rows[0]['n']:,}"
    xlabel = "rows of the upstream gradient g, n" if x == "n" else "embedding width d"
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 7.5))
    draw(a, rows, x, _ms)
    a.set(
        xscale="log",
        yscale="log",
        xlabel=f"{xlabel} (log scale)",
        ylabel="median time per call (ms, log scale)",
        title="time (lower is better)",
    )
    draw(b, rows, x, lambda r: r.get("GBps"))
    b.set(
        xscale="log",
        yscale="log",
        xlabel=f"{xlabel} (log scale)",
        ylabel="GB/s = (bytes of g + 2 x U x d x 4) / time (log scale)",
        title="throughput (higher is better); dashed: copy bandwidth",
    )
    if x == "d":
        for ax in (a, b):
            data_ticks(ax, [r["d"] for r in rows])
    title = (
        f"Embedding-gradient scatter-add vs {'n' if x == 'n' else 'd'} ({fixed}, V=50,000, "
        "Zipf ids, float32)\nblack dashed: one copy of g (np.copyto), the copy-bandwidth "
        "ceiling on the right (the scatter alone touches fewer bytes, so its time can be lower)"
    )
    return _finish(fig, (a, b), title, path, ncol=3)


def plot_embedding(rows: list[Row], path: Path) -> Path:
    """Wall-clock and CPU time per step against V; sparse solid, dense dash-dot."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 6.5), sharey=True)
    draw(a, rows, "V", _ms)
    draw(b, rows, "V", lambda r: r["cpu_median_s"] * 1e3 if r.get("cpu_median_s") else None)
    xlabel = "vocabulary size V (rows of the table, log scale)"
    a.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="time per training step (ms, log)")
    a.set_title("median wall-clock time")
    b.set(xscale="log", yscale="log", xlabel=xlabel)
    b.set_title("median CPU time of the same steps (unaffected by waiting for a core)")
    title = (
        "One training step of Embedding(V, 64) -> mean -> Linear(64, 64) on 4,096 Zipf ids, "
        "1 thread\nsolid: sparse gradients (work independent of V); dash-dot: dense gradients"
    )
    return _finish(fig, (a, b), title, path, ncol=3)


def plot_bpe(vocab_rows: list[Row], corpus_rows: list[Row], path: Path) -> Path:
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 6.5))
    secs = lambda r: r["median_s"]  # noqa: E731
    draw(a, vocab_rows, "vocab", secs)
    mb = vocab_rows[0]["corpus_bytes"] / 1e6 if vocab_rows else 0
    a.set(yscale="log", xlabel="vocabulary size (tokens, log scale)")
    a.set(ylabel="training time (s, log scale)", title=f"vs vocabulary size, {mb:g} MB corpus")
    a.set_xscale("log", base=2)
    if vocab_rows:
        data_ticks(a, [r["vocab"] for r in vocab_rows], "{:,.0f}".format)
    mb_rows = [{**r, "MB": r["corpus_bytes"] / 1e6} for r in corpus_rows]
    draw(b, mb_rows, "MB", secs)
    v = corpus_rows[0]["vocab"] if corpus_rows else 0
    b.set(xscale="log", yscale="log", xlabel="corpus size (MB of UTF-8 text, log scale)")
    if mb_rows:
        data_ticks(b, [r["MB"] for r in mb_rows])
    b.set(ylabel="training time (s, log scale)", title=f"vs corpus size, vocabulary {v:,}")
    budget = next((r.get("budget_s") for r in vocab_rows + corpus_rows if r.get("budget_s")), None)
    for ax in (a, b):
        if budget:
            ax.axhline(budget, color="grey", linewidth=0.8, linestyle="--")
            where = (0.99, budget)
            ax.annotate(
                f"naive trainer's time budget: {budget:g} s",
                where,
                ha="right",
                xycoords=("axes fraction", "data"),
                fontsize=8,
                color="grey",
                va="bottom",
            )
    title = "Byte-level BPE training (GPT-4 split, stdlib corpus), one thread"
    return _finish(fig, (a, b), title, path, ncol=3)


def plot_encode(rows: list[Row], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 6.5))
    draw(ax, rows, "bytes", lambda r: r.get("MBps"))
    ax.set(
        xscale="log",
        xlabel="text size (bytes of UTF-8, log scale)",
        ylabel="throughput (MB/s, higher is better)",
    )
    ax.set_ylim(bottom=0)
    v = rows[0].get("train_vocab", "?") if rows else "?"
    title = f"Encoding throughput vs text size, same {v:,}-token ranks for all, 1 thread"
    return _finish(fig, (ax,), title, path, ncol=2)


def make_all(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Draw every plot whose data the run has; return the PNG paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for x in ("n", "d"):
        rows = _section(results, "scaling_scatter", f"scatter_vs_{x}")
        if rows:
            written.append(plot_scatter(rows, x, out_dir / f"scatter_vs_{x}.png"))
    rows = _section(results, "scaling_embedding", "embedding_vs_V")
    if rows:
        written.append(plot_embedding(rows, out_dir / "embedding_vs_V.png"))
    vocab_rows = _section(results, "scaling_bpe", "bpe_vs_vocab")
    corpus_rows = _section(results, "scaling_bpe", "bpe_vs_corpus")
    if vocab_rows or corpus_rows:
        written.append(plot_bpe(vocab_rows, corpus_rows, out_dir / "bpe_training.png"))
    rows = _section(results, "scaling_encode", "encode_vs_size")
    if rows:
        written.append(plot_encode(rows, out_dir / "encode_vs_size.png"))
    return written


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print("usage: python -m benchmarks.plots OUT_DIR", file=sys.stderr)
        return 2
    path = Path(argv[0]) / "results.json"
    if not path.exists():
        print(f"no results.json in {argv[0]!r}", file=sys.stderr)
        return 2
    for p in make_all(json.loads(path.read_text()), Path(argv[0])):
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
