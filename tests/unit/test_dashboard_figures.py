"""The dashboard's figures as shown: changes (from read_api), their arrow and colour, SVG charts, formatting."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from read_api._analytics import change, difference
from web.pages import charts
from web.pages._render import compact, percent, seconds, usd
from web.pages.figures import duration, rate_points, relative


def test_changes_are_relative_for_counts_and_differences_for_rates() -> None:
    # Given this period's figure and the previous one, I expect the change the read API computes
    assert change(118, 100) == 0.18 and change(Decimal("12.4"), Decimal("11.8")) > 0
    assert change(5, 0) is None and change(None, 3) is None  # nothing to compare with
    assert difference(0.942, 0.921) == 0.942 - 0.921 and difference(None, 0.5) is None


def test_a_card_says_which_way_and_whether_that_is_good() -> None:
    # More conversations is good; a higher cost is bad; a slower response is bad; nothing before is neutral
    up = relative("c", "Total conversations", "3,842", 3842, 3256, "vs yesterday")
    assert (up.change, up.direction, up.tone, up.arrow) == ("+18%", "up", "good", "▲")
    assert up.spoken == "up 18% vs yesterday"
    cost = relative("k", "API cost today", "$12.40", Decimal("12.40"), Decimal("11.81"), "vs yesterday",
                    higher_is_better=False)  # fmt: skip
    assert (cost.change, cost.tone) == ("+5%", "bad")
    faster = duration("r", "Avg response time", 1800, 2100, "vs yesterday")
    assert (faster.value, faster.change, faster.direction, faster.tone) == ("1.8s", "-300ms", "down", "good")
    rate = rate_points("s", "Resolution rate", 0.942, 0.921, "vs yesterday")
    assert (rate.value, rate.change, rate.tone) == ("94.2%", "+2.1 pts", "good")
    new = relative("c", "Total conversations", "4", 4, 0, "vs yesterday")
    assert (new.change, new.tone) == (None, "neutral") and "no yesterday figure" in new.spoken
    big = relative("c", "Total conversations", "190", 190, 1, "vs previous period")
    assert big.change == "190 times"


def test_bar_chart_has_one_bar_per_value_whole_ticks_and_escaped_labels() -> None:
    svg = str(charts.bar_chart([0, 3, 5], ["<a>", "B", "C"], 'Per "hour"', highlight=2))
    assert svg.count('class="bar') == 3 and 'class="bar current"' in svg and 'data-bars="3"' in svg
    ticks = re.findall(r'text-anchor="end">([^<]+)<', svg)
    assert ticks == ["0", "2", "4", "6", "8"]  # whole numbers for counts
    assert "<a>" not in svg and "&lt;a&gt;" in svg and "&quot;hour&quot;" in svg
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)" rx', svg)]
    assert heights[0] == 0 and heights[2] > heights[1] > 0


def test_gauge_caps_the_ring_but_not_the_figure() -> None:
    over = str(charts.gauge(1.59, "Monthly token budget used"))
    assert "159%" in over and 'class="gauge over"' in over
    assert 'class="gauge ok"' in str(charts.gauge(0.2, "x")) and "—" in str(charts.gauge(None, "x"))


def test_formatting() -> None:
    assert compact(76_400) == "76.4K" and compact(100_000) == "100K" and compact(1_200_000) == "1.2M"
    assert usd(Decimal("187.6")) == "$187.60" and usd(Decimal("0.0099")) == "$0.0099" and usd(None) == "—"
    assert percent(0.942) == "94.2%" and percent(0.5) == "50%" and percent(0.38, 0) == "38%"
    assert seconds(1800) == "1.8s" and seconds(420) == "420ms" and seconds(None) == "—"
    assert datetime(2026, 1, 1, tzinfo=UTC)  # the module imports cleanly with the zone data present
