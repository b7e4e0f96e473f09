"""Checkpoints: a trained model, its tokenizer and its config, in one folder.

A checkpoint folder holds three files::

    model.safetensors   the weights, by the state_dict's dotted names (safetensors format)
    tokenizer.json      a word-level tokenizer's word list, or
    tokenizer.mgbpe     a BPE tokenizer (``BPETokenizer.save``'s format)
    config.json         what the other two are: model type and sizes, tokenizer type,
                        the weights' SHA-256, training settings, word classes if known

Why three files: the weights are numbers (safetensors stores them without pickle, so loading
a checkpoint never runs code), and everything else is small text a person can read.

Every file is written to a temporary name in the same folder and then moved into place with
``os.replace``, which is atomic: a crash or Ctrl-C never leaves half a file under the real
name.  ``config.json`` is written last and records the weights' SHA-256, so a folder whose
weights do not match its config (a half-finished copy, a damaged file) is detected on load and
reported as :class:`CheckpointError` (a ``ValueError``) naming the file and what is wrong.
``minigrad train`` goes further: it saves into a staging folder and swaps the whole folder in
(``minigrad.run_folder``), so its ``--out`` never holds files of two different saves.

Loading checks the safetensors header before anything is allocated: every dtype must be one
NumPy holds (``BF16`` is refused by name), and the config's sizes must give exactly the
header's shapes, so a config claiming ``vocab_size: 10**11`` is an error, not a MemoryError.
Weights that are NaN or infinite (a diverged run's) are refused unless asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.atomic import atomic_write_bytes, atomic_write_text
from minigrad.io import TensorInfo, UnsupportedDtypeError, safetensors_header
from minigrad.models import MLPConfig, MLPLanguageModel, TinyGPT, TinyGPTConfig
from minigrad.nn import Module
from minigrad.tokenizers import BPETokenizer, WordTokenizer

FORMAT_NAME = "minigrad-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
WORD_TOKENIZER_FILE = "tokenizer.json"
BPE_TOKENIZER_FILE = "tokenizer.mgbpe"

Tokenizer = WordTokenizer | BPETokenizer


class CheckpointError(ValueError):
    """A checkpoint that is missing, damaged or written by an incompatible version."""


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns: the model (weights loaded), tokenizer and config."""

    model: Module
    tokenizer: Tokenizer
    config: dict[str, Any]
    path: Path = field(default_factory=Path)

    @property
    def word_classes(self) -> dict[str, str] | None:
        """``{word: class}`` when the model was trained on the built-in corpus, else None."""
        return self.config.get("word_classes")


def _model_type(model: Module) -> tuple[str, dict[str, Any]]:
    if isinstance(model, MLPLanguageModel):
        return "mlp", model.config.to_dict()
    if isinstance(model, TinyGPT):
        return "transformer", model.config.to_dict()
    raise TypeError(f"cannot checkpoint a {type(model).__name__}: unknown model type")


def embedding_matrix(model: Module) -> np.ndarray:
    """The token embedding table (V, d) of a checkpointed model (shared, not a copy)."""
    if isinstance(model, TinyGPT):
        return model.tok_emb.weight.data
    return model.embed.weight.data


def _model_config(kind: str, sizes: dict[str, Any], where: Path) -> MLPConfig | TinyGPTConfig:
    """The recorded sizes as a validated config (nothing allocated yet)."""
    if kind not in ("mlp", "transformer"):
        raise CheckpointError(f"{where}: unknown model type {kind!r} (known: 'mlp', 'transformer')")
    try:
        if kind == "mlp":
            return MLPConfig.from_dict(dict(sizes))
        return TinyGPTConfig(**dict(sizes))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: invalid model sizes {sizes}: {exc}") from None


def _build_model(config: MLPConfig | TinyGPTConfig) -> Module:
    """A freshly initialised model of the recorded type and sizes."""
    if isinstance(config, MLPConfig):
        return MLPLanguageModel(config)
    return TinyGPT.from_config(config)


