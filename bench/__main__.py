"""``python -m bench`` (``make bench``): every benchmark, one after another."""

from __future__ import annotations

import importlib
import sys

SUITES = [
    "bench.engine",
    "bench.failover",
    "bench.throughput",
    "bench.memory",
    "bench.coldstart",
    "bench.peers",
]

if __name__ == "__main__":
    for name in SUITES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        print(f"## {name}\n", flush=True)
        sys.argv = [name]
        module.main()
