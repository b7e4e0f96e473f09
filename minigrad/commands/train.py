"""``minigrad train``: train a next-token model and watch meaning emerge in its embeddings.

The whole seed pipeline, end to end::

    corpus --tokenizer--> ids --windows of `context` ids--> MLPLanguageModel (or TinyGPT) --> loss
           --backward--> sparse embedding rows + dense layer grads --Adam--> update

By default the corpus is the built-in synthetic language, whose words have ground-truth
classes, so the run reports *nearest-neighbour class agreement* before and after training
(``minigrad.metrics``).  Everything random (corpus, initial weights, batches) comes from
``--seed``, so two runs with the same settings learn the same weights.

A run loses nothing (the pieces, one module each):

* ``train_output``: ``--out`` must be empty, new, or a minigrad run (of the same model type,
  or ``--force``); the whole run is written into a staging folder and swapped in at the end.
* ``train_signals``: Ctrl-C and SIGTERM stop after the current step, then save.
* ``train_loop``: a NaN or infinite loss stops the run; what is saved is the last finite state.
* ``train_state``: optimizer moments, batch sampler position and history, for ``--resume``.
* ``memory``: sizes that cannot fit are refused up front, naming the flag to lower.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
from minigrad import checkpoint as ckpt
from minigrad.commands import memory
from minigrad.commands.common import CLIError, add_command, echo
from minigrad.commands.threads import single_threaded
from minigrad.commands.train_data import (
    Prepared,
    embedding_view,
    prepare_data,
    token_byte_lengths,
)
from minigrad.commands.train_loop import (
    HeldOut,
    LoopEnd,
    eval_interval,
    eval_tokens_for,
    evaluate,
    tokens_per_step,
    train_loop,
    weights_are_finite,
)
from minigrad.commands.train_models import build_model, token_embeddings
from minigrad.commands.train_output import (
    LOSSES_FILE,
    METRICS_FILE,
    atomic_text,
    check_out_folder,
    check_writable,
    losses_csv,
    strict_json,
    write_run,
)
from minigrad.commands.train_settings import (
    TrainSettings,
    add_arguments,
    fixed_setting_conflicts,
    recorded_settings,
    settings_for_resume,
    settings_from_args,
)
from minigrad.commands.train_signals import StopSignals
from minigrad.commands.train_state import (
    History,
    ids_digest,
    load_train_state,
    restore_optimizer,
    save_train_state,
)
from minigrad.creation import generator
from minigrad.data import Batches
from minigrad.metrics import chance_agreement, neighbour_agreement
from minigrad.nn import Module
from minigrad.optim import Adam
from minigrad.tokenizers import WordTokenizer
from minigrad.viz import plot_embeddings, plot_loss

__all__ = [
    "EXIT_DIVERGED",
    "Prepared",
    "TrainResult",
    "TrainSettings",
    "add_arguments",
    "prepare_data",
    "report",
    "run_training",
    "settings_for_resume",
    "settings_from_args",
]

#: exit status of a run stopped by a non-finite loss (2 is a usage error, 130/143 a signal)
EXIT_DIVERGED = 3


@dataclass
class TrainResult:
    """What a run produced (also returned to in-process callers such as tests and ``demo``)."""

    out: Path
    metrics: dict[str, Any]
    steps_done: int
    interrupted: bool
    seconds: float
    files: list[Path] = field(default_factory=list)
    #: 0, 128 + the signal that stopped the run, or EXIT_DIVERGED
    exit_code: int = 0
    #: why the run stopped early without reaching --steps, for the last line of the report
    stopped: str | None = None


def _start_checks(s: TrainSettings, out: Path) -> None:
    """Everything that can be refused before any work: flags, folder, memory lower bounds."""
    s.check()
    check_out_folder(out, s.model, s.force, s.resume)
    check_writable(out)
    if s.corpus is not None:
        memory.check_corpus_fits(s.corpus)
    else:
        memory.check_sentences_fit(s.sentences)
    memory.check_training_fits(s, vocab_size=2)  # the smallest vocabulary: a lower bound


@dataclass
class _Run:
    """Everything one run works with, so the helpers below take one argument."""

    s: TrainSettings
    out: Path
    prep: Prepared
    model: Module
    optimizer: Adam
    batches: Batches
    held_out: HeldOut
    history: History
    data_sha: str
    words: list[str]  # the embedding rows measured and plotted: their labels,
    rows: list[int]  # their row ids,
    classes: list[str] | None  # their word classes (built-in corpus only),
    before: np.ndarray  # and their vectors before training


def run_training(
    s: TrainSettings,
    on_step: Callable[[int, float], None] | None = None,
    log: Callable[[str], None] = echo,
    progress: bool | None = None,
) -> TrainResult:
    """Train, then write checkpoint, state, plots and metrics to ``s.out``; return what was written.

    ``on_step(step, loss)`` is called after every optimizer step (raising KeyboardInterrupt
    from it behaves like Ctrl-C).  ``progress``: show the tqdm bar (None: when stderr is a TTY).
    With ``s.resume`` the run in ``s.out`` continues (build ``s`` with
    :func:`settings_for_resume`).
    """
    run = _prepare(s, log)
    show = sys.stderr.isatty() if progress is None else progress
    with StopSignals(log) as stop:
        log(
            f"training to step {s.steps} in batches of {s.batch_size} windows "
            "(Ctrl-C or SIGTERM stops after the current step and saves)"
        )
        with single_threaded():
            end = train_loop(
                s, run.model, run.optimizer, run.batches, run.held_out, run.history, stop,
                on_step, log, show,
            )  # fmt: skip
            _final_evaluation(run, end)
        result = _finish(run, end)
    if end.interrupted:
        result.exit_code = stop.exit_code
        result.stopped = f"interrupted after step {run.history.steps_done} of {s.steps}"
    result.seconds = run.history.train_seconds + run.history.eval_seconds
    return result


def _prepare(s: TrainSettings, log: Callable[[str], None]) -> _Run:
    """Checks, data, model, optimizer, sampler: fresh, or restored from ``--out`` to resume."""
    out = Path(s.out)
    _start_checks(s, out)
    state = resumed = None
    if s.resume:
        state = load_train_state(out)
        conflicts = fixed_setting_conflicts(state.settings, s)
        if conflicts:
            raise CLIError(f"--resume: the run in {str(out)!r} has " + ", ".join(conflicts))
        if s.steps <= state.history.steps_done:
            raise CLIError(
                f"the run in {str(out)!r} has done {state.history.steps_done} steps; --steps is "
                f"the total, so give more than {state.history.steps_done} to continue it"
            )
        resumed = ckpt.load_checkpoint(out)
    prep = prepare_data(s, log, tokenizer=resumed.tokenizer if resumed else None)
    tok = prep.tokenizer
    memory.check_training_fits(s, tok.n_vocab)
    data_sha = ids_digest(prep.train_ids, prep.held_out_ids)
    if state is not None and state.data_sha256 != data_sha:
        raise CLIError(
            f"--resume: the corpus is not the one the run in {str(out)!r} started with (its "
            "token ids differ); resume needs the same --corpus file"
        )
    log(
        f"data: {prep.source}: {len(prep.train_ids):,} training tokens, "
        f"{len(prep.held_out_ids):,} held out, vocabulary {tok.n_vocab}"
    )

    minigrad.manual_seed(s.seed)
    model = build_model(s.model, tok.n_vocab, s)
    words, rows, classes = embedding_view(prep, prep.train_ids)
    before = token_embeddings(model)[rows].copy()  # the initial state, also when resuming
    optimizer = Adam(model.parameters(), lr=s.lr)
    batches = Batches(prep.train_ids, s.context, s.batch_size, seed=s.seed)
    every_position = s.model == "transformer"
    held_out = HeldOut(
        prep.held_out_ids, s.context, eval_tokens_for(s), every_position, token_byte_lengths(tok)
    )
    if state is not None and resumed is not None:
        model.load_state_dict(resumed.model.state_dict())
        restore_optimizer(optimizer, model, state.optimizer)
        batches.rng.bit_generator.state = state.batches_rng
        generator().bit_generator.state = state.global_rng
        history = state.history
        log(f"resuming {out} at step {history.steps_done} of {s.steps}")
    else:
        history = History()
        evaluate(model, held_out, history, 0)
    return _Run(s, out, prep, model, optimizer, batches, held_out, history, data_sha, words,
                rows, classes, before)  # fmt: skip


def _final_evaluation(run: _Run, end: LoopEnd) -> None:
    """A held-out score for the state being saved, if the loop ended between evaluations."""
    h = run.history
    if h.steps_done and h.eval_steps[-1] != h.steps_done:
        try:
            evaluate(run.model, run.held_out, h, h.steps_done)
        except KeyboardInterrupt:  # a second signal: save without it
            end.interrupted = True


def _finish(run: _Run, end: LoopEnd) -> TrainResult:
    """Save the run (unless its weights are not finite), or explain why not."""
    s, out, history = run.s, run.out, run.history
    finite = weights_are_finite(run.model)
    result = TrainResult(out, {}, history.steps_done, end.interrupted, 0.0)
    if end.diverged_at is not None or not finite:
        result.exit_code = EXIT_DIVERGED
        what = (
            f"the loss was {end.diverged_loss} at step {end.diverged_at}"
            if end.diverged_at is not None
            else f"the weights became NaN or infinite by step {history.steps_done}"
        )
        if not finite or history.steps_done == 0:
            keeps = f"{out} keeps the run it held" if out.exists() else f"{out} was not created"
            result.stopped = (
                f"training diverged: {what}; nothing was saved ({keeps}); try a lower --lr "
                f"(now {s.lr})"
            )
            return result
        result.stopped = (
            f"training diverged: {what}; saved the last finite state (step "
            f"{history.steps_done}) to {out}; try a lower --lr (now {s.lr}), e.g. with "
            f"--resume --lr {s.lr / 10:g}"
        )
    after = token_embeddings(run.model)[run.rows].copy()
    metrics = _metrics(run, after, end)
    training = {
        "settings": recorded_settings(s),
        "steps_done": history.steps_done,
        "interrupted": end.interrupted,
        "diverged": None
        if end.diverged_at is None
        else {"step": end.diverged_at, "loss": str(end.diverged_loss)},
    }
    tok = run.prep.tokenizer

    def write_files(folder: Path) -> list[str]:
        ckpt.save_checkpoint(
            folder, run.model, tok, training=training, word_classes=run.prep.word_classes
        )
        word_level = isinstance(tok, WordTokenizer)
        tok_file = ckpt.WORD_TOKENIZER_FILE if word_level else ckpt.BPE_TOKENIZER_FILE
        names = [ckpt.WEIGHTS_FILE, ckpt.CONFIG_FILE, tok_file]
        state_files = save_train_state(
            folder, recorded_settings(s), run.model, run.optimizer, history, run.batches.rng,
            generator(), run.data_sha,
        )  # fmt: skip
        names += [p.name for p in state_files]
        names.append(atomic_text(folder, METRICS_FILE, strict_json(metrics)))
        csv = losses_csv(history.losses, history.lrs, history.eval_steps, history.eval_losses)
        names.append(atomic_text(folder, LOSSES_FILE, csv))
        names += _plots(folder, run, metrics, after)
        return names

    try:
        result.files = write_run(out, write_files)
    except OSError as exc:  # a full disk, a folder removed meanwhile: nothing half-written
        held = "keeps the run it held" if out.exists() else "was not created"
        raise CLIError(
            f"could not save the run into {str(out)!r}: {exc.strerror or exc} ({out} {held})"
        ) from None
    result.metrics = metrics
    return result


def _plots(folder: Path, run: _Run, metrics: dict[str, Any], after: np.ndarray) -> list[str]:
    h = run.history
    plot_loss(
        folder / "loss.png", range(1, h.steps_done + 1), h.losses, h.eval_steps, h.eval_losses,
        run.prep.tokenizer.n_vocab,
    )  # fmt: skip
    agree = metrics["neighbour_agreement"]
    titles = ("before training", f"after {h.steps_done} steps")
    if agree is not None:
        titles = (
            f"{titles[0]}: neighbour agreement {agree['before']:.2f}",
            f"{titles[1]}: neighbour agreement {agree['after']:.2f}",
        )
    title = "Word embeddings projected to 2-D with PCA"
    if run.classes is None:
        title = (
            f"Embeddings of the {len(run.words)} most frequent tokens, 2-D PCA "
            "(· = space, ↵ = newline)"
        )
    panels = [(titles[0], run.before), (titles[1], after)]
    plot_embeddings(folder / "embeddings.png", panels, run.words, run.classes, title=title)
    return ["loss.png", "embeddings.png"]


def _metrics(run: _Run, after: np.ndarray, end: LoopEnd) -> dict[str, Any]:
    s, history, held_out, labels = run.s, run.history, run.held_out, run.classes
    n_vocab = run.prep.tokenizer.n_vocab
    losses = history.losses
    tail = losses[-50:]
    agreement = None
    if labels is not None:
        agreement = {
            "before": neighbour_agreement(run.before, labels),
            "after": neighbour_agreement(after, labels),
            "chance": chance_agreement(labels),
            "words": len(labels),
        }
    held = history.eval_losses[-1]
    per_step = tokens_per_step(s.model, s.batch_size, s.context)
    trained = per_step * history.steps_done
    total_seconds = history.train_seconds + history.eval_seconds
    return {
        "neighbour_agreement": agreement,
        "loss": {
            "first": losses[0] if losses else None,
            "last": float(np.mean(tail)) if tail else None,
            "held_out_first": history.eval_losses[0],
            "held_out_last": held,
            "uniform_log_vocab": math.log(n_vocab),
        },
        "held_out": {
            "loss": held,
            "perplexity": math.exp(held) if held < 700 else float("inf"),
            "bits_per_byte": held_out.bits_per_byte(held),
            "tokens": held_out.tokens,
            "bytes": held_out.bytes,
        },
        "evaluation": {
            "tokens_per_eval": held_out.tokens,
            "eval_every": eval_interval(s, held_out.tokens),
            "evals": len(history.eval_steps),
            "tokens_evaluated": history.tokens_evaluated,
            "tokens_trained": trained,
            "evaluated_per_trained": history.tokens_evaluated / trained if trained else None,
        },
        "steps_done": history.steps_done,
        "interrupted": end.interrupted,
        "diverged_at_step": end.diverged_at,
        # where the file is written is left out, so that the same settings give the same file;
        # "timing" is the one part that differs between identical runs
        "settings": recorded_settings(s),
        "timing": {
            "train_seconds": history.train_seconds,
            "eval_seconds": history.eval_seconds,
            "eval_share": history.eval_seconds / total_seconds if total_seconds else None,
            "train_tokens_per_second": trained / history.train_seconds
            if history.train_seconds
            else None,
        },
    }


def report(result: TrainResult, log: Callable[[str], None] = echo) -> None:
    """The closing lines: loss, the meaning-emerges number, speed, where the files are."""
    m = result.metrics
    if m:
        loss, held = m["loss"], m["held_out"]
        if loss["first"] is not None:
            log(
                f"loss: {loss['first']:.3f} at step 1 -> {loss['last']:.3f} (mean of the last "
                f"50 steps); held-out {loss['held_out_first']:.3f} -> {loss['held_out_last']:.3f}"
                f"; uniform guess log V = {loss['uniform_log_vocab']:.3f}"
            )
        log(
            f"held-out: perplexity {held['perplexity']:.2f}, {held['bits_per_byte']:.3f} bits "
            f"per byte ({held['tokens']:,} tokens)"
        )
        agree = m["neighbour_agreement"]
        if agree is not None:
            log(
                f"meaning emerges: nearest-neighbour class agreement {agree['before']:.2f} "
                f"before -> {agree['after']:.2f} after training (chance {agree['chance']:.2f}, "
                f"{agree['words']} words)"
            )
        t = m["timing"]
        if t["train_tokens_per_second"]:
            log(
                f"trained {result.steps_done} steps: {t['train_seconds']:.1f} s training "
                f"({t['train_tokens_per_second']:,.0f} tokens/s), {t['eval_seconds']:.1f} s "
                f"evaluating ({100 * t['eval_share']:.0f}% of the time)"
            )
    if result.files:
        log(f"wrote {result.out}/: " + ", ".join(p.name for p in result.files))
        log(f"plots: {result.out / 'loss.png'}  {result.out / 'embeddings.png'}")
    if result.stopped and result.exit_code == EXIT_DIVERGED:
        print(f"minigrad: {result.stopped}", file=sys.stderr)  # an error: one line, stderr
    elif result.stopped:
        log(result.stopped)


def command(args: argparse.Namespace) -> int:
    """train the next-token MLP or a small transformer; checkpoint, plots, metrics

    Train a next-token language model on the built-in synthetic corpus or --corpus FILE: the MLP
    (Embedding -> concat -> Linear -> tanh -> Linear, the default) or, with --model transformer,
    TinyGPT (token + position embeddings, --n-layers pre-norm attention blocks of --n-heads
    heads, width --d-embed, predicting the next token at every position of its --context
    window). Measures whether words of the same class end up as nearest neighbours in embedding
    space, scores held-out text (perplexity, bits per byte), and writes a checkpoint,
    metrics.json, losses.csv and plots into --out, all at once. Ctrl-C or SIGTERM stops after
    the current step and saves; --resume continues from there. Exit status: 0 done, 2 a mistake
    in the arguments, 3 the loss diverged, 130/143 stopped by Ctrl-C/SIGTERM.
    """
    result = run_training(settings_from_args(args))
    report(result)
    return result.exit_code


def register(subparsers: Any) -> None:
    p = add_command(subparsers, "train", command)
    add_arguments(p)