def _check_sizes(
    config: MLPConfig | TinyGPTConfig, header: dict[str, TensorInfo], weights: Path
) -> None:
    """The config's parameter shapes must be exactly the weights file's, before we allocate.

    The header's shapes are bounded by the file's size (``minigrad.io.safetensors_header``), so
    once they agree, building the model takes no more memory than the file holds; a config
    that claims ``vocab_size: 10**11`` is refused here instead of ending in a MemoryError.
    """
    expected = config.parameter_shapes()
    problems = []
    missing = [k for k in expected if k not in header]
    extra = sorted(k for k in header if k not in expected)
    if missing:
        problems.append(f"tensors missing from the file: {missing}")
    if extra:
        problems.append(f"tensors the config does not have: {extra}")
    for key, shape in expected.items():
        info = header.get(key)
        if info is not None and info.shape != shape:
            problems.append(f"{key!r} has shape {info.shape} in the file, {shape} by the config")
        elif info is not None and info.dtype not in ("F32", "F64", "F16"):
            problems.append(f"{key!r} is {info.dtype}, not a float type")
    if problems:
        raise CheckpointError(
            f"{weights}: incompatible with its config: "
            + "; ".join(problems[:4])
            + ("; ..." if len(problems) > 4 else "")
        )


def check_finite(arrays: dict[str, np.ndarray], where: Path) -> None:
    """``CheckpointError`` if any weight is NaN or infinite (a diverged run's weights)."""
    for name, arr in arrays.items():
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
            raise CheckpointError(
                f"{where}: {bad} of the {arr.size} values of {name!r} are NaN or infinite: the "
                "run that wrote these weights diverged (train again, e.g. with a lower --lr)"
            )


