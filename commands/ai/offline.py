"""The offline answerer: the best help article chunk retrieved for the turn (PostgreSQL full-text search, done by the
chat turn before any provider is called), no network. It cites the article it answered from in the same
``<sources>`` trailer tag a model writes (stripped from the stream by commands/ai/trailer.py).

Used when no provider key is configured. Its token counts are real counts of its own
tokenizer (words and punctuation) over the assembled prompt and the reply; its cost is zero.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from commands.ai import base
from domain.knowledge import KnowledgeHit
from domain.pricing import Usage
from domain.retrieval import count_tokens, words

MODEL = "offline-retrieval"
MIN_SUPPORT = 0.34
NO_MATCH = (
    "I couldn't find an answer to that in our help articles. Could you tell me a bit more about what "
    "you're trying to do? If you'd rather talk to a person, just say so and I'll bring someone in."
)
GREETING = "Hi! I'm the support assistant. What can I help you with today?"
_CHUNK = re.compile(r"\S+\s*")


def compose(question: str, hits: list[KnowledgeHit]) -> tuple[str, list[str]]:
    """The reply for ``question`` given ranked hits, and the ids of the articles it cites."""
    if not words(question):
        return GREETING, []
    if not hits or hits[0].support < MIN_SUPPORT:
        return NO_MATCH, []
    best = hits[0]
    answer = best.text
    related = list(
        dict.fromkeys(
            h.title for h in hits[1:] if h.article_id != best.article_id and h.title and h.support >= MIN_SUPPORT
        )
    )[:2]
    if related:
        answer += f"\n\nRelated articles: {', '.join(related)}."
    return answer, [best.article_id]


class OfflineProvider:
    """Answers from the knowledge in the request; streams in word chunks."""

    name = "offline"

    async def stream(self, request: base.PromptRequest) -> AsyncIterator[base.StreamEvent]:
        """Yield the retrieved answer in chunks, then Completed with counted tokens."""
        question = next((t.text for t in reversed(request.history) if t.role == "user"), "")
        reply, cited = compose(question, request.knowledge)
        prompt = "\n".join([request.system, *(t.text for t in request.examples), *(t.text for t in request.history)])
        pieces = _CHUNK.findall(reply)
        for i in range(0, len(pieces), 4):
            yield base.TextDelta("".join(pieces[i : i + 4]))
            await asyncio.sleep(0)
        if cited:
            yield base.TextDelta(f"\n<sources>{', '.join(cited)}</sources>")
        yield base.Completed(Usage(count_tokens(prompt), count_tokens(reply)), MODEL, "end_turn")
