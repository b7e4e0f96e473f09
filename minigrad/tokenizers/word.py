"""The seed's toy tokenizer: one token per whitespace-separated word.

Tokenization in its simplest form, before bytes and merges::

    >>> tok = WordTokenizer.from_text("I love AI")
    >>> tok.tokenize("I love AI")
    ['I', 'love', 'AI']
    >>> tok.encode("I love AI")
    [0, 1, 2]
    >>> tok.decode([2, 1, 0])
    'AI love I'

Ids are given in order of first appearance.  What it leaves out, and why BPE exists: a word
never seen while building the vocabulary cannot be encoded at all (``KeyError``), punctuation
sticks to words ("AI!" is a different word from "AI"), and decoding cannot restore the original
spacing (words are joined by one space).

``tok.save(path)`` / ``WordTokenizer.load(path)`` keep the vocabulary in minigrad's small text
format (``fileformat``), UTF-8, version 1::

    minigrad-words 1
    {"n_words": 3}
    I
    love
    AI

The header gives the number of words; then one word per line, in id order (the word on line
``k`` has id ``k - 3``).  Why plain lines are enough: a word never contains whitespace
(``str.split`` made it), and every character that could end a line (``\n``, ``\r``,
``\x1c``-``\x1e``, ``\x85``, U+2028, U+2029, ...) is whitespace to Python, so no word needs
escaping, and the file reads like the vocabulary it holds.  The one thing a Python ``str`` can
hold and UTF-8 cannot is a lone surrogate (``"\ud800"``, e.g. from text decoded with
``errors="surrogateescape"``); ``save`` refuses such a word with a ``ValueError`` naming it
rather than write a file that cannot be read back.  Why the count: a file cut short after a
whole line would otherwise load as a smaller, valid vocabulary.  With the count, and the rule
that the file ends with a newline, every proper prefix of a saved file is rejected.  Whatever is
wrong with a file, ``load`` raises :class:`WordFileError` (a ``ValueError``) saying which line;
a missing file raises ``FileNotFoundError``, as ``open`` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from minigrad.atomic import atomic_write_text
from minigrad.tokenizers import fileformat
from minigrad.tokenizers.decoding import id_list

__all__ = ["UnknownWordError", "WordFileError", "WordTokenizer", "check_word"]

FORMAT_NAME = "minigrad-words"
FORMAT_VERSION = 1


class WordFileError(ValueError):
    """A word-tokenizer file that is damaged, of another format, or of another version."""


class UnknownWordError(KeyError, ValueError):
    """A word or id the vocabulary does not have (both a ``KeyError`` and a ``ValueError``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def check_word(word: object) -> None:
    """Raise ``ValueError`` unless ``word`` is something ``tokenize`` can produce."""
    if not isinstance(word, str) or not word or len(word.split()) != 1 or word != word.strip():
        raise ValueError(f"a word must be a non-empty str without whitespace, got {word!r}")


class WordTokenizer:
    """Whitespace-split words, ids by first appearance.

    ``WordTokenizer(["I", "love", "AI"])`` builds the vocabulary from a word list (duplicates
    keep their first id); ``WordTokenizer.from_text(text)`` from a text.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        if isinstance(words, str):
            raise TypeError("WordTokenizer takes a list of words; for a text use from_text()")
        self.token_to_id: dict[str, int] = {}
        self.id_to_token: list[str] = []
        self.add_words(words)

    @classmethod
    def from_text(cls, text: str) -> WordTokenizer:
        """Build the vocabulary from the words of ``text``, in order of first appearance."""
        return cls(cls.tokenize(text))

    @staticmethod
    def tokenize(text: str) -> list[str]:
        """Split on runs of whitespace: ``"I  love\\nAI" -> ["I", "love", "AI"]``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return text.split()

    def add_words(self, words: Iterable[str]) -> None:
        """Give each new word the next id; known words keep theirs."""
        for word in words:
            check_word(word)
            if word not in self.token_to_id:
                self.token_to_id[word] = len(self.id_to_token)
                self.id_to_token.append(word)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocabulary to ``path``, atomically (format in the module docstring)."""
        atomic_write_text(path, dumps(self))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WordTokenizer:
        """Read a file written by :meth:`save`; a damaged file raises ``WordFileError``."""
        return cls(load_words(path))

    @property
    def n_vocab(self) -> int:
        return len(self.id_to_token)

    def __len__(self) -> int:
        return len(self.id_to_token)

    def encode(self, text: str) -> list[int]:
        """The id of each word; an unknown word raises ``KeyError`` naming it."""
        ids = []
        for word in self.tokenize(text):
            idx = self.token_to_id.get(word)
            if idx is None:
                raise UnknownWordError(
                    f"unknown word {word!r}: not in the vocabulary of {self.n_vocab} words "
                    "(add it with add_words, or use a BPETokenizer, which has no unknown words)"
                )
            ids.append(idx)
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        """The words of ``ids`` joined by single spaces; an unknown id raises ``KeyError``."""
        try:
            ids = id_list(ids)
        except TypeError as exc:
            raise UnknownWordError(str(exc)) from None
        n = len(self.id_to_token)
        bad = next((i for i in ids if not 0 <= i < n), None)
        if bad is not None:
            raise UnknownWordError(f"unknown token id {bad}: ids are 0..{n - 1}")
        return " ".join([self.id_to_token[i] for i in ids])

    def __repr__(self) -> str:
        return f"WordTokenizer(n_vocab={self.n_vocab})"


def dumps(tok: WordTokenizer) -> str:
    """The file contents ``save`` writes; a word the file cannot hold raises ``ValueError``."""
    words = tok.id_to_token
    for i, word in enumerate(words):
        check_word(word)
        try:
            word.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"cannot save word {i} ({word!r}): it holds the lone surrogate "
                f"U+{ord(word[exc.start]):04X}, which UTF-8 cannot store"
            ) from None
        if tok.token_to_id.get(word) != i:
            raise ValueError(
                f"inconsistent tokenizer: id_to_token[{i}] is {word!r}, but token_to_id gives "
                f"it id {tok.token_to_id.get(word)!r}"
            )
    if len(tok.token_to_id) != len(words):
        raise ValueError(
            f"inconsistent tokenizer: token_to_id has {len(tok.token_to_id)} words, "
            f"id_to_token {len(words)}"
        )
    return fileformat.dumps(FORMAT_NAME, FORMAT_VERSION, {"n_words": len(words)}, words)


def loads(text: str, source: str = "<string>") -> list[str]:
    """The words, in id order, of a file's contents; anything wrong raises ``WordFileError``."""
    header, words = fileformat.parse(text, FORMAT_NAME, FORMAT_VERSION, source, error=WordFileError)
    n = header.get("n_words") if isinstance(header, dict) else None
    if not (isinstance(header, dict) and set(header) == {"n_words"} and type(n) is int and n >= 0):
        line = text.split("\n", 2)[1]
        raise WordFileError(f'{source}: line 2 should be {{"n_words": <count>}}, got {line[:80]!r}')
    fileformat.check_count(words, n, "words", source, WordFileError)
    seen: dict[str, int] = {}
    for i, word in enumerate(words):
        try:
            check_word(word)
        except ValueError:
            what = f"word {word[:80]!r} contains whitespace" if word else "empty line"
            raise WordFileError(f"{source}, line {i + 3}: {what}") from None
        if word in seen:
            raise WordFileError(
                f"{source}, line {i + 3}: duplicate word {word[:80]!r} "
                f"(already on line {seen[word]})"
            )
        seen[word] = i + 3
    return words


def load_words(path: str | os.PathLike[str]) -> list[str]:
    """The words, in id order, of a file written by ``save``."""
    what = fileformat.FORMATS[FORMAT_NAME][0]
    return loads(fileformat.read_text(path, what, WordFileError), source=str(path))
