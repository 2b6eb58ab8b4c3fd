"""Time scaling, the simulator's way: every duration of the scenario divided by one factor.

What scales: Route 53's polling interval, the failover policy's durations in the bundled
config (``window``, ``min_hold``, ``quiet``, ``burst``), the rates at which the engine samples
(``[service]`` ``interval``, the background loop's, and ``cache_ttl``, how long one evaluation
answers later requests), idle reaping, and every phase of a drill. The sampling rates scale with
the window so a window holds as many samples, in as many buckets, as it does in reality: the
rules count samples (``min_samples``) and buckets (``spread``), and a window ten times shorter
filled at the real rate holds a tenth of the evidence. What does not scale: anything bounded
by real work - the engine's deadline, the checks' timeouts and budgets, the store's timeout,
the background loop's staleness limit (``max_age``, pinned to its real value), Route 53's 2 s
answer limit, the function's ``Timeout``, cold starts. A factor of 1 runs the bundled config
exactly as it ships.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

__all__ = ["SCALED_FAILOVER_KEYS", "SCALED_SERVICE_KEYS", "Timescale"]

SCALED_FAILOVER_KEYS = ("window", "min_hold", "quiet", "burst")
"""The ``[failover]`` durations that scale."""

SCALED_SERVICE_KEYS = ("interval", "cache_ttl")
"""The ``[service]`` durations that scale: how often the engine samples its checks."""


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

    def engine_config(self, config: str) -> tuple[str, dict[str, float]]:
        """The bundled engine config as the twin runs it: :meth:`failover`, then :meth:`service`.

        Returns:
            The config text, and the scaled ``[failover]`` durations.
        """
        scaled, durations = self.failover(config)
        return self.service(scaled), durations

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
        return _set(config, "failover", scaled, self.label), scaled

    def service(self, config: str) -> str:
        """``config`` with its ``[service]`` sampling rates divided (defaults when absent).

        ``interval`` (the background loop's) and ``cache_ttl`` shrink with the window, so the
        window holds the samples it holds in reality. ``max_age`` (the staleness watchdog)
        keeps its real value, ``3 * interval + deadline`` of the unscaled settings when the
        config sets none: it is a limit on real work, and a scaled one would call a loop slowed
        by this machine's load stale.
        """
        from service.config import Settings

        if self.factor == 1:
            return config
        raw = tomllib.loads(config).get("service", {})
        defaults = Settings.model_validate({})
        real = {key: float(raw.get(key, getattr(defaults, key))) for key in SCALED_SERVICE_KEYS}
        values = {key: value / self.factor for key, value in real.items()}
        if "max_age" not in raw:
            deadline = float(raw.get("deadline", defaults.deadline))
            values["max_age"] = 3 * real["interval"] + deadline
        return _set(config, "service", values, self.label)


def _set(config: str, table: str, values: dict[str, float], label: str) -> str:
    """``config`` with ``values`` set in ``[table]`` (the table appended when absent)."""
    if table not in tomllib.loads(config):
        lines = "".join(f"{key} = {value:g}\n" for key, value in values.items())
        note = f"# Added by the twin ({label}): the scenario's durations, divided.\n"
        return f"{config.rstrip()}\n\n{note}[{table}]\n{lines}"
    return _rewrite(config, table, values)


def _rewrite(config: str, table: str, scaled: dict[str, float]) -> str:
    """Set the keys of an existing ``[table]`` (added after its header if absent)."""
    out: list[str] = []
    inside = False
    missing = dict(scaled)
    for line in config.splitlines():
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            if inside:
                out += [f"{key} = {value:g}" for key, value in missing.items()]
                missing = {}
            inside = header.group(1).strip() == table
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
