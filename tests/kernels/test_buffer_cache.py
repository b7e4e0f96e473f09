"""The scratch-buffer cache: reuse only what nobody can see any more, within its byte limit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.kernels import buffer_cache, cross_entropy_backward, cross_entropy_forward
from minigrad.kernels.buffer_cache import BufferCache

KB = 1 << 10


def small_cache(limit_bytes: int = 64 * KB) -> BufferCache:
    return BufferCache(limit_bytes=limit_bytes, min_bytes=KB)


def test_a_dropped_buffer_is_handed_out_again():
    cache = small_cache()
    a = cache.empty((16, 32), np.float32)
    address = a.ctypes.data
    del a
    b = cache.empty((16, 32), np.float32)
    assert b.ctypes.data == address
    assert (cache.hits, cache.misses) == (1, 1)


@pytest.mark.parametrize(
    "keep",
    [
        lambda a: a[1:],  # a view
        lambda a: a.reshape(-1),  # a reshaped view
        lambda a: memoryview(a),  # an exported buffer
        lambda a: np.frombuffer(a, dtype=np.uint8),  # an array made over that buffer
    ],
    ids=["view", "reshape", "memoryview", "frombuffer"],
)
def test_a_buffer_that_is_still_visible_is_never_reused(keep):
    cache = small_cache()
    a = cache.empty((16, 32), np.float32)
    a[...] = 7.0
    kept = keep(a)
    del a
    b = cache.empty((16, 32), np.float32)
    b[...] = -1.0
    assert np.all(np.frombuffer(kept, dtype=np.float32) == 7.0)
    assert cache.hits == 0


def test_shape_and_dtype_must_match():
    cache = small_cache()
    a = cache.empty((16, 32), np.float32)
    address = a.ctypes.data
    del a
    assert cache.empty((32, 16), np.float32).ctypes.data != address
    assert cache.empty((16, 32), np.float64).dtype == np.float64
    assert cache.hits == 0


def test_small_and_oversized_requests_bypass_the_cache():
    cache = small_cache(limit_bytes=16 * KB)
    cache.empty((8,), np.float32)  # 32 bytes < min_bytes
    cache.empty((64 * KB,), np.uint8)  # more than the whole limit
    assert cache.cached_bytes == 0 and cache.misses == 0


def test_the_limit_bounds_what_is_kept_and_clear_releases_only_free_buffers():
    cache = small_cache(limit_bytes=8 * KB)
    held = [cache.empty((KB,), np.uint8) for _ in range(12)]  # 12 KiB in use, only 8 cached
    assert cache.cached_bytes == 8 * KB
    del held[:4]  # the first four were cached; they are free now
    assert cache.clear() == 4 * KB
    assert cache.cached_bytes == 4 * KB  # the other four cached ones are still in use


@given(
    st.lists(
        st.tuples(st.sampled_from(["take", "drop", "view"]), st.integers(0, 3), st.integers(0, 9)),
        max_size=40,
    )
)
def test_no_live_buffer_is_ever_shared(actions):
    """Random takes and drops: two live handles never alias unless one is a view of the other."""
    cache = small_cache(limit_bytes=6 * KB)
    shapes = [(KB,), (2 * KB,), (KB // 2, 2), (KB,)]
    live: list[tuple[np.ndarray, int]] = []  # (array or view, the owner's tag)
    tag = 0
    for action, s, pick in actions:
        if action == "take":
            tag += 1
            a = cache.empty(shapes[s], np.uint8)
            a[...] = tag % 256
            live.append((a, tag))
        elif action == "drop" and live:
            live.pop(pick % len(live))
        elif action == "view" and live:
            a, t = live[pick % len(live)]
            live.append((a.reshape(-1)[1:], t))
        for a, t in live:  # every live handle still sees its owner's fill
            assert np.all(a == t % 256)


def test_cross_entropy_reuses_its_buffer_only_after_the_gradient_is_dropped():
    """Runs on the shared cache, isolated from whatever earlier tests left in it."""
    with buffer_cache.isolated():
        _reuse_after_the_gradient_is_dropped()


def _reuse_after_the_gradient_is_dropped():
    rng = np.random.default_rng(0)
    N, C = 512, 8192  # 16 MiB of float32: cached
    logits = rng.standard_normal((N, C), dtype=np.float32)
    target = rng.integers(0, C, N)
    g = np.full(N, 1.0 / N, np.float32)
    _, state = cross_entropy_forward(logits, target)
    first = cross_entropy_backward(state, g)
    del state
    kept = first.copy()
    _, state = cross_entropy_forward(logits, target)  # `first` is still alive: a new buffer
    assert state.exp_shifted.ctypes.data != first.ctypes.data
    second = cross_entropy_backward(state, g)
    np.testing.assert_array_equal(first, kept)  # the held gradient was not overwritten
    np.testing.assert_array_equal(second, kept)
    address = first.ctypes.data
    del first, state
    _, state = cross_entropy_forward(logits, target)  # now the first buffer is free again
    assert state.exp_shifted.ctypes.data == address
    np.testing.assert_array_equal(cross_entropy_backward(state, g), kept)
    del state, second
    assert buffer_cache.clear() >= 2 * N * C * 4


def test_limit_from_the_environment(monkeypatch):
    from minigrad.kernels.buffer_cache import DEFAULT_LIMIT_BYTES, _limit_from_environment

    monkeypatch.delenv("MINIGRAD_BUFFER_CACHE_BYTES", raising=False)
    assert _limit_from_environment() == DEFAULT_LIMIT_BYTES
    monkeypatch.setenv("MINIGRAD_BUFFER_CACHE_BYTES", "0")
    assert _limit_from_environment() == 0
    for bad in ("lots", "-5", "1.5e9"):
        monkeypatch.setenv("MINIGRAD_BUFFER_CACHE_BYTES", bad)
        with pytest.raises(ValueError, match="MINIGRAD_BUFFER_CACHE_BYTES"):
            _limit_from_environment()


def test_a_zero_limit_caches_nothing():
    cache = BufferCache(limit_bytes=0, min_bytes=KB)
    a = cache.empty((4 * KB,), np.uint8)
    del a
    cache.empty((4 * KB,), np.uint8)
    assert cache.cached_bytes == 0 and cache.hits == 0


@pytest.mark.nojit
def test_varying_sizes_keep_the_idle_bytes_bounded():
    """A new size every request (a batch size that changes each step): unused buffers of other
    sizes are dropped, so what is held stays within a few times the largest request, instead of
    one dead buffer per size ever seen."""
    cache = BufferCache(limit_bytes=1 << 40, min_bytes=KB)
    rng = np.random.default_rng(0)
    largest = 0
    for _ in range(200):
        rows = int(rng.integers(16, 64))
        largest = max(largest, rows * KB)
        a = cache.empty((rows, KB), np.uint8)
        a[...] = 1  # touch it, as a kernel would
        assert cache.idle_bytes <= 2 * rows * KB  # 2x the largest buffer in use: this one
        del a
        assert cache.cached_bytes <= 3 * largest
    assert cache.misses > 30  # the sizes did vary


def test_idle_buffers_are_dropped_before_a_new_one_is_allocated(monkeypatch):
    cache = small_cache(limit_bytes=1 << 30)
    a = cache.empty((4 * KB,), np.uint8)
    del a
    idle_when_allocating = []
    real_empty = np.empty

    def spy(shape, dtype):
        idle_when_allocating.append(cache.cached_bytes)
        return real_empty(shape, dtype)

    monkeypatch.setattr(np, "empty", spy)
    cache.empty((KB,), np.uint8)  # 4 KiB idle > 2 x 1 KiB: dropped first
    assert idle_when_allocating == [0]
    assert cache.cached_bytes == KB


def test_alternating_sizes_of_similar_size_are_both_reused():
    """Training and evaluation batches alternate: both stay cached while they are alike."""
    cache = small_cache(limit_bytes=1 << 30)
    for _ in range(5):
        cache.empty((8, KB), np.uint8)
        cache.empty((12, KB), np.uint8)
    assert cache.misses == 2 and cache.hits == 8


def test_cross_entropy_with_a_new_batch_size_every_step_holds_bounded_memory():
    """The issue's case through the real kernels: (N, C) buffers for a new N each step."""
    rng = np.random.default_rng(1)
    C = 1024
    with buffer_cache.isolated():
        buffer_cache.min_bytes = 4 * KB  # cache these small buffers, as the real ones would be
        largest = 0
        for _ in range(60):
            n = int(rng.integers(8, 64))
            largest = max(largest, n * C * 4)
            logits = rng.standard_normal((n, C), dtype=np.float32)
            _, state = cross_entropy_forward(logits, rng.integers(0, C, n))
            grad = cross_entropy_backward(state, np.full(n, 1.0 / n, np.float32))
            del state, grad
            assert buffer_cache.cached_bytes <= 3 * largest
        assert buffer_cache.misses > 20


@pytest.mark.nojit
def test_empty_cache_also_releases_the_parallel_scatters_scratch():
    from minigrad.kernels import empty_cache
    from minigrad.kernels import scatter as scatter_module

    scratch = scatter_module._scratch
    table = scratch.empty((3, 64, 8), np.float32)
    del table
    assert scratch.idle_bytes >= 3 * 64 * 8 * 4
    empty_cache()
    assert scratch.cached_bytes == 0


def test_isolated_hides_what_earlier_code_left_and_restores_it():
    cache = small_cache()
    kept = cache.empty((4 * KB,), np.uint8)
    cache.limit_bytes = 0
    with cache.isolated():
        assert cache.cached_bytes == 0 and cache.hits == cache.misses == 0
        assert cache.limit_bytes > 0
        a = cache.empty((16 << 20,), np.uint8)  # the default min_bytes inside
        assert cache.holds(a)
    assert cache.holds(kept) and not cache.holds(a) and cache.limit_bytes == 0
