"""Query-parameter checks shared by the read controllers."""

from __future__ import annotations

from typing import Any

from litestar import Request

from domain.errors import InvalidInput


def check_parameters(request: Request[Any, Any, Any], allowed: tuple[str, ...]) -> None:
    """422 unknown_parameter for a query parameter the endpoint does not take (a misspelt filter)."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"Unknown query parameter {unknown[0][:40]!r}: this endpoint takes {', '.join(allowed)}.",
            code="unknown_parameter",
        )
