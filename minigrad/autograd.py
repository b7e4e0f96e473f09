"""The autograd engine: ``Function`` (one differentiable operation) and the backward pass.

How reverse-mode autodiff works here, in four sentences.  Every operation on tensors that
require grad creates a ``Function`` node that remembers its inputs and whatever its backward
needs (``self.something = ...`` in ``forward``).  The output tensor points at that node
(``tensor.grad_fn``), so the outputs and nodes form a graph that leads back to the leaves (the
parameters).  ``backward()`` visits the nodes from the output towards the leaves, each node only
after every node that consumed its output has handed it a gradient (Kahn's algorithm on the
reversed graph), and calls ``node.backward(grad_of_output)``, which returns one gradient per
input: the chain rule, applied one node at a time.  Gradients that reach a leaf are added into
its ``.grad``.

In-place changes: every node records, for each input, the node that made it *at that moment*
(``node.parents``), so an in-place op that later gives a tensor a new ``grad_fn`` (``y += 1`` on
a non-leaf, see ``tensor_inplace.py``) changes the history of later uses only, as in PyTorch.
And every node remembers the version of each tensor whose memory its ``forward`` kept for
backward; backward refuses to run if one of them was changed in place since.

Deliberately left out: higher-order gradients (a backward pass does not itself record a graph)
and multi-threaded execution.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from minigrad import grad_mode

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

#: The class ``Function.apply`` wraps its results in: ``minigrad.Tensor``, registered by tensor.py
#: (:func:`register_tensor_class`) as soon as it is defined.  This module cannot import it:
#: Tensor's methods call the ops, the ops are Functions, so the engine sits below all of them.
_Tensor: Any = None

#: Tests of "does a cache, and nothing else, also hold this array?" (see :func:`_owned_by_caller`),
#: added by the code that owns such a cache (:func:`register_buffer_cache`).
_cache_holds: list[Callable[[np.ndarray], bool]] = []


def register_tensor_class(cls: type) -> None:
    """Make ``Function.apply`` return instances of ``cls`` (tensor.py passes ``Tensor``)."""
    global _Tensor
    _Tensor = cls


def register_buffer_cache(holds: Callable[[np.ndarray], bool]) -> None:
    """Let gradients that a buffer cache also lists become a leaf's ``.grad`` without a copy.

    ``holds(array)`` must be True only for an array the cache keeps and hands out again only once
    nobody else refers to it (``minigrad/ops/__init__.py`` registers the kernels' buffer cache,
    whose buffers the ops return as gradients).  The engine imports no kernels: it only asks.
    """
    if holds not in _cache_holds:
        _cache_holds.append(holds)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the gradient of broadcasting.

    Broadcasting copies an input along new leading axes and along axes of size 1; every copy
    received its own gradient, and the input's gradient is their sum.  Example: ``x`` of shape
    (3,) added to ``y`` of shape (2, 3) gets ``grad.sum(axis=0)``.
    This is the only place in minigrad where broadcast gradients are reduced.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"gradient of shape {grad.shape} cannot be reduced to shape {shape}")
    axes = list(range(lead))
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[lead + i] != 1:
            axes.append(lead + i)
        elif grad.shape[lead + i] != n:  # not a broadcast: a backward returned a wrong shape
            raise RuntimeError(f"gradient of shape {grad.shape} cannot be reduced to shape {shape}")
    if axes:
        grad = grad.sum(axis=tuple(axes), keepdims=True)
    return grad.reshape(shape)


class Function:
    """One differentiable operation: ``forward`` and ``backward`` side by side.

    Subclasses implement::

        def forward(self, *arrays, **params) -> np.ndarray   # plain numpy in, numpy out
        def backward(self, grad) -> tuple                     # one gradient per input

    ``forward`` receives numpy arrays (or Python scalars) and stores on ``self`` what
    ``backward`` will need.  ``backward`` receives the gradient of the loss with respect to the
    output and returns the gradient with respect to each input, in order (``None`` for inputs
    that are not differentiable, such as integer indices or constants).  A single-input op may
    return the bare array.  Broadcasting is undone by the engine, so an op may return a
    gradient of the broadcast shape.

    ``self.inputs[i]`` is the i-th input tensor, or ``None`` when that input needs no gradient:
    backward can skip computing gradients nobody will use.

    Call an op with ``MyOp.apply(*inputs, **params)``, which returns a ``Tensor``.
    """

    __slots__ = ("inputs", "parents", "released", "retained", "versions")

    #: True for ops whose output may share memory with their first input (reshape, transpose,
    #: basic slicing).  When it does, the output is a view: it shares the input's version
    #: counter, so an in-place change through either one is seen by checks on both, and it
    #: remembers its base (``ViewInfo``) so that an in-place change of either rewrites the
    #: history of both, as in PyTorch.
    is_view: bool = False

    #: What ``forward`` keeps only for some inputs' gradients: ``{"a": (1,)}`` says backward
    #: reads ``self.a`` only to compute input 1's gradient (``Mul``: d(a*b)/db = a).  When none
    #: of those inputs requires grad, an in-place change of ``a`` cannot make the gradient
    #: wrong, and (as in PyTorch, which saves ``a`` only then) does not make backward refuse.
    kept_only_for: ClassVar[dict[str, tuple[int, ...]]] = {}

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad: np.ndarray) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays; record the node if any input requires grad."""
        Tensor = _Tensor
        node = cls()
        arrays = []
        for a in args:
            if isinstance(a, Tensor):
                if a._view is not None:
                    a._sync_view()  # its base's history may have changed in place since
                arrays.append(a.data)
            else:
                arrays.append(a)
        out = raw = node.forward(*arrays, **kwargs)
        if type(out) is not np.ndarray:
            out = np.asarray(out)  # numpy's math on 0-d arrays returns scalars
        result = Tensor.__new__(Tensor)
        result.data = out
        result.grad = None
        result._grad_fn = None
        result._version = [0]
        result._view = None
        result._requires_grad = False
        if cls.is_view and out.base is not None and isinstance(args[0], Tensor):
            if _root(out) is _root(arrays[0]):  # (reshape may have had to copy: not a view)
                result._version = args[0]._version
                result._view = ViewInfo.of(args[0], cls, kwargs)
        if grad_mode._state.enabled and out.dtype.kind == "f":
            # (a view's flag was synced with its base above)
            inputs = [a if isinstance(a, Tensor) and a._requires_grad else None for a in args]
            needs_grad = False
            for a in inputs:
                if a is not None:
                    needs_grad = True
                    break
            if needs_grad:
                node.inputs = tuple(inputs)
                # the edges of the graph, fixed now: an in-place op may give an input another
                # grad_fn later, but this node's gradient must reach the one that made its input
                node.parents = tuple([None if a is None else a._grad_fn for a in inputs])
                # backward refuses to run if a tensor whose memory forward kept was changed in
                # place since (the kept values would be stale)
                node.versions = _saved_versions(node, args, result, raw)
                node.released = False
                node.retained = None
                result._requires_grad = True
                result._grad_fn = node
        return result

    @property
    def name(self) -> str:
        """``MulBackward`` for ``Mul``: the name PyTorch users know from ``grad_fn``."""
        return type(self).__name__ + "Backward"

    def release(self) -> None:
        """Drop everything ``forward`` saved; a later backward through this node raises."""
        try:
            vars(self).clear()
        except TypeError:  # a subclass that declared __slots__ keeps no __dict__
            pass
        self.released = True

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _root(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (``a`` itself unless it is a view): two arrays share
    memory through views exactly when their roots are the same object."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _saved_versions(node: Function, args: tuple[Any, ...], result: Tensor, raw: Any) -> list[Any]:
    """``(counter, version now)`` of every tensor whose memory ``node`` kept for its backward.

    What a node kept is what its ``forward`` stored on ``self``: an array (or a tensor, or a
    tuple of arrays) that is, or is a view of, an input's or the output's array ties the node to
    that tensor's version.  ``Exp`` keeps its output, ``Mul`` both inputs, ``Add`` nothing: so
    ``y = x.exp(); y += 1`` makes the backward of ``exp`` refuse, and ``y = x + 1; y += 1`` does
    not, as in PyTorch.  (A numpy scalar that ``forward`` both kept and returned, as numpy's
    math on 0-d arrays gives, counts as the output.)  An op declared with ``__slots__`` (no
    ``__dict__`` to look into) ties itself to every input and its output.
    """
    kept = getattr(node, "__dict__", None)
    if kept is None:
        tensors = [a for a in args if isinstance(a, _Tensor)]
        return [(t._version, t._version[0]) for t in (*tensors, result)]
    only = type(node).kept_only_for
    owners = None  # (tensor, the array that owns its memory), made on first need
    versions = []
    for name, value in kept.items():
        if only and name in only:
            for i in only[name]:
                if node.inputs[i] is not None:
                    break
            else:
                continue  # kept only for gradients nobody asked for
        kind = type(value)
        if kind is int or kind is bool or kind is slice or value is None:
            continue
        items = value if kind is tuple or kind is list else (value,)
        for v in items:
            if type(v) is not np.ndarray:
                if v is raw:  # a numpy scalar: the output
                    v = result.data
                elif not isinstance(v, (_Tensor, np.ndarray)):
                    continue  # a number, a shape, a slice...
                elif isinstance(v, _Tensor):
                    v = v.data
            if v is result.data:  # the common cases first: the very output or input array
                versions.append((result._version, result._version[0]))
                continue
            hit = False
            for t in args:
                if isinstance(t, _Tensor) and t.data is v:
                    versions.append((t._version, t._version[0]))
                    hit = True
            if hit:
                continue
            if owners is None:  # a view, or an array of its own: compare owners of memory
                owners = [(t, _root(t.data)) for t in (*args, result) if isinstance(t, _Tensor)]
            root = _root(v)
            for t, r in owners:
                if r is root:
                    versions.append((t._version, t._version[0]))
    return versions


class ViewInfo:
    """What a view tensor knows about the tensor that owns its memory (PyTorch's ``_base``).

    ``base`` is that tensor (never itself a view), ``chain`` the view ops from it to the view,
    as ``(op class, keyword arguments)`` pairs, so that the view can be taken again of another
    array (of the gradient, say).  ``base_fn`` is the ``grad_fn`` the base had when the view's
    own ``grad_fn`` was made: once an in-place op gives the base a new one, the view's history
    is stale and is rebuilt on next use (``Tensor._sync_view``).  ``grad_mode``: whether the
    view was made with grad mode on, and so was every view it was taken of (PyTorch forbids
    recording in-place ops through views made under ``no_grad``).
    """

    __slots__ = ("base", "base_fn", "chain", "grad_mode")

    def __init__(self, base: Tensor, chain: tuple[Any, ...], grad_mode_on: bool) -> None:
        self.base, self.chain, self.grad_mode = base, chain, grad_mode_on
        self.base_fn = base._grad_fn

    @staticmethod
    def of(parent: Tensor, op: type, kwargs: dict[str, Any]) -> ViewInfo:
        """The view info of ``op(parent, **kwargs)``, a view of ``parent``."""
        info = parent._view
        if info is None:
            return ViewInfo(parent, ((op, kwargs),), grad_mode._state.enabled)
        # a view of a view made under no_grad counts as made under no_grad too (as in PyTorch)
        on = grad_mode._state.enabled and info.grad_mode
        return ViewInfo(info.base, (*info.chain, (op, kwargs)), on)


class ReleasedTensor:
    """What a released graph keeps of an intermediate tensor: its shape, the node that made it
    and its retained ``.grad`` (if any), but not its array.

    After a backward without ``retain_graph`` the activations are no longer needed; keeping
    them alive through the graph would hold a second copy of every activation in memory while
    the next forward pass runs.  The graph's shape survives, so a second backward can still find
    the released nodes (and say why it cannot run) and ``minigrad.viz.to_dot`` can still draw it.
    """

    __slots__ = ("_grad_fn", "grad", "requires_grad", "shape")

    def __init__(self, t: Tensor, grad_fn: Function) -> None:
        self._grad_fn, self.grad, self.shape = grad_fn, t.grad, t.data.shape
        self.requires_grad = True

    @property
    def grad_fn(self) -> Function | None:
        return self._grad_fn


def _drop_activations(nodes: list[Function]) -> None:
    """Replace the intermediate tensors that ``nodes`` point at by array-free stand-ins."""
    stand_ins: dict[tuple[int, int], ReleasedTensor] = {}
    for node in nodes:
        inputs = []
        for t, parent in zip(node.inputs, node.parents):
            if t is not None and parent is not None:  # leaves (parameters) stay as they are
                key = (id(t), id(parent))  # (one tensor may have had two grad_fns: in place)
                t = stand_ins.get(key) or stand_ins.setdefault(key, ReleasedTensor(t, parent))
            inputs.append(t)
        node.inputs = tuple(inputs)


def _check_versions(node: Function) -> None:
    for counter, seen in node.versions:
        if counter[0] != seen:
            raise RuntimeError(
                f"a tensor saved for the backward of {node.name} was modified in place after "
                f"it was used (version {counter[0]}, expected {seen}); gradients would be wrong. "
                "Use an out-of-place operation (x = x + y) instead of x += y or x.add_(y)."
            )


def _refcount(a: object) -> int:
    return sys.getrefcount(a)


def _one_local_reference() -> int:
    a = np.empty(0)
    return _refcount(a)


#: what ``_refcount`` reports for an array that exactly one local variable of its caller holds
_ONE_LOCAL_REFERENCE = _one_local_reference()


def _owned_by_caller(g: np.ndarray, refs: int) -> bool:
    """True if ``g`` (whose ``_refcount`` is ``refs``) can become a leaf's ``.grad`` as it is.

    That needs an array that owns its memory (``base is None``: not a view of another gradient or
    of a broadcast), is writeable and contiguous, and that nothing but the engine's one local
    variable refers to (not ``add``'s backward handing the same array to both inputs, not an
    op's saved state). A buffer that a registered cache (:func:`register_buffer_cache`) also
    lists counts as owned: the cache never hands out an array somebody still refers to.
    """
    if g.base is not None or not g.flags.writeable or not g.flags.c_contiguous:
        return False
    if refs <= _ONE_LOCAL_REFERENCE:
        return True
    return refs == _ONE_LOCAL_REFERENCE + 1 and any(holds(g) for holds in _cache_holds)


def _accumulate_leaf(t: Tensor, g: Any, owned: bool = False) -> None:
    """Add ``g`` into the leaf's ``.grad`` (gradients accumulate across backward calls).

    The first gradient becomes ``.grad``. If the engine holds the only reference to it
    (``owned``), the array itself is stored, as PyTorch's AccumulateGrad does; otherwise it is
    copied once (it may be shared, e.g. ``add``'s backward hands the same array to both inputs,
    or be a read-only broadcast view): a copy reads and writes the whole gradient, which for a
    language model's logits is the largest array of the step.
    """
    if type(g) is not np.ndarray:  # a row-sparse gradient object (see nn.Embedding)
        t.grad = g if t.grad is None else t.grad + g
        return
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
        owned = True
    if t.grad is None:
        t.grad = g if owned else np.array(g, copy=True)
    elif type(t.grad) is np.ndarray:
        t.grad += g
    else:
        t.grad = t.grad + g


def run_backward(root: Tensor, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Backpropagate ``grad`` (d loss / d root) from ``root`` to every leaf that requires grad.

    Step 1 counts, for every node reachable from ``root``, how many consumers it has in this
    graph.  Step 2 starts at ``root`` and runs a node's backward only once all its consumers have
    contributed to its output gradient (its count reached zero); a node's gradient is freed as
    soon as its backward has run.  Both steps use an explicit stack (no recursion), so a chain of
    100,000 ops is fine, and both are linear in the size of the graph.
    """
    root_fn = root._grad_fn
    if root_fn is None:  # backward on a leaf: d root / d root = 1
        _accumulate_leaf(root, grad)
        return

    pending: dict[Function, int] = {root_fn: 0}
    stack = [root_fn]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if parent is None:
                continue
            if parent in pending:
                pending[parent] += 1
            else:
                pending[parent] = 1
                stack.append(parent)

    grads: dict[Function, Any] = {root_fn: grad}
    ready = [root_fn]
    done: list[Function] = []
    while ready:
        node = ready.pop()
        done.append(node)
        g = grads.pop(node, None)
        if node.released:
            raise RuntimeError(
                f"trying to backward through {node.name} a second time: its saved values were "
                "freed by the first backward. Pass retain_graph=True to the first backward "
                "if you need to call backward twice."
            )
        if g is None:
            in_grads: Any = (None,) * len(node.inputs)
        else:
            if node.retained is not None:  # accumulates across backward calls, like a leaf's
                _accumulate_leaf(node.retained, g)
            _check_versions(node)
            in_grads = node.backward(g)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if len(in_grads) != len(node.inputs):
                raise RuntimeError(
                    f"{type(node).__name__}.backward returned {len(in_grads)} gradients for "
                    f"{len(node.inputs)} inputs"
                )
        in_grads = list(in_grads)
        for k, t in enumerate(node.inputs):
            # take the gradient out of the list: a leaf may then keep the array without a copy
            gi, in_grads[k] = in_grads[k], None
            if t is None:
                continue
            if gi is not None:
                if type(gi) is not np.ndarray and not hasattr(gi, "to_dense"):
                    gi = np.asarray(gi)
                if gi.shape != t.data.shape:
                    gi = unbroadcast(gi, t.data.shape)
                if gi.dtype != t.data.dtype and type(gi) is np.ndarray:
                    gi = gi.astype(t.data.dtype)
            parent = node.parents[k]
            if parent is None:
                if gi is not None:
                    refs = _refcount(gi)  # before the call below puts gi on the stack again
                    owned = type(gi) is np.ndarray and _owned_by_caller(gi, refs)
                    _accumulate_leaf(t, gi, owned)
                continue
            if gi is not None:
                prev = grads.get(parent)
                grads[parent] = gi if prev is None else prev + gi
            pending[parent] -= 1
            if pending[parent] == 0:
                ready.append(parent)
        if not retain_graph:
            node.release()
    if not retain_graph:
        _drop_activations(done)
