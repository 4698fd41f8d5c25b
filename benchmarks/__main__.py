"""Run the benchmarks and print a table: ``python -m benchmarks [name ...]``."""

from __future__ import annotations

import importlib
import sys
import time

NAMES = ["ingest", "live", "loss", "memory", "browser", "tap", "trace", "lint"]


def table(rows: list[dict[str, object]]) -> str:
    columns = list(dict.fromkeys(column for row in rows for column in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def main(names: list[str]) -> None:
    for name in names or NAMES:
        module = importlib.import_module(f"benchmarks.{name}")
        started = time.perf_counter()
        rows = module.run()
        print(f"\n## {name} ({time.perf_counter() - started:.0f} s)\n")
        print((module.__doc__ or "").strip().splitlines()[0])
        print()
        print(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
