"""Measuring "meaning emerges": do words end up next to words of their own class?

The seed says that tokens appearing in similar contexts end up with similar embedding vectors.
On the built-in corpus (``minigrad.data``) we know which words are similar (their ground-truth
class), so the claim becomes a number, **nearest-neighbour class agreement**:

    for each word, find the other word whose embedding has the highest cosine similarity;
    agreement = the fraction of words whose nearest neighbour is in the same class.

With 8 classes of 8 words, a random embedding scores about 7/63 = 0.11 (the chance that a
random other word shares the class, see :func:`chance_agreement`); an embedding that has
learnt the classes scores close to 1.

Cosine similarity compares directions, not lengths:
``cos(a, b) = a . b / (|a| |b|)``, 1 for the same direction, 0 for orthogonal, -1 for opposite.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np


def cosine_similarity_matrix(vectors: np.ndarray) -> np.ndarray:
    """All pairwise cosine similarities of the rows of ``vectors`` (n, d) -> (n, n).

    >>> cosine_similarity_matrix(np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])).round(3)
    array([[1., 1., 0.],
           [1., 1., 0.],
           [0., 0., 1.]])

    A zero row has no direction; its similarities are 0.
    """
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array (n, d), got shape {v.shape}")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    return unit @ unit.T


def nearest_neighbours(
    vectors: np.ndarray, query: int, k: int = 5, exclude_self: bool = True
) -> list[tuple[int, float]]:
    """The ``k`` rows most cosine-similar to row ``query``: ``[(row, similarity), ...]``.

    Ties are broken by the smaller row index, so the answer is deterministic.
    """
    v = np.asarray(vectors, dtype=np.float64)
    if not 0 <= query < len(v):
        raise IndexError(f"query row {query} is out of range for {len(v)} vectors")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    norms = np.linalg.norm(v, axis=1)
    q = v[query]
    qn = norms[query]
    denom = norms * qn
    sims = np.divide(v @ q, denom, out=np.zeros(len(v)), where=denom > 0)
    order = np.lexsort((np.arange(len(v)), -sims))  # by similarity, then by index
    out = []
    for i in order:
        if exclude_self and i == query:
            continue
        out.append((int(i), float(sims[i])))
        if len(out) == k:
            break
    return out


def neighbour_agreement(vectors: np.ndarray, labels: Sequence[str]) -> float:
    """Fraction of rows whose nearest other row (by cosine similarity) has the same label.

    >>> vecs = np.array([[1.0, 0.1], [1.0, 0.0], [0.0, 1.0], [0.1, 1.0]])
    >>> neighbour_agreement(vecs, ["a", "a", "b", "b"])
    1.0
    >>> neighbour_agreement(vecs, ["a", "b", "a", "b"])
    0.0
    """
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or len(v) != len(labels):
        raise ValueError(
            f"need one label per row: vectors have shape {v.shape}, got {len(labels)} labels"
        )
    if len(v) < 2:
        raise ValueError(f"need at least 2 vectors to have neighbours, got {len(v)}")
    sims = cosine_similarity_matrix(v)
    np.fill_diagonal(sims, -np.inf)  # a word is not its own neighbour
    nearest = np.argmax(sims, axis=1)  # argmax takes the first of equals: deterministic
    hits = sum(labels[i] == labels[j] for i, j in enumerate(nearest))
    return hits / len(v)


def chance_agreement(labels: Sequence[str]) -> float:
    """The expected agreement if each word's neighbour were a uniformly random other word.

    For a word of a class of size ``n_c`` among ``N`` words that chance is ``(n_c - 1)/(N - 1)``;
    this averages it over the words.  8 classes of 8: ``7/63 = 0.111``.
    """
    n = len(labels)
    if n < 2:
        raise ValueError(f"need at least 2 labels, got {n}")
    sizes = Counter(labels)
    return sum(c * (c - 1) for c in sizes.values()) / (n * (n - 1))


def class_embedding_rows(
    vocab: Mapping[str, int], word_classes: Mapping[str, str]
) -> tuple[list[str], list[int], list[str]]:
    """The classified words found in ``vocab``: ``(words, row ids, class labels)``, in id order."""
    found = sorted((vocab[w], w) for w in word_classes if w in vocab)
    words = [w for _, w in found]
    return words, [i for i, _ in found], [word_classes[w] for w in words]
