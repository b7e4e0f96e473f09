"""The benchmark runner, report and plots: argument parsing, the report on synthetic rows, peers
that are missing, and one real (quick, tiny) run in a subprocess.  No timing is ever asserted:
these tests check what gets written, never how fast anything was."""

from __future__ import annotations

import json
import os
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
    assert jobs["bpe_train"].argv[-2:] == ["--out-dir", str(tmp_path)]


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


# ---- the report, on synthetic rows ---------------------------------------------------------------
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
    size = {"d": 64, "V": 50_000, "ids": "zipf", "U": 7000}
    scatter = {
        "benchmark": "scatter_quick",
        "notes": "synthetic",
        "sections": {
            "scatter n=65536 d=64 V=50,000 ids=zipf (U=7,000)": [
                _row(
                    "minigrad scatter_add (zero + scatter)",
                    0.001,
                    GBps=20.0,
                    baseline="minigrad scatter_add (zero + scatter)",
                    **size,
                ),
                _row("minigrad scatter_add only", 0.0009, GBps=22.0, **size),
                _row("np.add.at (zero + scatter)", 0.025, GBps=0.8, **size),
                _row("floor: copy g (np.copyto)", 0.0006, GBps=50.0, **size),
                _row("torch index_add_ 2T (zero + scatter)", 0.001, GBps=20.0, **size),
            ]
        },
    }
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
    for stem, payload in (("scatter_quick", scatter), ("scaling_bpe", bpe)):
        (out / "modules" / f"{stem}.json").write_text(json.dumps(payload))
    return out


def test_report_writes_results_report_and_readme_section(tmp_path):
    out = _synthetic_run(tmp_path)
    meta = {
        "command": "python -m benchmarks --quick",
        "quick": True,
        "threads": None,
        "jobs": [],
        "notes": ["torch not installed: its contenders are left out"],
        "wall_s": 1.0,
        "cpu_s": 1.0,
        "isolation": "test",
    }
    paths = report.build(out, meta, plots=False)
    assert {p.name for p in paths} == {"results.json", "REPORT.md", "README_PERFORMANCE.md"}

    results = json.loads((out / "results.json").read_text())
    assert results["modules"]["scatter_quick"]["sections"]  # raw rows kept, times included
    assert "versions" in results["environment"]
    heads = {h["label"]: h for h in results["headlines"]}
    over_add_at = heads["scatter-add, d=64 V=5e4 zipf: speed-up over np.add.at"]
    assert over_add_at["value"] == pytest.approx(25.0) and over_add_at["met"] is True
    over_torch = heads["scatter-add, d=64 V=5e4 zipf: speed-up over torch index_add_ 2T"]
    assert over_torch["met"] is False  # 1.0x against a goal of 1.5x
    assert heads["TinyGPT AdamW step: minigrad time / torch eager"]["value"] is None

    md = (out / "REPORT.md").read_text()
    assert "QUICK run" in md and "torch not installed" in md
    assert "| scatter-add, d=64 V=5e4 zipf: speed-up over np.add.at | 25.00x | ≥ 20x | yes |" in md
    assert "| np.add.at (zero + scatter) | d=64 V=50,000 ids=zipf U=7,000 | 25 ms |" in md
    assert "1.00x (ref)" in md and "25.00x" in md
    # the naive point that was not run is marked as a bound, not shown as a measurement
    assert "| > 20 s (not run: estimated >= 20 s) | – | – |" in md

    readme = (out / "README_PERFORMANCE.md").read_text()
    assert readme.startswith("## Performance")
    assert "python -m benchmarks" in readme and "QUICK" in readme


def test_headline_with_a_missing_row_says_which():
    h = report.HEADLINES[2]  # scatter vs np.add.at
    modules = {
        "scatter": {
            "sections": {
                "scatter n=1 d=64 V=50,000 ids=zipf": [
                    _row("minigrad scatter_add (zero + scatter)", 1.0)
                ]
            }
        }
    }
    res = report.evaluate(h, modules)
    assert res["value"] is None and "np" in res["why"]


def test_timing_table_ratios_are_within_each_size():
    rows = [
        _row("minigrad", 1.0, n=10),
        _row("torch", 3.0, n=10),
        _row("minigrad", 2.0, n=20),
        _row("torch", 2.0, n=20),
    ]
    table = report.timing_table(rows)
    assert "| torch | n=10 | 3 s | 2.7 s | 3.00x |" in table
    assert "| torch | n=20 | 2 s | 1.8 s | 1.00x |" in table


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
    assert "n/a" in md  # the torch headlines cannot be computed, and say so
