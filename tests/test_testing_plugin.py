"""Property tests of numba-backed code pass on a cold JIT cache under Hypothesis' defaults.

The pytest plugin installed with minigrad (entry point ``pytest11``) loads the ``minigrad``
Hypothesis profile unless a profile was chosen; the ``ids()`` / ``targets()`` strategies and
``warm_up()`` compile kernels before Hypothesis times anything.  Checked the way a user meets
them: pytest in a subprocess, in a temporary folder (none of this project's conftest or
settings), with an empty ``NUMBA_CACHE_DIR`` where the cache must be cold.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import warm_up

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()

#: environment variables that change what a pytest run does, or make Hypothesis think it runs
#: on CI (it then loads its own "ci" profile, which has no deadline either)
_CI_VARIABLES = {
    "CI",
    "TF_BUILD",
    "BUILDKITE",
    "CIRCLECI",
    "CIRRUS_CI",
    "CODEBUILD_BUILD_ID",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "HEROKU_TEST_RUN_ID",
    "TEAMCITY_VERSION",
    "bamboo.buildKey",
    "__TOX_ENVIRONMENT_VARIABLE_ORIGINAL_CI",
}
_PYTEST_VARIABLES = {"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}

cold_jit = pytest.mark.skipif(
    os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="needs numba's JIT to have a cold cache"
)


def run_pytest(folder: Path, files: dict[str, str], *args: str, env: dict | None = None):
    """Write ``files`` into ``folder`` and run pytest there, as a user would."""
    (folder / "pytest.ini").write_text("[pytest]\n")  # the folder is the rootdir: no settings
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in _CI_VARIABLES | _PYTEST_VARIABLES and not k.startswith("HYPOTHESIS")
    }
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_plugin_is_installed_as_a_pytest11_entry_point():
    found = {e.name: e.value for e in entry_points(group="pytest11")}
    assert found.get("minigrad") == "_minigrad_pytestplugin", (
        "the minigrad pytest plugin is not registered: reinstall (pip install -e .) so that "
        "the entry point in pyproject.toml takes effect"
    )
    assert (
        '[project.entry-points.pytest11]\nminigrad = "_minigrad_pytestplugin"'
        in (ROOT / "pyproject.toml").read_text()
    )


def test_the_plugin_imports_neither_minigrad_nor_numba():
    # pytest imports it before any conftest; numba read then would ignore NUMBA_* variables
    # that a conftest sets
    code = (
        "import sys, _minigrad_pytestplugin; "
        "assert 'numba' not in sys.modules and 'minigrad' not in sys.modules, sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ----------------------------------------------------------------- cold numba cache
USER_TEST = """
    import numpy as np
    from hypothesis import given, settings, strategies as st
    from minigrad import nn


    @given(st.lists(st.integers(0, 49), min_size=1, max_size=20), st.booleans())
    def test_only_touched_rows_get_gradient(ids, sparse):
        emb = nn.Embedding(50, 8, sparse=sparse)
        emb(np.array(ids)).sum().backward()
        grad = emb.weight.grad.to_dense() if sparse else emb.weight.grad
        assert set(np.flatnonzero(grad.any(axis=1))) == set(ids)


    def test_the_profile_is_minigrads():
        assert settings.get_current_profile_name() == "minigrad"
        assert settings.default.deadline is None
"""


@cold_jit
def test_a_users_embedding_property_passes_on_a_cold_cache_with_default_settings(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    result = run_pytest(tmp_path, {"test_user.py": USER_TEST}, env={"NUMBA_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    # the cache was cold: this run compiled the kernels and wrote them there
    assert list(cache.rglob("*.nbi")), "nothing compiled: the test did not start cold"
    assert "minigrad: Hypothesis profile 'minigrad'" in result.stdout  # the report header


KEEPS_DEADLINE_CONFTEST = """
    from datetime import timedelta

    from hypothesis import settings

    # a user who keeps Hypothesis' 200 ms deadline, explicitly
    settings.register_profile("mine", deadline=timedelta(milliseconds=200))
    settings.load_profile("mine")
"""

KEEPS_DEADLINE_TEST = """
    from datetime import timedelta

    import numpy as np
    from hypothesis import given, settings, strategies as st
    from minigrad import nn
    from minigrad.testing import ids


    def test_the_users_profile_was_not_overridden():
        assert settings.get_current_profile_name() == "mine"
        assert settings.default.deadline == timedelta(milliseconds=200)


    # building ids() compiles the embedding kernels now, at import, outside Hypothesis' timing
    @given(ids(vocab_size=50, distribution="zipf"), st.booleans(), st.booleans())
    def test_gradients_accumulate_over_two_lookups(token_ids, sparse, double):
        emb = nn.Embedding(50, 4, sparse=sparse, dtype=np.float64 if double else np.float32)
        emb(token_ids).sum().backward()
        emb(token_ids[..., :1]).sum().backward()  # a second gradient is added to the first
        grad = emb.weight.grad.to_dense() if sparse else emb.weight.grad
        counts = np.bincount(token_ids.ravel(), minlength=50)
        counts += np.bincount(token_ids[..., :1].ravel(), minlength=50)
        np.testing.assert_allclose(grad, np.repeat(counts[:, None], 4, axis=1))
