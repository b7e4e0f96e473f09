"""``python -m benchmarks``: every comparison, one report; ``python -m benchmarks NAME``: one.

    python -m benchmarks                      # the full run (~20 min on 2 cores)
    python -m benchmarks --quick              # small sizes, few repeats: a smoke test (~1 min)
    python -m benchmarks --only scatter,encode --out /tmp/bench
    python -m benchmarks --only scaling       # the four scaling curves only
    python -m benchmarks --list               # what --only accepts
    python -m benchmarks scatter --quick      # one module, its own options (as before)
    python -m benchmarks --compare OLD/results.json            # run, then compare with OLD
    python -m benchmarks --compare OLD/results.json NEW/results.json   # compare only
    python -m benchmarks --bench-dir my_benches --quick        # your own bench_*.py files

How a run is organised: each benchmark (``benchmarks/bench_*.py``, and each scaling curve of
``benchmarks/scaling.py``) runs in **its own child process**, one after another.  Inside a child
every contender, minigrad and its peers alike, is timed by ``harness.compare``: interleaved in
a new random order each round, one untimed warm-up, median of the repeats.  Separate processes
keep the thread pools of one comparison (OpenBLAS, numba's OpenMP, torch's libgomp, rayon) from
spinning into the next, start every module with a fresh allocator, and let one module fail
without taking the run down.  The parent only launches, times (wall and the child's CPU time)
and reports.  ``--quick`` runs two children at a time (``--parallel``): a smoke run checks that
everything runs and reports, its numbers are not read, and half of its time is each child's
start (importing torch alone takes ~1.5 s).

Output, in ``--out`` (default ``benchmarks/results/<date>/``)::

    results.json           every raw timing, the environment, the run's log
    REPORT.md              headline ratios against the goals, then every table
    COMPARE.md             with --compare OLD: what changed since OLD, row by row
    README_PERFORMANCE.md  a ready-to-paste "Performance" section for the README
    *.png                  the scaling plots
    modules/NAME.json|md   what each module wrote itself;   logs/NAME.log  its output

Peers that are not installed (torch, tiktoken, tokenizers) are skipped with a note: a module that
cannot run at all without one is not started; the others leave that peer's rows out.

``--compare`` tests every row present in both runs for a change beyond the noise (Mann-Whitney
U on the raw repeats, Benjamini-Hochberg over the rows; ``benchmarks/compare_runs.py``), prints
the result and, after a run, writes it to ``COMPARE.md`` beside the report.

``--bench-dir DIR`` runs the ``bench_*.py`` files in DIR instead of the built-in ones, each in its
own child process like them, and reports them the same way.  A file's contract (see
``benchmarks/harness.py``): a ``main(argv) -> int`` that accepts ``--quick`` and calls
``harness.write_results`` once.

Threads: ``--threads N`` goes to the modules that take it (autograd, embedding_step, mlp_lm,
tinygpt, the scaling curves; their default is one thread).  scatter and cross_entropy time
their contenders at 1 and 2 threads themselves (the thread count is in each contender's name),
and the tokenizer benchmarks pin one thread for everyone.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import os
import pkgutil
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.peers import HIDE_ENV, hidden_peers, hide_peers, missing_peers

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCALING = ("scaling_scatter", "scaling_embedding", "scaling_bpe", "scaling_encode")
# A new benchmarks/bench_NAME.py is found by its file name and needs no entry below unless it
# cannot run at all without a peer (REQUIRES), takes --threads (THREADS_FLAG), or writes its
# results in quick mode only when given --out-dir (OUT_DIR_FLAG).
#: modules that cannot run at all without these peers (the rest skip the peer's rows)
REQUIRES: dict[str, tuple[str, ...]] = {
    "bpe_train": ("tokenizers", "tiktoken"),
    "encode": ("tiktoken", "tokenizers"),
}
#: modules with a ``--threads`` option; the others fix their thread counts themselves
THREADS_FLAG = {"autograd", "embedding_step", "mlp_lm", "tinygpt", *SCALING}
#: modules that only write results in quick mode when given an output folder
OUT_DIR_FLAG = {"bpe_train", "bpe_scale", "encode", "pretokenize", "train_eval"}


def available() -> list[str]:
    """The benchmark modules: ``bench_NAME.py`` files next to this one, by NAME."""
    return sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(HERE)])
        if m.name.startswith("bench_")
    )


def all_jobs() -> list[str]:
    """Everything a full run does, in order: the modules, then the scaling curves."""
    return [*available(), *SCALING]


def resolve_only(only: str | None) -> list[str]:
    """``--only a,b`` -> job names in run order; ``scaling`` stands for every curve.

    >>> resolve_only("scaling")
    ['scaling_scatter', 'scaling_embedding', 'scaling_bpe', 'scaling_encode']
    """
    jobs = all_jobs()
    if only is None:
        return jobs
    wanted = {n.strip() for n in only.split(",") if n.strip()}
    if "scaling" in wanted:
        wanted = (wanted - {"scaling"}) | set(SCALING)
    unknown = sorted(wanted - set(jobs))
    if unknown or not wanted:
        raise ValueError(
            f"--only {only!r}: unknown {unknown or 'nothing'}; choose from {[*jobs, 'scaling']}"
        )
    return [j for j in jobs if j in wanted]


@dataclass
class Job:
    """One child process of a run: its name, the argv after ``python -m benchmarks``, result."""

    name: str
    argv: list[str]
    skip: str | None = None  # why it is not run, when it is not
    status: str = "pending"
    wall_s: float = 0.0
    cpu_s: float = 0.0
    files: list[str] = field(default_factory=list)
    log: str = ""
    #: where the child writes (``$MINIGRAD_BENCH_OUT``); its files then move to ``modules/``,
    #: so that each job's files are known even when jobs run at the same time
    out_dir: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in ("name", "argv", "status", "skip", "wall_s", "cpu_s", "files", "log")
        }


def user_benchmarks(bench_dir: Path) -> dict[str, Path]:
    """The ``bench_NAME.py`` files of a user's folder, by NAME (``ValueError`` when none)."""
    d = Path(bench_dir)
    if not d.is_dir():
        raise ValueError(f"--bench-dir {str(bench_dir)!r}: no such folder")
    found = {p.stem[len("bench_") :]: p.resolve() for p in sorted(d.glob("bench_*.py"))}
    found = {k: v for k, v in found.items() if k and v.is_file()}
    if not found:
        raise ValueError(f"--bench-dir {str(bench_dir)!r}: no bench_*.py files in it")
    return found


