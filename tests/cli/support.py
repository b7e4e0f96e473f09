"""Helpers for driving ``minigrad`` as a subprocess (``python -m minigrad``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def cli_env() -> dict[str, str]:
    """The environment for a subprocess: this checkout importable, no colour."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.pop("NO_COLOR", None)
    return env


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m minigrad ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "minigrad", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(stderr: str, fragment: str) -> None:
    """A user error is one line ``minigrad: error: ...``, never a traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("minigrad: error: "), stderr
    assert fragment in lines[0], stderr
    assert "Traceback" not in stderr
