"""The state stores, by the name ``[state] store`` gives: one line each.

A store is one module with a ``from_config(config, timeout)`` function that returns the
:class:`~service.state.StateStore` for that configuration, or ``None`` for this process's own
memory (:class:`~service.state.fleet.FleetState` keeps that itself). The module is imported only
when its name is configured, so a Lambda keeping its state in memory never imports an AWS SDK.

Adding a back end (say Redis): write ``service/state/redis.py`` with ``from_config`` and the
:class:`~service.state.StateStore` methods, and add ``"redis": "service.state.redis"`` here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from service.config import Config
    from service.state import StateStore

__all__ = ["STORES", "build_store"]

STORES: Final[dict[str, str]] = {
    "memory": "service.state.memory",
    "dynamodb": "service.state.dynamodb",
}
"""``[state] store`` name → the module that builds it."""


def build_store(config: Config, *, timeout: float | None = None) -> StateStore | None:
    """The store ``config`` names, built; ``None``: this process's memory only.

    Args:
        config: A validated configuration (its ``[state]`` names a key of :data:`STORES`).
        timeout: Each call's timeout; ``None``: ``[state] timeout``.
    """
    module = importlib.import_module(STORES[config.state.store])
    store: StateStore | None = module.from_config(
        config, timeout=config.state.timeout if timeout is None else timeout
    )
    return store
