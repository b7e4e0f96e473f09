"""Save and load a module's weights as a safetensors file, the format PyTorch users load.

safetensors is a JSON header (name -> dtype, shape, byte range) followed by the raw bytes: no
pickle, so loading a file never runs code, and the same file opens in PyTorch with
``safetensors.torch.load_file(path)``.  Keys are ``module.state_dict()``'s dotted names, which
minigrad chooses to match ``torch.nn`` (``Linear.weight`` is (out, in), and so on), so::

    save_safetensors(model, "model.safetensors")                       # minigrad
    torch_model.load_state_dict(safetensors.torch.load_file("model.safetensors"))

Writes are atomic: the bytes go to a temporary file in the same folder, are flushed to disk,
and then ``os.replace`` moves it onto the real name, so a crash never leaves half a file there.

Deliberately left out: optimizer state (use ``optimizer.state_dict()``), sharded files, and
silently converting dtypes (a float64 file does not load into a float32 model: convert first).
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as _st_load
from safetensors.numpy import save as _st_save

from minigrad.atomic import atomic_write_bytes
from minigrad.nn.module import IncompatibleKeys, Module

PathLike = str | os.PathLike


def save_safetensors(
    module: Module, path: PathLike, metadata: dict[str, str] | None = None
) -> Path:
    """Write ``module.state_dict()`` to ``path`` (atomically); returns the path.

    ``metadata`` (str -> str) goes into the file's header, e.g. ``{"format": "pt"}``, which
    some PyTorch tools expect.  Raises ``TypeError`` for a non-Module or non-str metadata.
    """
    if not isinstance(module, Module):
        raise TypeError(f"save_safetensors expects a Module, got {type(module).__name__}")
    if metadata is not None and not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise TypeError(f"safetensors metadata must map str to str, got {metadata!r}")
    tensors = {k: np.ascontiguousarray(v) for k, v in module.state_dict().items()}
    data = _st_save(tensors, metadata=metadata)
    return atomic_write_bytes(path, data)


#: safetensors' dtype names that NumPy has a type for.  Others (``BF16``, the ``F8_*`` formats)
#: have no NumPy equivalent: such a file needs converting (e.g. ``tensor.float()`` in PyTorch).
NUMPY_DTYPES: dict[str, np.dtype] = {
    name: np.dtype(t)
    for name, t in {
        "F64": np.float64, "F32": np.float32, "F16": np.float16,
        "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
        "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
    }.items()
}  # fmt: skip
#: a header larger than this is not a weights file (safetensors itself caps it at 100 MB)
MAX_HEADER_BYTES = 100_000_000


class UnsupportedDtypeError(ValueError):
    """A safetensors file holds a dtype NumPy has no type for (``BF16``, ``F8_E4M3``, ...)."""


class TensorInfo(NamedTuple):
    """One entry of a safetensors header: dtype name (``"F32"``), shape and byte range."""

    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int


def safetensors_header(raw: bytes, where: PathLike | str) -> dict[str, TensorInfo]:
    """The tensors a safetensors file holds, read from its header alone (nothing allocated).

    The layout: 8 bytes (little-endian u64) giving the header's length, the header (JSON:
    name -> ``{"dtype", "shape", "data_offsets"}``, plus an optional ``__metadata__``), then the
    raw bytes.  Checked here: the header fits in the file, every byte range lies inside the
    data and matches its dtype and shape, and every dtype is one NumPy can hold.  So the shapes
    returned are bounded by the file's size, and a caller may build arrays of those shapes.
    ``ValueError`` naming ``where`` otherwise.
    """
    bad = f"{where} is not a valid safetensors file ({len(raw)} bytes)"
    if len(raw) < 8:
        raise ValueError(f"{bad}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > min(len(raw) - 8, MAX_HEADER_BYTES):
        raise ValueError(f"{bad}: its header claims {n} bytes")
    try:
        header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{bad}: the header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{bad}: the header is not a JSON object")
    data_bytes = len(raw) - 8 - n
    out: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            ok = all(isinstance(v, int) and v >= 0 for v in (*shape, start, end))
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{bad}: malformed header entry for {name!r}: {entry!r}")
        if dtype not in NUMPY_DTYPES:
            known = ", ".join(NUMPY_DTYPES)
            hint = " (bfloat16)" if dtype == "BF16" else ""
            raise UnsupportedDtypeError(
                f"{where}: tensor {name!r} is stored as {dtype}{hint}, which NumPy has no type "
                f"for; convert it to float32 first (in PyTorch: tensor.float()). "
                f"Readable dtypes: {known}"
            )
        count = math.prod(shape)
        if end > data_bytes or end - start != count * NUMPY_DTYPES[dtype].itemsize:
            raise ValueError(
                f"{bad}: tensor {name!r} ({dtype}, shape {tuple(shape)}) does not fit its byte "
                f"range {start}..{end} of {data_bytes} data bytes"
            )
        out[name] = TensorInfo(dtype, tuple(shape), start, end)
    return out


def load_safetensors_bytes(raw: bytes, where: PathLike | str) -> dict[str, np.ndarray]:
    """Every array in ``raw`` (a whole safetensors file) by name; ``ValueError`` naming ``where``.

    The header is checked first (:func:`safetensors_header`), so a dtype NumPy cannot hold gives
    a clear message instead of the library's ``KeyError: 'BF16'``.
    """
    safetensors_header(raw, where)
    try:
        return dict(_st_load(raw))
    except (SafetensorError, ValueError, TypeError, OverflowError, KeyError) as exc:
        raise ValueError(
            f"{where} is not a valid safetensors file ({len(raw)} bytes): {exc}"
        ) from None


def read_safetensors(path: PathLike) -> dict[str, np.ndarray]:
    """Every array in the file by name; ``ValueError`` (naming the file) if it is not valid."""
    path = Path(path)
    raw = path.read_bytes()  # FileNotFoundError / IsADirectoryError name the path themselves
    return load_safetensors_bytes(raw, path)


def load_safetensors(module: Module, path: PathLike, strict: bool = True) -> IncompatibleKeys:
    """Copy the weights in ``path`` into ``module``'s parameters, in place.

    Checks everything before changing anything; on any error the module is untouched.
    Raises ``ValueError`` naming the file and every problem found: missing keys or unexpected
    keys (``strict=True``; with ``strict=False`` they are returned instead, as PyTorch's
    ``load_state_dict`` does), a shape mismatch, a dtype mismatch, or a corrupt file.

    Tied parameters (one Parameter under several names, e.g. ``tok_emb.weight`` and
    ``head.weight``) need only one of their names in the file: ``safetensors.torch.save_model``
    writes shared tensors once.  If several names are present, their values must agree.
    """
    if not isinstance(module, Module):
        raise TypeError(f"load_safetensors expects a Module, got {type(module).__name__}")
    arrays = read_safetensors(path)
    own: dict[str, Any] = {}
    for mod_name, m in module.named_modules():
        for name, p in m._parameters.items():
            own[f"{mod_name}.{name}" if mod_name else name] = p
    present = {id(p) for k, p in own.items() if k in arrays}  # covered under some name
    missing = [k for k, p in own.items() if id(p) not in present]
    unexpected = sorted(k for k in arrays if k not in own)
    problems = []
    if strict and missing:
        problems.append(f"missing keys (in the model, not in the file): {missing}")
    if strict and unexpected:
        problems.append(f"unexpected keys (in the file, not in the model): {unexpected}")
    first_name: dict[int, str] = {}
    for key, p in own.items():
        arr = arrays.get(key)
        if arr is None:
            continue
        if arr.shape != p.shape:
            problems.append(f"{key!r}: the file has shape {arr.shape}, the model {p.shape}")
        elif arr.dtype != p.dtype:
            problems.append(f"{key!r}: the file has dtype {arr.dtype}, the model {p.dtype}")
        elif id(p) in first_name and not np.array_equal(arrays[first_name[id(p)]], arr):
            problems.append(
                f"{key!r} and {first_name[id(p)]!r} are one tied parameter in the model but "
                "hold different values in the file"
            )
        first_name.setdefault(id(p), key)
    if problems:
        raise ValueError(f"cannot load {path} into {type(module).__name__}: " + "; ".join(problems))
    module.load_state_dict({k: arrays[k] for k in first_name.values()}, strict=False)
    return IncompatibleKeys(missing, unexpected)
