"""SnapStart hooks, run as Lambda runs them (before the snapshot, then after a restore) in one
process: nothing made before the snapshot may serve the restored copy."""

from __future__ import annotations

import random
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import snapshot_restore_py

from checks import Status
from service.config import parse_config
from service.engine.health import HealthService
from service.faces import snapstart
from service.state import instance
from service.state.dynamodb import DynamoDBStore
from support.emulator import Emulator, create_canary_table
from support.lambda_process import last_json, run_handler_script
from support.proxy import FaultProxy


def _run_hooks(before: int, after: int) -> None:
    """What the runtime does: before-snapshot hooks in reverse order of registration, then
    (in the restored copy) after-restore hooks in order. Only the hooks registered since."""
    for func, args, kwargs in reversed(snapshot_restore_py.get_before_snapshot()[before:]):
        func(*args, **kwargs)
    for func, args, kwargs in snapshot_restore_py.get_after_restore()[after:]:
        func(*args, **kwargs)


def _threads(prefix: str) -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(prefix)}


@pytest.fixture
def table(emulator: Emulator) -> Iterator[str]:
    name = f"snap-{uuid.uuid4().hex[:8]}"
    create_canary_table(emulator, name, {"pk": {"S": "canary"}})
    yield name
    emulator.client("dynamodb").delete_table(TableName=name)


@pytest.mark.integration
async def test_nothing_stale_survives_a_snapshot_and_restore(
    emulator: Emulator, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FaultProxy(emulator.port) as proxy:
        config = parse_config(
            "[service]\ncache_ttl = 0\ndeadline = 1.9\n"
            f'[[checks]]\ntype = "dynamodb_read"\ntable = "{table}"\nsamples = 1\n'
            f'key = {{ pk = "canary" }}\nendpoint_url = "{proxy.url}"\n'
            '[[checks]]\ntype = "support.misbehaving:SyncPassing"\n'
        )
        service = HealthService(config)
        others = set(threading.enumerate())  # hung threads other tests left behind are not ours
        service.start()
        try:
            before, after = (
                len(snapshot_restore_py.get_before_snapshot()),
                len(snapshot_restore_py.get_after_restore()),
            )
            assert snapstart.register(service)
            first = await service.report()
            assert first.verdict.status is Status.PASS
            # At least one connection so far (AwsCheck.start warms its client with one run).
            connections = proxy.connections
            assert connections >= 1
            check = config.checks[0]
            old_client = check.client  # type: ignore[attr-defined]
            # The supervisor, every check's lane (its loop) and the lanes' worker threads.
            old_loop_threads = _threads("deep-health-") - others
            old_workers = {t for t in old_loop_threads if "-worker_" in t.name}
            assert old_loop_threads - old_workers
            assert old_workers
            old_id = instance.instance_id()
            # What init leaves pending in the snapshot: its charge to the first deadline.
            service.charge_deadline(10.0)
            random.seed(1234)  # the state every restored copy would otherwise share
            shared_draw = random.Random(1234).random()
            # The restored copy gets this environment's credentials, not the publisher's.
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "restored-copy")

            _run_hooks(before, after)

            for thread in old_loop_threads | old_workers:
                thread.join(timeout=10)
                assert not thread.is_alive(), thread.name
            assert _threads("deep-health-").isdisjoint(old_loop_threads)
            assert check.client is not None
            assert check.client is not old_client
            credentials = check.client._get_credentials()  # type: ignore[attr-defined]
            assert credentials.access_key == "restored-copy"
            assert instance.instance_id() != old_id
            assert random.random() != shared_draw

            seen: list[float | None] = []
            evaluate = service.runner.evaluate

            async def spy(*, deadline: float | None = None):  # type: ignore[no-untyped-def]
                seen.append(deadline)
                return await evaluate(deadline=deadline)

            service.runner.evaluate = spy  # type: ignore[method-assign]
            second = await service.report()
            # The next answer comes from the checks (nothing timed out), on a new connection,
            # and the init's 10 s charge was replaced by the restore's own time.
            assert second.verdict.status is Status.PASS
            assert [r.status for r in second.evaluation.results] == [Status.PASS, Status.PASS]
            assert second.evaluation.number > first.evaluation.number
            assert proxy.connections > connections  # a new connection: none survived
            assert seen
            assert seen[0] is not None
            assert 0.1 < seen[0] < 1.9
        finally:
            service.close()


def test_the_lambda_handler_registers_its_hooks(tmp_path: Path) -> None:
    """Importing the handler registers the hooks; after them the handler answers again with
    its checks started anew and a new instance id."""
    config = tmp_path / "health.toml"
    config.write_text(
        '[service]\ncache_ttl = 0\n[[checks]]\ntype = "support.misbehaving:Counting"\n'
        "samples = 1\n"  # one run per evaluation: the test counts them
    )
    script = """
import json, sys
import snapshot_restore_py as hooks
from service.state import instance
from service.faces import lambda_handler
from support.misbehaving import Counting
event = json.load(open(sys.argv[1]))
first = lambda_handler.handler(event, None)["statusCode"]
old = instance.instance_id()
for func, args, kwargs in reversed(hooks.get_before_snapshot()):
    func(*args, **kwargs)
for func, args, kwargs in hooks.get_after_restore():
    func(*args, **kwargs)
second = lambda_handler.handler(event, None)["statusCode"]
print(json.dumps({"codes": [first, second], "starts": Counting.starts, "runs": Counting.runs,
                  "new_id": instance.instance_id() != old}))
"""
    out = last_json(run_handler_script(script, config))
    assert out == {"codes": [200, 200], "starts": 2, "runs": 2, "new_id": True}


def test_register_is_a_no_op_without_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import now fails
    service = HealthService(parse_config('[[checks]]\ntype = "support.misbehaving:Passing"\n'))
    assert snapstart.register(service) is False


async def test_a_run_abandoned_before_the_snapshot_does_not_hang_the_check_after() -> None:
    """A run abandoned on the old loop died with it: after a restore the check runs again
    instead of being reported hung by a count that survived the snapshot."""
    service = HealthService(
        parse_config(
            "[service]\ncache_ttl = 0\ndeadline = 0.3\n"
            '[[checks]]\ntype = "support.misbehaving:IgnoresCancellation"\n'
        )
    )
    service.start()
    try:
        before = (await service.report()).evaluation.results[0]
        assert before.reason == "timeout"
        hung = (await service.report()).evaluation.results[0]
        assert "previous run has not finished" in (hung.error or "")
        snapstart.before_snapshot(service)
        snapstart.after_restore(service)
        service.charge_deadline(0.0)
        after = (await service.report()).evaluation.results[0]
        assert after.reason == "timeout"
        assert "previous run has not finished" not in (after.error or "")
    finally:
        service.close()


@pytest.mark.integration
async def test_the_state_stores_client_is_not_carried_into_a_restored_copy(
    emulator: Emulator,
) -> None:
    """The store's client lives on the serving loop, which no hook can await: the hook drops
    it, and the next exchange opens a new one (new connections, this copy's credentials)."""
    store = DynamoDBStore(
        table="snap-state", fleet="eu-west-1/test", window=60.0, endpoint_url=emulator.endpoint
    )
    await store.start()
    old = store._aws.client
    assert old is not None
    config = parse_config('[[checks]]\ntype = "support.misbehaving:Passing"\n')
    service = HealthService(config)
    service.fleet.store = store
    service.start()
    snapstart.before_snapshot(service)
    assert store._aws.client is None
    await store.start()
    assert store._aws.client is not None
    assert store._aws.client is not old
    await store.close()
    await old.__aexit__(None, None, None)
