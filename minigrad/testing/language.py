"""Hypothesis strategies for language-model inputs: token ids, class targets, and text.

Each strategy is built from Hypothesis' own primitives (integers, characters, lists), never from
a seeded numpy generator, so that a failing example shrinks: ids towards 0, arrays towards
fewer distinct values, texts towards fewer and plainer characters.  A numpy generator behind
``st.integers()`` as a seed would shrink only the seed, and the "minimal" example would be as
random as the first.

Building ``ids()`` or ``targets()`` (when the test module is imported, not when examples are
drawn) also compiles the kernels that such inputs are fed to (:func:`~minigrad.testing.warm_up`),
so a property test with Hypothesis' 200 ms deadline does not pay numba's JIT in its first
example.  Drawing examples never compiles anything: that would count against Hypothesis'
``too_slow`` health check instead.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.testing.warmup import warm_up

__all__ = ["ids", "targets", "texts", "zipf_buckets"]

#: Zipf ids are drawn in two steps: one of this many buckets of equal probability, then an id
#: in that bucket
ZIPF_BUCKETS = 256

DISTRIBUTIONS = ("uniform", "zipf")


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


@functools.lru_cache(maxsize=16)
def zipf_buckets(vocab_size: int, a: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)``: bucket b holds the ids ``lo[b]..hi[b]``, each bucket 1/256 of Zipf(a)'s mass.

    Zipf(a) on ``0..vocab_size-1`` gives id i the probability ``(1 / (i + 1)^a) / H``.  Its
    quantiles at ``b / 256`` cut the ids into 256 buckets of equal probability: id 0 alone fills
    the first 59 buckets for V = 1000 and a = 1.2 (it has 23% of the mass), the last bucket
    spans the ids 755..999.  Drawing a bucket uniformly and then an id in it reproduces Zipf's
    distribution up to 1/256 at every id (uniform within a bucket, where Zipf decreases).

    Why not one uniform number through the inverse CDF: Hypothesis does not draw wide integer
    ranges uniformly (it favours small values: 87% of ``st.integers(0, 2**32 - 1)`` fall below
    1% of the range), which made 95% of such ids 0, and neither a float nor several digits
    shrink as well.  Over 0..255 its draws are near uniform, and the pair (bucket, id) shrinks
    in order: towards id 0, and to exactly the smallest id that still fails a test.
    """
    weights = 1.0 / np.arange(1, vocab_size + 1, dtype=np.float64) ** a
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    # edges[b] = the id at quantile b / B: the smallest i with cdf[i] > b / B
    edges = np.searchsorted(cdf, np.arange(ZIPF_BUCKETS + 1) / ZIPF_BUCKETS, side="right")
    edges = np.minimum(edges, vocab_size - 1)
    lo = edges[:-1]
    hi = np.maximum(edges[1:], lo)
    return lo.astype(np.int64), hi.astype(np.int64)


def _zipf_id(vocab_size: int, a: float) -> st.SearchStrategy[int]:
    lo, hi = zipf_buckets(vocab_size, a)
    return st.integers(0, ZIPF_BUCKETS - 1).flatmap(lambda b: st.integers(int(lo[b]), int(hi[b])))


def _shape_strategy(shape: Any, default: st.SearchStrategy[tuple[int, ...]]) -> Any:
    if shape is None:
        return default
    if isinstance(shape, st.SearchStrategy):
        return shape
    if isinstance(shape, (int, np.integer)):
        return st.just((int(shape),))
    return st.just(tuple(int(n) for n in shape))


def ids(
    vocab_size: int,
    shape: Any = None,
    distribution: str = "uniform",
    a: float = 1.2,
) -> st.SearchStrategy[np.ndarray]:
    """int64 token ids in ``0..vocab_size-1``, as ``nn.Embedding`` takes them.

    ``shape``: a tuple, an int, or a strategy of shapes; default 1-D or 2-D (a batch of
    sequences) with 1 to 8 ids per side.  Pass e.g. ``hnp.array_shapes(min_side=0)`` to
    include empty batches.

    ``distribution="uniform"``: every id equally likely (each id is ``st.integers``).
    ``distribution="zipf"``: id ``i`` drawn with probability proportional to ``1 / (i + 1)^a``,
    as real token ids are (a few ids make up much of any text): id 0 is the most frequent, and
    repeated ids (which must sum in the embedding gradient) are the rule, not the exception.
    Hypothesis' own choices lean towards small values: in uniform ids, id 0 and small ids come
    up more often than 1 / vocab_size; Zipf ids are close to their law (for V = 1000, id 0 in
    about 25% of draws where Zipf(1.2) says 23%).

    >>> from hypothesis import given
    >>> from minigrad import nn
    >>> @given(ids(vocab_size=50, distribution="zipf"))
    ... def test_lookup_shape(token_ids):
    ...     assert nn.Embedding(50, 4)(token_ids).shape == (*token_ids.shape, 4)
    """
    strategy = _id_arrays(vocab_size, shape, distribution, a, "vocab_size")
    warm_up("embedding")
    return strategy


def _id_arrays(n: int, shape: Any, distribution: str, a: float, what: str) -> Any:
    """``ids()`` without the warm-up (``targets()`` feeds cross-entropy, not an embedding)."""
    vocab_size = _check_positive_int(what, n)
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    if not a > 0:
        raise ValueError(f"the Zipf exponent a must be > 0, got {a!r}")
    shapes = _shape_strategy(shape, hnp.array_shapes(min_dims=1, max_dims=2, max_side=8))
    element = (
        st.integers(0, vocab_size - 1) if distribution == "uniform" else _zipf_id(vocab_size, a)
    )
    return shapes.flatmap(lambda s: _int_arrays(s, element))


