"""``chatassist corpus export-recalls``: the escalations agents recalled, as labelled examples in the decision
corpus's format (domain/data/decisions/README.md; docs/escalation.md, "Recalling an escalation")."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from chatassist.settings import Settings
from commands.application import ChatAssistApp
from domain.conversation import Conversation
from domain.decisions.corpus import TOPIC_CODES

PAGE = 500
CODE_OF_TOPIC = {name: code for code, name in TOPIC_CODES.items()}


def add_parser(sub: Any) -> None:
    """The ``corpus`` subcommands."""
    corpus = sub.add_parser("corpus", help="the decision corpus").add_subparsers(dest="action", required=True)
    export = corpus.add_parser("export-recalls", help=cmd_export_recalls.__doc__)
    export.add_argument("--out", required=True, help="the file to write (corpus lines), '-' for standard output")
    export.add_argument("--workspace", help="only this workspace's recalls (default: every workspace)")
    export.set_defaults(fn=cmd_export_recalls)


def _line(text: str) -> str:
    """A message as one corpus field: on one line, without the separators of the format."""
    return " ".join(text.replace("||", "|").replace(" | ", " ").split())


def corpus_line(label: str, topic: str | None, messages: list[str], escalation: dict[str, Any]) -> str:
    """One corpus line: ``rule | amount | currency | topic | message || message``. The amount and currency are the
    escalation's own for a P2 kept as P2 (else ``-``): check them before adding the line to the corpus."""
    evidence = escalation.get("evidence") or {}
    keep_amount = label == "p2" and escalation.get("rule") == "p2_refund_over_threshold"
    amount = str(evidence.get("amount")) if keep_amount and evidence.get("amount") else "-"
    currency = str(evidence.get("currency")) if keep_amount and evidence.get("currency") else "-"
    code = "legal" if label == "p1" else CODE_OF_TOPIC.get(topic or "", "other")
    if label == "p2":
        code = "refunds"
    return f"{label} | {amount} | {currency} | {code} | {' || '.join(_line(m) for m in messages if m.strip())}"


def recalls(app: ChatAssistApp, workspace: UUID | None = None) -> Iterator[tuple[Conversation.EscalationRecalled, str]]:
    """Every ``EscalationRecalled`` in the store (of ``workspace``), oldest first, with its corpus line: the visitor's
    messages the rules read when the escalation was made (the conversation just before the recall)."""
    topic = get_topic(Conversation.EscalationRecalled)
    start = 1
    while True:
        page = app.recorder.select_notifications(start, PAGE, topics=[topic])
        for notification in page:
            event = app.mapper.to_domain_event(notification)
            assert isinstance(event, Conversation.EscalationRecalled)
            if workspace is not None and event.workspace_id != workspace:
                continue
            before: object = app.repository.get(event.originator_id, version=event.originator_version - 1)
            assert isinstance(before, Conversation)
            messages = [t.text for t in before.turns_for_rules if t.role == "user"]
            yield event, corpus_line(event.label, event.topic, messages, before._last_escalation)
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def cmd_export_recalls(settings: Settings, args: argparse.Namespace) -> None:
    """Write the escalations agents recalled as labelled corpus lines (the visitor's words: personal data)."""
    from chatassist.bootstrap import bootstrap

    workspace = UUID(args.workspace) if args.workspace else None
    container = bootstrap(settings)
    try:
        lines = [line for _, line in recalls(container.app, workspace)]
    finally:
        container.close()
    text = "".join(line + "\n" for line in lines)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text)
    print(f"{len(lines)} recalled escalations written as corpus lines", file=sys.stderr)
