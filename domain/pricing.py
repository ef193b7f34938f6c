"""Model prices as data, and the pure cost function.

Every price names the date it was read and where. A model with no known price
has an unknown cost (``None``), never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    """USD per million tokens, with provenance."""

    input: Decimal
    output: Decimal
    cache_write: Decimal
    cache_read: Decimal
    as_of: str
    source: str


@dataclass(frozen=True)
class Usage:
    """Token counts as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total(self) -> int:
        """All tokens billed or served from cache in this call."""
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


_ANTHROPIC = "https://www.anthropic.com/pricing (API, standard tier; cache write = 5-minute TTL)"
_OPENAI = "https://openai.com/api/pricing (standard tier; cached input)"


def _p(inp: str, out: str, cw: str, cr: str, as_of: str, source: str) -> Price:
    return Price(Decimal(inp), Decimal(out), Decimal(cw), Decimal(cr), as_of, source)


PRICES: dict[str, Price] = {
    "claude-sonnet-4-6": _p("3", "15", "3.75", "0.30", "2026-02-17", _ANTHROPIC),
    "claude-sonnet-4-5": _p("3", "15", "3.75", "0.30", "2025-09-29", _ANTHROPIC),
    "claude-sonnet-4-5-20250929": _p("3", "15", "3.75", "0.30", "2025-09-29", _ANTHROPIC),
    "claude-haiku-4-5": _p("1", "5", "1.25", "0.10", "2025-10-15", _ANTHROPIC),
    "claude-haiku-4-5-20251001": _p("1", "5", "1.25", "0.10", "2025-10-15", _ANTHROPIC),
    "claude-opus-4-5": _p("5", "25", "6.25", "0.50", "2025-11-24", _ANTHROPIC),
    "gpt-4o-mini": _p("0.15", "0.60", "0.15", "0.075", "2024-07-18", _OPENAI),
    "gpt-4o": _p("2.50", "10", "2.50", "1.25", "2024-10-01", _OPENAI),
    "offline-retrieval": _p("0", "0", "0", "0", "2026-11-24", "ChatAssist offline answerer: runs locally, no charge"),
}


def price_of(model: str) -> Price | None:
    """The known price of ``model``, or None when nobody has recorded one."""
    return PRICES.get(model)


def cost_usd(model: str, usage: Usage) -> Decimal | None:
    """Cost of one call in USD, to 1e-8, or None when the model has no known price."""
    price = price_of(model)
    if price is None:
        return None
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_write_tokens * price.cache_write
        + usage.cache_read_tokens * price.cache_read
    ) / _MILLION
    return total.quantize(Decimal("0.00000001"))
