"""Shared vocabularies and texts for the BPETokenizer tests (cached per session).

The trained vocabulary comes from minigrad's trainer (``trainer.train_bpe``; the naive oracle
``naive_trainer.train_naive`` with numba's JIT off), trained for a few hundred merges on a
slice of the standard library plus a multilingual sample, so the merges cover code, Latin,
Devanagari, CJK, Arabic and emoji.
"""

from __future__ import annotations

import os
from functools import cache

from benchmarks.corpus import stdlib_corpus
from minigrad.tokenizers import BPETokenizer

SPECIALS = ("<|endoftext|>", "<|fim_prefix|>", "<|pad|>")

#: Real text in several scripts (written for these tests).
MULTILINGUAL = "\n".join(
    [
        "The quick brown fox jumps over the lazy dog. Don't panic: it's 42, isn't it?",
        "Ça coûte 3,50 € — naïve façade, crème brûlée, Straße, Ångström, smørrebrød.",
        "हिन्दी भारत की राजभाषा है। नमस्ते, आप कैसे हैं? किताबें पढ़ना अच्छा लगता है।",
        "東京は日本の首都です。我喜欢学习中文，因为它很有意思。한국어도 배우고 있어요.",
        "اللغة العربية جميلة جداً. مرحبا بالعالم! كيف حالك اليوم؟",
        "Emoji: 👍🏽 🇫🇷 👨‍👩‍👧‍👦 ❤️‍🔥 🤖✨ — and math: ∀x∈ℝ, x² ≥ 0; π ≈ 3.14159.",
        "Ελληνικά: Καλημέρα κόσμε. Русский: Привет, мир! Ünïcödé 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛.",
        "   indented\t\ttabs\r\nwindows line\n\n\nblank lines   trailing   ",
        "numbers 1234567890 0x1F 3.14e-10 1_000_000 ٣٤٥ १२३",
    ]
)


def _train(text: str, vocab_size: int, pattern: str | None) -> dict[bytes, int]:
    # The compiled trainer: ~300x faster here than the naive oracle (1.6-2.8 s per pattern),
    # and equal to it (the trainer's own tests hold it to the oracle).  With numba's JIT off the
    # compiled trainer runs as slow Python: the oracle is the quicker of the two then.
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        from minigrad.tokenizers.naive_trainer import train_naive

        return train_naive(text, vocab_size, pattern=pattern, min_frequency=2)
    from minigrad.tokenizers.trainer import train_bpe

    return train_bpe(text, vocab_size, pattern=pattern, min_frequency=2)


@cache
def training_text() -> str:
    return stdlib_corpus(40_000) + "\n" + MULTILINGUAL * 3


@cache
def trained_ranks(pattern: str | None = "gpt4", vocab_size: int = 600) -> dict[bytes, int]:
    """Ranks with ``vocab_size`` tokens trained on ``training_text()`` with ``pattern``."""
    return _train(training_text(), vocab_size, pattern)


@cache
def trained(pattern: str | None = "gpt4") -> BPETokenizer:
    """A trained tokenizer with the three SPECIALS after the ranks."""
    ranks = trained_ranks(pattern)
    specials = {s: len(ranks) + i for i, s in enumerate(SPECIALS)}
    return BPETokenizer(ranks, pattern=pattern, special_tokens=specials, name=f"test-{pattern}")


def tiktoken_of(tok: BPETokenizer):
    """The same tables as a ``tiktoken.Encoding`` (the caller has done importorskip)."""
    import tiktoken

    return tiktoken.Encoding(
        tok.name,
        pat_str=tok.pattern,
        mergeable_ranks=tok.mergeable_ranks,
        special_tokens=tok.special_tokens,
    )


@cache
def tiktoken_for(pattern: str | None = "gpt4"):
    """``tiktoken_of(trained(pattern))``, built once."""
    return tiktoken_of(trained(pattern))
