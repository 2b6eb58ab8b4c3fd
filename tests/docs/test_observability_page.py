"""The observability page names every Prometheus metric the service exposes, and no other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.compose import compose
from service.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_page_lists_exactly_the_exposed_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEP_HEALTH_DETAILS_TOKEN", "a-details-token-of-32-characters")
    composed = compose(load_config(ROOT / "docs/examples/embedded.toml"), "serve")
    assert composed.metrics is not None
    exposed = set(re.findall(r"^# TYPE (\S+)", composed.metrics.exposition().decode(), re.M))
    # prometheus-client adds a `_created` series beside each counter and histogram.
    exposed = {name for name in exposed if not name.endswith("_created")}
    page = (ROOT / "docs/observability.md").read_text("utf-8")
    assert set(re.findall(r"\bdeep_health_[a-z_]+", page)) == exposed
