"""``minigrad graph``: draw the computation graph of a small example, the graph backward() walks.

The example is a one-step next-token model, the same shape as ``minigrad explain``::

    x = E[ids]                 (embedding lookup)
    logits = x @ W.T + b       (Linear)
    loss = cross_entropy(logits, targets)

After ``loss.backward()`` every node shows the norm of its gradient.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad import nn
from minigrad.atomic import atomic_write_text
from minigrad.commands.common import CLIError, add_command, echo
from minigrad.nn import functional as F
from minigrad.viz import graphviz_available, render_dot, to_dot


def example_graph(seed: int = 0) -> str:
    """DOT text of the example above, after backward (gradients shown)."""
    minigrad.manual_seed(seed)
    emb = nn.Embedding(3, 4)
    head = nn.Linear(4, 3)
    x = emb(np.array([0, 1]))
    x.retain_grad()  # intermediates keep .grad only when asked
    logits = head(x)
    logits.retain_grad()
    loss = F.cross_entropy(logits, np.array([1, 2]))
    loss.backward()
    names = {
        "E": emb.weight,
        "W": head.weight,
        "b": head.bias,
        "x": x,
        "logits": logits,
        "loss": loss,
    }
    return to_dot(loss, names=names, title="loss = cross_entropy(E[ids] @ W.T + b, targets)")


def _check_output(out: Path) -> None:
    """One-line errors, before any work, for an -o that cannot be written."""
    folder = out.parent
    if not folder.exists():
        raise CLIError(f"-o {str(out)!r}: the folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise CLIError(f"-o {str(out)!r}: {str(folder)!r} is not a folder")
    if out.is_dir():
        raise CLIError(f"-o {str(out)!r} is a folder; give a file name")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CLIError(f"-o {str(out)!r}: the folder {str(folder)!r} is not writable")


def _write(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise CLIError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def command(args: argparse.Namespace) -> int:
    """the computation graph of a small example (DOT text, or SVG/PNG with graphviz)

    Build loss = cross_entropy(E[ids] @ W.T + b, targets), run backward, and print the graph as
    Graphviz DOT text (op, shape, gradient norm per node).
    """
    if args.output is not None:
        out = Path(args.output)
        if out.suffix.lower() not in (".svg", ".png", ".dot"):
            raise CLIError(f"-o must end in .svg, .png or .dot, got {args.output!r}")
        _check_output(out)
    dot = example_graph()
    if args.output is None:
        echo(dot.rstrip("\n"))
        if not graphviz_available():
            echo("// Graphviz's `dot` is not installed: paste this text into any DOT viewer,")
            echo("// or install graphviz and run `minigrad graph -o graph.svg`.")
        return 0
    if out.suffix.lower() == ".dot":
        _write(out, dot)
        echo(f"wrote {out}")
        return 0
    if not graphviz_available():
        fallback = out.with_suffix(".dot")
        _write(fallback, dot)
        echo(
            f"Graphviz's `dot` is not installed, so {out} cannot be drawn; wrote the DOT text "
            f"to {fallback} instead"
        )
        return 0
    try:
        render_dot(dot, out)
    except RuntimeError as exc:
        raise CLIError(str(exc)) from None
    echo(f"wrote {out}")
    return 0


def register(subparsers: Any) -> None:
    p = add_command(subparsers, "graph", command)
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write .svg/.png (needs graphviz) or .dot"
    )
