"""Neural-network building blocks: ``Module``, ``Parameter``, layers, ``functional``, ``init``.

Mirrors ``torch.nn`` where PyTorch has the concept, so code and weights transfer.
"""

from minigrad.nn import functional, init
from minigrad.nn.layers import Embedding, Linear
from minigrad.nn.module import IncompatibleKeys, Module, Parameter
from minigrad.nn.sparse import RowSparseGrad

__all__ = [
    "Embedding",
    "IncompatibleKeys",
    "Linear",
    "Module",
    "Parameter",
    "RowSparseGrad",
    "functional",
    "init",
]
