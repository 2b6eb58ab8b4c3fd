"""Time scaling, the simulator's way: every duration of the scenario divided by one factor.

What scales: Route 53's polling interval, the failover policy's durations in the bundled
config (``window``, ``min_hold``, ``quiet``, ``burst``), idle reaping, and every phase of a
drill. What does not: anything bounded by real work - the engine's deadline, the checks'
timeouts and budgets, the store's timeout, Route 53's 2 s answer limit, the function's
``Timeout``, cold starts. A factor of 1 runs the bundled config exactly as it ships.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

__all__ = ["SCALED_FAILOVER_KEYS", "Timescale"]

SCALED_FAILOVER_KEYS = ("window", "min_hold", "quiet", "burst")
"""The ``[failover]`` durations that scale."""


@dataclass(frozen=True)
class Timescale:
    """Divide every scenario duration by ``factor`` (>= 1)."""

    factor: float = 1.0

    def __post_init__(self) -> None:
        """Refuse a factor below 1 (the twin cannot run faster than real work)."""
        if self.factor < 1:
            raise ValueError("the time factor must be >= 1")

    def __call__(self, seconds: float) -> float:
        """``seconds`` of the real scenario, in twin seconds."""
        return seconds / self.factor

    @property
    def label(self) -> str:
        """How a figure says it: ``time x10``."""
        return f"time x{self.factor:g}"

    def failover(self, config: str) -> tuple[str, dict[str, float]]:
        """``config`` with its ``[failover]`` durations divided (defaults when absent).

        Returns:
            The config text, and the scaled durations.
        """
        from service.config import FailoverSettings

        raw = tomllib.loads(config).get("failover", {})
        defaults = FailoverSettings()
        scaled = {
            key: float(raw.get(key, getattr(defaults, key))) / self.factor
            for key in SCALED_FAILOVER_KEYS
        }
        if self.factor == 1:
            return config, scaled
        if "failover" not in tomllib.loads(config):
            lines = "".join(f"{key} = {value:g}\n" for key, value in scaled.items())
            note = f"# Added by the twin ({self.label}): the policy's durations, divided.\n"
            return f"{config.rstrip()}\n\n{note}[failover]\n{lines}", scaled
        return _rewrite(config, scaled), scaled


def _rewrite(config: str, scaled: dict[str, float]) -> str:
    """Set the keys of an existing ``[failover]`` table (added after its header if absent)."""
    out: list[str] = []
    inside = False
    missing = dict(scaled)
    for line in config.splitlines():
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            if inside:
                out += [f"{key} = {value:g}" for key, value in missing.items()]
                missing = {}
            inside = header.group(1).strip() == "failover"
            out.append(line)
            continue
        key = re.match(r"\s*([A-Za-z_]+)\s*=", line)
        if inside and key and key.group(1) in missing:
            out.append(f"{key.group(1)} = {missing.pop(key.group(1)):g}")
        else:
            out.append(line)
    if inside:
        out += [f"{key} = {value:g}" for key, value in missing.items()]
    return "\n".join(out) + "\n"
