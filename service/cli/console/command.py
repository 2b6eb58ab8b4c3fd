"""Arguments and the refresh loop of ``deep-health status``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from service.cli.common import http_url, seconds, token_from_env
from service.cli.console.model import CheckerView, dns_view
from service.cli.console.probe import RegionSnapshot, snapshot
from service.simulation.route53 import Route53Config

__all__ = ["add_status_parser", "run_status"]

TOKEN_ENV = "DEEP_HEALTH_DETAILS_TOKEN"  # noqa: S105 - a variable name, not a token
_EXIT_HEALTHY, _EXIT_UNHEALTHY, _EXIT_USAGE = 0, 1, 2


def add_status_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``status`` subcommand to the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "status",
        help="live view of a region pair: verdicts, checks, Route 53's answer",
        description="Watch a region pair during an incident: each region's verdict and why, "
        "its checks, latch and switches, and what Route 53 would answer. Exit 0 when both "
        "regions are healthy, 1 when one is not (or does not answer), 2 for bad arguments, "
        "130 when stopped with Ctrl-C.",
    )
    parser.add_argument(
        "urls",
        nargs="*",
        type=http_url,
        metavar="URL",
        help="primary then secondary base URL (or their /health URLs)",
    )
    parser.add_argument("--pairs", type=Path, help="a pairs file (deploy/pairs.example.toml)")
    parser.add_argument("--pair", help="which pair of the file (default: the first)")
    parser.add_argument(
        "--token-env",
        default=TOKEN_ENV,
        help="environment variable holding the details token (unset: public bodies only)",
    )
    parser.add_argument(
        "--marker", default="DEEP-HEALTH-OK", help="Route 53's search string ('' for none)"
    )
    parser.add_argument(
        "--routing",
        choices=("failover", "latency"),
        help="the record's routing (default: the pairs file's routing_mode, else failover)",
    )
    parser.add_argument("--once", action="store_true", help="print once and exit (scripts)")
    parser.add_argument("--interval", type=seconds, default=2.0, help="seconds between refreshes")
    parser.add_argument("--checkers", type=int, default=15, help="Route 53 checkers per region")
    parser.add_argument(
        "--poll-interval", type=seconds, default=10.0, help="Route 53's polling interval (s)"
    )
    parser.add_argument("--threshold", type=int, default=3, help="Route 53's FailureThreshold")
    return parser


def _pair(path: Path, name: str | None) -> Any:
    from deploy.pairs import load_pairs

    pairs = load_pairs(path).pairs
    chosen = next((p for p in pairs if name in (None, p.name)), None)
    if chosen is None:
        names = ", ".join(p.name for p in pairs)
        raise ValueError(f"no pair {name!r} in {path} (it has: {names})")
    return chosen


def _pair_urls(path: Path, name: str | None) -> list[tuple[str, str]]:
    chosen = _pair(path, name)
    urls = []
    for stack in (chosen.primary, chosen.secondary):
        params = stack.parameters
        host = params.get("RegionalDomainName") or params.get("EmbeddedHealthHost")
        if not host:
            raise ValueError(f"pair {chosen.name}: {stack.region} has no RegionalDomainName")
        path_ = params.get("HealthPath", "/health") if "EmbeddedHealthHost" in params else "/health"
        urls.append((f"{stack.role.lower()} {stack.region}", f"https://{host}{path_}"))
    return urls


def _targets(args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.pairs is not None:
        if args.urls:
            raise ValueError("give two URLs or --pairs, not both")
        return _pair_urls(args.pairs, args.pair)
    if len(args.urls) != 2:
        raise ValueError("give the primary and the secondary URL (or --pairs FILE)")
    return [("primary", args.urls[0]), ("secondary", args.urls[1])]


def run_status(args: argparse.Namespace) -> int:
    """Run ``deep-health status``; returns the exit code."""
    from service.cli.terminal import console, is_terminal

    try:
        targets = _targets(args)
        config = Route53Config(
            checkers=args.checkers,
            interval=args.poll_interval,
            failure_threshold=args.threshold,
        )
    except Exception as exc:  # a bad pairs file or argument: say which, exit 2
        print(f"deep-health status: {exc}", file=sys.stderr)
        return _EXIT_USAGE
    routing = args.routing or "failover"
    if args.routing is None and args.pairs is not None:
        routing = _pair(args.pairs, args.pair).routing_mode
    token = token_from_env(args.token_env)
    marker = args.marker or None
    views = [CheckerView(config) for _ in targets]
    out = console()
    terminal = is_terminal()
    code = _EXIT_UNHEALTHY
    started: list[bool] = []  # empty until the first answers are in

    async def look() -> Any:
        import httpx

        from service.cli.console.render import render

        async with httpx.AsyncClient(trust_env=False) as client:
            snaps: list[RegionSnapshot] = list(
                await asyncio.gather(
                    *(
                        snapshot(client, label, url, token=token, marker=marker)
                        for label, url in targets
                    )
                )
            )
        now = time.monotonic()
        for snap, view in zip(snaps, views, strict=True):
            (view.observe if started else view.settle)(snap.route53_ok, now)
        started.append(True)
        nonlocal code
        code = _EXIT_HEALTHY if all(s.healthy for s in snaps) else _EXIT_UNHEALTHY
        dns = dns_view(views[0].healthy, views[1].healthy, routing)
        return render(snaps, views, dns, ascii_only=not terminal, once=args.once)

    async def loop() -> None:
        if args.once:
            out.print(await look())
            return
        if not terminal:  # piped: one block per refresh, nothing redrawn
            while True:
                out.print(await look())
                out.file.flush()
                await asyncio.sleep(args.interval)
        from rich.live import Live

        # "visible": a pair with many checks may be taller than the terminal; cropping it
        # would hide the checks at the bottom (and the DNS answer), the worst thing to hide.
        with Live(
            await look(),
            console=out,
            refresh_per_second=4,
            screen=False,
            vertical_overflow="visible",
        ) as live:
            while True:
                await asyncio.sleep(args.interval)
                live.update(await look())

    asyncio.run(loop())  # Ctrl-C: KeyboardInterrupt, exit 130 (service.cli.main)
    return code
