"""The example application's data model, validated by the ``model`` check."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Account"]


class Account(BaseModel):
    """An account record as the application stores it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^acc_[a-z0-9]{6,}$")
    name: str = Field(min_length=1, max_length=100)
    plan: Literal["free", "team", "enterprise"]
    seats: int = Field(ge=1)
    regions: list[str] = Field(min_length=1)
