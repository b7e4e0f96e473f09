"""Data: the built-in synthetic corpus (words with known classes) and next-token batching.

* :func:`synthetic_corpus` / :data:`DEFAULT_LANGUAGE`: a seeded generator of a tiny language
  whose words fall into ground-truth classes (animals, foods, vehicles, ...);
* :func:`context_windows`, :class:`Batches`: (window of ids, next id) training examples.
"""

from minigrad.data.batching import Batches, context_windows, split_ids
from minigrad.data.synthetic import (
    DEFAULT_LANGUAGE,
    DEFAULT_SENTENCES,
    SyntheticCorpus,
    SyntheticLanguage,
    synthetic_corpus,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "DEFAULT_SENTENCES",
    "Batches",
    "SyntheticCorpus",
    "SyntheticLanguage",
    "context_windows",
    "split_ids",
    "synthetic_corpus",
]
