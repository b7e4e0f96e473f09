"""Test-wide settings: Hypothesis profiles, optional-peer markers."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from _minigrad_pytestplugin import register_profile

# The profiles below build on the `minigrad` profile that minigrad's pytest plugin registers
# (Hypothesis' defaults, deadline=None: the first example of a test may include numba's JIT
# compilation, or a cache load).  Registered here too, so they hold with `-p no:minigrad`.
_minigrad = register_profile()
_quiet = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile("dev", _minigrad, max_examples=40, suppress_health_check=_quiet)
# More examples, for a nightly or a thorough local run: HYPOTHESIS_PROFILE=thorough pytest
settings.register_profile("thorough", _minigrad, max_examples=400, suppress_health_check=_quiet)
# NUMBA_DISABLE_JIT=1 runs kernels as plain Python: keep examples few.
settings.register_profile("nojit", _minigrad, max_examples=10, suppress_health_check=_quiet)

_default = "nojit" if os.environ.get("NUMBA_DISABLE_JIT") == "1" else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))
