"""DecideEscalation: the sandbox. The decision the engine would make for a workspace's live escalation logic,
given some visitor messages; nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._prompt_config import live_prompt
from commands.application import ChatAssistApp
from domain.assessment import DEFAULT_TOPICS
from domain.errors import InvalidInput
from domain.escalation import Decision, Rules, decide, rules_from
from domain.prompt_content import PromptContent

MAX_MESSAGES = 50
MAX_CHARS = 4000


@dataclass(frozen=True)
class DecideEscalation:
    """Visitor messages oldest first; ``confidence`` of a reply, when testing the confidence rule; ``turns``
    defaults to the number of messages."""

    workspace_id: UUID
    messages: list[str]
    confidence: float | None = None
    turns: int | None = None


def check(cmd: DecideEscalation) -> None:
    """InvalidInput ``invalid_message`` / ``out_of_range`` for messages or numbers the engine cannot use."""
    if not cmd.messages or len(cmd.messages) > MAX_MESSAGES:
        raise InvalidInput(f"messages must hold 1 to {MAX_MESSAGES} visitor messages.", code="invalid_message")
    if any(not m.strip() or len(m) > MAX_CHARS for m in cmd.messages):
        raise InvalidInput(
            f"Each message must be non-empty text of at most {MAX_CHARS} characters.", code="invalid_message"
        )
    if cmd.confidence is not None and not 0 <= cmd.confidence <= 1:
        raise InvalidInput("confidence must be between 0 and 1.", code="out_of_range")
    if cmd.turns is not None and not 1 <= cmd.turns <= 1000:
        raise InvalidInput("turns must be from 1 to 1000.", code="out_of_range")


def rules_in_force(app: ChatAssistApp, workspace_id: UUID) -> tuple[Rules, int | None]:
    """The live prompt version's escalation logic and its number, or the defaults (None) before any is published."""
    live = live_prompt(app, workspace_id)
    if live is None:
        return rules_from(None, list(DEFAULT_TOPICS)), None
    topics = [(name, tuple(words)) for name, words in live.content.topic_rules.items()]
    return rules_from(live.content.escalation, topics), live.version


def execute(app: ChatAssistApp, cmd: DecideEscalation) -> tuple[Decision, int | None]:
    """The decision and the prompt version whose rules made it. Reads only."""
    check(cmd)
    rules, version = rules_in_force(app, cmd.workspace_id)
    return decide(cmd.messages, turns=cmd.turns, confidence=cmd.confidence, rules=rules), version


def decide_with(content: PromptContent, cmd: DecideEscalation) -> Decision:
    """The decision the escalation logic and topic rules of ``content`` (a draft as it is being edited, in the
    prompt studio) would make. Pure: reads and writes nothing."""
    check(cmd)
    topics = [(name, tuple(words)) for name, words in content.topic_rules.items()]
    rules = rules_from(content.escalation, topics)
    return decide(cmd.messages, turns=cmd.turns, confidence=cmd.confidence, rules=rules)
