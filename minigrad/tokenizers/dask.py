"""BPE training on a Dask cluster: count on the workers, merge on the client.

Counting chunks is the part of training that grows with the corpus, and it splits cleanly:
counts of byte ranges add up to the counts of the files (``ranges``).  So::

    files --file_ranges--> byte ranges (cut at safe points, ~blocksize each)
          --partition_ranges--> runs of ranges in order, about equal bytes, one per thread
          --bag.map_partitions(count)--> one ChunkCounts per run         (on the workers)
          --bag.reduction(merge, split_every)--> one ChunkCounts          (a tree of merges)
          --BPETokenizer.train_from_counts--> tokenizer                  (on the client)

The tokenizer is the one ``BPETokenizer.train`` makes from the same files in one process, rank
for rank, so its file is byte for byte the same (tested with a real ``LocalCluster``).

Usage::

    from minigrad.tokenizers.dask import local_client, train_files
    with local_client() as client:                  # or distributed.Client("tcp://host:8786")
        tok = train_files(["a.txt", "b.txt"], 32_000, client=client)

or ``minigrad tokenizer train FILES --dask local`` / ``--dask tcp://host:8786``.  Workers read
the files themselves, by absolute path: on a real cluster the files must be at the same path on
every worker (a shared filesystem).  Dask is an optional dependency
(``pip install "minigrad[scale]"``), imported only when these functions run.

What it leaves out: the merge loop stays sequential on the client (it sees only the distinct
chunks, far fewer than the corpus), and reading from object stores (local paths only).
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from minigrad.tokenizers.corpus import EMPTY_CORPUS, check_train_args
from minigrad.tokenizers.counts import ChunkCounts, count_chunks, pattern_label
from minigrad.tokenizers.ranges import Range, file_ranges, read_range, text_pieces
from minigrad.validate import positive_int

if TYPE_CHECKING:
    from minigrad.tokenizers.bpe import BPETokenizer

#: bytes per range: a task reads one range at a time, so this bounds a worker's text in memory.
#: Tasks are groups of ranges (``PARTITION_BYTES``), so small reads cost no extra tasks; under
#: glibc's mmap threshold, each read reuses the heap the last one freed instead of faulting in
#: fresh pages (measured in benchmarks/bench_bpe_scale.py's docstring)
BLOCKSIZE = 4 << 20
#: characters counted at a time on a worker (``ranges.text_pieces``)
PIECE_CHARS = 1 << 19
#: most bytes one task counts (its ranges into one table); fewer, longer tasks mean fewer tables
#: to send and merge, and the last merge is on the critical path (benchmarks/bench_bpe_scale.py)
PARTITION_BYTES = 1 << 30
#: partitions merged per node of the reduction tree
SPLIT_EVERY = 8
#: glibc malloc settings of LocalCluster workers. Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536
#: before they spawn a worker (``distributed.nanny.pre-spawn-environ``; glibc reads it once, at
#: process start, so it must be set there, not in ``env=``), and any fixed threshold turns off
#: glibc's adaptive mmap threshold: every buffer over 128 KiB is then mapped and unmapped per call
#: and its pages faulted in again, so a worker counted slower per byte than one process
#: (measured in benchmarks/bench_bpe_scale.py's docstring). Here freed heap is given back past
#: 64 MiB, and buffers under 32 MiB (the adaptive threshold's own ceiling) stay on the heap.
#: Workers of a remote scheduler want the same two variables in their nannies' pre-spawn-environ.
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": 64 << 20, "MALLOC_MMAP_THRESHOLD_": 32 << 20}


def _require_distributed():
    try:
        import dask.bag  # noqa: F401
        import distributed
    except ImportError:
        raise ImportError(
            'training on Dask needs the "scale" extra: pip install "minigrad[scale]" '
            "(dask[distributed])"
        ) from None
    return distributed


def default_workers() -> int:
    """Worker processes for a LocalCluster: the CPUs this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


