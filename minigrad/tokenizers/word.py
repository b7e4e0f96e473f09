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

``tok.save(path)`` / ``WordTokenizer.load(path)`` keep the vocabulary in a small versioned text
file, one word per line (``minigrad.tokenizers.word_io``).
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Sequence

from minigrad.tokenizers import word_io
from minigrad.tokenizers.word_io import WordFileError

__all__ = ["UnknownWordError", "WordFileError", "WordTokenizer", "check_word"]


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
        """Write the vocabulary to ``path``, atomically (format in ``tokenizers.word_io``)."""
        word_io.save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WordTokenizer:
        """Read a file written by :meth:`save`; a damaged file raises ``ValueError``."""
        return cls(word_io.load_words(path))

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
        words = []
        for idx in ids:
            try:
                if isinstance(idx, bool):
                    raise TypeError
                i = operator.index(idx)
            except TypeError:
                raise UnknownWordError(f"token ids must be ints, got {idx!r}") from None
            if not 0 <= i < len(self.id_to_token):
                raise UnknownWordError(f"unknown token id {i}: ids are 0..{self.n_vocab - 1}")
            words.append(self.id_to_token[i])
        return " ".join(words)

    def __repr__(self) -> str:
        return f"WordTokenizer(n_vocab={self.n_vocab})"
