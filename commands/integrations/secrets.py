"""Secrets of integrations: generated, encrypted with the deployment's key vault cipher, and decrypted by workers.

The ciphertext is bound (associated data) to its workspace and to ``integration:<what>``, so it cannot be moved to
another workspace or endpoint. A webhook secret is ``whsec_`` + base64 of 24 random bytes (Standard Webhooks).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
from urllib.parse import urlsplit
from uuid import UUID

from commands.provider_keys.cipher import KeyCipher, KeysEncryptionNotConfigured
from domain.errors import InvalidInput
from domain.integrations import MAX_URL_CHARS, Secret


def require_cipher(cipher: KeyCipher | None) -> KeyCipher:
    """The cipher, or 422 ``keys_encryption_not_configured``."""
    if cipher is None:
        raise KeysEncryptionNotConfigured(
            "Integration secrets cannot be stored: this deployment has no CHATASSIST_KEYS_ENCRYPTION_KEY. "
            "Set it (see docs/settings.md)."
        )
    return cipher


def new_webhook_secret() -> str:
    """A fresh ``whsec_`` signing secret."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def seal(cipher: KeyCipher, workspace_id: UUID, what: str, plaintext: str) -> Secret:
    """Encrypt ``plaintext`` for ``integration:<what>`` of the workspace."""
    key_id, blob = cipher.encrypt(workspace_id, f"integration:{what}", plaintext)
    return Secret(key_id, blob, plaintext[-4:])


def unseal(cipher: KeyCipher, workspace_id: UUID, what: str, key_id: str, ciphertext: str) -> str:
    """Decrypt a secret sealed by ``seal``."""
    return cipher.decrypt(workspace_id, f"integration:{what}", key_id, ciphertext)


def private_address(host: str) -> str | None:
    """The first address ``host`` resolves to that is loopback, private, link-local, reserved or multicast (None
    when every address is public). A name that does not resolve is refused as ``unresolvable``."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return "unresolvable"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            return str(address)
    return None


def check_url(url: object, *, allow_private: bool, what: str = "endpoint URL") -> str:
    """A deliverable URL: https to a public address; with ``allow_private`` (the development setting
    CHATASSIST_INTEGRATIONS_ALLOW_PRIVATE_URLS) http and private addresses too. InvalidInput otherwise."""
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"The {what} must be a URL of at most {MAX_URL_CHARS} characters.", code="invalid_url")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"The {what} must be an https:// URL with a host name.", code="invalid_url")
    if parts.username or parts.password:
        raise InvalidInput(f"The {what} must not carry a user name or password.", code="invalid_url")
    if allow_private:
        return url
    if parts.scheme != "https":
        raise InvalidInput(
            f"The {what} must use https:// (plain http is only allowed by the development setting "
            "CHATASSIST_INTEGRATIONS_ALLOW_PRIVATE_URLS).",
            code="url_not_https",
        )
    found = private_address(parts.hostname)
    if found == "unresolvable":
        raise InvalidInput(f"The host of the {what} ({parts.hostname}) does not resolve.", code="url_unresolvable")
    if found is not None:
        raise InvalidInput(
            f"The {what} resolves to {found}, a loopback, private or link-local address: ChatAssist only delivers to "
            "public addresses (see docs/integrations.md for the development setting).",
            code="url_private_address",
        )
    return url
