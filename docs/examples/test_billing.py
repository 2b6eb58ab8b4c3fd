"""A team's test of its own check: run it the way the service runs it."""

from __future__ import annotations

from mypkg.billing import Billing

from checks import Status
from service.running.testing import run_check


async def test_billing_passes_when_billing_answers(billing_url: str) -> None:
    result = await run_check(Billing(url=billing_url))  # its samples, timeout and deadline
    assert result.status is Status.PASS
