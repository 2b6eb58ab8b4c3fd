"""``--plot``: one drill's timeline as a chart (PNG or SVG).

Three panels over twin seconds, the incident shaded: each region's answers to the checkers
(the share of polls answered healthy, per few seconds: the region's verdict as Route 53 saw
it), the share of each region's checkers that say healthy against the 18 % line, and the
failover record's answer. The title names the drill, the fleet and the time factor.
matplotlib is loaded through :mod:`service.simulation.plot` (Agg, files only).
"""

from __future__ import annotations

from pathlib import Path

from deploy.twin.figures import Outcome
from service.simulation.plot import FORMATS, PlotUnavailable, _pyplot
from service.simulation.route53 import HEALTHY_SHARE

__all__ = ["write_timeline"]

_BIN = 20  # polls per point of the verdict panel, per region


def write_timeline(result: Outcome, path: Path, *, checkers: int, dpi: int = 80) -> Path:
    """Draw ``result``'s timeline into ``path``.

    Raises:
        PlotUnavailable: matplotlib is missing or the suffix is neither .png nor .svg.
    """
    if path.suffix.lower() not in FORMATS:
        raise PlotUnavailable(f"--plot writes {' or '.join(FORMATS)} files, not {path.name}")
    plt = _pyplot()
    figure, (verdict, share, dns) = plt.subplots(3, 1, sharex=True, figsize=(9, 6.5))
    timeline = result.timeline
    fleet = f"{result.size} {'tasks' if result.path == 'tasks' else 'containers'}"
    figure.suptitle(
        f"twin: {result.drill.name} ({result.drill.what}); {fleet}; "
        f"time x{result.factor:g} (twin seconds)",
        fontsize=9,
    )
    for endpoint, (name, colour) in enumerate((("primary", "tab:red"), ("secondary", "tab:blue"))):
        polls = [(t, ok, h) for t, e, ok, h in timeline.samples if e == endpoint]
        points = [
            (polls[i + _BIN // 2][0], sum(ok for _, ok, _ in polls[i : i + _BIN]) / _BIN)
            for i in range(0, max(0, len(polls) - _BIN), _BIN // 2)
        ]
        if points:
            verdict.plot(*zip(*points, strict=True), color=colour, label=name)
        if polls:
            share.step(
                [t for t, _, _ in polls],
                [h / checkers for _, _, h in polls],
                where="post",
                color=colour,
                label=name,
            )
    share.axhline(HEALTHY_SHARE, color="black", lw=0.8, ls="--", label="18 % line")
    times = [t for t, _ in timeline.changes]
    answers = [1 if a == "secondary" else 0 for _, a in timeline.changes]
    end = max([t for t, *_ in timeline.samples] or [result.settle + result.incident])
    dns.step([*times, end], [*answers, answers[-1]], where="post", color="black")
    dns.set_yticks([0, 1], ["primary", "secondary"])
    verdict.set_ylabel("polls answered\nhealthy")
    share.set_ylabel("checkers\nsaying healthy")
    dns.set_ylabel("DNS answer")
    dns.set_xlabel(f"twin seconds (x{result.factor:g} = the real scenario's)")
    for axis in (verdict, share, dns):
        axis.axvspan(result.settle, result.settle + result.incident, color="tab:red", alpha=0.08)
    verdict.set_ylim(-0.05, 1.05)
    share.set_ylim(-0.05, 1.05)
    verdict.legend(loc="lower left", fontsize=8)
    share.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return path
