"""BPE training at corpus scale: one process vs Dask (2 workers) vs Hugging Face, from files.

    python -m benchmarks.bench_bpe_scale            # 200 MB+ corpus, vocab 32,768 (~10 min)
    python -m benchmarks.bench_bpe_scale --quick    # 4 MB, vocab 2,048: a smoke run (~30 s)

The corpus is generated, deterministically, as several files: the distinct documents of
``benchmarks.corpus.distinct_documents`` (stdlib and site-packages sources, each once), each
file being all of them in a shuffled order (``random.Random(file index)``), until the files hold
200 MB.  So the corpus repeats documents, as web-scale corpora do, and its distinct chunks are
those of the distinct text.

Contenders, each in a fresh process per repetition, interleaved (a new order each round):

* **minigrad, one process**: ``count_chunks(files)`` (streamed), then
  ``BPETokenizer.train_from_counts`` (the merge loop); ``BPETokenizer.train(files)`` does
  exactly these two steps;
* **minigrad, Dask LocalCluster, 2 worker processes**: ``tokenizers.dask.count_files`` (byte
  ranges of 4 MB grouped into one task per worker, tree reduction), then the same merge loop on
  the client.  The cluster is started, and the whole timed path run once on a 1 MB file on
  every worker (numba's cache loaded), before the clock starts (the start-up time is a column
  of its own);
* **HF tokenizers** ``train_from_iterator`` with ``RAYON_NUM_THREADS`` 1 and 2: GPT-4 split +
  byte-level, as in ``bench_bpe_train``, fed 4 KB documents read from the files (cut at safe
  points).  HF's counting and merging are not separable from outside: total only.

Each process reports its own times (counting, merging) and peak RSS (``VmHWM``); the Dask row's
RSS adds up the client (which also runs the scheduler), both workers and both nannies.

**A paper estimate for 100 GB on N workers** follows from measured numbers: the counting
cost per GB on one process, the 2-worker efficiency (from CPU seconds:
``speedup_if_cores_free``), the cost of merging two count tables per distinct chunk (the
reduction tree has ceil(log_8 N) levels), and the merge loop's time vs the number of distinct
chunks, measured on growing prefixes of the distinct text and fitted as a power law, with the
number of distinct chunks at 100 GB extrapolated by Heaps' law (``distinct = K bytes^beta``,
fitted on the same prefixes).  An estimate, labelled as one.

What the Dask worker setup is based on (2026-12-05, 2-CPU VM, 200 MB, counting phase; the full
run of that day in ``results/2026-12-05`` read 1.33x, the module rerun after these changes in
``results/2026-12-05-bpe_scale`` 1.79x, IQR 1.65-1.85x):

* Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` for its worker, which turns off glibc's
  adaptive mmap threshold: a worker counting 50 MB alone spent ~1.2 CPU-s where the client
  spent ~0.87 (~35% more); the same variable in a plain process slowed it as much.  Set
  through ``distributed.nanny.pre-spawn-environ`` to 64 MiB (trim) and 32 MiB (mmap), a
  worker's cost per byte equals the client's when it counts alone (0.39-0.40 s per 25 MB range
  on both); with both workers busy each range costs ~10-20% more (the two vCPUs share caches
  and memory bandwidth).
* one task per 32 MB range (8 tasks) vs one task per worker (2 groups of 4 ranges), warm
  cluster: 1.40-1.60x vs 1.69-1.93x: fewer tables to send and to merge at the end (merging
  the 8 tables took 0.16-0.19 s on the critical path).
* reads of 32 / 8 / 4 / 1 MB in fresh clusters: 2.07-2.21 / 1.92-2.03 / 1.93-2.05 / 2.1 s for
  the counting, worker peak RSS ~428 / ~317 / ~305 / ~280 MB; 4 MB kept.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import distinct_documents
from benchmarks.harness import Ratio, markdown_table, write_results

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys, time

def status_mb(field, pid="self"):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0

def hf_docs(paths, size=4096):
    import regex
    safe = regex.compile(r"(?<=\p{L})(?= \p{L})|(?<=\S\n)(?=\p{L})")
    for path in paths:
        carry = ""
        with open(path, encoding="utf-8", newline="") as f:
            while True:
                block = f.read(1 << 20)
                if not block:
                    break
                text, i = carry + block, 0
                while i + size < len(text):
                    m = safe.search(text, i + size)
                    if m is None:
                        break
                    yield text[i:m.start()]
                    i = m.start()
                carry = text[i:]
        if carry:
            yield carry

def main():
    mode, vocab, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    out = {}
    if mode == "hf":
        from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(GPT4), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        trainer = trainers.BpeTrainer(
            vocab_size=vocab, min_frequency=2, show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
        t0 = time.perf_counter()
        tok.train_from_iterator(hf_docs(paths), trainer=trainer)
        out.update(total_s=time.perf_counter() - t0, vocab=tok.get_vocab_size())
        out["peak_rss_MB"] = status_mb("VmHWM")
    else:
        from pathlib import Path
        from minigrad.tokenizers import BPETokenizer, count_chunks
        # warm-up: the timed path once on a small file, so that every kernel it calls (reading,
        # cutting, counting, merging tables) is loaded from the numba cache before the clock runs
        warm = Path(sys.argv[0]).with_name(f"warm-{os.getpid()}.txt")
        with open(paths[0], "rb") as f:
            head = f.read(1 << 20)
        warm.write_bytes(head[: head.rfind(b"\n") + 1])
        BPETokenizer.train_from_counts(count_chunks([warm, warm]), 300)
        if mode == "minigrad":
            t0, c0 = time.perf_counter(), time.process_time()
            counts = count_chunks([Path(p) for p in paths])  # a str would be text, not a path
            out["count_cpu_s"] = time.process_time() - c0
        else:
            from minigrad.tokenizers.dask import count_files, local_client
            s0 = time.perf_counter()
            ctx = local_client(n_workers=2)
            client = ctx.__enter__()
            from minigrad.tokenizers import dask as mdask
            def warm_up():
                ranges = mdask.plan_ranges([warm], "gpt4", (), mdask.BLOCKSIZE)
                return len(mdask._merge_all(2 * mdask._count_partition(ranges, "gpt4", ())))
            client.run(warm_up)  # on every worker
            out["cluster_start_s"] = time.perf_counter() - s0
            w0 = client.run(time.process_time)
            t0, c0 = time.perf_counter(), time.process_time()
            counts = count_files(paths, client=client)
            out["client_count_cpu_s"] = time.process_time() - c0
            w1 = client.run(time.process_time)
            out["worker_count_cpu_s"] = sorted(w1[w] - w0[w] for w in w0)
        t1 = time.perf_counter()
        tok = BPETokenizer.train_from_counts(counts, vocab)
        t2 = time.perf_counter()
        out.update(count_s=t1 - t0, merge_s=t2 - t1, total_s=t2 - t0, vocab=tok.n_vocab,
                   distinct=len(counts))
        peak = status_mb("VmHWM")
        if mode == "dask":
            peaks = client.run(lambda: status_mb("VmHWM"))
            nannies = client.run(lambda: status_mb("VmHWM"), nanny=True)
            out["worker_peak_rss_MB"] = sorted(peaks.values())
            peak += sum(peaks.values()) + sum(nannies.values())
            ctx.__exit__(None, None, None)
        out["peak_rss_MB"] = peak
        warm.unlink()
    print("RESULT " + json.dumps(out), flush=True)

if __name__ == "__main__":
    main()
"""


