"""A Hypothesis state machine that builds random autograd graphs in minigrad and PyTorch at once.

Single-op tests check each op; bugs in an autograd engine live between ops: a tensor used twice,
a view that shares memory with its base, a value changed in place after an op saved it, a
graph walked twice, ``detach`` and ``no_grad`` cutting the graph.  ``GraphMachine`` (after
MyGrad's stateful tests) performs random sequences of such steps on pairs of tensors, one
minigrad and one torch, and after every step checks that the pairs hold the same values and
agree on ``requires_grad`` and ``is_leaf``; every ``backward`` compares the gradients of all
leaves.  Run it as it is (``tests/test_graph_machine.py``)::

    from minigrad.testing import GraphMachine
    TestGraph = GraphMachine.TestCase

or extend ``UNARY_OPS`` / ``BINARY_OPS`` in a subclass with your own elementwise op and its
torch twin, and the machine will mix it into graphs with views, reuse and in-place changes.

What is predicted rather than copied from torch: when backward must refuse.  Both frameworks
check the version of the tensors an op kept for its backward (``tanh`` keeps its output,
``x * x`` its input, ``x * 0.5`` and ``x + 1`` nothing: :attr:`GraphMachine.SAVES`); minigrad
frees every node after a backward without ``retain_graph`` where PyTorch frees only the tensors
ops kept.  So minigrad refuses at least as often.  The machine keeps its own model of versions
(views and ``detach`` share their base's), of histories (an in-place op gives a tensor a new
node; on a view, its base and every view of that base get new ones too) and of freed nodes,
predicts from it whether minigrad's backward raises, and requires: minigrad raises exactly
then (with the right message); when it does not, torch must not raise either and the gradients
must match.  Where torch raises, minigrad therefore raises too.

Not compared, on purpose: a view taken under ``no_grad`` of a tensor that requires grad.  torch
gives it ``requires_grad=True`` (and no gradient reaches the base through it); minigrad gives a
tensor that does not require grad, like any other result computed under ``no_grad``.

In-place steps (:meth:`inplace`, :meth:`inplace_with_tensor`) are recorded on non-leaf tensors
and refused on leaves that require grad and their views, in both frameworks.  Left out, because
the two differ on purpose: an in-place op whose operand overlaps the changed tensor's memory
without being that tensor (torch refuses; minigrad computes as if the operand were copied
first), and a recorded in-place op on a tensor that has views made under ``no_grad`` (torch
then refuses to use those views; in minigrad they stay constants).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import minigrad as mg
from minigrad.testing.mismatch import find_mismatch
from minigrad.testing.torch_compare import _import_torch

__all__ = ["GraphMachine"]

#: shapes that all broadcast with each other to at most (2, 3), so any two tensors combine
SHAPES = ((), (1,), (3,), (1, 1), (1, 3), (2, 1), (2, 3))

RTOL = 1e-9

#: a flag that is True a quarter of the time (and shrinks to False)
SOMETIMES = st.sampled_from([False, False, False, True])


@dataclass(eq=False)
class Node:
    """What the model knows about one recorded op: where its inputs came from, which
    (storage, version) pairs it recorded, and whether a backward freed it."""

    parents: tuple[Node, ...]
    saved: frozenset[tuple[int, int]]
    released: bool = False


@dataclass(eq=False, repr=False)
class Pair:
    """One tensor in both frameworks, and the model's view of it."""

    name: str
    mg: Any
    th: Any
    storage: int  # views and detach() share their base's storage (and version counter)
    node: Node | None = None  # the op that made it, if it was recorded
    base: Pair | None = None  # for a view: the pair that owns the memory (never itself a view)
    leaf_base: bool = False  # a view (or the tensor itself) of a leaf that requires grad
    no_grad_view: bool = False  # a view created under no_grad
    graph: frozenset[int] = field(default_factory=frozenset)  # ids of nodes behind it

    def __repr__(self) -> str:
        return self.name


def _step(method: Callable[..., None]) -> Callable[..., None]:
    """Mark the machine broken while a step runs: if the step fails, ``teardown`` must not add
    failures of its own (they would hide the first one and slow shrinking down)."""

    @functools.wraps(method)
    def run(self: GraphMachine, *args: Any, **kwargs: Any) -> None:
        self.broken = True
        method(self, *args, **kwargs)
        self.broken = False

    return run


def _graph_of(node: Node | None) -> set[Node]:
    seen: set[Node] = set()
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(n.parents)
    return seen


