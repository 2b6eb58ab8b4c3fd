"""A test harness for checks: run one the way the service does, and get its result.

Example:
    >>> result = asyncio.run(run_check(DnsCheck(host="localhost")))  # doctest: +SKIP
    >>> result.status
    <Status.PASS: 'pass'>

The check runs through the service's own runner (its samples, timeout, deadline, and the
translation of anything it raises), so a team's test sees the result ``/health`` would report.
"""

from __future__ import annotations

from checks.base import Check
from checks.result import CheckResult

__all__ = ["run_check"]


async def run_check(check: Check, *, deadline: float = 1.5) -> CheckResult:
    """Start ``check``, evaluate it once under ``deadline`` without a cache, and close it.

    Args:
        check: The check to run (its ``start``/``close`` are called around the evaluation).
        deadline: Seconds for the evaluation (the service's default).

    Returns:
        The check's result, as the runner combined it from its samples.
    """
    # Imported here: the plugin API (checks) must not depend on the service to be imported;
    # only this harness, when called, needs the runner.
    from service.running.runner import Runner

    runner = Runner([check], deadline=deadline, cache_ttl=0)
    runner.start()
    try:
        return (await runner.evaluate()).results[0]
    finally:
        runner.close()
