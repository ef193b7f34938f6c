"""The data keys of crypto-shredding (issue 17 item 5, ADR 0044): one AES-256 key per conversation, kept in
``chatassist_personal_keys`` wrapped by CHATASSIST_KEYS_ENCRYPTION_KEY (the provider keys' key list). Destroying the
key (``wrapped_key`` NULL) is the erasure: the conversation's personal fields can no longer be decrypted anywhere.

A process keeps unwrapped keys in memory for ``ttl_s`` seconds (an append or a read does not query the table each
time), so another process stops decrypting an erased conversation at most ``ttl_s`` after the erasure; the erasing
process forgets its copies at once. Keys never leave this module: not in events, logs or answers.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
SUBJECT_FIELDS = ("user_id", "email")  # the identity fields an erasure request may name


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
    """The key table with a short-lived in-process cache; one autocommit connection per process (re-opened after a
    fork), used under a lock."""

    def __init__(self, database_url: str, wrapping: KeyCipher | None, *, ttl_s: float = 5.0) -> None:
        self.database_url = database_url
        self.wrapping = wrapping
        self.ttl_s = ttl_s
        self._cache: dict[UUID, DataKey] = {}
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = 0
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        """In a forked child (the rebuild's share processes): a lock another thread of the parent held at the fork
        would never be released there, and the parent's connection is not the child's: start both afresh (the
        parent's connection is left alone, not closed: its socket is still the parent's)."""
        self._lock = threading.Lock()
        self._conn = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._pid != os.getpid():
            self._conn = psycopg.connect(self.database_url, autocommit=True)
            if not self._pid:
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
                    for statement in DDL:
                        self._conn.execute(statement)
            self._pid = os.getpid()
        return self._conn

    def _with_connection(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run ``work`` on the process's key connection, under the lock. A connection the server ended (a restart, a
        failover) is replaced and ``work`` runs once more on the new one: every statement here is a read or an
        idempotent write (``ON CONFLICT DO NOTHING``), so running it again is safe."""
        with self._lock:
            conn = self._connection()
            try:
                return work(conn)
            except psycopg.OperationalError:
                if not (conn.closed or conn.broken):
                    raise
                self._conn = None
                return work(self._connection())

    def ensure_tables(self) -> None:
        """Create the key tables if this process has not yet (before reading them on another connection)."""
        with self._lock:
            self._connection()

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
        key when a retried append made it already."""
        key = os.urandom(32)
        kid, wrapped = self.wrap(conversation_id, key)
        row = self._with_connection(
            lambda conn: conn.execute(
                f"WITH k AS (INSERT INTO {KEYS} (conversation_id, workspace_id, wrapping_kid, wrapped_key)"
                " VALUES (%(c)s, %(w)s, %(kid)s, %(key)s) ON CONFLICT (conversation_id) DO NOTHING"
                " RETURNING conversation_id),"
                f" s AS (INSERT INTO {SUBJECTS} (workspace_id, subject, conversation_id)"
                " SELECT %(w)s, u, %(c)s FROM unnest(%(subjects)s::bytea[]) u ON CONFLICT DO NOTHING)"
                " SELECT count(*) FROM k",
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
        now = time.monotonic()
        cached = self._cache.get(conversation_id)
        if cached is not None and now - cached.fetched < self.ttl_s:
            return cached
        row = self._with_connection(
            lambda conn: conn.execute(
                f"SELECT workspace_id, wrapping_kid, wrapped_key FROM {KEYS} WHERE conversation_id = %s",
                (conversation_id,),
            ).fetchone()
        )
        if row is None:
            self._cache.pop(conversation_id, None)
            return None
        key = None if row[2] is None else self.unwrap(conversation_id, row[1], bytes(row[2]))
        if len(self._cache) > 50_000:
            self._cache.clear()
        entry = self._cache[conversation_id] = DataKey(row[0], key, now)
        return entry

    def index(self, workspace_id: UUID, conversation_id: UUID, personal: dict[str, Any]) -> None:
        """Record whose conversation it is (the hashes of the visitor's user id and e-mail, when given)."""
        subjects = subjects_of(workspace_id, personal)
        if not subjects:
            return

        def insert(conn: psycopg.Connection[Any]) -> None:
            with conn.cursor() as cur:
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
        with self._lock:
            conn = self._connection()
            rows = conn.execute(
                f"SELECT conversation_id, wrapping_kid, wrapped_key FROM {KEYS} WHERE wrapped_key IS NOT NULL"
            ).fetchall()
            done = 0
            for conversation_id, kid, stored in rows:
                if kid == current:
                    continue
                new_kid, wrapped = self.wrap(conversation_id, self.unwrap(conversation_id, kid, bytes(stored)))
                updated = conn.execute(  # an erasure meanwhile wins: only a row still wrapped as read is changed
                    f"UPDATE {KEYS} SET wrapping_kid = %s, wrapped_key = %s WHERE conversation_id = %s"
                    " AND wrapping_kid = %s AND wrapped_key IS NOT NULL",
                    (new_kid, wrapped, conversation_id, kid),
                )
                done += updated.rowcount
        return done, len(rows) - done

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
