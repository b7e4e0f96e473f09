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

    The arguments are PyTorch's, in its order: ``max_norm`` renormalises the looked-up rows of
    ``weight`` in place before each lookup (:func:`~minigrad.nn.functional.embedding_renorm_`),
    ``scale_grad_by_freq`` divides each row's gradient by its id's count in the batch, and
    ``_weight`` / ``_freeze`` are what :meth:`from_pretrained` passes.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Any = None,
        _freeze: bool = False,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self.num_embeddings = positive_int(num_embeddings, "Embedding num_embeddings")
        self.embedding_dim = positive_int(embedding_dim, "Embedding embedding_dim")
        if padding_idx is not None:
            padding_idx = F.check_padding_idx(padding_idx, self.num_embeddings)
        self.padding_idx = padding_idx
        self.max_norm = None if max_norm is None else float(max_norm)
        self.norm_type = float(norm_type)
        self.scale_grad_by_freq = bool(scale_grad_by_freq)
        self.sparse = bool(sparse)
        if _weight is None:
            dt = as_dtype(dtype)
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dt))
            self.reset_parameters()
            if _freeze:
                self.weight.requires_grad_(False)
        else:  # the given table itself (shared memory, as in PyTorch), not initialised
            shape = tuple(getattr(_weight, "shape", ()))
            if shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(
                    f"Embedding _weight must have shape ({self.num_embeddings}, "
                    f"{self.embedding_dim}), got {shape}"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An ``Embedding`` whose table is ``embeddings`` (V, d), as PyTorch's.

        The table is used as it is (a Tensor or ndarray shares its memory, as in PyTorch, so
        ``max_norm`` renormalises it in place), not re-initialised: the ``padding_idx`` row keeps
        its values (and gets no gradient).  ``freeze=True`` (the default) makes the weight a
        constant: ``weight.requires_grad`` is ``not freeze``.

        >>> emb = Embedding.from_pretrained(np.eye(3, dtype=np.float32))
        >>> emb([2]).tolist(), emb.weight.requires_grad
        ([[0.0, 0.0, 1.0]], False)
        """
        data = embeddings.data if isinstance(embeddings, Tensor) else embeddings
        if not isinstance(data, np.ndarray):
            data = np.asarray(data, dtype=np.float32)
        if data.ndim != 2:
            raise ValueError(
                f"from_pretrained needs a 2-D table of embeddings (V, d), got shape {data.shape}"
            )
        rows, dim = data.shape
        return cls(
            rows,
            dim,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            _weight=embeddings if isinstance(embeddings, Tensor) else data,
            _freeze=freeze,
        )

    def reset_parameters(self) -> None:
        """N(0, 1) weights; the padding row zero."""
        with no_grad():
            init.normal_(self.weight)
            if self.padding_idx is not None:
                self.weight.data[self.padding_idx] = 0

    def forward(self, ids: Any) -> Tensor:
        return F.embedding(
            ids,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2.0:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
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
