"""The event store's mapper with crypto-shredding (issue 17 item 5, ADR 0044).

``to_stored_event`` encrypts the ``personal`` field of each Conversation event with the conversation's data key
(commands/personal_data/keys.py; AES-256-GCM, bound to the event's stream and version): the stored state holds
``{"_sealed_": base64(nonce, ciphertext and tag), "_fields_": {name: kind}}`` instead of the values, so the hash chain
(commands/_store.py) hashes the ciphertext. ``to_domain_event`` decrypts it; when the key was destroyed (an erasure),
each field reads ``"[erased]"`` (a list: ``["[erased]"]``; anything else: null), so the aggregate, the replay, the
exports and every projection see the same erased values and a rebuild cannot bring the text back.

A conversation started before encryption has no key: its later events stay in plain text too (ADR 0044: they
cannot be erased without rewriting history, and the erasure says so). Other aggregates' events are unchanged.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import StoredEvent

from commands._correlation import CorrelatingMapper
from commands.personal_data.keys import PersonalKeys
from commands.provider_keys.cipher import NONCE
from domain.conversation import ERASED, Conversation, ConversationErased

MAPPER_TOPIC = "commands.personal_data.seal:SealingMapper"
SEALED, FIELDS = "_sealed_", "_fields_"


def _kind(value: object) -> str:
    return "s" if isinstance(value, str) else "l" if isinstance(value, list) else "n" if value is None else "o"


def erased_fields(fields: dict[str, str]) -> dict[str, Any]:
    """The personal field of an erased event: its keys, each value erased."""
    return {name: ERASED if kind == "s" else [ERASED] if kind == "l" else None for name, kind in fields.items()}


def _aad(originator_id: object, version: int) -> bytes:
    return f"chatassist-personal:{originator_id}:{version}".encode()


class SealingMapper(CorrelatingMapper):
    """``CorrelatingMapper`` that encrypts Conversation events' personal fields when ``keys`` is attached (by
    ``chatassist.bootstrap``); without it, events are stored and read as they are."""

    keys: PersonalKeys | None = None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        """The stored event, with ``personal`` sealed under the conversation's key."""
        personal = vars(domain_event).get("personal")
        if self.keys is None or type(personal) is not dict or not isinstance(domain_event, Conversation.Event):
            return super().to_stored_event(domain_event)
        conversation_id, version = domain_event.originator_id, domain_event.originator_version
        if version == 1:
            key = self.keys.create(conversation_id, vars(domain_event)["workspace_id"], personal)  # Started has it
        else:
            found = self.keys.get(conversation_id)
            if found is None:  # started before encryption: stays in plain text (ADR 0044)
                return super().to_stored_event(domain_event)
            if found.key is None:
                raise ConversationErased(
                    "This conversation's personal data was erased; it takes no new messages or notes.",
                )
            key = found.key
            if "user_id" in personal or "email" in personal:
                self.keys.index(found.workspace_id, conversation_id, personal)
        nonce = os.urandom(NONCE)
        sealed = AESGCM(key).encrypt(nonce, self.transcoder.encode(personal), _aad(conversation_id, version))
        fields = {name: _kind(value) for name, value in personal.items()}
        wrapped = object.__new__(type(domain_event))
        object.__setattr__(
            wrapped,
            "__dict__",
            {
                **vars(domain_event),
                "personal": {SEALED: base64.b64encode(nonce + sealed).decode(), FIELDS: fields},
            },
        )
        return super().to_stored_event(wrapped)

    def to_domain_event(self, stored_event: Any) -> Any:
        """The domain event, its ``personal`` decrypted (or erased)."""
        domain_event = super().to_domain_event(stored_event)
        state = domain_event.__dict__
        personal = state.get("personal")
        if type(personal) is dict and SEALED in personal:
            state["personal"] = self.unseal(domain_event.originator_id, domain_event.originator_version, personal)
        return domain_event

    def unseal(self, conversation_id: Any, version: int, personal: dict[str, Any]) -> dict[str, Any]:
        """The personal field of a sealed event: decrypted, or erased when its key is gone."""
        if self.keys is None:
            raise RuntimeError("a sealed event was read by a mapper without the personal data keys (bootstrap)")
        found = self.keys.get(conversation_id)
        if found is None or found.key is None:
            return erased_fields(personal[FIELDS])
        blob = base64.b64decode(personal[SEALED])
        plain = AESGCM(found.key).decrypt(blob[:NONCE], blob[NONCE:], _aad(conversation_id, version))
        decoded: dict[str, Any] = self.transcoder.decode(plain)
        return decoded
