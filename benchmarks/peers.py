"""Which peer libraries (PyTorch, tiktoken, HF tokenizers) this run may use.

A peer that is not installed is skipped with a note, never an error: every benchmark asks
``peer_available(name)`` (or tries the import itself) before it builds that peer's contenders.

To see what a run looks like on a machine without a peer, without uninstalling anything, set
``MINIGRAD_BENCH_HIDE_PEERS=torch,tiktoken``: ``peer_available`` then answers False for those
names, and ``hide_peers()`` (called by ``python -m benchmarks`` in every process it starts) makes
``import torch`` raise ``ModuleNotFoundError`` as it would on such a machine.

    >>> "numpy" in PEERS
    False
    >>> sorted(PEERS)
    ['tiktoken', 'tokenizers', 'torch']
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Sequence

#: The libraries minigrad is compared against, and what each one is for.
PEERS: dict[str, str] = {
    "torch": "PyTorch contenders (autograd, scatter, embedding step, cross-entropy, TinyGPT)",
    "tiktoken": "tiktoken contenders (encoding)",
    "tokenizers": "Hugging Face tokenizers contenders (BPE training, encoding)",
}

HIDE_ENV = "MINIGRAD_BENCH_HIDE_PEERS"


def hidden_peers() -> list[str]:
    """The peers named in ``$MINIGRAD_BENCH_HIDE_PEERS`` (comma-separated), in order."""
    raw = os.environ.get(HIDE_ENV, "")
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        raise ValueError(f"{HIDE_ENV}={raw!r} names {unknown}; known peers: {sorted(PEERS)}")
    return names


def peer_available(name: str) -> bool:
    """True when ``name`` can be imported here and is not hidden; never imports it."""
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; known peers: {sorted(PEERS)}")
    if name in hidden_peers():
        return False
    return importlib.util.find_spec(name) is not None


def missing_peers(names: Sequence[str] = tuple(PEERS)) -> list[str]:
    """The peers among ``names`` that this run cannot use."""
    return [n for n in names if not peer_available(n)]


class _Blocker(importlib.abc.MetaPathFinder):
    """Refuses to find the hidden top-level packages (and everything under them)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".", 1)[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden by {HIDE_ENV})")
        return None


def hide_peers() -> list[str]:
    """Make the peers in ``$MINIGRAD_BENCH_HIDE_PEERS`` unimportable in this process.

    Returns the hidden names.  Must run before anything imports them; a peer already imported
    stays usable (there is no honest way to unload a C extension).
    """
    names = hidden_peers()
    if names and not any(isinstance(f, _Blocker) for f in sys.meta_path):
        sys.meta_path.insert(0, _Blocker(names))
    return names
