"""The data side of ``minigrad train``: corpus -> tokenizer -> ids, cut into train / held out.

By default the corpus is the built-in synthetic language (``minigrad.data``), whose words have
ground-truth classes, so the run can report *nearest-neighbour class agreement*; ``--corpus``
reads a UTF-8 file instead and trains a BPE tokenizer on it (or takes ``--tokenizer``).  A
resumed run passes the tokenizer saved with it, so nothing is trained twice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from minigrad.commands.common import (
    CLIError,
    Tokenizer,
    echo,
    load_bpe,
    read_text_file,
    token_text,
    visible,
    word_rows,
)
from minigrad.data import split_ids, synthetic_corpus
from minigrad.tokenizers import BPETokenizer, WordTokenizer


@dataclass
class Prepared:
    """The data side of a run: tokenizer, id streams and (when known) the word classes."""

    tokenizer: Tokenizer
    train_ids: np.ndarray
    held_out_ids: np.ndarray
    word_classes: dict[str, str] | None
    source: str


def prepare_data(
    s: object, log: Callable[[str], None] = echo, tokenizer: Tokenizer | None = None
) -> Prepared:
    """Tokenise the corpus (built-in or ``--corpus``) and cut it into train / held-out ids.

    ``tokenizer``: use this one (a resumed run's) instead of building or training one.
    """
    word_classes = None
    if s.corpus is None:
        corpus = synthetic_corpus(s.sentences, seed=s.seed)
        text, source = corpus.text, f"built-in synthetic corpus ({s.sentences} sentences)"
        word_classes = corpus.word_classes()
        if tokenizer is None:
            tokenizer = (
                load_bpe(s.tokenizer)
                if s.tokenizer
                else WordTokenizer(corpus.language.vocabulary())
            )
    else:
        text, source = read_text_file(s.corpus), f"corpus file {s.corpus}"
        if tokenizer is None and s.tokenizer:
            tokenizer = load_bpe(s.tokenizer)
        elif tokenizer is None:
            log(f"training a BPE tokenizer on {s.corpus} (vocab size {s.vocab_size}) ...")
            try:
                tokenizer = BPETokenizer.train(
                    text, s.vocab_size, show_progress=sys.stderr.isatty()
                )
            except ValueError as exc:
                raise CLIError(f"cannot train a tokenizer on {s.corpus!r}: {exc}") from None
    ids = np.asarray(
        tokenizer.encode(text)
        if isinstance(tokenizer, WordTokenizer)
        else tokenizer.encode_ordinary(text),
        dtype=np.int64,
    )
    need = 2 * (s.context + 1) * 10
    if len(ids) < need:
        raise CLIError(f"{source} is too small: {len(ids)} tokens, need at least {need}")
    train_ids, held_out_ids = split_ids(ids, held_out=0.1)
    return Prepared(tokenizer, train_ids, held_out_ids, word_classes, source)


def token_byte_lengths(tokenizer: Tokenizer) -> np.ndarray:
    """UTF-8 bytes of text each token stands for (for bits per byte).

    A BPE token covers its bytes exactly; a word token stands for the word and the one space
    or newline that separates it from the next (which the word tokenizer drops).
    """
    if isinstance(tokenizer, WordTokenizer):
        return np.array([len(w.encode("utf-8")) + 1 for w in tokenizer.id_to_token], np.int64)
    out = np.zeros(tokenizer.n_vocab, np.int64)
    for i in range(tokenizer.n_vocab):
        try:
            out[i] = len(tokenizer.decode_single_token_bytes(i))
        except (KeyError, ValueError):
            out[i] = 0  # an id no token has (a gap before the special tokens)
    return out


def embedding_view(
    prep: Prepared, train_ids: np.ndarray
) -> tuple[list[str], list[int], list[str] | None]:
    """Which rows to measure and plot: the classified words, or the most frequent tokens."""
    if prep.word_classes is not None:
        rows = word_rows(prep.tokenizer, list(prep.word_classes))
        words = sorted(rows, key=rows.__getitem__)
        if len(words) >= 2:
            return words, [rows[w] for w in words], [prep.word_classes[w] for w in words]
    counts = np.bincount(train_ids, minlength=prep.tokenizer.n_vocab)
    top = [int(i) for i in np.argsort(-counts, kind="stable")[:60] if counts[i] > 0]
    return [visible(token_text(prep.tokenizer, i)) for i in top], top, None