def plan(
    names: list[str],
    quick: bool,
    threads: int | None,
    staging: Path,
    files: dict[str, Path] | None = None,
) -> list[Job]:
    """The jobs to run, each with its child argv; jobs whose required peer is missing skipped.

    Each job writes into ``staging/NAME`` (``run_job`` moves its files to ``modules/``).
    ``files``: a user's benchmark files by name (``--bench-dir``); their child argv is the file's
    path and ``--quick`` (the contract asks for nothing else).
    """
    jobs = []
    for name in names:
        out_dir = str(staging / name)
        if files is not None:
            argv = [str(files[name]), *(["--quick"] if quick else [])]
            jobs.append(Job(name, argv, out_dir=out_dir))
            continue
        argv = [name, *(["--quick"] if quick else [])]
        if threads is not None and name in THREADS_FLAG:
            argv += ["--threads", str(threads)]
        if name in OUT_DIR_FLAG:
            argv += ["--out-dir", out_dir]
        lacking = missing_peers(REQUIRES.get(name, ()))
        skip = f"skipped: needs {', '.join(lacking)}, not installed" if lacking else None
        status = "skipped" if skip else "pending"
        jobs.append(Job(name, argv, skip=skip, status=status, out_dir=out_dir))
    return jobs


def run_job(job: Job, modules_dir: Path, logs_dir: Path, env: dict[str, str]) -> None:
    """Run one job in a child process; fill in its status, times, files and log path.

    The child writes into ``job.out_dir``; what it wrote then moves to ``modules_dir``.  Its CPU
    time (with its own children's) comes from ``wait4``, so it is right when jobs overlap.
    """
    job_out = Path(job.out_dir)
    shutil.rmtree(job_out, ignore_errors=True)
    job_out.mkdir(parents=True)
    log = logs_dir / f"{job.name}.log"
    cmd = [sys.executable, "-m", "benchmarks", *job.argv]
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as f:
        f.write(f"$ {shlex.join(cmd)}\n")
        f.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=dict(env, MINIGRAD_BENCH_OUT=str(job_out)),
            stdout=f,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
    job.wall_s = time.perf_counter() - t0
    job.cpu_s = usage.ru_utime + usage.ru_stime
    written = sorted(job_out.iterdir())
    for p in written:
        os.replace(p, modules_dir / p.name)
    shutil.rmtree(job_out, ignore_errors=True)
    job.files = [p.stem for p in written if p.suffix == ".json"]
    job.log = str(log)
    job.status = "ok" if rc == 0 else f"failed (exit code {rc}; see {log})"
    if rc == 0 and not job.files:
        job.status = f"ok, but wrote no results (see {log})"


