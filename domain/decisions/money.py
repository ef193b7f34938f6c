"""Money in visitor messages: amounts with their currency (symbols, codes, words in five languages, shorthand
``2k`` / ``3 mil``, numbers written in words), and the amount actually asked back (a correction in a later message,
quantity x unit price, a percentage or half of an amount, a difference, a sum), converted to the workspace's
currency with rates held as data (``domain/data/currency_rates.json``, with their date and source)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any


@dataclass(frozen=True)
class Rates:
    """US dollars per unit of each currency, with provenance."""

    usd_per_unit: dict[str, Decimal]
    as_of: str
    source: str

    def convert(self, value: Decimal, currency: str, to: str) -> Decimal | None:
        """``value`` in ``currency`` expressed in ``to``; None when either rate is unknown."""
        if currency == to:
            return value
        a, b = self.usd_per_unit.get(currency), self.usd_per_unit.get(to)
        return None if a is None or b is None or b == 0 else value * a / b

    def with_overrides(self, overrides: dict[str, Any]) -> Rates:
        """These rates with a workspace's own (US dollars per unit) replacing or adding to them."""
        if not overrides:
            return self
        merged = {**self.usd_per_unit, **{k.upper(): Decimal(str(v)) for k, v in overrides.items()}}
        return Rates(merged, self.as_of, self.source + " With workspace overrides.")


@lru_cache(maxsize=1)
def default_rates() -> Rates:
    """The built-in rates (domain/data/currency_rates.json)."""
    raw = json.loads((resources.files("domain") / "data" / "currency_rates.json").read_text(encoding="utf-8"))
    rates = {code: Decimal(str(v)) for code, v in raw["usd_per_unit"].items()}
    return Rates(rates, raw["as_of"], raw["source"])


