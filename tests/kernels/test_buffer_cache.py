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
