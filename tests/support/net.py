"""Loopback helpers (they live in :mod:`deploy.twin.net`, which the twin ships)."""

from __future__ import annotations

from deploy.twin.net import free_port, free_port_pair, wait_for_port

__all__ = ["free_port", "free_port_pair", "wait_for_port"]
