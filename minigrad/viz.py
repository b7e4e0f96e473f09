"""Pictures of what happens: the computation graph, the loss curve, the embedding space.

* :func:`to_dot` writes the graph that ``backward()`` walks as Graphviz DOT text: one box per
  tensor, labelled with the operation that made it, its shape and (after backward) the norm of
  its gradient.  :func:`render_dot` turns it into SVG/PNG when Graphviz's ``dot`` program is
  installed.
* :func:`plot_loss` and :func:`plot_embeddings` write PNG files with matplotlib.  They use the
  Agg canvas directly (no ``pyplot``), so they work without a display and never change the
  global matplotlib backend of a program that imports minigrad.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from minigrad.tensor import Tensor


# --------------------------------------------------------------------------- graph
def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _grad_norm(t: Tensor) -> float | None:
    g = t.grad
    if g is None:
        return None
    if hasattr(g, "values") and hasattr(g, "indices"):  # row-sparse: only stored rows count
        return float(np.linalg.norm(np.asarray(g.values, dtype=np.float64)))
    return float(np.linalg.norm(np.asarray(g, dtype=np.float64)))


def to_dot(root: Tensor, names: Mapping[str, Tensor] | None = None, title: str = "") -> str:
    """The computation graph ending at ``root`` as Graphviz DOT text.

    Each node is a tensor that requires grad: leaves (parameters and inputs you made) are drawn
    as boxes, results of operations as rounded boxes named after the operation (``Mul``,
    ``Affine``, ...).  An arrow goes from each input to the result computed from it; backward
    walks the arrows in reverse.  After ``backward()`` a node shows ``|grad|``, the norm of its
    gradient (leaves keep their ``.grad``; call ``t.retain_grad()`` on an intermediate before
    backward to see its gradient as well).

    ``names`` labels tensors (``{"W": w}``).  Tensors that do not require grad (constants,
    integer ids) are not part of the graph and are not drawn.

    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> print(to_dot((x * x).sum()).splitlines()[0])
    digraph minigrad {
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"to_dot needs a Tensor, got {type(root).__name__}")
    label_of = {id(t): n for n, t in (names or {}).items()}
    ids: dict[int, str] = {}
    order: list[Tensor] = []
    edges: list[tuple[int, int]] = []
    stack = [root]
    ids[id(root)] = "t0"
    while stack:  # explicit stack: deep graphs are fine (no recursion)
        t = stack.pop()
        order.append(t)
        fn = t.grad_fn
        if fn is None:
            continue
        for parent in getattr(fn, "inputs", ()):
            if parent is None:
                continue
            if id(parent) not in ids:
                ids[id(parent)] = f"t{len(ids)}"
                stack.append(parent)
            edges.append((id(parent), id(t)))

    lines = ["digraph minigrad {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];']
    if title:
        lines.append(f'  labelloc="t"; label="{_escape(title)}";')
    for t in order:
        parts = []
        name = label_of.get(id(t))
        if t.grad_fn is not None:
            op = type(t.grad_fn).__name__
            parts.append(f"{name} = {op}" if name else op)
            style = 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"'
        else:
            parts.append(name or ("parameter" if t.requires_grad else "leaf"))
            style = 'shape=box, style=filled, fillcolor="#e3f3dc"'
        parts.append(f"shape {tuple(t.shape)}")
        norm = _grad_norm(t)
        if norm is not None:
            parts.append(f"|grad| = {norm:.4g}")
        if t is root:
            style += ", penwidth=2"
        label = "\\n".join(_escape(p) for p in parts)
        lines.append(f'  {ids[id(t)]} [label="{label}", {style}];')
    for src, dst in edges:
        lines.append(f"  {ids[src]} -> {ids[dst]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graphviz_available() -> bool:
    """True when Graphviz's ``dot`` program is on the PATH (needed to draw DOT text)."""
    return shutil.which("dot") is not None


def render_dot(dot: str, path: str | os.PathLike[str]) -> Path:
    """Draw DOT text into ``path`` (.svg or .png, chosen by the suffix) with Graphviz's ``dot``.

    Raises ``RuntimeError`` when ``dot`` is not installed (check :func:`graphviz_available`).
    """
    out = Path(path)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in ("svg", "png"):
        raise ValueError(f"render_dot writes .svg or .png files, got {out.name!r}")
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("Graphviz's `dot` program is not installed; cannot render DOT text")
    proc = subprocess.run(
        [exe, f"-T{fmt}", "-o", str(out)], input=dot.encode(), capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
    return out


# --------------------------------------------------------------------------- plots
def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def plot_loss(
    path: str | os.PathLike[str],
    train_steps: Sequence[int],
    train_loss: Sequence[float],
    eval_steps: Sequence[int] = (),
    eval_loss: Sequence[float] = (),
    vocab_size: int | None = None,
) -> Path:
    """Train loss per step (raw and smoothed) and held-out loss, as a PNG.

    A dashed line marks ``log V``, the loss of a model that guesses uniformly among V tokens:
    the curve starts near it and should end well below it.  The step axis is logarithmic
    beyond step 10, so the fast early drop and the long tail both stay visible.
    """
    fig = _figure(8, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    steps = np.asarray(train_steps)
    loss = np.asarray(train_loss, dtype=np.float64)
    ax.plot(steps, loss, color="#9ecae1", linewidth=0.8, label="train loss (each step)")
    if len(loss) >= 10:
        w = max(5, len(loss) // 50)
        # mean of the last k steps, k = 10% of the step number (at most w): short windows
        # early, where the loss changes fast, so the curve does not lag behind the raw one
        csum = np.concatenate([[0.0], np.cumsum(loss)])
        idx = np.arange(1, len(loss) + 1)
        k = np.clip(np.round(0.1 * idx).astype(np.int64), 1, w)
        smooth = (csum[idx] - csum[idx - k]) / k
        ax.plot(steps, smooth, color="#08519c", linewidth=1.8, label="train (running mean)")
    if len(eval_steps):
        ax.plot(eval_steps, eval_loss, "o-", color="#d94801", markersize=4, label="held-out loss")
    if vocab_size:
        ax.axhline(
            np.log(vocab_size),
            color="grey",
            linestyle="--",
            linewidth=1,
            label=f"uniform guess: log V = {np.log(vocab_size):.2f}",
        )
    # Most of the drop happens in the first few hundred steps: a log-like step axis (linear
    # from 0 to 10, logarithmic after) shows both that and the long flat end.
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlim(left=0)
    ax.set_title("Next-token cross-entropy loss during training")
    ax.set_xlabel("training step (logarithmic after 10)")
    ax.set_ylabel("loss (nats per token)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    return out


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows onto their two main directions: ``(points (n, 2), explained fractions (2,))``.

    PCA centres the vectors and keeps the two directions along which they vary most (the top
    right-singular vectors of the centred matrix).  Signs are fixed (largest |coordinate|
    positive) so that the picture does not flip between runs.
    """
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or len(v) < 2:
        raise ValueError(f"pca_2d needs at least 2 vectors in a (n, d) array, got {v.shape}")
    centred = v - v.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:2]
    if len(comps) < 2:
        comps = np.vstack([comps, np.zeros_like(comps)])
    pts = centred @ comps.T
    for j in range(2):
        k = int(np.argmax(np.abs(pts[:, j])))
        if pts[k, j] < 0:
            pts[:, j] = -pts[:, j]
    var = s**2
    frac = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    return pts, np.pad(frac, (0, 2 - len(frac)))


def plot_embeddings(
    path: str | os.PathLike[str],
    panels: Sequence[tuple[str, np.ndarray]],
    words: Sequence[str],
    labels: Sequence[str] | None = None,
    title: str = "Word embeddings projected to 2-D with PCA",
) -> Path:
    """One scatter plot per ``(panel title, vectors)``, side by side, coloured by ``labels``.

    Every point is a word (its row of the embedding matrix), written next to it.  With
    ``labels`` (the ground-truth classes) the colours show whether classes form clusters.
    """
    from matplotlib import colormaps

    fig = _figure(6.2 * len(panels) + 1.8, 6.0)
    classes = list(dict.fromkeys(labels)) if labels is not None else []
    cmap = colormaps["tab10"]
    colour = {c: cmap(i % 10) for i, c in enumerate(classes)}
    for p, (panel_title, vecs) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), p + 1)
        pts, frac = pca_2d(vecs)
        if labels is None:
            ax.scatter(pts[:, 0], pts[:, 1], s=22, color="#3182bd")
        else:
            for c in classes:
                mask = np.array([lab == c for lab in labels])
                ax.scatter(pts[mask, 0], pts[mask, 1], s=26, color=colour[c], label=c)
        for (x, y), w in zip(pts, words):
            ax.annotate(w, (x, y), xytext=(3, 2), textcoords="offset points", fontsize=6.5)
        ax.set_title(panel_title)
        ax.set_xlabel(f"principal component 1 ({frac[0]:.0%} of variance)")
        ax.set_ylabel(f"principal component 2 ({frac[1]:.0%} of variance)")
        ax.grid(alpha=0.3)
    if labels is not None:
        handles, names = fig.axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="center right", title="word class", frameon=True)
    fig.suptitle(title, fontsize=13)
    fig.tight_layout(rect=(0, 0, (1 - 1.7 / fig.get_figwidth()) if labels else 1, 0.95))
    out = Path(path)
    fig.savefig(out, format="png")
    return out
