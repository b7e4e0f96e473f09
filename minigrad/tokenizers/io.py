"""Files for BPE tokenizers: minigrad's own format, tiktoken rank files, Hugging Face export.

minigrad's format (``BPETokenizer.save`` / ``BPETokenizer.load``) is the small text format of
``fileformat``, UTF-8, version 1::

    minigrad-bpe 1
    {"name": "demo", "pattern": "...", "special_tokens": {"<|endoftext|>": 300}, "n_ranks": 300}
    AA== 0
    AQ== 1
    ...
    aGk= 299

The header gives the split pattern's regex source (or null), the special tokens and the number
of ranks; then one line per token in rank order, ``base64(token bytes) rank``: exactly
tiktoken's ``.tiktoken`` format, so ``tail -n +3 demo.mgbpe > demo.tiktoken`` gives a file
tiktoken reads.  Base64 because tokens
are raw bytes, often not valid UTF-8 on their own.  The same tokenizer always gives the same
file, byte for byte.  A file that is not this format, has another version, or is cut short
raises ``ValueError`` saying which line.

``.tiktoken`` rank files (``save_tiktoken_ranks`` / ``load_tiktoken_ranks``) hold only the ranks:
the split pattern and special tokens live in tiktoken's code, so they must be given on load.

What this module leaves out: reading Hugging Face files (only export), and merges files in the
``vocab.json`` + ``merges.txt`` style.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import TYPE_CHECKING, Any

from minigrad.atomic import atomic_write_text
from minigrad.tokenizers import fileformat
from minigrad.tokenizers.merge import merge_small

if TYPE_CHECKING:
    from minigrad.tokenizers.bpe import BPETokenizer

FORMAT_NAME = "minigrad-bpe"
FORMAT_VERSION = 1


def _rank_lines(ranks: dict[bytes, int]) -> list[str]:
    return [
        f"{base64.b64encode(token).decode('ascii')} {rank}"
        for token, rank in sorted(ranks.items(), key=lambda kv: kv[1])
    ]


def _parse_rank_line(line: str, where: str) -> tuple[bytes, int]:
    parts = line.split()
    if len(parts) != 2:
        raise ValueError(f"{where}: expected 'base64 rank', got {line[:80]!r}")
    try:
        token = base64.b64decode(parts[0], validate=True)
        rank = int(parts[1])
    except (binascii.Error, ValueError):
        raise ValueError(f"{where}: cannot parse {line[:80]!r} as 'base64 rank'") from None
    return token, rank


# ---- minigrad's own format ------------------------------------------------------------------
def dumps(tok: BPETokenizer) -> str:
    """The file contents ``save`` writes, as a string."""
    header = {
        "name": tok.name,
        "pattern": tok.pattern,
        "special_tokens": dict(sorted(tok.special_tokens.items(), key=lambda kv: kv[1])),
        "n_ranks": len(tok.mergeable_ranks),
    }
    return fileformat.dumps(FORMAT_NAME, FORMAT_VERSION, header, _rank_lines(tok.mergeable_ranks))


def save(tok: BPETokenizer, path: str | os.PathLike[str]) -> None:
    """Write ``tok`` to ``path`` atomically in minigrad's format (see the module docstring)."""
    atomic_write_text(path, dumps(tok))


