"""``python -m benchmarks``: every comparison, one report; ``python -m benchmarks NAME``: one.

    python -m benchmarks                      # the full run (~20 min on 2 cores)
    python -m benchmarks --quick              # small sizes, few repeats: a smoke test (~2 min)
    python -m benchmarks --only scatter,encode --out /tmp/bench
    python -m benchmarks --only scaling       # the four scaling curves only
    python -m benchmarks --list               # what --only accepts
    python -m benchmarks scatter --quick      # one module, its own options (as before)

How a run is organised: each benchmark (``benchmarks/bench_*.py``, and each scaling curve of
``benchmarks/scaling.py``) runs in **its own child process**, one after another.  Inside a child
every contender, minigrad and its peers alike, is timed by ``harness.compare``: interleaved in
a new random order each round, one untimed warm-up, median of the repeats.  Separate processes
keep the thread pools of one comparison (OpenBLAS, numba's OpenMP, torch's libgomp, rayon) from
spinning into the next, start every module with a fresh allocator, and let one module fail
without taking the run down.  The parent only launches, times (wall and the child's CPU time)
and reports.

Output, in ``--out`` (default ``benchmarks/results/<date>/``)::

    results.json           every raw timing, the environment, the run's log
    REPORT.md              headline ratios against the goals, then every table
    README_PERFORMANCE.md  a ready-to-paste "Performance" section for the README
    *.png                  the scaling plots
    modules/NAME.json|md   what each module wrote itself;   logs/NAME.log  its output

Peers that are not installed (torch, tiktoken, tokenizers) are skipped with a note: a module that
cannot run at all without one is not started; the others leave that peer's rows out.

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
import resource
import shlex
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
#: modules that cannot run at all without these peers (the rest skip the peer's rows)
REQUIRES: dict[str, tuple[str, ...]] = {
    "bpe_train": ("tokenizers", "tiktoken"),
    "encode": ("tiktoken", "tokenizers"),
}
#: modules with a ``--threads`` option; the others fix their thread counts themselves
THREADS_FLAG = {"autograd", "embedding_step", "mlp_lm", "tinygpt", *SCALING}
#: modules that only write results in quick mode when given an output folder
OUT_DIR_FLAG = {"bpe_train", "encode", "pretokenize"}


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

    def summary(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in ("name", "argv", "status", "skip", "wall_s", "cpu_s", "files", "log")
        }


def plan(names: list[str], quick: bool, threads: int | None, modules_dir: Path) -> list[Job]:
    """The jobs to run, each with its child argv; jobs whose required peer is missing skipped."""
    jobs = []
    for name in names:
        argv = [name, *(["--quick"] if quick else [])]
        if threads is not None and name in THREADS_FLAG:
            argv += ["--threads", str(threads)]
        if name in OUT_DIR_FLAG:
            argv += ["--out-dir", str(modules_dir)]
        lacking = missing_peers(REQUIRES.get(name, ()))
        skip = f"skipped: needs {', '.join(lacking)}, not installed" if lacking else None
        jobs.append(Job(name, argv, skip=skip, status="skipped" if skip else "pending"))
    return jobs


def run_job(job: Job, modules_dir: Path, logs_dir: Path, env: dict[str, str]) -> None:
    """Run one job in a child process; fill in its status, times, files and log path."""
    before = {p.name: p.stat().st_mtime for p in modules_dir.glob("*.json")}
    log = logs_dir / f"{job.name}.log"
    cmd = [sys.executable, "-m", "benchmarks", *job.argv]
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as f:
        f.write(f"$ {shlex.join(cmd)}\n")
        f.flush()
        rc = subprocess.call(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    job.wall_s = time.perf_counter() - t0
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    job.cpu_s = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    job.files = sorted(
        p.stem for p in modules_dir.glob("*.json") if before.get(p.name) != p.stat().st_mtime
    )
    job.log = str(log)
    job.status = "ok" if rc == 0 else f"failed (exit code {rc}; see {log})"
    if rc == 0 and not job.files:
        job.status = f"ok, but wrote no results (see {log})"


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run every side-by-side benchmark and write one report "
        "(or `python -m benchmarks NAME --help` for one module).",
    )
    ap.add_argument(
        "--quick", action="store_true", help="small sizes, few repeats (~2 min): a smoke test"
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
    args = ap.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        ap.error(f"--threads must be at least 1, got {args.threads}")
    try:
        args.jobs = resolve_only(args.only)
    except ValueError as exc:
        ap.error(str(exc))
    return args


def run_all(argv: list[str]) -> int:
    """The whole run: plan, run each job with a progress bar, then report and plots."""
    from tqdm import tqdm

    from benchmarks import report

    args = parse_args(argv)
    if args.list:
        for name in all_jobs():
            req = REQUIRES.get(name)
            print(f"  {name}" + (f"  (needs {', '.join(req)})" if req else ""))
        return 0
    started = _dt.datetime.now()
    out = Path(args.out) if args.out else HERE / "results" / started.date().isoformat()
    modules_dir, logs_dir = out / "modules", out / "logs"
    modules_dir.mkdir(parents=True, exist_ok=True)
    logs_dir.mkdir(parents=True, exist_ok=True)
    jobs = plan(args.jobs, args.quick, args.threads, modules_dir)
    env = dict(
        os.environ,
        MINIGRAD_BENCH_OUT=str(modules_dir),
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    notes = [f"{j.name}: {j.skip}" for j in jobs if j.skip]
    for peer in missing_peers():
        how = f"hidden by {HIDE_ENV}" if peer in hidden_peers() else "not installed"
        notes.append(f"{peer} {how}: its contenders are left out of every comparison")
    for n in notes:
        print(f"note: {n}", file=sys.stderr)

    t0, usage0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    bar = tqdm(jobs, desc="benchmarks", unit="job", file=sys.stderr, dynamic_ncols=True)
    for job in bar:
        bar.set_postfix_str(job.name)
        if job.skip is None:
            run_job(job, modules_dir, logs_dir, env)
            if not job.status.startswith("ok"):
                tqdm.write(f"{job.name}: {job.status}", file=sys.stderr)
    bar.close()
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    meta = {
        "command": shlex.join(["python", "-m", "benchmarks", *argv]),
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "threads": args.threads,
        "only": args.only,
        "isolation": "one child process per module / scaling curve, run one after another",
        "wall_s": time.perf_counter() - t0,
        "cpu_s": (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime),
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
    return 1 if failed else 0


def run_one(name: str, rest: list[str]) -> int:
    """``python -m benchmarks NAME [args]``: one module (or scaling curve) in this process."""
    hide_peers()  # before the module imports anything
    if name in SCALING:
        from benchmarks import scaling

        return int(scaling.main([name[len("scaling_") :], *rest]) or 0)
    module = importlib.import_module(f"benchmarks.bench_{name}")
    return int(module.main(rest) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-"):
        if argv[0] not in all_jobs():
            print(f"unknown benchmark {argv[0]!r}; choose one of {all_jobs()}", file=sys.stderr)
            return 2
        return run_one(argv[0], argv[1:])
    return run_all(argv)


if __name__ == "__main__":
    sys.exit(main())
