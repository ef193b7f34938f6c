"""AES-GCM encryption of provider keys with a rotatable key list from CHATASSIST_KEYS_ENCRYPTION_KEY.

The variable is ``kid:base64key[,kid:base64key...]``: the first key encrypts, every key decrypts, so a new key
is put first and the old ones stay listed until ``chatassist keys rotate`` has re-encrypted every stored key.
The ciphertext is bound to its workspace and provider (associated data), so it cannot be moved to another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from uuid import UUID

from Crypto.Cipher import AES

from domain.errors import Conflict, InvalidInput

NONCE, TAG = 12, 16
_KID = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class KeysEncryptionNotConfigured(InvalidInput):
    """The deployment has no key to encrypt provider keys with."""

    code = "keys_encryption_not_configured"


class UnknownEncryptionKey(Conflict):
    """A stored key was encrypted with a key id that is no longer configured."""

    code = "encryption_key_unknown"


def generate_key_spec(kid: str = "k1") -> str:
    """A fresh ``kid:base64key`` entry (256-bit key)."""
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


def parse_key_spec(spec: str) -> dict[str, bytes]:
    """The keys of a ``kid:base64key,...`` list in order (first = current); ValueError with a sentence if malformed."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep or not _KID.fullmatch(kid):
            raise ValueError("each entry must be kid:base64key, with a kid of letters, digits, '_', '.' or '-'")
        try:
            key = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"the key of {kid!r} is not valid base64") from None
        if len(key) not in (16, 24, 32):
            raise ValueError(f"the key of {kid!r} must be 16, 24 or 32 bytes (32 recommended), not {len(key)}")
        if kid in keys:
            raise ValueError(f"the key id {kid!r} is listed twice")
        keys[kid] = key
    if not keys:
        raise ValueError("no key given")
    return keys


def _aad(workspace_id: UUID, provider: str) -> bytes:
    return f"chatassist-provider-key:{workspace_id}:{provider}".encode()


class KeyCipher:
    """Encrypts with the current key, decrypts with any listed key."""

    def __init__(self, spec: str) -> None:
        self.keys = parse_key_spec(spec)
        self.current = next(iter(self.keys))

    def encrypt(self, workspace_id: UUID, provider: str, plaintext: str) -> tuple[str, str]:
        """The current key id and base64(nonce + tag + ciphertext)."""
        nonce = os.urandom(NONCE)
        cipher = AES.new(self.keys[self.current], AES.MODE_GCM, nonce=nonce)
        cipher.update(_aad(workspace_id, provider))
        encrypted, tag = cipher.encrypt_and_digest(plaintext.encode())
        return self.current, base64.b64encode(nonce + tag + encrypted).decode()

    def decrypt(self, workspace_id: UUID, provider: str, key_id: str, encoded: str) -> str:
        """The plaintext; UnknownEncryptionKey when ``key_id`` is not configured, ValueError when tampered."""
        key = self.keys.get(key_id)
        if key is None:
            raise UnknownEncryptionKey(
                f"The stored {provider} key was encrypted with key id {key_id!r}, which is not in "
                "CHATASSIST_KEYS_ENCRYPTION_KEY: add it back (after the current key) or set the key again."
            )
        blob = base64.b64decode(encoded)
        cipher = AES.new(key, AES.MODE_GCM, nonce=blob[:NONCE])
        cipher.update(_aad(workspace_id, provider))
        return cipher.decrypt_and_verify(blob[NONCE + TAG :], blob[NONCE : NONCE + TAG]).decode()


def fingerprint(encoded: str) -> str:
    """A short digest of a ciphertext, to tell stored keys apart without decrypting them."""
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]
