"""TinyGPT's key/value cache: the same tokens as recomputing the window, and why not the same bits.

What is exact and what is not, from the arithmetic:

* **Prefill is bit-exact.**  An empty cache plus a prompt runs the very operations of ``hidden``
  on arrays of the same shapes, in the same order.  (The keys are read from the cache's buffer
  rather than a fresh array, but each (T, hd) matrix has the same layout in both; only the step
  between matrices differs, and numpy calls BLAS once per matrix.)  So the first generated
  token's logits are identical.
* **Past ``context_length`` it is the same code.**  Once the window slides, the cached path
  recomputes the window with ``hidden`` exactly as ``use_cache=False`` does: identical logits.
* **Cached steps agree to rounding only.**  A step runs one query row: its matrix products are
  (1, d) @ (d, n) where the full forward's are (T, d) @ (d, n), and BLAS picks a different
  kernel (gemv, or gemm with other blocking) with a different order of summation.  Each sum
  then differs by a few ulp, so logits agree to ~1e-7 relative in float32 (we test 1e-5, the
  bound used against PyTorch) and ~1e-15 in float64 (we test 1e-12).
* **Tokens are identical, except at a tie within that rounding.**  A token flips only if two
  choices are within ~1e-7 of each other (greedy: the top two logits; sampling: the uniform
  draw and a cumulative probability).  In float64 that needs a tie to ~1e-15, which random
  models do not produce: those tests assert equal ids outright.  In float32 a tie to ~1e-7 is
  rare (none in 80,000 random generations while writing this) but possible; the float32 test
  asserts the logits of every step first, so a real bug fails there, and only then discards
  an example whose ids differ (``reject``: it counts as invalid, never as passed).
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.grad_mode import is_grad_enabled
from minigrad.models import tinygpt as tinygpt_module
from minigrad.models.tinygpt import TinyGPT
from minigrad.nn import attention as attention_module
from minigrad.ops.attention import KVCache

# (rtol, atol relative to the largest |logit|) for a cached step against the full forward
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


@st.composite
def models(draw: st.DrawFn, dtype: type = np.float32) -> TinyGPT:
    """A small random TinyGPT: 1-3 heads of size 1-5, 1-3 layers, context 1-10.

    float32 models get d_model >= 4.  LayerNorm divides by a row's standard deviation, and a
    row of two or three numbers is often nearly constant: then a 1-ulp difference between the
    two paths' inputs becomes a 1e-5..1e-4 relative one in the output.  That is the function's
    conditioning, not a bug of either path; the float64 tests cover d_model = 1..3 (there the
    same amplification leaves ~1e-13).
    """
    n_heads = draw(st.integers(1, 3))
    min_head_dim = -(-4 // n_heads) if dtype == np.float32 else 1  # ceil(4 / n_heads)
    sizes = {
        "vocab_size": draw(st.integers(2, 40)),
        "context_length": draw(st.integers(1, 10)),
        "d_model": n_heads * draw(st.integers(min_head_dim, 5)),
        "n_heads": n_heads,
        "n_layers": draw(st.integers(1, 3)),
        "tie_weights": draw(st.booleans()),
        "dropout": draw(st.sampled_from([0.0, 0.1])),  # generate must switch it off either way
    }
    mg.manual_seed(draw(st.integers(0, 2**16), label="init seed"))
    model = TinyGPT(**sizes)
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    return model


def ids_for(model: TinyGPT, batch: int, length: int) -> st.SearchStrategy[np.ndarray]:
    """(batch, length) token ids valid for ``model``."""
    top = model.config.vocab_size - 1
    return hnp.arrays(np.int64, (batch, length), elements=st.integers(0, top))


def full_logits(model: TinyGPT, ids: np.ndarray) -> np.ndarray:
    """The full forward's last-position logits, as ``generate(use_cache=False)`` forms them."""
    window = ids[:, -model.config.context_length :]
    h = model.hidden(window).data[:, -1]
    return (h @ model.head.weight.data.T).astype(np.float64)


def assert_close_logits(got: np.ndarray, want: np.ndarray, dtype: type) -> None:
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


