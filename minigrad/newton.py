"""``minigrad newton``: what a second derivative is for, shown by Newton's method in 1-D.

Near a point x, a smooth function looks like a parabola (its Taylor expansion to second order)::

    f(x + d) ~ f(x) + f'(x) d + f''(x) d^2 / 2

The first derivative says which way is down; the second says how fast the slope changes, so how
far down goes before the slope turns: the parabola's lowest point is at ``d = -f'(x) / f''(x)``.
Newton's method steps there, again and again.  Gradient descent knows only f' and moves
``-lr * f'(x)`` with a step size ``lr`` chosen by hand: too small and it crawls where the
function is flat, too large and it overshoots where it is sharply curved.  Newton's step is
sized by the curvature itself, and near a minimum the number of correct digits doubles with
every step.

Both derivatives come from minigrad: ``f'`` from ``minigrad.grad(f(x), x, create_graph=True)``,
which records its own graph, and ``f''`` from differentiating that result once more.  The
function is typed as text (:mod:`minigrad.expression`), so it is any formula of one variable.

    >>> import io
    >>> r = newton("exp(x) - 2*x", x0=3.0, out=io.StringIO())
    >>> round(r.newton_x[-1], 10), r.converged          # the minimum is at x = ln 2
    (0.6931471806, True)
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import IO

import numpy as np

import minigrad
from minigrad.expression import ExpressionError, evaluate, variables
from minigrad.terminal import Style

#: the default function: convex, with its minimum at ln 2, and curvature e^x that changes a lot
DEFAULT_FUNCTION = "exp(x) - 2*x"

#: |f'(x)| below this counts as "at the minimum"
TOLERANCE = 1e-10

#: gradient descent is run this long at most (to count how many steps it needs)
MAX_DESCENT_STEPS = 10_000


class NewtonError(ValueError):
    """A function or setting the walk-through cannot use (printed as one line by the CLI)."""


@dataclass
class NewtonResult:
    """The iterates of both methods, for tests and notebooks."""

    function: str
    variable: str
    newton_x: list[float] = field(default_factory=list)  # x_0, x_1, ... of Newton's method
    slopes: list[float] = field(default_factory=list)  # f'(x_k)
    curvatures: list[float] = field(default_factory=list)  # f''(x_k)
    descent_x: list[float] = field(default_factory=list)  # the same number of descent steps
    converged: bool = False
    descent_steps_needed: int | None = None  # to reach the same |f'|, None if it never did


def derivatives(expr: str, x: float) -> tuple[float, float, float]:
    """``f(x), f'(x), f''(x)`` of the one-variable expression ``expr``, by autograd.

    The first ``grad`` keeps a graph (``create_graph=True``), so its result is itself a function
    of x that can be differentiated: that second ``grad`` is the second derivative.
    """
    (name,) = variables(expr)
    y, leaves = evaluate(expr, {name: x})
    if not y.requires_grad:  # the variable dropped out (e.g. 0*x): a constant function
        return float(y.item()), 0.0, 0.0
    if y.data.size != 1:
        raise NewtonError(f"{expr!r} is not a number but has shape {y.shape}")
    with np.errstate(all="ignore"):  # an overflow shows as inf, and the caller says so
        (d1,) = minigrad.grad(y, leaves[name], create_graph=True)
        if not d1.requires_grad:  # f' does not depend on x (a linear function): f'' = 0
            return float(y.item()), float(d1.item()), 0.0
        (d2,) = minigrad.grad(d1, leaves[name], allow_unused=True)
    return float(y.item()), float(d1.item()), 0.0 if d2 is None else float(d2.item())


def _slope(expr: str, x: float) -> float:
    return derivatives(expr, x)[1]


def _check_function(expr: str) -> str:
    try:
        names = variables(expr)
    except ExpressionError as exc:
        raise NewtonError(str(exc)) from None
    if len(names) != 1:
        raise NewtonError(
            f"newton needs a function of one variable, like {DEFAULT_FUNCTION!r}; "
            f"{expr.strip()!r} has {len(names)}: {', '.join(names) or 'none'}"
        )
    return names[0]


def newton(
    expr: str = DEFAULT_FUNCTION,
    x0: float = 3.0,
    steps: int = 8,
    lr: float = 0.1,
    out: IO[str] | None = None,
    style: Style | None = None,
) -> NewtonResult:
    """Minimise ``expr`` from ``x0`` by Newton's method and by gradient descent; print both.

    ``steps`` Newton steps are taken (fewer once ``|f'(x)| < TOLERANCE``) and as many descent
    steps with learning rate ``lr``; then descent continues, unprinted, to count how many steps
    it needs to get as close.  Raises :class:`NewtonError` for an expression that is not a
    function of exactly one variable, a non-positive ``steps`` or ``lr``, a non-finite ``x0``,
    or values that stop being finite.
    """
    s = style or Style(False)
    stream = out or sys.stdout

    def say(text: str = "") -> None:
        print(text, file=stream)

    name = _check_function(expr)
    if not (isinstance(steps, int) and 1 <= steps <= 100):
        raise NewtonError(f"--steps must be between 1 and 100, got {steps}")
    if not (lr > 0 and math.isfinite(lr)):
        raise NewtonError(f"--lr must be a positive number, got {lr}")
    if not math.isfinite(x0):
        raise NewtonError(f"--x0 must be a finite number, got {x0}")
    try:
        return _run(expr.strip(), name, float(x0), steps, float(lr), say, s)
    except ExpressionError as exc:
        raise NewtonError(str(exc)) from None


def _run(expr, name, x0, steps, lr, say, s) -> NewtonResult:
    result = NewtonResult(function=expr, variable=name)
    say(s.bold(f"Minimising f({name}) = {expr} from {name} = {x0:g}"))
    say(s.dim(f"f'({name}) and f''({name}) by minigrad.grad: the second is the gradient of the"))
    say(s.dim("first, which create_graph=True recorded as a graph of its own."))
    say()
    say(f"Newton: {name} <- {name} - f'/f''        gradient descent: {name} <- {name} - {lr:g} f'")
    p1, p2 = "f'", "f''"
    header = (
        f"{'step':>4}  {name + ' (Newton)':>16}  {'f':>11}  {p1:>10}  {p2:>10}"
        f"  {name + ' (descent)':>16}  {p1:>10}"
    )
    say(s.cyan(header))
    x, xd = x0, x0
    warned = False
    for k in range(steps + 1):
        f, d1, d2 = derivatives(expr, x)
        gd1 = _slope(expr, xd)
        if not all(map(math.isfinite, (x, f, d1, d2, xd, gd1))):
            raise NewtonError(
                f"the values stopped being finite at step {k} (x = {x:g}): try another --x0"
            )
        result.newton_x.append(x)
        result.slopes.append(d1)
        result.curvatures.append(d2)
        result.descent_x.append(xd)
        say(
            f"{k:>4}  {x:>16.10g}  {f:>11.6g}  {d1:>10.3e}  {d2:>10.3e}  {xd:>16.10g}  {gd1:>10.3e}"
        )
        if abs(d1) < TOLERANCE:
            result.converged = True
            break
        if k == steps:
            break
        if d2 == 0:
            raise NewtonError(
                f"f''({name}) = 0 at {name} = {x:g}: no curvature (the function is a straight "
                "line there), so no parabola to jump to: Newton's step -f'/f'' is undefined"
            )
        if d2 < 0 and not warned:
            say(s.yellow("      f'' < 0 here: the parabola opens downwards, so its stationary"))
            say(s.yellow("      point is a maximum and Newton's step heads there, not down."))
            warned = True
        x = x - d1 / d2
        xd = xd - lr * gd1
    say()
    if result.converged:
        n = len(result.newton_x) - 1
        kind = (
            "f'' > 0: a minimum"
            if result.curvatures[-1] > 0
            else "f'' <= 0: not a minimum; Newton finds points where f' = 0, of any kind"
        )
        say(
            s.green(f"Newton: |f'| < {TOLERANCE:g} after {n} steps, at {name} = {x:.12g} ({kind}).")
        )
        needed, x_end = _descent_steps(expr, result.descent_x[-1], lr, len(result.descent_x) - 1)
        result.descent_steps_needed = needed
        if needed is None:
            say(
                f"Gradient descent with lr = {lr:g} does not get there in {MAX_DESCENT_STEPS} "
                "steps."
            )
        else:
            say(
                f"Gradient descent with lr = {lr:g} needs {needed} steps to reach |f'| < "
                f"{TOLERANCE:g} (at {name} = {x_end:.12g})."
            )
    else:
        say(f"Newton did not reach |f'| < {TOLERANCE:g} in {steps} steps (--steps for more).")
    say(s.dim("Near the minimum Newton's error is squared at every step (the digits double),"))
    say(s.dim("because its step comes from the curvature f'', not from a hand-picked lr."))
    return result


def _descent_steps(expr: str, x: float, lr: float, done: int) -> tuple[int | None, float]:
    """How many descent steps in all reach |f'| < TOLERANCE (continuing from step ``done``),
    and where; None if that takes more than ``MAX_DESCENT_STEPS`` or the values blow up."""
    for k in range(done, MAX_DESCENT_STEPS):
        d1 = _slope(expr, x)
        if not np.isfinite(d1):
            return None, x
        if abs(d1) < TOLERANCE:
            return k, x
        x -= lr * d1
    return None, x
