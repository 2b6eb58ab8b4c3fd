"""The ``[state]`` table: where the region's failover state lives.

Layout::

    [state]
    store = "dynamodb"              # or "memory" (default): this process only
    table = "deep-health-state"     # required with "dynamodb": the region's own table
    region = "eu-west-1"            # optional; default AWS_REGION
    endpoint_url = "http://..."     # optional (an emulator); else DEEP_HEALTH_AWS_ENDPOINT
    fleet = "orders-api"            # optional partition name; default [service] service_id
    timeout = 0.3                   # seconds the one read may take on the critical path
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["StateSettings"]


class StateSettings(BaseModel):
    """Where the failover state lives. Every field documents its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str = "memory"
    """A name in :data:`service.state.registry.STORES`. ``memory``: this process's own state
    (one instance); ``dynamodb``: the fleet's, shared by every instance of the region through
    ``table``."""
    table: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    """The region's own DynamoDB table (never a global table). Required with ``dynamodb``."""
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
    """The table's region; ``None``: ``AWS_REGION``."""
    endpoint_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    """An endpoint for the table (a local emulator); ``None``: ``DEEP_HEALTH_AWS_ENDPOINT`` or
    the regional endpoint."""
    fleet: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:#-]{1,255}$")
    """The partition every instance of this region's service shares; ``None``:
    ``<service_id>#<region>`` (the ``[service]`` ``service_id`` and the table's region)."""
    timeout: float = Field(default=0.3, gt=0, le=1.5)
    """Seconds the one store round trip may take per evaluation (also capped by what is left of
    the deadline); past it the evaluation uses local state."""

    @field_validator("store")
    @classmethod
    def _a_known_store(cls, value: str) -> str:
        from service.state.registry import STORES

        if value not in STORES:
            raise ValueError(f"must be one of: {', '.join(STORES)}")
        return value

    @field_validator("table", "region", "endpoint_url", "fleet", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # ``table = "${DEEP_HEALTH_STATE_TABLE}"`` with nothing set: no table, not a bad name.
        return None if value == "" else value