# --------------------------------------------------------------------------- the cache itself
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_prefill_is_bit_exact_and_every_later_chunk_matches_the_full_forward(data, dtype):
    model = data.draw(models(dtype)).eval()
    ctx = model.config.context_length
    batch = data.draw(st.integers(1, 3), label="batch")
    ids = data.draw(ids_for(model, batch, ctx), label="ids")
    # the sequence goes in as a prompt, then chunks: mostly single tokens (decoding), sometimes
    # several at once (a prompt added to a cache that is not empty: the offset causal mask)
    cut = data.draw(st.integers(1, ctx), label="prompt length")
    cache = model.new_cache(batch)
    prefill = model.hidden_cached(ids[:, :cut], cache)
    np.testing.assert_array_equal(prefill, model.hidden(ids[:, :cut]).data)  # bit-exact
    assert cache.length == cut
    weight = model.head.weight.data
    while cache.length < ctx:
        p0 = cache.length
        end = p0 + data.draw(st.sampled_from([1, 1, 1, 2, 3, 4]), label="chunk")
        end = min(end, ctx)
        h = model.hidden_cached(ids[:, p0:end], cache)
        assert h.shape == (batch, end - p0, model.config.d_model) and h.dtype == dtype
        assert cache.length == end
        full = model.hidden(ids[:, :end]).data
        tol = TOLERANCE[dtype]
        np.testing.assert_allclose(h, full[:, p0:], rtol=tol, atol=tol * np.abs(full).max())
        cached = (h[:, -1] @ weight.T).astype(np.float64)
        assert_close_logits(cached, full_logits(model, ids[:, :end]), dtype)


def test_decoding_costs_one_position_per_token_until_the_window_slides():
    """Spy on the work: after the prompt, every block sees one token, until the window is full."""
    mg.manual_seed(0)
    model = TinyGPT(vocab_size=30, context_length=8, d_model=12, n_heads=3, n_layers=2)
    rows, windows = [], []
    real_attention, real_hidden = attention_module.cached_attention, TinyGPT.hidden

    def attention_spy(qkv, cache, layer, n_heads):
        rows.append((layer, qkv.shape[1], cache.length))
        return real_attention(qkv, cache, layer, n_heads)

    def hidden_spy(self, ids):
        windows.append(np.shape(ids)[1])
        return real_hidden(self, ids)

    with (
        mock.patch.object(attention_module, "cached_attention", attention_spy),
        mock.patch.object(TinyGPT, "hidden", hidden_spy),
    ):
        out = model.generate(np.array([[1, 2, 3]]), 9, seed=0)
    assert out.shape == (1, 12)
    # prompt of 3 at position 0, then tokens at positions 3..7 (the sequence reaches 8 = context)
    steps = [(3, 0)] + [(1, p) for p in range(3, 8)]
    assert rows == [(layer, t, p0) for t, p0 in steps for layer in (0, 1)]
    assert windows == [8, 8, 8]  # 9 tokens: 6 from the cache, then 3 recomputed windows


# --------------------------------------------------------------------------- generate: same ids
@st.composite
def generate_cases(draw: st.DrawFn, dtype: type) -> tuple[TinyGPT, np.ndarray, dict]:
    """A model, a prompt (sometimes longer than the context), and generate's keyword arguments."""
    model = draw(models(dtype))
    ctx, vocab = model.config.context_length, model.config.vocab_size
    prompt = draw(
        ids_for(model, draw(st.integers(1, 3), label="batch"), draw(st.integers(1, ctx + 2)))
    )
    if draw(st.booleans(), label="1-D prompt") and prompt.shape[0] == 1:
        prompt = prompt[0]
    kwargs = {
        # enough new tokens to cross context_length from most prompts
        "max_new_tokens": draw(st.integers(0, 2 * ctx + 2)),
        "temperature": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        "top_k": draw(st.one_of(st.none(), st.integers(1, vocab + 1))),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }
    return model, prompt, kwargs


@given(case=generate_cases(np.float64))
def test_cache_and_no_cache_generate_the_same_ids_float64(case):
    model, prompt, kwargs = case
    model.train()  # generate runs in eval mode either way, and restores this
    with_cache = model.generate(prompt, **kwargs, use_cache=True)
    without = model.generate(prompt, **kwargs, use_cache=False)
    np.testing.assert_array_equal(with_cache, without)
    assert with_cache.shape == prompt.shape[:-1] + (prompt.shape[-1] + kwargs["max_new_tokens"],)
    assert model.training


def generate_recording_logits(model, prompt, kwargs, use_cache):
    """``generate``, also returning the (B, V) logits it sampled each token from."""
    seen = []
    real_sample = tinygpt_module._sample

    def recording_sample(logits, *args):
        seen.append(logits.copy())
        return real_sample(logits, *args)

    with mock.patch.object(tinygpt_module, "_sample", recording_sample):
        out = model.generate(prompt, **kwargs, use_cache=use_cache)
    return out, seen


