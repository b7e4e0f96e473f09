"""The computation graph as a picture: what ``backward()`` walks, with values and gradients.

One box per tensor that requires grad, an arrow from each input to the result computed from it
(backward walks the arrows in reverse).  A box shows, micrograd-style, the tensor's name (yours:
``t.name = "a"`` or ``names={"a": t}``), the op that made it (``Mul``, ``Tanh``, ``Affine``...),
its shape, its value when it is small, and its gradient with its sign once backward has run (the
norm ``|grad|`` for larger tensors).

* :func:`to_dot` writes the picture as Graphviz DOT text.
* :func:`draw` writes ``.dot``, ``.svg`` or ``.png``: with Graphviz's ``dot`` program when it is
  installed, otherwise with matplotlib (:mod:`minigrad.viz.layered`, a layered drawing from the
  graph's topological order).  ``draw(t, path, backward=True)`` runs the backward pass itself,
  keeping every value and every intermediate gradient for the picture.

After a plain ``backward()`` the intermediates' arrays are freed (see
``minigrad.autograd.ReleasedTensor``): their boxes keep op, shape, name and a retained gradient,
but show no value.  Leaves always show theirs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.atomic import atomic_write_bytes, atomic_write_text
from minigrad.tensor import Tensor

#: values and gradients with at most this many elements are printed in full, with their signs
SMALL = 6

#: file types :func:`draw` writes
FORMATS = (".png", ".svg", ".dot")


@dataclass
class Node:
    """One tensor of the graph, with what its box shows."""

    key: str  # "t0", "t1", ...: the DOT node id
    op: str | None  # the op that made it ("Mul"), None for a leaf
    name: str | None
    shape: tuple[int, ...]
    value: np.ndarray | None  # None once backward has freed it
    grad: Any  # ndarray, Tensor (create_graph=True), RowSparseGrad or None
    is_root: bool = False
    inputs: list[int] = field(default_factory=list)  # indices of the nodes it was computed from

    @property
    def is_leaf(self) -> bool:
        return self.op is None

    def lines(self) -> list[str]:
        """The text of its box, one line each."""
        title = self.name or self.op or "leaf"
        lines = [title]
        if self.op is not None and self.name:
            lines.append(f"op {self.op}")
        lines.append(f"shape {self.shape}")
        if self.value is not None and self.value.size <= SMALL:
            lines += _array_lines("value", self.value)
        grad = _dense(self.grad)
        if grad is not None:
            if grad.size <= SMALL:
                lines += _array_lines("grad", grad)
            else:
                lines.append(f"|grad| = {float(np.linalg.norm(grad)):.4g}")
        return lines


def _array_lines(label: str, a: np.ndarray) -> list[str]:
    """``value [1, 2]``, or for a matrix one row per line, aligned under the first."""
    if np.ndim(a) != 2 or a.shape[0] < 2:
        return [f"{label} {format_array(a)}"]
    pad = " " * (len(label) + 1)
    return [f"{label} [{format_array(a[0])}"] + [
        f"{pad} {format_array(row)}" + ("]" if i == len(a) - 1 else "")
        for i, row in enumerate(a[1:], start=1)
    ]


@dataclass
class Graph:
    """The nodes in topological order (every input before the results made from it)."""

    nodes: list[Node]
    title: str = ""

    @property
    def edges(self) -> list[tuple[int, int]]:
        return [(i, k) for k, node in enumerate(self.nodes) for i in node.inputs]


def format_array(a: np.ndarray) -> str:
    """Numbers as a person reads them: ``2``, ``-0.5``, ``[1, -2.5]`` (4 significant digits)."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return _num(float(a))
    return "[" + ", ".join(format_array(x) for x in a) + "]"


def _num(x: float) -> str:
    s = f"{x:.4g}"
    return "0" if s == "-0" else s


def _dense(g: Any) -> np.ndarray | None:
    if g is None:
        return None
    if hasattr(g, "to_dense"):  # a row-sparse embedding gradient
        g = g.to_dense()
    if isinstance(g, Tensor):  # after backward(create_graph=True)
        g = g.data
    return np.asarray(g, dtype=np.float64)