def save_checkpoint(
    directory: str | os.PathLike[str],
    model: Module,
    tokenizer: Tokenizer,
    training: dict[str, Any] | None = None,
    word_classes: dict[str, str] | None = None,
) -> Path:
    """Write model, tokenizer and config into ``directory`` (created if needed); return it.

    ``training`` is free-form JSON-able information (steps done, seed, interrupted or not);
    ``word_classes`` the ground-truth classes when the corpus has them.
    """
    from safetensors.numpy import save as st_save

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    kind, sizes = _model_type(model)
    arrays = {k: np.ascontiguousarray(v) for k, v in model.state_dict().items()}
    blob = st_save(arrays, metadata={"format": FORMAT_NAME, "version": str(FORMAT_VERSION)})
    atomic_write_bytes(out / WEIGHTS_FILE, blob)

    if isinstance(tokenizer, WordTokenizer):
        tok_info = {"type": "word", "file": WORD_TOKENIZER_FILE}
        payload = {"type": "word", "words": list(tokenizer.id_to_token)}
        atomic_write_text(out / WORD_TOKENIZER_FILE, json.dumps(payload, ensure_ascii=False))
    elif isinstance(tokenizer, BPETokenizer):
        tok_info = {"type": "bpe", "file": BPE_TOKENIZER_FILE}
        tokenizer.save(out / BPE_TOKENIZER_FILE)  # atomic as well (tokenizers.io)
    else:
        raise TypeError(f"cannot save a tokenizer of type {type(tokenizer).__name__}")

    config = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "model": {"type": kind, "config": sizes},
        "tokenizer": tok_info,
        "weights": {"file": WEIGHTS_FILE, "sha256": hashlib.sha256(blob).hexdigest()},
        "training": training or {},
        "word_classes": word_classes,
    }
    # Written last: a folder whose config.json exists has all its files in place.
    atomic_write_text(out / CONFIG_FILE, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return out


def resolve_checkpoint_dir(path: str | os.PathLike[str]) -> Path:
    """Accept the checkpoint folder itself or any file inside it (e.g. ``model.safetensors``)."""
    p = Path(path)
    if p.is_file():
        p = p.parent
    if not p.exists():
        raise CheckpointError(f"{path}: no such checkpoint folder")
    if not (p / CONFIG_FILE).is_file():
        raise CheckpointError(
            f"{p}: not a checkpoint (no {CONFIG_FILE}); pass the --out folder of `minigrad train`"
        )
    return p


def _read_config(d: Path) -> dict[str, Any]:
    where = d / CONFIG_FILE
    try:
        config = json.loads(where.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{where}: corrupt config (not valid JSON: {exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{where}: not a minigrad checkpoint config (no format marker)")
    version = config.get("version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{where}: checkpoint format version {version!r}; this minigrad reads version "
            f"{FORMAT_VERSION}"
        )
    for key in ("model", "tokenizer", "weights"):
        if not isinstance(config.get(key), dict):
            raise CheckpointError(f"{where}: corrupt config (missing the {key!r} section)")
    return config


def _load_tokenizer(d: Path, info: dict[str, Any]) -> Tokenizer:
    kind, name = info.get("type"), info.get("file")
    if not isinstance(name, str) or "/" in name or "\\" in name:
        raise CheckpointError(f"{d / CONFIG_FILE}: invalid tokenizer file name {name!r}")
    where = d / name
    if not where.is_file():
        raise CheckpointError(f"{where}: tokenizer file missing")
    if kind == "word":
        try:
            payload = json.loads(where.read_text(encoding="utf-8"))
            return WordTokenizer(payload["words"])
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{where}: corrupt word tokenizer ({exc})") from None
    if kind == "bpe":
        try:
            return BPETokenizer.load(where)
        except ValueError as exc:
            raise CheckpointError(f"{where}: corrupt BPE tokenizer ({exc})") from None
    raise CheckpointError(f"{d / CONFIG_FILE}: unknown tokenizer type {kind!r}")


def load_checkpoint(path: str | os.PathLike[str], allow_non_finite: bool = False) -> Checkpoint:
    """Read a folder written by :func:`save_checkpoint`; anything wrong raises CheckpointError.

    Checked before anything is allocated: the weights' SHA-256 against the config, the
    safetensors header (dtypes NumPy can hold, byte ranges inside the file), and the config's
    sizes against the header's shapes.  Weights that are NaN or infinite are refused too
    (``allow_non_finite=True`` loads them anyway, e.g. to inspect a diverged run).
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    d = resolve_checkpoint_dir(path)
    config = _read_config(d)
    weights = d / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{weights}: weights file missing")
    blob = weights.read_bytes()
    expected = config["weights"].get("sha256")
    actual = hashlib.sha256(blob).hexdigest()
    if expected != actual:
        raise CheckpointError(
            f"{weights}: corrupt weights (SHA-256 {actual[:12]}... does not match "
            f"{str(expected)[:12]}... recorded in {CONFIG_FILE})"
        )
    try:
        header = safetensors_header(blob, weights)
    except UnsupportedDtypeError as exc:
        raise CheckpointError(str(exc)) from None
    except ValueError as exc:
        raise CheckpointError(f"corrupt safetensors file: {exc}") from None

    model_info = config["model"]
    model_config = _model_config(str(model_info.get("type")), model_info.get("config") or {}, d)
    _check_sizes(model_config, header, weights)
    try:
        arrays = st_load(blob)
    except (SafetensorError, ValueError, OSError) as exc:
        raise CheckpointError(f"{weights}: corrupt safetensors file ({exc})") from None
    if not allow_non_finite:
        check_finite(arrays, weights)
    model = _build_model(model_config)
    try:
        model.load_state_dict(arrays)
    except ValueError as exc:
        raise CheckpointError(f"{weights}: incompatible with its config: {exc}") from None
    tokenizer = _load_tokenizer(d, config["tokenizer"])
    n_rows = embedding_matrix(model).shape[0]
    if tokenizer.n_vocab > n_rows:
        raise CheckpointError(
            f"{d}: incompatible: the tokenizer has {tokenizer.n_vocab} tokens but the embedding "
            f"only {n_rows} rows"
        )
    return Checkpoint(model=model, tokenizer=tokenizer, config=config, path=d)
