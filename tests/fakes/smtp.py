"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives: the receiving end of our emails in tests."""

from __future__ import annotations

import email
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One email as the server got it."""

    sender: str
    recipients: list[str]
    message: Message

    @property
    def subject(self) -> str:
        """The Subject header."""
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        """The plain-text body."""
        part = self.message.get_body(("plain",)) if hasattr(self.message, "get_body") else self.message
        payload = (part or self.message).get_payload(decode=True)
        return payload.decode() if isinstance(payload, bytes) else str(payload)

    def link(self, path: str) -> str:
        """The first link in the text whose path starts with ``path`` ("/accept-invite")."""
        found = re.search(r"https?://\S+" + re.escape(path) + r"\S*", self.text)
        assert found, f"no {path} link in: {self.text}"
        return found.group(0)


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> "550 ..." answered to RCPT TO
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class FakeSmtp:
    """``with FakeSmtp() as smtp:`` an SMTP server on 127.0.0.1:<free port>; ``smtp.wait_for(to)`` its mail."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.handler = _Handler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> FakeSmtp:
        """Listen."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.controller.stop()

    def __enter__(self) -> FakeSmtp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def received(self) -> list[Received]:
        """Everything received so far."""
        with self.handler.lock:
            return list(self.handler.received)

    def to(self, recipient: str) -> list[Received]:
        """What was received for ``recipient``."""
        return [m for m in self.received if recipient in m.recipients]

    def wait_for(self, recipient: str, count: int = 1, timeout: float = 30.0) -> list[Received]:
        """Poll until ``count`` emails to ``recipient`` arrived (generous: the machine may be loaded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(recipient)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{len(self.to(recipient))} of {count} emails to {recipient} arrived in {timeout}s")
