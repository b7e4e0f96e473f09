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

    python -m benchmarks encode            # 10 MB, vocab 32768, 5 repeats
    python -m benchmarks encode --quick    # 200 KB, vocab 1024, 3 repeats (a smoke run)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import stdlib_corpus, stdlib_documents
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
        Contender("minigrad encode_ordinary (warm cache)", lambda: tok.encode_ordinary(text)),
        Contender(
            "minigrad encode_ordinary (cold cache)",
            lambda: tok.encode_ordinary(text),
            before=tok._cache.clear,
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
    doc_ids = tok.encode_ordinary_batch(docs)
    if doc_ids != [enc.encode_ordinary(d) for d in docs]:
        raise SystemExit("minigrad and tiktoken disagree on a document: not timing")
    checks["documents"] = len(docs)
    checks["ids_identical_hf_documents"] = [e.ids for e in hf.encode_batch(docs)] == doc_ids
    contenders += [
        Contender(
            f"minigrad encode_ordinary_batch ({len(docs)} files, warm cache)",
            lambda: tok.encode_ordinary_batch(docs),
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
    json_path, md_path = write_results(
        "encode", {title: rows}, notes=notes, out_dir=args.out_dir, ratios=ratios
    )
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
