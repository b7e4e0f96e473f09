"""``minigrad generate CHECKPOINT --prompt TEXT``: continue a prompt with a trained model.

The last step of the seed's pipeline run forwards: text -> ids -> model -> logits for the next
token -> sample one -> append it -> repeat.  ``--temperature`` divides the logits before the
softmax (0 means always take the most likely token); ``--top-k`` samples only among the k most
likely tokens.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from minigrad.checkpoint import load_checkpoint
from minigrad.commands.common import CLIError, add_command, echo
from minigrad.grad_mode import no_grad
from minigrad.models import MLPLanguageModel, TinyGPT
from minigrad.tokenizers import UnknownWordError


def sample_next(logits: np.ndarray, temperature: float, top_k: int | None, rng: Any) -> int:
    """One token id drawn from ``softmax(logits / temperature)``, kept to the ``top_k`` best."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return int(np.argmax(logits))
    if top_k is not None and top_k < logits.shape[0]:
        cut = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= cut, logits, -np.inf)
    z = logits / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(logits.shape[0], p=p / p.sum()))


@no_grad()
def generate_mlp(
    model: MLPLanguageModel, ids: list[int], n: int, temperature: float, top_k: int | None, seed
) -> list[int]:
    """The MLP reads a fixed window: each new token is predicted from the last ``context`` ids."""
    window = model.config.context
    if len(ids) < window:
        raise CLIError(
            f"this model reads {window} tokens at a time; the prompt has only {len(ids)}"
        )
    rng = np.random.default_rng(seed)
    out = list(ids)
    for _ in range(n):
        logits = model(np.array([out[-window:]], dtype=np.int64)).data[0]
        out.append(sample_next(logits, temperature, top_k, rng))
    return out


def command(args: argparse.Namespace) -> int:
    """continue a prompt with a trained checkpoint (MLP or transformer)

    Encode PROMPT, then repeatedly predict, sample and append the next token.
    """
    if args.max_new_tokens < 0:
        raise CLIError(f"--max-new-tokens must be >= 0, got {args.max_new_tokens}")
    if not (args.temperature >= 0 and math.isfinite(args.temperature)):  # NaN fails both
        raise CLIError(f"--temperature must be a finite number >= 0, got {args.temperature}")
    if args.top_k is not None and args.top_k < 1:
        raise CLIError(f"--top-k must be >= 1, got {args.top_k}")
    if args.seed < 0:
        raise CLIError(f"--seed must be >= 0, got {args.seed}")
    ck = load_checkpoint(args.checkpoint)
    try:
        ids = list(ck.tokenizer.encode(args.prompt))
    except UnknownWordError as exc:
        raise CLIError(f"the prompt has a word the model has never seen: {exc}") from None
    except ValueError:  # tiktoken's policy: special-token text in ordinary input is refused
        found = [t for t in getattr(ck.tokenizer, "special_tokens", {}) if t in args.prompt]
        raise CLIError(
            f"the prompt contains {', '.join(map(repr, found)) or 'special-token text'}, the "
            "text of a special token; a prompt is ordinary text: leave it out"
        ) from None
    if not ids:
        raise CLIError("the prompt is empty")
    if isinstance(ck.model, TinyGPT):
        out = ck.model.generate(
            np.array(ids, dtype=np.int64),
            args.max_new_tokens,
            temperature=args.temperature,
            top_k=args.top_k,
            seed=args.seed,
        ).reshape(-1)
        out = [int(i) for i in out]
    else:
        out = generate_mlp(
            ck.model, ids, args.max_new_tokens, args.temperature, args.top_k, args.seed
        )
    echo(ck.tokenizer.decode(out))
    return 0


def register(subparsers: Any) -> None:
    p = add_command(subparsers, "generate", command)
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="the --out folder of `minigrad train`")
    p.add_argument("--prompt", required=True, help="the text to continue")
    p.add_argument("--max-new-tokens", type=int, default=20, help="default %(default)s")
    p.add_argument(
        "--temperature", type=float, default=1.0, help="0 = greedy (default %(default)s)"
    )
    p.add_argument("--top-k", type=int, default=None, help="sample among the k most likely")
    p.add_argument("--seed", type=int, default=0, help="for a reproducible draw")
