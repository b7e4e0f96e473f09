"""BPE training: minigrad's fast trainer vs Hugging Face ``tokenizers`` (and the naive oracle).

    python -m benchmarks.bench_bpe_train            # full run, a few minutes
    python -m benchmarks.bench_bpe_train --quick    # small sizes: a smoke run of seconds

Sections:

1. **Training time** at vocab 4,096 and 32,768 on the first 10 MB of the standard-library
   corpus (``benchmarks.corpus.stdlib_corpus``): minigrad vs HF ``BpeTrainer`` on one and two
   threads.  HF is set up as GPT-4-style byte-level BPE: a ``Split`` pre-tokenizer with the GPT-4
   regex, then ``ByteLevel(use_regex=False)``, the full 256-byte alphabet, the same
   ``min_frequency`` (2).  Rayon reads ``RAYON_NUM_THREADS`` once per process, so each HF thread
   count lives in its own long-running worker process, started before timing; each timed call
   sends one request and waits for the answer (the IPC costs well under a millisecond).  All
   contenders still run interleaved through ``harness.compare``.
2. **Naive oracle** (recount every pair per merge, over distinct chunks) on 1 MB at vocab 512,
   next to the same two.
3. **Peak memory**: each trainer in a fresh process trains from a file (10 MB, and 100 MB made
   of ten variants of the 10 MB text: case swapped and/or digits shifted), streamed; RSS after
   imports and the peak (``VmHWM``) are read from ``/proc/self/status``.
4. **Compression**: bytes per token on held-out text (stdlib corpus bytes 10-11 MB) with the
   32,768 vocabularies from section 1 (minigrad's ranks encoded by ``tiktoken``).
5. **JIT cost**: numba compile time of the trainer's kernels in a fresh cache directory.

Both trainers get the corpus as the same list of ~4 KB documents, cut only at the safe points of
file streaming (``corpus.SAFE_CUT``: a space between two letters, or a line feed between a
non-space and a letter), where no built-in pattern joins two chunks: so both see exactly the
chunks of the whole text split at once.  (HF needs a list to use its threads at all.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.corpus import stdlib_corpus
from benchmarks.harness import (
    Contender,
    Ratio,
    compare,
    markdown_table,
    set_threads,
    write_results,
)

ROOT = Path(__file__).resolve().parents[1]
DOC_CHARS = 4096

# One script for every child process: an HF worker ("serve"), or a one-shot memory measurement.
CHILD = r"""
import json, os, sys, time
import regex

def status_mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")

SAFE = regex.compile(r"(?<=\p{L}) (?=\p{L})")

def docs_of(text, size):
    out, i = [], 0
    while i < len(text):
        m = SAFE.search(text, i + size) if i + size < len(text) else None
        j = m.start() if m else len(text)
        out.append(text[i:j])
        i = j
    return out

def docs_from_file(path, size):
    carry = ""
    with open(path, encoding="utf-8", newline="") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            docs = docs_of(carry + block, size)
            carry = docs.pop()
            yield from docs
    if carry:
        yield carry

def hf_train(docs, vocab, min_frequency):
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers
    from minigrad_gpt4 import GPT4
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(GPT4), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab, min_frequency=min_frequency, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(docs, trainer=trainer)
    return tok

mode = sys.argv[1]
if mode == "serve":  # HF worker: one JSON request per line, one JSON answer per line
    import tokenizers  # noqa: F401  (import cost outside the timed calls)
    cache = {}
    for line in sys.stdin:
        req = json.loads(line)
        if req["corpus"] not in cache:
            cache[req["corpus"]] = json.load(open(req["corpus"]))
        tok = hf_train(cache[req["corpus"]], req["vocab"], req["min_frequency"])
        if req.get("save"):
            tok.save(req["save"])
        print(json.dumps({"vocab": tok.get_vocab_size()}), flush=True)
