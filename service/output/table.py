"""Render a :class:`~service.engine.report.Report` as a plain text table (``deep-health check``)."""

from __future__ import annotations

from service.engine.report import Report

__all__ = ["table"]


def table(report: Report) -> bytes:
    """A plain table of the checks and the verdict, one line per check, for a pipe or a log.

    The error is printed whole, never cut: its end often holds the hint (what blocked the
    loop, which key was missing). ``deep-health check`` on a terminal wraps it in a rich table
    instead.
    """
    rows = [("check", "status", "ms", "reason", "error")]
    for r in report.evaluation.results:
        error = " ".join((r.error or "").split())
        rows.append((r.name, r.status.value, f"{r.duration * 1000:.1f}", r.reason or "", error))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[4]
        for row in rows
    ]
    lines.append("")
    lines.append(f"region: {report.verdict.status.value}")
    lines += [f"  - {reason}" for reason in report.verdict.reasons]
    return "\n".join(line.rstrip() for line in lines).encode()
