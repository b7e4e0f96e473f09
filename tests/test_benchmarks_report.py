"""The benchmark report and ``--compare`` on synthetic results (and on the stored 2026-11-29 run):
what the tables show, which ratios become headlines, what counts as a change.  No timing is
measured or asserted here: every number is made up or read from a file."""

from __future__ import annotations

import json
import re
import shutil
import statistics
from pathlib import Path

import pytest

from benchmarks import compare_runs, report, schema
from benchmarks.harness import write_results
from benchmarks.schema import Ratio

ROOT = Path(__file__).resolve().parents[1]
OLD_RUN = ROOT / "benchmarks" / "results" / "2026-11-29"


def timed(name: str, times: list[float], rounds: str = "r1", **kw) -> dict:
    """A row as ``harness.compare`` writes it (its ratio against itself)."""
    return {
        "name": name,
        **kw,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "times_s": times,
        "warmup_s": 0.5,
        "repeats": len(times),
        "inner": 1,
        "rounds": rounds,
        "baseline": name,
        "ratio": 1.0,
    }


def payload(name: str, sections: dict, ratios: list[Ratio] = (), notes: str = "") -> dict:
    return {
        "benchmark": name,
        "schema": schema.SCHEMA,
        "notes": notes,
        "sections": sections,
        "ratios": [r.to_dict() for r in ratios],
    }


def build(tmp_path: Path, modules: dict[str, dict], **meta) -> dict:
    out = tmp_path / "run"
    (out / "modules").mkdir(parents=True)
    for stem, p in modules.items():
        (out / "modules" / f"{stem}.json").write_text(json.dumps(p))
    run = {"command": "python -m benchmarks", "jobs": [], "wall_s": 1.0, "cpu_s": 1.0}
    report.build(out, {**run, **meta}, plots=False)
    return {
        "out": out,
        "results": json.loads((out / "results.json").read_text()),
        "report": (out / "REPORT.md").read_text(),
        "readme": (out / "README_PERFORMANCE.md").read_text(),
    }


def table_after(md: str, heading: str) -> list[str]:
    """The markdown table lines that follow ``heading`` in ``md``."""
    lines = md.splitlines()
    i = lines.index(heading) + 1
    while not lines[i].startswith("|"):
        i += 1
    j = i
    while j < len(lines) and lines[j].startswith("|"):
        j += 1
    return lines[i:j]


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


# ---- ratios from structured results -----------------------------------------------------------
STEP = "step, B=16"


def _step_module(goal_op="<=", goal=1.0) -> dict:
    rows = [
        timed("mine", [1.0, 1.1, 0.9, 1.0, 1.05]),
        timed("theirs", [2.0, 2.2, 1.8, 2.0, 2.1]),
    ]
    ratios = [Ratio("mine / theirs", STEP, "mine", "theirs", goal=goal, op=goal_op, source="#1")]
    return payload("step", {STEP: rows}, ratios)


def test_a_declared_ratio_is_computed_from_the_rows_with_its_spread():
    sections = _step_module()["sections"]
    h = schema.evaluate(Ratio("x", STEP, "mine", "theirs", goal=1.0, op="<="), sections)
    assert h["value"] == pytest.approx(0.5) and h["met"] is True
    assert h["paired"] is True and h["n"] == [5, 5]
    assert h["q1"] == pytest.approx(0.5) and h["q3"] == pytest.approx(0.5)  # every round: 0.5
    unpaired = schema.evaluate(
        Ratio("x", STEP, "mine", "theirs"),
        {STEP: [timed("mine", [1.0, 1.1, 0.9, 1.0, 1.05], rounds="a"),
                timed("theirs", [2.0, 2.2, 1.8, 2.0, 2.1], rounds="b")]},
    )  # fmt: skip
    assert unpaired["paired"] is False and unpaired["q1"] < 0.5 < unpaired["q3"]
    inv = schema.evaluate(Ratio("x", STEP, "mine", "theirs", invert=True), sections)
    assert inv["value"] == pytest.approx(2.0) and inv["met"] is None


