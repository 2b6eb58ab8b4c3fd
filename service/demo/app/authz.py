"""The example application's authorization decision: a pure function of the request."""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["authorize"]

Decision = Literal["allow", "deny"]

_ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "write", "delete"}),
    "editor": frozenset({"read", "write"}),
    "viewer": frozenset({"read"}),
}


def authorize(request: dict[str, Any]) -> Decision:
    """Allow when the user owns the resource, or a role grants the action in the account.

    ``request`` has ``user`` (``id``, ``account``, ``roles``), ``action`` and ``resource``
    (``owner``, ``account``). A missing key raises ``KeyError`` (a malformed request).
    """
    user, resource, action = request["user"], request["resource"], request["action"]
    if resource["owner"] == user["id"] and action != "delete":
        return "allow"
    if resource["account"] != user["account"]:
        return "deny"
    granted = set().union(*(_ROLE_ACTIONS.get(role, frozenset()) for role in user["roles"]))
    return "allow" if action in granted else "deny"