_SYMBOL = {
    "r$": "BRL", "a$": "AUD", "c$": "CAD", "us$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR",
}  # fmt: skip
_CUR_WORDS = {
    "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "dolares": "USD", "dolar": "USD",
    "dollar's": "USD", "eur": "EUR", "euro": "EUR", "euros": "EUR", "gbp": "GBP", "pound": "GBP", "pounds": "GBP",
    "quid": "GBP", "libras": "GBP", "livres": "GBP", "pfund": "GBP", "chf": "CHF", "franken": "CHF",
    "francs": "CHF", "cad": "CAD", "aud": "AUD", "jpy": "JPY", "yen": "JPY", "brl": "BRL", "reais": "BRL",
    "real": "BRL", "mxn": "MXN", "pesos": "MXN", "peso": "MXN", "sek": "SEK", "nok": "NOK", "dkk": "DKK",
    "pln": "PLN", "inr": "INR", "rupees": "INR", "cny": "CNY", "yuan": "CNY",
    # named with their country or in another language: the specific name wins over a bare "$" before the number
    "canadian dollars": "CAD", "canadian dollar": "CAD", "dollars canadiens": "CAD", "dolares canadienses": "CAD",
    "kanadische dollar": "CAD", "australian dollars": "AUD", "australian dollar": "AUD", "dolares australianos": "AUD",
    "dollars australiens": "AUD", "us dollars": "USD", "dollars americains": "USD", "dolares americanos": "USD",
    "pesos mexicanos": "MXN", "pesos colombianos": "COP", "pesos argentinos": "ARS", "pesos chilenos": "CLP",
    "cop": "COP", "ars": "ARS", "clp": "CLP", "swiss francs": "CHF", "francs suisses": "CHF",
    "schweizer franken": "CHF", "sfr": "CHF", "fr": "CHF", "sterling": "GBP", "libras esterlinas": "GBP",
    "kronor": "SEK", "zloty": "PLN", "zlotys": "PLN", "zl": "PLN", "rupias": "INR", "yenes": "JPY",
    "reales": "BRL", "real brasileno": "BRL", "reais brasileiros": "BRL",
    # slang: "5 mil conto" / "300 paus" (BR reais), "200 pavos" (ES euros), "300 balles" (FR euros), "500 Ocken"
    "conto": "BRL", "contos": "BRL", "paus": "BRL", "pavos": "EUR", "balles": "EUR", "ocken": "EUR",
    "kroten": "EUR", "mause": "EUR", "kohle": "EUR",
}  # fmt: skip
# a "$" named after its country in French, Spanish or Portuguese ("1200 $ canadiens")
_DOLLAR_OF = {"canad": "CAD", "austral": "AUD", "americ": "USD", "estadounid": "USD"}
_MILLION = {"million", "millions", "millones", "millon", "milhoes", "milhao", "millionen", "mio", "mn", "mm"}
_UNITS = {
    # en
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
    # es / pt
    "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9,
    "diez": 10, "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70,
    "ochenta": 80, "noventa": 90, "doscientos": 200, "trescientos": 300, "cuatrocientos": 400, "quinientos": 500,
    "seiscientos": 600, "setecientos": 700, "ochocientos": 800, "novecientos": 900, "cien": 100, "ciento": 100,
    "dois": 2, "duas": 2, "quatro": 4, "sete": 7, "oito": 8, "nove": 9, "dez": 10, "vinte": 20, "trinta": 30,
    "quarenta": 40, "cinquenta": 50, "sessenta": 60, "oitenta": 80, "cem": 100, "cento": 100, "duzentos": 200,
    "trezentos": 300, "quinhentos": 500, "seiscentos": 600, "setecentos": 700, "oitocentos": 800,
    "novecentos": 900,
    # fr
    "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "vingt": 20,
    "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
}  # fmt: skip
_HUNDRED = {"hundred", "cent", "cents", "hundert"}
_THOUSAND = {"thousand", "mil", "mille", "tausend", "grand"}
_ARTICLE = {"a", "an", "un", "una", "une", "um", "uma", "ein", "eine"}
_GERMAN_WORDS = "ein eins eine zwei drei vier funf sechs sieben acht neun zehn elf zwolf zwanzig dreissig vierzig"
# longest first, so "funfzig" is read as fifty and not as "funf" + "zig"
_GERMAN = re.compile(
    "(" + "|".join(sorted([*_GERMAN_WORDS.split(), "funfzig", "sechzig", "siebzig", "achtzig", "neunzig", "hundert",
                           "tausend", "und"], key=len, reverse=True)) + ")"
)  # fmt: skip
_GERMAN_VALUE = {
    "ein": 1, "eins": 1, "eine": 1, "zwei": 2, "drei": 3, "vier": 4, "funf": 5, "sechs": 6, "sieben": 7,
    "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwolf": 12, "zwanzig": 20, "dreissig": 30, "vierzig": 40,
    "funfzig": 50, "sechzig": 60, "siebzig": 70, "achtzig": 80, "neunzig": 90,
}  # fmt: skip
_NUM = r"\d{1,3}(?:[,.\s']\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)"
_CODES = r"usd|eur|gbp|chf|cad|aud|jpy|brl|mxn|sek|nok|dkk|pln|inr|cny|cop|ars|clp"
_CUR = (
    r"\$ ?(?:canadien(?:s|nes?)?|canadienses?|canadenses?|australien(?:s|nes?)?|australianos?|australianas?"
    r"|americains?|americanos?|estadounidenses?)\b|r\$|a\$|c\$|us\$|\$|€|£|¥|₹|\b(?:"
    + "|".join(sorted(_CUR_WORDS, key=len, reverse=True))
    + r")\b"
    rf"|\b(?:{_CODES})(?=\d)|(?<=\d)(?:{_CODES})\b"
)
_MULT = r"k|grand|thousand|mil|mille|tausend|tsd\.?|" + "|".join(sorted(_MILLION, key=len, reverse=True))
_NUMERIC = re.compile(
    rf"(?P<c1>{_CUR})?\s?(?P<num>{_NUM})\s?(?P<mult>(?:{_MULT})(?:\b|(?<=\.)))?\s?(?:de\s)?(?P<c2>{_CUR})?",
    re.IGNORECASE,
)
_CORRECTION = re.compile(
    r"\b(?:sorry|i meant|meant|actually|no wait|wait|typo|correction|perdon|error|erreur|pardon|non|tippfehler"
    r"|desculpa|corrigindo|erro|correccion|nein|perdona|perdone|disculpa|disculpe|quise decir|me equivoque|excusez"
    r"|je voulais dire|faute de frappe|entschuldigung|ich meinte|korrektur|desculpe|quis dizer|correcao|i mean"
    r"|oops|oups|ups|rectifico|corrijo|corrige|extra zero|one zero too many|un cero de mas|un zero de trop"
    r"|eine null zu viel|um zero a mais|ops|digitei errado|escrevi errado|errei|me enganei|zahlendreher|vertippt"
    r"|verschrieben|je me suis trompe|scratch that|i misspoke|mistyped|me confundi|escribi mal)\b"
)
_NEGATED = re.compile(r"(?:\bnot|\bno|\bpas|\bnicht|\bnao|\bni)\s+$")
_BARE_CONTEXT = re.compile(
    r"\b(?:refund(?: of| for)?|reimburse(?: us| me)?|paid|charged|charge of|cost me|billed|reembolso de"
    r"|remboursement de|erstattung von|reembolso de|es waren|eran|son|c'etait|sao|era|were|was|it's|its)\s$"
)
_QTY_WORDS = {w: v for w, v in [*_UNITS.items(), *_GERMAN_VALUE.items()] if 2 <= v <= 100}
_QTY = r"\d{1,3}|" + "|".join(sorted(_QTY_WORDS, key=len, reverse=True))
_QTY_BEFORE = re.compile(
    rf"(?:^|\s)({_QTY})\s(?:[\w-]+\s){{0,2}}?(?:x|\*|at|a|@|de|zu je|je|zu|por)\s?$"
    rf"|(?:^|\s)({_QTY})\s?(?:x|times|veces|fois|mal|vezes)\s?$"
)
_PERIOD = r"months?|meses|mes|mois|monate?n?|monat|years?|anos|ano|ans|an|jahre?n?|seats?|users?|licen[cs]\w*|lizenz\w*"
_PER_AFTER = re.compile(
    rf"\s?(?:/|a|per|por|par|pro|each|every|al|au|cada)\s?(?:{_PERIOD})\b[^.?!$€£\d]{{0,40}}?\b({_QTY})\s(?:{_PERIOD})\b"
)
_EACH_AFTER = re.compile(
    r"\s?(?:each|apiece|a piece|per (?:seat|licen[cs]e|user)|cada (?:una|uno|um|uma)|chacun\w*|l'unite|pro stuck"
    r"|das stuck|je stuck|pro (?:lizenz|platz|nutzer))\b"
)
_UNIT_NOUN = (
    r"(?:seats?|licen[cs]\w*|lizenz\w*|users?|usuari\w*|utilisateurs?|sieges?|platze?|plazas?|assentos?|accounts?"
    r"|cuentas?|contas?|comptes?|nutzer\w*|postes?)"
)
_QTY_OF_UNIT = re.compile(rf"(?:^|\s)({_QTY})\s(?:\w+\s)?{_UNIT_NOUN}\b")
_ONE_OF = re.compile(
    r"\b(?:one of (?:the|them|those|these)|just one|only one|un des|une des|l'un des|uno de (?:los|ellos)|una de las"
    r"|solo uno|einen der|eine der|eine davon|einen davon|nur eine|um dos|uma das|so uma|apenas uma|one payment"
    r"|un paiement|un pago|um pagamento|eine zahlung|one charge|one of the charges)\b"
)
# the units asked back, counted after their unit price: "4 licencias a 100 € cada una ... devuelvan las tres que
# sobran", "450 € deux fois ... rendez-moi les deux prélèvements en trop", "the two extra charges"
_SURPLUS = re.compile(
    rf"\b({_QTY})\s(?:[\w-]+\s){{0,2}}?(?:que sobran|sobrantes?|de mas|de sobra|en trop|de trop|zu viel\w*"
    rf"|zuviel\w*|uberzahlt\w*|a mais|excedentes?|left over|too many|in excess)\b"
    rf"|\b({_QTY})\s(?:extra|surplus|superflu\w*|uberzahlige\w*|ubrige\w*|excedentes?|sobrantes?)\b"
)
_TIMES_AFTER = re.compile(rf"\s?(?:{_QTY})\s?(?:x\b|times|veces|fois|mal\b|vezes)")
_PERCENT_BEFORE = re.compile(r"(\d{1,3})\s?%[^%\d]{0,45}$")
_ONLY = re.compile(r"\b(?:only|just|solo|solamente|seulement|nur|apenas|so)\b[^.?!$€£\d]{0,40}$")
_HALF = re.compile(
    r"\b(?:half|(?:la )?mitad|(?:la )?moitie|(?:die )?halfte|(?:a )?metade)\b"
    r"(?! (?:(?:of )?the time|del tiempo|du temps|der zeit|do tempo|das vezes|de las veces|des fois))"
)
_DIFFERENCE = re.compile(r"\b(?:difference|diferencia|difference|differenz|diferenca)\b")
_PLUS = re.compile(r"^\s*(?:\w+\s){0,3}?(?:plus|\+|and also|mas|en plus|zuzuglich|mais)\b")


