"""The benchmark corpus: the Python standard library's own source, reproducibly.

``stdlib_corpus(n)`` concatenates the ``.py`` files under ``sysconfig.get_paths()["stdlib"]``
(recursively, in sorted path order, read as UTF-8 with undecodable bytes replaced) and returns
the first ``n`` bytes' worth of text.  Real text that nobody here wrote, present on every machine
with Python; the exact contents depend on the Python version, which every result records.

    >>> len(stdlib_corpus(1000).encode("utf-8")) <= 1000
    True

What it leaves out: ``site-packages`` (third-party code differs between machines).

``distinct_documents(n)`` is the corpus for training at scale without repetition: every source
and documentation file of the standard library and then of ``site-packages`` (``.py``, ``.pyi``,
``.rst``, ``.txt``, ``.md``), each file content once (duplicates by SHA-1 dropped), up to ``n``
bytes.  Repeating documents flatters counting (a repeat adds no distinct chunk), so this is the
honest corpus for training speed; its contents depend on the installed packages, which the
benchmark records (file count and digest).
"""

from __future__ import annotations

import hashlib
import sysconfig
from functools import lru_cache
from pathlib import Path


def stdlib_files() -> list[Path]:
    """All ``.py`` files of the standard library, sorted, excluding ``site-packages``."""
    return list(_stdlib_files())


@lru_cache(maxsize=1)
def _stdlib_files() -> tuple[Path, ...]:
    # walked once per process: the walk takes longer than reading the first megabyte
    root = Path(sysconfig.get_paths()["stdlib"])
    return tuple(
        sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts and p.is_file())
    )


def stdlib_documents(n_bytes: int) -> list[str]:
    """The same text as ``stdlib_corpus(n_bytes)``, one string per source file (the last one cut).

    ``"".join(stdlib_documents(n)) == stdlib_corpus(n)``.
    """
    text = stdlib_corpus(n_bytes)
    docs: list[str] = []
    pos = 0
    for path in stdlib_files():
        if pos >= len(text):
            break
        size = len(path.read_bytes().decode("utf-8", errors="replace"))
        docs.append(text[pos : pos + size])
        pos += size
    return docs


@lru_cache(maxsize=8)
def stdlib_corpus(n_bytes: int) -> str:
    """The first ``n_bytes`` of the concatenated standard-library sources, as text.

    The cut falls on a character boundary, so the UTF-8 size is at most ``n_bytes`` (a few
    bytes less when a multi-byte character straddles the limit).
    """
    if not isinstance(n_bytes, int) or n_bytes < 0:
        raise ValueError(f"n_bytes must be a non-negative int, got {n_bytes!r}")
    parts: list[bytes] = []
    total = 0
    for path in stdlib_files():
        if total >= n_bytes:
            break
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        data = text.encode("utf-8")
        parts.append(data)
        total += len(data)
    return b"".join(parts)[:n_bytes].decode("utf-8", errors="ignore")


#: the file kinds of ``distinct_documents``: source and documentation text
DISTINCT_SUFFIXES = (".py", ".pyi", ".rst", ".txt", ".md")


def distinct_documents(n_bytes: int) -> tuple[list[str], str]:
    """Distinct files of the stdlib, then ``site-packages``, as text, up to ``n_bytes`` of UTF-8.

    Returns ``(documents, digest)``: one string per file (whole files only: the one that would
    cross ``n_bytes`` is the last), and a SHA-1 of the documents in order, so that two results
    can be checked to be on the same corpus.  Files whose bytes equal an earlier file's are
    skipped; undecodable bytes are replaced.
    """
    if not isinstance(n_bytes, int) or n_bytes < 0:
        raise ValueError(f"n_bytes must be a non-negative int, got {n_bytes!r}")
    paths = sysconfig.get_paths()
    roots = [Path(paths["stdlib"]), Path(paths["purelib"])]
    seen: set[bytes] = set()
    docs: list[str] = []
    total = 0
    digest = hashlib.sha1()
    for root in dict.fromkeys(roots):  # purelib may equal stdlib's parent; keep the order
        for path in sorted(root.rglob("*")):
            if total >= n_bytes:
                break
            if path.suffix not in DISTINCT_SUFFIXES or not path.is_file():
                continue
            if root == roots[0] and "site-packages" in path.parts:
                continue  # reached through the second root, in its own order
            try:
                data = path.read_bytes()
            except OSError:
                continue
            h = hashlib.sha1(data).digest()
            if h in seen or not data:
                continue
            seen.add(h)
            digest.update(h)
            docs.append(data.decode("utf-8", errors="replace"))
            total += len(data)
    return docs, digest.hexdigest()