def loads(text: str, *, cls: type[BPETokenizer], source: str = "<string>") -> BPETokenizer:
    """Parse the contents of a minigrad tokenizer file as a ``cls``; any damage raises
    ``ValueError``."""
    header, body = fileformat.parse(text, FORMAT_NAME, FORMAT_VERSION, source, final_newline=False)
    expected = {"name", "pattern", "special_tokens", "n_ranks"}
    if not isinstance(header, dict) or not expected <= set(header):
        raise ValueError(f"{source}: the header on line 2 must be a JSON object with {expected}")
    n = header["n_ranks"]
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"{source}: n_ranks must be a non-negative int, got {n!r}")
    fileformat.check_count(body, n, "ranks", source)
    ranks: dict[bytes, int] = {}
    for i, line in enumerate(body):
        token, rank = _parse_rank_line(line, f"{source}, line {i + 3}")
        if rank != i:
            raise ValueError(f"{source}, line {i + 3}: expected rank {i}, got {rank}")
        ranks[token] = rank
    if len(ranks) != n:
        raise ValueError(f"{source}: the same token appears on two lines")
    try:
        return cls(
            ranks,
            pattern=header["pattern"],
            special_tokens=header["special_tokens"],
            name=header["name"],
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: invalid tokenizer: {exc}") from None


def load(path: str | os.PathLike[str], *, cls: type[BPETokenizer]) -> BPETokenizer:
    """Read a file written by ``save``."""
    return loads(fileformat.read_text(path, "tokenizer file"), cls=cls, source=str(path))


# ---- tiktoken rank files --------------------------------------------------------------------
def save_tiktoken_ranks(ranks: dict[bytes, int], path: str | os.PathLike[str]) -> None:
    """Write ``ranks`` in tiktoken's ``.tiktoken`` format: ``base64(token) rank`` per line."""
    atomic_write_text(path, "\n".join(_rank_lines(ranks)) + "\n")


def load_tiktoken_ranks(path: str | os.PathLike[str]) -> dict[bytes, int]:
    """Read a ``.tiktoken`` rank file (blank lines skipped); bad lines raise ``ValueError``."""
    ranks: dict[bytes, int] = {}
    for i, line in enumerate(fileformat.read_text(path, "tiktoken file").splitlines()):
        if not line.strip():
            continue
        token, rank = _parse_rank_line(line, f"{path}, line {i + 1}")
        if token in ranks:
            raise ValueError(f"{path}, line {i + 1}: token {token!r} appears twice")
        ranks[token] = rank
    return ranks


def from_tiktoken(encoding: Any, *, cls: type[BPETokenizer]) -> BPETokenizer:
    """A ``cls`` with the tables of a ``tiktoken.Encoding`` (ranks, pattern, specials)."""
    try:
        ranks = encoding._mergeable_ranks
        pattern = encoding._pat_str
        specials = encoding._special_tokens
    except AttributeError:
        raise TypeError(
            f"from_tiktoken expects a tiktoken.Encoding, got {type(encoding).__name__}"
        ) from None
    return cls(dict(ranks), pattern=pattern, special_tokens=dict(specials), name=encoding.name)


# ---- Hugging Face tokenizer.json export -----------------------------------------------------
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte to a printable character (used by HF's ByteLevel).

    Printable Latin-1 bytes map to themselves; the other 68 (controls, space, ...) map to
    U+0100 onwards, in byte order: ``bytes_to_unicode()[ord(" ")] == "Ġ"``.
    """
    keep = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    out: dict[int, str] = {}
    extra = 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(0x100 + extra)
            extra += 1
    return out


def recover_merges(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """The merge ``(left, right)`` behind every multi-byte token, in rank order.

    A token's merge is found by running BPE on its own bytes with only the tokens of lower
    rank: in a vocabulary built by merging, exactly two parts remain.  Tokens that do not split
    into two lower-ranked tokens (possible in hand-made rank tables) have no merge; they are
    left out (a Hugging Face BPE can then only produce them as a whole chunk).
    """
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) >= 2:
            parts = merge_small(token, ranks, limit=rank)
            if len(parts) == 2:
                merges.append((parts[0], parts[1]))
    return merges


# An atom followed by a possessive interval quantifier: \p{N}{1,3}+ and the like.
_POSSESSIVE_INTERVAL = re.compile(
    r"(\\[pP]\{[^}]*\}|\\.|\[(?:\\.|[^\]\\])*\]|[^\\()|])(\{\d+(?:,\d*)?\})\+"
)


def onig_pattern(pattern: str) -> str:
    r"""Rewrite a split pattern for Oniguruma, the regex engine of Hugging Face ``tokenizers``.

    Oniguruma (in its default Ruby syntax) reads ``X{1,3}+`` not as a possessive ``X{1,3}`` but
    as ``(X{1,3})+``, i.e. any number of X: GPT-4's ``\p{N}{1,3}+`` would swallow whole digit
    runs.  The atomic group ``(?>X{1,3})`` means what ``regex`` and tiktoken mean.  Other
    possessive quantifiers (``?+``, ``*+``, ``++``) mean the same in both engines.

    >>> print(onig_pattern(r"\p{N}{1,3}+|a"))
    (?>\p{N}{1,3})|a
    """
    return _POSSESSIVE_INTERVAL.sub(r"(?>\1\2)", pattern)


def huggingface_json(tok: BPETokenizer) -> dict[str, Any]:
    """The ``tokenizer.json`` contents for ``tok``, as a dict (see ``to_huggingface_json``)."""
    b2u = bytes_to_unicode()

    def show(token: bytes) -> str:
        return "".join(b2u[b] for b in token)

    vocab = {show(t): r for t, r in sorted(tok.mergeable_ranks.items(), key=lambda kv: kv[1])}
    merges = [[show(a), show(b)] for a, b in recover_merges(tok.mergeable_ranks)]
    byte_level = {
        "type": "ByteLevel",
        "add_prefix_space": False,
        "trim_offsets": False,
        "use_regex": False,
    }
    if tok.pattern is None:
        pre_tokenizer: dict[str, Any] = byte_level
    else:
        split = {
            "type": "Split",
            "pattern": {"Regex": onig_pattern(tok.pattern)},
            "behavior": "Isolated",
            "invert": False,
        }
        pre_tokenizer = {"type": "Sequence", "pretokenizers": [split, byte_level]}
    added = [
        {
            "id": idx,
            "content": text,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for text, idx in sorted(tok.special_tokens.items(), key=lambda kv: kv[1])
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": None,
        "decoder": dict(byte_level),
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            # a chunk that is itself a token maps to it directly, as in tiktoken
            "ignore_merges": True,
            "vocab": vocab,
            "merges": merges,
        },
    }


def to_huggingface_json(tok: BPETokenizer, path: str | os.PathLike[str]) -> None:
    """Write a ``tokenizer.json`` that ``tokenizers.Tokenizer.from_file`` loads.

    Byte-level BPE in Hugging Face terms: the split regex as a ``Split`` pre-tokenizer
    (behavior ``Isolated``), then ``ByteLevel(use_regex=False)`` to map bytes to GPT-2's
    printable characters; the vocabulary in that alphabet; merges recovered from the ranks
    (``recover_merges``); special tokens as added tokens.

    What the format cannot express exactly:

    * HF merges a pair only if that *pair* is a listed merge, while tiktoken merges any
      adjacent pair whose concatenation is a token.  They agree whenever the merge order inside
      a chunk follows the merges that built each token, which is the case for vocabularies
      trained by BPE on almost all text, but not guaranteed for every rank table.
    * HF runs the regex with Oniguruma, tiktoken and minigrad with Rust/Python regex engines:
      the built-in patterns behave the same, but a custom pattern using ``$`` (end of *line* in
      Oniguruma, end of *text* in ``regex``) or exotic Unicode classes may split differently.
    * HF always matches added (special) tokens in the text; it has no
      ``allowed_special`` / ``disallowed_special`` policy, so parity holds for text without
      special tokens only.
    """
    atomic_write_text(path, json.dumps(huggingface_json(tok), ensure_ascii=False, indent=1))