@dataclass(frozen=True)
class Amount:
    """A money amount found in a message: value, ISO currency (None when the visitor named none), text span."""

    value: Decimal
    currency: str | None
    start: int
    end: int
    said: str


def _number(raw: str) -> Decimal | None:
    """The value of a written number, or None (also for more than 12 digits: not an amount anyone asks back)."""
    if sum(c.isdigit() for c in raw) > 12:
        return None
    raw = re.sub(r"[\s']", ",", raw)
    last = max(raw.rfind(","), raw.rfind("."))
    if last >= 0 and len(raw) - last - 1 in (1, 2):
        raw = re.sub(r"[,.]", "", raw[:last]) + "." + raw[last + 1 :]
    else:
        raw = re.sub(r"[,.]", "", raw)
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def _word_value(token: str) -> int | None:
    return _UNITS.get(token)


def _german(token: str) -> int | None:
    """A German compound numeral (``tausendfunfhundert``) or None."""
    if len(token) < 4 or not re.fullmatch(f"(?:{_GERMAN.pattern})+", token):
        return None
    parts = re.findall(_GERMAN.pattern, token)
    total, current, pending = 0, 0, 0
    for part in parts:
        if part == "tausend":
            total += max(current + pending, 1) * 1000
            current = pending = 0
        elif part == "hundert":
            current += max(pending, 1) * 100
            pending = 0
        elif part == "und":
            continue
        else:
            pending += _GERMAN_VALUE[part]
    value = total + current + pending
    return value if value > 0 and ("hundert" in parts or "tausend" in parts) else None


