"""``deep-health switch``: the region's operator switches, as records in the state table.

::

    deep-health switch hold on --config health.toml --reason "failover drill"
    deep-health switch hold off --config health.toml
    deep-health switch drain on --config health.toml --reason "bad deploy 4711"
    deep-health switch status --config health.toml

Every instance of the region reads the records with its next evaluation (one evaluation
interval) and shows who/when/why in ``/health/details`` and its logs; a record survives restarts
and redeploys. ``hold``: never fails a healthy region (it keeps serving, the hold is *armed*);
once the region fails, it stays failed over until released (the hold is *engaged*), whether or
not the tracker is enabled. ``drain``: the region reports unhealthy now. The environment and file
switches (:mod:`service.state.switches`) keep working beside these, for ONE PROCESS only: the
region's other instances do not see them, so this command is the one to use for a region.
``status`` also prints each damaged record it read (:mod:`service.state.records`) and a clock
that is off from the store's.

Exit codes: 0 done, 1 the store did not answer, 2 configuration error (no shared store), 130
interrupted (Ctrl-C: the switch may or may not have been written; run ``switch status``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import socket
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.config import Config

__all__ = ["add_switch_parser", "latch_text", "run_switch", "who"]

_TIMEOUT = 5.0  # an operator's command may wait longer than an evaluation


def who() -> str:
    """``user@host`` of the operator running the command."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


_MEANING = {
    (
        "hold",
        True,
    ): "\n  a healthy region keeps serving; once a failure latches it stays failed over"
    " until `switch hold off` (to fail over now: `switch drain on`)",
    ("hold", False): "\n  a latched region now recovers as usual (recover_after, min_hold, quiet)",
    ("drain", True): "\n  the region reports unhealthy (503) from its next evaluation",
    ("drain", False): "\n  the region recovers as after any failure (recover_after, min_hold,"
    " quiet)",
}
"""What a switch now does, printed under ``switch ... on|off`` (every instance: next evaluation)."""


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def latch_text(state: Mapping[str, Any] | None, config: Config, now: float) -> str:
    """The region's latch for people: whether it holds the region failed and what recovery
    still waits for (the words of ``/health/details``).

    Args:
        state: The stored latch (epoch seconds), or None when never written.
        config: Its ``[failover]`` settings say what recovery needs.
        now: Epoch seconds.
    """
    from service.state.records import latch_from
    from service.verdict.rules import latch_reason

    if not state:
        return "latch: never written (no failure recorded)"
    latch = latch_from(state, now)
    if latch.latched_at is None:
        if latch.failures:
            return f"latch: not latched; {latch.failures} unhealthy evaluation(s) in a row"
        return "latch: not latched (healthy)"
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(latch.latched_at))
    text = f"latch: LATCHED since {since} ({_ago(now - latch.latched_at)})"
    if latch.last_bad is not None:
        text += f"; last unhealthy evaluation {_ago(now - latch.last_bad)}"
    waits = latch_reason(
        latch,
        latch,
        instant_healthy=True,
        held=False,
        settings=config.failover.tracker_settings(),
        now=now,
    )
    return f"{text}; {waits}" if waits else text


def add_switch_parser(commands: Any) -> None:
    """Add ``switch`` to the CLI's subcommands."""
    parser = commands.add_parser(
        "switch",
        help="set or show the region's hold/drain switch (shared state store)",
        description="Set or show the region's operator switches, kept in its state table (store"
        ' = "dynamodb"): every instance reads them with its next evaluation. drain: the region'
        " reports unhealthy (fail over now). hold: a healthy region keeps serving; once a"
        " failure latches, it stays failed over until the hold is released. status: both"
        " switches, the latch and the failure window. Exit 0 done, 1 the store did not answer,"
        " 2 bad input, 130 interrupted.",
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
                lines.append(latch_text(snapshot.latch.state, config, time.time()))
                for check, counts in sorted(snapshot.window.items()):
                    lines.append(
                        f"window {check}: {counts.failures}/{counts.total} samples failed, "
                        f"in {sum(1 for f, _ in counts.buckets if f)}/{len(counts.buckets)} "
                        "buckets"
                    )
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
            return (
                f"{record.name} {args.state} {record.describe()}{_MEANING[record.name, record.on]}"
            )
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