def _close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    expected = np.asarray(expected, dtype=np.float64)
    finite = expected[np.isfinite(expected)]
    atol = 1e-12 * max(1.0, float(np.max(np.abs(finite), initial=0.0)))
    m = find_mismatch(actual, expected, atol=atol, rtol=RTOL)
    assert m is None, (
        f"{what}: {m.count} of {m.total} elements differ; worst at {m.index}: "
        f"{m.describe('minigrad', 'torch')}"
    )


class GraphMachine(RuleBasedStateMachine):
    """Random graphs in minigrad and torch, step by step; see the module docstring."""

    #: name -> (minigrad function, torch function), elementwise: the shape is kept
    UNARY_OPS: ClassVar[dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]]] = {
        "tanh": (lambda x: x.tanh(), lambda x: x.tanh()),
        "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid()),
        "half": (lambda x: x * 0.5, lambda x: x * 0.5),
        "square": (lambda x: x * x, lambda x: x * x),  # the same tensor twice: reuse
    }
    #: name -> (minigrad function, torch function) of two broadcastable tensors
    BINARY_OPS: ClassVar[dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]]] = {
        "add": (lambda a, b: a + b, lambda a, b: a + b),
        "sub": (lambda a, b: a - b, lambda a, b: a - b),
        "mul": (lambda a, b: a * b, lambda a, b: a * b),
    }
    #: name -> what minigrad's op keeps for its backward, and so whose in-place change makes it
    #: refuse: "inputs", "output", "" (nothing) or "crosswise" (each input, when the other one
    #: requires grad: d(a*b)/db = a).  The machine checks the ops against this; an op you add
    #: without an entry is taken at its word (what its node recorded).
    SAVES: ClassVar[dict[str, str]] = {
        "tanh": "output",
        "sigmoid": "output",
        "half": "",  # only the 0.5, for x's gradient
        "square": "inputs",
        "add": "",
        "sub": "",
        "mul": "crosswise",
        "sum": "",
        "mean": "",
    }

    def __init__(self) -> None:
        super().__init__()
        self.torch = _import_torch()
        self.pairs: list[Pair] = []
        self.versions: dict[int, int] = {}
        self.poisoned: set[int] = set()  # nodes in a graph whose backward raised
        self.broken = False
        self._names = itertools.count()
        self._storages = itertools.count()

    # ----------------------------------------------------------------- helpers
    def _new_storage(self) -> int:
        s = next(self._storages)
        self.versions[s] = 0
        return s

    def _name(self, what: str) -> str:
        return f"t{next(self._names)} = {what}"

    def _pick(self, data: Any, pool: list[Pair], label: str) -> Pair:
        """One of ``pool``, half of the time the newest, so that chains of ops grow deep."""
        return data.draw(st.one_of(st.just(pool[-1]), st.sampled_from(pool)), label=label)

    def _usable(self) -> list[Pair]:
        """Pairs whose graph did not take part in a backward that raised (after which what
        minigrad and torch freed differs, so what a later backward does is unpredictable)."""
        return [p for p in self.pairs if not (p.graph & self.poisoned)]

    def _grad_mode(self, no_grad: bool) -> Any:
        import contextlib

        if not no_grad:
            return contextlib.nullcontext()
        stack = contextlib.ExitStack()
        stack.enter_context(mg.no_grad())
        stack.enter_context(self.torch.no_grad())
        return stack

    def _record(
        self,
        out_mg: Any,
        out_th: Any,
        inputs: list[Pair],
        what: str,
        view_of: Pair | None = None,
        op: str | None = None,
    ) -> Pair | None:
        """Add the result of an op to the pool, with the model's bookkeeping.

        ``op`` names the op in :attr:`SAVES` (what it keeps); views keep nothing.
        """
        if out_mg.data.size and not np.all(np.abs(out_mg.data) < 1e30):
            return None  # keep values finite and moderate (repeated squaring overflows)
        storage = view_of.storage if view_of is not None else self._new_storage()
        node = None
        if out_mg.requires_grad:
            saved = self._saved(out_mg, inputs, storage, op)
            node = Node(tuple(p.node for p in inputs if p.node is not None), frozenset(saved))
        pair = Pair(
            name=self._name(what),
            mg=out_mg,
            th=out_th,
            storage=storage,
            node=node,
            base=None if view_of is None else (view_of.base or view_of),
            leaf_base=view_of is not None and view_of.leaf_base and out_mg.requires_grad,
            no_grad_view=view_of is not None and (not mg.is_grad_enabled() or view_of.no_grad_view),
            graph=frozenset(id(n) for n in _graph_of(node)),
        )
        self.pairs.append(pair)
        return pair

    def _saved(
        self, out_mg: Any, inputs: list[Pair], storage: int, op: str | None
    ) -> set[tuple[int, int]]:
        """The (storage, version) pairs the new node keeps: predicted from :attr:`SAVES`, and
        checked against what minigrad's node recorded."""
        by_counter = {id(p.mg._version): p.storage for p in inputs}
        by_counter[id(out_mg._version)] = storage
        recorded = {(by_counter[id(counter)], seen) for counter, seen in out_mg.grad_fn.versions}
        if op is None:
            expected: set[tuple[int, int]] = set()  # a view keeps nothing
        elif op in self.SAVES:
            kept = self.SAVES[op]
            sources = [p.storage for p in inputs] if kept == "inputs" else []
            sources += [storage] if kept == "output" else []
            if kept == "crosswise":
                a, b = inputs
                sources += [a.storage] if b.mg.requires_grad else []
                sources += [b.storage] if a.mg.requires_grad else []
            expected = {(s, self.versions[s]) for s in sources}
        else:
            return recorded  # an op added without a SAVES entry: taken at its word
        assert recorded == expected, f"{op} kept {recorded}, expected {expected}"
        return expected

    def _leaves_with_grad(self) -> list[Pair]:
        return [p for p in self.pairs if p.node is None and p.mg.requires_grad]

    # ----------------------------------------------------------------- rules: building
    @initialize(data=st.data(), shape=st.sampled_from(SHAPES))
    @_step
    def first_parameter(self, data: Any, shape: tuple[int, ...]) -> None:
        """Every program starts with one leaf that requires grad."""
        self.leaf(data, shape, requires_grad=True)

    @rule(
        data=st.data(),
        shape=st.sampled_from(SHAPES),
        requires_grad=st.sampled_from([True, True, False]),
    )
    @_step
    def leaf(self, data: Any, shape: tuple[int, ...], requires_grad: bool) -> None:
        """A new leaf with values in [-2, 2]; a parameter if it requires grad."""
        values = data.draw(
            hnp.arrays(np.float64, shape, elements=st.floats(-2, 2, allow_subnormal=False)),
            label="values",
        )
        t = self.torch.tensor(values.copy(), requires_grad=requires_grad)
        m = mg.Tensor(values.copy(), requires_grad=requires_grad)
        self.pairs.append(
            Pair(
                name=self._name(f"leaf(shape={shape}, requires_grad={requires_grad})"),
                mg=m,
                th=t,
                storage=self._new_storage(),
                leaf_base=requires_grad,
            )
        )

    @rule(data=st.data(), no_grad=SOMETIMES)
    @_step
    def unary(self, data: Any, no_grad: bool) -> None:
        """An elementwise op on one tensor (``square`` uses it twice)."""
        pool = self._usable()
        if not pool:
            return
        x = self._pick(data, pool, "x")
        name = data.draw(st.sampled_from(sorted(self.UNARY_OPS)), label="op")
        f_mg, f_th = self.UNARY_OPS[name]
        with self._grad_mode(no_grad):
            out_mg, out_th = f_mg(x.mg), f_th(x.th)
            self._record(out_mg, out_th, [x], f"{name}({_short(x)})" + _ng(no_grad), op=name)

    @rule(data=st.data(), no_grad=SOMETIMES)
    @_step
    def binary(self, data: Any, no_grad: bool) -> None:
        """``a op b`` with broadcasting; ``a`` and ``b`` may be the same tensor."""
        pool = self._usable()
        if not pool:
            return
        a = self._pick(data, pool, "a")
        b = self._pick(data, pool, "b")
        name = data.draw(st.sampled_from(sorted(self.BINARY_OPS)), label="op")
        f_mg, f_th = self.BINARY_OPS[name]
        with self._grad_mode(no_grad):
            out_mg, out_th = f_mg(a.mg, b.mg), f_th(a.th, b.th)
            what = f"{name}({_short(a)}, {_short(b)})" + _ng(no_grad)
            self._record(out_mg, out_th, [a, b], what, op=name)

    @rule(data=st.data(), keepdim=st.booleans(), no_grad=SOMETIMES)
    @_step
    def reduce(self, data: Any, keepdim: bool, no_grad: bool) -> None:
        """``sum`` or ``mean`` over one dimension (shapes stay in the broadcastable family)."""
        pool = [p for p in self._usable() if p.mg.ndim >= 1]
        if not pool:
            return
        x = self._pick(data, pool, "x")
        dim = data.draw(st.integers(0, x.mg.ndim - 1), label="dim")
        keepdim = keepdim or x.mg.ndim == 2  # (2, 3).sum(1) would be (2,), outside SHAPES
        how = data.draw(st.sampled_from(["sum", "mean"]), label="how")
        with self._grad_mode(no_grad):
            out_mg = getattr(x.mg, how)(dim=dim, keepdim=keepdim)
            out_th = getattr(x.th, how)(dim=dim, keepdim=keepdim)
            what = f"{_short(x)}.{how}(dim={dim}, keepdim={keepdim})" + _ng(no_grad)
            self._record(out_mg, out_th, [x], what, op=how)

    @rule(data=st.data(), no_grad=SOMETIMES)
    @_step
    def view(self, data: Any, no_grad: bool) -> None:
        """A view: shares memory and version counter with its base in both frameworks."""
        pool = self._usable()
        if not pool:
            return
        x = self._pick(data, pool, "x")
        options = _views_of(x.mg.shape)
        key = data.draw(st.sampled_from(sorted(options)), label="view")
        make = options[key]
        if no_grad and x.mg.requires_grad:
            # torch quirk: such a view has requires_grad=True (yet no gradient reaches x through
            # it); minigrad's is a plain constant.  Not compared; see the module docstring.
            event("view under no_grad of a tensor that requires grad: skipped")
            return
        with self._grad_mode(no_grad):
            self._record(make(x.mg), make(x.th), [x], f"{_short(x)}{key}" + _ng(no_grad), x)

    @rule(data=st.data())
    @_step
    def detach(self, data: Any) -> None:
        """``x.detach()``: same memory and version counter, no graph."""
        x = self._pick(data, self.pairs, "x")
        pair = Pair(
            name=self._name(f"{_short(x)}.detach()"),
            mg=x.mg.detach(),
            th=x.th.detach(),
            storage=x.storage,
        )
        self.pairs.append(pair)

    # ----------------------------------------------------------------- rules: in place
    @rule(
        data=st.data(),
        no_grad=SOMETIMES,
        how=st.sampled_from(["add_", "sub_", "mul_", "div_"]),
        value=st.sampled_from([0.5, -1.5, 2.0]),
    )
    @_step
    def inplace(self, data: Any, no_grad: bool, how: str, value: float) -> None:
        """``x.add_(c)``, ``x.mul_(c)``...; what must happen depends on x and the grad mode.

        * under ``no_grad`` (as optimizers update parameters): allowed for any tensor, and not
          recorded;
        * with grad on, a tensor that does not require grad (a constant, a detached tensor):
          allowed and not recorded, unless it is a view created under no_grad (torch forbids
          that case);
        * with grad on, a leaf that requires grad, or a view of one: both refuse;
        * with grad on, any other tensor that requires grad: both record the op, which becomes
          the tensor's history (and, for a view, its base's and every view's, see
          :meth:`_inplace_recorded`).

        A change bumps the version of x's storage: every recorded op that kept that storage
        can no longer be differentiated (the model predicts that at ``backward``).
        """
        x = self._pick(data, self.pairs, "x")
        grad_on = not no_grad
        if grad_on and not x.mg.requires_grad and x.no_grad_view:
            return  # torch: "a view was created in no_grad mode ..."; minigrad allows it
        if grad_on and x.mg.requires_grad and x.leaf_base:
            self._expect_leaf_refusal(x, lambda t: getattr(t, how)(value), how)
            return
        if grad_on and x.mg.requires_grad and self._no_grad_views_of(x):
            event("in place: not modelled (the memory has views made under no_grad)")
            return
        with self._grad_mode(no_grad):
            getattr(x.mg, how)(value)
            getattr(x.th, how)(value)
        self.versions[x.storage] += 1
        event("in place: done" + _ng(no_grad))
        if grad_on and x.mg.requires_grad:  # recorded: it keeps nothing (the operand is a number)
            self._inplace_recorded(x, [], frozenset())
        x.name += f"; {how}({value})" + _ng(no_grad)

    @rule(data=st.data(), how=st.sampled_from(["add_", "sub_", "mul_", "div_"]))
    @_step
    def inplace_with_tensor(self, data: Any, how: str) -> None:
        """``x.add_(y)``... with grad on, where y may require grad: then even a constant x (or a
        view of one) is recorded, and from then on requires grad.  ``mul_`` and ``div_`` keep
        y, so ``x.mul_(x)`` makes its own backward refuse (in both)."""
        x = self._pick(data, self.pairs, "x")
        pool = [
            p
            for p in self._usable()
            if (p is x or p.storage != x.storage)
            and np.broadcast_shapes(p.mg.shape, x.mg.shape) == x.mg.shape
            and (how != "div_" or np.all(np.abs(p.mg.data) > 0.25))
        ]
        if not pool:
            return
        y = self._pick(data, pool, "y")
        if not (x.mg.requires_grad or y.mg.requires_grad):
            return  # nothing recorded: the constant case is the rule above
        ufunc = {"add_": np.add, "sub_": np.subtract, "mul_": np.multiply, "div_": np.divide}[how]
        with np.errstate(all="ignore"):
            new = ufunc(x.mg.data, y.mg.data)
        if not np.all(np.abs(new) < 1e30):
            return  # keep values finite and moderate
        if x.no_grad_view:
            for t, other in ((x.mg, y.mg), (x.th, y.th)):
                try:
                    getattr(t, how)(other)
                except RuntimeError:
                    continue
                raise AssertionError(f"{how} on {x} (a view made under no_grad) did not raise")
            event("in place: refused on a view made under no_grad (both)")
            return
        if x.leaf_base:
            other = {id(x.mg): y.mg, id(x.th): y.th}
            self._expect_leaf_refusal(x, lambda t: getattr(t, how)(other[id(t)]), how)
            return
        if self._no_grad_views_of(x):
            event("in place: not modelled (the memory has views made under no_grad)")
            return
        kept = {(y.storage, self.versions[y.storage])} if how in ("mul_", "div_") else set()
        getattr(x.mg, how)(y.mg)
        getattr(x.th, how)(y.th)
        self.versions[x.storage] += 1
        event(f"in place with a tensor: {how}" + (" (itself)" if x is y else ""))
        self._inplace_recorded(x, [y], frozenset(kept))
        x.name += f"; {how}({_short(y)})"

    def _expect_leaf_refusal(self, x: Pair, change: Callable[[Any], Any], how: str) -> None:
        for t in (x.mg, x.th):
            try:
                change(t)
            except RuntimeError:
                continue
            raise AssertionError(f"{how} on {x} (a leaf or a view of one) did not raise")
        event("in place: refused on a leaf (both)")

    def _no_grad_views_of(self, x: Pair) -> bool:
        root = x.base or x
        return any(p.no_grad_view and (p.base or p) is root for p in self.pairs if p is not x)

    def _inplace_recorded(self, x: Pair, operands: list[Pair], kept: frozenset) -> None:
        """The model of a recorded in-place op on ``x`` (already counted in ``versions``).

        x's history becomes the op (its inputs: x's old history and the operands').  If x is a
        view, the op's result lands in its base: the base's history becomes "old base with x's
        region replaced" (``CopySlices``), x's that region of the new base.  Either way every
        view of the base made with grad on takes its history from the new base.
        """
        inner = Node(tuple(p.node for p in (x, *operands) if p.node is not None), kept)
        base = x.base
        views = sum(p.base is (base or x) for p in self.pairs)
        event("in place, recorded: " + ("on a view" if base else "on a base") + f" ({views} views)")
        if base is None:
            x.node = inner
            root = x
        else:
            base.node = Node(tuple(n for n in (base.node, inner) if n is not None), frozenset())
            root = base
            base.graph = frozenset(id(n) for n in _graph_of(base.node))
        for p in self.pairs:
            if p.base is root and not p.no_grad_view:
                p.node = Node((root.node,), frozenset())
        for p in self.pairs:
            if p is root or p.base is root:
                p.graph = frozenset(id(n) for n in _graph_of(p.node))

    # ----------------------------------------------------------------- rules: backward
    @precondition(lambda self: any(p.node is not None for p in self.pairs))
    @rule(data=st.data(), retain_graph=st.booleans())
    @_step
    def backward(self, data: Any, retain_graph: bool) -> None:
        """``root.backward(g, retain_graph=...)`` in both; compare every leaf's ``.grad``."""
        pool = [p for p in self._usable() if p.node is not None]
        if not pool:
            return
        root = self._pick(data, pool, "root")
        g = data.draw(
            hnp.arrays(np.float64, root.mg.shape, elements=st.floats(-1, 1, allow_subnormal=False)),
            label="gradient",
        )
        self._backward(root, g, retain_graph)

    def teardown(self) -> None:
        """Last, backpropagate from every tensor still usable (keeping the graphs), so that
        every graph a program built has its gradients compared at least once."""
        if self.broken:
            return  # a step failed: that failure is the one to report
        for root in self._usable():
            if root.node is not None and not (root.graph & self.poisoned):
                self._zero_grads()
                g = np.linspace(-1.0, 1.5, root.mg.data.size).reshape(root.mg.shape)
                self._backward(root, g, retain_graph=True)

    def _backward(self, root: Pair, g: np.ndarray, retain_graph: bool) -> None:
        graph = _graph_of(root.node)
        stale = any(self.versions[s] != v for n in graph for s, v in n.saved)
        released = any(n.released for n in graph)
        th_error = None
        try:
            root.th.backward(self.torch.tensor(g), retain_graph=retain_graph)
        except RuntimeError as exc:
            th_error = exc
        if stale or released:
            expected = [
                w for w, on in (("modified in place", stale), ("second time", released)) if on
            ]
            try:
                root.mg.backward(g, retain_graph=retain_graph)
            except RuntimeError as exc:
                assert any(w in str(exc) for w in expected), (expected, exc)
            else:
                raise AssertionError(
                    f"minigrad's backward of {root} should have raised: {expected}"
                )
            event(f"backward refused: {' and '.join(expected)}")
            # both may have added part of the gradients and freed part of the graph: start over
            self.poisoned |= {id(n) for n in graph}
            self._zero_grads()
            return
        assert th_error is None, f"torch refused a backward that minigrad ran: {th_error}"
        root.mg.backward(g, retain_graph=retain_graph)
        event(f"backward ran (graph of {min(len(graph), 4)}{'+' * (len(graph) >= 4)} ops)")
        if not retain_graph:
            for n in graph:
                n.released = True
        for p in self._leaves_with_grad():
            _close(_grad(p.mg.grad, p.mg.shape), _grad(p.th.grad, p.mg.shape), f"{p}.grad")

    @rule()
    @_step
    def zero_grad(self) -> None:
        """``.grad = None`` on every leaf, in both (else gradients accumulate over backwards)."""
        self._zero_grads()

    def _zero_grads(self) -> None:
        for p in self._leaves_with_grad():
            p.mg.grad = None
            p.th.grad = None

    # ----------------------------------------------------------------- invariants
    @invariant()
    @_step
    def same_values_and_flags(self) -> None:
        for p in self.pairs:
            assert p.mg.requires_grad == p.th.requires_grad, f"{p}: requires_grad differs"
            assert p.mg.is_leaf == p.th.is_leaf, f"{p}: is_leaf differs"
            assert p.mg.shape == tuple(p.th.shape), f"{p}: shape differs"
            _close(p.mg.data, p.th.detach().numpy(), f"{p} values")


def _grad(g: Any, shape: tuple[int, ...]) -> np.ndarray:
    if g is None:
        return np.zeros(shape)
    if hasattr(g, "detach"):
        return g.detach().numpy()
    return np.asarray(g)


def _short(p: Pair) -> str:
    return p.name.split(" ")[0]


def _ng(no_grad: bool) -> str:
    return " under no_grad" if no_grad else ""


def _views_of(shape: tuple[int, ...]) -> dict[str, Callable[[Any], Any]]:
    """Views that keep shapes in ``SHAPES``, by how they are written.  Only views that numpy
    also returns as views (an integer index down to 0-d would give numpy a copy)."""
    options: dict[str, Callable[[Any], Any]] = {}
    if len(shape) == 2:
        options["[0]"] = lambda t: t[0]
    if len(shape) >= 1:
        options["[:1]"] = lambda t: t[:1]
        options["[..., :1]"] = lambda t: t[..., :1]
    if len(shape) <= 1:
        options[".unsqueeze(0)"] = lambda t: t.unsqueeze(0)
    if shape == (1, 3):
        options[".reshape(3)"] = lambda t: t.reshape(3)
    if shape == (3,):
        options[".reshape(1, 3)"] = lambda t: t.reshape(1, 3)
    return options
