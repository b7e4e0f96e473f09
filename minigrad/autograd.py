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

Higher-order gradients: with ``create_graph=True`` the backward pass is itself recorded.  Each
node then runs ``backward_graph`` instead of ``backward``: the same chain rule written in Tensor
ops instead of numpy, so the gradients it returns are tensors with a graph of their own, and
``grad`` of a gradient works (``d2/dx2 x**3 = 6x``, Hessian-vector products).  The plain path
(``create_graph=False``) is untouched by this and keeps its speed: numpy arrays, no recording.

Deliberately left out: multi-threaded execution.
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

    __slots__ = ("input_versions", "inputs", "parents", "released", "retained", "versions")

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

    #: Whether ``backward_graph`` reads the values of its input tensors (``Mul``: d(a*b)/da = b,
    #: recomputed from ``b``), so that under ``create_graph=True`` an input changed in place
    #: since would make it wrong (and backward refuses).  False for ops whose gradient is made
    #: of ``grad`` alone (sums, reshapes, indexing, masks), so that a view changed in place
    #: after use still differentiates twice, as in PyTorch.
    graph_reads_inputs: ClassVar[bool] = True

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad: np.ndarray) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def backward_graph(self, grad: Tensor) -> Any:
        """``backward`` in Tensor ops, so that it is recorded: what ``create_graph=True`` runs.

        Receives d loss / d output as a Tensor (which may itself require grad) and returns one
        Tensor (or None) per input, like ``backward``.  Because every step is an op, the
        gradients it returns can be differentiated again.  An op without one cannot take part
        in a double backward, and says so.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no double backward (backward_graph), so create_graph=True "
            f"cannot differentiate through it; use create_graph=False, or write "
            f"{type(self).__name__}.backward_graph in Tensor ops"
        )

    def operand(self, i: int, saved: Any) -> Any:
        """Input ``i`` for a ``backward_graph``: the input tensor itself when it requires grad
        (so the gradient is differentiable with respect to it), else ``saved``, its value kept
        by ``forward``, as a constant (an array becomes a Tensor that needs no grad)."""
        t = self.inputs[i]
        if t is not None:
            return t
        return constant(saved) if isinstance(saved, np.ndarray) else saved

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
                # and the inputs' own versions: a double backward recomputes from the inputs
                node.input_versions = [-1 if a is None else a._version[0] for a in inputs]
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


def constant(array: Any) -> Tensor:
    """``array`` as a Tensor that requires no grad (no copy): a constant in a recorded graph."""
    return _Tensor._wrap(np.asarray(array))


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
    """What a released graph keeps of an intermediate tensor: its shape, the node that made it,
    its retained ``.grad`` (if any) and its name, but not its array.

    After a backward without ``retain_graph`` the activations are no longer needed; keeping
    them alive through the graph would hold a second copy of every activation in memory while
    the next forward pass runs.  The graph's shape survives, so a second backward can still find
    the released nodes (and say why it cannot run) and ``minigrad.viz.to_dot`` can still draw it.
    """

    __slots__ = ("_grad_fn", "grad", "name", "origin_id", "requires_grad", "shape")

    def __init__(self, t: Tensor, grad_fn: Function) -> None:
        self._grad_fn, self.grad, self.shape = grad_fn, t.grad, t.data.shape
        self.requires_grad = True
        # what a picture of the graph needs to label it as before: the user's name for the
        # tensor, and which tensor it stood for (``viz`` matches ``names={"x": x}`` by it)
        self.name = getattr(t, "_name", None)
        self.origin_id = id(t)

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


def _check_input_versions(node: Function) -> None:
    """Under ``create_graph=True``: refuse if an input of ``node`` changed in place since.

    ``backward_graph`` recomputes what it needs from the input tensors themselves (so that the
    gradient is a function of them), so it must see their values as they were.  (PyTorch
    differentiates through the values it saved instead, and so allows some of these cases;
    here they are refused, never answered wrongly.)
    """
    if not type(node).graph_reads_inputs:
        return
    for t, seen in zip(node.inputs, node.input_versions):
        if t is not None and t._version[0] != seen:
            raise RuntimeError(
                f"an input of {node.name} was modified in place after it was used (version "
                f"{t._version[0]}, expected {seen}); backward(create_graph=True) recomputes "
                "its gradient from the inputs, so it would be wrong. Use an out-of-place "
                "operation (x = x + y), or create_graph=False."
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


def run_backward(
    root: Tensor, grad: Any, retain_graph: bool = False, create_graph: bool = False
) -> None:
    """Backpropagate ``grad`` (d loss / d root) from ``root`` to every leaf that requires grad.

    With ``create_graph=True`` the backward pass records its own graph (see
    :func:`backward_through_graph`); what follows is the plain path, numpy arrays only.

    Step 1 counts, for every node reachable from ``root``, how many consumers it has in this
    graph.  Step 2 starts at ``root`` and runs a node's backward only once all its consumers have
    contributed to its output gradient (its count reached zero); a node's gradient is freed as
    soon as its backward has run.  Both steps use an explicit stack (no recursion), so a chain of
    100,000 ops is fine, and both are linear in the size of the graph.
    """
    if create_graph:
        backward_through_graph([root], [grad], retain_graph=retain_graph, create_graph=True)
        return
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


# --------------------------------------------------------------------------- the general engine
# ``run_backward`` above is the hot path: one output, numpy gradients, every leaf accumulates.
# ``backward_through_graph`` is the same algorithm for everything else: several outputs,
# gradients captured for chosen tensors instead of accumulated (``grad``), and gradients that are
# Tensors recorded in a graph of their own (``create_graph=True``).


def _unbroadcast_tensor(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """:func:`unbroadcast` in Tensor ops (a sum and a reshape), so that it is recorded too."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"gradient of shape {grad.shape} cannot be reduced to shape {shape}")
    axes = list(range(lead))
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[lead + i] != 1:
            axes.append(lead + i)
        elif grad.shape[lead + i] != n:
            raise RuntimeError(f"gradient of shape {grad.shape} cannot be reduced to shape {shape}")
    if axes:
        grad = grad.sum(dim=tuple(axes), keepdim=True)
    return grad.reshape(shape)


