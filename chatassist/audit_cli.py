"""``chatassist audit ...``: replay and export a conversation from its events in the terminal (docs/audit.md).

Each run is recorded in the audit log like a replay over the API, with no actor (the CLI runs with the server's
credentials, not a member's session).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from chatassist.settings import Settings


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a workspace id (a UUID), got {text!r}") from None


def _conversation_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a conversation id (a UUID), got {text!r}") from None


def cmd_audit_replay(settings: Settings, args: argparse.Namespace) -> None:
    """Print a conversation's events as a timeline; with --at or --version, only up to that point, then the state."""
    from chatassist.bootstrap import bootstrap
    from commands.record_audit_access import cmd as record
    from commands.replay_conversation import events as replay_events
    from commands.replay_conversation import state as replay_state
    from commands.replay_conversation.timeline import lines
    from domain.errors import DomainError

    container = bootstrap(settings)
    try:
        app, cid = container.app, args.conversation_id
        workspace_id = replay_events.workspace_of(app, cid)
        instant = replay_state.parse_instant(args.at) if args.at else None
        found = replay_state.state_at(
            app, workspace_id, cid, at_version=args.version, at=instant, personal=not args.redact
        )
        events = [
            e
            for e in replay_events.all_events(app, workspace_id, cid, personal=not args.redact)
            if e.version <= found.version
        ]
        details: dict[str, Any] = {"via": "cli", "at_version": args.version, "at": args.at, "version": found.version}
        record.execute(app, record.RecordAuditAccess(workspace_id, None, "conversation.replayed", cid, details))
    except DomainError as err:
        raise SystemExit(f"error: {err.message} ({err.code})") from None
    finally:
        container.close()
    if args.json:
        out = {"events": [_plain(e) for e in events], "state": _plain(found)}
        print(json.dumps(out, indent=2, default=str))
        return
    print(f"conversation {cid} (workspace {workspace_id}): {found.last_version} events")
    for line in lines(events):
        print(line)
    if found.version < found.last_version:
        print(f"-- state at version {found.version} of {found.last_version} ({found.time.isoformat()}):")
    else:
        print("-- state now:")
    print(json.dumps(found.state, indent=2, default=str))
    sys.stdout.flush()


def cmd_audit_request(settings: Settings, args: argparse.Namespace) -> None:
    """Rebuild what the AI was told for each model call of a conversation (or one) and check it against its hash."""
    from chatassist.bootstrap import bootstrap
    from commands.record_audit_access import cmd as record
    from commands.replay_conversation import events as replay_events
    from commands.replay_conversation.request import MISMATCH, rebuild
    from domain.errors import DomainError

    container = bootstrap(settings)
    try:
        app, cid = container.app, args.conversation_id
        workspace_id = replay_events.workspace_of(app, cid)
        ids = [args.call_id] if args.call_id else [
            e.payload["call_id"] for e in replay_events.all_events(app, workspace_id, cid) if e.type == "ModelCallMade"
        ]  # fmt: skip
        found = [rebuild(app, workspace_id, cid, call_id, personal=not args.redact) for call_id in ids]
        for r in found:
            details = {"via": "cli", "call_id": r.call_id, "verdict": r.verdict}
            record.execute(
                app, record.RecordAuditAccess(workspace_id, None, "conversation.request_rebuilt", cid, details)
            )
    except DomainError as err:
        raise SystemExit(f"error: {err.message} ({err.code})") from None
    finally:
        container.close()
    if args.json:
        print(json.dumps([_plain(r) for r in found], indent=2, default=str))
    else:
        for r in found:
            print(
                f"v{r.version} call {r.call_id} {r.provider}/{r.model} prompt v{r.prompt_version} attempt {r.attempt}: "
                f"{r.verdict} (recorded {r.recorded_sha256 or 'not recorded'}, rebuilt {r.rebuilt_sha256}; "
                f"workspace v{r.workspace_version}, {r.history_turns} history messages)"
            )
    if any(r.verdict == MISMATCH for r in found):
        raise SystemExit(1)


