"""A rebuild's pages applied in several processes at once, each one the events of a share of the workspaces.

Every row a folded projection keeps belongs to one workspace: a conversation's rows, a workspace's own, its usage by
slot, day or month. So the workspaces are dealt into shares (the largest first, each to the share with the fewest
conversations so far), and each share is applied by a process of its own, forked from the rebuild once the copies
exist and the folds hold their rows (docs/adr/0011-parallel-rebuild.md):

- a share process reads every page up to the head the pass counted, keeps the events of its share's aggregates
  (a conversation, a workspace, its app settings; any other aggregate is share 0's), decodes them, folds them into
  rows it holds, and at the end writes its rows with one COPY per table. Each process's rows are other keys of the
  same tables than the others', so nothing is added up across processes: every row is the one event-by-event
  application would give, in the same order (floating-point sums included);
- it records no position: the pass does, once every share is done, at the head they all went to;
- it reports its progress and figures on a pipe and ends with ``os._exit`` (it never runs the parent's cleanup, nor
  closes the connections it inherited: closing them would end the parent's sessions);
- the parent meanwhile applies the projections that have no fold (the audit log: few events) itself.

A share that fails (a process that dies, an error, a key written by two shares) makes the pass start over in one
process, where a failing page is applied event by event and the event that fails is named.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import logging
import os
import select
import signal
import time
import traceback
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
import psycopg
from eventsourcing.utils import get_topic
from psycopg import sql

from domain.app_settings import app_settings_id
from domain.conversation import Conversation
from domain.workspace import Workspace
from projections._paging import StoredRow, collector_paused, decode, read_page, stored_rows

if TYPE_CHECKING:
    from projections.rebuild.core import Rebuild, RebuildPass
    from projections.rebuild.progress import Progress

log = logging.getLogger("chatassist.projections")
STARTED, CREATED = get_topic(Conversation.Started), get_topic(Workspace.Created)


class SharesFailed(Exception):
    """A share process of a rebuild failed: the pass starts over in one process."""


@dataclass
class ShareResult:
    """What a share process did: per projection, its events applied and seconds applying; events decoded."""

    done: dict[str, int] = field(default_factory=dict)
    apply_s: dict[str, float] = field(default_factory=dict)
    decoded: int = 0
    decode_s: float = 0.0
    last: dict[str, int] = field(default_factory=dict)  # per projection, the position of its last event applied
    read_s: float = 0.0  # reading the pages and keeping the share's events
    seconds: float = 0.0  # the share process's whole run
    max_rss_mb: float = 0.0  # its peak resident memory (what it inherited and touched included)


def plan(conn: psycopg.Connection[Any], events_table: str, rebuild_pass: RebuildPass, shares: int) -> dict[UUID, int]:
    """The share of every conversation, workspace and app settings aggregate (``shares`` shares of workspaces);
    empty when there are fewer than two workspaces to share."""
    app = rebuild_pass.container.app
    query = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {} WHERE topic = ANY(%s)"
    ).format(sql.Identifier(events_table))
    conversations: dict[UUID, list[UUID]] = defaultdict(list)
    workspace_of = _workspace_reader(app.mapper)
    with conn.cursor(row_factory=stored_rows, binary=True) as curs, collector_paused():
        curs.execute(query, [[STARTED, CREATED]])
        while rows := curs.fetchmany(10_000):
            for row in rows:
                if row.topic == CREATED:
                    conversations[row.originator_id]  # a workspace with no conversation yet
                else:
                    conversations[workspace_of(row)].append(row.originator_id)
    if len(conversations) < 2:
        return {}
    loads = [0] * shares
    share_of: dict[UUID, int] = {}
    for workspace_id, ids in sorted(conversations.items(), key=lambda item: -len(item[1])):
        k = loads.index(min(loads))
        loads[k] += len(ids) + 1
        share_of[workspace_id] = share_of[app_settings_id(workspace_id)] = k
        share_of.update(dict.fromkeys(ids, k))
    return share_of


class _Wrapped(msgspec.Struct):
    """A transcoded value as the library's JSON transcoder writes it."""

    type: str = msgspec.field(name="_type_")
    data: Any = msgspec.field(name="_data_")


