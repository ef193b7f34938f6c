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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from Crypto.Cipher import AES

from commands.provider_keys.cipher import NONCE, TAG, KeyCipher, UnknownEncryptionKey

KEYS, SUBJECTS = "chatassist_personal_keys", "chatassist_personal_subjects"
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

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._pid != os.getpid():
            self._conn = psycopg.connect(self.database_url, autocommit=True)
            self._pid = os.getpid()
        return self._conn

    def _aad(self, conversation_id: UUID) -> bytes:
        return f"chatassist-personal-key:{conversation_id}".encode()

    def wrap(self, conversation_id: UUID, key: bytes) -> tuple[str, bytes]:
        """The wrapping key id ('' without CHATASSIST_KEYS_ENCRYPTION_KEY) and the stored form of ``key``."""
        if self.wrapping is None:
            return "", key
        nonce = os.urandom(NONCE)
        cipher = AES.new(self.wrapping.keys[self.wrapping.current], AES.MODE_GCM, nonce=nonce)
        cipher.update(self._aad(conversation_id))
        sealed, tag = cipher.encrypt_and_digest(key)
        return self.wrapping.current, nonce + tag + sealed

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
        cipher = AES.new(wrapping_key, AES.MODE_GCM, nonce=stored[:NONCE])
        cipher.update(self._aad(conversation_id))
        return cipher.decrypt_and_verify(stored[NONCE + TAG :], stored[NONCE : NONCE + TAG])

    def create(self, conversation_id: UUID, workspace_id: UUID) -> bytes:
        """A new key for a conversation's first event (the existing one when a retried append made it already)."""
        key = os.urandom(32)
        kid, wrapped = self.wrap(conversation_id, key)
        with self._lock:
            self._connection().execute(
                f"INSERT INTO {KEYS} (conversation_id, workspace_id, wrapping_kid, wrapped_key) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (conversation_id) DO NOTHING",
                (conversation_id, workspace_id, kid, wrapped),
            )
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
        with self._lock:
            row = (
                self._connection()
                .execute(
                    f"SELECT workspace_id, wrapping_kid, wrapped_key FROM {KEYS} WHERE conversation_id = %s",
                    (conversation_id,),
                )
                .fetchone()
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
        subjects = [
            subject_hash(workspace_id, f, str(personal[f])) for f in SUBJECT_FIELDS if isinstance(personal.get(f), str)
        ]
        if not subjects:
            return
        with self._lock, self._connection().cursor() as cur:
            cur.executemany(
                f"INSERT INTO {SUBJECTS} (workspace_id, subject, conversation_id) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                [(workspace_id, s, conversation_id) for s in subjects],
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