"""


@cold_jit
def test_strategies_compile_first_so_a_users_200ms_deadline_holds_on_a_cold_cache(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    files = {"conftest.py": KEEPS_DEADLINE_CONFTEST, "test_user.py": KEEPS_DEADLINE_TEST}
    result = run_pytest(tmp_path, files, env={"NUMBA_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert list(cache.rglob("*.nbi")), "nothing compiled: the test did not start cold"
    assert "minigrad: Hypothesis profile" not in result.stdout


# ----------------------------------------------------------------- who chooses the profile
PROFILE_PROBE = """
    import os

    from hypothesis import settings


    def test_profile():
        assert settings.get_current_profile_name() == os.environ["EXPECTED_PROFILE"]
"""

GRADCHECK_PROBE = """
    import numpy as np

    import minigrad as mg
    from minigrad.autograd import Function
    from minigrad.testing import gradcheck


    class Square(Function):
        def forward(self, a):
            return a * a

        def backward(self, grad):
            return grad * self.inputs[0].data  # should be 2 * a * grad


    def test_wrong_backward():
        x = mg.tensor(np.array([0.5, 2.0]), requires_grad=True)
        assert gradcheck(lambda t: Square.apply(t).sum(), x)
"""


def test_a_profile_chosen_on_the_command_line_wins_and_gradcheck_shows_its_message(tmp_path):
    # (one pytest run for two checks: each run costs a second or two of start-up)
    files = {"test_probe.py": PROFILE_PROBE, "test_gradcheck.py": GRADCHECK_PROBE}
    env = {"EXPECTED_PROFILE": "default"}
    result = run_pytest(tmp_path, files, "--hypothesis-profile=default", env=env)
    out = result.stdout
    assert result.returncode == 1 and "1 failed, 1 passed" in out, out + result.stderr
    assert "PASSED test_probe.py::test_profile" in out
    assert "minigrad: Hypothesis profile" not in out
    # gradcheck's message, at the user's line; gradcheck's own code is hidden
    assert "2 of 2 Jacobian entries differ" in out and "analytic 2.0, numeric 4.0" in out
    assert "assert gradcheck(lambda t: Square.apply(t).sum(), x)" in out
    assert "def gradcheck(" not in out and "_compare(" not in out
    assert "raise GradcheckError" not in out


@pytest.fixture
def restore_hypothesis_profile():
    from hypothesis import settings

    name = settings.get_current_profile_name()
    yield settings
    settings.load_profile(name)


class _EarlyConfig:
    """What pytest_load_initial_conftests reads from pytest's early config."""

    def __init__(self, hypothesis_profile: str | None) -> None:
        self.known_args_namespace = type("Args", (), {"hypothesis_profile": hypothesis_profile})


@pytest.mark.parametrize(
    ("active", "option", "expected"),
    [
        ("default", None, "minigrad"),  # nobody chose: the plugin's profile
        ("ci", None, "ci"),  # Hypothesis chose its CI profile: left alone
        ("dev", None, "dev"),  # a profile loaded before (by another plugin): left alone
        ("default", "thorough", "default"),  # --hypothesis-profile: Hypothesis loads it later
    ],
)
def test_the_plugin_loads_its_profile_only_if_nobody_chose_one(
    restore_hypothesis_profile, active, option, expected
):
    import _minigrad_pytestplugin as plugin

    settings = restore_hypothesis_profile
    settings.load_profile(active)
    plugin.pytest_load_initial_conftests(_EarlyConfig(option), None, [])
    assert settings.get_current_profile_name() == expected
    # registered either way, so that --hypothesis-profile=minigrad works
    minigrad, default = settings.get_profile("minigrad"), settings.get_profile("default")
    assert minigrad.deadline is None and minigrad.max_examples == default.max_examples


# ----------------------------------------------------------------- warm_up
@pytest.mark.nojit
def test_warm_up_runs_each_group_once_and_leaves_random_streams_and_grad_mode_alone(monkeypatch):
    module = sys.modules["minigrad.testing.warmup"]
    ran = []
    monkeypatch.setattr(module, "_done", set())
    monkeypatch.setitem(module.GROUPS, "gelu", lambda: ran.append(mg.is_grad_enabled()))
    mg.manual_seed(0)
    expected = mg.randn(3).data
    mg.manual_seed(0)
    with mg.no_grad():
        warm_up("gelu", "embedding")
        warm_up("gelu")
        assert not mg.is_grad_enabled()
    assert ran == [True]  # once, with grad mode on (it compiles backward kernels too)
    np.testing.assert_array_equal(mg.randn(3).data, expected)
    with pytest.raises(ValueError, match="unknown warm-up group"):
        warm_up("attention")


@pytest.mark.nojit
def test_building_ids_and_targets_warms_up_their_kernels(monkeypatch):
    from minigrad.testing import ids, targets

    module = sys.modules["minigrad.testing.language"]
    calls = []
    monkeypatch.setattr(module, "warm_up", lambda *groups: calls.append(groups))
    ids(10)
    targets(5, ignore_index=-100)
    assert calls == [("embedding",), ("cross_entropy",)]


def test_warm_up_compiles_every_group():
    warm_up()  # every group runs through the public API without error (cached after once)
    assert set(sys.modules["minigrad.testing.warmup"]._done) == {
        "embedding",
        "cross_entropy",
        "gelu",
        "optim",
        "transformer",
    }


def test_readme_documents_the_plugin():
    section = README.split("## Write your own op", 1)[1].split("\n## ", 1)[0]
    for words in ("-p no:minigrad", "deadline=None", "warm_up()", "--hypothesis-profile"):
        assert words in section


def test_readme_example_is_the_tested_file():
    example = (ROOT / "tests" / "test_readme_own_op.py").read_text()
    section = README.split("## Write your own op", 1)[1]
    assert "```python\n" + example + "```" in section
