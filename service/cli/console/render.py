"""The console's picture of a pair, as rich renderables (plain text when piped)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from service.cli.console.model import CheckerView, DnsView, state_of
from service.cli.console.probe import RegionSnapshot

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = ["render"]

_COLOURS = {"pass": "green", "warn": "yellow", "fail": "red"}


def _verdict(snap: RegionSnapshot) -> tuple[str, str]:
    if snap.code is None:
        return f"UNREACHABLE ({snap.error})", "bold red"
    status = snap.status or "?"
    return (
        f"{status.upper()} (HTTP {snap.code}, {snap.ms:.0f} ms)",
        f"bold {_COLOURS.get(status, '')}",
    )


def _region(snap: RegionSnapshot, view: CheckerView, *, ascii_only: bool) -> RenderableType:
    from rich import box
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    verdict, style = _verdict(snap)
    lines: list[RenderableType] = [
        Text.assemble(("verdict: ", "bold"), (verdict, style), f"   release {snap.release or '-'}")
    ]
    if snap.reasons:
        lines.append(Text("why:", style="bold"))
        lines += [Text(f"  - {reason}") for reason in snap.reasons]
    elif snap.details == "no token":
        lines.append(Text("why: unknown (no token; set the token to see reasons)"))
    elif snap.details != "ok":
        lines.append(Text(f"why: unknown ({snap.details})"))
    lines.append(Text.assemble(("state: ", "bold"), state_of(snap.reasons)))
    if snap.checks:
        table = Table(
            box=box.ASCII2 if ascii_only else box.SIMPLE_HEAD, expand=True, pad_edge=False
        )
        table.add_column("check", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("ms", justify="right", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("reason", no_wrap=True)
        table.add_column("output", overflow="fold", ratio=1)
        for row in snap.checks:
            kind = ""
            if row.critical is not None:
                kind = f"{'critical' if row.critical else 'optional'} {row.scope}".strip()
            table.add_row(
                Text(row.name),
                Text(row.status, style=_COLOURS.get(row.status, "")),
                "" if row.ms is None else f"{row.ms:.1f}",
                kind,
                Text(row.reason),
                Text(row.output),  # Text: brackets in an error are not markup
            )
        lines.append(table)
    seen = "healthy" if snap.route53_ok else "unhealthy"
    why_not = ""
    if not snap.route53_ok and snap.code is not None:
        why_not = f" (HTTP {snap.code})" if not 200 <= snap.code < 400 else " (no marker/slow)"
    threshold = view.config.healthy_fraction
    lines.append(
        Text.assemble(
            ("route 53: ", "bold"),
            f"a checker sees {seen}{why_not}; {view.health.healthy_count}/"
            f"{len(view.health.checkers)} checkers healthy ({view.share:.0%}, needs > "
            f"{threshold:.0%}) -> ",
            ("HEALTHY", "green") if view.healthy else ("UNHEALTHY", "red"),
            f"; {view.turning} turning" if view.turning else "",
        )
    )
    title = f"{snap.label}  {snap.url}"
    return Panel(
        Group(*lines),
        title=title,
        title_align="left",
        box=box.ASCII if ascii_only else box.ROUNDED,
    )


def render(
    snaps: Sequence[RegionSnapshot],
    views: Sequence[CheckerView],
    dns: DnsView,
    *,
    ascii_only: bool,
    once: bool,
) -> RenderableType:
    """The whole screen: both regions, then the DNS answer.

    Args:
        snaps: The regions' snapshots (primary first).
        views: Route 53's view of each.
        dns: The failover record's answer.
        ascii_only: Plain ASCII boxes (output piped to a file or a script).
        once: The view was projected from one answer (``--once``).
    """
    from rich.console import Group
    from rich.text import Text

    when = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    parts: list[RenderableType] = [Text(f"deep-health status  {when}", style="bold")]
    parts += [_region(s, v, ascii_only=ascii_only) for s, v in zip(snaps, views, strict=True)]
    basis = (
        "if these answers hold"
        if once
        else "modelled: the first answers taken as steady, then as seen since"
    )
    parts.append(
        Text.assemble(
            ("DNS answers: ", "bold"),
            (dns.answer.upper(), "bold cyan"),
            f" - {dns.meaning} ({basis})",
        )
    )
    return Group(*parts)
