"""A lane's worker threads: what they count, seen at the moment a caller is woken."""

from __future__ import annotations

import concurrent.futures

from service.running.bulkhead import Lane


def test_a_call_is_no_longer_counted_busy_when_its_caller_gets_the_result() -> None:
    # The runner refuses a sync check while its previous call has "not returned"
    # (`threads_busy`): counted still busy once its result is out, the next evaluation found a
    # healthy check "hung" and failed it (seen in CI: test_isolation, a healthy plain def).
    lane = Lane("counting", threads=2)
    try:
        seen: list[int] = []
        for fn in (lambda: "ok", _raises):
            future = lane.executor.submit(fn)
            # Runs in the worker, the instant the result is set: what a woken caller can see.
            future.add_done_callback(lambda _: seen.append(lane.threads_busy))
            concurrent.futures.wait([future], timeout=30)
            assert future.done()
        assert seen == [0, 0]
        assert lane.threads_busy == 0
    finally:
        lane.request_close()
        assert lane.join(10.0)


def _raises() -> None:
    raise ValueError("a check's error")