def cmd_audit_export(settings: Settings, args: argparse.Namespace) -> None:
    """Write a conversation, or every conversation active in [--from, --to), as JSON Lines (events) or Markdown
    transcripts (with the audit trail and the chain check) to stdout; one conversation also as a PDF (--format pdf,
    to stdout or --output FILE)."""
    from chatassist.bootstrap import bootstrap
    from commands.record_audit_access import cmd as record
    from commands.replay_conversation import events as replay_events
    from commands.replay_conversation import export, pdf, range_export
    from domain.errors import DomainError
    from read_api.get_conversation_trail.query import conversation_trail
    from read_api.get_conversations_in_range.query import conversations_in_range, export_range

    if (args.conversation_id is None) == (args.from_ is None and args.to is None and args.workspace is None):
        raise SystemExit("error: give a CONVERSATION_ID, or --workspace W --from DATE --to DATE for a range")
    container = bootstrap(settings)
    out = sys.stdout.buffer
    try:
        app, cid, personal = container.app, args.conversation_id, not args.redact
        details: dict[str, Any] = {"via": "cli", "format": args.format, "personal": personal}
        chunks: Any
        if cid is None:
            if args.workspace is None:
                raise SystemExit("error: a range export needs --workspace W")
            if args.format == "pdf":
                raise SystemExit("error: a range exports as jsonl or md; a PDF is one conversation's")
            workspace_id, span = args.workspace, export_range(args.from_, args.to)
            details |= {"from": span.since.isoformat(), "to": span.until.isoformat()}
            record.execute(app, record.RecordAuditAccess(workspace_id, None, "conversations.exported", None, details))
            pages = conversations_in_range(container.transcripts, workspace_id, span)
            chunks = (
                range_export.range_jsonl(app, workspace_id, pages, personal=personal)
                if args.format == "jsonl"
                else range_export.range_markdown(
                    app,
                    workspace_id,
                    pages,
                    lambda c: conversation_trail(container.transcripts, workspace_id, c),
                    (span.since, span.until),
                    personal=personal,
                )
            )
        else:
            workspace_id = replay_events.workspace_of(app, cid)
            if args.format == "pdf":
                pdf.check_size(app, cid)
            record.execute(app, record.RecordAuditAccess(workspace_id, None, "conversation.exported", cid, details))
            trail = conversation_trail(container.transcripts, workspace_id, cid)
            chunks = (
                export.jsonl(app, workspace_id, cid, personal=personal)
                if args.format == "jsonl"
                else export.markdown(app, workspace_id, cid, trail, personal=personal)
            )
            if args.format == "pdf":
                chunks = [pdf.render(chunks)]
        if args.output:
            out = open(args.output, "wb")  # noqa: SIM115  # closed below
        for chunk in chunks:
            out.write(chunk.encode() if isinstance(chunk, str) else chunk)
        out.flush()
    except DomainError as err:
        raise SystemExit(f"error: {err.message} ({err.code})") from None
    finally:
        if out is not sys.stdout.buffer:
            out.close()
        container.close()


def _plain(value: Any) -> Any:
    import dataclasses

    return dataclasses.asdict(value)


def _version(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a version from 1, got {text!r}")
    return int(text)


def add_audit_parser(sub: Any) -> None:
    """``chatassist audit replay`` (and the other audit subcommands) on the root parser's subparsers."""
    audit = sub.add_parser("audit", help="audit replay and export").add_subparsers(dest="action", required=True)
    replay = audit.add_parser("replay", help=cmd_audit_replay.__doc__)
    replay.add_argument("conversation_id", type=_conversation_id, metavar="CONVERSATION_ID")
    point = replay.add_mutually_exclusive_group()
    point.add_argument("--at", help="an ISO instant (UTC without an offset): the conversation as it was then")
    point.add_argument("--version", type=_version, help="the conversation as it was at this version")
    replay.add_argument("--redact", action="store_true", help="mask personal fields (visitor identity and texts)")
    replay.add_argument("--json", action="store_true", help="print events and state as JSON")
    replay.set_defaults(fn=cmd_audit_replay)
    request = audit.add_parser("request", help=cmd_audit_request.__doc__)
    request.add_argument("conversation_id", type=_conversation_id, metavar="CONVERSATION_ID")
    request.add_argument("call_id", nargs="?", metavar="CALL_ID", help="one model call (default: every one)")
    request.add_argument("--redact", action="store_true", help="mask the conversation's texts in the request")
    request.add_argument("--json", action="store_true", help="print the rebuilt requests as JSON")
    request.set_defaults(fn=cmd_audit_request)
    exported = audit.add_parser("export", help=cmd_audit_export.__doc__)
    exported.add_argument("conversation_id", type=_conversation_id, metavar="CONVERSATION_ID", nargs="?")
    exported.add_argument("--workspace", type=_uuid, help="a range export: the workspace")
    exported.add_argument("--from", dest="from_", help="a range export: from this ISO date or datetime (inclusive)")
    exported.add_argument("--to", help="a range export: to this ISO date or datetime (exclusive; 31 days at most)")
    exported.add_argument("--format", choices=("jsonl", "md", "pdf"), default="jsonl")
    exported.add_argument("--output", "-o", help="write to this file instead of stdout")
    exported.add_argument("--redact", action="store_true", help="mask personal fields")
    exported.set_defaults(fn=cmd_audit_export)
    from chatassist.chain import cmd_audit_anchor, cmd_audit_verify

    verify = audit.add_parser("verify", help=cmd_audit_verify.__doc__)
    verify.add_argument("--workspace", type=_uuid, help="only this workspace's streams, then its last anchor")
    verify.set_defaults(fn=cmd_audit_verify)
    anchor = audit.add_parser("anchor", help=cmd_audit_anchor.__doc__)
    anchor.add_argument("--workspace", type=_uuid, help="only this workspace (default: every workspace)")
    anchor.set_defaults(fn=cmd_audit_anchor)
