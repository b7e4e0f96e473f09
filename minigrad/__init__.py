"""minigrad: a from-scratch reverse-mode autograd, tokenizer and embedding stack, written to be read."""

__version__ = "0.1.0"
