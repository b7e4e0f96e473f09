"""Differentiable operations, grouped by kind; each one a ``Function`` with forward and backward
side by side.

Naming: an op is named for what it computes (``Mul``, ``MatMul``, ``Softmax``,
``EmbeddingLookup``, ``CrossEntropy``) and is used as ``Op.apply(...)``; a module in ``nn`` is
named for the layer.  The fused ops behind the layers whose PyTorch name is also the name of
their function carry the name of their computation instead, so that ``Linear`` always means the
module: ``linear.Affine`` (``nn.Linear``), ``normalization.NormalizeRows`` (``nn.LayerNorm``),
``elementwise.ApplyMask`` (``nn.Dropout``).  The elementwise activations are the one overlap:
``elementwise.Tanh`` is the op, ``nn.Tanh`` a one-line module around it, named as in PyTorch.
``grad_fn`` shows an op as ``<NameBackward>`` (``<AffineBackward>``).

The ops call the compiled kernels (``minigrad.kernels``) only inside ``forward`` and
``backward``, through the kernels package's lazy attributes, so importing an op loads no numba.
"""

from minigrad.autograd import register_buffer_cache
from minigrad.kernels.buffer_cache import buffer_cache

# The embedding and cross-entropy backwards return buffers of the kernels' cache as gradients;
# the engine may store such a buffer as a leaf's .grad without a copy (the cache hands it out
# again only once nobody refers to it).  Told here, where both sides are known.
register_buffer_cache(buffer_cache.holds)
