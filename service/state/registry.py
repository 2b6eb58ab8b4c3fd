"""The state stores, by the name ``[state] store`` gives: one line each.

A store is one module with a ``from_config(config, *, timeout)`` function that returns the
:class:`~service.state.StateStore` for that configuration, or ``None`` for this process's own
memory (:class:`~service.state.fleet.FleetState` keeps that itself). The module is imported only
when its name is configured, so a Lambda keeping its state in memory never imports an AWS SDK.

Adding a back end (say Redis): write ``service/state/redis.py`` with ``from_config`` and the
:class:`~service.state.StateStore` methods, and add ``"redis": "service.state.redis"`` here.
:mod:`service.compose` builds the configured one and passes it in.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from service.state import StateStore

__all__ = ["STORES", "StoreFactory", "factory"]

STORES: Final[dict[str, str]] = {
    "memory": "service.state.memory",
    "dynamodb": "service.state.dynamodb",
}
"""``[state] store`` name → the module that builds it."""


class StoreFactory(Protocol):
    """A back end's ``from_config``: the store for a validated configuration, or ``None``."""

    def __call__(self, config: Any, *, timeout: float) -> StateStore | None:
        """Build the store; ``timeout`` bounds each of its calls, in seconds."""
        ...


def factory(name: str) -> StoreFactory:
    """The ``from_config`` of the store called ``name`` (a key of :data:`STORES`)."""
    made: StoreFactory = importlib.import_module(STORES[name]).from_config
    return made