def _int_arrays(shape: tuple[int, ...], elements: st.SearchStrategy[int]) -> Any:
    """int64 arrays of ``shape`` drawn one element at a time.

    Not ``hnp.arrays``: to draw large arrays fast it may fill all entries with one drawn value,
    and the shrinker then keeps them equal (eight 300s, where one 300 among zeros suffices).
    """
    size = int(np.prod(shape))
    return st.lists(elements, min_size=size, max_size=size).map(
        lambda v: np.array(v, dtype=np.int64).reshape(shape)
    )


def targets(
    n_classes: int,
    shape: Any = None,
    ignore_index: int | None = None,
    distribution: str = "uniform",
) -> st.SearchStrategy[np.ndarray]:
    """int64 class targets for ``cross_entropy``: ids in ``0..n_classes-1``.

    ``shape`` as for :func:`ids`; default ``(N,)`` with 1 <= N <= 8, the target of (N, C) logits.
    With ``ignore_index`` (e.g. -100, as PyTorch's default), any entry may be that value instead,
    including all of them: then a ``"mean"`` loss is 0 / 0 = NaN, the edge case such tests
    exist for.  Shrinking replaces ignored entries by class 0.
    """
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))
    ):
        raise ValueError(f"ignore_index must be an int or None, got {ignore_index!r}")
    shapes = _shape_strategy(shape, hnp.array_shapes(min_dims=1, max_dims=1, max_side=8))
    classes = _id_arrays(n_classes, shapes, distribution, 1.2, "n_classes")
    warm_up("cross_entropy")
    if ignore_index is None:
        return classes

    @st.composite
    def with_ignored(draw: st.DrawFn) -> np.ndarray:
        t = draw(classes)
        # a boolean per entry: shrinks to False (not ignored)
        flags = draw(st.lists(st.booleans(), min_size=t.size, max_size=t.size))
        mask = np.array(flags, dtype=np.bool_).reshape(t.shape)
        return np.where(mask, np.int64(ignore_index), t)

    return with_ignored()


#: Characters that break tokenizers, each a known trap (see ``texts``).
TRICKY_PIECES = (
    "\x00",  # NUL: C strings end here
    "\r\n",  # one line break in two characters
    "\t",
    " ",
    "  ",  # runs of spaces: pre-tokenizers split them in their own way
    "\xa0",  # no-break space: whitespace to Unicode, not to ASCII
    "\u3000",  # ideographic space
    "\x85",  # next line, a line break to Unicode
    "\u2028",  # line separator
    "e\u0301",  # e + combining acute accent: two code points, one visible letter
    "\u0301",  # a combining mark with nothing to combine with
    "\ufeff",  # byte order mark / zero-width no-break space
    "\u200d",  # zero-width joiner
    "\U0001f469\u200d\U0001f4bb",  # woman technologist: a ZWJ sequence of astral characters
    "\U0001f600",  # an astral character: 4 bytes in UTF-8, a surrogate pair in UTF-16
    "'s",  # GPT-2's contraction rule
    "\u2019s",  # the same with a typographic apostrophe (not a contraction to the regex)
    "123456",  # digit runs: GPT-4's pattern splits them by three
)

#: A high and a low surrogate as two separate code points: not a lone surrogate, but an encoder
#: that goes through UTF-16 joins them into U+1F600.
SPLIT_SURROGATE_PAIR = "\ud83d\ude00"


def texts(min_size: int = 0, max_size: int = 40, surrogates: bool = True) -> st.SearchStrategy[str]:
    """Arbitrary Unicode strings biased towards what breaks tokenizers.

    Beyond ``st.text()``'s characters, the pieces include NUL and other control characters,
    combining marks (alone and after a letter), Unicode whitespace, astral characters and a ZWJ
    sequence, contractions, digit runs and (with ``surrogates=True``, the default) lone
    surrogates and a surrogate pair split into two code points.  Lengths are in code points.

    A lone surrogate is a valid Python ``str`` but has no UTF-8 encoding, so a tokenizer cannot
    round-trip it: tiktoken (and minigrad's ``BPETokenizer``) encode the text as if each lone
    surrogate were U+FFFD, i.e. ``text.encode("utf-16", "surrogatepass").decode("utf-16",
    "replace")`` (which also joins a split pair).  Round-trip ``texts(surrogates=False)``, and
    test the replacement rule on ``texts()``.  Shrinks towards fewer and plainer characters.
    """
    if min_size < 0 or max_size < min_size:
        raise ValueError(f"need 0 <= min_size <= max_size, got {min_size} and {max_size}")
    pieces = [
        st.characters(),  # first: shrinking goes towards this branch, plain characters
        st.sampled_from(TRICKY_PIECES),
        st.characters(categories=["Cc", "Cf"]),  # control and format characters
        st.characters(categories=["Mn", "Mc", "Me"]),  # combining marks
        st.characters(categories=["Zs", "Zl", "Zp"]),  # every kind of Unicode space
        st.characters(min_codepoint=0x10000),  # astral planes
    ]
    if surrogates:
        pieces.append(st.characters(categories=["Cs"]))  # a lone surrogate
        pieces.append(st.just(SPLIT_SURROGATE_PAIR))
    return st.lists(st.one_of(pieces), min_size=min_size, max_size=max_size).map(
        lambda parts: "".join(parts)[:max_size]
    )
