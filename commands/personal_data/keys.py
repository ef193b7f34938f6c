"""The data keys of crypto-shredding (issue 17 item 5, ADR 0044): one AES-256 key per conversation, kept in
``chatassist_personal_keys`` wrapped by CHATASSIST_KEYS_ENCRYPTION_KEY (the provider keys' key list). Destroying the
key (``wrapped_key`` NULL) is the erasure: the conversation's personal fields can no longer be decrypted anywhere.

A process keeps unwrapped keys in memory (an append or a read does not query the table each time). An erasure
NOTIFYs ``chatassist_personal_erased`` in its transaction; every process built by ``chatassist.bootstrap`` hears it
through its runners' session and drops those keys at once (ADR 0052). A process with no listener (a bare
``ChatAssistApp``, the rebuild's forked share processes) keeps an entry ``ttl_s`` seconds. The statements run on the
process's one pool (the event store's). Keys never leave this module: not in events, logs or answers.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg.rows import tuple_row

from commands.provider_keys.cipher import NONCE, KeyCipher, UnknownEncryptionKey

T = TypeVar("T")

KEYS, SUBJECTS = "chatassist_personal_keys", "chatassist_personal_subjects"
DDL_LOCK_KEY = 7_305_112_733_017  # pg_advisory_xact_lock key of these tables' creation
# Created by the store itself (as the event store's tables and its chain are: a bare store works too), once per
# process, under an advisory lock. Not a disposable view: destroying a key (``wrapped_key`` NULL) is the erasure.
DDL = (
    f"CREATE TABLE IF NOT EXISTS {KEYS} (conversation_id uuid PRIMARY KEY, workspace_id uuid NOT NULL,"
    " wrapping_kid text NOT NULL,"  # the CHATASSIST_KEYS_ENCRYPTION_KEY id that wraps it; '' when stored unwrapped
    " wrapped_key bytea,"  # NULL once erased
    " created_at timestamptz NOT NULL DEFAULT now(), erased_at timestamptz, erasure_id uuid,"
    " erased_reason text)",  # request | retention
    f"CREATE INDEX IF NOT EXISTS {KEYS}_live ON {KEYS} (workspace_id, created_at) WHERE erased_at IS NULL",
    # whose conversation it is: the hash of the visitor's user id or e-mail (subject_hash), never the value
    f"CREATE TABLE IF NOT EXISTS {SUBJECTS} (workspace_id uuid NOT NULL, subject bytea NOT NULL,"
    " conversation_id uuid NOT NULL, PRIMARY KEY (workspace_id, subject, conversation_id))",
)
ERASED_CHANNEL = "chatassist_personal_erased"  # NOTIFY payload: erased conversation ids, comma-separated
NOTIFY_IDS = 200  # ids per notice (a payload is at most 8,000 bytes)
SUBJECT_FIELDS = ("user_id", "email")  # the identity fields an erasure request may name


@dataclass(frozen=True)
class Subscriber:
    """What ``listen_with`` hands its ``subscribe`` (the shape of ``chatassist.runner_sessions.Subscription``)."""

    channel: str
    notice: Callable[[str], None]
    listening: Callable[[bool], None]


@dataclass(frozen=True)
class DataKey:
    """A conversation's key as a process holds it; ``key`` None: erased."""

    workspace_id: UUID
    key: bytes | None
    fetched: float


def subject_hash(workspace_id: UUID, field: str, value: str) -> bytes:
    """The index entry of a visitor's ``user_id`` or ``email`` (e-mails compared without case or spaces)."""
    norm = value.strip().lower() if field == "email" else value.strip()
    return hashlib.sha256(f"chatassist-subject\x00{workspace_id}\x00{field}\x00{norm}".encode()).digest()


def subjects_of(workspace_id: UUID, personal: dict[str, Any]) -> list[bytes]:
    """The index entries of the identity in a ``personal`` field (none for an anonymous visitor)."""
    return [subject_hash(workspace_id, f, personal[f]) for f in SUBJECT_FIELDS if isinstance(personal.get(f), str)]


