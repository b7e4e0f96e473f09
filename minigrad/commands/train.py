"""``minigrad train``: train the next-token MLP and watch meaning emerge in its embeddings.

The whole seed pipeline, end to end::

    corpus --tokenizer--> ids --windows of `context` ids--> MLPLanguageModel (or TinyGPT) --> loss
           --backward--> sparse embedding rows + dense layer grads --Adam--> update

By default the corpus is the built-in synthetic language (``minigrad.data``), whose words have
ground-truth classes, so the run can report *nearest-neighbour class agreement* before and
after training (``minigrad.metrics``).  Outputs in ``--out``: the checkpoint
(``minigrad.checkpoint``), ``loss.png``, ``embeddings.png`` and ``metrics.json``.

Everything random (corpus, initial weights, batches) comes from ``--seed``, so two runs with
the same settings write the same ``metrics.json``.  Ctrl-C stops training early and still
writes a usable checkpoint (and the plots and metrics of the steps done).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad import checkpoint as ckpt
from minigrad.commands.common import (
    CLIError,
    Tokenizer,
    echo,
    load_bpe,
    read_text_file,
    token_text,
    visible,
    word_rows,
)
from minigrad.commands.threads import single_threaded
from minigrad.commands.train_models import MODELS, batch_loss, build_model, token_embeddings
from minigrad.data import DEFAULT_SENTENCES, Batches, split_ids, synthetic_corpus
from minigrad.metrics import chance_agreement, neighbour_agreement
from minigrad.nn import Module
from minigrad.optim import Adam
from minigrad.tokenizers import BPETokenizer, WordTokenizer
from minigrad.viz import plot_embeddings, plot_loss

#: Held-out windows scored per evaluation (enough for a smooth curve, cheap to compute).
EVAL_EXAMPLES = 8192
#: Extra held-out evaluations early on, where the loss falls fastest.
EARLY_EVALS = frozenset({1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 500})


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
    evals: int = 20

    def check(self) -> None:
        for name in (
            "steps",
            "batch_size",
            "vocab_size",
            "sentences",
            "context",
            "d_embed",
            "d_hidden",
            "n_heads",
            "n_layers",
            "evals",
        ):
            value = getattr(self, name)
            if value < 1:
                raise CLIError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise CLIError(f"--lr must be a positive number, got {self.lr}")
        if self.model not in MODELS:
            raise CLIError(f"unknown --model {self.model!r}; choose one of {', '.join(MODELS)}")
        if self.model == "transformer" and self.d_embed % self.n_heads:
            raise CLIError(
                f"--d-embed ({self.d_embed}) must be divisible by --n-heads ({self.n_heads})"
            )


@dataclass
class Prepared:
    """The data side of a run: tokenizer, id streams and (when known) the word classes."""

    tokenizer: Tokenizer
    train_ids: np.ndarray
    held_out_ids: np.ndarray
    word_classes: dict[str, str] | None
    source: str


@dataclass
class TrainResult:
    """What a run produced (also returned to in-process callers such as tests and ``demo``)."""

    out: Path
    metrics: dict[str, Any]
    steps_done: int
    interrupted: bool
    seconds: float
    files: list[Path] = field(default_factory=list)


def prepare_data(s: TrainSettings, log: Callable[[str], None] = echo) -> Prepared:
    """Tokenise the corpus (built-in or ``--corpus``) and cut it into train / held-out ids."""
    word_classes = None
    if s.corpus is None:
        corpus = synthetic_corpus(s.sentences, seed=s.seed)
        text, source = corpus.text, f"built-in synthetic corpus ({s.sentences} sentences)"
        word_classes = corpus.word_classes()
        tokenizer: Tokenizer = (
            load_bpe(s.tokenizer) if s.tokenizer else WordTokenizer(corpus.language.vocabulary())
        )
    else:
        text, source = read_text_file(s.corpus), f"corpus file {s.corpus}"
        if s.tokenizer:
            tokenizer = load_bpe(s.tokenizer)
        else:
            log(f"training a BPE tokenizer on {s.corpus} (vocab size {s.vocab_size}) ...")
            try:
                tokenizer = BPETokenizer.train(
                    text, s.vocab_size, show_progress=sys.stderr.isatty()
                )
            except ValueError as exc:
                raise CLIError(f"cannot train a tokenizer on {s.corpus!r}: {exc}") from None
    ids = np.asarray(
        tokenizer.encode(text)
        if isinstance(tokenizer, WordTokenizer)
        else tokenizer.encode_ordinary(text),
        dtype=np.int64,
    )
    need = 2 * (s.context + 1) * 10
    if len(ids) < need:
        raise CLIError(f"{source} is too small: {len(ids)} tokens, need at least {need}")
    train_ids, held_out_ids = split_ids(ids, held_out=0.1)
    return Prepared(tokenizer, train_ids, held_out_ids, word_classes, source)


def _held_out_loss(model: Module, batches: Batches) -> float:
    total, n = 0.0, 0
    with minigrad.no_grad():
        for x, y in batches.sequential(EVAL_EXAMPLES):
            total += batch_loss(model, x, y).item() * len(y)
            n += len(y)
    return total / n


def _embedding_view(
    prep: Prepared, train_ids: np.ndarray
) -> tuple[list[str], list[int], list[str] | None]:
    """Which rows to measure and plot: the classified words, or the most frequent tokens."""
    if prep.word_classes is not None:
        rows = word_rows(prep.tokenizer, list(prep.word_classes))
        words = sorted(rows, key=rows.__getitem__)
        if len(words) >= 2:
            return words, [rows[w] for w in words], [prep.word_classes[w] for w in words]
    counts = np.bincount(train_ids, minlength=prep.tokenizer.n_vocab)
    top = [int(i) for i in np.argsort(-counts, kind="stable")[:60] if counts[i] > 0]
    return [visible(token_text(prep.tokenizer, i)) for i in top], top, None


def lr_at(step: int, steps: int, lr: float) -> float:
    """The learning rate of ``step`` (1-based): cosine decay from ``lr`` to ``lr / 20``.

    Why decay: Adam divides each gradient by its running size, so even when the loss has stopped
    improving every step still moves the weights by about ``lr`` in a random direction.  Late in
    training that noise would slowly undo the structure the embeddings learnt; a shrinking
    step lets them settle.
    """
    floor = lr / 20
    return floor + 0.5 * (lr - floor) * (1 + math.cos(math.pi * (step - 1) / max(steps - 1, 1)))


def set_lr(optimizer: Adam, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class _StopAfterThisStep:
    """Ctrl-C (SIGINT) during training: finish the current step, then stop and save.

    The default SIGINT behaviour raises ``KeyboardInterrupt`` wherever Python happens to be,
    possibly in the middle of an optimizer step (some parameters updated, others not) or inside
    numba compiling a kernel on first use, which numba turns into an unrelated ``RuntimeError``
    ("no compiled object yet"). So the first Ctrl-C only sets ``requested``; the loop checks it
    between steps. A second Ctrl-C raises ``KeyboardInterrupt`` at once, as the default handler
    would. Outside the main thread (where Python
    cannot install signal handlers) this does nothing and Ctrl-C raises as usual; a process that
    was started with SIGINT ignored (``nohup``, a background job) keeps ignoring it.
    """

    def __init__(self, log: Callable[[str], None]) -> None:
        self.requested = False
        self._log = log
        self._previous: Any = None

    def __enter__(self) -> _StopAfterThisStep:
        in_main_thread = threading.current_thread() is threading.main_thread()
        if in_main_thread and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:  # the second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.requested = True
        self._log("\nCtrl-C: stopping after this step (press it again to stop at once)")


def _loop(s, model, optimizer, batches, held_out, eval_steps, eval_losses, show, on_step, log):
    """The training loop itself: sample, forward, backward, step; evaluate now and then."""
    from tqdm.auto import tqdm

    losses: list[float] = []
    eval_every = max(1, s.steps // s.evals)
    bar = tqdm(total=s.steps, unit="step", desc="training", disable=not show, file=sys.stderr)
    interrupted = False
    # tokens predicted per step: one per window for the MLP, one per position for TinyGPT
    tokens_per_step = s.batch_size * (s.context if s.model == "transformer" else 1)
    start = time.perf_counter()
    with _StopAfterThisStep(log) as stop:
        try:
            log(
                f"training {s.steps} steps of {s.batch_size} windows (Ctrl-C stops early and saves)"
            )
            for step in range(1, s.steps + 1):
                set_lr(optimizer, lr_at(step, s.steps, s.lr))
                x, y = batches.sample()
                loss = batch_loss(model, x, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                if step % 25 == 0 or step == s.steps:
                    rate = step * tokens_per_step / (time.perf_counter() - start)
                    bar.set_postfix(loss=f"{losses[-1]:.3f}", tok_s=f"{rate:,.0f}", refresh=False)
                if step % eval_every == 0 or step == s.steps or step in EARLY_EVALS:
                    eval_steps.append(step)
                    eval_losses.append(_held_out_loss(model, held_out))
                    if not show and step % (eval_every * 5) == 0:
                        rate = step * tokens_per_step / (time.perf_counter() - start)
                        log(
                            f"step {step}/{s.steps}  loss {losses[-1]:.3f}  held-out "
                            f"{eval_losses[-1]:.3f}  ({rate:,.0f} tokens/s)"
                        )
                bar.update(1)
                if on_step is not None:
                    on_step(step, losses[-1])
                if stop.requested:
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            interrupted = True
            log(
                f"\ninterrupted after {len(losses)} steps: saving a checkpoint of the model "
                "as it is"
            )
        finally:
            bar.close()
    return losses, eval_steps, eval_losses, interrupted, time.perf_counter() - start


def run_training(
    s: TrainSettings,
    on_step: Callable[[int, float], None] | None = None,
    log: Callable[[str], None] = echo,
    progress: bool | None = None,
) -> TrainResult:
    """Train, then write checkpoint, plots and metrics to ``s.out``; return what was written.

    ``on_step(step, loss)`` is called after every optimizer step (raising KeyboardInterrupt
    from it behaves like Ctrl-C).  ``progress``: show the tqdm bar (None: when stderr is a TTY).
    """
    s.check()
    prep = prepare_data(s, log)
    out = Path(s.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create output folder {s.out!r}: {exc.strerror}") from None
    tok = prep.tokenizer
    log(
        f"data: {prep.source}: {len(prep.train_ids):,} training tokens, "
        f"{len(prep.held_out_ids):,} held out, vocabulary {tok.n_vocab}"
    )

    minigrad.manual_seed(s.seed)
    model = build_model(s.model, tok.n_vocab, s)
    optimizer = Adam(model.parameters(), lr=s.lr)
    batches = Batches(prep.train_ids, s.context, s.batch_size, seed=s.seed)
    held_out = Batches(prep.held_out_ids, s.context, 2048)

    words, rows, labels = _embedding_view(prep, prep.train_ids)
    before = token_embeddings(model)[rows].copy()
    eval_steps, eval_losses = [0], [_held_out_loss(model, held_out)]
    show = sys.stderr.isatty() if progress is None else progress
    with single_threaded():
        losses, eval_steps, eval_losses, interrupted, seconds = _loop(
            s, model, optimizer, batches, held_out, eval_steps, eval_losses, show, on_step, log
        )
    if interrupted and eval_steps[-1] != len(losses):
        eval_steps.append(len(losses))
        eval_losses.append(_held_out_loss(model, held_out))

    training = {"settings": asdict(s), "steps_done": len(losses), "interrupted": interrupted}
    files = [out / n for n in (ckpt.WEIGHTS_FILE, ckpt.CONFIG_FILE)]
    ckpt.save_checkpoint(out, model, tok, training=training, word_classes=prep.word_classes)
    files.append(
        out
        / (ckpt.WORD_TOKENIZER_FILE if isinstance(tok, WordTokenizer) else ckpt.BPE_TOKENIZER_FILE)
    )

    after = token_embeddings(model)[rows].copy()
    metrics = _metrics(s, losses, eval_losses, tok.n_vocab, before, after, labels, interrupted)
    ckpt.atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    plot_loss(
        out / "loss.png", range(1, len(losses) + 1), losses, eval_steps, eval_losses, tok.n_vocab
    )
    agree = metrics["neighbour_agreement"]
    titles = ("before training", f"after {len(losses)} steps")
    if agree is not None:
        titles = (
            f"{titles[0]}: neighbour agreement {agree['before']:.2f}",
            f"{titles[1]}: neighbour agreement {agree['after']:.2f}",
        )
    title = "Word embeddings projected to 2-D with PCA"
    if labels is None:
        title = (
            f"Embeddings of the {len(words)} most frequent tokens, 2-D PCA (· = space, ↵ = newline)"
        )
    panels = [(titles[0], before), (titles[1], after)]
    plot_embeddings(out / "embeddings.png", panels, words, labels, title=title)
    files += [out / "metrics.json", out / "loss.png", out / "embeddings.png"]
    return TrainResult(out, metrics, len(losses), interrupted, seconds, files)


def _metrics(s, losses, eval_losses, n_vocab, before, after, labels, interrupted) -> dict[str, Any]:
    tail = losses[-50:]
    agreement = None
    if labels is not None:
        agreement = {
            "before": neighbour_agreement(before, labels),
            "after": neighbour_agreement(after, labels),
            "chance": chance_agreement(labels),
            "words": len(labels),
        }
    return {
        "neighbour_agreement": agreement,
        "loss": {
            "first": losses[0] if losses else None,
            "last": float(np.mean(tail)) if tail else None,
            "held_out_first": eval_losses[0],
            "held_out_last": eval_losses[-1],
            "uniform_log_vocab": math.log(n_vocab),
        },
        "steps_done": len(losses),
        "interrupted": interrupted,
        # where the file is written is left out, so that the same settings give the same file
        "settings": {k: v for k, v in asdict(s).items() if k != "out"},
    }


def report(result: TrainResult, log: Callable[[str], None] = echo) -> None:
    """The closing lines: loss, the meaning-emerges number, where the files are."""
    m = result.metrics
    loss = m["loss"]
    if loss["first"] is not None:
        log(
            f"loss: {loss['first']:.3f} at step 1 -> {loss['last']:.3f} (mean of the last "
            "50 steps); "
            f"held-out {loss['held_out_first']:.3f} -> {loss['held_out_last']:.3f}; "
            f"uniform guess log V = {loss['uniform_log_vocab']:.3f}"
        )
    agree = m["neighbour_agreement"]
    if agree is not None:
        log(
            f"meaning emerges: nearest-neighbour class agreement {agree['before']:.2f} before -> "
            f"{agree['after']:.2f} after training (chance {agree['chance']:.2f}, "
            f"{agree['words']} words)"
        )
    log(
        f"trained {result.steps_done} steps in {result.seconds:.1f} s"
        + (" (interrupted)" if result.interrupted else "")
    )
    log(f"wrote {result.out}/: " + ", ".join(p.name for p in result.files))
    log(f"plots: {result.out / 'loss.png'}  {result.out / 'embeddings.png'}")


def add_arguments(p: argparse.ArgumentParser, defaults: TrainSettings | None = None) -> None:
    d = defaults or TrainSettings()
    p.add_argument(
        "--steps", type=int, default=d.steps, help="optimizer steps (default %(default)s)"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help="windows per step (default %(default)s)",
    )
    p.add_argument(
        "--lr", type=float, default=d.lr, help="Adam learning rate (default %(default)s)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=d.seed,
        help="seed for corpus, weights and batches (default %(default)s)",
    )
    p.add_argument(
        "--out", default=d.out, metavar="DIR", help="output folder (default %(default)s)"
    )
    p.add_argument(
        "--model",
        default=d.model,
        choices=MODELS,
        help="mlp (the default: the next-token MLP) or transformer (TinyGPT)",
    )
    p.add_argument(
        "--corpus",
        metavar="FILE",
        help="train on this UTF-8 text file instead of the built-in corpus",
    )
    p.add_argument(
        "--tokenizer",
        metavar="FILE",
        help="a BPE tokenizer file (default: word-level for the built-in corpus, "
        "a BPE tokenizer trained on the fly for --corpus)",
    )
    p.add_argument(
        "--vocab-size",
        type=int,
        default=d.vocab_size,
        help="BPE vocabulary size when training one on the fly (default %(default)s)",
    )
    p.add_argument(
        "--sentences",
        type=int,
        default=d.sentences,
        help="built-in corpus size in sentences (default %(default)s)",
    )
    p.add_argument(
        "--context",
        type=int,
        default=d.context,
        help="tokens the model reads to predict the next (default %(default)s)",
    )
    p.add_argument(
        "--d-embed", type=int, default=d.d_embed, help="embedding dimension d (default %(default)s)"
    )
    p.add_argument(
        "--d-hidden", type=int, default=d.d_hidden, help="MLP hidden width (default %(default)s)"
    )
    p.add_argument(
        "--n-heads", type=int, default=d.n_heads, help="transformer: attention heads (default 2)"
    )
    p.add_argument(
        "--n-layers", type=int, default=d.n_layers, help="transformer: blocks (default 1)"
    )


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    keys = TrainSettings.__dataclass_fields__
    return TrainSettings(**{k: getattr(args, k) for k in keys if hasattr(args, k)})


def command(args: argparse.Namespace) -> int:
    """Entry point of ``minigrad train``; returns the exit code (130 after Ctrl-C)."""
    result = run_training(settings_from_args(args))
    report(result)
    return 130 if result.interrupted else 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help="train the next-token MLP; plots, metrics and a checkpoint in --out",
        description="Train a next-token MLP language model (Embedding -> concat -> Linear -> "
        "tanh -> Linear) on the built-in synthetic corpus or --corpus FILE, and measure whether "
        "words of the same class end up as nearest neighbours in embedding space.",
    )
    add_arguments(p)
    p.set_defaults(func=command)