def _as_graph_gradient(g: Any, t: Any) -> Tensor:
    """A gradient from ``backward_graph`` for input ``t``: a Tensor of t's shape and dtype."""
    if not isinstance(g, _Tensor):
        g = constant(g.to_dense() if hasattr(g, "to_dense") else g)
    if g.shape != t.shape:
        g = _unbroadcast_tensor(g, t.shape)
    if g.dtype != t.dtype:
        g = g.to(t.dtype)
    return g


def _as_array_gradient(g: Any, t: Any) -> Any:
    """A gradient returned by ``backward`` for input ``t``: an array of t's shape and dtype."""
    if type(g) is not np.ndarray and not hasattr(g, "to_dense"):
        g = np.asarray(g)
    if g.shape != t.shape:
        g = unbroadcast(g, t.shape)
    if type(g) is np.ndarray and g.dtype != t.dtype:
        g = g.astype(t.dtype)
    return g


def _accumulate_graph_leaf(t: Any, g: Tensor) -> None:
    """``t.grad += g`` out of place, ``g`` a Tensor: ``.grad`` becomes a Tensor with a graph, as
    in PyTorch after ``backward(create_graph=True)``."""
    if t.grad is None:
        t.grad = g
    elif hasattr(t.grad, "to_dense"):
        t.grad = g + t.grad.to_dense()
    else:
        t.grad = g + t.grad  # an ndarray or a Tensor: either way a new Tensor, nothing changed