def _word_amounts(text: str) -> list[tuple[Decimal, int, int]]:
    """Numbers written in words: (value, start, end)."""
    out: list[tuple[Decimal, int, int]] = []
    tokens = list(re.finditer(r"[a-z]+", text))
    i = 0
    while i < len(tokens):
        start = i
        total = current = 0
        seen = False
        while i < len(tokens):
            word = tokens[i].group(0)
            nxt = tokens[i + 1].group(0) if i + 1 < len(tokens) else ""
            german = _german(word)
            value = _word_value(word)
            if german is not None:
                current += german
            elif value is not None and 0 < current < 10 and value >= 100:
                current = value  # "dos oitocentos" (pt: of the 800): no language says a unit before its hundreds
            elif value is not None:
                current += value
            elif word in _HUNDRED and seen:
                current = max(current, 1) * 100 if current < 100 else current + 100
            elif word in _MILLION and seen:
                total = (total + max(current, 1)) * 1_000_000
                current = 0
            elif word in _THOUSAND and (seen or word != "grand" or current == 1):
                total += max(current, 1) * 1000
                current = 0
            elif word in _ARTICLE and (_word_value(nxt) is not None or nxt in _HUNDRED | _THOUSAND) and not seen:
                current = 1 if nxt in _HUNDRED | _THOUSAND else 0
            elif word in ("and", "y", "e", "et", "und") and seen and _word_value(nxt) is not None:
                pass
            else:
                break
            seen = seen or german is not None or value is not None or word in _HUNDRED | _THOUSAND
            i += 1
        if seen and total + current >= 10:
            out.append((Decimal(total + current), tokens[start].start(), tokens[i - 1].end()))
        i = max(i, start + 1)
    return out


