"""AppSettings: the widget and workspace preferences that are not part of a chat turn's settings.

One aggregate per workspace, its id derived from the workspace id, created on the first change: until then
every value is its default. Each change is one ``Changed`` event naming its actor and only the changed values.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "fi", "pl", "ja", "ko", "zh")
MAX_AUTO_RESPONSE_CHARS = 1000
MAX_QUICK_REPLIES, MAX_QUICK_REPLY_CHARS = 6, 80
MAX_HOLIDAYS = 100
RETENTION_DAYS = (30, 3650)
PERSONAL_RETENTION_DAYS = (0, 3650)  # 0: never erased by the retention job (docs/audit.md, "Erasure")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_NS = uuid5(NAMESPACE_URL, "https://chatassist.dev/app-settings")


def app_settings_id(workspace_id: UUID) -> UUID:
    """The id of a workspace's AppSettings aggregate."""
    return uuid5(_NS, str(workspace_id))


def default_quick_replies() -> list[str]:
    """The chips a new widget offers before the first message."""
    return ["How do I connect my API?", "Download my invoice", "Reset my password", "Upgrade my plan"]


def check_quick_replies(replies: object) -> list[str]:
    """The texts trimmed; InvalidInput ``invalid_quick_replies`` unless a list of at most 6 distinct texts of 1 to
    80 characters."""
    problem = (
        f"quick_replies must be a list of at most {MAX_QUICK_REPLIES} distinct texts of 1 to "
        f"{MAX_QUICK_REPLY_CHARS} characters (an empty list shows no chips)"
    )
    if not isinstance(replies, list) or len(replies) > MAX_QUICK_REPLIES:
        raise InvalidInput(problem + ".", code="invalid_quick_replies")
    cleaned = [r.strip() if isinstance(r, str) else r for r in replies]
    for reply in cleaned:
        if not isinstance(reply, str) or not reply or len(reply) > MAX_QUICK_REPLY_CHARS:
            raise InvalidInput(f"{problem}; {str(reply)[:20]!r} is not.", code="invalid_quick_replies")
    if len({r.casefold() for r in cleaned}) != len(cleaned):
        raise InvalidInput(problem + "; two of them are the same.", code="invalid_quick_replies")
    return cleaned


def default_hours() -> dict[str, list[str] | None]:
    """Monday to Friday 09:00 to 17:00; closed at the weekend."""
    return {day: (["09:00", "17:00"] if day not in ("sat", "sun") else None) for day in WEEKDAYS}


