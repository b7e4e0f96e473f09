"""minigrad: a from-scratch autograd, tokenizer and embedding stack, written to be read.

The seed's pipeline, module by module::

    text --tokenizers--> ids --nn.Embedding--> vectors --nn layers--> logits
         --nn.functional.cross_entropy--> loss --Tensor.backward()--> .grad --optim--> update
"""

import numpy as _np

from minigrad import autograd as autograd
from minigrad import nn, optim
from minigrad.autograd import Function, grad
from minigrad.creation import (
    arange,
    cat,
    from_numpy,
    full,
    generator,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    stack,
    tensor,
    zeros,
    zeros_like,
)
from minigrad.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from minigrad.tensor import Tensor, where
from minigrad.tensor_math import ValuesIndices

float32 = _np.float32
float64 = _np.float64
int64 = _np.int64
int32 = _np.int32
bool_ = _np.bool_

__version__ = "0.1.0"

__all__ = [
    "Function",
    "Tensor",
    "ValuesIndices",
    "arange",
    "autograd",
    "bool_",
    "cat",
    "enable_grad",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "generator",
    "grad",
    "int32",
    "int64",
    "is_grad_enabled",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "randint",
    "randn",
    "set_grad_enabled",
    "stack",
    "tensor",
    "where",
    "zeros",
    "zeros_like",
]
