"""The settings of a ``minigrad train`` run: the flags, their checks, and what ``--resume`` keeps.

A run *is* its data, model and sampling settings (corpus, tokenizer, sizes, batch size, seed):
resuming with any of them changed would silently train something else, so ``--resume`` takes
them from the saved run and refuses a flag that contradicts one.  The others may change on
resume: ``--steps`` (the total to reach), ``--lr`` (e.g. lower after a divergence; the cosine
schedule is then computed with the new value) and the evaluation flags.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from minigrad.checkpoint import CheckpointError
from minigrad.commands.common import CLIError
from minigrad.commands.train_models import MODELS
from minigrad.commands.train_state import load_train_state
from minigrad.data import DEFAULT_SENTENCES


@dataclass
class TrainSettings:
    """Every knob of a training run (the command-line flags, and what ``metrics.json`` records)."""

    steps: int = 3000
    batch_size: int = 128
    lr: float = 0.01
    seed: int = 0
    out: str = "runs/minigrad"
    model: str = "mlp"
    corpus: str | None = None
    tokenizer: str | None = None
    vocab_size: int = 512
    sentences: int = DEFAULT_SENTENCES
    context: int = 4
    d_embed: int = 16
    d_hidden: int = 96
    n_heads: int = 2
    n_layers: int = 1
    eval_tokens: int = 0  # 0: automatic (see train_loop.eval_tokens_for)
    eval_every: int = 0  # 0: automatic (see train_loop.eval_interval)
    resume: bool = False
    force: bool = False

    def check(self) -> None:
        positive = ("steps", "batch_size", "vocab_size", "sentences", "context", "d_embed",
                    "d_hidden", "n_heads", "n_layers")  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if value < 1:
                raise CLIError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        for name in ("eval_tokens", "eval_every"):
            if getattr(self, name) < 0:
                raise CLIError(
                    f"--{name.replace('_', '-')} must be >= 0 (0: automatic), got "
                    f"{getattr(self, name)}"
                )
        if self.seed < 0:
            raise CLIError(f"--seed must be >= 0, got {self.seed}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise CLIError(f"--lr must be a positive number, got {self.lr}")
        if self.model not in MODELS:
            raise CLIError(f"unknown --model {self.model!r}; choose one of {', '.join(MODELS)}")
        if self.model == "transformer" and self.d_embed % self.n_heads:
            raise CLIError(
                f"--d-embed ({self.d_embed}) must be divisible by --n-heads ({self.n_heads})"
            )


#: flags that say where and how to write, not what the run is (never recorded in metrics)
NOT_RECORDED = ("out", "resume", "force")
#: recorded settings a resumed run may change
RESUME_MAY_CHANGE = ("steps", "lr", "eval_tokens", "eval_every")


def recorded_settings(s: TrainSettings) -> dict[str, Any]:
    """What defines the run, as saved with it (where it is written is left out)."""
    return {k: v for k, v in asdict(s).items() if k not in NOT_RECORDED}


def fixed_setting_conflicts(saved: dict[str, Any], s: TrainSettings) -> list[str]:
    """``--flag VALUE`` strings for settings of ``s`` that differ from the saved run's."""
    out = []
    for key, value in recorded_settings(s).items():
        if key not in RESUME_MAY_CHANGE and key in saved and saved[key] != value:
            out.append(f"--{key.replace('_', '-')} {saved[key]} (not {value})")
    return out


