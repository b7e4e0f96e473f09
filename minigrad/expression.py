"""A small, safe calculator language over named tensors: ``"tanh(a*b + b**2)"`` as a graph.

``minigrad graph --expr`` and ``minigrad newton --f`` let you type a formula.  It is parsed with
``ast`` and evaluated node by node with minigrad's ops, so every sub-expression becomes a tensor
in the autograd graph, named after its own text (``"a*b"``).  Nothing is ever passed to
``eval``: only the syntax below is accepted, and anything else is refused with a one-line
:class:`ExpressionError` (a ``ValueError``).

* numbers: ``2``, ``-3.5``, ``1e-3``; the constants ``pi`` and ``e``
* names: any other identifier is a variable (a float64 tensor that requires grad)
* operators: ``+ - * / ** @`` and unary ``-`` / ``+``
* functions: see :data:`FUNCTIONS` (``tanh(x)``, ``exp(x)``, ``sum(x)``, ``maximum(a, b)``...)

Values come as text too (:func:`parse_values`): ``"a=2, b=-3, w=[1, 2, 3]"``, numbers and
nested lists only (read with ``ast.literal_eval``).

    >>> y, variables = evaluate("tanh(a*b + b**2)", parse_values("a=2, b=-3"))
    >>> round(y.item(), 4), y.name
    (0.9951, 'tanh(a*b + b**2)')
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from minigrad.tensor import Tensor

#: the longest expression accepted (characters) and the most syntax nodes
MAX_LENGTH = 2000
MAX_NODES = 400

#: the most elements a value may have (the expression language is for pictures and demos)
MAX_ELEMENTS = 10_000

CONSTANTS = {"pi": math.pi, "e": math.e}

#: name -> (number of arguments, what it computes)
FUNCTIONS: dict[str, tuple[int, Callable[..., Tensor]]] = {
    "tanh": (1, lambda x: x.tanh()),
    "exp": (1, lambda x: x.exp()),
    "log": (1, lambda x: x.log()),
    "sqrt": (1, lambda x: x.sqrt()),
    "abs": (1, lambda x: x.abs()),
    "sigmoid": (1, lambda x: x.sigmoid()),
    "relu": (1, lambda x: x.relu()),
    "gelu": (1, lambda x: x.gelu()),
    "sum": (1, lambda x: x.sum()),
    "mean": (1, lambda x: x.mean()),
    "softmax": (1, lambda x: x.softmax(-1)),
    "log_softmax": (1, lambda x: x.log_softmax(-1)),
    "maximum": (2, lambda a, b: a.maximum(b)),
    "minimum": (2, lambda a, b: a.minimum(b)),
}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
    ast.MatMult: lambda a, b: a @ b,
}


class ExpressionError(ValueError):
    """An expression or value that cannot be used: the message says which part, and why."""


def parse(text: str) -> ast.Expression:
    """Parse ``text`` and check that it uses only the accepted syntax; returns the tree."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression has {len(text)} characters; at most {MAX_LENGTH}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {text!r}: {exc.msg}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(f"the expression has {len(nodes)} parts; at most {MAX_NODES}")
    for node in nodes:
        _check(node, text)
    return tree


def _check(node: ast.AST, text: str) -> None:
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant)
    if isinstance(node, ast.operator) and type(node) in _BINARY:
        return
    if isinstance(node, (ast.UAdd, ast.USub)):
        return
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise ExpressionError(f"only numbers are allowed as constants, not {node.value!r}")
        return
    if isinstance(node, ast.Call):
        fname = node.func.id if isinstance(node.func, ast.Name) else None
        if fname not in FUNCTIONS:
            shown = ast.get_source_segment(text.strip(), node.func) or "this"
            raise ExpressionError(
                f"unknown function {shown!r}; known: {', '.join(sorted(FUNCTIONS))}"
            )
        if node.keywords or len(node.args) != FUNCTIONS[fname][0]:
            n = FUNCTIONS[fname][0]
            raise ExpressionError(f"{fname}() takes {n} argument{'s' if n > 1 else ''}")
        return
    if isinstance(node, allowed):
        return
    if isinstance(node, ast.operator):
        what = type(node).__name__
    else:
        what = ast.get_source_segment(text.strip(), node) or type(node).__name__
    raise ExpressionError(
        f"{what!r} is not allowed: use numbers, names, + - * / ** @ and the functions "
        f"{', '.join(sorted(FUNCTIONS))}"
    )


