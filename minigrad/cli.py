"""The ``minigrad`` command: the seed's pipeline from the shell.

    minigrad explain "I love AI"        text -> tokens -> ids -> one-hot -> embeddings -> one step
    minigrad train                      train the next-token MLP on the built-in corpus
    minigrad generate DIR --prompt TEXT continue a prompt with a trained model
    minigrad neighbors DIR WORD         nearest words by cosine similarity in a checkpoint
    minigrad graph [--expr EXPR]        the computation graph backward() walks, as a picture
    minigrad newton                     what a second derivative is for (Newton's method)
    minigrad tokenizer train|encode|decode
    minigrad demo                       explain, then a short train: the quick start
    minigrad bench                      side-by-side benchmarks vs PyTorch, tiktoken, HF

``main(argv)`` returns the exit code instead of exiting, so tests can call it in-process.
Mistakes in what was asked (a missing file, an unknown word, a damaged checkpoint) print one
line, ``minigrad: error: ...``, and return 2, like argparse's own usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from minigrad import __version__
from minigrad.checkpoint import CheckpointError
from minigrad.commands import (
    bench,
    demo,
    explain_cmd,
    generate,
    graph,
    neighbors,
    newton_cmd,
    tokenizer_cmd,
    train,
)
from minigrad.commands.common import CLIError

#: The subcommand modules, in the order ``minigrad --help`` lists them.
COMMANDS = (
    explain_cmd,
    newton_cmd,
    train,
    generate,
    neighbors,
    graph,
    tokenizer_cmd,
    demo,
    bench,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="From-scratch autograd, BPE tokenizer and embeddings, written to be read. "
        "Start with `minigrad demo`.",
    )
    parser.add_argument("--version", action="version", version=f"minigrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``minigrad`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code or 0)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (CLIError, CheckpointError) as exc:
        print(f"minigrad: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minigrad: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `minigrad explain ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
