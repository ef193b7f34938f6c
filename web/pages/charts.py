"""Charts as server-side SVG: deterministic markup, assertable in Python, no chart library in the browser.

Each chart is an ``<svg role="img">`` with a title naming what it shows; the figures behind it are also given to
screen readers as a table by the template (``sr-only``). Colours come from CSS variables, so the brand colour and
the dark theme apply. Every text written here is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def _nice_max(value: float, ticks: int = 4) -> float:
    """A round axis maximum at or above ``value`` whose ``ticks`` steps are whole (1, 2 or 5 times a power of
    ten): counts get whole-number gridlines."""
    if value <= 0:
        return float(ticks)
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for step in (1, 2, 5, 10):
        if raw <= step * power:
            return float(step * power * ticks)
    return float(10 * power * ticks)


def _tick(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:g}"


def bar_chart(
    values: Sequence[float],
    labels: Sequence[str],
    title: str,
    *,
    highlight: int | None = None,
    label_every: int = 1,
    height: int = 240,
    width: int = 640,
    previous: Sequence[float] | None = None,
) -> Markup:
    """Vertical bars, one per value, with a y axis of 4 gridlines; ``previous`` draws the comparison as a line
    of ticks; ``highlight`` marks one bar (the current hour)."""
    left, right, top, bottom = 44, 8, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max([*values, *(previous or []), 0]))
    n = max(len(values), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.64, 1.5)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
        f' data-bars="{len(values)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        v = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick(v)}</text>')
    for i, value in enumerate(values):
        h = plot_h * (value / top_value) if top_value else 0
        x = left + slot * i + (slot - bar_w) / 2
        cls = "bar current" if i == highlight else "bar"
        label = escape(labels[i]) if i < len(labels) else ""
        parts.append(
            f'<rect class="{cls}" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{max(h, 0):.1f}"'
            f' rx="2"><title>{label}: {_tick(value)}</title></rect>'
        )
        if previous is not None and i < len(previous):
            py = top + plot_h - plot_h * (previous[i] / top_value)
            parts.append(f'<line class="prev" x1="{x:.1f}" x2="{x + bar_w:.1f}" y1="{py:.1f}" y2="{py:.1f}"/>')
        if i % label_every == 0 and label:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - 8}" text-anchor="middle">{label}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(values: Sequence[float], labels: Sequence[str], title: str, *, width: int = 560) -> Markup:
    """Horizontal bars, largest first as given, each labelled with its name and value."""
    row, label_w, value_w = 34, 190, 56
    height = max(len(values), 1) * row
    top_value = max([*values, 1])
    plot_w = width - label_w - value_w
    parts = [
        f'<svg class="chart hbar" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
        f' data-bars="{len(values)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (value, label) in enumerate(zip(values, labels, strict=False)):
        y = i * row
        w = plot_w * value / top_value
        name = escape(label if len(label) <= 22 else label[:21] + "…")
        parts.append(f'<text class="label" x="0" y="{y + 21}">{name}</text>')
        parts.append(f'<rect class="track" x="{label_w}" y="{y + 8}" width="{plot_w}" height="18" rx="4"/>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y + 8}" width="{max(w, 2):.1f}" height="18" rx="4"/>')
        parts.append(f'<text class="value" x="{width}" y="{y + 21}" text-anchor="end">{escape(f"{value:,.0f}")}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def gauge(fraction: float | None, label: str, *, size: int = 168) -> Markup:
    """A ring filled to ``fraction`` (capped at 100% drawn; the text says the real figure)."""
    stroke = 14
    r = (size - stroke) / 2
    c = 2 * math.pi * r
    shown = min(max(fraction or 0.0, 0.0), 1.0)
    level = "over" if (fraction or 0) >= 1 else "warn" if (fraction or 0) >= 0.8 else "ok"
    text = "—" if fraction is None else f"{fraction * 100:.0f}%"
    half = size / 2
    fill = (
        f'<circle class="fill" cx="{half}" cy="{half}" r="{r:.1f}" stroke-width="{stroke}" fill="none"'
        f' stroke-dasharray="{c * shown:.1f} {c:.1f}" transform="rotate(-90 {half} {half})" stroke-linecap="round"/>'
        if shown > 0.002
        else ""  # a round cap on an empty ring would draw a dot
    )
    return Markup(
        f'<svg class="gauge {level}" viewBox="0 0 {size} {size}" role="img" aria-label="{escape(label)}: {text}">'
        f"<title>{escape(label)}: {text}</title>"
        f'<circle class="track" cx="{half}" cy="{half}" r="{r:.1f}" stroke-width="{stroke}" fill="none"/>'
        f"{fill}"
        f'<text class="gauge-value" x="{half}" y="{half + 10}" text-anchor="middle">{text}</text>'
        "</svg>"
    )