class _StartedState(msgspec.Struct):
    """The one field of a stored Conversation.Started the plan needs (the others are skipped unread)."""

    workspace_id: _Wrapped


def _workspace_reader(mapper: Any) -> Any:
    """A function of a Conversation.Started notification to its workspace id: the field read alone from the stored
    JSON when it is the library's ``uuid_hex`` of 32 hex digits (after the cipher and compressor, as the mapper),
    else the whole event decoded by the mapper (any other shape, or what msgspec refuses)."""
    read = msgspec.json.Decoder(_StartedState).decode
    cipher, compressor = mapper.cipher, mapper.compressor

    def workspace_of(notification: StoredRow) -> UUID:
        try:
            state = notification.state
            if cipher:
                state = cipher.decrypt(state)
            if compressor:
                state = compressor.decompress(state)
            wrapped = read(state).workspace_id
            if wrapped.type == "uuid_hex" and type(wrapped.data) is str and len(wrapped.data) == 32:
                return UUID(hex=wrapped.data)
        except (msgspec.DecodeError, ValueError):
            pass
        workspace_id: UUID = mapper.to_domain_event(notification).workspace_id
        return workspace_id

    return workspace_of


def run(
    rebuild_pass: RebuildPass,
    conn: psycopg.Connection[Any],
    progress: Progress,
    share_of: dict[UUID, int],
    shares: int,
    head: int,
) -> None:
    """Apply every page up to ``head`` to the folded parts, a share of the workspaces per process, and the other
    parts here; then the folded parts are at their last event up to ``head``, with their rows written (SharesFailed
    if a share failed)."""
    folded = [p for p in rebuild_pass.parts if p.holds()]
    others = [p for p in rebuild_pass.parts if p not in folded]
    topics = list(dict.fromkeys(t for p in folded for t in p.topics)) if all(p.topics for p in folded) else []
    children: dict[int, tuple[int, int]] = {}  # pid -> (share, read end of its pipe)
    try:
        for k in range(shares):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the share process
                os.close(read_end)
                _share(ShareJob(rebuild_pass, folded, topics, share_of, k, head, write_end))
            os.close(write_end)
            children[pid] = (k, read_end)
        if others:
            rebuild_pass.apply_to(conn, others, head)
        results = _wait(children, progress, rebuild_pass.done)
    except BaseException:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        raise
    finally:
        for pid, (_, read_end) in children.items():
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                os.close(read_end)
    for part in folded:
        part.done = sum(r.done.get(part.name, 0) for r in results)
        part.apply_s = sum(r.apply_s.get(part.name, 0.0) for r in results)
        lasts = [r.last[part.name] for r in results if part.name in r.last]
        part.position = max(lasts) if lasts else None  # as one process would have it: its last event's
        if part.position is not None:
            part.record_build_position(conn, part.position)
        assert part.applier is not None and part.applier.fold is not None
        part.applier.fold.written_elsewhere()  # the shares wrote the rows; this process holds none
    rebuild_pass.decode_s += sum(r.decode_s for r in results)
    rebuild_pass.share_results = results
    rebuild_pass.position = head