#: the file kinds of ``prose_corpus``: documentation, not code
PROSE_SUFFIXES = (".rst", ".md", ".txt")


@lru_cache(maxsize=4)
def prose_corpus(n_bytes: int) -> str:
    """English prose: the documentation files (``.rst``, ``.md``, ``.txt``) of
    ``distinct_documents``' roots, each content once, in sorted path order, up to ``n_bytes``.

    READMEs, licences, changelogs and manuals: written for people, not compilers.  The cut falls
    on a character boundary, as in ``stdlib_corpus``.
    """
    if not isinstance(n_bytes, int) or n_bytes < 0:
        raise ValueError(f"n_bytes must be a non-negative int, got {n_bytes!r}")
    paths = sysconfig.get_paths()
    seen: set[bytes] = set()
    parts: list[bytes] = []
    total = 0
    for root in dict.fromkeys([Path(paths["stdlib"]), Path(paths["purelib"])]):
        for path in sorted(root.rglob("*")):
            if total >= n_bytes:
                break
            if path.suffix not in PROSE_SUFFIXES or not path.is_file():
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            h = hashlib.sha1(data).digest()
            if h in seen or not data:
                continue
            seen.add(h)
            data = data.decode("utf-8", errors="replace").encode("utf-8")
            parts.append(data)
            total += len(data)
    return b"\n".join(parts)[:n_bytes].decode("utf-8", errors="ignore")


#: where ``multilingual_corpus`` looks for compiled gettext catalogs
LOCALE_DIR = Path("/usr/share/locale")


@lru_cache(maxsize=4)
def multilingual_corpus(n_bytes: int, locale_dir: Path = LOCALE_DIR) -> str:
    """Text in many languages and scripts: the translated messages of the system's gettext
    catalogs (``locale_dir/*/LC_MESSAGES/*.mo``: glib, gtk, coreutils, country and language
    names, ...), one message per line, up to ``n_bytes``.  Catalogs are taken round-robin over
    the languages (each language's catalogs in sorted order), so even a small prefix mixes
    scripts.

    Real sentences written by translators, in every script the system has catalogs for.  Raises
    ``FileNotFoundError`` on a machine without catalogs (a minimal container), so a benchmark can
    say why it skipped the section.
    """
    import gettext

    if not isinstance(n_bytes, int) or n_bytes < 0:
        raise ValueError(f"n_bytes must be a non-negative int, got {n_bytes!r}")
    parts: list[bytes] = []
    total = 0
    by_language: dict[str, list[Path]] = {}
    for path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.mo")):
        if not path.parts[-3].startswith("en"):  # English variants: not what this corpus is for
            by_language.setdefault(path.parts[-3], []).append(path)
    rounds = max((len(v) for v in by_language.values()), default=0)
    order = [v[i] for i in range(rounds) for v in by_language.values() if i < len(v)]
    for path in order:
        if total >= n_bytes:
            break
        try:
            with open(path, "rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
        except (OSError, UnicodeDecodeError, gettext.error, ValueError):  # type: ignore[attr-defined]
            continue
        lines = [str(v) for k, v in catalog.items() if k and v and str(v) != str(k)]
        if lines:
            data = "\n".join(lines).encode("utf-8", errors="replace")
            parts.append(data)
            total += len(data) + 1
    if not parts:
        raise FileNotFoundError(f"no gettext catalogs (*.mo) under {locale_dir}")
    return b"\n".join(parts)[:n_bytes].decode("utf-8", errors="ignore")