@given(case=generate_cases(np.float32))
def test_cache_and_no_cache_generate_the_same_ids_float32(case):
    model, prompt, kwargs = case
    with_cache, cached_logits = generate_recording_logits(model, prompt, kwargs, True)
    without, full = generate_recording_logits(model, prompt, kwargs, False)
    a, b = with_cache.reshape(-1, with_cache.shape[-1]), without.reshape(-1, without.shape[-1])
    t0, ctx = prompt.shape[-1], model.config.context_length
    differs = np.nonzero((a != b).any(axis=0))[0]
    # steps taken from the same prefix: all of them, or up to the first token that differs
    same_prefix = len(full) if differs.size == 0 else differs[0] - t0 + 1
    for step in range(same_prefix):
        if step == 0 or t0 + step > ctx:  # prefill, or the window slid: the same arithmetic
            np.testing.assert_array_equal(cached_logits[step], full[step])
        else:
            assert_close_logits(cached_logits[step], full[step], np.float32)
    if differs.size:
        # The logits of every step so far agree to float32 rounding (asserted above), so this
        # token was a tie to within rounding: no order of summation decides it reliably.
        reject()
    np.testing.assert_array_equal(with_cache, without)


def test_the_cache_path_is_the_default_and_matches_step_by_step_greedy():
    mg.manual_seed(3)
    model = TinyGPT(vocab_size=50, context_length=6, d_model=16, n_heads=4, n_layers=2)
    prompt = np.array([[4, 8, 15], [16, 23, 42]])
    out = model.generate(prompt, 7, temperature=0)  # crosses the context at the 4th new token
    ids = prompt
    for _ in range(7):
        nxt = model(ids[:, -6:]).data[:, -1].argmax(-1)
        ids = np.concatenate([ids, nxt[:, None]], 1)
    np.testing.assert_array_equal(out, ids)
    np.testing.assert_array_equal(out, model.generate(prompt, 7, temperature=0, use_cache=False))


# --------------------------------------------------------------------------- inference only
def test_cached_forward_records_no_graph_and_leaves_the_weights_alone():
    mg.manual_seed(0)
    model = TinyGPT(vocab_size=20, context_length=5, d_model=8, n_heads=2, n_layers=1).eval()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    cache = model.new_cache(2)
    h = model.hidden_cached(np.zeros((2, 3), np.int64), cache)
    assert type(h) is np.ndarray  # a plain array: nothing to call backward() on
    assert is_grad_enabled()  # no_grad inside, grad mode restored after
    assert all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# --------------------------------------------------------------------------- clear errors
def test_bad_input_gives_clear_errors():
    mg.manual_seed(0)
    model = TinyGPT(vocab_size=20, context_length=5, d_model=8, n_heads=2, n_layers=2)
    cache = model.new_cache(1)
    with pytest.raises(RuntimeError, match=r"inference-only .* call \.eval\(\) first"):
        model.hidden_cached(np.array([[1, 2]]), cache)  # a fresh model is in training mode
    model.eval()
    with pytest.raises(TypeError, match="cache must be a KVCache"):
        model.hidden_cached(np.array([[1, 2]]), None)
    model.hidden_cached(np.array([[1, 2, 3, 4]]), cache)
    with pytest.raises(ValueError, match=r"holds 4 positions and 2 more would make 6, past "):
        model.hidden_cached(np.array([[1, 2]]), cache)
    assert cache.length == 4  # nothing was written: the cache is still good
    model.hidden_cached(np.array([[5]]), cache)
    with pytest.raises(ValueError, match=r"sequence length 0 must be within"):
        model.hidden_cached(np.zeros((1, 0), np.int64), model.new_cache(1))
    with pytest.raises(IndexError, match="embedding id 20 is out of range"):
        model.hidden_cached(np.array([[20]]), model.new_cache(1))
    with pytest.raises(ValueError, match=r"holds \(batch, heads, head_dim\) = \(1, 2, 4\)"):
        model.hidden_cached(np.zeros((3, 2), np.int64), model.new_cache(1))  # batch 3 vs 1
    wrong_dtype = KVCache(2, 1, 2, 4, 5, dtype=np.float64)
    with pytest.raises(ValueError, match=r"in float64, but this input needs .* in float32"):
        model.hidden_cached(np.array([[1]]), wrong_dtype)
    with pytest.raises(ValueError, match="KVCache max_length must be a positive int, got 0"):
        KVCache(1, 1, 1, 1, 0)
    with pytest.raises(TypeError, match="KVCache dtype must be floating point, got int64"):
        KVCache(1, 1, 1, 1, 4, dtype=np.int64)
    assert "length=0/5" in repr(model.new_cache(1))
    with pytest.raises(TypeError, match="use_cache must be True or False, got 'yes'"):
        model.generate(np.array([1, 2]), 2, use_cache="yes")
    for use_cache in (True, False):  # generate's own checks come first, either way
        with pytest.raises(ValueError, match="temperature must be >= 0, got -1"):
            model.generate(np.array([1, 2]), 1, temperature=-1, use_cache=use_cache)
        with pytest.raises(ValueError, match=r"shape \(T,\) or \(B, T\)"):
            model.generate(np.array([0.5]), 1, use_cache=use_cache)
        with pytest.raises(IndexError, match="embedding id 20 is out of range"):
            model.generate(np.array([1, 20]), 1, use_cache=use_cache)
