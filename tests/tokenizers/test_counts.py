"""Chunk counts: training from counts equals training from text, counts add up, files, errors.

The Dask side (counting on a real LocalCluster) is in ``test_dask.py``; here the byte ranges it
counts are checked in one process.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minigrad.tokenizers import BPETokenizer, ChunkCounts, count_chunks
from minigrad.tokenizers.counts_file import HEADER
from minigrad.tokenizers.ranges import file_ranges, read_range, text_pieces
from tests.tokenizers.bpe_support import MULTILINGUAL
from tests.tokenizers.test_trainer import SPECIAL, corpus_st, text_st

PATTERNS = ["gpt2", "gpt4", "o200k", None]


def _expect_same(make_text, make_counts):
    """Both raise ValueError (an empty corpus), or both return the same."""
    try:
        want = make_text()
    except ValueError:
        with pytest.raises(ValueError):
            make_counts()
        return
    assert make_counts() == want


# ---- training from counts is training from text ---------------------------------------------
@settings(max_examples=max(60, settings.default.max_examples // 2))
@given(
    corpus=corpus_st,
    pattern=st.sampled_from(PATTERNS),
    extra=st.integers(0, 60),
    min_frequency=st.integers(0, 3),
    specials=st.sampled_from([(), (SPECIAL,)]),
)
@example(corpus="aaab aab", pattern=None, extra=3, min_frequency=1, specials=())  # a tie
@example(corpus=f"a{SPECIAL}a a{SPECIAL}", pattern="gpt2", extra=9, min_frequency=1,
         specials=(SPECIAL,))  # fmt: skip
def test_train_from_counts_equals_train(corpus, pattern, extra, min_frequency, specials):
    kw = dict(pattern=pattern, special_tokens=specials, min_frequency=min_frequency)
    n = 256 + len(specials) + extra

    def from_text():
        return BPETokenizer.train(corpus, n, **kw)

    def from_counts():
        return BPETokenizer.train_from_counts(count_chunks(corpus, pattern, specials), n, **kw)

    _expect_same(from_text, from_counts)


def test_train_from_counts_on_real_text_and_plain_mappings():
    text = MULTILINGUAL * 5
    want = BPETokenizer.train(text, 500, special_tokens=[SPECIAL])
    counts = count_chunks(text)
    got = BPETokenizer.train_from_counts(counts, 500, special_tokens=[SPECIAL])
    assert got == want
    as_str = {k.decode(): v for k, v in counts.items()}
    assert BPETokenizer.train_from_counts(as_str, 500, special_tokens=[SPECIAL]) == want
    pairs = list(counts.items())[::-1]  # order does not matter
    assert BPETokenizer.train_from_counts(iter(pairs), 500, special_tokens=[SPECIAL]) == want


def test_counts_beyond_32_bits_train_like_the_small_ones():
    """int64 all the way: counts times 2**33 (past any u32 counter) give the same merges."""
    counts = count_chunks(MULTILINGUAL * 3)
    big = {k: v << 33 for k, v in counts.items()}
    assert max(big.values()) > 2**32
    a = BPETokenizer.train_from_counts(counts, 400, min_frequency=1)
    b = BPETokenizer.train_from_counts(big, 400, min_frequency=1)
    assert a.mergeable_ranks == b.mergeable_ranks


# ---- counts add up ----------------------------------------------------------------------------
@pytest.mark.nojit
@given(docs=st.lists(text_st, min_size=1, max_size=5), pattern=st.sampled_from(PATTERNS))
def test_counts_of_documents_add_up(docs, pattern):
    """Counting documents apart and adding equals counting them together (in any order)."""
    parts = []
    for d in docs:
        try:
            parts.append(count_chunks(d, pattern, (SPECIAL,)))
        except ValueError:
            pass  # an empty document or only special tokens
    if not parts:
        with pytest.raises(ValueError):
            count_chunks(docs, pattern, (SPECIAL,))
        return
    whole = count_chunks(docs, pattern, (SPECIAL,))
    assert sum(parts[1:], parts[0]) == whole
    assert parts[-1].merge(*parts[:-1]) == whole
    assert sum(whole.values()) == whole.total() == sum(p.total() for p in parts)


@given(text=text_st, pattern=st.sampled_from(["gpt2", "gpt4", "o200k"]), block=st.integers(1, 12))
@example(text="ab cd  ef\n gh i", pattern="gpt2", block=1)
@example(text=f"x{SPECIAL} ab cd", pattern="gpt4", block=2)
@example(text="é é\nb", pattern="gpt4", block=1)  # a cut inside a 2-byte character
def test_byte_ranges_count_like_the_whole_file(tmp_path_factory, text, pattern, block):
    """The ranges Dask workers count (cut at safe points near multiples of ``block`` bytes)
    add up to the counts of the whole file."""
    path = tmp_path_factory.mktemp("r") / "f.txt"
    path.write_text(text + " é日🙂 " + text, encoding="utf-8", newline="")
    ranges = file_ranges(path, block, (SPECIAL,))
    assert ranges[0][1] == 0 and ranges[-1][2] == path.stat().st_size
    assert all(a[2] == b[1] for a, b in itertools.pairwise(ranges))  # back to back, no gaps
    _expect_same(
        lambda: count_chunks(path, pattern, (SPECIAL,)),
        lambda: count_chunks([read_range(r) for r in ranges], pattern, (SPECIAL,)),
    )


@given(text=text_st, pattern=st.sampled_from(["gpt2", "gpt4", "o200k"]), size=st.integers(1, 12))
@example(text=f"ab{SPECIAL}cd ef gh", pattern="gpt4", size=3)
def test_text_pieces_count_like_the_whole(text, pattern, size):
    """A worker counts its range in pieces cut at safe points: same counts as the whole."""
    text = text + " the cat é日 " + text
    pieces = list(text_pieces(text, size, (SPECIAL,)))
    assert "".join(pieces) == text and all(pieces)
    _expect_same(
        lambda: count_chunks(text, pattern, (SPECIAL,)),
        lambda: count_chunks(pieces, pattern, (SPECIAL,)),
    )


def test_ranges_of_a_long_file_are_cut_near_the_blocksize(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text(MULTILINGUAL * 200, encoding="utf-8")
    ranges = file_ranges(path, 10_000, ())
    assert len(ranges) >= path.stat().st_size // 10_000 - 1
    assert max(b - a for _, a, b in ranges) < 10_000 + 1_000  # a safe point comes soon
    assert count_chunks([read_range(r) for r in ranges]) == count_chunks(path)


# ---- the mapping ------------------------------------------------------------------------------
def test_mapping_view():
    c = count_chunks("the cat the hat")
    assert dict(c.items()) == {b"the": 1, b" cat": 1, b" the": 1, b" hat": 1}
    assert c["the"] == c[b"the"] == 1 and " the" in c and "dog" not in c and 3 not in c
    with pytest.raises(KeyError):
        c["dog"]
    assert len(c) == 4 and list(c) == [b"the", b" cat", b" the", b" hat"]
    assert c.pattern == "gpt4" and count_chunks("x", "cl100k_base").pattern == "gpt4"
    assert count_chunks("x", None).pattern is None
    assert "4 distinct" in repr(c)
    assert c == ChunkCounts.from_pairs({"the": 1, " cat": 1, " the": 1, " hat": 1})
    assert c != count_chunks("the cat the hat", "gpt2")  # same chunks, another pattern
    import pickle

    assert pickle.loads(pickle.dumps(c)) == c


def test_from_pairs_adds_repeats_and_drops_zeros():
    c = ChunkCounts.from_pairs([("ab", 2), (b"ab", 3), ("c", 0), (b"\xff", 1)])
    assert dict(c.items()) == {b"ab": 5, b"\xff": 1}


@pytest.mark.parametrize(
    "bad, error, match",
    [
        ({"a": -1}, ValueError, ">= 0"),
        ({"a": 1.5}, TypeError, "must be an int"),
        ({"a": True}, TypeError, "must be an int"),
        ({"a": "3"}, TypeError, "must be an int"),
        ({3: 1}, TypeError, "str or bytes"),
        ({"": 1}, ValueError, "empty"),
        ({"\ud800": 1}, ValueError, "surrogate"),
        ([("a", 1, 2)], TypeError, "pair"),
        ([5], TypeError, "pair"),
        ("abc", TypeError, "count_chunks"),
        (42, TypeError, "mapping or an iterable"),
        ({"a": 2**63}, OverflowError, "int64"),
        ({"a": 2**62, "b": 2**62}, OverflowError, "int64"),
    ],
)
def test_bad_counts(bad, error, match):
    with pytest.raises(error, match=match):
        BPETokenizer.train_from_counts(bad, 300)


def test_train_from_counts_refusals():
    c = count_chunks("the cat the hat", "gpt2")
    with pytest.raises(ValueError, match="made with pattern 'gpt2'"):
        BPETokenizer.train_from_counts(c, 300)  # the default pattern is gpt4
    want = BPETokenizer.train("the cat the hat", 300, pattern="gpt2", min_frequency=1)
    assert BPETokenizer.train_from_counts(c, 300, pattern="gpt2", min_frequency=1) == want
    with pytest.raises(ValueError, match="nothing to train"):
        BPETokenizer.train_from_counts({"a": 0}, 300)
    with pytest.raises(ValueError, match="vocab_size"):
        BPETokenizer.train_from_counts(c, 100, pattern="gpt2")
    with pytest.raises(ValueError, match="pattern"):
        c + count_chunks("the cat the hat", "gpt4")
    with pytest.raises(TypeError):
        c + {"a": 1}
    big = ChunkCounts.from_pairs({"a": 2**62})
    with pytest.raises(OverflowError, match="int64"):
        big + big


# ---- max_distinct -----------------------------------------------------------------------------
@pytest.mark.nojit
@given(text=text_st, n=st.integers(2, 12), block=st.integers(1, 8))
def test_max_distinct_bounds_the_table_and_only_undercounts(tmp_path_factory, text, n, block):
    path = tmp_path_factory.mktemp("m") / "f.txt"
    path.write_text(text * 3 + " the cat sat", encoding="utf-8", newline="")
    exact = count_chunks(path)
    pruned = count_chunks(path, max_distinct=n, block_chars=block)
    assert len(pruned) <= n
    assert all(0 < v <= exact[k] for k, v in pruned.items())  # a subset, never over
    if len(exact) <= n:
        assert pruned == exact  # nothing to prune: exact


def test_max_distinct_keeps_the_frequent_chunks(tmp_path):
    path = tmp_path / "f.txt"
    rare = " ".join(f"w{i}" for i in range(3000))
    path.write_text((" the cat" * 5000 + " " + rare + "\n") * 4, encoding="utf-8")
    exact = count_chunks(path)
    pruned = count_chunks(path, max_distinct=100, block_chars=64)
    assert len(pruned) <= 100 < len(exact)
    assert pruned[" the"] >= exact[" the"] - 5000 and pruned[" cat"] >= exact[" cat"] - 5000
    a = BPETokenizer.train_from_counts(exact, 270)
    b = BPETokenizer.train_from_counts(pruned, 270)
    assert list(a.mergeable_ranks)[256:262] == list(b.mergeable_ranks)[256:262]
    for bad, error in [(1, ValueError), (2.5, TypeError), (True, TypeError)]:
        with pytest.raises(error, match="max_distinct"):
            count_chunks("x", max_distinct=bad)
    with pytest.raises(ValueError, match="built-in pattern"):
        count_chunks("x", None, max_distinct=5)


# ---- files ------------------------------------------------------------------------------------
counts_st = st.dictionaries(
    st.binary(min_size=1, max_size=6), st.integers(1, 2**40), max_size=20
).map(lambda d: ChunkCounts.from_pairs(d, "gpt2"))


@given(counts=counts_st, pattern=st.sampled_from(["gpt4", None, r"\w+|\s+|."]))
def test_file_round_trip(tmp_path_factory, counts, pattern):
    arena, _, length, count = counts.arrays()
    table = ChunkCounts(arena, length, count, pattern)
    path = tmp_path_factory.mktemp("f") / "c.bin"
    table.save(path)
    back = ChunkCounts.load(path)
    assert back == table and back.pattern == pattern and list(back) == list(table)
    assert path.stat().st_size == HEADER.size + len((pattern or "").encode()) + 12 * len(table) + (
        len(arena)
    )


def test_save_refuses_to_overwrite_and_leaves_no_temporary(tmp_path):
    c = count_chunks("the cat")
    path = tmp_path / "c.bin"
    c.save(path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        count_chunks("a dog").save(path)
    assert ChunkCounts.load(path) == c
    d = count_chunks("a dog")
    d.save(path, overwrite=True)
    assert ChunkCounts.load(path) == d
    assert os.listdir(tmp_path) == ["c.bin"]
    with pytest.raises(FileNotFoundError):
        c.save(tmp_path / "no" / "c.bin")


def test_damaged_files_are_refused(tmp_path):
    data = count_chunks(MULTILINGUAL).to_bytes()
    assert ChunkCounts.from_bytes(data) == count_chunks(MULTILINGUAL)

    def refused(blob: bytes, match: str) -> None:
        with pytest.raises(ValueError, match=match):
            ChunkCounts.from_bytes(blob, "x.bin")

    refused(b"", "magic")
    refused(b"hello", "magic")
    refused(data[:20], "truncated")
    refused(data[:-1], "truncated")
    refused(data + b"\0", "extra bytes")
    refused(b"MGCOUNTX" + data[8:], "magic")
    refused(data[:8] + (2).to_bytes(4, "little") + data[12:], "version 2")
    refused(data[:12] + (6).to_bytes(4, "little") + data[16:], "flags")
    flipped = bytearray(data)
    flipped[-5] ^= 1
    refused(bytes(flipped), "checksum")

    def rebuilt(length, count, arena, pattern=b"gpt4", flags=0) -> bytes:
        body = pattern + np.array(length, "<u4").tobytes() + np.array(count, "<i8").tobytes()
        body += arena
        head = HEADER.pack(b"MGCOUNTS", 1, flags, len(length), len(arena), len(pattern), 0)
        return head[:-4] + zlib.crc32(body).to_bytes(4, "little") + body

    assert ChunkCounts.from_bytes(rebuilt([1, 2], [3, 4], b"abc"))[b"bc"] == 4
    refused(rebuilt([1, 2], [3, 0], b"abc"), "positive")
    refused(rebuilt([1, 1], [3, 4], b"aa"), "repeated")
    refused(rebuilt([0, 3], [3, 4], b"abc"), "empty")
    refused(rebuilt([1], [3], b"a", b"\xff"), "UTF-8")
    refused(rebuilt([1], [3], b"a", b"gpt4", flags=1), "no pattern")
    path = tmp_path / "bad.bin"
    path.write_bytes(data[:100])
    with pytest.raises(ValueError, match=r"bad\.bin"):
        ChunkCounts.load(path)


# ---- bounded memory ---------------------------------------------------------------------------
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kB is Linux's")
def test_counting_files_is_bounded_by_distinct_chunks_not_the_corpus(tmp_path):
    """Peak RSS follows the distinct chunks, not the corpus: after counting a 12 MB file,
    counting a 48 MB file of the same text barely raises the peak (a whole-corpus ``str``
    would add at least the 36 MB difference: the file is streamed in pieces instead)."""
    para = MULTILINGUAL.replace("\r", "") + "\n"
    block = para * (65536 // len(para.encode()))  # about 64 KB of text
    files = {}
    for name, mb in [("small", 1), ("mid", 12), ("big", 48)]:
        files[name] = tmp_path / f"{name}.txt"
        with open(files[name], "w", encoding="utf-8") as f:
            for _ in range(mb << 4):
                f.write(block)
    code = f"""if True:
        import resource
        from pathlib import Path
        from minigrad.tokenizers import count_chunks
        def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        a = count_chunks(Path({str(files["small"])!r}))
        b = count_chunks(Path({str(files["mid"])!r}))
        mid = peak()
        c = count_chunks(Path({str(files["big"])!r}))
        assert len(a) == len(b) == len(c) and c.total() == 4 * b.total()
        print(mid, peak())
    """
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    mid, big = map(int, run.stdout.split())
    assert files["big"].stat().st_size > 45 << 20
    assert big - mid < 12, f"peak RSS {mid} MB after 12 MB of text, {big} MB after 48 MB"


# ---- the command line ---------------------------------------------------------------------------
def test_cli_count_then_train_from_counts(tmp_path, capsys):
    from minigrad.cli import main
    from tests.cli.support import assert_one_line_error

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(MULTILINGUAL * 10, encoding="utf-8")
    b.write_text(f"more words {SPECIAL} and more\n" * 50, encoding="utf-8")
    files = [str(a), str(b)]
    counts, one, two = (str(tmp_path / n) for n in ("c.bin", "one.mgbpe", "two.mgbpe"))
    common = ["--vocab-size", "400", "--special", SPECIAL, "-q"]
    assert main(["tokenizer", "train", *files, *common, "-o", one]) == 0
    assert main(["tokenizer", "count", *files, "--special", SPECIAL, "-o", counts]) == 0
    assert ChunkCounts.load(counts) == count_chunks([a, b], "gpt4", [SPECIAL])
    assert main(["tokenizer", "train", "--counts", counts, *common, "-o", two]) == 0
    assert open(one, "rb").read() == open(two, "rb").read()
    capsys.readouterr()

    def fails(args: list[str], message: str) -> None:
        assert main(args) == 2
        assert_one_line_error(capsys.readouterr().err, message)

    fails(["tokenizer", "count", *files, "-o", counts], "--force")
    assert main(["tokenizer", "count", str(a), "-o", counts, "--force"]) == 0
    assert ChunkCounts.load(counts) == count_chunks([a])
    fails(["tokenizer", "train", "--counts", counts, "--pattern", "gpt2", "-o", two], "gpt4")
    fails(["tokenizer", "train", *files, "--counts", counts, "-o", two], "one of the two")
    fails(["tokenizer", "train", "-o", two], "one of the two")
    fails(["tokenizer", "train", "--counts", counts, "--max-distinct", "5", "-o", two], "FILE")
    fails(["tokenizer", "train", "--counts", str(tmp_path / "no.bin"), "-o", two], "not found")
    (tmp_path / "bad.bin").write_bytes(open(counts, "rb").read()[:50])
    fails(["tokenizer", "train", "--counts", str(tmp_path / "bad.bin"), "-o", two], "truncated")
    fails(["tokenizer", "count", *files, "--max-distinct", "1", "-o", str(tmp_path / "x")],
          "max_distinct")  # fmt: skip
    # --max-distinct: exact when the table never fills, pruned (and still trainable) otherwise
    exact = str(tmp_path / "exact.mgbpe")
    assert main(["tokenizer", "train", *files, *common, "--max-distinct", "100000",
                 "-o", exact]) == 0  # fmt: skip
    assert open(exact, "rb").read() == open(one, "rb").read()
    assert main(["tokenizer", "train", *files, *common, "--max-distinct", "20", "-o", two]) == 0
    assert open(two, "rb").read() != open(one, "rb").read()
