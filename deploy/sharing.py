"""Whether a region's fleet state lives where its stack keeps it: one rule, asked by the deploy
before any AWS call (to refuse) and by ``verify`` of the deployed function (to disarm).

Lambda runs a region as many containers, created and recycled as requests come; with the state
in memory each judges alone (its own window, latch and switches), and a fresh one answers
healthy for a region the others hold failed over. So the engine config's ``[state]`` must name
the table the stack creates and grants, in the stack's own region, unless the pair opted out
(``StateStore = "memory"``, where the stack creates no table and grants nothing).
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["Sharing", "state_sharing"]


class Sharing(enum.Enum):
    """Where the state lives, against what the stack creates."""

    SHARED = "shared"
    """The stack's own table, in its region."""
    OPTED_OUT = "opted out"
    """In each container's memory, as the pair chose (``StateStore = "memory"``)."""
    TABLE_NOT_CREATED = "table not created"
    """A table, while the pair chose ``StateStore = "memory"``: nothing creates or grants it."""
    IN_MEMORY = "in memory"
    """In each container's memory, and the pair did not opt out: not shared."""
    OTHER_TABLE = "other table"
    """A table the stack neither creates nor grants."""
    OTHER_REGION = "other region"
    """The table read in another region than the stack's."""


def state_sharing(state: Any, *, chosen: str, granted: str | None, region: str) -> Sharing:
    """Judge a loaded ``[state]`` against the stack.

    Args:
        state: The engine config's state settings (``store``, ``table``, ``region``).
        chosen: The pair's ``StateStore`` parameter (``"dynamodb"`` when not given).
        granted: The table the stack creates and grants, as the function's environment names
            it; ``None`` when that cannot be known (then any table passes this part).
        region: The stack's region.

    Returns:
        The first finding, in the order an operator fixes them; ``SHARED`` when none.
    """
    table = state.table if state.store == "dynamodb" else None
    if chosen == "memory":
        return Sharing.OPTED_OUT if table is None else Sharing.TABLE_NOT_CREATED
    if table is None:
        return Sharing.IN_MEMORY
    if granted is not None and table != granted:
        return Sharing.OTHER_TABLE
    if state.region not in (None, region):
        return Sharing.OTHER_REGION
    return Sharing.SHARED