def _currency(raw: str | None) -> str | None:
    if not raw:
        return None
    raw = raw.strip().lower()
    if raw.startswith("$") and len(raw) > 3:
        return next((code for stem, code in _DOLLAR_OF.items() if stem in raw), "USD")
    return _SYMBOL.get(raw) or _CUR_WORDS.get(raw)


def amounts(text: str, inherit: str | None = None, correcting: bool = False) -> list[Amount]:
    """The money amounts of one normalised message, in order. A bare number counts only after a refund or
    payment word, or in a correction (``correcting``; ``inherit``: the currency of the amount being corrected)."""
    out: list[Amount] = []
    for m in _NUMERIC.finditer(text):
        value = _number(m.group("num"))
        if value is None:
            continue
        mult = (m.group("mult") or "").lower().rstrip(".")
        if mult:
            value *= 1_000_000 if mult in _MILLION else 1000
        c1, c2 = _currency(m.group("c1")), _currency(m.group("c2"))
        # "$15,000 pesos": a currency named after the number is more specific than a bare "$" before it
        currency = c2 if c2 and (m.group("c1") or "").strip() == "$" else c1 or c2
        after = text[m.end() : m.end() + 12]
        start = m.start("c1") if m.group("c1") else m.start("num")
        if currency is None and not mult:
            if re.match(
                r"\s?(?:%|days?|dias?|jours?|tage?|months?|meses|mois|monate?|years?|users?|seats?|x\b)", after
            ):
                continue
            unit_price = _EACH_AFTER.match(after) and _QTY_BEFORE.search(text[:start][-40:])
            if inherit is None and not correcting and not _BARE_CONTEXT.search(text[:start][-20:]) and not unit_price:
                continue
            currency = inherit
        if currency is None and mult and inherit:
            currency = inherit
        out.append(Amount(value, currency, start, m.end(), m.group(0).strip()))
    for value, start, end in _word_amounts(text):
        tail = re.match(rf"\s?(?:de\s)?({_CUR})", text[end : end + 30])
        context = bool(_BARE_CONTEXT.search(text[:start][-20:])) or "grand" in text[start:end]
        if tail is None and not ((inherit or correcting) and _CORRECTION.search(text)) and not context:
            continue
        currency = _currency(tail.group(1)) if tail else inherit
        finish = end + (tail.end() if tail else 0)
        if any(a.start < finish and start < a.end for a in out):
            continue
        out.append(Amount(value, currency, start, finish, text[start:finish]))
    return sorted(out, key=lambda a: a.start)


