"""Counting on Dask: a real LocalCluster (2 worker processes), no mocks.

The property: the tokenizer file written from Dask counts is byte for byte the file written by
training in one process on the same files, whatever the block size cuts the files into.  One
cluster serves the whole module (starting one costs a second or two); the command line is run
both against it (``--dask tcp://...``, a remote scheduler) and with ``--dask local``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from minigrad.cli import main
from minigrad.tokenizers import BPETokenizer, count_chunks
from tests.cli.support import assert_one_line_error, run_cli
from tests.tokenizers.bpe_support import MULTILINGUAL
from tests.tokenizers.test_trainer import SPECIAL, text_st

pytest.importorskip("distributed", reason="needs the scale extra (dask[distributed])")

from minigrad.tokenizers.dask import (
    PARTITION_BYTES,
    WORKER_MALLOC,
    count_files,
    local_client,
    partition_ranges,
    train_files,
)


@pytest.fixture(scope="module")
def client():
    with local_client(n_workers=2) as c:
        assert len(c.scheduler_info()["workers"]) == 2
        yield c


def _write(folder: Path, texts: list[str]) -> list[Path]:
    paths = []
    for i, t in enumerate(texts):
        p = folder / f"{i}.txt"
        p.write_text(t, encoding="utf-8", newline="")
        paths.append(p)
    return paths


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(text_st, min_size=1, max_size=3),
    blocksize=st.integers(1, 40),
    partition_bytes=st.one_of(st.just(PARTITION_BYTES), st.integers(1, 100)),
    pattern=st.sampled_from(["gpt2", "gpt4", "o200k", None]),
)
@example(texts=[f"ab cd{SPECIAL} ef\ngh", "é é\nb"], blocksize=1, partition_bytes=PARTITION_BYTES,
         pattern="gpt4")  # fmt: skip
@example(texts=["abc " * 30] * 3, blocksize=3, partition_bytes=2, pattern="gpt2")  # a deep tree
def test_dask_counts_equal_single_process_counts(client, tmp_path_factory, texts, blocksize,
                                                 partition_bytes, pattern):  # fmt: skip
    paths = _write(tmp_path_factory.mktemp("d"), [t + " the cat\n" + t for t in texts])
    want = count_chunks(paths, pattern, (SPECIAL,))
    got = count_files(
        paths,
        client=client,
        pattern=pattern,
        special_tokens=(SPECIAL,),
        blocksize=blocksize,
        partition_bytes=partition_bytes,
    )
    assert got == want


ranges_st = st.lists(
    st.tuples(st.just("f"), st.integers(0, 1000), st.integers(1, 1000)).map(
        lambda t: (t[0], t[1], t[1] + t[2])
    ),
    min_size=1,
    max_size=40,
)


@given(ranges=ranges_st, n_slots=st.integers(1, 9), partition_bytes=st.integers(1, 5000))
def test_partitions_are_runs_of_the_ranges_in_order_and_about_equal(ranges, n_slots,
                                                                    partition_bytes):  # fmt: skip
    groups = partition_ranges(ranges, n_slots, partition_bytes)
    assert [r for g in groups for r in g] == ranges  # each range once, in order
    assert all(groups)
    sizes = [sum(e - s for _, s, e in g) for g in groups]
    largest = max(e - s for _, s, e in ranges)
    total = sum(sizes)
    # as many runs as the cluster has threads (or ranges), more only to stay under the cap
    rounds = -(-total // (n_slots * partition_bytes))
    assert len(groups) == min(len(ranges), n_slots * rounds)
    # each cut at the boundary nearest its share: a run misses its share by under one range
    # at each end, unless runs were kept from being empty (then every run is one range)
    share = total / len(groups)
    if len(groups) < len(ranges):
        assert all(abs(size - share) <= largest for size in sizes), (sizes, share, largest)


def test_counts_file_from_dask_is_byte_identical(client, tmp_path):
    # a ChunkCounts lists chunks in order of first appearance: the runs keep the files' order
    paths = _write(tmp_path, [MULTILINGUAL * 3, "zz top " * 50 + MULTILINGUAL[::-1], "x y"])
    count_chunks(paths).save(tmp_path / "single.bin")
    count_files(paths, client=client, blocksize=64).save(tmp_path / "dask.bin")
    assert (tmp_path / "dask.bin").read_bytes() == (tmp_path / "single.bin").read_bytes()


def test_partition_bytes_must_be_a_positive_int():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="partition_bytes"):
            partition_ranges([("f", 0, 10)], 2, bad)


def test_local_workers_get_the_malloc_settings(client):
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 before it spawns a worker, which turns off
    # glibc's adaptive mmap threshold (a worker counted ~35% slower per byte); local_client
    # replaces it through the nanny's pre-spawn environment, the only place glibc still sees it
    got = client.run(lambda: {k: os.environ.get(k) for k in WORKER_MALLOC})
    assert len(got) == 2
    for env in got.values():
        assert env == {k: str(v) for k, v in WORKER_MALLOC.items()}


def test_tokenizer_file_is_byte_identical(client, tmp_path):
    here = Path(__file__).read_text(encoding="utf-8")
    texts = [MULTILINGUAL * 20, here * 3 + SPECIAL + MULTILINGUAL, "x"]
    paths = _write(tmp_path, texts)
    kw = dict(special_tokens=[SPECIAL], min_frequency=2)
    single = BPETokenizer.train(paths, 700, **kw)
    dask = train_files(paths, 700, client=client, blocksize=4096, partition_bytes=9000, **kw)
    single.save(tmp_path / "single.mgbpe")
    dask.save(tmp_path / "dask.mgbpe")
    assert (tmp_path / "dask.mgbpe").read_bytes() == (tmp_path / "single.mgbpe").read_bytes()
    assert dask.n_vocab == 700


def test_cli_against_a_running_scheduler(client, tmp_path, capsys):
    paths = _write(tmp_path, [MULTILINGUAL * 10, MULTILINGUAL[::-1] * 5])
    files = [str(p) for p in paths]
    one, two, three = (str(tmp_path / n) for n in ("one.mgbpe", "two.mgbpe", "c.bin"))
    address = client.scheduler.address
    assert main(["tokenizer", "train", *files, "--vocab-size", "400", "-o", one, "-q"]) == 0
    assert (
        main(["tokenizer", "train", *files, "--vocab-size", "400", "-o", two, "-q",
              "--dask", address]) == 0
    )  # fmt: skip
    assert Path(one).read_bytes() == Path(two).read_bytes()
    assert main(["tokenizer", "count", *files, "-o", three, "--dask", address]) == 0
    assert "distinct" in capsys.readouterr().out
    os.remove(two)
    assert main(["tokenizer", "train", "--counts", three, "--vocab-size", "400", "-o", two]) == 0
    assert Path(one).read_bytes() == Path(two).read_bytes()


def test_cli_dask_local(tmp_path):
    """``--dask local`` starts (and stops) a LocalCluster of its own."""
    (tmp_path / "a.txt").write_text(MULTILINGUAL * 10, encoding="utf-8")
    r = run_cli("tokenizer", "train", "a.txt", "--vocab-size", "300", "-o", "d.mgbpe", "-q",
                "--dask", "local", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    single = BPETokenizer.train([tmp_path / "a.txt"], 300)
    assert BPETokenizer.load(tmp_path / "d.mgbpe") == single


def test_errors_come_back_from_the_workers(client, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine text here\n" * 100 + b"\xff\xfe broken")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        count_files([bad], client=client, blocksize=64)
    only_special = tmp_path / "s.txt"
    only_special.write_text(SPECIAL * 3, encoding="utf-8")
    with pytest.raises(ValueError, match="no text"):
        count_files([only_special], client=client, special_tokens=[SPECIAL])
    with pytest.raises(FileNotFoundError):
        count_files([tmp_path / "missing.txt"], client=client)
    with pytest.raises(ValueError, match="blocksize"):
        count_files([bad], client=client, blocksize=0)


def test_cli_refuses_max_distinct_with_dask(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("the cat", encoding="utf-8")
    args = ["tokenizer", "train", str(tmp_path / "a.txt"), "--dask", "local"]
    assert main([*args, "--max-distinct", "10", "-o", str(tmp_path / "t.mgbpe")]) == 2
    assert_one_line_error(capsys.readouterr().err, "--max-distinct")


def test_readme_cluster_example_runs(tmp_path, monkeypatch):
    """The README's "Training on a cluster" example, verbatim, on a small corpus folder."""
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Training on a cluster", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "corpus").mkdir()
    for i in range(3):
        text = MULTILINGUAL[i * 100 :] * 10 + Path(__file__).read_text(encoding="utf-8")
        (tmp_path / "corpus" / f"{i}.txt").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(code, "README", "exec"), ns)
    files = sorted(Path("corpus").glob("*.txt"))
    BPETokenizer.train(files, 1000).save("single.mgbpe")
    assert Path("single.mgbpe").read_bytes() == Path("tok.mgbpe").read_bytes()
