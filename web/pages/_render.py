"""Rendering of the dashboard's pages: one Jinja environment, the filters that format figures, and the response.

Formatting is presentation only (thousands separators, a percentage, a time in the workspace's zone): every
figure itself comes from a read query. Numbers, dates and times are written the way the workspace's language
writes them (its widget language, with Babel's CLDR data: "1.234,5" and "6. Dez." in German), in its time zone.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.numbers import format_compact_decimal, format_currency, format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HTML = "text/html; charset=utf-8"


LANGUAGE: ContextVar[str] = ContextVar("dashboard_language", default="en")


def use_language(language: str) -> None:
    """Format this request's numbers, dates and times for ``language`` (the workspace's widget language)."""
    LANGUAGE.set(language if _locale_of(language) is not None else "en")


@lru_cache(maxsize=64)
def _locale_of(language: str) -> Locale | None:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return None


def _locale() -> Locale:
    return _locale_of(LANGUAGE.get()) or _locale_of("en")  # type: ignore[return-value]


def _with_digits(pattern: str, digits: int, optional: bool = False) -> str:
    """A CLDR number pattern whose first integer digit is followed by ``digits`` decimals ("#,##0 %" ->
    "#,##0.0 %"); ``optional``: decimals shown only when not zero."""
    if not digits:
        return pattern
    return re.sub(r"0(?![0#,.])", "0." + ("#" if optional else "0") * digits, pattern.split(";")[0], count=1)


def number(value: float | int | Decimal | None, digits: int = 0) -> str:
    """1234567 -> "1,234,567" (en), "1.234.567" (de); None -> "—"."""
    if value is None:
        return "—"
    v = float(value) if digits else round(float(value))
    return format_decimal(v, format=_with_digits("#,##0", digits), locale=_locale())


def compact(value: float | int | None) -> str:
    """A short count for a gauge or an axis: 76400 -> "76.4K" (en), "76,4 k" (fr)."""
    if value is None:
        return "—"
    return str(format_compact_decimal(float(value), format_type="short", fraction_digits=1, locale=_locale()))


def usd(value: Decimal | float | None) -> str:
    """Dollars in the language's way: two decimals, four under ten cents ("$0.0099"), "—" when unknown."""
    if value is None:
        return "—"
    v = float(value)
    locale = _locale()
    pattern = locale.currency_formats["standard"].pattern.split(";")[0]
    if v != 0 and abs(v) < 0.1:
        pattern = pattern.replace("0.00", "0.0000")
    return format_currency(v, "USD", format=pattern, locale=locale, currency_digits=False)


def percent(value: float | None, digits: int = 1) -> str:
    """0.942 -> "94.2%" (en), "94,2 %" (fr); a zero decimal is dropped ("94%")."""
    if value is None:
        return "—"
    locale = _locale()
    pattern = _with_digits(locale.percent_formats[None].pattern, digits, optional=True)
    return format_percent(value, format=pattern, locale=locale)


def seconds(ms: float | None) -> str:
    """Milliseconds as "1.8s" (or "420ms" under a second), the decimal mark of the language."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{round(ms)}ms"
    return format_decimal(ms / 1000, format="0.0", locale=_locale()) + "s"


def in_zone(at: datetime, zone: str) -> datetime:
    """An instant in the workspace's time zone."""
    return at.astimezone(ZoneInfo(zone))


def local(at: datetime | None, zone: str, skeleton: str = "Hm") -> str:
    """An instant in the workspace's time zone, written the language's way for a CLDR skeleton ("Hm": 08:05,
    "MMMd": Dec 6 / 6 déc.)."""
    if at is None:
        return "—"
    return day(in_zone(at, zone), skeleton)


def day(at: date | datetime, skeleton: str = "MMMd") -> str:
    """A date (or time) for a CLDR skeleton in the language: "MMMd" -> "Dec 6" (en), "6 déc." (fr)."""
    return str(format_skeleton(skeleton, at, locale=_locale()))


def hour(value: int) -> str:
    """An hour of the day as the language writes it on an axis: 0 -> "12 AM" (en), "00 Uhr" (de)."""
    locale = _locale()
    skeleton = "h" if "a" in locale.time_formats["short"].pattern else "H"
    return str(format_skeleton(skeleton, datetime(2000, 1, 1, value), locale=locale))


def when(at: datetime | None, zone: str) -> Markup:
    """A feed's time: "08:20" today (the workspace's day), "Dec 6" and the time before."""
    if at is None:
        return Markup("—")
    here = in_zone(at, zone)
    if here.date() == datetime.now(here.tzinfo).date():
        return Markup(escape(day(here, "Hm")))
    return Markup(f'<span class="day">{escape(day(here, "MMMd"))}</span> {escape(day(here, "Hm"))}')


def stars(csat: float | None) -> str:
    """4.66 -> "4.7★" ("4,7★" in de)."""
    return "—" if csat is None else format_decimal(csat, format="0.0", locale=_locale()) + "★"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["j2", "html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=-1,
    )
    env.filters.update(
        number=number,
        compact=compact,
        usd=usd,
        percent=percent,
        seconds=seconds,
        local=local,
        day=day,
        stars=stars,
        when=when,
    )
    return env


ENV = _environment()


def render(template: str, **context: Any) -> str:
    """The template rendered with ``context``."""
    return ENV.get_template(template).render(**context)


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """True for a request htmx sent (it then wants the fragment, not the page)."""
    return request.headers.get("hx-request") == "true"


def html(body: str, status_code: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    """An HTML response that no shared cache keeps (pages carry a member's figures)."""
    return Response(
        body,
        status_code=status_code,
        media_type=HTML,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def page(request: Request[Any, Any, Any], template: str, fragment: str | None = None, **context: Any) -> Response[str]:
    """The whole page, or for an htmx request the ``fragment`` template alone (the part that changes)."""
    if fragment is not None and is_htmx(request):
        return html(render(fragment, **context))
    return html(render(template, **context))


def svg(markup: str) -> Markup:
    """Markup built by web/pages/charts.py (every value in it escaped there)."""
    return Markup(markup)
