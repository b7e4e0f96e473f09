"""What ``minigrad train --resume`` needs beyond the checkpoint, saved beside it.

A checkpoint (``minigrad.checkpoint``) is enough to *use* a model.  To *continue training* it
exactly as if it had never stopped, a run also needs:

* the optimizer's state: Adam's running moments ``m`` and ``v`` of every parameter and its step
  count ``t`` (without them the first resumed steps would be Adam's first steps again, with
  zero moments and a fresh bias correction: a visible jolt in the loss);
* where the random batch sampler is (its generator's state), so the resumed run draws the
  batches the uninterrupted run would have drawn next, and minigrad's global generator;
* the step counter, and the history (loss per step, held-out evaluations, time spent), so the
  curves and ``metrics.json`` cover the whole run.

Two files: ``train_state.safetensors`` holds the arrays (moments, loss history) and
``train_state.json`` everything else plus the arrays file's SHA-256.  Both are written into the
run's staging folder with the checkpoint and swapped in together (``minigrad.run_folder``), so
they always belong to the weights beside them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.atomic import atomic_write_bytes, atomic_write_text
from minigrad.checkpoint import CheckpointError
from minigrad.io import load_safetensors_bytes
from minigrad.nn import Module
from minigrad.optim import Optimizer

STATE_FORMAT = "minigrad-train-state"
STATE_VERSION = 1
STATE_JSON = "train_state.json"
STATE_ARRAYS = "train_state.safetensors"


@dataclass
class History:
    """Everything a run has measured so far (restored on resume, extended as it goes)."""

    losses: list[float] = field(default_factory=list)  # training loss of step 1, 2, ...
    lrs: list[float] = field(default_factory=list)  # learning rate of step 1, 2, ...
    eval_steps: list[int] = field(default_factory=list)  # steps after which held-out ran
    eval_losses: list[float] = field(default_factory=list)  # mean held-out loss (nats/token)
    train_seconds: float = 0.0  # sampling + forward + backward + update, summed
    eval_seconds: float = 0.0  # held-out evaluations, summed
    tokens_evaluated: int = 0  # held-out tokens scored, all evaluations together

    @property
    def steps_done(self) -> int:
        return len(self.losses)


@dataclass
class TrainState:
    """A run's saved state, as :func:`load_train_state` reads it."""

    settings: dict[str, Any]
    history: History
    batches_rng: dict[str, Any]
    global_rng: dict[str, Any]
    optimizer: dict[str, Any]  # in ``Optimizer.load_state_dict``'s format
    data_sha256: str


def ids_digest(*arrays: np.ndarray) -> str:
    """A fingerprint of the token ids, to tell that a resumed run reads the same corpus."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
        h.update(b"|")
    return h.hexdigest()


def save_train_state(
    folder: Path,
    settings: dict[str, Any],
    model: Module,
    optimizer: Optimizer,
    history: History,
    batches_rng: np.random.Generator,
    global_rng: np.random.Generator,
    data_sha256: str,
) -> list[Path]:
    """Write the two state files into ``folder``; return their paths."""
    from safetensors.numpy import save as st_save

    names = [name for name, _ in model.named_parameters()]
    opt = optimizer.state_dict()
    arrays: dict[str, np.ndarray] = {
        "history.loss": np.asarray(history.losses, dtype=np.float64),
        "history.lr": np.asarray(history.lrs, dtype=np.float64),
        "history.eval_step": np.asarray(history.eval_steps, dtype=np.int64),
        "history.eval_loss": np.asarray(history.eval_losses, dtype=np.float64),
    }
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in opt["state"].items():
        name = names[index]
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                arrays[f"optimizer.{name}.{key}"] = np.ascontiguousarray(value)
            else:
                scalars.setdefault(name, {})[key] = value
    blob = st_save(arrays)
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
        for g in opt["param_groups"]
    ]
    info = {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "step": history.steps_done,
        "settings": settings,
        "optimizer": {"param_groups": groups, "scalars": scalars, "names": names},
        "batches_rng": batches_rng.bit_generator.state,
        "global_rng": global_rng.bit_generator.state,
        "train_seconds": history.train_seconds,
        "eval_seconds": history.eval_seconds,
        "tokens_evaluated": history.tokens_evaluated,
        "data_sha256": data_sha256,
        "arrays_sha256": hashlib.sha256(blob).hexdigest(),
    }
    atomic_write_bytes(folder / STATE_ARRAYS, blob)
    atomic_write_text(folder / STATE_JSON, json.dumps(info, indent=1, allow_nan=False) + "\n")
    return [folder / STATE_JSON, folder / STATE_ARRAYS]


def has_train_state(folder: Path) -> bool:
    return (folder / STATE_JSON).is_file()


def load_train_state(folder: Path) -> TrainState:
    """Read what :func:`save_train_state` wrote; ``CheckpointError`` naming the file if damaged."""
    where = folder / STATE_JSON
    if not where.is_file():
        raise CheckpointError(
            f"{folder}: no {STATE_JSON}, so this run cannot be resumed (it was written by an "
            "older minigrad, or not by `minigrad train`)"
        )
    try:
        info = json.loads(where.read_text(encoding="utf-8"))
        ok = info.get("format") == STATE_FORMAT
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        ok = False
    if not ok:
        raise CheckpointError(f"{where}: corrupt training state (not minigrad's JSON)")
    if info.get("version") != STATE_VERSION:
        raise CheckpointError(
            f"{where}: training state version {info.get('version')!r}; this minigrad reads "
            f"version {STATE_VERSION}"
        )
    arrays_path = folder / STATE_ARRAYS
    blob = arrays_path.read_bytes() if arrays_path.is_file() else b""
    if hashlib.sha256(blob).hexdigest() != info.get("arrays_sha256"):
        raise CheckpointError(
            f"{arrays_path}: missing or damaged (its SHA-256 does not match {STATE_JSON})"
        )
    try:
        arrays = load_safetensors_bytes(blob, arrays_path)
        names = info["optimizer"]["names"]
        state: dict[int, dict[str, Any]] = {}
        for index, name in enumerate(names):
            entry = dict(info["optimizer"]["scalars"].get(name, {}))
            prefix = f"optimizer.{name}."
            entry.update({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
            if entry:
                state[index] = entry
        groups = [
            {k: (tuple(v) if k == "betas" else v) for k, v in g.items()}
            for g in info["optimizer"]["param_groups"]
        ]
        history = History(
            losses=[float(v) for v in arrays["history.loss"]],
            lrs=[float(v) for v in arrays["history.lr"]],
            eval_steps=[int(v) for v in arrays["history.eval_step"]],
            eval_losses=[float(v) for v in arrays["history.eval_loss"]],
            train_seconds=float(info["train_seconds"]),
            eval_seconds=float(info["eval_seconds"]),
            tokens_evaluated=int(info["tokens_evaluated"]),
        )
        if history.steps_done != info["step"]:
            raise ValueError(f"{history.steps_done} losses for step {info['step']}")
        return TrainState(
            settings=dict(info["settings"]),
            history=history,
            batches_rng=info["batches_rng"],
            global_rng=info["global_rng"],
            optimizer={"state": state, "param_groups": groups},
            data_sha256=str(info["data_sha256"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: corrupt training state ({exc})") from None


def restore_optimizer(optimizer: Optimizer, model: Module, saved: dict[str, Any]) -> None:
    """Load the saved optimizer state; ``CheckpointError`` if it does not fit this model."""
    try:
        optimizer.load_state_dict(saved)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"the saved optimizer state does not fit the model: {exc}") from None