def _wait(children: dict[int, tuple[int, int]], progress: Progress, done_before: int) -> list[ShareResult]:
    """Read every share's messages until each pipe closes; the share results (SharesFailed for any failure)."""
    buffers = {fd: b"" for _, fd in children.values()}
    shares_done: dict[int, int] = {}
    results: dict[int, ShareResult] = {}
    errors: list[str] = []
    open_fds = {fd: k for k, fd in children.values()}
    while open_fds:
        readable, _, _ = select.select(list(open_fds), [], [], 1.0)
        for fd in readable:
            chunk = os.read(fd, 65536)
            if not chunk:
                del open_fds[fd]
                continue
            buffers[fd] += chunk
            *lines, buffers[fd] = buffers[fd].split(b"\n")
            for line in lines:
                message = json.loads(line)
                k = open_fds[fd]
                if "progress" in message:
                    shares_done[k] = message["progress"]
                    progress.update(min(message["position"], progress.head), done_before + sum(shares_done.values()))
                elif "error" in message:
                    errors.append(f"share {k}: {message['error']}")
                else:
                    results[k] = ShareResult(**message)
    for pid, (k, _) in children.items():
        _, status = os.waitpid(pid, 0)
        if (
            os.waitstatus_to_exitcode(status) != 0
            and k not in results
            and not any(e.startswith(f"share {k}:") for e in errors)
        ):
            errors.append(f"share {k}: its process ended with status {os.waitstatus_to_exitcode(status)}")
    if errors or len(results) != len(children):
        raise SharesFailed("; ".join(errors) or "a share process ended without its figures")
    return [results[k] for k in sorted(results)]


@dataclass(frozen=True)
class ShareJob:
    """What a share process applies: share ``k`` of ``share_of`` for ``parts`` (their ``topics``) up to ``head``,
    reporting on the pipe ``write_end``."""

    rebuild_pass: RebuildPass
    parts: Sequence[Rebuild]
    topics: list[str]
    share_of: dict[UUID, int]
    k: int
    head: int
    write_end: int


def _share(job: ShareJob) -> None:
    """The share process: never returns."""
    status = 1
    try:
        gc.disable()  # see collector_paused; the process ends with the pass (what a page leaves in cycles is small)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        result = _apply_share(job)
        _send(job.write_end, dataclasses.asdict(result))
        status = 0
    except BaseException as err:
        with contextlib.suppress(BaseException):
            _send(job.write_end, {"error": f"{err!r}", "trace": traceback.format_exc(limit=8)})
    finally:
        os._exit(status)


def _apply_share(job: ShareJob) -> ShareResult:
    rebuild_pass = job.rebuild_pass
    result, app = ShareResult(), rebuild_pass.container.app
    # share k's aggregates are those in its table of ids; share 0's, those in no other share's
    mine = sql.SQL("{}EXISTS (SELECT 1 FROM pg_temp.share_ids s WHERE s.id = e.originator_id)").format(
        sql.SQL("NOT " if job.k == 0 else "")
    )
    after, applied = rebuild_pass.position or 0, 0
    began = time.perf_counter()
    with rebuild_pass._connect() as conn:
        conn.execute("SET synchronous_commit = off")  # the copies are thrown away if the rebuild dies
        conn.execute("CREATE TEMP TABLE share_ids (id uuid PRIMARY KEY)")
        with conn.cursor() as curs, curs.copy("COPY share_ids (id) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["uuid"])
            for originator_id, share in job.share_of.items():
                if (share == job.k) if job.k else share:
                    copy.write_row((originator_id,))
        conn.execute("ANALYZE share_ids")
        while after < job.head:
            read_from = time.perf_counter()
            page = read_page(
                conn, rebuild_pass.events_table, after, job.topics, rebuild_pass.batch, until=job.head, where=mine
            )
            result.read_s += time.perf_counter() - read_from
            if not page:
                break
            after = page[-1].id
            started = time.perf_counter()
            events = decode(app.name, app.mapper, page)
            result.decode_s += time.perf_counter() - started
            result.decoded += len(page)
            with conn.transaction(), conn.cursor() as curs:
                for part in job.parts:
                    part.apply_share(conn, curs, page, events, result)
            del events
            applied += len(page)
            _send(job.write_end, {"progress": applied, "position": after})
        for part in job.parts:
            started = time.perf_counter()
            part.release(conn)
            result.apply_s[part.name] = result.apply_s.get(part.name, 0.0) + time.perf_counter() - started
    result.seconds = time.perf_counter() - began
    import resource  # Unix only, as fork is

    result.max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return result


def _send(fd: int, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode() + b"\n"
    while data:
        written = os.write(fd, data)
        data = data[written:]