def _compose(text: str, found: list[Amount]) -> tuple[Amount | None, str]:
    """The amount asked back within one message, and how it was read."""
    live = [a for a in found if not _NEGATED.search(text[: a.start][-8:])]
    if not live:
        return None, "none"
    cue = list(_CORRECTION.finditer(text))
    if cue and any(a.start > cue[-1].end() for a in live):
        return [a for a in live if a.start > cue[-1].end()][-1], "corrected in the message"
    for a in live:  # "I only want the $100 back"
        if _ONLY.search(text[: a.start][-40:]):
            return a, "the amount asked back"
    surplus = list(_SURPLUS.finditer(text))
    for a in live:  # a unit price, then the count of units asked back ("the three left over", "les deux en trop")
        later = [m for m in surplus if m.start() > a.end]
        unit = (
            _QTY_BEFORE.search(text[: a.start][-40:])
            or _EACH_AFTER.match(text[a.end : a.end + 20])
            or _TIMES_AFTER.match(text[a.end : a.end + 20])
        )
        if unit and later:
            said = later[-1].group(1) or later[-1].group(2)
            n = Decimal(said) if said.isdigit() else Decimal(_QTY_WORDS[said])
            if 1 < n <= 500:
                return Amount(a.value * n, a.currency, a.start, a.end, a.said), "unit price x the units asked back"
    for a in live:  # quantity x unit price, unless one of them is asked back ("charged twice 450, refund one")
        qty = _QTY_BEFORE.search(text[: a.start][-40:])
        if qty and _ONE_OF.search(text):
            return a, "one of several"
        if qty:
            said = qty.group(1) or qty.group(2)
            n = Decimal(said) if said.isdigit() else Decimal(_QTY_WORDS[said])
            if 1 < n <= 500:
                return Amount(a.value * n, a.currency, a.start, a.end, a.said), "quantity x unit price"
    for a in live:  # a unit price marked "each" after it: "the 9 seats we never used, they're $45 each"
        if _EACH_AFTER.match(text[a.end : a.end + 20]):
            before = list(_QTY_OF_UNIT.finditer(text[: a.start][-100:]))
            said = before[-1].group(1) if before else ""
            n = Decimal(said) if said.isdigit() else Decimal(_QTY_WORDS.get(said, 0))
            if 1 < n <= 500:
                return Amount(a.value * n, a.currency, a.start, a.end, a.said), "quantity x unit price"
    for a in live:  # a unit price then its quantity: "$150/month for the last 6 months"
        per = _PER_AFTER.match(text[a.end : a.end + 60])
        if per:
            said = per.group(1)
            n = Decimal(said) if said.isdigit() else Decimal(_QTY_WORDS[said])
            if 1 < n <= 500:
                return Amount(a.value * n, a.currency, a.start, a.end, a.said), "quantity x unit price"
    for a in live:  # a percentage of an amount
        pct = _PERCENT_BEFORE.search(text[: a.start][-40:])
        if pct and 0 < int(pct.group(1)) < 100:
            return Amount(a.value * int(pct.group(1)) / 100, a.currency, a.start, a.end, a.said), "percentage"
    if _HALF.search(text):
        top = max(live, key=lambda a: a.value)
        return Amount(top.value / 2, top.currency, top.start, top.end, top.said), "half"
    if _DIFFERENCE.search(text) and len(live) >= 2:
        a, b = live[-2], live[-1]
        return Amount(abs(a.value - b.value), b.currency or a.currency, a.start, b.end, ""), "difference"
    for a, b in pairwise(live):
        if _PLUS.search(text[a.end : b.start]):
            return Amount(a.value + b.value, a.currency or b.currency, a.start, b.end, ""), "sum"
    return max(live, key=lambda a: a.value), "largest in the message"


def asked_back(messages: list[str], refund_message: list[bool]) -> tuple[Amount | None, str]:
    """The amount a conversation asks back: the latest correction wins, else the message that asks for the
    refund (or the first message naming an amount). ``messages`` are normalised; ``refund_message[i]`` says
    whether message i asks for money back."""
    chosen: tuple[Amount | None, str] = (None, "none")
    currency: str | None = None
    for i, text in enumerate(messages):
        correction = bool(_CORRECTION.search(text)) and chosen[0] is not None
        found = amounts(text, inherit=currency if correction else None, correcting=correction)
        amount, how = _compose(text, found)
        if amount is None:
            continue
        if chosen[0] is None or correction or refund_message[i]:
            if correction and amount.currency is None:
                amount = Amount(amount.value, currency, amount.start, amount.end, amount.said)
            chosen = (amount, "corrected in a later message" if correction else how)
            currency = amount.currency or currency
    return chosen
