"""Shared fixtures: one AWS emulator per session, fake credentials for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from support.emulator import (
    EMULATOR_ENV,
    FAKE_CREDENTIALS,
    Emulator,
    attach_emulator,
    start_emulator,
)


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    for key in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "DEEP_HEALTH_AWS_ENDPOINT",
        "DEEP_HEALTH_CONFIG",
    ):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    # A server already running (``DEEP_HEALTH_TEST_EMULATOR``, see support.emulator) is shared.
    given = os.environ.get(EMULATOR_ENV)
    running = attach_emulator(given) if given else start_emulator()
    yield running
    running.stop()
