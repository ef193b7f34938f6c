"""Guards: one per permission of ``domain.permissions.PERMISSIONS``, plus "any signed-in member"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from domain.errors import Forbidden
from domain.permissions import PERMISSIONS
from web.auth import authenticate

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Any member of the session's workspace (401 otherwise)."""
    await authenticate(connection)


def require(permission: str) -> Guard:
    """A guard admitting members whose current role has ``permission`` (401 if not signed in, 403 if not allowed)."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        member = await authenticate(connection)
        if not member.can(permission):
            raise Forbidden(
                f"Your role ({member.role}) does not allow this: it needs the {permission} permission.",
                code="permission_denied",
            )

    guard.__name__ = "requires_" + permission.replace(".", "_")
    return guard


GUARDS: dict[str, Guard] = {permission: require(permission) for permission in PERMISSIONS}
