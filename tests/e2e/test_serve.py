"""A real uvicorn process: deadline under a hung dependency, one evaluation per burst, AWS."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from support.emulator import Emulator, create_canary_table
from support.process import serve

pytestmark = pytest.mark.e2e
TOKEN = "e2e-details-token-0123456789"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "health.toml"
    path.write_text(text)
    return path


def test_hanging_dependency_gets_a_503_within_the_deadline(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "[service]\ndeadline = 0.5\ncache_ttl = 0\n"
        '[[checks]]\ntype = "support.misbehaving:Hangs"\n'
        '[[checks]]\ntype = "support.misbehaving:BlocksLoop"\nseconds = 2\n',
    )
    with serve(config) as url:
        began = time.monotonic()
        response = httpx.get(f"{url}/health", timeout=10)
        elapsed = time.monotonic() - began
    assert response.status_code == 503
    assert elapsed < 1.9  # Route 53's 2 s limit; the checks alone would take forever


def test_fifty_concurrent_requests_share_one_evaluation(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        f'[service]\nmode = "on-request"\ncache_ttl = 30\ndetails_token = "{TOKEN}"\n'
        '[[checks]]\ntype = "support.misbehaving:Passing"\ndelay = 0.3\n',
    )

    async def burst(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=10) as client:
            return await asyncio.gather(*(client.get(f"{url}/health") for _ in range(50)))

    with serve(config) as url:
        responses = asyncio.run(burst(url))
        details = httpx.get(
            f"{url}/health/details", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        ).json()
    assert [r.status_code for r in responses] == [200] * 50
    assert details["evaluation"]["number"] == 1


@pytest.mark.integration
def test_aws_checks_through_a_real_server(tmp_path: Path, emulator: Emulator) -> None:
    create_canary_table(emulator, "e2e-accounts", {"pk": {"S": "canary"}, "status": {"S": "ok"}})
    queue_url = emulator.client("sqs").create_queue(QueueName="e2e-jobs")["QueueUrl"]
    config = write(
        tmp_path,
        f'[service]\nmode = "on-request"\ncache_ttl = 0\ndetails_token = "{TOKEN}"\n'
        '[[checks]]\ntype = "dynamodb_read"\nname = "accounts"\ntable = "e2e-accounts"\n'
        'key = { pk = "canary" }\nexpect = { status = "ok" }\n'
        f'[[checks]]\ntype = "sqs"\nname = "jobs"\nqueue_url = "{queue_url}"\n',
    )
    env = {"DEEP_HEALTH_AWS_ENDPOINT": emulator.endpoint}
    with serve(config, env) as url:
        healthy = httpx.get(f"{url}/health", timeout=10)
        emulator.client("dynamodb").put_item(
            TableName="e2e-accounts", Item={"pk": {"S": "canary"}, "status": {"S": "corrupt"}}
        )
        broken = httpx.get(f"{url}/health", timeout=10)
        details = httpx.get(
            f"{url}/health/details", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        ).json()
    assert healthy.status_code == 200
    assert broken.status_code == 503
    assert details["checks"]["accounts:responseTime"][0]["reason"] == "mismatch"
    assert details["checks"]["jobs:responseTime"][0]["status"] == "pass"
