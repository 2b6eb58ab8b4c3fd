"""``deep-health status``: the operator's console for a region pair during an incident.

For each region: its verdict and why, every check's status, latency and reason (from
``/health/details`` with the token from an environment variable), the latch / recovery state
and the operator switches; then, from the Route 53 model the simulator uses, the share of
checkers that would call each region healthy and what DNS would answer. Refreshes in place on
a terminal, plain text when piped, ``--once`` for scripts; exit codes like ``check``.

Modules: :mod:`~service.cli.console.probe` (HTTP, one snapshot per region),
:mod:`~service.cli.console.model` (Route 53's view of the snapshots),
:mod:`~service.cli.console.render`
(rich renderables), :mod:`~service.cli.console.command` (arguments and the refresh loop).
"""

from __future__ import annotations

from service.cli.console.command import add_status_parser, run_status

__all__ = ["add_status_parser", "run_status"]
