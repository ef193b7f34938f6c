"""The offline answerer: retrieval over the workspace's own help articles and examples, no network.

Used when no provider key is configured. Its token counts are real counts of its own
tokenizer (words and punctuation) over the assembled prompt and the reply; its cost is zero.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from commands.ai import base
from domain.pricing import Usage
from domain.retrieval import Hit, count_tokens, words

MODEL = "offline-retrieval"
MIN_SUPPORT = 0.34
NO_MATCH = (
    "I couldn't find an answer to that in our help articles. Could you tell me a bit more about what "
    "you're trying to do? If you'd rather talk to a person, just say so and I'll bring someone in."
)
GREETING = "Hi! I'm the support assistant. What can I help you with today?"
_CHUNK = re.compile(r"\S+\s*")


def compose(question: str, hits: list[Hit]) -> str:
    """The reply for ``question`` given ranked hits."""
    if not words(question):
        return GREETING
    if not hits or hits[0].support < MIN_SUPPORT:
        return NO_MATCH
    best = hits[0].document
    answer = best.answer
    related = [h.document.title for h in hits[1:3] if h.document.title and h.support >= MIN_SUPPORT]
    if related:
        answer += f"\n\nRelated articles: {', '.join(related)}."
    return answer


class OfflineProvider:
    """Answers from the knowledge in the request; streams in word chunks."""

    name = "offline"

    async def stream(self, request: base.PromptRequest) -> AsyncIterator[base.StreamEvent]:
        """Yield the retrieved answer in chunks, then Completed with counted tokens."""
        question = next((t.text for t in reversed(request.history) if t.role == "user"), "")
        reply = compose(question, request.knowledge.rank(question))
        prompt = "\n".join([request.system, *(t.text for t in request.examples), *(t.text for t in request.history)])
        pieces = _CHUNK.findall(reply)
        for i in range(0, len(pieces), 4):
            yield base.TextDelta("".join(pieces[i : i + 4]))
            await asyncio.sleep(0)
        yield base.Completed(Usage(count_tokens(prompt), count_tokens(reply)), MODEL, "end_turn")