else:  # memory: mode = "minigrad" | "hf", then path, vocab
    path, vocab = sys.argv[2], int(sys.argv[3])
    if mode == "minigrad":
        from pathlib import Path
        from minigrad.tokenizers.trainer import train_bpe
        train_bpe("warm up the jit cache", 300)
    else:
        import tokenizers  # noqa: F401
    before = status_mb("VmRSS")
    t0 = time.perf_counter()
    if mode == "minigrad":
        n = len(train_bpe(Path(path), vocab))
    else:
        n = hf_train(docs_from_file(path, 4096), vocab, 2).get_vocab_size()
    dt = time.perf_counter() - t0
    print(json.dumps({"rss_after_imports_MB": before, "peak_rss_MB": status_mb("VmHWM"),
                      "train_s": dt, "vocab": n}))
"""


def _child_env(threads: int, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RAYON_NUM_THREADS"] = str(threads)
    env["TOKENIZERS_PARALLELISM"] = "true"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(tmp)])
    return env


class HFWorker:
    """A long-running HF process with a fixed rayon thread count."""

    def __init__(self, threads: int, tmp: Path):
        self.proc = subprocess.Popen(
            [sys.executable, str(tmp / "child.py"), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_child_env(threads, tmp),
        )

    def train(self, corpus: Path, vocab: int, save: Path | None = None) -> int:
        req = {"corpus": str(corpus), "vocab": vocab, "min_frequency": 2}
        if save is not None:
            req["save"] = str(save)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("HF worker died")
        return json.loads(line)["vocab"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _docs(text: str) -> list[str]:
    from minigrad.tokenizers.corpus import SAFE_CUT as _SAFE_CUT  # the streaming cut rule

    safe = _SAFE_CUT.pattern
    import regex

    fwd = regex.compile(safe)
    out, i = [], 0
    while i < len(text):
        m = fwd.search(text, i + DOC_CHARS) if i + DOC_CHARS < len(text) else None
        j = m.start() if m else len(text)
        out.append(text[i:j])
        i = j
    return out


def _variants(text: str, n: int) -> str:
    """``n`` variants of ``text``: case swapped on odd k, digits shifted by k // 2."""
    out = []
    for k in range(n):
        shift = k // 2
        t = text.swapcase() if k % 2 else text
        if shift:
            t = t.translate(
                str.maketrans("0123456789", "".join(str((d + shift) % 10) for d in range(10)))
            )
        out.append(t)
    return "".join(out)


def _write_child(tmp: Path) -> None:
    from minigrad.tokenizers.patterns import GPT4_PATTERN

    code = CHILD.replace("from minigrad_gpt4 import GPT4", f"GPT4 = {GPT4_PATTERN!r}")
    (tmp / "child.py").write_text(code, encoding="utf-8")


