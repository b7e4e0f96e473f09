"""``Module`` and ``Parameter``: how a model keeps track of its weights.

A ``Parameter`` is a ``Tensor`` that requires grad by default; assigning one to an attribute of
a ``Module`` registers it under that name.  Assigning a ``Module`` registers a sub-module.  That
is all the bookkeeping there is, and everything else follows from it::

    >>> from minigrad.nn import Embedding, Linear, Module
    >>> class TwoLayer(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.emb = Embedding(10, 4)
    ...         self.out = Linear(4, 10)
    ...     def forward(self, ids):
    ...         return self.out(self.emb(ids))
    >>> [name for name, _ in TwoLayer().named_parameters()]
    ['emb.weight', 'out.weight', 'out.bias']

The dotted names are the keys of ``state_dict()``, as in PyTorch, so weights map one-to-one onto
``torch.nn`` modules of the same structure.

Deliberately left out: buffers, hooks, devices, ``apply``; ``state_dict()`` returns copies of the
arrays (PyTorch returns tensors sharing memory), so that a saved dict does not change when the
optimizer updates the weights in place.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a model weight: it requires grad unless told otherwise.

    ``Parameter(data)`` shares memory with ``data`` when it is an ndarray or a Tensor (as
    ``torch.nn.Parameter`` does); other data (lists, numbers) is converted.

    >>> p = Parameter(np.zeros((2, 3), np.float32))
    >>> p.requires_grad, p.shape
    (True, (2, 3))
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if not isinstance(data, np.ndarray):
            data = np.array(data, dtype=np.float32)
        self.data = data
        self.grad = None
        self._grad_fn = None
        self._version = [0]
        self._view = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns, as in PyTorch: keys it did not find / did not expect."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model: subclass it and write ``forward``.

    Calling the module calls ``forward``.  Attributes that are ``Parameter``s or ``Module``s are
    registered (in assignment order) and show up in ``parameters()``, ``state_dict()`` and the
    ``repr``.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ----------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if params is None:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() ran; call "
                "super().__init__() first in your __init__"
            )
        modules = self.__dict__["_modules"]
        params.pop(name, None)
        modules.pop(name, None)
        self.__dict__.pop(name, None)
        if isinstance(value, Parameter):
            params[name] = value
        elif isinstance(value, Module):
            modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup failed: look in the registries.
        d = self.__dict__
        if "_parameters" in d and name in d["_parameters"]:
            return d["_parameters"][name]
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` removes it, e.g. a Linear without bias)."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        elif not isinstance(param, Parameter):
            raise TypeError(f"{name!r} must be a Parameter or None, got {type(param).__name__}")
        else:
            setattr(self, name, param)

    # ----------------------------------------------------------------- calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ----------------------------------------------------------------- traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (name ``prefix``) and every sub-module, depth first, each once."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:  # explicit stack, children in order
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, each parameter once even if shared."""
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_name, m in mods:
            for name, p in m._parameters.items():
                if id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # ----------------------------------------------------------------- modes and grads
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all sub-modules; returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``); returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter (``None``, or zeros in place)."""
        for p in self.parameters():
            if set_to_none or not isinstance(p.grad, np.ndarray):
                p.grad = None
            else:
                p.grad.fill(0)

    # ----------------------------------------------------------------- state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Every parameter's values by dotted name (copies, see the module docstring)."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for mod_name, m in self.named_modules():
            for name, p in m._parameters.items():
                out[f"{mod_name}.{name}" if mod_name else name] = np.array(p.data, copy=True)
        return out

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters, in place.

        With ``strict=True`` (the default) the keys must match exactly; otherwise missing and
        unexpected keys are returned.  A shape mismatch always raises, and so does a value that
        cannot be converted to its parameter's dtype (text, ``None``, ...).  Values may be
        ndarrays or Tensors; they are cast to each parameter's dtype.

        All or nothing: every value is checked and converted into a new array first, and only
        when all of them are fine are they copied in, so an error (even in the last key) leaves
        every parameter as it was.
        """
        own: dict[str, Parameter] = {}
        for mod_name, m in self.named_modules():
            for name, p in m._parameters.items():
                own[f"{mod_name}.{name}" if mod_name else name] = p
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        staged: dict[str, np.ndarray] = {}
        for key, p in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            try:
                arr = value.data if isinstance(value, Tensor) else np.asarray(value)
            except (TypeError, ValueError) as exc:
                problems.append(f"{key!r}: not an array ({exc})")
                continue
            if arr.shape != p.shape:
                problems.append(
                    f"shape mismatch for {key!r}: the checkpoint has {arr.shape}, the model "
                    f"has {p.shape}"
                )
                continue
            try:
                staged[key] = np.array(arr, dtype=p.dtype, copy=True)
            except (TypeError, ValueError, OverflowError) as exc:
                problems.append(f"{key!r}: cannot convert {arr.dtype} values to {p.dtype} ({exc})")
        if problems:
            raise ValueError(
                f"error(s) loading state_dict for {type(self).__name__}: " + "; ".join(problems)
            )
        for key, arr in staged.items():  # cannot fail: same shape, same dtype
            p = own[key]
            np.copyto(p.data, arr)
            p._version[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # ----------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """The part inside the parentheses, e.g. ``in_features=4, out_features=2``."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
