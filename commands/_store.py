"""The event store's recorder: an append is one statement, so the table lock is held only while PostgreSQL works.

eventsourcing's ``PostgresApplicationRecorder`` appends in a client-side transaction: it takes ``LOCK TABLE ... IN
EXCLUSIVE MODE`` (so notification ids are issued in commit order, and a reader tailing the log never passes a gap
that a slower transaction fills in later), inserts, waits for the result, then sends ``COMMIT``. The lock is held
across two client round trips, and while the writing process waits for its turn on the GIL between them; with
several busy writer processes on two cores that was ~11 ms per append, which capped the whole command path
(docs/performance.md, "Lag under load").

Here the same steps run inside one PL/pgSQL function, called in autocommit mode: ``NOTIFY``, ``LOCK TABLE ... IN
EXCLUSIVE MODE``, ``INSERT ... RETURNING notification_id``, and the implicit commit at the end of the statement.
The lock is taken and released by the server alone, so appends are still one at a time and in commit order, but
the lock is never held while a client is thinking. The rows, the table and the ``NOTIFY`` are those of the
library; a process still on the library's recorder takes the same lock and can append beside this one (its events
get no chain hash).

The same statement also chains each event's hash to the previous event of its stream, in ``<events>_chain``
(issue 17, tamper evidence: ``link_sql`` below, ``commands/_chain.py`` checks; ADR 0028).

The function is ours (``chatassist_append_events_<id type>``), not the library's ``es_insert_events_*`` (which
takes no table lock and is replaced by every recorder's ``create_table``). The statements that create the
store's tables and functions run under a transaction-level advisory lock, so processes starting at the same
moment do not fail with "tuple concurrently updated" on ``CREATE OR REPLACE FUNCTION``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

RECORDER_TOPIC = "commands._store:OneTripRecorder"


def link_sql(previous: str, row: str) -> str:
    """SQL of an event's chain hash: SHA-256 of the previous event's hash (none: empty) and the event's stream id,
    version, topic and state, each text field followed by a NUL byte so no two events give the same input."""
    return (
        f"sha256(coalesce({previous}, ''::bytea) || convert_to({row}.originator_id::text, 'UTF8') || '\\x00'::bytea"
        f" || convert_to({row}.originator_version::text, 'UTF8') || '\\x00'::bytea"
        f" || convert_to({row}.topic, 'UTF8') || '\\x00'::bytea || {row}.state)"
    )


DDL_LOCK_KEY = 7_305_112_733_016  # pg_advisory_xact_lock key of the store's DDL (any constant of ours)


class OneTripRecorder(PostgresApplicationRecorder):
    """``PostgresApplicationRecorder`` whose appends are one round trip (see the module docstring)."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.append_function_name = f"chatassist_append_events_{self.datastore.originator_id_type}"
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        # Tamper evidence (issue 17, ADR 0028): each event appended here gets a row in ``<events>_chain`` with its
        # ``chain_hash``: SHA-256 of the previous event of its stream's hash and its own stream id, version, topic and
        # state (chatassist/chain.py verifies). A table beside the events, not a column: a deleted event's hash
        # outlives it there, so the chain names the deletion; and the library reads events with a prepared
        # ``SELECT *``, which a new column would break in every running process. The loop below measured cheaper
        # than a set-based statement (a window aggregate) and than the column (ADR 0065). Events stored before the
        # chain (or by another recorder) have no row: "before the chain".
        self.chain_table_name = f"{self.events_table_name}_chain"
        chain = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.chain_table_name))
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {chain} (originator_id {id_type} NOT NULL,"
                " originator_version bigint NOT NULL, chain_hash bytea NOT NULL,"
                " PRIMARY KEY (originator_id, originator_version))"
            ).format(chain=chain, id_type=SQL(self.datastore.originator_id_type))
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
                "DECLARE e {schema}.{event}; prev bytea; last_id text; hashes bytea[] := '{{}}'; "
                "BEGIN "
                "SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "NOTIFY {channel}; "
                "LOCK TABLE {table} IN EXCLUSIVE MODE; "
                "RETURN QUERY INSERT INTO {table} AS t (originator_id, originator_version, topic, state) "
                "SELECT originator_id, originator_version, topic, state FROM unnest(events) "
                "RETURNING notification_id; "
                "FOREACH e IN ARRAY events LOOP "
                "IF last_id IS DISTINCT FROM e.originator_id::text THEN "
                "SELECT c.chain_hash INTO prev FROM {chain} c "
                "WHERE c.originator_id = e.originator_id AND c.originator_version = e.originator_version - 1; "
                "END IF; "
                "prev := {link}; "
                "hashes := hashes || prev; "
                "last_id := e.originator_id::text; "
                "END LOOP; "
                "INSERT INTO {chain} (originator_id, originator_version, chain_hash) "
                "SELECT u.originator_id, u.originator_version, hashes[u.n] "
                "FROM unnest(events) WITH ORDINALITY AS u(originator_id, originator_version, topic, state, n); "
                "END; $BODY$"
            ).format(
                schema=Identifier(self.datastore.schema),
                function=Identifier(self.append_function_name),
                event=Identifier(self.stored_event_type_name),
                lock_timeout=self.datastore.lock_timeout,
                channel=Identifier(self.channel_name),
                table=table,
                chain=chain,
                link=SQL(link_sql("prev", "e")),
            )
        )
        # A runner or follower of a few topics reads "its topics after its position, in order": without this index
        # each wake walked every event of other topics after the position (ADR 0025).
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {index} ON {table} (topic, notification_id)").format(
                index=Identifier(f"{self.events_table_name}_topic_notification_id"), table=table
            )
        )
        self.append_statement = SQL("SELECT * FROM {0}.{1}(%s)").format(
            Identifier(self.datastore.schema), Identifier(self.append_function_name)
        )

    def create_table(self) -> None:
        """The library's statements (the composite type, the table, its index, the functions), and ours, in one
        transaction under an advisory lock: a second process waits, then finds the type made and replaces the
        functions after the first has committed (the library's way races on ``CREATE TYPE`` and on ``CREATE OR
        REPLACE FUNCTION`` when processes start together)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            for statement in self.sql_create_statements:
                if "CREATE TYPE" in statement.as_string():
                    name = f"{self.datastore.schema}.{self.stored_event_type_name}"
                    found = curs.execute("SELECT to_regtype(%s) IS NOT NULL AS found", (name,)).fetchone()
                    if found and found["found"]:
                        continue
                curs.execute(statement, prepare=False)
        self.datastore.register_type_adapters()

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Append ``stored_events`` in one statement (one transaction); their notification ids, in order."""
        if not stored_events:
            return []
        _runs_of_one_stream(stored_events)
        events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.append_statement, (events,), prepare=True)
            return [row[self.append_function_name] for row in curs.fetchall()]


def _runs_of_one_stream(stored_events: Sequence[StoredEvent]) -> None:
    """Refuse a batch in which a stream's events are not next to each other (A1, B1, A2): the append chains an
    event from the one before it in the batch or, at a change of stream, from the stored chain, so A2 would be
    chained from nothing. No save makes such a batch (the library collects each aggregate's events together);
    this keeps a future one from writing a hash that ``audit verify`` would call edited."""
    seen: set[Any] = set()
    last: Any = None
    for e in stored_events:
        if e.originator_id != last:
            if e.originator_id in seen:
                raise ProgrammingError(
                    f"an append interleaves the events of stream {e.originator_id}: keep each stream's events together"
                )
            seen.add(e.originator_id)
            last = e.originator_id