@contextmanager
def local_client(n_workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` on a fresh ``LocalCluster``: one single-threaded worker process
    per CPU (counting holds the GIL in places, so processes, not threads); the scheduler's
    HTTP server (and dashboard, if bokeh is installed) on a free port."""
    distributed = _require_distributed()
    import dask

    n = default_workers() if n_workers is None else n_workers
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_MALLOC}
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: the scheduler serves HTTP even without one
        ) as cluster,
    ):
        with distributed.Client(cluster) as client:
            yield client


@contextmanager
def connect(address: str) -> Iterator[Any]:
    """``"local"``: a LocalCluster sized to the machine; otherwise a scheduler's address."""
    if address == "local":
        with local_client() as client:
            yield client
    else:
        distributed = _require_distributed()
        with distributed.Client(address) as client:
            yield client


def _count_partition(
    ranges: Iterable[Range], pattern: str | None, specials: tuple[str, ...]
) -> list[ChunkCounts]:
    """On a worker: the counts of some byte ranges (read one at a time), as a one-item list."""
    try:
        texts = (read_range(r) for r in ranges)
        if pattern is not None:  # (with no pattern a range is a whole file: one chunk)
            texts = (p for t in texts for p in text_pieces(t, PIECE_CHARS, specials))
        counts = count_chunks(texts, pattern, specials)
    except ValueError as exc:
        if str(exc) != EMPTY_CORPUS:
            raise
        counts = empty_counts(pattern)
    return [counts]


def _count_groups(
    groups: Iterable[Sequence[Range]], pattern: str | None, specials: tuple[str, ...]
) -> list[ChunkCounts]:
    """On a worker: the counts of a bag partition whose elements are groups of ranges."""
    return _count_partition((r for g in groups for r in g), pattern, specials)


def _merge_all(tables: Iterable[ChunkCounts]) -> ChunkCounts:
    """A node of the reduction tree: the sum of some tables."""
    tables = list(tables)
    return tables[0].merge(*tables[1:])


def empty_counts(pattern: str | None) -> ChunkCounts:
    """A table with no chunks (what a range holding only special tokens counts to)."""
    import numpy as np

    e = np.zeros(0, dtype=np.int64)
    return ChunkCounts(np.zeros(0, dtype=np.uint8), e, e, pattern_label(pattern), _checked=True)


def partition_ranges(
    ranges: Sequence[Range], n_slots: int, partition_bytes: int
) -> list[list[Range]]:
    """Cut the sequence of ``ranges`` into runs of about equal bytes, in order: a multiple of
    ``n_slots`` (the cluster's threads) runs, as few as keep the mean under
    ``partition_bytes``, never an empty one.

    Counting a range costs about its size, so equal bytes are equal time.  Each cut goes at the
    range boundary nearest its share of the bytes, so a run misses its share by at most one
    range.  The runs keep the ranges' order because a ``ChunkCounts`` lists chunks in order of
    first appearance, and summing the runs' tables in order then gives the one-process table
    exactly, down to the bytes of its file.
    """
    partition_bytes = positive_int(partition_bytes, "partition_bytes")
    n_slots = max(1, n_slots)
    sizes = [end - start for _, start, end in ranges]
    total = sum(sizes)
    rounds = -(-total // (n_slots * partition_bytes))  # ceil
    n = max(1, min(len(ranges), n_slots * max(1, rounds)))
    before = [0]  # before[i]: bytes of ranges[:i]
    for size in sizes:
        before.append(before[-1] + size)
    cuts = [0]
    for j in range(1, n):
        share = total * j / n
        i = bisect.bisect_left(before, share)  # first boundary at or past the share
        if i > 0 and share - before[i - 1] < before[i] - share:
            i -= 1  # the boundary before it is nearer
        cuts.append(min(max(i, cuts[-1] + 1), len(ranges) - (n - j)))  # no run left empty
    cuts.append(len(ranges))
    return [list(ranges[a:b]) for a, b in itertools.pairwise(cuts)]


def plan_ranges(
    files: Sequence[str | os.PathLike],
    pattern: str | None,
    specials: tuple[str, ...],
    blocksize: int,
) -> list[Range]:
    """All the byte ranges of ``files`` (a whole file per range with ``pattern=None``)."""
    out: list[Range] = []
    for f in files:
        if not isinstance(f, (str, os.PathLike)):
            raise TypeError(f"files must be paths (str or os.PathLike), got {type(f).__name__}")
        if not os.path.isfile(f):
            raise FileNotFoundError(f"corpus file not found: {os.fspath(f)!r}")
        if pattern is None:
            size = os.path.getsize(f)
            if size:
                out.append((os.path.abspath(os.fspath(f)), 0, size))
        else:
            out.extend(file_ranges(f, blocksize, specials))
    return out


def count_files(
    files: Sequence[str | os.PathLike],
    *,
    client: Any,
    pattern: str | None = "gpt4",
    special_tokens: Sequence[str] = (),
    blocksize: int = BLOCKSIZE,
    partition_bytes: int = PARTITION_BYTES,
    split_every: int = SPLIT_EVERY,
) -> ChunkCounts:
    """Count the chunks of ``files`` on the cluster behind ``client``: the same table as
    ``count_chunks([Path(f) for f in files], pattern, special_tokens)`` in one process.

    The files are cut into byte ranges of about ``blocksize`` bytes (what a worker reads at
    once), and the ranges grouped into partitions of about equal bytes, at least one per worker
    thread and about ``partition_bytes`` at most (:func:`partition_ranges`).  Each partition counts
    into one table; the tables are summed ``split_every`` at a time up a tree, and the last one
    comes back to the client.
    """
    _require_distributed()
    import dask.bag as db

    specials = check_train_args(256 + len(tuple(special_tokens)), special_tokens, 0)
    pattern_label(pattern)  # a bad pattern fails here, not on every worker
    ranges = plan_ranges(files, pattern, specials, blocksize)
    if not ranges:
        raise ValueError(EMPTY_CORPUS)
    n_slots = sum(client.nthreads().values())
    groups = partition_ranges(ranges, n_slots, partition_bytes)
    bag = db.from_sequence(groups, npartitions=len(groups))  # one group per partition
    counted = bag.map_partitions(_count_groups, pattern, specials)
    total = counted.reduction(_merge_all, _merge_all, split_every=split_every)
    counts = client.compute(total, sync=True)
    if len(counts) == 0:
        raise ValueError(EMPTY_CORPUS)
    return counts


def train_files(
    files: Sequence[str | os.PathLike],
    vocab_size: int,
    *,
    client: Any,
    pattern: str | None = "gpt4",
    special_tokens: Sequence[str] = (),
    min_frequency: int = 2,
    show_progress: bool = False,
    blocksize: int = BLOCKSIZE,
    partition_bytes: int = PARTITION_BYTES,
    name: str = "minigrad-bpe",
) -> BPETokenizer:
    """``BPETokenizer.train`` on files, with the counting done on the cluster behind ``client``."""
    from minigrad.tokenizers.bpe import BPETokenizer

    check_train_args(vocab_size, special_tokens, min_frequency)
    counts = count_files(
        files,
        client=client,
        pattern=pattern,
        special_tokens=special_tokens,
        blocksize=blocksize,
        partition_bytes=partition_bytes,
    )
    return BPETokenizer.train_from_counts(
        counts,
        vocab_size,
        pattern=pattern,
        special_tokens=special_tokens,
        min_frequency=min_frequency,
        show_progress=show_progress,
        name=name,
    )
