"""``python -m benchmarks NAME [args]``: run one benchmark module ``benchmarks/bench_NAME.py``.

Each module has ``main(argv) -> int`` and writes JSON + markdown under ``benchmarks/results/``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = available()
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m benchmarks NAME [--quick] [options]\n\nbenchmarks:")
        for n in names:
            print(f"  {n}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in names:
        print(f"unknown benchmark {name!r}; choose one of {names}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"benchmarks.bench_{name}")
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
