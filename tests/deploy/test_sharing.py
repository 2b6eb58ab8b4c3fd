"""The one rule for where a region's fleet state lives, against what its stack creates (asked
by the deploy's refusal and by ``verify``): pure, no I/O."""

from __future__ import annotations

import pytest

from deploy.sharing import Sharing, state_sharing
from service.state.settings import StateSettings

SHARED = StateSettings(store="dynamodb", table="deep-health-state-x")
MEMORY = StateSettings()


@pytest.mark.parametrize(
    ("state", "chosen", "granted", "region", "found"),
    [
        (SHARED, "dynamodb", "deep-health-state-x", "eu-west-1", Sharing.SHARED),
        (SHARED, "dynamodb", None, "eu-west-1", Sharing.SHARED),  # the grant unknown
        (MEMORY, "memory", "", "eu-west-1", Sharing.OPTED_OUT),
        (SHARED, "memory", "", "eu-west-1", Sharing.TABLE_NOT_CREATED),
        (MEMORY, "dynamodb", "deep-health-state-x", "eu-west-1", Sharing.IN_MEMORY),
        # a table named while the store is memory is still memory
        (
            StateSettings(store="memory", table="deep-health-state-x"),
            "dynamodb",
            "deep-health-state-x",
            "eu-west-1",
            Sharing.IN_MEMORY,
        ),
        (SHARED, "dynamodb", "another-table", "eu-west-1", Sharing.OTHER_TABLE),
        (
            StateSettings(store="dynamodb", table="deep-health-state-x", region="us-east-1"),
            "dynamodb",
            "deep-health-state-x",
            "eu-west-1",
            Sharing.OTHER_REGION,
        ),
        (
            StateSettings(store="dynamodb", table="deep-health-state-x", region="eu-west-1"),
            "dynamodb",
            "deep-health-state-x",
            "eu-west-1",
            Sharing.SHARED,
        ),
        # the table is fixed first: it is what the operator changes first
        (
            StateSettings(store="dynamodb", table="another", region="us-east-1"),
            "dynamodb",
            "deep-health-state-x",
            "eu-west-1",
            Sharing.OTHER_TABLE,
        ),
    ],
)
def test_where_the_state_lives_against_the_stack(
    state: StateSettings, chosen: str, granted: str | None, region: str, found: Sharing
) -> None:
    assert state_sharing(state, chosen=chosen, granted=granted, region=region) is found