def collect_graph(root: Any, names: Mapping[str, Any] | None = None, title: str = "") -> Graph:
    """The graph that ends at ``root``: every tensor that requires grad, inputs first.

    ``names`` labels tensors (``{"W": w}``); a tensor's own ``name`` is used otherwise.  Both
    survive a backward that freed the graph: the stand-ins keep the name and remember which
    tensor they stood for.  The walk uses an explicit stack (deep graphs are fine).
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"expected a Tensor, got {type(root).__name__}")
    label_of = {id(t): n for n, t in (names or {}).items()}
    index: dict[int, int] = {id(root): 0}
    found: list[Any] = [root]
    parents: list[list[int]] = [[]]
    stack = [root]
    while stack:
        t = stack.pop()
        fn = t.grad_fn
        for parent in getattr(fn, "inputs", ()) if fn is not None else ():
            if parent is None:
                continue
            if id(parent) not in index:
                index[id(parent)] = len(found)
                found.append(parent)
                parents.append([])
                stack.append(parent)
            parents[index[id(t)]].append(index[id(parent)])
    # Kahn's algorithm on the found tensors: inputs before the results computed from them
    waiting = [len(set(p)) for p in parents]
    users: list[list[int]] = [[] for _ in found]
    for k, ps in enumerate(parents):
        for p in set(ps):
            users[p].append(k)
    ready = [k for k, n in enumerate(waiting) if n == 0]
    order: list[int] = []
    while ready:
        k = ready.pop()
        order.append(k)
        for u in users[k]:
            waiting[u] -= 1
            if waiting[u] == 0:
                ready.append(u)
    position = {k: i for i, k in enumerate(order)}
    nodes = []
    for k in order:
        t = found[k]
        name = label_of.get(id(t)) or label_of.get(getattr(t, "origin_id", -1)) or t.name
        data = t.data if isinstance(t, Tensor) else None  # a released stand-in has no array
        nodes.append(
            Node(
                key=f"t{len(nodes)}",
                op=type(t.grad_fn).__name__ if t.grad_fn is not None else None,
                name=name,
                shape=tuple(t.shape),
                value=data,
                grad=t.grad,
                is_root=t is root,
                inputs=[position[p] for p in parents[k]],
            )
        )
    return Graph(nodes, title)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def graph_to_dot(graph: Graph) -> str:
    """DOT text of a collected graph (see :func:`to_dot`)."""
    lines = ["digraph minigrad {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];']
    if graph.title:
        lines.append(f'  labelloc="t"; label="{_escape(graph.title)}";')
    for node in graph.nodes:
        if node.is_leaf:
            style = 'shape=box, style=filled, fillcolor="#e3f3dc"'
        else:
            style = 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"'
        if node.is_root:
            style += ", penwidth=2"
        label = "\\n".join(_escape(line) for line in node.lines())
        lines.append(f'  {node.key} [label="{label}", {style}];')
    for src, dst in graph.edges:
        lines.append(f"  {graph.nodes[src].key} -> {graph.nodes[dst].key};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_dot(root: Tensor, names: Mapping[str, Any] | None = None, title: str = "") -> str:
    """The computation graph ending at ``root`` as Graphviz DOT text.

    Leaves (parameters and inputs you made) are plain boxes, results of operations rounded
    boxes; an arrow goes from each input to the result computed from it.  Tensors that do not
    require grad (constants, integer ids) are not part of the graph and are not drawn.

    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> print(to_dot((x * x).sum()).splitlines()[0])
    digraph minigrad {
    """
    return graph_to_dot(collect_graph(root, names, title))


def graphviz_available() -> bool:
    """True when Graphviz's ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def render_dot(dot: str, path: str | os.PathLike[str]) -> Path:
    """Draw DOT text into ``path`` (.svg or .png, chosen by the suffix) with Graphviz's ``dot``.

    Raises ``RuntimeError`` when ``dot`` is not installed (check :func:`graphviz_available`).
    ``dot`` writes a temporary file beside ``path``, renamed into place once complete.
    """
    out = Path(path)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in ("svg", "png"):
        raise ValueError(f"render_dot writes .svg or .png files, got {out.name!r}")
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("Graphviz's `dot` program is not installed; cannot render DOT text")
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
    return atomic_write_bytes(out, proc.stdout)


def backward_for_picture(root: Tensor) -> None:
    """Run backward from ``root`` keeping what a picture shows: every intermediate's gradient
    (``retain_grad``) and every value (``retain_graph=True``).  A root that is not a scalar is
    differentiated as ``root.sum()`` (an upstream gradient of ones)."""
    if not root.requires_grad:
        raise ValueError("the tensor does not require grad: there is no graph to backpropagate")
    stack, seen = [root], {id(root)}
    while stack:
        t = stack.pop()
        if t.grad_fn is None:
            continue
        if isinstance(t, Tensor):
            t.retain_grad()
        for parent in t.grad_fn.inputs:
            if parent is not None and id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    root.backward(np.ones(root.shape, dtype=root.dtype), retain_graph=True)


def draw(
    root: Tensor,
    path: str | os.PathLike[str],
    names: Mapping[str, Any] | None = None,
    title: str = "",
    backward: bool = False,
) -> Path:
    """Draw the graph ending at ``root`` into ``path``: ``.dot``, ``.svg`` or ``.png``.

    SVG and PNG come from Graphviz's ``dot`` when it is installed, else from matplotlib (a
    layered drawing: inputs on the left, each result one column right of its latest input).
    ``backward=True`` runs the backward pass first (see :func:`backward_for_picture`), so that
    every box shows its value and its gradient; leave it False if you ran backward yourself.
    The file is written whole or not at all.  Returns the path.

    >>> import tempfile, minigrad as mg
    >>> a = mg.tensor(2.0, requires_grad=True); a.name = "a"
    >>> out = draw((a * a).tanh(), Path(tempfile.mkdtemp()) / "g.dot", backward=True)
    >>> "grad" in out.read_text()
    True
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"draw writes {', '.join(FORMATS)} files, got {out.name!r}")
    if backward:
        backward_for_picture(root)
    graph = collect_graph(root, names, title)
    if suffix == ".dot":
        return atomic_write_text(out, graph_to_dot(graph))
    if graphviz_available():
        return render_dot(graph_to_dot(graph), out)
    from minigrad.viz.layered import draw_layered  # matplotlib, loaded only when needed

    return draw_layered(graph, out)
