"""``minigrad demo``: the quick start. ``explain`` on the seed's sentence, then a short ``train``.

It ends by printing where the plots are and the nearest-neighbour class agreement before and
after training: the seed's "tokens that appear in similar contexts end up with similar
embedding vectors", measured.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from minigrad.commands.common import add_colour_flag, add_command, echo
from minigrad.commands.train import (
    TrainSettings,
    add_arguments,
    report,
    run_training,
    settings_from_args,
)
from minigrad.explain import SEED_SENTENCE, explain
from minigrad.terminal import Style, use_colour

#: A shorter run than `minigrad train`'s default: the demo should take well under a minute.
DEMO_DEFAULTS = TrainSettings(steps=1500, out="runs/demo")


def command(args: argparse.Namespace) -> int:
    """explain 'I love AI', then a short train run (the quick start)

    Run `minigrad explain --seed-example` on the seed's sentence, then train the next-token MLP
    on the built-in corpus and report whether meaning emerged.
    """
    style = Style(use_colour(sys.stdout, args.color))
    explain(SEED_SENTENCE, seed_example=True, out=sys.stdout, style=style)
    echo()
    echo(style.bold("=" * 78))
    echo(style.bold("Now the same step, thousands of times, on the built-in synthetic corpus:"))
    echo("  its words fall into classes (animals, foods, vehicles, ...) that the model never sees.")
    echo()
    result = run_training(settings_from_args(args))
    echo()
    report(result)
    agree = result.metrics.get("neighbour_agreement")
    if agree is not None:
        echo(
            style.bold(
                f"neighbour agreement: before {agree['before']:.2f}, after "
                f"{agree['after']:.2f}  (plots in {result.out}/)"
            )
        )
    if result.files:
        echo(f"try: minigrad neighbors {result.out} cat")
    return result.exit_code


def register(subparsers: Any) -> None:
    p = add_command(subparsers, "demo", command)
    add_arguments(p, DEMO_DEFAULTS)
    add_colour_flag(p)
