"""Test-wide settings: Hypothesis profiles, optional-peer markers."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# deadline=None: the first example of a test may include numba's JIT compilation (or a cache load).
settings.register_profile(
    "dev",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# More examples, for a nightly or a thorough local run: HYPOTHESIS_PROFILE=thorough pytest
settings.register_profile(
    "thorough",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# NUMBA_DISABLE_JIT=1 runs kernels as plain Python: keep examples few.
settings.register_profile(
    "nojit",
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_default = "nojit" if os.environ.get("NUMBA_DISABLE_JIT") == "1" else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))
