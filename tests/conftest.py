"""Shared fixtures: one AWS emulator per session, fake credentials for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.emulator import FAKE_CREDENTIALS, Emulator, start_emulator


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
    running = start_emulator()
    yield running
    running.stop()
