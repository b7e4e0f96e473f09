"""Layers with weights: ``Embedding`` (a lookup table) and ``Linear`` (an affine map).

Both are thin: they own their ``Parameter``s, initialise them as PyTorch does, and call the
function of the same name in ``nn.functional``, where the math and its gradient are explained.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.grad_mode import no_grad
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module, Parameter
from minigrad.tensor import Tensor, as_dtype
from minigrad.validate import positive_int


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``; ``emb(ids)`` looks them up.

    >>> emb = Embedding(5, 3)
    >>> emb([[0, 4], [4, 4]]).shape        # ids of any shape -> ids.shape + (3,)
    (2, 2, 3)

    ``weight`` (V, d) starts as N(0, 1) samples, as in PyTorch (the row ``padding_idx``, if
    given, starts as zeros and never receives gradient).  Training changes only the rows of ids
    that occur in a batch.  With ``sparse=True`` the gradient is a
    :class:`~minigrad.sparse.RowSparseGrad` holding just those rows, and the optimizers update
    just those rows, so a step costs the same for V = 1,000 and V = 1,000,000.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        sparse: bool = False,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.num_embeddings = positive_int(num_embeddings, "Embedding num_embeddings")
        self.embedding_dim = positive_int(embedding_dim, "Embedding embedding_dim")
        if padding_idx is not None:
            padding_idx = F.check_padding_idx(padding_idx, self.num_embeddings)
        self.padding_idx = padding_idx
        self.sparse = bool(sparse)
        dt = as_dtype(dtype)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dt))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, 1) weights; the padding row zero."""
        with no_grad():
            init.normal_(self.weight)
            if self.padding_idx is not None:
                self.weight.data[self.padding_idx] = 0

    def forward(self, ids: Any) -> Tensor:
        return F.embedding(ids, self.weight, padding_idx=self.padding_idx, sparse=self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.sparse:
            s += ", sparse=True"
        return s


class Linear(Module):
    """``y = x @ weight.T + bias`` with ``weight`` of shape (out_features, in_features).

    >>> lin = Linear(4, 2)
    >>> lin(Tensor(np.ones((3, 5, 4), np.float32))).shape     # any leading dims
    (3, 5, 2)

    Initialisation as PyTorch: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32
    ) -> None:
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ValueError(
                f"Linear needs non-negative sizes, got in_features={in_features}, "
                f"out_features={out_features}"
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dt = as_dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dt))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(in), 1/sqrt(in)) for weight and bias: PyTorch's kaiming_uniform_(a=sqrt(5))."""
        with no_grad():
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
                init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