def _memory(tmp: Path, who: str, path: Path, vocab: int) -> dict:
    r = subprocess.run(
        [sys.executable, str(tmp / "child.py"), who, str(path), str(vocab)],
        env=_child_env(1, tmp),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def _jit_cost(tmp: Path) -> dict:
    """Compile the kernels from scratch in an empty numba cache; time first and second calls."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from minigrad.tokenizers.trainer import train_bpe\n"
        "t1 = time.perf_counter(); train_bpe('the cat sat on the mat ' * 50, 300)\n"
        "t2 = time.perf_counter(); train_bpe('the cat sat on the mat ' * 50, 300)\n"
        "t3 = time.perf_counter(); print(t1 - t0, t2 - t1, t3 - t2)\n"
    )
    env = _child_env(1, tmp)
    env["NUMBA_CACHE_DIR"] = str(tmp / "numba_cache")
    rows = []
    for label in ("empty cache (compile)", "warm cache (load)"):
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        imp, first, second = map(float, r.stdout.split())
        rows.append(
            {"name": label, "import_s": imp, "first_call_s": first, "second_call_s": second}
        )
    return rows


def _bytes_per_token(text: str, n_tokens: int) -> float:
    return len(text.encode("utf-8")) / n_tokens


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="small sizes, one repetition (a smoke run)"
    )
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--out-dir", type=Path, default=None)
    args = ap.parse_args(argv)

    import tiktoken
    from tokenizers import Tokenizer

    from minigrad.tokenizers.naive_trainer import train_naive
    from minigrad.tokenizers.patterns import GPT4_PATTERN
    from minigrad.tokenizers.trainer import train_bpe

    q = args.quick
    n_train = 300_000 if q else 10_000_000
    vocabs = (512, 1024) if q else (4096, 32768)
    n_naive, v_naive = (30_000, 280) if q else (1_000_000, 512)
    # MB; the larger is made of variants of the smaller (a whole multiple of it)
    mem_sizes = (0.5, 1.5) if q else (10, 100)
    repeats = args.repeats or (1 if q else 3)
    set_threads(1, torch=False)

    sections: dict[str, list[dict]] = {}
    load_start = tuple(round(x, 1) for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench_bpe_") as tmpdir:
        tmp = Path(tmpdir)
        _write_child(tmp)
        text = stdlib_corpus(n_train)
        docs = _docs(text)
        corpus_json = tmp / "docs.json"
        corpus_json.write_text(json.dumps(docs))
        mb = len(text.encode()) / 1e6
        workers = {t: HFWorker(t, tmp) for t in (1, 2)}
        try:
            # ---- 1. training time ----------------------------------------------------------
            for vocab in vocabs:
                cs = [Contender("minigrad", lambda v=vocab: train_bpe(docs, v), {"vocab": vocab})]
                for t, w in workers.items():
                    cs.append(
                        Contender(
                            f"HF BpeTrainer RAYON={t}",
                            lambda w=w, v=vocab: w.train(corpus_json, v),
                            {"vocab": vocab},
                        )
                    )
                rows = compare(cs, repeats=repeats, baseline="minigrad")
                for r in rows:
                    r["corpus_MBps"] = mb / r["median_s"]
                train_title = f"training time, {mb:g} MB, vocab {vocab}"
                sections[train_title] = rows
                print(markdown_table(rows), flush=True)

            # ---- 2. the naive oracle -------------------------------------------------------
            small = stdlib_corpus(n_naive)
            small_json = tmp / "small.json"
            small_docs = _docs(small)
            small_json.write_text(json.dumps(small_docs))
            results: dict[str, dict[bytes, int]] = {}
            cs = [
                Contender("minigrad", lambda: results.update(fast=train_bpe(small_docs, v_naive))),
                Contender("HF BpeTrainer RAYON=1", lambda: workers[1].train(small_json, v_naive)),
                Contender(
                    "naive oracle", lambda: results.update(naive=train_naive(small_docs, v_naive))
                ),
            ]
            rows = compare(cs, repeats=1, warmup=0, baseline="minigrad")
            same = results["fast"] == results["naive"]
            for r in rows:
                r["params"] = f"{n_naive / 1e6:g} MB, vocab {v_naive}"
            sections[f"naive oracle, {n_naive / 1e6:g} MB, vocab {v_naive}"] = rows
            print(markdown_table(rows), flush=True)

            # ---- 4. compression on held-out text -------------------------------------------
            vocab = vocabs[-1]
            held = stdlib_corpus(n_train + n_train // 10)[len(text) :]
            ranks = train_bpe(docs, vocab)
            enc = tiktoken.Encoding(
                "minigrad", pat_str=GPT4_PATTERN, mergeable_ranks=ranks, special_tokens={}
            )
            n_mg = len(enc.encode_ordinary(held))
            hf_path = tmp / "hf.json"
            workers[1].train(corpus_json, vocab, save=hf_path)
            n_hf = len(Tokenizer.from_file(str(hf_path)).encode(held).ids)
            rows = [
                {"name": "minigrad (tiktoken encode)", "vocab": len(ranks), "tokens": n_mg,
                 "bytes_per_token": _bytes_per_token(held, n_mg)},
                {"name": "HF BpeTrainer (HF encode)", "vocab": vocab, "tokens": n_hf,
                 "bytes_per_token": _bytes_per_token(held, n_hf)},
            ]  # fmt: skip
            for r in rows:
                r["ratio_vs_HF"] = r["bytes_per_token"] / rows[1]["bytes_per_token"]
            compression_title = f"compression, held-out {len(held.encode()) / 1e6:.2g} MB"
            sections[compression_title] = rows
            print(markdown_table(rows), flush=True)
        finally:
            for w in workers.values():
                w.close()

        # ---- 3. peak memory ----------------------------------------------------------------
        base = stdlib_corpus(int(mem_sizes[0] * 1_000_000))
        rows = []
        for size in mem_sizes:
            path = tmp / f"corpus_{size}MB.txt"
            copies = round(size / mem_sizes[0])
            path.write_text(_variants(base, copies), encoding="utf-8", newline="")
            for who in ("minigrad", "hf"):
                r = _memory(tmp, who, path, vocabs[-1])
                # one timed training per process: a row with n = 1 and its memory columns
                t = r.pop("train_s")
                rows.append(
                    {"name": who, "corpus_MB": size, "median_s": t, "min_s": t, "times_s": [t],
                     "repeats": 1, "inner": 1, **r}
                )  # fmt: skip
                print(rows[-1], flush=True)
            path.unlink()
        for r in rows:
            r["train_delta_MB"] = r["peak_rss_MB"] - r["rss_after_imports_MB"]
        memory_title = f"peak RSS and training time, vocab {vocabs[-1]}, trained from a file"
        sections[memory_title] = rows
        print(markdown_table(rows), flush=True)

        # ---- 5. JIT (slow: compiles everything from scratch) ---------------------------------
        if not q:
            rows = _jit_cost(tmp)
            sections["numba JIT cost (fresh cache dir, tiny corpus)"] = rows
            print(markdown_table(rows), flush=True)

    load_end = tuple(round(x, 1) for x in os.getloadavg())
    notes = (
        f"{'QUICK run. ' if q else ''}Corpus: first {mb:g} MB of the stdlib corpus as "
        f"{len(docs)} documents cut at safe points (no built-in pattern joins chunks there). "
        "Timed contenders interleaved, "
        f"median of {repeats}; HF runs in worker processes (RAYON_NUM_THREADS fixed per process); "
        f"minigrad is single-threaded. min_frequency=2 for all. Naive oracle: one timed run, "
        f"no warm-up (same ranks as the fast trainer: {same}). "
        "Peak RSS: VmHWM of a fresh process that trains from the file (minigrad streams it; HF "
        "gets a generator of 4 KB documents read from it), after-imports RSS shown too. "
        f"Machine load average (1/5/15 min) at start {load_start}, at end {load_end}: "
        "other work shared the CPUs, so absolute times are inflated; ratios are interleaved."
    )
    big = f"training time, {mb:g} MB, vocab {vocabs[-1]}"
    ratios = [
        Ratio(f"BPE training, vocab {vocabs[-1]:,}: minigrad time / HF (1 thread)", big,
              "minigrad", "HF BpeTrainer RAYON=1", goal=2.0, op="<=", source="issue 3"),
        Ratio(f"BPE training, vocab {vocabs[-1]:,}: minigrad time / HF (2 threads)", big,
              "minigrad", "HF BpeTrainer RAYON=2"),
        Ratio("BPE compression: bytes/token, minigrad / HF (same vocab)", compression_title,
              "minigrad (tiktoken encode)", "HF BpeTrainer (HF encode)",
              metric="bytes_per_token", goal=0.01, op="~", source="issue 3"),
    ]  # fmt: skip
    for size in mem_sizes:
        ratios.append(
            Ratio(f"peak RSS while training {size:g} MB: minigrad / HF", memory_title,
                  "minigrad", "hf", at={"corpus_MB": size}, metric="peak_rss_MB")
        )  # fmt: skip
    if not q or args.out_dir is not None:
        json_path, md_path = write_results(
            "bpe_train", sections, notes=notes, out_dir=args.out_dir, ratios=ratios
        )
        print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
