"""The ``--out`` folder of ``minigrad train``: whose it is, and writing a run into it all at once.

What a run folder holds, and nothing else::

    model.safetensors, config.json, tokenizer.json | tokenizer.mgbpe   the checkpoint
    train_state.json, train_state.safetensors                         what --resume needs
    metrics.json      the numbers (strict JSON: no NaN or Infinity, null where undefined)
    losses.csv        step, learning rate, training loss, held-out loss: the whole history
    loss.png, embeddings.png                                          the plots

Before a run starts, :func:`check_out_folder` makes sure that writing there loses nothing:
a folder holding anything else (a user's own ``config.json``, say) is refused, and so is a
minigrad run of another model type unless ``--force``.  At the end :func:`write_run` writes
every file into a staging folder and swaps it in (``minigrad.run_folder``), so the folder
always holds one complete run: never the weights of one and the metrics of another.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minigrad import checkpoint as ckpt
from minigrad.commands.common import CLIError
from minigrad.commands.train_state import STATE_ARRAYS, STATE_JSON
from minigrad.run_folder import check_can_replace, replacing_folder

METRICS_FILE = "metrics.json"
LOSSES_FILE = "losses.csv"
PLOT_FILES = ("loss.png", "embeddings.png")
#: every name minigrad writes into a run folder
RUN_FILES = frozenset({
    ckpt.WEIGHTS_FILE, ckpt.CONFIG_FILE, ckpt.WORD_TOKENIZER_FILE, ckpt.BPE_TOKENIZER_FILE,
    STATE_JSON, STATE_ARRAYS, METRICS_FILE, LOSSES_FILE, *PLOT_FILES,
})  # fmt: skip


def _run_config(folder: Path) -> dict[str, Any] | None:
    """The folder's ``config.json`` if minigrad wrote it, else None."""
    try:
        config = json.loads((folder / ckpt.CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(config, dict) and config.get("format") == ckpt.FORMAT_NAME:
        return config
    return None


def check_out_folder(out: Path, model: str, force: bool, resume: bool) -> dict[str, Any] | None:
    """Refuse an ``--out`` whose files are not minigrad's to replace; return its run's config.

    * missing or empty: fine (None);
    * anything in it that minigrad did not write: refused, whatever the flags;
    * a minigrad run of another model type: refused unless ``force`` (or ``resume``, which
      continues that run with its own model);
    * a minigrad run of the same type: it will be replaced (or continued, with ``resume``).
    """
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {str(out)!r} exists and is not a folder")
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if not entries:
        if resume:
            raise CLIError(f"--resume: there is no run in {str(out)!r} to continue")
        return None
    foreign = [n for n in entries if n not in RUN_FILES]
    config = _run_config(out)
    if config is None and not foreign:
        foreign = [ckpt.CONFIG_FILE] if (out / ckpt.CONFIG_FILE).exists() else entries
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        shown = ", ".join(foreign[:3]) + more
        raise CLIError(
            f"output folder {str(out)!r} holds files minigrad did not write ({shown}); "
            "choose a new or empty folder for --out"
        )
    assert config is not None
    kind = config["model"].get("type") if isinstance(config.get("model"), dict) else None
    if kind != model and not (force or resume):
        raise CLIError(
            f"output folder {str(out)!r} holds a minigrad {kind} run; training a {model} there "
            "would replace it: pass --force to replace it, or choose another --out"
        )
    return config


def check_writable(out: Path) -> None:
    """``CLIError`` now, before training, if the run could not be saved into ``out`` later."""
    try:
        check_can_replace(out)
    except OSError as exc:
        where = exc.filename or str(out)
        raise CLIError(
            f"cannot save into --out {str(out)!r}: {where}: {exc.strerror or exc}"
        ) from None


def _finite_or_none(value: Any) -> Any:
    """JSON-safe numbers: NaN and infinities become None (``null``), recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def strict_json(value: Any) -> str:
    """``json.dumps`` that never writes the non-standard ``NaN``/``Infinity`` tokens."""
    return json.dumps(_finite_or_none(value), indent=2, allow_nan=False) + "\n"


def losses_csv(
    losses: list[float], lrs: list[float], eval_steps: list[int], eval_losses: list[float]
) -> str:
    """One line per step (step 0: before training, held-out only): overlay two runs with it."""
    held = dict(zip(eval_steps, eval_losses))
    lines = ["step,lr,loss,held_out_loss"]
    if 0 in held:
        lines.append(f"0,,,{held[0]!r}")
    for step, (loss, lr) in enumerate(zip(losses, lrs), 1):
        h = held.get(step)
        lines.append(f"{step},{lr!r},{loss!r},{'' if h is None else repr(h)}")
    return "\n".join(lines) + "\n"


def write_run(
    out: Path,
    write_files: Callable[[Path], list[str]],
) -> list[Path]:
    """Call ``write_files(staging)`` (it returns the names it wrote), then swap the folder in.

    If ``write_files`` raises (a full disk, a second Ctrl-C), the staging folder is removed and
    ``out`` keeps the run it held before, untouched.
    """
    with replacing_folder(out) as staging:
        names = write_files(staging)
        unknown = set(names) - RUN_FILES
        if unknown:  # a programming error: check_out_folder would refuse them next time
            raise AssertionError(f"files not listed in RUN_FILES: {sorted(unknown)}")
    return [out / n for n in names]


def atomic_text(folder: Path, name: str, text: str) -> str:
    ckpt.atomic_write_text(folder / name, text)
    return name