def variables(text: str) -> list[str]:
    """The variable names in ``text``, in order of first use (functions and constants left out)."""
    tree = parse(text)
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    first: dict[str, tuple[int, int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in calls and node.id not in CONSTANTS:
            where = (node.lineno, node.col_offset)
            first[node.id] = min(first.get(node.id, where), where)
    return sorted(first, key=first.__getitem__)


def parse_values(text: str | None) -> dict[str, np.ndarray]:
    """``"a=2, b=-3, w=[1, 2]"`` -> ``{"a": array(2.), "b": array(-3.), "w": array([1., 2.])}``.

    Each value is a number or a nested list of numbers, read with ``ast.literal_eval``; the
    arrays are float64.
    """
    if text is None or not text.strip():
        return {}
    try:
        call = ast.parse(f"f({text})", mode="eval").body
    except SyntaxError:
        raise ExpressionError(
            f"cannot read the values {text!r}: write name=number, separated by commas "
            "(a=2, b=-3, w=[1, 2])"
        ) from None
    if not isinstance(call, ast.Call) or call.args or any(k.arg is None for k in call.keywords):
        raise ExpressionError(f"cannot read the values {text!r}: write name=value pairs")
    values: dict[str, np.ndarray] = {}
    for kw in call.keywords:
        try:
            raw = ast.literal_eval(kw.value)
        except ValueError:
            shown = ast.get_source_segment(f"f({text})", kw.value)
            raise ExpressionError(
                f"the value of {kw.arg} must be a number or a list of numbers, got {shown!r}"
            ) from None
        values[kw.arg] = _as_value(kw.arg, raw)
    return values


def _as_value(name: str, raw: Any) -> np.ndarray:
    numeric = raw.dtype.kind in "iuf" if isinstance(raw, np.ndarray) else _all_numbers(raw)
    if not numeric:
        raise ExpressionError(f"the value of {name} must hold numbers only, got {raw!r}")
    try:
        a = np.array(raw, dtype=np.float64)
    except ValueError:
        raise ExpressionError(
            f"the value of {name} must be a number or a rectangular list of numbers, got {raw!r}"
        ) from None
    if a.size > MAX_ELEMENTS:
        raise ExpressionError(f"the value of {name} has {a.size} elements; at most {MAX_ELEMENTS}")
    if not np.all(np.isfinite(a)):
        raise ExpressionError(f"the value of {name} is not finite: {raw!r}")
    return a


def _all_numbers(raw: Any) -> bool:
    """Numbers, or (nested) lists of them; ``True`` / ``False`` and strings are not numbers."""
    if isinstance(raw, (list, tuple)):
        return all(_all_numbers(x) for x in raw)
    return type(raw) in (int, float) or isinstance(raw, (np.integer, np.floating))


def default_value(index: int) -> np.ndarray:
    """The value a variable gets when none is given: 1.5, -0.5, 2, -1.5, ... (never 0)."""
    return np.array([1.5, -0.5, 2.0, -1.5, 0.5, -2.0][index % 6], dtype=np.float64)


def evaluate(
    text: str, values: Mapping[str, Any] | None = None
) -> tuple[Tensor, dict[str, Tensor]]:
    """Compute ``text`` with minigrad ops; returns ``(result, {name: leaf tensor})``.

    Every variable becomes a float64 leaf that requires grad, named after itself; each
    operation's result is named after its own text.  ``values`` gives the variables' values
    (arrays, numbers or lists); a variable without one gets :func:`default_value`.  A value
    for a name the expression does not use is refused, as is any error the ops raise (shapes
    that do not fit, say).
    """
    tree = parse(text)
    source = text.strip()
    names = variables(text)
    values = dict(values or {})
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ExpressionError(
            f"values given for {', '.join(unknown)}, which {source!r} does not use "
            f"(its variables: {', '.join(names) or 'none'})"
        )
    leaves: dict[str, Tensor] = {}
    for i, name in enumerate(names):
        raw = values[name] if name in values else default_value(i)
        leaf = Tensor(_as_value(name, raw), dtype=np.float64, requires_grad=True)
        leaf.name = name
        leaves[name] = leaf

    def run(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return leaves[node.id] if node.id in leaves else CONSTANTS[node.id]
        if isinstance(node, ast.UnaryOp):
            x = run(node.operand)
            out = -x if isinstance(node.op, ast.USub) else x
        elif isinstance(node, ast.BinOp):
            a, b = run(node.left), run(node.right)
            if not isinstance(a, Tensor) and not isinstance(b, Tensor):
                a = Tensor(np.float64(a), dtype=np.float64)  # numbers only: a constant tensor
            out = _BINARY[type(node.op)](a, b)
        else:  # a Call (checked by parse)
            fname = node.func.id  # type: ignore[attr-defined]
            args = [
                a if isinstance(a, Tensor) else Tensor(np.float64(a), dtype=np.float64)
                for a in (run(x) for x in node.args)
            ]
            out = FUNCTIONS[fname][1](*args)
        if isinstance(out, Tensor) and out.requires_grad and out.name is None:
            out.name = ast.get_source_segment(source, node)
        return out

    try:
        with np.errstate(all="ignore"):
            result = run(tree.body)
    except (ValueError, TypeError, IndexError) as exc:
        raise ExpressionError(f"cannot compute {source!r}: {exc}") from None
    if not isinstance(result, Tensor):
        result = Tensor(np.float64(result), dtype=np.float64)
    return result, leaves