def run_jobs(
    jobs: list[Job], parallel: int, modules_dir: Path, logs_dir: Path, env: dict[str, str]
) -> None:
    """Run every job not skipped, ``parallel`` at a time, with a progress bar."""
    from tqdm import tqdm

    todo = [j for j in jobs if j.skip is None]
    bar = tqdm(total=len(jobs), desc="benchmarks", unit="job", file=sys.stderr, dynamic_ncols=True)
    bar.update(len(jobs) - len(todo))

    def done(job: Job) -> None:
        if not job.status.startswith("ok"):
            tqdm.write(f"{job.name}: {job.status}", file=sys.stderr)
        bar.update(1)

    if parallel <= 1:
        for job in todo:
            bar.set_postfix_str(job.name)
            run_job(job, modules_dir, logs_dir, env)
            done(job)
    else:
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            futures = {pool.submit(run_job, j, modules_dir, logs_dir, env): j for j in todo}
            for fut in as_completed(futures):
                fut.result()
                done(futures[fut])
    bar.close()


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run every side-by-side benchmark and write one report "
        "(or `python -m benchmarks NAME --help` for one module).",
    )
    ap.add_argument(
        "--quick", action="store_true", help="small sizes, few repeats (~1 min): a smoke test"
    )
    ap.add_argument(
        "--only", metavar="NAME[,NAME]", help="run only these (see --list); 'scaling' = every curve"
    )
    ap.add_argument(
        "--threads", type=int, metavar="N", help="thread count for modules with a --threads option"
    )
    ap.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default benchmarks/results/<date>/)"
    )
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument(
        "--compare",
        nargs="+",
        metavar="RESULTS",
        help="OLD: run, then say which rows changed beyond the noise since OLD (a results.json "
        "or its folder); OLD NEW: compare two earlier runs, run nothing",
    )
    ap.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="--compare: false discovery rate for calling a change (default 0.05)",
    )
    ap.add_argument(
        "--parallel",
        type=int,
        metavar="N",
        help="run N jobs at a time (default: 2 with --quick, whose numbers nobody reads; else 1: "
        "concurrent jobs disturb each other's timings)",
    )
    ap.add_argument(
        "--bench-dir",
        type=Path,
        metavar="DIR",
        help="run the bench_*.py files in DIR (your own) instead of the built-in benchmarks",
    )
    args = ap.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        ap.error(f"--threads must be at least 1, got {args.threads}")
    if args.compare is not None and len(args.compare) > 2:
        ap.error(f"--compare takes OLD or OLD NEW, got {len(args.compare)} paths")
    if not 0 < args.alpha < 1:
        ap.error(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.parallel is not None and args.parallel < 1:
        ap.error(f"--parallel must be at least 1, got {args.parallel}")
    if args.parallel is None:
        args.parallel = min(2, os.cpu_count() or 1) if args.quick else 1
    args.files = None
    try:
        if args.bench_dir is not None:
            args.files = user_benchmarks(args.bench_dir)
            args.jobs = resolve_names(args.only, list(args.files))
        else:
            args.jobs = resolve_only(args.only)
    except ValueError as exc:
        ap.error(str(exc))
    return args


def resolve_names(only: str | None, names: list[str]) -> list[str]:
    """``--only`` among a user's benchmark names (``--bench-dir``)."""
    if only is None:
        return names
    wanted = {n.strip() for n in only.split(",") if n.strip()}
    unknown = sorted(wanted - set(names))
    if unknown or not wanted:
        raise ValueError(f"--only {only!r}: unknown {unknown or 'nothing'}; choose from {names}")
    return [n for n in names if n in wanted]


def compare_and_print(old: str | Path, new: str | Path, alpha: float) -> str | None:
    """Print the comparison of two runs; return its markdown (``None`` after an error)."""
    from benchmarks import compare_runs

    try:
        text = compare_runs.compare_files(old, new, alpha)
    except ValueError as exc:
        print(f"--compare: {exc}", file=sys.stderr)
        return None
    print(text)
    return text


def run_all(argv: list[str]) -> int:
    """The whole run: plan, run each job with a progress bar, then report and plots."""
    from benchmarks import report

    args = parse_args(argv)
    if args.list:
        if args.files is not None:
            for name, path in args.files.items():
                print(f"  {name}  ({path})")
            return 0
        for name in all_jobs():
            req = REQUIRES.get(name)
            print(f"  {name}" + (f"  (needs {', '.join(req)})" if req else ""))
        return 0
    if args.compare is not None and len(args.compare) == 2:
        return 0 if compare_and_print(*args.compare, args.alpha) is not None else 2
    if args.compare is not None:  # check OLD before spending minutes on a run
        from benchmarks import compare_runs

        try:
            compare_runs.load_run(args.compare[0])
        except ValueError as exc:
            print(f"--compare: {exc}", file=sys.stderr)
            return 2
    started = _dt.datetime.now()
    out = Path(args.out) if args.out else HERE / "results" / started.date().isoformat()
    modules_dir, logs_dir = out / "modules", out / "logs"
    modules_dir.mkdir(parents=True, exist_ok=True)
    logs_dir.mkdir(parents=True, exist_ok=True)
    staging = out / ".staging"
    jobs = plan(args.jobs, args.quick, args.threads, staging, args.files)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    notes = [f"{j.name}: {j.skip}" for j in jobs if j.skip]
    for peer in missing_peers():
        how = f"hidden by {HIDE_ENV}" if peer in hidden_peers() else "not installed"
        notes.append(f"{peer} {how}: its contenders are left out of every comparison")
    if args.parallel > 1:
        notes.append(
            f"{args.parallel} jobs ran at a time: their timings disturbed each other"
            + ("" if args.quick else " (--parallel on a full run: do not quote these numbers)")
        )
    for n in notes:
        print(f"note: {n}", file=sys.stderr)

    t0 = time.perf_counter()
    try:
        run_jobs(jobs, args.parallel, modules_dir, logs_dir, env)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    order = "one after another" if args.parallel == 1 else f"{args.parallel} at a time"
    meta = {
        "command": shlex.join(["python", "-m", "benchmarks", *argv]),
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "threads": args.threads,
        "only": args.only,
        "bench_dir": str(args.bench_dir.resolve()) if args.bench_dir else None,
        "parallel": args.parallel,
        "isolation": f"one child process per module / scaling curve, run {order}",
        "wall_s": time.perf_counter() - t0,
        "cpu_s": sum(j.cpu_s for j in jobs),
        "load_average_end": os.getloadavg(),
        "hidden_peers": hidden_peers(),
        "missing_peers": missing_peers(),
        "notes": notes,
        "jobs": [j.summary() for j in jobs],
    }
    paths = report.build(out, meta, plots=not args.no_plots)
    print(
        f"ran {sum(j.status.startswith('ok') for j in jobs)}/{len(jobs)} jobs in "
        f"{meta['wall_s']:.0f} s (children's CPU time {meta['cpu_s']:.0f} s)"
    )
    for p in paths:
        print(f"wrote {p}")
    failed = [j.name for j in jobs if j.skip is None and not j.status.startswith("ok")]
    if failed:
        print(f"failed: {', '.join(failed)} (logs in {logs_dir})", file=sys.stderr)
    if args.compare is not None:
        text = compare_and_print(args.compare[0], out / "results.json", args.alpha)
        if text is None:
            return 2
        from minigrad.atomic import atomic_write_text

        atomic_write_text(out / "COMPARE.md", text + "\n")
        print(f"wrote {out / 'COMPARE.md'}")
    return 1 if failed else 0


def run_file(path: Path, rest: list[str]) -> int:
    """``python -m benchmarks path/to/bench_x.py [args]``: a user's benchmark in this process.

    Its folder goes first on ``sys.path``, so it can import the files beside it.
    """
    import importlib.util

    path = Path(path).resolve()
    spec = importlib.util.spec_from_file_location(f"user_{path.stem}", path)
    if spec is None or spec.loader is None or not path.is_file():
        print(f"{path}: not a Python file that can be imported", file=sys.stderr)
        return 2
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, str(path.parent))
    spec.loader.exec_module(module)
    main = getattr(module, "main", None)
    if not callable(main):
        print(
            f"{path}: defines no main(argv) -> int (see the contract in benchmarks/harness.py)",
            file=sys.stderr,
        )
        return 2
    return int(main(rest) or 0)


def run_one(name: str, rest: list[str]) -> int:
    """``python -m benchmarks NAME [args]``: one module (or scaling curve) in this process."""
    hide_peers()  # before the module imports anything
    if name.endswith(".py"):
        return run_file(Path(name), rest)
    if name in SCALING:
        from benchmarks import scaling

        return int(scaling.main([name[len("scaling_") :], *rest]) or 0)
    module = importlib.import_module(f"benchmarks.bench_{name}")
    return int(module.main(rest) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-"):
        if argv[0] not in all_jobs() and not argv[0].endswith(".py"):
            print(f"unknown benchmark {argv[0]!r}; choose one of {all_jobs()}", file=sys.stderr)
            return 2
        return run_one(argv[0], argv[1:])
    return run_all(argv)


if __name__ == "__main__":
    sys.exit(main())
