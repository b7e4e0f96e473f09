"""Differentiable operations, grouped by kind; each one a ``Function`` with forward and backward
side by side."""