def _topological_order(roots: list[Function], pending: dict[Function, int]) -> list[Function]:
    """The order Kahn's algorithm visits the nodes in (outputs first), without running them."""
    left = dict(pending)
    ready = [r for r in roots if left[r] == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            if parent is not None:
                left[parent] -= 1
                if left[parent] == 0:
                    ready.append(parent)
    return order


def _needed_nodes(
    order: list[Function], target_nodes: set[Function], target_leaves: set[int]
) -> set[Function]:
    """The nodes whose backward leads to a target: the only ones ``grad`` needs to run.

    A node is needed if one of its inputs is a target or comes from a needed node.  (A target
    node itself only hands its gradient over; it runs only if something below it is needed.)
    Walked from the leaves' side (``order`` reversed), so a node's inputs are decided first.
    """
    needed: set[Function] = set()
    for node in reversed(order):
        for t, parent in zip(node.inputs, node.parents):
            if t is None:
                continue
            if parent is None:
                if id(t) in target_leaves:
                    needed.add(node)
                    break
            elif parent in needed or parent in target_nodes:
                needed.add(node)
                break
    return needed


def backward_through_graph(
    outputs: list[Any],
    grads: list[Any],
    retain_graph: bool = False,
    create_graph: bool = False,
    inputs: list[Any] | None = None,
) -> list[Any] | None:
    """Backpropagate ``grads[i]`` (d loss / d outputs[i]) from all outputs at once.

    ``inputs=None``: add the gradients into every leaf's ``.grad`` (``Tensor.backward``).
    Otherwise return the gradient of each tensor in ``inputs`` (None where none arrived) and
    touch no ``.grad`` (:func:`grad`); only the nodes that lead to one of them run.

    ``create_graph=True``: the gradients are Tensors and every node runs ``backward_graph``,
    with grad mode on, so the gradients come out with a graph of their own.  Otherwise they are
    arrays and every node runs its numpy ``backward``, as in :func:`run_backward`.

    The algorithm is :func:`run_backward`'s: count each node's consumers, then Kahn's algorithm
    from the outputs; a gradient is freed once its node has run, and without ``retain_graph``
    the saved arrays of every node that ran are released.
    """
    for t in (*outputs, *(inputs or ())):
        if t._view is not None:
            t._sync_view()  # a view's history is rebuilt if its base changed in place since
    capture = inputs is not None
    target_leaves = {id(t) for t in inputs if t._grad_fn is None} if capture else set()
    target_nodes = {t._grad_fn for t in inputs if t._grad_fn is not None} if capture else set()
    leaf_grads: dict[int, Any] = {}
    node_grads: dict[Function, Any] = {}

    def add(store: dict, key: Any, g: Any) -> None:
        prev = store.get(key)
        store[key] = g if prev is None else prev + g

    grads_of: dict[Function, Any] = {}
    roots: list[Function] = []
    for out, g in zip(outputs, grads):
        fn = out._grad_fn
        if fn is None:  # an output that is a leaf: d out / d out = 1
            if capture:
                if id(out) in target_leaves:
                    add(leaf_grads, id(out), g)
            elif create_graph:
                _accumulate_graph_leaf(out, g)
            else:
                _accumulate_leaf(out, g)
            continue
        if fn not in grads_of:
            roots.append(fn)
        add(grads_of, fn, g)

    pending: dict[Function, int] = {fn: 0 for fn in roots}
    stack = list(roots)
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
    needed = None
    if capture:
        needed = _needed_nodes(_topological_order(roots, pending), target_nodes, target_leaves)

    ready = [r for r in roots if pending[r] == 0]
    done: list[Function] = []
    with grad_mode.set_grad_enabled(create_graph):
        while ready:
            node = ready.pop()
            g = grads_of.pop(node, None)
            if capture and node in target_nodes and g is not None:
                add(node_grads, node, g)
            if needed is not None and node not in needed:
                continue  # nothing below this node leads to an input that was asked for
            done.append(node)
            if node.released:
                raise RuntimeError(
                    f"trying to backward through {node.name} a second time: its saved values "
                    "were freed by the first backward. Pass retain_graph=True to the first "
                    "backward if you need to call backward twice."
                )
            if g is None:
                in_grads: Any = (None,) * len(node.inputs)
            else:
                if node.retained is not None and not capture:
                    if create_graph:
                        _accumulate_graph_leaf(node.retained, g)
                    else:
                        _accumulate_leaf(node.retained, g)
                _check_versions(node)
                if create_graph:
                    _check_input_versions(node)
                in_grads = node.backward_graph(g) if create_graph else node.backward(g)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
                if len(in_grads) != len(node.inputs):
                    method = "backward_graph" if create_graph else "backward"
                    raise RuntimeError(
                        f"{type(node).__name__}.{method} returned {len(in_grads)} gradients for "
                        f"{len(node.inputs)} inputs"
                    )
            for t, parent, gi in zip(node.inputs, node.parents, in_grads):
                if t is None:
                    continue
                if gi is not None:
                    gi = _as_graph_gradient(gi, t) if create_graph else _as_array_gradient(gi, t)
                if parent is None:
                    if gi is None:
                        continue
                    if capture:
                        if id(t) in target_leaves:
                            add(leaf_grads, id(t), gi)
                    elif create_graph:
                        _accumulate_graph_leaf(t, gi)
                    else:
                        _accumulate_leaf(t, gi)
                    continue
                if gi is not None:
                    add(grads_of, parent, gi)
                pending[parent] -= 1
                if pending[parent] == 0:
                    ready.append(parent)
            if not retain_graph:
                node.release()
    if not retain_graph:
        _drop_activations(done)
    if not capture:
        return None
    return [
        leaf_grads.get(id(t)) if t._grad_fn is None else node_grads.get(t._grad_fn) for t in inputs
    ]


def _as_sequence(x: Any, what: str) -> list[Any]:
    if isinstance(x, _Tensor):
        return [x]
    try:
        items = list(x)
    except TypeError:
        raise TypeError(f"grad: {what} must be a Tensor or a sequence of Tensors") from None
    for i, t in enumerate(items):
        if not isinstance(t, _Tensor):
            raise TypeError(f"grad: element {i} of {what} is a {type(t).__name__}, not a Tensor")
    return items


def _start_gradient(out: Any, g: Any, i: int, create_graph: bool) -> Any:
    """d loss / d outputs[i] as the engine wants it: ones for a scalar output without one."""
    if g is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"grad: outputs[{i}] has shape {out.shape}; grad_outputs[{i}] is needed for an "
                "output that is not a scalar (d loss / d output, of the output's shape)"
            )
        g = np.ones_like(out.data)
    elif isinstance(g, _Tensor):
        if g.shape != out.shape:
            raise ValueError(
                f"grad: grad_outputs[{i}] has shape {g.shape} but outputs[{i}] has {out.shape}"
            )
        if create_graph:
            return g if g.dtype == out.dtype else g.to(out.dtype)
        g = g.data
    else:
        g = np.asarray(g, dtype=out.dtype)
        if g.shape != out.shape:
            raise ValueError(
                f"grad: grad_outputs[{i}] has shape {g.shape} but outputs[{i}] has {out.shape}"
            )
    g = np.asarray(g, dtype=out.dtype)
    return constant(g) if create_graph else g


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not stored in ``.grad``.

    As ``torch.autograd.grad``: ``outputs`` and ``inputs`` are Tensors or sequences of them;
    ``grad_outputs`` gives d loss / d output for each output (may be omitted, or None, for a
    scalar output, where it is 1); the result is a tuple with one Tensor per input.  The inputs
    may be leaves or intermediate tensors.  ``retain_graph`` defaults to ``create_graph``.

    With ``create_graph=True`` the returned gradients have a graph of their own, so they can be
    differentiated again: that is how second derivatives are computed.

    >>> import minigrad as mg
    >>> x = mg.tensor(2.0, dtype="float64", requires_grad=True)
    >>> (dy,) = grad(x**3, x, create_graph=True)      # 3 x^2 = 12
    >>> (d2y,) = grad(dy, x)                           # 6 x = 12
    >>> float(dy), float(d2y)
    (12.0, 12.0)

    An input the outputs do not depend on raises ``RuntimeError``, or gets None with
    ``allow_unused=True``.
    """
    outs = _as_sequence(outputs, "outputs")
    ins = _as_sequence(inputs, "inputs")
    if not ins:
        raise ValueError("grad: inputs is empty; name at least one tensor to differentiate")
    if grad_outputs is None or isinstance(grad_outputs, (_Tensor, np.ndarray)):
        gouts = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    else:
        gouts = list(grad_outputs)
    if len(gouts) != len(outs):
        raise ValueError(
            f"grad: {len(gouts)} grad_outputs for {len(outs)} outputs; give one per output"
        )
    for i, out in enumerate(outs):
        if not out.requires_grad:
            raise RuntimeError(
                f"grad: outputs[{i}] does not require grad (no input had requires_grad=True, "
                "or it was computed under no_grad())"
            )
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    start = [_start_gradient(o, g, i, create_graph) for i, (o, g) in enumerate(zip(outs, gouts))]
    found = backward_through_graph(
        outs, start, retain_graph=retain_graph, create_graph=create_graph, inputs=ins
    )
    result: list[Tensor | None] = []
    for i, (t, g) in enumerate(zip(ins, found or [])):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: inputs[{i}] (shape {t.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
        elif create_graph:
            result.append(g)
        else:
            if hasattr(g, "to_dense"):  # a row-sparse embedding gradient: returned dense
                g = g.to_dense()
            result.append(constant(np.array(g, dtype=t.dtype, copy=True)))
    return tuple(result)
