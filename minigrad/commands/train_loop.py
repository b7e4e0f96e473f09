"""The training loop of ``minigrad train``, and the held-out evaluation it runs now and then.

One step: sample a batch, forward to the loss, backward, optimizer update.  Around that:

* **Evaluation is bounded.**  Each evaluation scores the same first ``--eval-tokens`` held-out
  tokens, each token once (``minigrad.data.held_out_windows``), and by default it runs only so
  often that all evaluations together score at most an eighth as many tokens as the run
  trains on (and at most 20 times a run, plus once before the first step).  A forward pass
  without a graph costs a fraction of a training step per token (a third to a half for TinyGPT:
  see ``benchmarks/bench_train_eval.py``), so evaluation stays a small part of the run.  Its time
  is kept apart from training time, so tokens/s means training tokens per training second.
* **Divergence stops the run.**  A loss that is NaN or infinite is not backpropagated: the
  step is abandoned (weights, optimizer and batch sampler stay as after the last good step)
  and the loop ends, so what gets saved is the last finite state.
* **Signals stop it cleanly** (``train_signals``): between steps, never inside an update.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import minigrad
from minigrad.commands.train_models import batch_loss
from minigrad.commands.train_signals import StopSignals
from minigrad.commands.train_state import History
from minigrad.creation import generator
from minigrad.data import Batches
from minigrad.data.batching import IGNORE_INDEX, held_out_windows
from minigrad.nn import Module
from minigrad.optim import Optimizer

#: default: evaluate about this many times per run (plus before the first step and at the end)
EVALS_PER_RUN = 20
#: default: train on at least this many tokens per held-out token scored
TRAIN_TOKENS_PER_EVAL_TOKEN = 8
#: default held-out tokens per evaluation (when the run is long enough to afford them)
DEFAULT_EVAL_TOKENS = 8192
#: tokens one evaluation forward pass scores at most (bounds its memory)
EVAL_BATCH_TOKENS = 8192


class HeldOut:
    """The held-out tokens every evaluation scores, and their total size in UTF-8 bytes.

    ``every_position``: the model predicts at every position of its window (the transformer),
    so windows do not overlap; otherwise one target per window (the MLP).  ``token_bytes[i]``
    is the byte length of token i's text, for bits per byte.
    """

    def __init__(
        self,
        ids: np.ndarray,
        context: int,
        max_tokens: int,
        every_position: bool,
        token_bytes: np.ndarray,
    ) -> None:
        self.x, self.targets = held_out_windows(ids, context, max_tokens, every_position)
        valid = self.targets[self.targets != IGNORE_INDEX]
        self.tokens = int(valid.size)
        self.bytes = int(token_bytes[valid].sum())
        per_row = context if every_position else 1
        self._rows = max(1, EVAL_BATCH_TOKENS // per_row)

    def loss(self, model: Module) -> float:
        """Mean loss in nats per held-out token (eval mode, no graph)."""
        total = 0.0
        was_training = model.training
        model.eval()
        try:
            with minigrad.no_grad():
                for start in range(0, len(self.x), self._rows):
                    xb = self.x[start : start + self._rows]
                    tb = self.targets[start : start + self._rows]
                    n = int(np.count_nonzero(tb != IGNORE_INDEX))
                    if n:
                        total += model.loss(xb, tb).item() * n  # the loss is a mean over n
        finally:
            model.train(was_training)
        return total / self.tokens

    def bits_per_byte(self, loss: float) -> float:
        """Nats per token -> bits per UTF-8 byte of the same text (tokenizer-independent)."""
        return loss * self.tokens / (self.bytes * math.log(2)) if self.bytes else float("nan")


def tokens_per_step(model_kind: str, batch_size: int, context: int) -> int:
    """Tokens predicted per step: one per window for the MLP, one per position for TinyGPT."""
    return batch_size * (context if model_kind == "transformer" else 1)


def eval_tokens_for(s: Any) -> int:
    """Held-out tokens per evaluation: ``--eval-tokens``, or by default 8,192 (fewer for a run
    so short that two evaluations of 8,192 would break the one-in-eight budget)."""
    if s.eval_tokens:
        return int(s.eval_tokens)
    trained = s.steps * tokens_per_step(s.model, s.batch_size, s.context)
    return max(1, min(DEFAULT_EVAL_TOKENS, trained // (2 * TRAIN_TOKENS_PER_EVAL_TOKEN)))


def eval_interval(s: Any, eval_tokens: int) -> int:
    """Steps between evaluations: ``--eval-every``, or the default described above.

    The default spends at most one held-out token per ``TRAIN_TOKENS_PER_EVAL_TOKEN`` trained
    over the whole run (the evaluation before step 1 included), with at most
    ``EVALS_PER_RUN`` evaluations after it and at least one (at the last step).
    Evaluations are counted back from the last step, so the last one scores the final weights.
    """
    if s.eval_every:
        return int(s.eval_every)
    trained = s.steps * tokens_per_step(s.model, s.batch_size, s.context)
    affordable = trained // (TRAIN_TOKENS_PER_EVAL_TOKEN * max(eval_tokens, 1))
    evals = min(EVALS_PER_RUN, max(1, affordable - 1))  # - 1: the one before step 1
    return -(-s.steps // evals)


def evaluates_after(step: int, steps: int, every: int) -> bool:
    """True if the held-out score runs after ``step``: every ``every`` steps back from the last."""
    return (steps - step) % every == 0


def lr_at(step: int, steps: int, lr: float) -> float:
    """The learning rate of ``step`` (1-based): cosine decay from ``lr`` to ``lr / 20``.

    Why decay: Adam divides each gradient by its running size, so even when the loss has stopped
    improving every step still moves the weights by about ``lr`` in a random direction.  Late in
    training that noise would slowly undo the structure the embeddings learnt; a shrinking
    step lets them settle.
    """
    floor = lr / 20
    return floor + 0.5 * (lr - floor) * (1 + math.cos(math.pi * (step - 1) / max(steps - 1, 1)))


def set_lr(optimizer: Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def evaluate(model: Module, held_out: HeldOut, history: History, step: int) -> float:
    """Score the held-out tokens after ``step`` and record it (and its time) in ``history``."""
    start = time.perf_counter()
    loss = held_out.loss(model)
    history.eval_seconds += time.perf_counter() - start
    history.tokens_evaluated += held_out.tokens
    history.eval_steps.append(step)
    history.eval_losses.append(loss)
    return loss


@dataclass
class LoopEnd:
    """How the loop ended: all steps, a signal (``interrupted``), or a non-finite loss."""

    interrupted: bool = False
    diverged_at: int | None = None  # the step whose loss was not finite
    diverged_loss: float | None = None


def train_loop(
    s: Any,
    model: Module,
    optimizer: Optimizer,
    batches: Batches,
    held_out: HeldOut,
    history: History,
    stop: StopSignals,
    on_step: Callable[[int, float], None] | None,
    log: Callable[[str], None],
    show: bool,
) -> LoopEnd:
    """Run steps ``history.steps_done + 1 .. s.steps``; extend ``history`` as they complete."""
    from tqdm.auto import tqdm

    first = history.steps_done + 1
    every = eval_interval(s, held_out.tokens)
    per_step = tokens_per_step(s.model, s.batch_size, s.context)
    bar = tqdm(
        total=s.steps, initial=first - 1, unit="step", desc="training", disable=not show,
        file=sys.stderr,
    )  # fmt: skip
    end = LoopEnd()
    step = first
    sampler_before: dict[str, Any] = {}
    global_before: dict[str, Any] = {}
    try:
        for step in range(first, s.steps + 1):
            # where the random generators were, in case this step does not complete
            sampler_before = batches.rng.bit_generator.state
            global_before = generator().bit_generator.state
            start = time.perf_counter()
            lr = lr_at(step, s.steps, s.lr)
            set_lr(optimizer, lr)
            x, y = batches.sample()
            loss = batch_loss(model, x, y)
            value = loss.item()
            if not math.isfinite(value):
                end.diverged_at, end.diverged_loss = step, value
                break
            optimizer.zero_grad()
            loss.backward()
            with stop.critical():  # the update and its bookkeeping: all or nothing
                optimizer.step()
                history.losses.append(value)
                history.lrs.append(lr)
                history.train_seconds += time.perf_counter() - start
            if evaluates_after(step, s.steps, every):
                evaluate(model, held_out, history, step)
                if not show and ((s.steps - step) // every) % 5 == 0:
                    rate = per_step * (step - first + 1) / max(history.train_seconds, 1e-9)
                    log(
                        f"step {step}/{s.steps}  loss {value:.3f}  held-out "
                        f"{history.eval_losses[-1]:.3f}  ({rate:,.0f} training tokens/s)"
                    )
            if step % 25 == 0 or step == s.steps:
                rate = per_step * history.steps_done / max(history.train_seconds, 1e-9)
                bar.set_postfix(loss=f"{value:.3f}", tok_s=f"{rate:,.0f}", refresh=False)
            bar.update(1)
            if on_step is not None:
                on_step(step, value)
            if stop.requested:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        end.interrupted = True
    finally:
        bar.close()
    if history.steps_done < step and sampler_before:  # the last step did not complete
        batches.rng.bit_generator.state = sampler_before
        generator().bit_generator.state = global_before
    return end


def weights_are_finite(model: Module) -> bool:
    return all(np.isfinite(p.data).all() for p in model.parameters())