def test_ratio_across_sections_is_unpaired_and_at_picks_a_size():
    a = [timed("m", [1.0, 2.0, 3.0], rounds="a")]
    b = [timed("m", [2.0, 4.0, 6.0], rounds="b")]
    h = schema.evaluate(Ratio("b/a", "B", "m", "m", den_section="A"), {"A": a, "B": b})
    assert h["value"] == pytest.approx(2.0) and h["paired"] is False
    assert h["q1"] < 2.0 < h["q3"]  # resampled apart: the drift shows as spread
    rows = [
        {"name": "m", "size": 1, "peak": 10.0},
        {"name": "m", "size": 2, "peak": 30.0},
        {"name": "t", "size": 1, "peak": 5.0},
        {"name": "t", "size": 2, "peak": 10.0},
    ]
    sec = {"mem": rows}
    two = schema.evaluate(Ratio("m/t", "mem", "m", "t", metric="peak"), sec)
    assert two["value"] is None and "give `at`" in two["why"]
    at2 = schema.evaluate(Ratio("m/t", "mem", "m", "t", metric="peak", at={"size": 2}), sec)
    assert at2["value"] == pytest.approx(3.0) and at2["q1"] is None


def test_goal_inside_the_spread_is_called_out():
    rows = [timed("a", [0.9, 1.0, 1.1, 1.2]), timed("b", [1.0, 1.0, 1.0, 1.0])]
    h = schema.evaluate(Ratio("a/b", "s", "a", "b", goal=1.05, op="<="), {"s": rows})
    assert h["met"] is True and h["noisy_goal"] is True
    h = schema.evaluate(Ratio("a/b", "s", "a", "b", goal=2.0, op="<="), {"s": rows})
    assert h["met"] is True and h["noisy_goal"] is False
    assert (h["q1"], h["q3"]) == pytest.approx((1.0, 1.1))
    h = schema.evaluate(Ratio("a/b", "s", "a", "b", goal=0.08, op="~"), {"s": rows})
    assert h["met"] is True and h["noisy_goal"] is True  # 1.1 would be outside 0.92..1.08


def test_ratio_declarations_are_checked():
    with pytest.raises(ValueError, match="both goal and op"):
        Ratio("x", "s", "a", "b", goal=1.0)
    with pytest.raises(ValueError, match="op must be"):
        Ratio("x", "s", "a", "b", goal=1.0, op=">")
    with pytest.raises(ValueError, match="did not write"):
        schema.check_ratios([Ratio("x", "nope", "a", "b")], {"s": []})


def test_write_results_stores_ratios_and_refuses_a_typo(tmp_path):
    rows = [timed("a", [1.0, 1.0]), timed("b", [2.0, 2.0])]
    json_path, _ = write_results(
        "unit", {"s": rows}, out_dir=tmp_path, ratios=[Ratio("a/b", "s", "a", "b")]
    )
    saved = json.loads(json_path.read_text())
    assert saved["schema"] == schema.SCHEMA and saved["ratios"][0]["num"] == "a"
    with pytest.raises(ValueError, match="'S'"):
        write_results("unit2", {"s": rows}, out_dir=tmp_path, ratios=[Ratio("a/b", "S", "a", "b")])
    assert not (tmp_path / "unit2.json").exists()
    with pytest.raises(ValueError, match="letters"):
        write_results("../escape", {"s": rows}, out_dir=tmp_path)


def test_headlines_come_from_declarations_not_from_names(tmp_path):
    """Rows named exactly as the old regex headlines expected, but no declared ratio: no
    headline; and a headline with names no regex knew."""
    legacy = payload(
        "autograd",
        {"per-op overhead: chain of 1000 elementwise ops, fwd+bwd": [
            timed("minigrad", [1.0, 1.0, 1.0]), timed("torch eager", [2.0, 2.0, 2.0])]},
    )  # fmt: skip
    run = build(tmp_path, {"autograd": legacy, "step": _step_module()})
    labels = [h["label"] for h in run["results"]["headlines"]]
    assert labels == ["mine / theirs"]
    head = table_after(run["report"], "## Headline ratios")
    assert len(head) == 3 and cells(head[2])[:6] == ["mine / theirs", "0.50x", "0.50–0.50x",
                                                     "5/5", "≤ 1x", "yes"]  # fmt: skip


def test_headlines_not_measured_are_hidden_not_na(tmp_path):
    mod = _step_module()
    mod["ratios"].append(Ratio("vs torch", STEP, "mine", "torch eager", goal=1, op="<=").to_dict())
    run = build(tmp_path, {"step": mod})
    head = table_after(run["report"], "## Headline ratios")
    assert not any("vs torch" in line for line in head)
    assert "n/a" not in run["report"] and "n/a" not in run["readme"]
    why = "not measured in this run, so not shown: vs torch (no row 'torch eager')"
    assert why in run["report"]


