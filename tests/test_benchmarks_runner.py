"""The benchmark runner, report and plots: argument parsing, the report on synthetic rows, peers
that are missing, and one real (quick, tiny) run in a subprocess.  No timing is ever asserted:
these tests check what gets written, never how fast anything was."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import __main__ as runner
from benchmarks import peers, report, scaling

ROOT = Path(__file__).resolve().parents[1]


# ---- argument parsing ----------------------------------------------------------------------------
def test_only_resolves_names_and_the_scaling_alias_in_run_order():
    assert runner.resolve_only("scaling_bpe,autograd") == ["autograd", "scaling_bpe"]
    assert runner.resolve_only("scaling") == list(runner.SCALING)
    assert runner.resolve_only(None) == runner.all_jobs()
    assert set(runner.available()) >= {"autograd", "scatter", "encode", "bpe_train"}


def test_unknown_only_name_is_named_in_the_error(capsys):
    with pytest.raises(ValueError, match="nope"):
        runner.resolve_only("autograd,nope")
    with pytest.raises(SystemExit) as exc:
        runner.parse_args(["--only", "nope"])
    assert exc.value.code == 2
    assert "'nope'" in capsys.readouterr().err


def test_threads_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        runner.parse_args(["--threads", "0"])
    assert "got 0" in capsys.readouterr().err


def test_parse_args_and_plan_forward_the_right_flags(tmp_path, monkeypatch):
    monkeypatch.delenv(peers.HIDE_ENV, raising=False)
    args = runner.parse_args(["--quick", "--only", "autograd,scatter,bpe_train", "--threads", "2"])
    assert args.quick and args.threads == 2 and args.jobs == ["autograd", "bpe_train", "scatter"]
    jobs = {j.name: j for j in runner.plan(args.jobs, args.quick, args.threads, tmp_path)}
    assert jobs["autograd"].argv == ["autograd", "--quick", "--threads", "2"]
    assert jobs["scatter"].argv == ["scatter", "--quick"]  # it sweeps its own thread counts
    # each job writes into its own folder (then moved to modules/): jobs may overlap
    assert jobs["bpe_train"].argv[-2:] == ["--out-dir", str(tmp_path / "bpe_train")]
    assert jobs["autograd"].out_dir == str(tmp_path / "autograd")
    assert args.parallel == 2 or (os.cpu_count() or 1) < 2  # quick: two at a time
    assert runner.parse_args([]).parallel == 1  # a full run: one at a time
    with pytest.raises(SystemExit):
        runner.parse_args(["--parallel", "0"])


def test_single_module_dispatch_rejects_unknown_names(capsys):
    assert runner.main(["no_such_benchmark"]) == 2
    assert "no_such_benchmark" in capsys.readouterr().err


# ---- peers that are not installed ----------------------------------------------------------------
def test_hidden_peer_skips_the_modules_that_need_it_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv(peers.HIDE_ENV, "tiktoken")
    assert not peers.peer_available("tiktoken")
    assert peers.missing_peers() == ["tiktoken"] or "tiktoken" in peers.missing_peers()
    jobs = {
        j.name: j for j in runner.plan(["encode", "bpe_train", "autograd"], True, None, tmp_path)
    }
    assert jobs["encode"].status == "skipped" and "tiktoken" in jobs["encode"].skip
    assert jobs["bpe_train"].status == "skipped"
    assert jobs["autograd"].skip is None  # it does not need tiktoken


def test_unknown_peer_names_are_errors(monkeypatch):
    with pytest.raises(ValueError, match="numpyy"):
        peers.peer_available("numpyy")
    monkeypatch.setenv(peers.HIDE_ENV, "torch,tensorflow")
    with pytest.raises(ValueError, match="tensorflow"):
        peers.hidden_peers()


def test_hide_peers_makes_the_import_fail_like_a_missing_package():
    code = (
        "from benchmarks.peers import hide_peers\n"
        "hide_peers()\n"
        "try:\n    import tiktoken\nexcept ModuleNotFoundError as e:\n    print('missing:', e)\n"
    )
    env = dict(os.environ, **{peers.HIDE_ENV: "tiktoken"})
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert "missing:" in r.stdout and "tiktoken" in r.stdout


# ---- plots, on synthetic rows (the report itself: tests/test_benchmarks_report.py) ------------
def _row(name, median, **kw):
    return {
        "name": name,
        "median_s": median,
        "min_s": median * 0.9,
        "times_s": [median] * 3,
        "warmup_s": median,
        "repeats": 3,
        "inner": 1,
        **kw,
    }


def _synthetic_run(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    (out / "modules").mkdir(parents=True)
    bpe = {
        "benchmark": "scaling_bpe",
        "sections": {
            "bpe_vs_corpus": [
                _row("minigrad", 0.1, corpus_bytes=100_000, vocab=512),
                _row("minigrad", 0.3, corpus_bytes=1_000_000, vocab=512),
                {
                    "name": "naive oracle",
                    "corpus_bytes": 100_000,
                    "vocab": 512,
                    "median_s": 2.0,
                    "clipped": False,
                },
                {
                    "name": "naive oracle",
                    "corpus_bytes": 1_000_000,
                    "vocab": 512,
                    "median_s": 20.0,
                    "clipped": True,
                    "note": "not run: estimated >= 20 s",
                    "budget_s": 5.0,
                },
            ]
        },
    }
    (out / "modules" / "scaling_bpe.json").write_text(json.dumps(bpe))
    return out


def test_plots_are_written_for_the_curves_that_ran(tmp_path):
    from benchmarks import plots

    out = _synthetic_run(tmp_path)
    results = {"modules": report.load_modules(out / "modules")}
    written = plots.make_all(results, out)
    assert [p.name for p in written] == ["bpe_training.png"]
    assert (out / "bpe_training.png").stat().st_size > 10_000


# ---- scaling helpers -----------------------------------------------------------------------------
def test_naive_sweep_runs_what_fits_and_clips_the_rest(monkeypatch):
    seen = []

    def fake_point(docs, vocab, budget_s):
        seen.append(vocab)
        return {"median_s": 1.0, "clipped": False}

    monkeypatch.setattr(scaling, "naive_point", fake_point)
    monkeypatch.setattr(scaling, "corpus_docs", lambda n: ["x"])
    rows = scaling.naive_sweep([(1000, 512), (1000, 768), (1000, 4096)], budget_s=3.0)
    # 256 merges took 1 s -> 512 merges estimated 2 s (run, took 1 s) -> 3840 merges
    # estimated from the last measured point: 1 s x 3840 / 512 = 7.5 s > 3 s (clipped)
    assert seen == [512, 768]
    assert [r["clipped"] for r in rows] == [False, False, True]
    assert rows[2]["estimate_s"] == pytest.approx(7.5) and "not run" in rows[2]["note"]


def test_rows_of_g_restores_the_module_constant():
    from benchmarks import bench_scatter

    before = bench_scatter.N_ROWS
    with scaling.rows_of_g(bench_scatter, 123):
        assert bench_scatter.N_ROWS == 123
    assert bench_scatter.N_ROWS == before


# ---- the CLI front and one real run --------------------------------------------------------------
def test_minigrad_bench_is_registered(capsys):
    from minigrad.cli import main

    assert main(["bench", "--help"]) == 0
    assert "usage: minigrad bench" in capsys.readouterr().out
    assert main(["bench", "--threads", "0"]) == 2
    assert main(["bench", "--parallel", "0"]) == 2
    assert main(["bench", "--compare", "a", "b", "c"]) == 2
    assert main(["bench", "--alpha", "2"]) == 2
    assert main(["bench", "--bench-dir", "/no/such/folder"]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_quick_run_of_one_module_without_torch(tmp_path):
    """``--quick --only autograd`` end to end, with torch hidden: a note, never an error."""
    env = dict(os.environ, **{peers.HIDE_ENV: "torch"})
    out = tmp_path / "bench"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--only",
            "autograd",
            "--out",
            str(out),
            "--no-plots",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["run"]["jobs"][0]["status"] == "ok"
    assert "torch" in results["run"]["hidden_peers"]
    names = {
        row["name"] for rows in results["modules"]["autograd"]["sections"].values() for row in rows
    }
    assert "minigrad" in names and not any(n.startswith("torch") for n in names)
    md = (out / "REPORT.md").read_text()
    assert "torch hidden" in md
    # the torch headline cannot be computed: left out of the table, and the report says so
    assert "n/a" not in md
    assert "not measured in this run, so not shown: autograd per-op overhead" in md
    assert "No headline was measured in this run." in md  # both need torch


def test_minigrad_bench_forwards_compare_and_bench_dir_as_absolute_paths(tmp_path, monkeypatch):
    import argparse

    from minigrad.commands.bench import runner_argv

    monkeypatch.chdir(tmp_path)
    ns = argparse.Namespace(quick=True, only=None, threads=None, out=None, no_plots=True,
                            list=False, compare=["old", "new.json"], alpha=0.01,
                            bench_dir="mine", parallel=1)  # fmt: skip
    argv = runner_argv(ns)
    assert argv[argv.index("--compare") + 1 :][:2] == [
        str(tmp_path / "old"),
        str(tmp_path / "new.json"),
    ]
    assert argv[argv.index("--alpha") + 1] == "0.01"
    assert argv[argv.index("--bench-dir") + 1] == str(tmp_path / "mine")
    assert argv[-2:] == ["--parallel", "1"]


def test_compare_two_stored_runs_runs_nothing(tmp_path, capsys):
    old = ROOT / "benchmarks" / "results" / "2026-11-29"
    assert runner.main(["--compare", str(old), str(old / "results.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Benchmark comparison") and "Beyond the noise: 0 rows" in out
    assert runner.main(["--compare", str(tmp_path / "nope.json"), str(old)]) == 2
    assert "no such file" in capsys.readouterr().err
    # a run with --compare checks OLD before running anything
    assert runner.main(["--quick", "--compare", str(tmp_path / "nope.json")]) == 2
    captured = capsys.readouterr()
    assert "no such file" in captured.err and "ran " not in captured.out
    with pytest.raises(SystemExit):
        runner.parse_args(["--compare", "a", "b", "c"])


# ---- a user's benchmarks: --bench-dir -----------------------------------------------------------
def readme_bench_example() -> str:
    """The user benchmark shown in the README, verbatim (the block that starts # bench_sum.py)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    found = [b for b in blocks if b.startswith("# bench_sum.py")]
    assert len(found) == 1, "README lost its user-benchmark example"
    return found[0]


def test_bench_dir_runs_a_users_files_with_the_same_harness(tmp_path):
    """The README's example and a second file, two at a time, then --compare against the first
    run: each job's results are its own, the report has their tables, spread and ratio."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "bench_sum.py").write_text(readme_bench_example())
    (mine / "bench_broken.py").write_text("x = 1  # no main()\n")
    (mine / "helper.py").write_text("raise SystemExit('not a benchmark: never imported')\n")

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "benchmarks", "--bench-dir", str(mine), "--quick",
             "--no-plots", "--parallel", "2", *extra],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    r = run("--out", str(tmp_path / "one"))
    assert r.returncode == 1  # bench_broken failed; the run went on
    results = json.loads((tmp_path / "one" / "results.json").read_text())
    jobs = {j["name"]: j for j in results["run"]["jobs"]}
    assert set(jobs) == {"sum", "broken"}
    assert jobs["sum"]["status"] == "ok" and jobs["sum"]["files"] == ["sum"]
    assert jobs["broken"]["status"].startswith("failed") and jobs["broken"]["files"] == []
    assert "defines no main" in Path(jobs["broken"]["log"]).read_text()
    md = (tmp_path / "one" / "REPORT.md").read_text()
    assert "| python sum / numpy sum |" in md  # its declared ratio
    assert "### sum of 1,000 ints" in md and "| numpy sum |" in md
    assert not (tmp_path / "one" / ".staging").exists()

    r = run("--only", "sum", "--out", str(tmp_path / "two"), "--compare", str(tmp_path / "one"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "# Benchmark comparison" in r.stdout
    assert "| sum | sum of 1,000 ints | python sum |" in r.stdout
    assert (tmp_path / "two" / "COMPARE.md").read_text().startswith("# Benchmark comparison")


def test_bench_dir_errors_name_the_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        runner.parse_args(["--bench-dir", str(tmp_path / "absent")])
    assert "no such folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        runner.parse_args(["--bench-dir", str(tmp_path)])
    assert "no bench_*.py files" in capsys.readouterr().err
    (tmp_path / "bench_a.py").write_text("def main(argv=None):\n    return 0\n")
    args = runner.parse_args(["--bench-dir", str(tmp_path), "--quick"])
    assert args.jobs == ["a"]
    (job,) = runner.plan(args.jobs, True, None, tmp_path / "stage", args.files)
    assert job.argv == [str(tmp_path / "bench_a.py"), "--quick"]
    with pytest.raises(SystemExit):
        runner.parse_args(["--bench-dir", str(tmp_path), "--only", "b"])