@dataclass(frozen=True)
class AppSettingsValues:
    """Validated values; ``business_hours`` maps each weekday to [open, close] (HH:MM) or None (closed), a close
    not after the open running past midnight; ``holidays`` are closed dates (YYYY-MM-DD, domain/business_hours.py)."""

    widget_language: str = "en"
    widget_theme_colour: str = "#4f46e5"
    business_hours: dict[str, list[str] | None] = field(default_factory=default_hours)
    time_zone: str = "UTC"
    holidays: list[str] = field(default_factory=list)
    analytics_retention_days: int = 365
    personal_data_retention_days: int = 90  # conversations idle this long are erased (crypto-shredding, ADR 0044)
    show_ai_badge: bool = True
    collect_csat: bool = True
    after_hours_auto_response: bool = False
    after_hours_message: str = "Thanks for your message! We are away right now and will answer when we are back."
    prompt_approval_required: bool = False
    quick_replies: list[str] = field(default_factory=default_quick_replies)  # chips under the widget's greeting

    def __post_init__(self) -> None:
        if self.widget_language not in LANGUAGES:
            raise InvalidInput(f"widget_language must be one of {', '.join(LANGUAGES)}.", code="invalid_language")
        if not isinstance(self.widget_theme_colour, str) or not _COLOUR.fullmatch(self.widget_theme_colour):
            raise InvalidInput(
                "widget_theme_colour must be a colour written #rrggbb, e.g. #4f46e5.", code="invalid_colour"
            )
        check_hours(self.business_hours)
        check_time_zone(self.time_zone)
        check_holidays(self.holidays)
        object.__setattr__(self, "quick_replies", check_quick_replies(self.quick_replies))
        low, high = RETENTION_DAYS
        value = self.analytics_retention_days
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidInput(
                f"analytics_retention_days must be a whole number from {low} to {high}.", code="out_of_range"
            )
        low, high = PERSONAL_RETENTION_DAYS
        value = self.personal_data_retention_days
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidInput(
                f"personal_data_retention_days must be a whole number from {low} (never) to {high}.",
                code="out_of_range",
            )
        for name in ("show_ai_badge", "collect_csat", "after_hours_auto_response", "prompt_approval_required"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInput(f"{name} must be true or false.", code="invalid_input")
        message = self.after_hours_message
        if not isinstance(message, str) or len(message) > MAX_AUTO_RESPONSE_CHARS:
            raise InvalidInput(
                f"after_hours_message must be text of at most {MAX_AUTO_RESPONSE_CHARS} characters.",
                code="text_too_long",
            )
        if self.after_hours_auto_response and not message.strip():
            raise InvalidInput(
                "after_hours_message must not be empty while the after-hours auto-response is on.",
                code="invalid_input",
            )

    @classmethod
    def names(cls) -> frozenset[str]:
        """Every setting's name."""
        return frozenset(f.name for f in fields(cls))

    def with_changes(self, changes: dict[str, Any]) -> AppSettingsValues:
        """A validated copy with ``changes`` applied; an unknown name is an error."""
        unknown = sorted(set(changes) - self.names())
        if unknown:
            raise InvalidInput(f"Unknown setting(s): {', '.join(unknown)}.", code="unknown_setting")
        return AppSettingsValues(**{**asdict(self), **changes})

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as stored in events."""
        return asdict(self)


def check_time_zone(name: object) -> None:
    """InvalidInput ``invalid_time_zone`` unless ``name`` is an IANA time zone this system knows."""
    if not isinstance(name, str) or not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise InvalidInput("time_zone must be an IANA time zone such as Europe/Paris.", code="invalid_time_zone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"time_zone {name!r} is not a known IANA time zone (such as Europe/Paris).", code="invalid_time_zone"
        ) from None
    if name not in available_timezones() and name != "UTC":
        raise InvalidInput(
            f"time_zone {name!r} is not a known IANA time zone (such as Europe/Paris).", code="invalid_time_zone"
        )


def check_holidays(days: object) -> None:
    """InvalidInput ``invalid_holidays`` unless a list of at most MAX_HOLIDAYS distinct YYYY-MM-DD dates."""
    problem = f'holidays must be a list of at most {MAX_HOLIDAYS} distinct dates written "YYYY-MM-DD"'
    if not isinstance(days, list) or len(days) > MAX_HOLIDAYS or len(set(map(str, days))) != len(days):
        raise InvalidInput(problem + ".", code="invalid_holidays")
    for day in days:
        try:
            valid = isinstance(day, str) and len(day) == 10 and date.fromisoformat(day).isoformat() == day
        except ValueError:
            valid = False
        if not valid:
            raise InvalidInput(f"{problem}; {str(day)[:20]!r} is not.", code="invalid_holidays")


def check_hours(hours: object) -> None:
    """InvalidInput ``invalid_business_hours`` unless every weekday has [open, close] (HH:MM, different; a close
    before the open runs past midnight) or null."""
    problem = 'business_hours must give every weekday (mon..sun) as ["HH:MM", "HH:MM"] or null (closed)'
    if not isinstance(hours, dict) or set(hours) != set(WEEKDAYS):
        raise InvalidInput(problem + ".", code="invalid_business_hours")
    for day in WEEKDAYS:
        span = hours[day]
        if span is None:
            continue
        if not (isinstance(span, list) and len(span) == 2 and all(isinstance(t, str) for t in span)):
            raise InvalidInput(f"{problem}; {day} is not.", code="invalid_business_hours")
        opens, closes = span
        if not (_HHMM.fullmatch(opens) and _HHMM.fullmatch(closes)):
            raise InvalidInput(f"{problem}; {day} has a time that is not HH:MM.", code="invalid_business_hours")
        if opens == closes:
            raise InvalidInput(
                f"business_hours: on {day} the opening and closing times are the same; give a span (a closing "
                "time before the opening time runs past midnight).",
                code="invalid_business_hours",
            )


class AppSettings(Aggregate):
    """A workspace's app settings; only changed values are stored, defaults fill the rest."""

    @staticmethod
    def create_id(workspace_id: UUID) -> UUID:
        """Derived from the workspace id, so reading is one get by id."""
        return app_settings_id(workspace_id)

    if TYPE_CHECKING:  # the event classes @event("Name") makes at runtime, declared for mypy (fields as the methods')

        class Created(Aggregate.Created):
            workspace_id: UUID

        class Changed(Aggregate.Event):
            changes: dict[str, Any]
            by: UUID

        class ChatSettingsChanged(Aggregate.Event):
            changes: dict[str, Any]
            by: UUID

    @event("Created")
    def __init__(self, workspace_id: UUID) -> None:
        self.workspace_id = workspace_id
        self.data: dict[str, Any] = {}

    @property
    def values(self) -> AppSettingsValues:
        """The current validated values."""
        return AppSettingsValues().with_changes(self.data)

    def diff(self, changes: dict[str, Any]) -> dict[str, Any]:
        """The validated changes that differ from the current values (raises InvalidInput)."""
        current = self.values
        new = current.with_changes(changes).to_dict()
        old = current.to_dict()
        return {k: new[k] for k in changes if new[k] != old[k]}

    def change(self, changes: dict[str, Any], by: UUID) -> dict[str, Any]:
        """Apply validated changes; nothing different records nothing. Returns what changed."""
        diff = self.diff(changes)
        if diff:
            self._changed(changes=diff, by=by)
        return diff

    @event("Changed")
    def _changed(self, changes: dict[str, Any], by: UUID) -> None:
        self.data = {**self.data, **changes}

    def record_chat_change(self, changes: dict[str, Any], by: UUID) -> None:
        """Note who changed the chat settings (the values themselves live on the Workspace)."""
        self._chat_settings_changed(changes=changes, by=by)

    @event("ChatSettingsChanged")
    def _chat_settings_changed(self, changes: dict[str, Any], by: UUID) -> None:
        pass
