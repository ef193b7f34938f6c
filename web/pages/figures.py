"""KPI cards: a figure from a read query, its change against the previous period (computed by read_api's
``change``/``difference``) and how to show that change: an arrow for its direction, a colour for good or bad."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from read_api._analytics import change, difference
from web.pages._render import percent, seconds


@dataclass(frozen=True)
class Kpi:
    """One card."""

    key: str
    label: str
    value: str
    change: str | None  # "+18%", "-0.3s", "+2.1 pts"; None: nothing to compare with
    direction: str  # up, down, flat
    tone: str  # good, bad, neutral
    compared_to: str  # "vs yesterday"
    note: str = ""

    @property
    def arrow(self) -> str:
        """▲, ▼ or → (decorative: the sentence says it)."""
        return {"up": "▲", "down": "▼"}.get(self.direction, "→")

    @property
    def spoken(self) -> str:
        """The change as a screen reader should say it."""
        if self.change is None:
            return f"no {self.compared_to.removeprefix('vs ')} figure to compare with"
        word = {"up": "up", "down": "down"}.get(self.direction, "unchanged")
        return f"{word} {self.change.lstrip('+-')} {self.compared_to}"


def _tone(delta: float | None, higher_is_better: bool) -> tuple[str, str]:
    if delta is None or abs(delta) < 1e-12:
        return "flat", "neutral"
    direction = "up" if delta > 0 else "down"
    return direction, "good" if (delta > 0) == higher_is_better else "bad"


def relative(
    key: str,
    label: str,
    value_text: str,
    value: float | int | Decimal | None,
    previous: float | int | Decimal | None,
    compared_to: str,
    *,
    higher_is_better: bool = True,
    note: str = "",
    fraction: float | None = None,
    use_fraction: bool = False,
) -> Kpi:
    """A count or an amount: its change as a percentage of the previous figure (``fraction`` when the read API
    already gave it)."""
    delta = fraction if use_fraction else change(value, previous)
    direction, tone = _tone(delta, higher_is_better)
    text = None if delta is None else f"{delta * 100:+.0f}%" if abs(delta) >= 0.1 else f"{delta * 100:+.1f}%"
    text = text.replace(".0%", "%") if text else text
    if delta is not None and delta >= 10:  # 11 times and more: a percentage that long says less than the factor
        text = f"{delta + 1:.0f} times"
    return Kpi(key, label, value_text, text, direction, tone, compared_to, note)


def rate_points(key: str, label: str, value: float | None, previous: float | None, compared_to: str) -> Kpi:
    """A rate (0..1): shown as a percentage, its change in percentage points."""
    delta = difference(value, previous)
    direction, tone = _tone(delta, True)
    text = None if delta is None else f"{delta * 100:+.1f} pts"
    return Kpi(key, label, percent(value), text, direction, tone, compared_to)


def duration(
    key: str, label: str, value_ms: float | None, previous_ms: float | None, compared_to: str, note: str = ""
) -> Kpi:
    """A time in milliseconds: shorter is better, its change in seconds."""
    delta = difference(value_ms, previous_ms)
    direction, tone = _tone(delta, False)
    text = None if delta is None else ("+" if delta > 0 else "-") + seconds(abs(delta))
    return Kpi(key, label, seconds(value_ms), text, direction, tone, compared_to, note)
