"""Optimizers: ``SGD``, ``Adam``, ``AdamW``; row-sparse gradients update only their rows."""

from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
