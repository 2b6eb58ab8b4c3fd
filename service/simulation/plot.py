"""Charts of a simulated run: fault, window, verdict, Route 53's checkers, DNS answer.

matplotlib is optional (``pip install 'deep-health[plot]'``) and imported only here, with
the non-interactive Agg backend: charts are files (PNG or SVG), never windows.

Example:
    >>> trace = trace_run(scenario_by_name("partial", rate=0.15))  # doctest: +SKIP
    >>> write_chart(trace, Path("partial.png"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.simulation.trace import Trace

__all__ = ["PlotUnavailable", "chart", "dns_changes", "top_panel_limit", "write_chart"]

FORMATS = (".png", ".svg")


class PlotUnavailable(RuntimeError):
    """matplotlib is missing, or the file type is not one we write; the message says what
    to do."""


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable("charts need matplotlib: pip install 'deep-health[plot]'") from None
    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    return plt


def dns_changes(trace: Trace) -> list[tuple[float, str]]:
    """When the DNS answer changed: ``(t, "failover")`` to the secondary, ``(t, "fail-back")``
    to the primary, in seconds from the start."""
    changes = []
    for before, after in zip(trace.points, trace.points[1:], strict=False):
        if after.answer != before.answer:
            kind = "fail-back" if after.answer == "primary" else "failover"
            changes.append((after.t, kind))
    return changes


def top_panel_limit(trace: Trace) -> float:
    """The top of the fault panel: a little above the highest of the fault, the window ratio
    and the threshold, so a 15 % fault against a 10 % threshold fills the panel instead of
    sitting in its bottom fifth (at most 1.05: the whole range)."""
    highest = max(
        [trace.gray_threshold, *(p.fault for p in trace.points)]
        + [p.ratio for p in trace.points if p.ratio is not None]
    )
    return min(1.05, max(0.05, highest * 1.25))


def write_chart(trace: Trace, path: Path, *, dpi: int = 80) -> Path:
    """Draw ``trace`` into ``path`` (``.png`` or ``.svg``); see :func:`chart`.

    Returns:
        ``path``.

    Raises:
        PlotUnavailable: matplotlib is missing or the suffix is neither .png nor .svg.
    """
    if path.suffix.lower() not in FORMATS:
        raise PlotUnavailable(f"{path}: write a .png or an .svg")
    fig = chart(trace)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    _pyplot().close(fig)
    return path


def chart(trace: Trace) -> Any:
    """The matplotlib figure of ``trace`` (close it with ``pyplot.close`` when done).

    Four panels over time, the fault window shaded in each and every failover (red) and
    fail-back (green) of the DNS answer marked across all of them: the injected fault and the
    primary's gray-failure window ratio against its threshold, scaled to what they reach; the
    primary's verdict; the share of each region's checkers that say healthy against the 18 %
    line; the DNS answer.

    Raises:
        PlotUnavailable: matplotlib is missing.
    """
    plt = _pyplot()
    points = trace.points
    scale, unit = (3600.0, "hours") if trace.scenario.duration > 3 * 3600 else (60.0, "minutes")
    x = [p.t / scale for p in points]
    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(9, 7), height_ratios=(3, 1, 3, 1))
    fault, verdict, share, dns = axes
    scenario = trace.scenario
    fig.suptitle(
        f"{scenario.name}: {trace.strategy}, seed {trace.seed}", fontsize=11, fontweight="bold"
    )
    end = scenario.fault_end if scenario.fault_end is not None else scenario.duration
    for ax in axes:
        ax.axvspan(scenario.fault_start / scale, end / scale, color="tab:red", alpha=0.07, lw=0)
        ax.grid(True, alpha=0.3)

    fault.step(x, [p.fault for p in points], where="post", color="tab:red", label="injected fault")
    if any(p.ratio is not None for p in points):
        fault.step(
            x,
            [p.ratio or 0.0 for p in points],
            where="post",
            color="tab:purple",
            label="window failure ratio",
        )
        fault.axhline(trace.gray_threshold, color="tab:purple", ls="--", lw=1, label="threshold")
    top = top_panel_limit(trace)
    fault.set_ylim(-top / 20, top)
    fault.set_ylabel("failing")
    marked: set[str] = set()
    for t, kind in dns_changes(trace):
        colour = "tab:green" if kind == "fail-back" else "tab:red"
        for ax in axes:
            label = kind if ax is fault and kind not in marked else None
            ax.axvline(t / scale, color=colour, ls=":", lw=1.2, label=label)
        marked.add(kind)
    fault.legend(loc="upper right", fontsize=8)

    verdict.step(x, [int(p.verdict) for p in points], where="post", color="tab:blue")
    verdict.set_yticks([0, 1], ["fail", "serve"])
    verdict.set_ylim(-0.2, 1.2)
    verdict.set_ylabel("verdict")

    share.step(x, [p.primary_share for p in points], where="post", label="primary")
    share.step(x, [p.secondary_share for p in points], where="post", label="secondary")
    share.axhline(trace.healthy_fraction, color="black", ls="--", lw=1, label="18 % line")
    share.set_ylim(-0.05, 1.05)
    share.set_ylabel("checkers healthy")
    share.legend(loc="lower right", fontsize=8)

    dns.step(x, [int(p.answer == "primary") for p in points], where="post", color="tab:green")
    dns.set_yticks([0, 1], ["secondary", "primary"])
    dns.set_ylim(-0.2, 1.2)
    dns.set_ylabel("DNS")
    dns.set_xlabel(unit)

    fig.align_ylabels(axes)
    fig.tight_layout()
    return fig
