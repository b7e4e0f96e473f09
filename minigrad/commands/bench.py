"""``minigrad bench``: run the side-by-side benchmarks and write the performance report.

A thin front for ``python -m benchmarks`` (see ``benchmarks/__main__.py``): the same options, run
from the source checkout that this minigrad was installed from, since the benchmarks (and the
peers they need: ``pip install -e '.[compare]'``) are not part of the installed package.

    minigrad bench --quick                  # a smoke test, about a minute on 2 cores
    minigrad bench --only scatter,scaling   # some comparisons; --list shows the names
    minigrad bench                          # the full run, about twenty minutes
    minigrad bench --compare OLD/results.json          # run, then: what changed beyond noise?
    minigrad bench --compare OLD/results.json NEW/results.json   # compare two runs only
    minigrad bench --bench-dir my_benches --quick      # your own bench_*.py files
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from minigrad.commands.common import CLIError, add_command


def benchmarks_root() -> Path | None:
    """The checkout whose ``benchmarks/`` sits next to this ``minigrad`` package, if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "benchmarks" / "__main__.py").is_file() else None


def runner_argv(args: argparse.Namespace) -> list[str]:
    """The options for ``python -m benchmarks`` (an ``--out`` made absolute: the cwd changes).

    >>> ns = argparse.Namespace(quick=True, only="scatter", threads=None, out=None,
    ...                         no_plots=False, list=False, compare=None, alpha=None,
    ...                         bench_dir=None, parallel=None)
    >>> runner_argv(ns)
    ['--quick', '--only', 'scatter']
    """
    argv = ["--quick"] if args.quick else []
    if args.only:
        argv += ["--only", args.only]
    if args.threads is not None:
        argv += ["--threads", str(args.threads)]
    if args.out is not None:
        argv += ["--out", str(Path(args.out).resolve())]
    if args.no_plots:
        argv.append("--no-plots")
    if args.list:
        argv.append("--list")
    if args.compare:
        argv += ["--compare", *(str(Path(p).resolve()) for p in args.compare)]
    if args.alpha is not None:
        argv += ["--alpha", str(args.alpha)]
    if args.bench_dir is not None:
        argv += ["--bench-dir", str(Path(args.bench_dir).resolve())]
    if args.parallel is not None:
        argv += ["--parallel", str(args.parallel)]
    return argv


def command(args: argparse.Namespace) -> int:
    """benchmark minigrad side by side with PyTorch, tiktoken and HF tokenizers

    Run every comparison in benchmarks/ (each in its own process, contenders interleaved,
    medians of repeats) and write results.json, REPORT.md, README_PERFORMANCE.md and plots to
    benchmarks/results/<date>/. Peers that are not installed are skipped with a note.
    """
    if args.threads is not None and args.threads < 1:
        raise CLIError(f"--threads must be at least 1, got {args.threads}")
    if args.compare is not None and len(args.compare) > 2:
        raise CLIError(f"--compare takes OLD or OLD NEW, got {len(args.compare)} paths")
    if args.alpha is not None and not 0 < args.alpha < 1:
        raise CLIError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.bench_dir is not None and not Path(args.bench_dir).is_dir():
        raise CLIError(f"--bench-dir {args.bench_dir!r}: no such folder")
    if args.parallel is not None and args.parallel < 1:
        raise CLIError(f"--parallel must be at least 1, got {args.parallel}")
    root = benchmarks_root()
    if root is None:
        raise CLIError(
            "the benchmarks live in the source checkout (benchmarks/), which this installation "
            "lacks: clone the repository and `pip install -e '.[compare]'` there"
        )
    cmd = [sys.executable, "-m", "benchmarks", *runner_argv(args)]
    return subprocess.call(cmd, cwd=root)


def register(subparsers: Any) -> None:
    p = add_command(subparsers, "bench", command)
    p.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke test)")
    p.add_argument("--only", metavar="NAME[,NAME]", help="only these benchmarks (see --list)")
    p.add_argument("--threads", type=int, metavar="N", help="threads for modules that take it")
    p.add_argument("--out", metavar="DIR", help="output folder (default benchmarks/results/DATE)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument(
        "--compare",
        nargs="+",
        metavar="RESULTS",
        help="OLD: run, then print which rows changed beyond the noise since OLD (results.json "
        "or its folder); OLD NEW: compare two earlier runs without running",
    )
    p.add_argument("--alpha", type=float, help="--compare: false discovery rate (default 0.05)")
    p.add_argument("--bench-dir", metavar="DIR", help="run your own bench_*.py files from DIR")
    p.add_argument(
        "--parallel", type=int, metavar="N", help="jobs at a time (default 2 with --quick, else 1)"
    )
