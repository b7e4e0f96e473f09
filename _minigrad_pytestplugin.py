"""minigrad's pytest plugin (entry point ``pytest11``: ``minigrad``): the ``minigrad`` profile.

An example that calls a numba kernel for the first time in a process compiles it (or loads it
from numba's cache), which takes from 0.3 s to several seconds, far beyond Hypothesis' 200 ms
default deadline.  Hypothesis then fails a correct test with ``DeadlineExceeded``, or with
"Unreliable test timings" once the replay, now compiled, runs fast.  The ``minigrad`` profile is
Hypothesis' ``default`` profile with ``deadline=None`` (Hypothesis' own ``ci`` profile drops the
deadline too, for timings on shared machines).

At start-up, before any conftest is imported, this plugin registers the profile and loads it
if nobody chose one: not with ``--hypothesis-profile``, not Hypothesis itself on CI (its ``ci``
profile).  A ``settings.load_profile(...)`` in your conftest, or ``@settings(deadline=...)`` on
a test, runs later and wins.  Disable the plugin with ``-p no:minigrad``.  To keep a deadline and
still pass on a cold cache, compile first: ``minigrad.testing.warm_up()``.

This is a top-level module, not part of the ``minigrad`` package, on purpose: pytest imports it
in every session, before your conftest runs, and importing ``minigrad`` would import numba
then, before a conftest could set ``NUMBA_*`` variables (numba reads them once, on import).
"""

from __future__ import annotations

import importlib.util
from typing import Any

#: the profile's name: ``pytest --hypothesis-profile=minigrad`` or ``settings.load_profile(...)``
PROFILE = "minigrad"

_loaded_by_plugin = False


def register_profile() -> Any:
    """Register the ``minigrad`` profile (Hypothesis' defaults, deadline=None); return it."""
    from hypothesis import settings

    profile = settings(settings.get_profile("default"), deadline=None)
    settings.register_profile(PROFILE, profile)
    return profile


def load_profile_unless_chosen() -> bool:
    """Register the ``minigrad`` profile and load it if ``default`` is the active profile.

    Returns True if it loaded it.  Any other active profile was chosen by someone (the user, or
    Hypothesis on CI) and is left alone.
    """
    from hypothesis import settings

    register_profile()
    if settings.get_current_profile_name() != "default":
        return False
    settings.load_profile(PROFILE)
    return True


def pytest_load_initial_conftests(early_config: Any, parser: Any, args: list[str]) -> None:
    # Runs before the initial conftests are imported: a conftest's load_profile() comes later
    # and wins.  Hypothesis applies --hypothesis-profile in its pytest_configure, later still.
    global _loaded_by_plugin
    if importlib.util.find_spec("hypothesis") is None:
        return  # minigrad without its dev extra: nothing to configure
    if getattr(early_config.known_args_namespace, "hypothesis_profile", None):
        register_profile()  # so that --hypothesis-profile=minigrad works
        return
    _loaded_by_plugin = load_profile_unless_chosen()


def pytest_report_header(config: Any) -> str | None:
    if not _loaded_by_plugin:
        return None
    from hypothesis import settings

    if settings.get_current_profile_name() != PROFILE:
        return None  # a conftest chose another one
    return (
        f"minigrad: Hypothesis profile {PROFILE!r} (deadline=None: first calls compile numba "
        "kernels); choose another with --hypothesis-profile, or disable with -p no:minigrad"
    )
