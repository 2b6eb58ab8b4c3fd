"""The Route 53 model in real time: checkers polling real URLs, recording DNS answers.

Each checker is a task that GETs its endpoint every ``interval`` (with jitter) and counts it
healthy when a 2xx/3xx arrives within ``timeout`` and, with a search string, the string appears
in the first 5,120 bytes of the body (Route 53's ``HTTP_STR_MATCH`` rules). The run ends when
the ``stop`` callback says so or after ``max_duration``; the callback sees the timeline after
every poll, so a test can wait "until the answer is the secondary" -- and flip a server's health
from inside it -- without sleeping to synchronise.

``httpx`` is imported lazily: the virtual-time simulator and the service do not need it.

Example:
    >>> timeline = asyncio.run(watch(  # doctest: +SKIP
    ...     "https://eu-west-1.api.example.com/health",
    ...     "https://us-west-2.api.example.com/health",
    ...     config=RealtimeConfig(interval=10.0, max_duration=600.0),
    ... ))
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from service.simulation.route53 import (
    PRIMARY,
    Answer,
    EndpointHealth,
    Route53Config,
    failover_answer,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["RealtimeConfig", "Timeline", "probe", "watch"]

# Route 53 searches only this much of the body for the search string.
SEARCH_LIMIT: Final = 5120


@dataclass(frozen=True, kw_only=True)
class RealtimeConfig(Route53Config):
    """Polling of real endpoints: the model's :class:`Route53Config` plus a real run's limits.

    Short intervals make a test run in seconds. The model's ``regions``, ``cache_ttl`` and
    ``samples`` are unused here (the real service has its own).

    Attributes:
        search_string: Required in the first 5,120 bytes of the body, if set.
        max_duration: Seconds the run lasts at most (default 300).
        seed: Seeds the checkers' phases and jitter.
    """

    search_string: str | None = None
    max_duration: float = 300.0
    seed: int = 0

    def route53(self) -> Route53Config:
        """The model configuration (this one: a real-time config is one)."""
        return self


@dataclass
class Timeline:
    """DNS answers over a real-time run.

    Attributes:
        changes: ``(seconds since start, answer)``; starts with the primary at 0.
        polls: Polls made so far.
        failed_polls: Polls that saw an unhealthy endpoint, per endpoint (primary, secondary).
        healthy: Route 53's current view of each endpoint (primary, secondary).
        finished: Why the run ended: ``"stop"`` or ``"max-duration"`` (empty while running).
        events: ``(seconds since start, what happened)`` in time order, each once: an
            endpoint's Route 53 health flipping (with its checker count) and the DNS answer
            changing; starts with the initial answer.
        samples: ``(seconds since start, endpoint, poll ok, checkers healthy for it)`` for
            every poll (endpoint 0 is the primary): what a timeline plot draws.
    """

    changes: list[tuple[float, Answer]] = field(default_factory=lambda: [(0.0, PRIMARY)])
    polls: int = 0
    failed_polls: list[int] = field(default_factory=lambda: [0, 0])
    healthy: list[bool] = field(default_factory=lambda: [True, True])
    finished: str = ""
    events: list[tuple[float, str]] = field(
        default_factory=lambda: [(0.0, "DNS answer: primary (start; every checker healthy)")]
    )
    samples: list[tuple[float, int, bool, int]] = field(default_factory=list)

    @property
    def answer(self) -> Answer:
        """The current answer."""
        return self.changes[-1][1]

    def answers(self) -> list[Answer]:
        """The answers in order, without times (handy in assertions)."""
        return [answer for _, answer in self.changes]


async def probe(
    client: httpx.AsyncClient, url: str, *, timeout: float, search_string: str | None
) -> bool:
    """Poll ``url`` once as a Route 53 checker would.

    Args:
        client: The HTTP client.
        url: The endpoint.
        timeout: Seconds for the whole response.
        search_string: Required in the first 5,120 bytes of the body, if set.

    Returns:
        True for a 2xx/3xx in time (with the search string, if any).
    """
    import httpx

    try:
        async with asyncio.timeout(timeout):
            response = await client.get(url)
    except (TimeoutError, httpx.HTTPError, OSError):
        return False
    if not 200 <= response.status_code < 400:
        return False
    if search_string is None:
        return True
    return search_string.encode() in response.content[:SEARCH_LIMIT]


async def watch(
    primary: str,
    secondary: str,
    *,
    config: RealtimeConfig | None = None,
    stop: Callable[[Timeline], bool] | None = None,
    client: httpx.AsyncClient | None = None,
) -> Timeline:
    """Poll both endpoints like Route 53 and record the failover record's answers.

    Args:
        primary: URL of the primary region's health endpoint.
        secondary: URL of the secondary region's.
        config: Polling configuration.
        stop: Called after every poll; the run ends when it returns True.
        client: HTTP client to use; a fresh one (no proxies from the environment) by default.

    Returns:
        The timeline, with ``finished`` saying why the run ended.
    """
    import httpx

    config = config or RealtimeConfig()
    model = config.route53()
    rng = random.Random(config.seed)  # noqa: S311 -- poll phases, not security
    health = [EndpointHealth(model), EndpointHealth(model)]
    timeline = Timeline()
    done = asyncio.Event()
    started = time.monotonic()
    low, high = config.interval * (1 - config.jitter), config.interval * (1 + config.jitter)

    async def checker(http: httpx.AsyncClient, endpoint: int, index: int, url: str) -> None:
        # Uncoordinated checkers: each starts at its own phase within the first interval.
        await asyncio.sleep(rng.uniform(0.0, config.interval))
        while not done.is_set():
            ok = await probe(http, url, timeout=config.timeout, search_string=config.search_string)
            timeline.polls += 1
            if not ok:
                timeline.failed_polls[endpoint] += 1
            flipped = health[endpoint].observe(index, ok)
            now = time.monotonic() - started
            timeline.samples.append((now, endpoint, ok, health[endpoint].healthy_count))
            if flipped:
                view = health[endpoint]
                timeline.healthy[endpoint] = view.healthy
                timeline.events.append(
                    (
                        now,
                        f"{('primary', 'secondary')[endpoint]} "
                        f"{'healthy' if view.healthy else 'unhealthy'} for Route 53 "
                        f"({view.healthy_count}/{len(view.checkers)} checkers say healthy)",
                    )
                )
                answer = failover_answer(health[0].healthy, health[1].healthy)
                if answer != timeline.answer:
                    timeline.changes.append((now, answer))
                    timeline.events.append((now, f"DNS answer: {answer}"))
            if stop is not None and stop(timeline):
                timeline.finished = timeline.finished or "stop"
                done.set()
                return
            await asyncio.sleep(rng.uniform(low, high))

    async def run(http: httpx.AsyncClient) -> None:
        tasks = [
            asyncio.create_task(checker(http, e, c, url))
            for e, url in enumerate((primary, secondary))
            for c in range(config.checkers)
        ]
        try:
            await asyncio.wait_for(done.wait(), timeout=config.max_duration)
        except TimeoutError:
            timeline.finished = "max-duration"
        finally:
            done.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    if client is not None:
        await run(client)
    else:
        async with httpx.AsyncClient(trust_env=False) as http:
            await run(http)
    return timeline
