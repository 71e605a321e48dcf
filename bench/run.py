"""Run the benchmarks: the main() of every bench/bench_<name>.py, which returns its figures.

    python -m bench.run [NAME ...]

`make bench` runs this through scripts/devenv.py, on a fresh and migrated database. Without
names, it runs all but those in ON_REQUEST. Exits 1 when a figure misses its target.
"""

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import django

BENCH_DIR = Path(__file__).resolve().parent
# Run only when named: they take an hour or more.
ON_REQUEST = {"fleet"}


def bench_names() -> list[str]:
    return sorted(path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py"))


def main(argv: Sequence[str]) -> int:
    available = bench_names()
    names = list(argv) or [name for name in available if name not in ON_REQUEST]
    if unknown := sorted(set(names) - set(available)):
        print(f"Unknown benchmarks: {', '.join(unknown)}. There are: {', '.join(available)}.")
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_loyalty.settings.test")
    django.setup()
    missed = []
    for name in names:
        print(f"{name}:", flush=True)
        for figure in importlib.import_module(f"bench.bench_{name}").main():
            print(figure.line(), flush=True)
            if not figure.met:
                missed.append(f"{name}: {figure.name}")
    if missed:
        print(f"Missed {len(missed)} target(s): {'; '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