# ---- the tables -------------------------------------------------------------------------------
def test_every_timing_table_shows_median_iqr_and_n_and_flags_noisy_rows(tmp_path):
    rows = [
        timed("steady", [1.00, 1.01, 0.99, 1.00, 1.02], d=64),
        timed("noisy", [1.0, 1.5, 0.7, 1.3, 0.8], d=64),
    ]
    run = build(tmp_path, {"m": payload("m", {"sec": rows})})
    table = table_after(run["report"], "### sec")
    head = cells(table[0])
    assert head[:7] == ["contender", "size", "median", "IQR", "n", "min", "ratio"]
    steady, noisy = (dict(zip(head, cells(line))) for line in table[2:])
    assert steady["median"] == "1 s" and steady["n"] == "5" and "⚠" not in steady["IQR"]
    assert steady["IQR"] == "10 ms (1%)"
    assert noisy["IQR"] == "500 ms (50%) ⚠" and noisy["n"] == "5"
    assert "1 rows flagged ⚠" in run["report"]


def test_rows_not_run_are_hidden(tmp_path):
    rows = [
        timed("minigrad", [0.1, 0.1], corpus_bytes=100),
        {"name": "naive oracle", "corpus_bytes": 100, "median_s": 20.0, "clipped": True,
         "note": "stopped after 20 s"},
        {"name": "naive oracle", "corpus_bytes": 1000, "median_s": 200.0, "clipped": True,
         "note": "not run: estimated ~ 200 s"},
    ]  # fmt: skip
    run = build(tmp_path, {"scaling_bpe": payload("scaling_bpe", {"bpe_vs_corpus": rows})})
    table = "\n".join(table_after(run["report"], "### bpe_vs_corpus"))
    assert "> 20 s (stopped after 20 s)" in table  # run, stopped: a lower bound, shown
    assert "200 s" not in table and "not run" not in table
    assert "1 points estimated instead of run are left out" in run["report"]


def test_every_module_column_reaches_the_report(tmp_path):
    """The columns the old report dropped: frac_copy, peak_MiB, cpu_median_s, unique_ids ..."""
    rows = [
        timed("a", [1.0, 1.0], d=64, GBps=2.0, frac_copy=0.5, peak_MiB=12.5, cpu_median_s=0.9,
              unique_ids=510.0, **{"MB/s (CPU)": 3.0}),
        timed("b", [2.0, 2.0], d=64, GBps=1.0, frac_copy=0.25, cpu_median_s=1.8,
              unique_ids=510.0, vs_tiktoken_speed=0.5),
    ]  # fmt: skip
    run = build(tmp_path, {"m": payload("m", {"sec": rows})})
    head = cells(table_after(run["report"], "### sec")[0])
    for col in ("warm-up", "GBps", "frac_copy", "peak_MiB", "cpu_median_s", "unique_ids",
                "MB/s (CPU)", "vs_tiktoken_speed"):  # fmt: skip
        assert col in head, col
    b = dict(zip(head, cells(table_after(run["report"], "### sec")[3])))
    assert b["peak_MiB"] == "–" and b["vs_tiktoken_speed"] == "0.5"


def test_every_column_of_the_stored_full_run_reaches_the_report(tmp_path):
    """All nine modules and four curves of the 2026-11-29 run (written before this report)."""
    out = tmp_path / "old"
    shutil.copytree(OLD_RUN / "modules", out / "modules")
    meta = json.loads((OLD_RUN / "results.json").read_text())["run"]
    report.build(out, meta, plots=False)
    md = (out / "REPORT.md").read_text()
    modules = report.load_modules(out / "modules")
    missing = []
    for stem, title, row in schema.iter_rows(modules):
        if schema.not_run(row):
            continue
        head = cells(table_after(md, f"### {title}")[0])
        for key, value in row.items():
            if value is None or isinstance(value, list):  # no number, or the raw repeats
                continue
            if key in schema.TIMING_KEYS or key in schema.SIZE_KEYS:  # fixed columns
                continue
            if key not in head:
                missing.append((stem, title, key))
        if schema.size_of(row):
            assert "size" in head
    assert not missing
    assert "n/a" not in md
    assert "No module of this run declared ratios" in md


def test_readme_section_cites_the_run_and_its_spread(tmp_path):
    run = build(
        tmp_path,
        {"step": _step_module()},
        started="2026-12-01T10:00:00",
        command="python -m benchmarks",
    )
    readme = run["readme"]
    assert "From the run of 2026-12-01 10:00 (`python -m benchmarks`" in readme
    head = table_after(readme, "## Performance")
    assert cells(head[0])[:4] == ["comparison", "measured", "IQR of the ratio", "n"]
    assert cells(head[2])[:4] == ["mine / theirs", "0.50x", "0.50–0.50x", "5/5"]
    assert re.search(r"\[`[^`]*results\.json`\]", readme)
    assert "--compare" in readme