def write_corpus(folder: Path, total_bytes: int, distinct_bytes: int, n_files: int):
    """Files of shuffled distinct documents: ``(paths, corpus bytes, documents, digest)``."""
    docs, digest = distinct_documents(distinct_bytes)
    per_file = total_bytes // n_files
    paths = []
    size = 0
    for k in range(n_files):
        rng = random.Random(k)
        path = folder / f"part{k:02d}.txt"
        written = 0
        with open(path, "w", encoding="utf-8", newline="") as f:
            while written < per_file:
                for d in rng.sample(docs, len(docs)):
                    data = d + "\n"
                    f.write(data)
                    written += len(data.encode("utf-8"))
                    if written >= per_file:
                        break
        paths.append(path)
        size += path.stat().st_size
    return paths, size, docs, digest


def _child(tmp: Path, mode: str, vocab: int, paths: list[Path], threads: int = 1) -> dict:
    env = dict(os.environ)
    env["RAYON_NUM_THREADS"] = str(threads)
    env["TOKENIZERS_PARALLELISM"] = "true"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    r = subprocess.run(
        [sys.executable, str(tmp / "child.py"), mode, str(vocab), *map(str, paths)],
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"{mode} child failed:\n{r.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def _median_row(name: str, runs: list[dict], mb: float, rounds: str) -> dict:
    row: dict = {"name": name, "corpus_MB": round(mb, 1)}
    for key in ("total", "count", "merge"):
        ts = [r[f"{key}_s"] for r in runs if f"{key}_s" in r]
        if ts:
            prefix = "" if key == "total" else f"{key}_"
            row[f"{prefix}times_s"] = ts
            row[f"{prefix}median_s"] = statistics.median(ts)
    row["min_s"] = min(row["times_s"])
    row["repeats"], row["inner"], row["rounds"] = len(runs), 1, rounds
    row["MBps"] = mb / row["median_s"]
    if "count_median_s" in row:
        row["count_MBps"] = mb / row["count_median_s"]
    row["peak_rss_MB"] = max(r["peak_rss_MB"] for r in runs)
    for extra in ("vocab", "distinct", "cluster_start_s", "worker_peak_rss_MB"):
        if extra in runs[-1]:
            row[extra] = runs[-1][extra]
    for key in ("count_cpu_s", "client_count_cpu_s"):
        if key in runs[0]:
            row[key] = statistics.median(r[key] for r in runs)
    if "worker_count_cpu_s" in runs[0]:  # the busier worker, median over the repeats
        row["busiest_worker_cpu_s"] = statistics.median(max(r["worker_count_cpu_s"]) for r in runs)
    return row


def _fit_power(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """``y = a x^b`` by least squares on logs: ``(a, b)``."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    b = sum((u - mx) * (v - my) for u, v in zip(lx, ly)) / sum((u - mx) ** 2 for u in lx)
    return math.exp(my - b * mx), b


def merge_curve(docs: list[str], vocab: int, points: int) -> list[dict]:
    """Merge-loop time and table-merge time vs distinct chunks, on prefixes of the distinct
    text (in this process: counting is not timed here)."""
    from minigrad.tokenizers import BPETokenizer, count_chunks

    rows = []
    BPETokenizer.train("warm up " * 50, 300)
    for k in range(points, 0, -1):
        part = docs[: max(1, len(docs) * k // (points * 2) * 2)]
        half = len(part) // 2
        nbytes = sum(len(d.encode()) for d in part)
        a, b = count_chunks(part[:half] or part), count_chunks(part[half:] or part)
        t0 = time.perf_counter()
        counts = a + b
        t1 = time.perf_counter()
        BPETokenizer.train_from_counts(counts, vocab)
        t2 = time.perf_counter()
        rows.append(
            {"name": f"prefix {k}/{points}", "bytes": nbytes, "distinct": len(counts),
             "table_merge_s": t1 - t0, "merge_loop_s": t2 - t1}
        )  # fmt: skip
    return rows[::-1]


def estimate(count_s_per_gb: float, efficiency: float, curve: list[dict], target_gb: float):
    """Paper estimate rows for ``target_gb`` on N workers (see the module docstring)."""
    xs = [r["bytes"] for r in curve]
    k_heaps, beta = _fit_power(xs, [r["distinct"] for r in curve])
    distinct = k_heaps * (target_gb * 1e9) ** beta
    a_loop, b_loop = _fit_power([r["distinct"] for r in curve], [r["merge_loop_s"] for r in curve])
    per_chunk = statistics.median(r["table_merge_s"] / r["distinct"] for r in curve)
    loop_s = a_loop * distinct**b_loop
    rows = []
    for n in (1, 2, 8, 32, 128):
        eff = 1.0 if n == 1 else efficiency
        count = target_gb * count_s_per_gb / (n * eff)
        levels = 0 if n == 1 else math.ceil(math.log(n, 8))
        # each level merges 8 tables of at most ``distinct`` chunks (an upper bound: a
        # partition holds fewer), the nodes of one level in parallel
        reduce_s = levels * 8 * per_chunk * distinct
        rows.append(
            {"name": f"{n} worker(s), estimate", "N": n, "count_s": count, "reduce_s": reduce_s,
             "merge_loop_s": loop_s, "total_s": count + reduce_s + loop_s,
             "distinct_est": int(distinct)}
        )  # fmt: skip
    fit = (
        f"Heaps fit distinct = {k_heaps:.3g} * bytes^{beta:.3f}; merge loop = "
        f"{a_loop:.3g} * distinct^{b_loop:.3f} s; table merge {per_chunk * 1e9:.0f} ns per "
        f"distinct chunk; counting {count_s_per_gb:.1f} s/GB on one process, 2-worker "
        f"efficiency {efficiency:.2f}"
    )
    return rows, fit


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small corpus, one repetition")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--out-dir", type=Path, default=None)
    ap.add_argument("--no-hf", action="store_true", help="leave out the HF contenders")
    args = ap.parse_args(argv)
    q = args.quick
    total = 4_000_000 if q else 200_000_000
    distinct_bytes = 1_000_000 if q else 50_000_000
    n_files = 4 if q else 8
    vocab = 2048 if q else 32768
    repeats = args.repeats or (1 if q else 3)
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("bench_bpe_scale: dask[distributed] is not installed (the scale extra)")
        return 0
    try:
        import tokenizers  # noqa: F401

        hf = not args.no_hf
    except ImportError:
        hf = False

    from minigrad.tokenizers.patterns import GPT4_PATTERN

    load_start = tuple(round(x, 1) for x in os.getloadavg())
    sections: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_bpe_scale_") as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "child.py").write_text(f"GPT4 = {GPT4_PATTERN!r}\n" + CHILD, encoding="utf-8")
        t0 = time.perf_counter()
        paths, size, docs, digest = write_corpus(tmp, total, distinct_bytes, n_files)
        gen_s = time.perf_counter() - t0
        mb = size / 1e6
        print(f"corpus: {len(paths)} files, {mb:.1f} MB, generated in {gen_s:.1f} s", flush=True)
        contenders = [("minigrad, 1 process", "minigrad", 1), ("minigrad + Dask, 2 workers",
                      "dask", 1)]  # fmt: skip
        if hf:
            contenders += [("HF train_from_iterator RAYON=1", "hf", 1),
                           ("HF train_from_iterator RAYON=2", "hf", 2)]  # fmt: skip
        runs: dict[str, list[dict]] = {c[0]: [] for c in contenders}
        for r in range(repeats):
            for k in random.Random(r).sample(range(len(contenders)), len(contenders)):
                name, mode, threads = contenders[k]
                runs[name].append(_child(tmp, mode, vocab, paths, threads))
                print(name, runs[name][-1], flush=True)
        rounds = f"{os.getpid()}:scale"
        rows = [_median_row(name, rs, mb, rounds) for name, rs in runs.items()]
        for row in rows:
            row["ratio"] = row["median_s"] / rows[0]["median_s"]
            row["baseline"] = rows[0]["name"]
            threads = 2 if ("2 workers" in row["name"] or "RAYON=2" in row["name"]) else 1
            row["MBps_per_thread"] = row["MBps"] / threads
        rows.append({"name": "YouTokenToMe (published)", "MBps_per_thread": 14.0})
        title = f"training from {len(paths)} files, {mb:.0f} MB, vocab {vocab}"
        sections[title] = rows
        print(markdown_table(rows), flush=True)

        counting = [
            {k: v for k, v in row.items() if k.startswith("count_") or k in ("name", "rounds")}
            | {"corpus_MB": row["corpus_MB"], "repeats": row["repeats"], "inner": 1}
            for row in rows[:2]
        ]
        for row in counting:
            row["median_s"], row["times_s"] = row["count_median_s"], row["count_times_s"]
            row["min_s"] = min(row["times_s"])
            row["ratio"] = row["median_s"] / counting[0]["median_s"]
            row["baseline"] = counting[0]["name"]
        # What the counting would take with a free core per worker: CPU seconds on the
        # critical path (the busier worker, plus the client's own share), against the single
        # process's CPU seconds.  A bound that the machine's load does not move.
        if "busiest_worker_cpu_s" in rows[1] and "count_cpu_s" in rows[0]:
            critical = rows[1]["busiest_worker_cpu_s"] + rows[1]["client_count_cpu_s"]
            counting[1]["busiest_worker_cpu_s"] = rows[1]["busiest_worker_cpu_s"]
            counting[1]["client_count_cpu_s"] = rows[1]["client_count_cpu_s"]
            counting[1]["cpu_critical_path_s"] = critical
            counting[1]["speedup_if_cores_free"] = rows[0]["count_cpu_s"] / critical
            counting[0]["cpu_critical_path_s"] = rows[0]["count_cpu_s"]
            counting[0]["speedup_if_cores_free"] = 1.0
        count_title = f"counting phase alone, {mb:.0f} MB"
        sections[count_title] = counting
        print(markdown_table(counting), flush=True)

        curve = merge_curve(docs, vocab, 3 if q else 4)
        sections["merge cost vs distinct chunks (prefixes of the distinct text)"] = curve
        print(markdown_table(curve), flush=True)
        # the scaling efficiency per worker: from CPU seconds when measured (the load on a
        # shared machine does not move it), else from wall time
        single, dask = rows[0], rows[1]
        speedup = counting[1].get(
            "speedup_if_cores_free", single["count_median_s"] / dask["count_median_s"]
        )
        est, fit = estimate(single["count_median_s"] / (mb / 1000), speedup / 2, curve, 100.0)
        est_title = "paper estimate: 100 GB on N workers (not measured)"
        sections[est_title] = est
        print(markdown_table(est), flush=True)

    load_end = tuple(round(x, 1) for x in os.getloadavg())
    notes = (
        f"{'QUICK run. ' if q else ''}Corpus: {len(paths)} files, {mb:.1f} MB, each the "
        f"{len(docs)} distinct documents of distinct_documents({distinct_bytes:,}) (digest "
        f"{digest[:12]}) shuffled with random.Random(file index), generated in {gen_s:.1f} s. "
        f"Every contender runs in a fresh process per repetition, {repeats} round(s) "
        "interleaved in a new order each; times are measured inside the process (imports, "
        "numba cache load and the LocalCluster start excluded: cluster_start_s shows the "
        "latter). Peak RSS: VmHWM; for Dask the sum over client (+scheduler), 2 workers and 2 "
        "nannies. min_frequency=2 everywhere. speedup_if_cores_free: the single process's "
        "counting CPU seconds over the Dask critical path's (the busier worker's CPU seconds "
        "plus the client's), i.e. the counting speedup with a free core per worker; it "
        f"ignores the network, so it is an upper bound for a real cluster. Estimate: {fit}. "
        f"Load average (1/5/15 min) at start {load_start}, at end {load_end}: the 2 cores were "
        "shared with other work, so absolute rates are low and the Dask speedup is capped by "
        "what the second core had free."
    )
    ratios = [
        Ratio(f"BPE from files, vocab {vocab:,}: minigrad MB/s per thread / YouTokenToMe's 14",
              title, "minigrad, 1 process", "YouTokenToMe (published)",
              metric="MBps_per_thread", goal=1.0, op=">=", source="issue 17"),
        Ratio("BPE counting phase: Dask 2 workers x faster than 1 process", count_title,
              "minigrad, 1 process", "minigrad + Dask, 2 workers", goal=1.6, op=">=",
              source="issue 17"),
        Ratio(f"BPE from files, vocab {vocab:,}: minigrad x faster than HF (1 thread)", title,
              "minigrad, 1 process", "HF train_from_iterator RAYON=1", invert=True),
        Ratio(f"BPE from files, vocab {vocab:,}: peak RSS minigrad / HF (1 thread)", title,
              "minigrad, 1 process", "HF train_from_iterator RAYON=1", metric="peak_rss_MB"),
    ]  # fmt: skip
    if not q or args.out_dir is not None or os.environ.get("MINIGRAD_BENCH_OUT"):
        json_path, md_path = write_results(
            "bpe_scale", sections, notes=notes, out_dir=args.out_dir, ratios=ratios
        )
        print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
