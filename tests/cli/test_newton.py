"""``minigrad newton``: second derivatives by autograd, put to work in Newton's method."""

from __future__ import annotations

import io
import math
from itertools import pairwise

import pytest

from minigrad.cli import main
from minigrad.newton import derivatives, newton
from tests.cli.support import assert_one_line_error


def test_derivatives_of_x_cubed():
    assert derivatives("x**3", 2.0) == (8.0, 12.0, 12.0)  # x^3, 3x^2, 6x
    assert derivatives("t**3", -0.5) == (-0.125, 0.75, -3.0)
    assert derivatives("3*x + 1", 2.0) == (7.0, 3.0, 0.0)  # a line: no curvature


def test_newton_converges_quadratically_to_the_minimum():
    r = newton("exp(x) - 2*x", x0=3.0, out=io.StringIO())
    assert r.converged
    assert r.newton_x[-1] == pytest.approx(math.log(2), abs=1e-12)
    for x, slope, curvature in zip(r.newton_x, r.slopes, r.curvatures):
        assert slope == pytest.approx(math.exp(x) - 2, rel=1e-12, abs=1e-15)
        assert curvature == pytest.approx(math.exp(x), rel=1e-12)  # f'' by autograd
    # near the minimum the error is squared at every step: e_{k+1} <= C e_k^2
    errors = [abs(x - math.log(2)) for x in r.newton_x]
    close = [(a, b) for a, b in pairwise(errors) if 1e-7 < a < 0.1]  # (above rounding)
    assert close and all(b <= 1.0 * a * a for a, b in close)
    assert r.descent_steps_needed > 10 * (len(r.newton_x) - 1)  # descent: linear, much slower


def test_newton_command_prints_the_table(capsys):
    assert main(["newton"]) == 0
    out = capsys.readouterr().out
    assert "Minimising f(x) = exp(x) - 2*x from x = 3" in out
    assert "Newton: x <- x - f'/f''" in out and "gradient descent: x <- x - 0.1 f'" in out
    assert "Newton: |f'| < 1e-10 after 7 steps, at x = 0.69314718056 (f'' > 0: a minimum)" in out
    assert "Gradient descent with lr = 0.1 needs" in out
    assert "\x1b[" not in out


def test_newton_heads_for_a_maximum_where_the_curvature_is_negative(capsys):
    assert main(["newton", "--f", "x**3 - 3*x", "--x0", "-0.5"]) == 0
    out = capsys.readouterr().out
    assert "f'' < 0 here: the parabola opens downwards" in out
    assert "at x = -1 (f'' <= 0: not a minimum" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--f", "a*b"], "one variable"),
        (["--f", "2 + 3"], "has 0: none"),
        (["--f", "x["], "cannot parse"),
        (["--f", "open(x)"], "unknown function 'open'"),
        (["--f", "2*x + 1"], "f''(x) = 0 at x = 3"),
        (["--f", "sqrt(1 + x**2)", "--x0", "2"], "f''(x) = 0"),  # Newton overshoots to 1e8
        (["--f", "exp(exp(x))", "--x0", "7"], "stopped being finite"),
        (["--steps", "0"], "--steps must be between 1 and 100"),
        (["--lr", "-1"], "--lr must be a positive number"),
        (["--x0", "nan"], "--x0 must be a finite number"),
    ],
)
def test_bad_functions_and_settings_are_one_line_errors(args, fragment, capsys):
    assert main(["newton", *args]) == 2
    assert_one_line_error(capsys.readouterr().err, fragment)
