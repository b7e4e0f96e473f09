"""``minigrad graph``: draw a computation graph, the graph ``backward()`` walks.

Either any expression you type, over named scalars or tensors::

    minigrad graph --expr "tanh(a*b + b**2)" --values "a=2, b=-3" -o g.png

or, without ``--expr``, a one-step next-token model, the same shape as ``minigrad explain``::

    x = E[ids]                 (embedding lookup)
    logits = x @ W.T + b       (Linear)
    loss = cross_entropy(logits, targets)

Backward runs before the picture is drawn, so every box shows its value and its gradient (see
:mod:`minigrad.viz.graph`).  ``.png``/``.svg`` come from Graphviz when it is installed and from
matplotlib otherwise; ``.dot`` (or no ``-o``) gives the DOT text.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad import nn
from minigrad.commands.common import CLIError, add_command, echo
from minigrad.expression import ExpressionError, evaluate, parse_values
from minigrad.nn import functional as F
from minigrad.viz import draw, to_dot
from minigrad.viz.graph import FORMATS, backward_for_picture, format_array


def example_graph(seed: int = 0) -> tuple[minigrad.Tensor, dict[str, Any], str]:
    """The example model's loss, its names for the picture, and a title (backward not run)."""
    minigrad.manual_seed(seed)
    emb = nn.Embedding(3, 4)
    head = nn.Linear(4, 3)
    x = emb(np.array([0, 1]))
    logits = head(x)
    loss = F.cross_entropy(logits, np.array([1, 2]))
    names = {"E": emb.weight, "W": head.weight, "b": head.bias, "x": x, "logits": logits}
    names["loss"] = loss
    return loss, names, "loss = cross_entropy(E[ids] @ W.T + b, targets)"


def expression_graph(expr: str, values: str | None) -> tuple[minigrad.Tensor, dict[str, Any], str]:
    """The tensor ``expr`` computes from ``values``, its variables, and a title."""
    try:
        y, leaves = evaluate(expr, parse_values(values))
    except ExpressionError as exc:
        raise CLIError(str(exc)) from None
    if not y.requires_grad:
        raise CLIError(f"{expr.strip()!r} has no variables: there is no graph to draw")
    title = f"y = {expr.strip()}" + ("" if y.data.size == 1 else "   (gradients of sum(y))")
    return y, dict(leaves), title


def _check_output(out: Path) -> None:
    """One-line errors, before any work, for an -o that cannot be written."""
    if out.suffix.lower() not in FORMATS:
        raise CLIError(f"-o must end in .svg, .png or .dot, got {str(out)!r}")
    folder = out.parent
    if not folder.exists():
        raise CLIError(f"-o {str(out)!r}: the folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise CLIError(f"-o {str(out)!r}: {str(folder)!r} is not a folder")
    if out.is_dir():
        raise CLIError(f"-o {str(out)!r} is a folder; give a file name")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CLIError(f"-o {str(out)!r}: the folder {str(folder)!r} is not writable")


def command(args: argparse.Namespace) -> int:
    """draw a computation graph with values and gradients (PNG/SVG, or DOT text)

    --expr "tanh(a*b + b**2)" --values "a=2, b=-3" draws that expression (numbers, names,
    + - * / ** @, and tanh exp log sqrt abs sigmoid relu gelu sum mean softmax log_softmax
    maximum minimum); without --expr, a one-step next-token model. Backward runs first, so every
    box shows its value and gradient. PNG/SVG are drawn by Graphviz when installed, else by
    matplotlib; without -o the DOT text is printed.
    """
    out = Path(args.output) if args.output is not None else None
    if out is not None:
        _check_output(out)
    if args.values is not None and args.expr is None:
        raise CLIError("--values needs --expr (the values of the expression's variables)")
    if args.expr is not None:
        root, names, title = expression_graph(args.expr, args.values)
    else:
        root, names, title = example_graph()
    if out is None:
        with np.errstate(all="ignore"):  # inf and nan are values to show, not warnings
            backward_for_picture(root)
        echo(to_dot(root, names=names, title=title).rstrip("\n"))
        return 0
    try:
        with np.errstate(all="ignore"):
            draw(root, out, names=names, title=title, backward=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise CLIError(f"cannot draw {str(out)!r}: {exc}") from None
    echo(f"wrote {out}")
    if args.expr is not None:
        echo(f"  y = {format_array(root.data)}")
        for name, leaf in names.items():
            echo(f"  dy/d{name} = {format_array(np.asarray(leaf.grad))}")
    return 0


def register(subparsers: Any) -> None:
    p = add_command(subparsers, "graph", command)
    p.add_argument("--expr", metavar="EXPR", help='an expression, e.g. "tanh(a*b + b**2)"')
    p.add_argument(
        "--values",
        metavar="NAME=VALUE,...",
        help='values of its variables, e.g. "a=2, b=-3, w=[1, 2]" (default: 1.5, -0.5, 2, ...)',
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write .png or .svg (a picture) or .dot (text)"
    )
