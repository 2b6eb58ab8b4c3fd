"""Loopback helpers (they live in :mod:`deploy.twin.net`, which the twin ships)."""

from __future__ import annotations

from deploy.twin.net import free_port, wait_for_port

__all__ = ["free_port", "wait_for_port"]