class PersonalKeys:
    """The key table with an in-process cache. Its statements run on the process's one pool (the event store's,
    ``use_pool``), in the connection budget; a forked child (the rebuild's share processes) never touches its
    parent's pool and opens one connection of its own instead, as does a process whose pools are all closed."""

    def __init__(self, database_url: str, wrapping: KeyCipher | None, *, ttl_s: float = 5.0) -> None:
        self.database_url = database_url
        self.wrapping = wrapping
        self.ttl_s = ttl_s
        self._cache: dict[UUID, DataKey] = {}
        self._lock = threading.Lock()
        self._pools: list[tuple[int, weakref.ref[Any]]] = []  # (pid, event store datastore), newest last
        self._own: psycopg.Connection[Any] | None = None  # a forked child's connection, opened on use
        self._tables = False
        # Invalidation (ADR 0052): while ``_listening``, an erasure anywhere drops the entries at once (a NOTIFY
        # heard through the process's runners' session); ``_generation`` moves on each notice, so a key read
        # before an erasure and cached after its notice is not kept. Without a listener, entries live ``ttl_s``.
        self._listening = False
        self._generation = 0
        self._subscribe: Callable[[], None] | None = None
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def use_pool(self, datastore: Any) -> None:
        """Run the key statements on ``datastore``'s pool (an eventsourcing ``PostgresDatastore``) in this process:
        every ``ChatAssistApp`` on this database calls it when it is built; the newest pool still open is used."""
        pid = os.getpid()
        with self._lock:
            kept = [(p, ref) for p, ref in self._pools if p == pid and ref() not in (None, datastore)]
            self._pools = kept
            self._pools.append((pid, weakref.ref(datastore)))

    def _after_fork(self) -> None:
        """In a forked child (the rebuild's share processes): a lock another thread of the parent held at the fork
        would never be released there, and the parent's pool and connections are not the child's (their sockets
        are still the parent's): start afresh with a connection of the child's own, opened on first use."""
        self._lock = threading.Lock()
        self._own = None
        self._listening, self._subscribe = False, None  # the parent's listener thread is not in the child
        self._cache.clear()

    def listen_with(self, subscribe: Callable[[Subscriber], None]) -> None:
        """Hear of erasures through ``subscribe`` (``RunnerSessions.subscribe`` of the process's runners' session),
        called on the first key read: then no process keeps reading an erased conversation from its cache."""
        self._subscribe = lambda: subscribe(Subscriber(ERASED_CHANNEL, self._erased, self._heard))

    def _erased(self, payload: str) -> None:
        """A notice of an erasure (in any process): forget those conversations' keys."""
        self._generation += 1
        self.forget(UUID(c) for c in payload.split(",") if c)

    def _heard(self, listening: bool) -> None:
        """The LISTEN is in force (True), or the session ended (False): either way, what is cached may have been
        erased meanwhile unheard."""
        self._generation += 1
        self._cache.clear()
        self._listening = listening

    def _fresh(self, entry: DataKey, now: float) -> bool:
        return self._listening or now - entry.fetched < self.ttl_s

    def _pool(self) -> Any:
        """The newest open pool of this process's event stores, or None (a forked child, every app closed)."""
        pid = os.getpid()
        for owner, ref in reversed(self._pools):
            datastore = ref()
            if owner == pid and datastore is not None and not datastore.pool.closed:
                return datastore
        return None

    def _ensure_tables(self, conn: psycopg.Connection[Any]) -> None:
        if self._tables:
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            for statement in DDL:
                conn.execute(statement)
        self._tables = True

    def _with_connection(self, work: Callable[[psycopg.Cursor[Any]], T]) -> T:
        """Run ``work`` on a cursor (tuple rows) of a connection of the process's pool, or of the process's own
        connection where it has no pool of its own (see the class). A connection the server ended (a restart, a
        failover) is replaced and ``work`` runs once more on the new one: every statement here is a read or an
        idempotent write (``ON CONFLICT DO NOTHING``), so running it again is safe."""
        datastore = self._pool()
        if datastore is None:
            return self._with_own_connection(work)
        for attempt in (1, 2):
            ended = False
            try:
                with datastore.get_connection() as conn:  # the pool checks a connection before handing it out
                    try:
                        self._ensure_tables(conn)
                        with conn.cursor(row_factory=tuple_row) as cur:
                            return work(cur)
                    except psycopg.OperationalError:
                        ended = conn.closed or conn.broken
                        raise
            except Exception:  # the datastore wraps psycopg's errors in its own
                if not ended or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _with_own_connection(self, work: Callable[[psycopg.Cursor[Any]], T]) -> T:
        with self._lock:
            for attempt in (1, 2):
                if self._own is None or self._own.closed:
                    self._own = psycopg.connect(self.database_url, autocommit=True)
                conn = self._own
                try:
                    self._ensure_tables(conn)
                    with conn.cursor(row_factory=tuple_row) as cur:
                        return work(cur)
                except psycopg.OperationalError:
                    if not (conn.closed or conn.broken) or attempt == 2:
                        raise
                    self._own = None
        raise AssertionError("unreachable")

    def ensure_tables(self) -> None:
        """Create the key tables if this process has not yet (before reading them on another connection)."""
        self._with_connection(lambda cur: None)

    def read(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        """The rows of one read of the key tables, on the process's pool (the erasure's and retention's look-ups)."""
        return self._with_connection(lambda cur: cur.execute(query, params).fetchall())

    def _aad(self, conversation_id: UUID) -> bytes:
        return f"chatassist-personal-key:{conversation_id}".encode()

    def wrap(self, conversation_id: UUID, key: bytes) -> tuple[str, bytes]:
        """The wrapping key id ('' without CHATASSIST_KEYS_ENCRYPTION_KEY) and the stored form of ``key``."""
        if self.wrapping is None:
            return "", key
        nonce = os.urandom(NONCE)
        sealed = AESGCM(self.wrapping.keys[self.wrapping.current]).encrypt(nonce, key, self._aad(conversation_id))
        return self.wrapping.current, nonce + sealed

    def unwrap(self, conversation_id: UUID, kid: str, stored: bytes) -> bytes:
        """The key of a stored row; UnknownEncryptionKey when its wrapping key is no longer listed."""
        if not kid:
            return stored
        wrapping_key = self.wrapping.keys.get(kid) if self.wrapping else None
        if wrapping_key is None:
            raise UnknownEncryptionKey(
                f"A conversation's data key is wrapped with key id {kid!r}, which is not in "
                "CHATASSIST_KEYS_ENCRYPTION_KEY: add it back (after the current key)."
            )
        return AESGCM(wrapping_key).decrypt(stored[:NONCE], stored[NONCE:], self._aad(conversation_id))

    def create(self, conversation_id: UUID, workspace_id: UUID, personal: dict[str, Any]) -> bytes:
        """A new key for a conversation's first event, and whose it is (``index``), in one round trip; the existing
        key when a retried append made it already.

        Its commit does not wait for the WAL flush (``synchronous_commit`` off for this statement alone): the event
        it seals is appended next with a synchronous commit, whose flush carries every WAL record before it, this
        one's included; so a stored event never lacks its key, and the flush is waited for once, not twice (ADR 0064).
        """
        key, generation = os.urandom(32), self._generation
        kid, wrapped = self.wrap(conversation_id, key)
        row = self._with_connection(
            lambda cur: cur.execute(
                "WITH c AS (SELECT set_config('synchronous_commit', 'off', true)),"
                f" k AS (INSERT INTO {KEYS} (conversation_id, workspace_id, wrapping_kid, wrapped_key)"
                " VALUES (%(c)s, %(w)s, %(kid)s, %(key)s) ON CONFLICT (conversation_id) DO NOTHING"
                " RETURNING conversation_id),"
                f" s AS (INSERT INTO {SUBJECTS} (workspace_id, subject, conversation_id)"
                " SELECT %(w)s, u, %(c)s FROM unnest(%(subjects)s::bytea[]) u ON CONFLICT DO NOTHING)"
                " SELECT count(*) FROM k, c",
                {
                    "c": conversation_id,
                    "w": workspace_id,
                    "kid": kid,
                    "key": wrapped,
                    "subjects": subjects_of(workspace_id, personal),
                },
            ).fetchone()
        )
        if row and row[0]:
            if generation == self._generation:
                self._cache[conversation_id] = DataKey(workspace_id, key, time.monotonic())
            return key
        self._cache.pop(conversation_id, None)
        found = self.get(conversation_id)
        if found is None or found.key is None:
            raise RuntimeError("the conversation's data key was not stored")
        return found.key

    def get(self, conversation_id: UUID) -> DataKey | None:
        """The conversation's key (``key`` None once erased), or None when it has none (a conversation started
        before encryption: its events are stored in plain text)."""
        if self._subscribe is not None:
            start, self._subscribe = self._subscribe, None
            start()
        now, generation = time.monotonic(), self._generation
        cached = self._cache.get(conversation_id)
        if cached is not None and self._fresh(cached, now):
            return cached
        row = self._with_connection(
            lambda cur: cur.execute(
                f"SELECT workspace_id, wrapping_kid, wrapped_key FROM {KEYS} WHERE conversation_id = %s",
                (conversation_id,),
            ).fetchone()
        )
        if row is None:
            self._cache.pop(conversation_id, None)
            return None
        key = None if row[2] is None else self.unwrap(conversation_id, row[1], bytes(row[2]))
        entry = DataKey(row[0], key, now)
        if generation == self._generation:  # no erasure was heard while it was read
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[conversation_id] = entry
        return entry

    def index(self, workspace_id: UUID, conversation_id: UUID, personal: dict[str, Any]) -> None:
        """Record whose conversation it is (the hashes of the visitor's user id and e-mail, when given)."""
        subjects = subjects_of(workspace_id, personal)
        if not subjects:
            return

        def insert(cur: psycopg.Cursor[Any]) -> None:
            cur.executemany(
                f"INSERT INTO {SUBJECTS} (workspace_id, subject, conversation_id) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                [(workspace_id, s, conversation_id) for s in subjects],
            )

        self._with_connection(insert)

    def rewrap(self) -> tuple[int, int]:
        """Wrap every live data key under the current wrapping key (``chatassist keys rotate``; also the keys stored
        unwrapped before CHATASSIST_KEYS_ENCRYPTION_KEY was set); returns (re-wrapped, already current)."""
        if self.wrapping is None:
            return 0, 0
        current = self.wrapping.current
        rows = self.read(f"SELECT conversation_id, wrapping_kid, wrapped_key FROM {KEYS} WHERE wrapped_key IS NOT NULL")
        done = 0
        for conversation_id, kid, stored in rows:
            if kid == current:
                continue
            new_kid, wrapped = self.wrap(conversation_id, self.unwrap(conversation_id, kid, bytes(stored)))
            done += self._rewrap_row(conversation_id, kid, new_kid, wrapped)
        return done, len(rows) - done

    def _rewrap_row(self, conversation_id: UUID, kid: str, new_kid: str, wrapped: bytes) -> int:
        """Store a re-wrapped key; an erasure meanwhile wins: only a row still wrapped as read is changed."""
        return self._with_connection(
            lambda cur: (
                cur.execute(
                    f"UPDATE {KEYS} SET wrapping_kid = %s, wrapped_key = %s WHERE conversation_id = %s"
                    " AND wrapping_kid = %s AND wrapped_key IS NOT NULL",
                    (new_kid, wrapped, conversation_id, kid),
                ).rowcount
            )
        )

    def forget(self, conversation_ids: Iterable[UUID]) -> None:
        """Drop this process's copies (after an erasure)."""
        for conversation_id in conversation_ids:
            self._cache.pop(conversation_id, None)


_REGISTRY: dict[tuple[str, str, str], PersonalKeys] = {}


def register(host: str, port: str, dbname: str, database_url: str, wrapping: KeyCipher | None) -> PersonalKeys:
    """Make ``PersonalKeys`` of this database the one every ``ChatAssistApp`` of the process on it uses (the
    composition root calls this when it builds the store's configuration); the same database and wrapping keys
    keep the existing instance and its cache."""
    spec = wrapping.keys if wrapping else None
    found = _REGISTRY.get((host, port, dbname))
    if found is not None and (found.wrapping.keys if found.wrapping else None) == spec:
        return found
    keys = _REGISTRY[(host, port, dbname)] = PersonalKeys(database_url, wrapping)
    return keys


def registered(host: str, port: str, dbname: str) -> PersonalKeys | None:
    """The keys registered for this database, if any."""
    return _REGISTRY.get((host, port, dbname))
