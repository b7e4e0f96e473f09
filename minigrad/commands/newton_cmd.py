"""``minigrad newton``: Newton's method beside gradient descent (:mod:`minigrad.newton`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from minigrad.commands.common import CLIError, add_colour_flag, add_command
from minigrad.newton import DEFAULT_FUNCTION, NewtonError, newton
from minigrad.terminal import Style, use_colour


def command(args: argparse.Namespace) -> int:
    """what a second derivative is for: Newton's method on a 1-D function, beside descent

    Minimises a function of one variable (--f, default "exp(x) - 2*x") from --x0 by Newton's
    method, x <- x - f'(x)/f''(x), and by gradient descent, x <- x - lr f'(x), printing x, f,
    f' and f'' at every step. f' and f'' come from minigrad.grad with create_graph=True.
    """
    style = Style(use_colour(sys.stdout, args.color))
    try:
        newton(args.f, x0=args.x0, steps=args.steps, lr=args.lr, out=sys.stdout, style=style)
    except NewtonError as exc:
        raise CLIError(str(exc)) from None
    return 0


def register(subparsers: Any) -> None:
    p = add_command(subparsers, "newton", command)
    p.add_argument(
        "--f", default=DEFAULT_FUNCTION, metavar="EXPR", help="the function (default %(default)r)"
    )
    p.add_argument("--x0", type=float, default=3.0, help="the start (default %(default)s)")
    p.add_argument("--steps", type=int, default=8, help="Newton steps (default %(default)s)")
    p.add_argument(
        "--lr", type=float, default=0.1, help="gradient descent's step size (default %(default)s)"
    )
    add_colour_flag(p)
