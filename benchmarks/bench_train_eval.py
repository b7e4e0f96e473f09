"""How much of a short ``minigrad train`` transformer run goes to held-out evaluation.

The configuration of issue 13: ``--model transformer --context 64 --d-embed 64 --n-heads 4
--n-layers 2 --batch-size 32`` on real text (the standard library's source,
``benchmarks/corpus.py``) with a BPE vocabulary of 512.  Three measurements, on one thread
(``minigrad train`` runs single-threaded):

1. One training step (sample, forward, backward, Adam) against one held-out evaluation, both
   ways: the old one (8,192 overlapping windows, each scored at all 64 positions: 524,288
   predictions, most tokens scored 64 times) and the bounded one (``--eval-tokens`` 8,192
   held-out tokens, non-overlapping windows, each token once).  Interleaved medians
   (``harness.compare``).  ``--quick`` times the old evaluation on 1/64 of its windows and
   scales the time by 64 (its cost is linear in the windows).
2. A whole short run through ``run_training`` with the default schedule: the share of the
   run's time spent evaluating, as the run itself reports it in ``metrics.json``
   (``timing.eval_share``).  Goal (issue 13): under one fifth.
3. What the old schedule would have cost for the same run: the old evaluation time times the
   number of evaluations it made (every ``steps // 20`` steps, plus steps 1, 2, 5, 10, 20, 35,
   50, ... and before the first step), against the measured training time.

Why one thread (``minigrad/commands/threads.py``): with a multi-threaded BLAS and numba's
threads the same training ran 5-20x slower on the project's 2-core AMD EPYC development VM
while other programs were busy (measured once; the worker threads compete with each other and
with them for two cores).

Run: ``python -m benchmarks train_eval [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import minigrad
from benchmarks.corpus import stdlib_corpus
from benchmarks.harness import Contender, Ratio, compare, markdown_table, write_results
from minigrad.commands.threads import single_threaded
from minigrad.commands.train import TrainSettings, run_training
from minigrad.commands.train_data import prepare_data, token_byte_lengths
from minigrad.commands.train_loop import HeldOut, eval_tokens_for
from minigrad.commands.train_models import batch_loss, build_model
from minigrad.data import Batches
from minigrad.optim import Adam

ISSUE_CONFIG = {"model": "transformer", "context": 64, "d_embed": 64, "n_heads": 4,
                "n_layers": 2, "batch_size": 32, "vocab_size": 512}  # fmt: skip
#: the old evaluation: this many overlapping windows, in batches of 2,048
OLD_WINDOWS, OLD_BATCH = 8192, 2048
#: the old schedule's extra early evaluations
OLD_EARLY = frozenset({1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 500})


def old_eval_count(steps: int) -> int:
    """How many evaluations the old loop made in ``steps`` steps (before step 1 included)."""
    every = max(1, steps // 20)
    return 1 + sum(1 for k in range(1, steps + 1) if k % every == 0 or k == steps or k in OLD_EARLY)


def old_evaluation(model, held_out_ids: np.ndarray, context: int, windows: int):
    """The evaluation ``minigrad train`` ran before issue 13, as it was written."""
    batches = Batches(held_out_ids, context, OLD_BATCH)

    def run() -> float:
        total, n = 0.0, 0
        with minigrad.no_grad():
            for x, y in batches.sequential(windows):
                total += batch_loss(model, x, y).item() * len(y)
                n += len(y)
        return total / n

    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks train_eval", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a 12-step run, a few seconds")
    ap.add_argument("--out-dir", type=Path, default=None, help="where results go")
    args = ap.parse_args(argv)
    n_bytes, steps, repeats = (150_000, 12, 2) if args.quick else (1_000_000, 50, 5)
    old_windows = OLD_WINDOWS // 64 if args.quick else OLD_WINDOWS
    scale = OLD_WINDOWS / old_windows

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "stdlib.txt"
        corpus.write_text(stdlib_corpus(n_bytes), encoding="utf-8")
        s = TrainSettings(**ISSUE_CONFIG, corpus=str(corpus), steps=steps, out=f"{tmp}/run")

        # 1. one step against one evaluation, old and new
        prep = prepare_data(s, log=lambda _: None)
        minigrad.manual_seed(0)
        model = build_model(s.model, prep.tokenizer.n_vocab, s)
        optimizer = Adam(model.parameters(), lr=s.lr)
        batches = Batches(prep.train_ids, s.context, s.batch_size, seed=0)
        held_out = HeldOut(
            prep.held_out_ids, s.context, eval_tokens_for(s), True,
            token_byte_lengths(prep.tokenizer),
        )  # fmt: skip

        def step() -> None:
            x, y = batches.sample()
            loss = batch_loss(model, x, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        old = old_evaluation(model, prep.held_out_ids, s.context, old_windows)
        with single_threaded():
            rows = compare(
                [
                    Contender("training step", step, {"predictions": s.batch_size * s.context}),
                    Contender(
                        "evaluation, bounded (new)",
                        lambda: held_out.loss(model),
                        {"predictions": held_out.tokens},
                    ),
                    Contender(
                        f"evaluation, overlapping (old){' x1/64' if args.quick else ''}",
                        old,
                        {"predictions": old_windows * s.context},
                    ),
                ],
                repeats=repeats,
                baseline="training step",
            )
        for r in rows:
            r["ms"] = round(r["median_s"] * 1e3, 2)
        step_s = rows[0]["median_s"]
        new_eval_s = rows[1]["median_s"]
        old_eval_s = rows[2]["median_s"] * scale

        # 2. a whole short run with the default schedule, as a user runs it
        t0 = time.perf_counter()
        result = run_training(s, log=lambda _: None, progress=False)
        wall = time.perf_counter() - t0
    m = result.metrics
    timing, ev = m["timing"], m["evaluation"]

    # 3. the old schedule, for the same run
    old_evals = old_eval_count(steps)
    old_share = old_evals * old_eval_s / (old_evals * old_eval_s + timing["train_seconds"])
    run_rows = [
        {
            "schedule": "bounded (new, measured by the run)",
            "steps": steps,
            "evals": ev["evals"],
            "tokens_per_eval": ev["tokens_per_eval"],
            "train_s": round(timing["train_seconds"], 2),
            "eval_s": round(timing["eval_seconds"], 2),
            "eval_share": round(timing["eval_share"], 3),
            "wall_s (incl. data, saving)": round(wall, 1),
        },
        {
            "schedule": "overlapping, old (projected)",
            "steps": steps,
            "evals": old_evals,
            "tokens_per_eval": OLD_WINDOWS * s.context,
            "train_s": round(timing["train_seconds"], 2),
            "eval_s": round(old_evals * old_eval_s, 1),
            "eval_share": round(old_share, 3),
            "wall_s (incl. data, saving)": math.nan,
        },
    ]
    title1 = "one training step vs one held-out evaluation (issue 13 transformer, 1 thread)"
    title2 = f"a {steps}-step run: time spent evaluating"
    print(f"\n## {title1}\n")
    print(markdown_table(rows))
    print(f"\n## {title2}\n")
    print(markdown_table(run_rows))
    goal = timing["eval_share"]
    print(f"\nevaluation share of the run: {goal:.3f} (goal < 0.2); old schedule: {old_share:.3f}")
    notes = (
        f"corpus: {n_bytes:,} bytes of stdlib source, BPE vocab {prep.tokenizer.n_vocab}; "
        f"step {step_s * 1e3:.1f} ms, bounded evaluation {new_eval_s * 1e3:.1f} ms "
        f"({held_out.tokens} tokens), old evaluation {old_eval_s:.2f} s "
        f"({OLD_WINDOWS} windows x {s.context} positions"
        + (", timed on 1/64 and scaled" if args.quick else "")
        + f"); eval share of a {steps}-step run: {goal:.3f} (goal < 0.2), old schedule "
        f"{old_share:.3f}; load average before {os.getloadavg()[0]:.1f} "
        "(other work on this machine adds to every time)"
    )
    if args.quick and args.out_dir is None and not os.environ.get("MINIGRAD_BENCH_OUT"):
        return 0  # a smoke test: nothing written unless asked
    # the headline: evaluation seconds over the whole run's seconds (training + evaluation), as
    # two single-measurement rows so that the report computes the share from data
    title3 = f"a {steps}-step run: evaluation time against the whole run"
    split_rows = [
        {"name": "evaluation", "seconds": timing["eval_seconds"]},
        {"name": "training + evaluation",
         "seconds": timing["train_seconds"] + timing["eval_seconds"]},
    ]  # fmt: skip
    share = Ratio("short transformer run: evaluation time / whole run", title3, "evaluation",
                  "training + evaluation", metric="seconds", goal=0.2, op="<=",
                  source="bench_train_eval")  # fmt: skip
    paths = write_results(
        "train_eval",
        {title1: rows, title2: run_rows, title3: split_rows},
        notes=notes,
        out_dir=args.out_dir,
        ratios=[share],
    )
    print("\nwrote", *paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
