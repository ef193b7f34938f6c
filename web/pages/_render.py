"""Rendering of the dashboard's pages: one Jinja environment, the filters that format figures, and the response.

Formatting is presentation only (thousands separators, a percentage, a time in the workspace's zone): every
figure itself comes from a read query. Numbers are written the English way (the dashboard's only language today).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HTML = "text/html; charset=utf-8"


def number(value: float | int | Decimal | None, digits: int = 0) -> str:
    """1234567 -> "1,234,567"; None -> "—"."""
    if value is None:
        return "—"
    return f"{float(value):,.{digits}f}" if digits else f"{round(float(value)):,}"


def compact(value: float | int | None) -> str:
    """A short count for a gauge or an axis: 76400 -> "76.4K", 1200000 -> "1.2M"."""
    if value is None:
        return "—"
    v = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= size:
            text = f"{v / size:.1f}".removesuffix(".0")
            return text + suffix
    return f"{round(v):,}"


def usd(value: Decimal | float | None) -> str:
    """Dollars: two decimals, four under ten cents ("$0.0099"), "—" when unknown."""
    if value is None:
        return "—"
    v = float(value)
    if v != 0 and abs(v) < 0.1:
        return f"${v:,.4f}"
    return f"${v:,.2f}"


def percent(value: float | None, digits: int = 1) -> str:
    """0.942 -> "94.2%"."""
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f}%".replace(".0%", "%") if digits else f"{value * 100:.0f}%"


def seconds(ms: float | None) -> str:
    """Milliseconds as "1.8s" (or "420ms" under a second)."""
    if ms is None:
        return "—"
    return f"{ms:.0f}ms" if ms < 1000 else f"{ms / 1000:.1f}s"


def local(at: datetime | None, zone: str, fmt: str = "%H:%M") -> str:
    """An instant in the workspace's time zone."""
    if at is None:
        return "—"
    return at.astimezone(ZoneInfo(zone)).strftime(fmt)


def when(at: datetime | None, zone: str) -> Markup:
    """A feed's time: "08:20" today (the workspace's day), "Dec 6" and the time before."""
    if at is None:
        return Markup("—")
    tz = ZoneInfo(zone)
    here = at.astimezone(tz)
    if here.date() == datetime.now(tz).date():
        return Markup(here.strftime("%H:%M"))
    return Markup(f'<span class="day">{here:%b} {here.day}</span> {here:%H:%M}')


def stars(csat: float | None) -> str:
    """4.66 -> "4.7★"."""
    return "—" if csat is None else f"{csat:.1f}★"


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
