"""Containers: ``Sequential`` (call modules one after the other) and ``ModuleList`` (hold them).

Both register their modules under the names ``"0"``, ``"1"``, ... as PyTorch does, so that a
state dict key such as ``blocks.1.attn.qkv.weight`` means the same thing in both libraries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from minigrad.nn.module import Module


def _check_module(m: Any, where: str) -> Module:
    if not isinstance(m, Module):
        raise TypeError(f"{where} holds Modules only, got {type(m).__name__}")
    return m


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list's would be invisible).

    >>> from minigrad.nn.layers import Linear
    >>> layers = ModuleList([Linear(2, 2) for _ in range(3)])
    >>> [name for name, _ in layers.named_parameters()][:2]
    ['0.weight', '0.bias']
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, idx: int) -> str:
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a {type(self).__name__} of {n}")
        return str(idx % n)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            out = type(self)()  # a new container of the same kind, renumbered from "0"
            return out.extend(list(self._modules.values())[idx])
        return self._modules[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self._index(idx), _check_module(module, type(self).__name__))

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self)), _check_module(module, type(self).__name__))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward; iterate over it instead")


class Sequential(ModuleList):
    """Modules called in order, each on the previous one's output.

    >>> from minigrad.nn.layers import Linear
    >>> from minigrad.nn.activation import ReLU
    >>> mlp = Sequential(Linear(4, 8), ReLU(), Linear(8, 4))
    >>> list(mlp.state_dict())          # the ReLU has no weights but keeps its index "1"
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__(modules)

    def forward(self, x: Any) -> Any:
        for m in self:
            x = m(x)
        return x
