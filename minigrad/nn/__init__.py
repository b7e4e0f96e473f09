"""Neural-network building blocks: ``Module``, ``Parameter``, layers, ``functional``, ``init``.

Mirrors ``torch.nn`` where PyTorch has the concept, so code and weights transfer.
"""

from minigrad.nn import functional, init
from minigrad.nn.activation import GELU, ReLU, Tanh
from minigrad.nn.attention import CausalSelfAttention
from minigrad.nn.container import ModuleList, Sequential
from minigrad.nn.dropout import Dropout
from minigrad.nn.layers import Embedding, Linear
from minigrad.nn.loss import CrossEntropyLoss
from minigrad.nn.module import IncompatibleKeys, Module, Parameter
from minigrad.nn.normalization import LayerNorm
from minigrad.nn.transformer import TransformerBlock
from minigrad.sparse import RowSparseGrad

__all__ = [
    "GELU",
    "CausalSelfAttention",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "IncompatibleKeys",
    "LayerNorm",
    "Linear",
    "Module",
    "ModuleList",
    "Parameter",
    "ReLU",
    "RowSparseGrad",
    "Sequential",
    "Tanh",
    "TransformerBlock",
    "functional",
    "init",
]
