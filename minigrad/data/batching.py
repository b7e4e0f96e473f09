"""Next-token training examples: context windows over a stream of token ids, and batches of them.

A next-token model reads ``context`` ids and predicts the one that follows.  From the stream
``[5, 8, 2, 9, 4]`` with ``context=2`` we get every window and the id after it::

    >>> x, y = context_windows(np.array([5, 8, 2, 9, 4]), context=2)
    >>> x.tolist(), y.tolist()
    ([[5, 8], [8, 2], [2, 9]], [2, 9, 4])

The windows are views into the stream (``sliding_window_view``), so they cost no copy until a
batch is gathered.  :class:`Batches` draws random batches of windows with its own seeded
generator, so a training run is reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from minigrad.validate import check_integer_ids, positive_int


def context_windows(ids: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """All (window, next id) pairs of a 1-D id stream: ``x`` is (n, context), ``y`` is (n,)."""
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be a 1-D array of token ids, got shape {ids.shape}")
    check_integer_ids("ids", ids)
    context = positive_int(context, "context")
    if len(ids) <= context:
        raise ValueError(
            f"need more than context={context} ids to make one training example, got {len(ids)}"
        )
    ids = ids.astype(np.int64, copy=False)
    x = np.lib.stride_tricks.sliding_window_view(ids[:-1], context)
    y = ids[context:]
    return x, y


def split_ids(ids: np.ndarray, held_out: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Cut a stream into training ids and held-out ids (the last ``held_out`` fraction).

    Held-out text is never trained on, so its loss tells whether the model learnt the language
    or memorised the training text.
    """
    if not 0.0 < held_out < 1.0:
        raise ValueError(f"held_out must be a fraction between 0 and 1, got {held_out}")
    ids = np.asarray(ids)
    cut = round(len(ids) * (1.0 - held_out))
    return ids[:cut], ids[cut:]


class Batches:
    """Random batches of (context window, next id), drawn with replacement from one stream.

    >>> b = Batches(np.arange(10), context=3, batch_size=4, seed=0)
    >>> x, y = b.sample()
    >>> x.shape, y.shape
    ((4, 3), (4,))
    >>> bool(((x[:, -1] + 1) == y).all())   # the stream counts up, so y follows x
    True
    """

    def __init__(self, ids: np.ndarray, context: int, batch_size: int, seed: int = 0) -> None:
        self.batch_size = positive_int(batch_size, "batch_size")
        self.x, self.y = context_windows(ids, context)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """How many windows there are to draw from."""
        return len(self.y)

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """One batch: ``x`` (batch_size, context) int64 and ``y`` (batch_size,) int64."""
        rows = self.rng.integers(0, len(self.y), size=self.batch_size)
        return self.x[rows], self.y[rows]

    def sequential(
        self, max_examples: int | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every window once, in order, in batches (for evaluation); at most ``max_examples``."""
        n = len(self.y) if max_examples is None else min(len(self.y), max_examples)
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            yield self.x[start:stop], self.y[start:stop]


#: the target value that losses skip (``cross_entropy``'s default ``ignore_index``)
IGNORE_INDEX = -100


def held_out_windows(
    ids: np.ndarray, context: int, max_tokens: int, every_position: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Windows that score at most ``max_tokens`` held-out tokens, each token at most once.

    Evaluation should cost a bounded amount whatever the held-out text's size, and should not
    score the same token several times (overlapping windows of a model that predicts at every
    position would score each token ``context`` times).

    * ``every_position=False`` (a model that predicts the one token after its window, like the
      MLP): every window, stride 1, each followed by its target: ``x`` (n, context), targets
      (n,), n <= max_tokens.  Each target is scored once, with its full context.
    * ``every_position=True`` (a transformer predicting the next token at each position):
      windows that do not overlap, ``ids[k*T : (k+1)*T]`` with targets ``ids[k*T+1 : (k+1)*T+1]``;
      targets past ``max_tokens`` in the last window are :data:`IGNORE_INDEX`.

    >>> x, t = held_out_windows(np.arange(10), context=3, max_tokens=7, every_position=True)
    >>> x.tolist(), t.tolist()
    ([[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, -100, -100]])
    >>> x, t = held_out_windows(np.arange(10), context=3, max_tokens=4, every_position=False)
    >>> x.tolist(), t.tolist()
    ([[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]], [3, 4, 5, 6])
    """
    max_tokens = positive_int(max_tokens, "max_tokens")
    x, y = context_windows(ids, context)
    if not every_position:
        n = min(len(y), max_tokens)
        return np.ascontiguousarray(x[:n]), y[:n].copy()
    ids = np.asarray(ids, dtype=np.int64)
    n_windows = min((len(ids) - 1) // context, -(-max_tokens // context))
    if n_windows == 0:
        raise ValueError(f"need more than context={context} ids to score one window")
    span = n_windows * context
    x = ids[:span].reshape(n_windows, context).copy()
    targets = ids[1 : span + 1].reshape(n_windows, context).copy()
    targets.reshape(-1)[max_tokens:] = IGNORE_INDEX
    return x, targets
