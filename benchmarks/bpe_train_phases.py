"""Where BPE training time goes: the fast trainer's phases, timed one by one (a profiling driver).

    python -m benchmarks.bpe_train_phases --mb 10             # 10 MB of distinct text
    python -m benchmarks.bpe_train_phases --mb 100 --repeats 3 --hf

Phases, each timed on its own (CPU time of this process and wall time):

* **split**: ``utf8_chunk_bounds`` of every document (UTF-8 encode + compiled scanner);
* **count**: the whole of ``trainer.count_chunk_bytes`` (split + hashing the chunks into the
  byte table);
* **new_state**: ``merge_loop.new_state`` (the initial pair counts, index and heap);
* **merges**: the compiled merge loop up to the vocabulary (``trainer._merge_loop``).

The corpus is ``benchmarks.corpus.distinct_documents`` (no repeated documents).  With ``--hf``
the whole of HF ``BpeTrainer`` on one thread runs too, interleaved with the whole of
``train_bpe``, to give the ratio the issue asks for.  Not a benchmark module
(``python -m benchmarks`` does not run it): the numbers it prints are for work on the trainer;
the reported ratio comes from ``bench_bpe_train``.  The machine may be shared: read medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--vocab", type=int, default=32768)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--hf", action="store_true", help="also time HF BpeTrainer, one thread")
    args = ap.parse_args(argv)

    import os

    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    from benchmarks.corpus import distinct_documents
    from minigrad.tokenizers.fast import merge_loop
    from minigrad.tokenizers.fast.pretokenize import utf8_chunk_bounds
    from minigrad.tokenizers.trainer import (
        _merge_loop,
        count_chunk_bytes,
        reachable_tokens,
        train_bpe,
    )

    docs, digest = distinct_documents(int(args.mb * 1e6))
    mb = sum(len(d.encode()) for d in docs) / 1e6
    print(f"{len(docs)} documents, {mb:.1f} MB, digest {digest[:12]}", flush=True)
    train_bpe("warm up the jit cache " * 20, 300)

    def split_all():
        for d in docs:
            utf8_chunk_bounds(d, "gpt4")

    def hf():
        from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

        from minigrad.tokenizers.patterns import GPT4_PATTERN

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(GPT4_PATTERN), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
        trainer = trainers.BpeTrainer(
            vocab_size=args.vocab,
            min_frequency=2,
            show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=[],
        )
        tok.train_from_iterator(docs, trainer=trainer)

    rows: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.repeats):
        _, w, c = _timed(split_all)
        rows.setdefault("split", []).append((w, c))
        (arena, wstart, lengths, wcnt), w, c = _timed(lambda: count_chunk_bytes(docs, "gpt4", ()))
        rows.setdefault("count", []).append((w, c))
        max_tokens = reachable_tokens(args.vocab, lengths)
        words = (arena.astype(np.int32), wstart, lengths.astype(np.int32), wcnt, max_tokens)
        state, w, c = _timed(lambda words=words: merge_loop.new_state(*words))
        rows.setdefault("new_state", []).append((w, c))
        state, w, c = _timed(lambda s=state: _merge_loop(s, 2, False, lambda: None))
        rows.setdefault("merges", []).append((w, c))
        _, w, c = _timed(lambda: train_bpe(docs, args.vocab))
        rows.setdefault("train_bpe (all)", []).append((w, c))
        if args.hf:
            _, w, c = _timed(hf)
            rows.setdefault("HF BpeTrainer 1 thread", []).append((w, c))
    print(f"distinct words {len(wstart):,}, tokens {len(arena):,}", flush=True)
    print(f"{'phase':<26} {'wall median s':>14} {'cpu median s':>13}   all wall")
    for name, ts in rows.items():
        walls = [t[0] for t in ts]
        cpus = [t[1] for t in ts]
        print(
            f"{name:<26} {statistics.median(walls):14.3f} {statistics.median(cpus):13.3f}   "
            + " ".join(f"{x:.2f}" for x in walls)
        )
    if args.hf:
        ours = statistics.median(t[0] for t in rows["train_bpe (all)"])
        theirs = statistics.median(t[0] for t in rows["HF BpeTrainer 1 thread"])
        print(f"HF 1 thread / minigrad: {theirs / ours:.2f}x ({mb / ours:.1f} MB/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
