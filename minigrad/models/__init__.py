"""Small ready-made models.

* :class:`MLPLanguageModel` (with :class:`MLPConfig`): next-token prediction from a fixed window,
  Embedding -> concat -> Linear -> tanh -> Linear (``minigrad train``'s default);
* :class:`TinyGPT` (with :class:`TinyGPTConfig`): a small decoder-only transformer
  (``minigrad train --model transformer``).
"""

from minigrad.models.mlp_lm import MLPConfig, MLPLanguageModel
from minigrad.models.tinygpt import TinyGPT, TinyGPTConfig

__all__ = ["MLPConfig", "MLPLanguageModel", "TinyGPT", "TinyGPTConfig"]
