"""Strip the model's self-assessment trailer (``<confidence>0.82</confidence><topic>Billing</topic>``) from a
streamed reply as it arrives, so the visitor never sees it, and keep it for ``domain.assessment``.

A tag may be split across deltas at any character: text that could still become a tag (a ``<`` followed by a
prefix of ``confidence>`` or ``topic>``) is held back until it is decided, and so are trailing line breaks (the
reply is stored without the blank line before its trailer, exactly as streamed). A tag whose closing tag does not
come within ``MAX_TAG_CHARS`` is not a trailer: it is released as text. An unclosed tag at the end of the stream
(a reply cut by max tokens) is withheld, and its value counts as garbled.
"""

from __future__ import annotations

import re

from domain.assessment import SelfAssessment, parse_self_assessment

MARKERS = ("<confidence>", "<topic>", "<sources>")
MAX_TAG_CHARS = 120
MAX_SOURCES_CHARS = 600  # <sources> lists article ids (36 characters each): room for a dozen
_CLOSERS = {m: re.compile(re.escape("</" + m[1:]), re.IGNORECASE) for m in MARKERS}


class TrailerFilter:
    """One per model attempt: ``feed`` each delta and stream what it returns, ``close`` at the end."""

    def __init__(self) -> None:
        self._pending = ""  # undecided text: a possible tag start, or the body of an open tag
        self._marker: str | None = None  # the open tag's marker, while inside one
        self._held = ""  # trailing line breaks not yet shown: shown only when more visible text follows
        self._trailer: list[str] = []

    def feed(self, text: str) -> str:
        """The visible part of ``text`` that can be shown now (may be empty)."""
        if self._marker is None and not self._pending and "<" not in text:
            return self._show(text)  # the common case: plain text
        self._pending += text
        out: list[str] = []
        while self._pending:
            if self._marker is not None:
                found = _CLOSERS[self._marker].search(self._pending)
                if found is not None:
                    self._trailer.append(self._pending[: found.end()])
                    self._pending, self._marker = self._pending[found.end() :], None
                    continue
                if len(self._pending) <= (MAX_SOURCES_CHARS if self._marker == "<sources>" else MAX_TAG_CHARS):
                    break
                out.append(self._show(self._pending[: len(self._marker)]))  # not a trailer tag after all
                self._pending, self._marker = self._pending[len(self._marker) :], None
                continue
            start = self._pending.find("<")
            if start < 0:
                out.append(self._show(self._pending))
                self._pending = ""
                break
            out.append(self._show(self._pending[:start]))
            rest = self._pending = self._pending[start:]
            head = rest[: max(map(len, MARKERS))].lower()
            opened = next((m for m in MARKERS if head.startswith(m)), None)
            if opened is not None:
                self._marker = opened
                continue
            if any(m.startswith(head) for m in MARKERS):
                break  # could still become a tag: wait for more text
            out.append(self._show("<"))
            self._pending = rest[1:]
        return "".join(out)

    def close(self) -> str:
        """The end of the stream: what is still undecided is an unfinished tag and is withheld."""
        if self._pending:
            self._trailer.append(self._pending)
        self._pending, self._marker, self._held = "", None, ""
        return ""

    @property
    def trailer(self) -> str:
        """Every tag removed so far, as the model wrote them."""
        return "".join(self._trailer)

    @property
    def assessment(self) -> SelfAssessment:
        """The self-assessment parsed from the removed tags (None parts when missing or garbled)."""
        return parse_self_assessment(self.trailer)

    def _show(self, text: str) -> str:
        """Text to show now; a trailing run of whitespace from its first line break on is held back."""
        if not self._held and (not text or ("\n" not in text and "\r" not in text)):
            return text  # nothing to hold back
        body = text.rstrip()
        if not body and self._held:
            self._held += text
            return ""
        tail = text[len(body) :]
        breaks = [i for i in (tail.find("\n"), tail.find("\r")) if i >= 0]
        cut = len(body) + min(breaks) if breaks else len(text)
        shown, self._held = self._held + text[:cut], text[cut:]
        return shown