def test_headlines_cite_the_benchmark_module_not_who_set_the_goal(tmp_path):
    """The README's last column names the file that measured the ratio (where its method and
    numbers are documented), not the tracker issue that set the goal (``source``)."""
    run = build(tmp_path, {"step": _step_module()})
    for md, title in ((run["readme"], "## Performance"), (run["report"], "## Headline ratios")):
        head = table_after(md, title)
        assert cells(head[0])[-1] == "benchmark"
        assert cells(head[2])[-1] == "`benchmarks/bench_step.py`"
        assert "#1" not in md
    assert report.benchmark_file("scaling_bpe") == "benchmarks/scaling.py"
    assert (
        report.benchmark_file("mine", bench_dir="/home/u/my_benches") == "my_benches/bench_mine.py"
    )
    assert report.benchmark_file(None) == "–"


# ---- --compare --------------------------------------------------------------------------------
def _run(rows_by_section: dict, quick=False) -> dict:
    return {
        "run": {"quick": quick, "command": "python -m benchmarks"},
        "environment": {"cpu": "X", "versions": {"numpy": "2"}},
        "modules": {"m": payload("m", rows_by_section)},
    }


def test_compare_flags_changes_beyond_the_noise_and_lists_unmatched_rows():
    base = [1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.0]
    old = _run({"s": [
        timed("same", base, d=1), timed("slower", base, d=1), timed("gone", base, d=1),
        timed("once", [1.0], d=1), timed("same", base, d=2)]})  # fmt: skip
    new = _run({"s": [
        timed("same", [t * 1.001 for t in base[::-1]], d=1),
        timed("slower", [t * 1.5 for t in base], d=1),
        timed("added", base, d=1), timed("once", [2.0], d=1),
        timed("same", base, d=3)]})  # fmt: skip
    cmp = compare_runs.compare_runs(old, new)
    assert [c.key[2] for c in cmp.changed] == ["slower"]
    assert cmp.changed[0].ratio == pytest.approx(1.5) and cmp.changed[0].q < 0.05
    assert [c.key[2] for c in cmp.unchanged] == ["same"]
    assert [c.key[2] for c in cmp.untested] == ["once"]
    assert {(k[2], k[3]) for k in cmp.only_old} == {("gone", "d=1"), ("same", "d=2")}
    assert {(k[2], k[3]) for k in cmp.only_new} == {("added", "d=1"), ("same", "d=3")}
    md = compare_runs.markdown(cmp, old, new, ("old.json", "new.json"))
    assert "## Beyond the noise: 1 rows (1 slower, 0 faster)" in md
    assert "| m | s | slower | d=1 | 1 s (8) | 1.5 s (8) | 1.500x |" in md
    assert "| m | s | same | d=1 |" in md  # every common row's ratio is reported
    assert "- m › s › gone [d=1]" in md and "## Only in the new run: 2 rows" in md


def test_compare_says_when_repeats_are_too_few_to_see_anything():
    old = _run({"s": [timed("a", [1.0, 1.0, 1.0])]})
    new = _run({"s": [timed("a", [9.0, 9.0, 9.0])]}, quick=True)
    cmp = compare_runs.compare_runs(old, new)
    assert not cmp.changed and cmp.blind == 1  # 9x slower, yet p >= 0.1 with 3 vs 3
    md = compare_runs.markdown(cmp, old, new, ("a", "b"))
    assert "too few repeats for any difference to reach p < 0.05" in md
    assert "one run is QUICK and the other full" in md


def test_compare_reads_the_stored_run_written_before_this_format():
    old = compare_runs.load_run(OLD_RUN)
    cmp = compare_runs.compare_runs(old, old)
    assert not cmp.changed and not cmp.only_old and not cmp.only_new
    assert len(cmp.unchanged) > 400  # every timed row of the stored run matched itself
    assert all(c.ratio == 1.0 for c in cmp.unchanged)


def test_compare_refuses_what_is_not_a_results_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        compare_runs.load_run(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"not a readable results\.json"):
        compare_runs.load_run(bad)
    bad.write_text(json.dumps({"benchmark": "scatter", "sections": {}}))  # a module's file
    with pytest.raises(ValueError, match="no 'modules'"):
        compare_runs.load_run(bad)
    assert compare_runs.main([str(bad), str(OLD_RUN)]) == 2
    with pytest.raises(ValueError, match="alpha"):
        compare_runs.compare_runs(_run({}), _run({}), alpha=1.5)
