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

__all__ = ["PlotUnavailable", "write_chart"]

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


def write_chart(trace: Trace, path: Path, *, dpi: int = 80) -> Path:
    """Draw ``trace`` into ``path`` (``.png`` or ``.svg``).

    Four panels over time, the fault window shaded in each: the injected fault and the
    primary's gray-failure window ratio against its threshold; the primary's verdict; the
    share of each region's checkers that say healthy against the 18 % line; the DNS answer.

    Returns:
        ``path``.

    Raises:
        PlotUnavailable: matplotlib is missing or the suffix is neither .png nor .svg.
    """
    if path.suffix.lower() not in FORMATS:
        raise PlotUnavailable(f"{path}: write a .png or an .svg")
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
    fault.set_ylim(-0.05, 1.05)
    fault.set_ylabel("failing")
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
