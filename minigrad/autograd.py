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

Deliberately left out: higher-order gradients (a backward pass does not itself record a graph)
and multi-threaded execution.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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

    __slots__ = ("inputs", "released", "retained", "versions")

    #: True for ops whose output shares memory with their first input (reshape, transpose,
    #: basic slicing): the output then shares the input's version counter, so an in-place change
    #: through either one is seen by checks on both.
    is_view: bool = False

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad: np.ndarray) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays; record the node if any input requires grad."""
        Tensor = _Tensor
        node = cls()
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        out = node.forward(*arrays, **kwargs)
        if type(out) is not np.ndarray:
            out = np.asarray(out)  # numpy reductions of 0-d arrays return scalars
        result = Tensor.__new__(Tensor)
        result.data = out
        result.grad = None
        result._grad_fn = None
        result._version = args[0]._version if cls.is_view and isinstance(args[0], Tensor) else [0]
        result.requires_grad = False
        if grad_mode._state.enabled and out.dtype.kind == "f":
            needs_grad = False
            for a in args:
                if isinstance(a, Tensor) and a.requires_grad:
                    needs_grad = True
                    break
            if needs_grad:
                node.inputs = tuple(
                    a if isinstance(a, Tensor) and a.requires_grad else None for a in args
                )
                # Remember every tensor's version now; backward refuses to run if one of them
                # was modified in place since (its saved values would be stale).
                node.versions = [(a._version, a._version[0]) for a in args if isinstance(a, Tensor)]
                node.versions.append((result._version, result._version[0]))
                node.released = False
                node.retained = None
                result.requires_grad = True
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


class ReleasedTensor:
    """What a released graph keeps of an intermediate tensor: its shape, the node that made it
    and its retained ``.grad`` (if any), but not its array.

    After a backward without ``retain_graph`` the activations are no longer needed; keeping
    them alive through the graph would hold a second copy of every activation in memory while
    the next forward pass runs.  The graph's shape survives, so a second backward can still find
    the released nodes (and say why it cannot run) and ``minigrad.viz.to_dot`` can still draw it.
    """

    __slots__ = ("_grad_fn", "grad", "requires_grad", "shape")

    def __init__(self, t: Tensor) -> None:
        self._grad_fn, self.grad, self.shape = t._grad_fn, t.grad, t.data.shape
        self.requires_grad = True

    @property
    def grad_fn(self) -> Function | None:
        return self._grad_fn


def _drop_activations(nodes: list[Function]) -> None:
    """Replace the intermediate tensors that ``nodes`` point at by array-free stand-ins."""
    stand_ins: dict[int, ReleasedTensor] = {}
    for node in nodes:
        inputs = []
        for t in node.inputs:
            if t is not None and t._grad_fn is not None:  # leaves (parameters) stay as they are
                t = stand_ins.get(id(t)) or stand_ins.setdefault(id(t), ReleasedTensor(t))
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
        for t in node.inputs:
            if t is None:
                continue
            parent = t._grad_fn
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
            parent = t._grad_fn
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
