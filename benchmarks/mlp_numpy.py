"""The floor for the MLP language-model benchmark: the same model, forward and backward by hand.

Model (as in ``bench_mlp_lm``): ids (B, ctx) -> Embedding(V, d) -> flatten (B, ctx*d) ->
Linear(ctx*d, H) -> tanh -> Linear(H, V) -> cross-entropy (mean) -> SGD.

Every gradient is written out, with the same kernels minigrad uses for the embedding gradient
(``scatter_add`` / ``row_sparse_sum``), so the gap between this and minigrad is what the autograd
graph costs, nothing else.  Buffers are not reused across steps (minigrad cannot either), but
the cross-entropy gradient is computed in place in the exp buffer, as a careful hand-written
version would.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.kernels import scatter_add
from minigrad.kernels.sparse_rows import row_sparse_sum


def init_params(vocab: int, dim: int, ctx: int, hidden: int, seed: int = 0) -> dict[str, Any]:
    """Float32 weights with PyTorch's default scales (N(0,1) table, U(+-1/sqrt(in)) linears)."""
    rng = np.random.default_rng(seed)
    f32 = np.float32

    def uni(fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
        b = 1 / np.sqrt(fan_in)
        return rng.uniform(-b, b, size=shape).astype(f32)

    return {
        "emb.weight": rng.standard_normal((vocab, dim)).astype(f32),
        "fc1.weight": uni(ctx * dim, (hidden, ctx * dim)),
        "fc1.bias": uni(ctx * dim, (hidden,)),
        "fc2.weight": uni(hidden, (vocab, hidden)),
        "fc2.bias": uni(hidden, (vocab,)),
    }


def make_step(
    params: dict[str, np.ndarray],
    ids: np.ndarray,
    target: np.ndarray,
    lr: float,
    sparse: bool = False,
):
    """A function doing one SGD step in place on ``params``; it returns the loss (float)."""
    E, W1, b1 = params["emb.weight"], params["fc1.weight"], params["fc1.bias"]
    W2, b2 = params["fc2.weight"], params["fc2.bias"]
    B, ctx = ids.shape
    d = E.shape[1]
    rows = np.arange(B)
    lr32 = np.float32(lr)

    def step() -> float:
        # forward
        x = np.take(E, ids, axis=0).reshape(B, ctx * d)
        h = x @ W1.T
        h += b1
        np.tanh(h, out=h)
        z = h @ W2.T
        z += b2
        m = z.max(axis=1, keepdims=True)
        e = np.subtract(z, m)
        np.exp(e, out=e)
        s = e.sum(axis=1)
        loss = float(np.mean(m[:, 0] + np.log(s) - z[rows, target]))
        # backward: dL/dz = (softmax - one_hot) / B
        e /= s[:, None] * np.float32(B)
        e[rows, target] -= np.float32(1.0 / B)
        gz = e
        gW2 = gz.T @ h
        gb2 = gz.sum(axis=0)
        gh = gz @ W2
        gh *= 1 - h * h  # tanh' = 1 - tanh^2
        gW1 = gh.T @ x
        gb1 = gh.sum(axis=0)
        gx = (gh @ W1).reshape(B, ctx, d)
        # update (SGD)
        for p, g in ((W2, gW2), (b2, gb2), (W1, gW1), (b1, gb1)):
            p -= lr32 * g  # in place: p is the array in ``params``
        if sparse:
            idx, vals = row_sparse_sum(ids, gx, num_rows=E.shape[0])
            E[idx] -= lr32 * vals
        else:
            gE = np.zeros(E.shape, E.dtype)
            scatter_add(gE, ids, gx)
            np.subtract(E, lr32 * gE, out=E)
        return loss

    return step
