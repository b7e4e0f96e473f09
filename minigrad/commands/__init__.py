"""The subcommands of the ``minigrad`` command, one module each (``cli.py`` wires them up).

Each module has ``register(subparsers)`` (its flags and help) and ``command(args) -> int`` (its
exit code).  User mistakes raise :class:`~minigrad.commands.common.CLIError`, which ``cli.main``
prints as one line with exit code 2.
"""
