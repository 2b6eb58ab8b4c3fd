"""``deep-health switch``: the region's operator switches, as records in the state table.

::

    deep-health switch hold on --config health.toml --reason "failover drill"
    deep-health switch hold off --config health.toml
    deep-health switch drain on --config health.toml --reason "bad deploy 4711"
    deep-health switch status --config health.toml

Every instance of the region reads the records with its next evaluation (one evaluation
interval) and shows who/when/why in ``/health/details`` and its logs; a record survives restarts
and redeploys. ``hold``: once the region fails, it stays failed over until released (whether or
not the tracker is enabled). ``drain``: the region reports unhealthy. The environment and file
switches (:mod:`service.state.switches`) keep working beside these, for ONE PROCESS only: the
region's other instances do not see them, so this command is the one to use for a region.
``status`` also prints each damaged record it read (:mod:`service.state.records`) and a clock
that is off from the store's.

Exit codes: 0 done, 1 the store did not answer, 2 configuration error (no shared store).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import socket
import sys
import time
from typing import Any

__all__ = ["add_switch_parser", "run_switch", "who"]

_TIMEOUT = 5.0  # an operator's command may wait longer than an evaluation


def who() -> str:
    """``user@host`` of the operator running the command."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def add_switch_parser(commands: Any) -> None:
    """Add ``switch`` to the CLI's subcommands."""
    parser = commands.add_parser(
        "switch", help="set or show the region's hold/drain switch (shared state store)"
    )
    parser.add_argument("switch", choices=["hold", "drain", "status"])
    parser.add_argument("state", nargs="?", choices=["on", "off"])
    parser.add_argument("--config", help="TOML config (default: $DEEP_HEALTH_CONFIG)")
    parser.add_argument("--reason", default="", help="why (required to switch on)")
    parser.add_argument("--by", default=None, help="who (default: user@host)")


def run_switch(args: argparse.Namespace) -> int:
    """Run ``deep-health switch``; returns the exit code."""
    from service.cli.common import EXIT_CONFIG
    from service.cli.common import load_or_exit as _load
    from service.state import SWITCHES, StoreUnavailable, SwitchRecord
    from service.state.registry import factory

    if args.switch != "status" and args.state is None:
        print("deep-health: switch: say on or off", file=sys.stderr)
        return EXIT_CONFIG
    if args.state == "on" and not args.reason.strip():
        print("deep-health: switch: --reason is required to switch on", file=sys.stderr)
        return EXIT_CONFIG
    config = _load(args.config)
    store = factory(config.state.store)(config, timeout=_TIMEOUT)
    if store is None:
        print(
            "deep-health: configuration error: state.store: the switch command needs store = "
            '"dynamodb" (one process: DEEP_HEALTH_HOLD / DEEP_HEALTH_DRAIN or the switch files)',
            file=sys.stderr,
        )
        return EXIT_CONFIG

    async def act() -> str:
        try:
            if args.switch == "status":
                snapshot = await store.exchange({}, time.time())
                lines = [f"state store: {store.describe()}"]
                for name in SWITCHES:
                    record = snapshot.switches.get(name)
                    if record is None:
                        lines.append(f"{name}: off (never set)")
                    else:
                        lines.append(f"{name}: {'on' if record.on else 'off'} {record.describe()}")
                latch = snapshot.latch
                lines.append(f"latch: {latch.state or 'never written'} (version {latch.version})")
                for check, (failures, total) in sorted(snapshot.window.items()):
                    lines.append(f"window {check}: {failures}/{total} samples failed")
                # What a damaged record was read as is above; what was wrong with it, here.
                lines += [f"DAMAGED record: {damage}" for damage in snapshot.damage]
                if snapshot.clock_skew is not None:
                    lines.append(
                        f"CLOCK: this host's clock is {snapshot.clock_skew:+.1f}s off the "
                        "store's (an instance this far off does not feed the window)"
                    )
                return "\n".join(lines)
            record = SwitchRecord(
                name=args.switch,
                on=args.state == "on",
                by=args.by or who(),
                at=time.time(),
                reason=args.reason.strip(),
            )
            await store.set_switch(record)
            return f"{record.name} {args.state} {record.describe()}"
        finally:
            await store.close()

    try:
        print(asyncio.run(act()))
    except StoreUnavailable as exc:
        print(f"deep-health: switch: the state store did not answer ({exc})", file=sys.stderr)
        return 1
    except Exception as exc:  # a store's bug: one line, not a traceback (its text may hold an ARN)
        print(
            f"deep-health: switch: the state store failed ({type(exc).__name__})", file=sys.stderr
        )
        return 1
    return 0
