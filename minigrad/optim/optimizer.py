"""``Optimizer``: the base class that owns parameter groups, per-parameter state and zero_grad.

An optimizer turns gradients into updates.  Subclasses implement ``step()``, which runs under
``no_grad()`` and changes each ``p.data`` in place (and bumps ``p``'s version, so a graph that
saved the old values refuses to backward through them).

Parameter groups are as in PyTorch: ``SGD([{"params": emb.parameters(), "lr": 0.1},
{"params": head.parameters()}], lr=0.01)`` gives the embedding its own learning rate; any option
not given in a group takes the constructor's default.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad.sparse import RowSparseGrad
from minigrad.tensor import Tensor


class Optimizer:
    """Base class: ``param_groups`` (list of dicts with ``"params"``) and ``state`` (per param)."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing options: the defaults)."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a param group must be a dict with a 'params' key, got {group!r}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer params must be Tensors, got {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(
                    f"optimizer got a tensor of shape {p.shape} that does not require grad"
                )
            if id(p) in seen:
                raise ValueError(f"a parameter of shape {p.shape} appears in more than one group")
            seen.add(id(p))
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(
                f"unknown option(s) {sorted(unknown)} in a param group; known options: "
                f"{sorted(self.defaults)}"
            )
        full = {**self.defaults, **group, "params": params}
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Subclasses raise ValueError for bad hyper-parameters here."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: ``None`` (default), or zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or not isinstance(p.grad, np.ndarray):
                    p.grad = None
                else:
                    p.grad.fill(0)

    def step(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    def _params_with_grad(self, group: dict[str, Any]) -> Iterable[tuple[Tensor, Any]]:
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if isinstance(g, Tensor):  # after backward(create_graph=True): the step uses values
                g = g.data
            if not isinstance(g, (np.ndarray, RowSparseGrad)):
                raise TypeError(f"unsupported gradient type {type(g).__name__} for shape {p.shape}")
            yield p, g

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {param index: {...}}, "param_groups": [options + param indices]}``.

        Parameters are numbered in group order, as in PyTorch, so a state dict can be loaded into
        a fresh optimizer over a fresh model of the same structure.  Arrays are copied.
        """
        index = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {}
        for p, s in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = copy.deepcopy(s)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and per-parameter state saved by :meth:`state_dict`."""
        groups = state_dict.get("param_groups")
        if not isinstance(groups, list) or len(groups) != len(self.param_groups):
            got = len(groups) if isinstance(groups, list) else groups
            raise ValueError(
                f"state dict has {got} param groups, this optimizer has {len(self.param_groups)}"
            )
        params = []
        for k, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"param group {k}: the state dict has {len(saved['params'])} parameters, "
                    f"this optimizer has {len(own['params'])}"
                )
            params.extend(zip(saved["params"], own["params"]))
        new_state = {}
        for saved_id, p in params:
            s = state_dict["state"].get(saved_id)
            if s is None:
                continue
            for key, value in s.items():
                if isinstance(value, np.ndarray) and value.shape != p.shape:
                    raise ValueError(
                        f"state {key!r} of parameter {saved_id} has shape {value.shape}, the "
                        f"parameter has {p.shape}"
                    )
            new_state[p] = copy.deepcopy(s)
        for saved, own in zip(groups, self.param_groups):
            own.update({k: v for k, v in saved.items() if k != "params"})
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join([*lines, ")"])


def bump(p: Tensor) -> None:
    """Record an in-place change of ``p.data`` (see Tensor's version counter)."""
    p._version[0] += 1