def settings_for_resume(out: str | Path, **given: Any) -> TrainSettings:
    """The settings that continue the run in ``out``: its own, updated by ``given`` flags.

    ``given`` holds the flags the user typed.  One that would change what the run is (its
    corpus, model, sizes, batch size, seed) is refused with a one-line error.
    """
    try:
        saved = load_train_state(Path(out)).settings
    except CheckpointError as exc:
        raise CLIError(f"--resume: {exc}") from None
    known = {f.name for f in fields(TrainSettings)}
    try:
        s = TrainSettings(**{k: v for k, v in saved.items() if k in known})
    except TypeError as exc:
        raise CLIError(f"--resume: the saved settings in {out} are damaged ({exc})") from None
    changed = TrainSettings(**{**asdict(s), **given})
    conflicts = fixed_setting_conflicts(saved, changed)
    if conflicts:
        raise CLIError(
            f"--resume continues the run in {str(out)!r} as it was started, with "
            + ", ".join(conflicts)
            + "; leave those flags out, or start a new run in another folder"
        )
    for key in RESUME_MAY_CHANGE:
        if key in given:
            setattr(s, key, given[key])
    s.out, s.resume, s.force = str(out), True, bool(given.get("force", False))
    return s


class _Given(argparse.Action):
    """Store the value as argparse would, and note that the flag was typed (for --resume)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        setattr(namespace, self.dest, True if self.nargs == 0 else values)
        namespace.given_flags = {*getattr(namespace, "given_flags", ()), self.dest}


def add_arguments(p: argparse.ArgumentParser, defaults: TrainSettings | None = None) -> None:
    """One flag per setting of :class:`TrainSettings` (``--batch-size`` for ``batch_size``).

    Its default comes from ``defaults``, its type from that default (an int setting takes
    ints); each flag notes that it was typed, for ``--resume``.
    """
    d = defaults or TrainSettings()
    p.set_defaults(given_flags=set())

    def flag(setting: str, help: str, **kw: Any) -> None:
        default = getattr(d, setting)
        if type(default) in (int, float):
            kw["type"] = type(default)
        if type(default) is bool:
            kw["nargs"] = 0
        name = "--" + setting.replace("_", "-")
        p.add_argument(name, action=_Given, default=default, help=help, **kw)

    dflt = " (default %(default)s)"
    flag("steps", "optimizer steps in total, resumed ones included" + dflt)
    flag("batch_size", "windows per step" + dflt)
    flag("lr", "Adam learning rate" + dflt)
    flag("seed", "seed for corpus, weights and batches, >= 0" + dflt)
    flag("out", f"output folder{dflt}; a folder with files minigrad did not write is refused",
         metavar="DIR")  # fmt: skip
    flag("model", "mlp (the default: the next-token MLP) or transformer (TinyGPT)", choices=MODELS)
    flag("corpus", "train on this UTF-8 text file instead of the built-in corpus", metavar="FILE")
    flag("tokenizer", "a BPE tokenizer file (default: word-level for the built-in corpus, a BPE "
         "tokenizer trained on the fly for --corpus)", metavar="FILE")  # fmt: skip
    flag("vocab_size", "BPE vocabulary size when training one on the fly" + dflt)
    flag("sentences", "built-in corpus size in sentences" + dflt)
    flag("context", "tokens the model reads to predict the next" + dflt)
    flag("d_embed", "embedding dimension d; the transformer's width" + dflt)
    flag("d_hidden", "mlp: hidden width" + dflt)
    flag("n_heads", "transformer: attention heads" + dflt)
    flag("n_layers", "transformer: blocks" + dflt)
    flag("eval_tokens", "held-out tokens scored per evaluation, each once" + dflt, metavar="N")
    flag("eval_every", "steps between evaluations (default: about 20 a run, and at most one "
         "held-out token per 8 trained)", metavar="STEPS")  # fmt: skip
    flag("resume", "continue the run in --out from its last save (weights, optimizer, batch "
         "position, history) up to --steps in total")  # fmt: skip
    flag("force", "replace a run of another model type in --out")


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    keys = [f.name for f in fields(TrainSettings)]
    if getattr(args, "resume", False):
        typed = getattr(args, "given_flags", ())
        given = {k: getattr(args, k) for k in typed if k in keys and k not in ("out", "resume")}
        return settings_for_resume(args.out, **given)
    return TrainSettings(**{k: getattr(args, k) for k in keys if hasattr(args, k)})
