"""Domain exceptions. Each carries a stable machine code and a sentence a person can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is stable and documented, `message` says what to do."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    """The request is well formed but a value is out of range or missing."""

    code = "invalid_input"


class NotFound(DomainError):
    """The thing named does not exist, or is not visible to the caller."""

    code = "not_found"


class Conflict(DomainError):
    """The request contradicts the current state (closed conversation, concurrent change)."""

    code = "conflict"


class Gone(DomainError):
    """The thing named existed but is no longer usable (an expired link)."""

    code = "gone"


class Unauthorized(DomainError):
    """The caller did not prove who they are."""

    code = "unauthorized"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    code = "forbidden"


class BudgetExhausted(DomainError):
    """The workspace has spent its monthly token budget."""

    code = "budget_exhausted"


class ProvidersUnavailable(DomainError):
    """Every configured AI provider failed for this turn."""

    code = "providers_unavailable"
