"""WordTokenizer.save / WordTokenizer.load: round trips, damaged files, atomic writes."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad.atomic
from minigrad.tokenizers import BPETokenizer, UnknownWordError, WordTokenizer
from minigrad.tokenizers import word as wio

tmp_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# Characters that end lines or split words somewhere (every one is whitespace to str.split),
# and characters that are not whitespace but look dangerous in a line-based file.
SEPARATORS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u3000"
TRICKY = '\x00\x07\x1b\ufeff\u200b\u200d\\"{}#é中😀\U0010ffff'
HEADER_LIKE = ["minigrad-words", "1", "2", '{"n_words":', "0}", "minigrad-bpe"]


@st.composite
def texts(draw) -> str:
    """Random text: words from a small pool (so words repeat), joined by random separators."""
    # no lone surrogates: UTF-8 cannot hold them and save refuses them (tested on its own below);
    # st.characters() draws them, so a round trip over it failed whenever one came up
    chars = st.characters(exclude_categories=("Cs",)) | st.sampled_from(TRICKY)
    words = st.text(chars, min_size=1, max_size=8) | st.sampled_from(HEADER_LIKE)
    pool = draw(st.lists(words, min_size=1, max_size=30))
    text = draw(st.sampled_from(["", *SEPARATORS]))
    for _ in range(draw(st.integers(0, 60))):
        text += draw(st.sampled_from(pool)) + draw(
            st.text(st.sampled_from(SEPARATORS), min_size=1, max_size=3)
        )
    return text


def assert_same_tokenizer(back: WordTokenizer, tok: WordTokenizer) -> None:
    assert back.id_to_token == tok.id_to_token
    assert back.token_to_id == tok.token_to_id
    assert back.decode(range(tok.n_vocab)) == tok.decode(range(tok.n_vocab))


@given(text=texts(), probe=texts())
@tmp_ok
def test_round_trip_property(tmp_path, text, probe):
    tok = WordTokenizer.from_text(text)
    path = tmp_path / "vocab.words"
    tok.save(path)
    back = WordTokenizer.load(path)
    assert_same_tokenizer(back, tok)
    assert back.encode(text) == tok.encode(text)
    try:
        expected = tok.encode(probe)
    except UnknownWordError:
        with pytest.raises(UnknownWordError):
            back.encode(probe)
    else:
        assert back.encode(probe) == expected
    assert wio.dumps(back) == path.read_text(encoding="utf-8")  # same tokenizer, same file
    assert os.listdir(tmp_path) == ["vocab.words"]  # no temporary file left behind


@given(text=texts(), cut=st.integers(min_value=0))
def test_every_proper_prefix_is_rejected(text, cut):
    data = wio.dumps(WordTokenizer.from_text(text)).encode("utf-8")
    cut %= len(data)  # any proper prefix, cut anywhere, even inside a UTF-8 character
    try:
        prefix = data[:cut].decode("utf-8")
    except UnicodeDecodeError:
        return  # load_words reports this as invalid UTF-8 (tested below)
    with pytest.raises(wio.WordFileError):
        wio.loads(prefix)


@pytest.mark.nojit
def test_file_is_readable_and_deterministic(tmp_path):
    tok = WordTokenizer.from_text("I love AI\nI love 中文")
    tok.save(tmp_path / "a")
    assert (tmp_path / "a").read_bytes() == (
        'minigrad-words 1\n{"n_words": 4}\nI\nlove\nAI\n中文\n'.encode()
    )
    WordTokenizer.load(tmp_path / "a").save(str(tmp_path / "b"))
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_empty_vocabulary_round_trips(tmp_path):
    WordTokenizer().save(tmp_path / "empty")
    assert (tmp_path / "empty").read_text() == 'minigrad-words 1\n{"n_words": 0}\n'
    assert WordTokenizer.load(tmp_path / "empty").n_vocab == 0


# ---- damaged files: one ValueError (WordFileError), one line, saying what is wrong ----------
GOOD = 'minigrad-words 1\n{"n_words": 3}\nI\nlove\nAI\n'


def load_error(tmp_path, data: bytes | str) -> str:
    path = tmp_path / "bad"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    with pytest.raises(wio.WordFileError) as info:
        WordTokenizer.load(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such word-tokenizer file") as info:
        WordTokenizer.load(tmp_path / "nope")
    assert "\n" not in str(info.value) and info.value.__cause__ is None


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("hello world\n", "not a minigrad word-tokenizer file"),
        ("minigrad-words\n{}\n", "not a minigrad word-tokenizer file"),
        ('{"words": ["I"]}', "not a minigrad word-tokenizer file"),
        ("\ufeff" + GOOD, "not a minigrad word-tokenizer file"),
    ],
)
def test_wrong_format(tmp_path, data, match):
    assert match in load_error(tmp_path, data)


def test_bpe_file_names_the_right_loader(tmp_path):
    BPETokenizer({bytes([i]): i for i in range(256)}).save(tmp_path / "bpe")
    with pytest.raises(wio.WordFileError, match=r"use BPETokenizer\.load"):
        WordTokenizer.load(tmp_path / "bpe")


@pytest.mark.parametrize("version", ["2", "0", "1.0", "x"])
def test_unsupported_version(tmp_path, version):
    message = load_error(tmp_path, GOOD.replace(" 1\n", f" {version}\n", 1))
    assert f"version {version!r} is not supported" in message


def test_invalid_utf8(tmp_path):
    data = GOOD.encode().replace(b"love", b"lo\xffve")
    assert "line 4: not UTF-8 text (invalid start byte at byte" in load_error(tmp_path, data)
    # an encoded surrogate is not UTF-8 either (Python's strict decoder agrees)
    assert "not UTF-8" in load_error(tmp_path, GOOD.encode().replace(b"AI", b"\xed\xa0\x80"))


def test_duplicate_words(tmp_path):
    message = load_error(tmp_path, GOOD.replace("AI\n", "I\n"))
    assert "line 5: duplicate word 'I' (already on line 3)" in message


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("", "truncated: empty file"),
        ("minigrad-wor", "truncated: only 'minigrad-wor'"),
        ("minigrad-words 1\n", "header on line 2 is missing"),
        ('minigrad-words 1\n{"n_words": 3', "header on line 2 is missing"),
        (GOOD[:-1], "truncated: line 5 has no final newline"),
        (GOOD[:-2], "truncated: line 5 has no final newline"),  # half a word
        (GOOD[: -len("AI\n")], "header announces 3 words, the file holds 2"),
        (GOOD + "robots\n", "header announces 3 words, the file holds 4"),
    ],
)
def test_truncated_or_padded(tmp_path, data, match):
    assert match in load_error(tmp_path, data)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (GOOD.replace('{"n_words": 3}', '{"n_words": 3'), "line 2 is not a valid JSON header"),
        (GOOD.replace('{"n_words": 3}', "[" * 100_000), "line 2 is not a valid JSON header"),
        (GOOD.replace('{"n_words": 3}', '{"n_words": 1' + "0" * 5000 + "}"), "valid JSON"),
        (GOOD.replace('{"n_words": 3}', "[3]"), 'line 2 should be {"n_words": <count>}'),
        (GOOD.replace('"n_words": 3', '"n_words": -1'), "line 2 should be"),
        (GOOD.replace('"n_words": 3', '"n_words": 3.0'), "line 2 should be"),
        (GOOD.replace('"n_words": 3', '"n_words": true'), "line 2 should be"),
        (GOOD.replace('"n_words": 3', '"n_words": 3, "extra": 1'), "line 2 should be"),
        (GOOD.replace("love\n", "\n"), "line 4: empty line"),
        (GOOD.replace("love\n", "lo ve\n"), "line 4: word 'lo ve' contains whitespace"),
        (GOOD.replace("love\n", "love\x1c\n"), "line 4: word 'love\\x1c' contains whitespace"),
        (GOOD.replace("\n", "\r\n"), "line 1: carriage return"),
        (GOOD.replace("AI\n", "AI\r\n"), "line 5: carriage return"),
    ],
)
def test_other_corruption(tmp_path, data, match):
    assert match in load_error(tmp_path, data)


# ---- what save refuses to write ---------------------------------------------------------------
def test_save_rejects_a_lone_surrogate(tmp_path):
    tok = WordTokenizer.from_text("ok bad\udc80word")  # e.g. text read with surrogateescape
    with pytest.raises(ValueError, match=r"word 1 .* lone surrogate U\+DC80"):
        tok.save(tmp_path / "v")
    assert os.listdir(tmp_path) == []


def test_save_rejects_an_inconsistent_tokenizer(tmp_path):
    tok = WordTokenizer(["a", "b"])
    tok.id_to_token.append("c")  # edited by hand, token_to_id not updated
    with pytest.raises(ValueError, match="inconsistent tokenizer"):
        tok.save(tmp_path / "v")
    tok = WordTokenizer(["a", "b"])
    tok.id_to_token[1] = "two words"
    with pytest.raises(ValueError, match="without whitespace"):
        tok.save(tmp_path / "v")
    assert os.listdir(tmp_path) == []


# ---- atomic writes: a failed save leaves the old file, whole, and no debris -------------------
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch, error):
    path = tmp_path / "vocab.words"
    WordTokenizer.from_text("old words").save(path)
    before = path.read_bytes()

    def crash(src, dst):
        raise error

    monkeypatch.setattr(minigrad.atomic.os, "replace", crash)
    with pytest.raises(type(error)):
        WordTokenizer.from_text("new and longer list of words").save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["vocab.words"]  # the temporary file is gone


def test_failed_save_never_touches_the_old_file(tmp_path):
    path = tmp_path / "vocab.words"
    WordTokenizer.from_text("old words").save(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="lone surrogate"):
        WordTokenizer.from_text("\ud800").save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["vocab.words"]
