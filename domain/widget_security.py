"""Widget security of a workspace: which sites may embed the widget, and whether visitors must prove their id.

One ``WidgetSecurity`` aggregate per workspace (its id derived from the workspace id), created on the first
change; a workspace without one has the defaults: any origin, no identity verification, secret counter 0.
The identity secret itself is never stored: the commands derive it from the deployment's secret key and
``secret_counter``, so rotating is just incrementing the counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

MAX_ORIGINS = 50
MAX_ORIGIN_CHARS = 253
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
_NS = uuid5(NAMESPACE_URL, "https://chatassist.dev/widget-security")


def widget_security_id(workspace_id: UUID) -> UUID:
    """Id of the workspace's WidgetSecurity aggregate."""
    return uuid5(_NS, str(workspace_id))


def check_origin(origin: object) -> str:
    """An exact origin (``https://app.example.com``, optionally with a port), lower-cased; InvalidInput else.

    https only, except http for localhost; no path, query, fragment or credentials.
    """
    text = origin.strip() if isinstance(origin, str) else ""
    invalid = InvalidInput(
        f"{str(origin)[:80]!r} is not an origin: give the scheme and host only, like https://app.example.com "
        "(http only for localhost).",
        code="invalid_origin",
    )
    if not text or len(text) > MAX_ORIGIN_CHARS or any(c.isspace() for c in text):
        raise invalid
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise invalid from None
    host = (parts.hostname or "").lower()
    if parts.hostname and ":" in parts.hostname:
        host = f"[{host}]"
    if (
        not host
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
        or text.endswith(("?", "#"))
    ):
        raise invalid
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and host in LOCAL_HOSTS):
        raise invalid
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def check_origins(origins: object) -> tuple[str, ...]:
    """A de-duplicated tuple of valid origins (at most 50); an empty list means any origin."""
    if not isinstance(origins, list | tuple):
        raise InvalidInput("allowed_origins must be a list of origins.", code="invalid_origin")
    if len(origins) > MAX_ORIGINS:
        raise InvalidInput(f"At most {MAX_ORIGINS} allowed origins.", code="too_many_origins")
    return tuple(dict.fromkeys(check_origin(o) for o in origins))


@dataclass(frozen=True)
class WidgetPolicy:
    """What the widget endpoints enforce for one workspace."""

    allowed_origins: tuple[str, ...] = ()
    require_identity_verification: bool = False
    secret_counter: int = 0

    def allows_origin(self, origin: str | None) -> bool:
        """True when any origin is allowed, or ``origin`` is one of the allowed ones (exact, case-insensitive)."""
        if not self.allowed_origins:
            return True
        return origin is not None and origin.strip().lower().rstrip("/") in self.allowed_origins


class WidgetSecurity(Aggregate):
    """The allowed origins, the identity-verification switch and the identity secret's rotation counter."""

    @staticmethod
    def create_id(workspace_id: UUID) -> UUID:
        """Derived from the workspace id: one read by id finds it."""
        return widget_security_id(workspace_id)

    if TYPE_CHECKING:  # the event classes @event("Name") makes at runtime, declared for mypy (fields as the methods')

        class Created(Aggregate.Created):
            workspace_id: UUID

        class AllowedOriginsChanged(Aggregate.Event):
            allowed_origins: list[str]
            by: UUID

        class IdentityVerificationChanged(Aggregate.Event):
            required: bool
            by: UUID

        class IdentitySecretRotated(Aggregate.Event):
            counter: int
            by: UUID

    @event("Created")
    def __init__(self, workspace_id: UUID) -> None:
        self.workspace_id = workspace_id
        self.allowed_origins: tuple[str, ...] = ()
        self.require_identity_verification = False
        self.secret_counter = 0

    @property
    def policy(self) -> WidgetPolicy:
        """The current policy as a value."""
        return WidgetPolicy(self.allowed_origins, self.require_identity_verification, self.secret_counter)

    def set_allowed_origins(self, origins: object, by: UUID) -> None:
        """Validate and record new allowed origins (no event when unchanged)."""
        checked = check_origins(origins)
        if checked != self.allowed_origins:
            self._origins_changed(allowed_origins=list(checked), by=by)

    @event("AllowedOriginsChanged")
    def _origins_changed(self, allowed_origins: list[str], by: UUID) -> None:
        self.allowed_origins = tuple(allowed_origins)

    def set_identity_verification(self, required: bool, by: UUID) -> None:
        """Turn identity verification on or off (no event when unchanged)."""
        if not isinstance(required, bool):
            raise InvalidInput("require_identity_verification must be true or false.")
        if required != self.require_identity_verification:
            self._verification_changed(required=required, by=by)

    @event("IdentityVerificationChanged")
    def _verification_changed(self, required: bool, by: UUID) -> None:
        self.require_identity_verification = required

    def rotate_secret(self, by: UUID) -> None:
        """A new identity secret: every signature made with the old one stops working."""
        self._secret_rotated(counter=self.secret_counter + 1, by=by)

    @event("IdentitySecretRotated")
    def _secret_rotated(self, counter: int, by: UUID) -> None:
        self.secret_counter = counter
