"""The one composition point: per-entry-point defaults, and the config beating them."""

from __future__ import annotations

import pytest

from service.compose import compose
from service.config import parse_config
from service.entrypoints import EntryPoint
from service.listeners.emf import EmfEmitter
from service.listeners.logs import LogListener

CHECK = '[[checks]]\ntype = "support.misbehaving:Passing"\n'


@pytest.mark.parametrize(
    ("entry_point", "service_table", "mode", "metrics", "emf", "logs"),
    [
        pytest.param("serve", "", "background", True, False, True, id="serve-defaults"),
        pytest.param("lambda", "", "on-request", False, True, True, id="lambda-defaults"),
        pytest.param("embedded", "", "on-request", False, False, False, id="embedded-defaults"),
        pytest.param(
            "serve",
            'mode = "on-request"\nmetrics = false\nemf = true\n',
            "on-request",
            False,
            True,
            True,
            id="serve-config-wins",
        ),
        pytest.param(
            "lambda",
            'mode = "background"\nmetrics = true\nemf = false\n',
            "on-request",
            True,
            False,
            True,
            id="lambda-mode-is-fixed",
        ),
    ],
)
def test_compose(
    entry_point: EntryPoint, service_table: str, mode: str, metrics: bool, emf: bool, logs: bool
) -> None:
    config = parse_config(f"[service]\n{service_table}\n{CHECK}")
    composed = compose(config, entry_point)
    listeners = composed.service._listeners
    assert composed.service.mode == mode
    assert (composed.metrics is not None) is metrics
    assert any(isinstance(listener, EmfEmitter) for listener in listeners) is emf
    assert any(isinstance(listener, LogListener) for listener in listeners) is logs
