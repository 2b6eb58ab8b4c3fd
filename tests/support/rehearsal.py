"""A pairs file rehearsed on the emulator, for the tests that read what a deploy left: the
stacks ``python -m deploy --rehearse`` creates on moto's server, and the pairs file pointed at
the emulator's hosted zone (the example names a real one)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deploy.pairs import load_pairs
from deploy.rehearse import Rehearsal, moto_server, rehearse
from deploy.twin.aws import client as emulator_client

__all__ = ["EXAMPLE_ZONE", "TABLE_CHECK", "aws", "rehearsed_pairs"]

EXAMPLE_ZONE = "Z0123456789EXAMPLE"
"""The hosted zone id the example pairs files name."""

TABLE_CHECK = """
[[checks]]
type = "dynamodb_read"
name = "accounts"
table = "${DEEP_HEALTH_TABLE}"
key = { pk = "canary" }
[state]
store = "${DEEP_HEALTH_STATE_STORE}"
table = "${DEEP_HEALTH_STATE_TABLE}"
"""
"""A pair's own engine config: one canary read and the stack's state table."""


@contextmanager
def rehearsed_pairs(
    example: Path, directory: Path, release_id: str, *, pairs: int | None = None
) -> Iterator[tuple[str, Rehearsal, Path]]:
    """Rehearse ``example`` (its first ``pairs`` pairs, or all) on a fresh emulator.

    Yields:
        The emulator's URL, what the rehearsal created, and a copy of ``example`` in
        ``directory`` that names the emulator's zone.
    """
    with moto_server() as url:
        loaded = load_pairs(example)
        if pairs is not None:
            loaded = dataclasses.replace(loaded, pairs=loaded.pairs[:pairs])
        result = rehearse(loaded, endpoint_url=url, release_id=release_id, log=lambda _: None)
        path = directory / "pairs.toml"
        path.write_text(
            example.read_text(encoding="utf-8").replace(EXAMPLE_ZONE, result.zones[EXAMPLE_ZONE]),
            encoding="utf-8",
        )
        yield url, result, path


def aws(url: str, service: str, region: str) -> Any:
    """A boto3 client of ``service`` in ``region`` on the emulator at ``url`` (the twin's)."""
    return emulator_client(service, url, region)
