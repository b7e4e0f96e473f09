"""Pictures of what happens: the computation graph, the loss curve, the embedding space.

* :func:`draw` writes the graph that ``backward()`` walks as a picture (``.png``, ``.svg``, or
  ``.dot`` text): a box per tensor with its name, op, shape, value and signed gradient, drawn by
  Graphviz when it is installed and by matplotlib when it is not; :func:`to_dot` gives the DOT
  text.  See :mod:`minigrad.viz.graph`.
* :func:`plot_loss` and :func:`plot_embeddings` write PNG files of a training run
  (:mod:`minigrad.viz.plots`).
"""

from minigrad.viz.graph import (
    collect_graph,
    draw,
    graphviz_available,
    render_dot,
    to_dot,
)
from minigrad.viz.plots import pca_2d, plot_embeddings, plot_loss

__all__ = [
    "collect_graph",
    "draw",
    "graphviz_available",
    "pca_2d",
    "plot_embeddings",
    "plot_loss",
    "render_dot",
    "to_dot",
]
