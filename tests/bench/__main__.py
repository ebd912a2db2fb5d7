"""``python -m tests.bench [edge|recorder|delivery|ingest|assessment|api ...]``: run the named benchmarks, all by default."""

from __future__ import annotations

import importlib
import sys

BENCHES = ("edge", "recorder", "delivery", "ingest", "assessment", "api")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHES)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"\n=== bench: {name} ===", flush=True)
        importlib.import_module(f"tests.bench.{name}").main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
