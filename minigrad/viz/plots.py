"""Training pictures: the loss curve and the embedding space, as PNG files.

:func:`plot_loss` and :func:`plot_embeddings` use matplotlib's Agg canvas directly (no
``pyplot``), so they work without a display and never change the global matplotlib backend of
a program that imports minigrad.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def agg_figure(width: float, height: float):
    """A matplotlib figure on its own Agg canvas (no pyplot, no global backend change)."""
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
    fig = agg_figure(8, 4.8)
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

    fig = agg_figure(6.2 * len(panels) + 1.8, 6.0)
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
