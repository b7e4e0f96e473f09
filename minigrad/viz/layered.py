"""Draw a computation graph with matplotlib alone: a layered drawing, as Graphviz's ``dot`` does.

Used by :func:`minigrad.viz.draw` when Graphviz is not installed.  Three steps:

1. Layers from the topological order: a result sits one column right of its latest input (the
   longest path from a leaf), so every arrow points right; then every node moves right as far
   as its users allow (a bias used only by the last layer sits next to it, not at the far
   left), which keeps arrows short.
2. Order within a column: start in the order of discovery, then a few sweeps that sort each
   column by the mean position of its neighbours in the column before (and after): the
   barycenter heuristic, which removes most crossings in graphs of this size.
3. Boxes sized from their text (monospace, so the size is known without measuring), columns as
   wide as their widest box, arrows from the right edge of an input to the left edge of a
   result.

Coordinates are inches on the page, so the figure grows with the graph instead of squeezing it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from minigrad.atomic import atomic_write_bytes
from minigrad.viz.plots import agg_figure

if TYPE_CHECKING:  # graph.py imports this module (lazily, in draw): no import back at run time
    from minigrad.viz.graph import Graph

#: the most nodes drawn this way (a bigger figure is unreadable, and slow to render)
MAX_NODES = 400

FONT_SIZE = 9
CHAR_W = FONT_SIZE * 0.6 / 72  # inches per character of a monospace font
LINE_H = FONT_SIZE * 1.25 / 72  # inches per line
PAD_X, PAD_Y = 0.14, 0.10  # inside a box
GAP_X, GAP_Y = 0.55, 0.22  # between columns, between boxes
MARGIN = 0.25

LEAF_COLOUR, OP_COLOUR = "#e3f3dc", "#dbe9f6"


def layers(graph: Graph) -> list[int]:
    """Column of each node: one right of its latest input, then as far right as its users allow."""
    col: list[int] = []
    for node in graph.nodes:  # topological order: inputs are placed already
        col.append(1 + max(col[i] for i in node.inputs) if node.inputs else 0)
    users: list[list[int]] = [[] for _ in graph.nodes]
    for src, dst in graph.edges:
        users[src].append(dst)
    for k in reversed(range(len(graph.nodes))):  # users first: their columns are final
        if users[k]:
            col[k] = min(col[u] for u in users[k]) - 1
    return col


def order_columns(graph: Graph, col: list[int], sweeps: int = 4) -> list[list[int]]:
    """The nodes of each column, top to bottom, after barycenter sweeps."""
    columns: list[list[int]] = [[] for _ in range(max(col) + 1)]
    for k, c in enumerate(col):
        columns[c].append(k)
    users: list[list[int]] = [[] for _ in graph.nodes]
    for src, dst in graph.edges:
        users[src].append(dst)
    for sweep in range(sweeps):
        pos = {k: i for column in columns for i, k in enumerate(column)}
        forward = sweep % 2 == 0
        seq = range(1, len(columns)) if forward else range(len(columns) - 2, -1, -1)
        for c in seq:

            def centre(k: int, forward: bool = forward, pos: dict = pos) -> float:
                near = graph.nodes[k].inputs if forward else users[k]
                return sum(pos[n] for n in near) / len(near) if near else pos[k]

            columns[c].sort(key=centre)  # stable: ties keep their order
            pos.update({k: i for i, k in enumerate(columns[c])})
    return columns


def draw_layered(graph: Graph, path: Path) -> Path:
    """Write ``graph`` to ``path`` (.png or .svg) with matplotlib; returns the path."""
    n = len(graph.nodes)
    if n > MAX_NODES:
        raise ValueError(
            f"the graph has {n} nodes, more than {MAX_NODES} to draw with matplotlib; install "
            "Graphviz (its `dot` program draws any size) or write a .dot file"
        )
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    texts = [node.lines() for node in graph.nodes]
    size = [
        (max(len(line) for line in t) * CHAR_W + 2 * PAD_X, len(t) * LINE_H + 2 * PAD_Y)
        for t in texts
    ]
    col = layers(graph)
    columns = order_columns(graph, col)
    col_w = [max(size[k][0] for k in column) for column in columns]
    col_h = [sum(size[k][1] for k in column) + GAP_Y * (len(column) - 1) for column in columns]
    title_h = 0.45 if graph.title else 0.0
    width = sum(col_w) + GAP_X * (len(columns) - 1) + 2 * MARGIN
    height = max(col_h) + 2 * MARGIN + title_h

    centre: dict[int, tuple[float, float]] = {}
    x = MARGIN
    for c, column in enumerate(columns):
        y = MARGIN + (max(col_h) + col_h[c]) / 2  # columns centred vertically; y grows upwards
        for k in column:
            centre[k] = (x + col_w[c] / 2, y - size[k][1] / 2)
            y -= size[k][1] + GAP_Y
        x += col_w[c] + GAP_X

    fig = agg_figure(width, height)
    fig.set_dpi(120)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    if graph.title:
        ax.text(
            width / 2,
            height - MARGIN - title_h / 2,
            graph.title,
            ha="center",
            va="center",
            fontsize=FONT_SIZE + 2,
            weight="bold",
        )
    for k, node in enumerate(graph.nodes):
        (cx, cy), (w, h) = centre[k], size[k]
        box = FancyBboxPatch(
            (cx - w / 2, cy - h / 2),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.06" if node.op else "square,pad=0",
            facecolor=LEAF_COLOUR if node.is_leaf else OP_COLOUR,
            edgecolor="#333333",
            linewidth=2.0 if node.is_root else 0.8,
        )
        ax.add_patch(box)
        ax.text(
            cx,
            cy,
            "\n".join(texts[k]),
            ha="center",
            va="center",
            family="monospace",
            fontsize=FONT_SIZE,
            linespacing=1.25,
        )
    for src, dst in graph.edges:
        (x0, y0), (x1, y1) = centre[src], centre[dst]
        start = (x0 + size[src][0] / 2, y0)
        end = (x1 - size[dst][0] / 2, y1)
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=10,
                color="#555555",
                linewidth=0.9,
                shrinkA=0,
                shrinkB=1,
            )
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lstrip(".").lower())
    return atomic_write_bytes(path, buffer.getvalue())
