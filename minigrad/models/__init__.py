"""Small ready-made models.

* :class:`MLPLanguageModel` (with :class:`MLPConfig`): next-token prediction from a fixed window,
  Embedding -> concat -> Linear -> tanh -> Linear.
"""

from minigrad.models.mlp_lm import MLPConfig, MLPLanguageModel

__all__ = ["MLPConfig", "MLPLanguageModel"]
