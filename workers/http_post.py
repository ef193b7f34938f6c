"""A small HTTP/1.1 POST client on ``http.client``: one keep-alive connection per thread and host, a timeout on
connect and on every read, no redirects, and only the start of the answer read.

httpx costs about four times the CPU per request on this path (measured: 0.8 ms against 0.2 ms per POST on
loopback), and one worker process must sign and send hundreds of webhooks a second (docs/performance.md).
"""

from __future__ import annotations

import http.client
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

_SSL = ssl.create_default_context()


@dataclass
class Answer:
    """Status, headers (names in lower case) and the first bytes of the body."""

    status: int
    headers: dict[str, str]
    start: bytes


class Poster:
    """POSTs bytes; ``OSError`` (refused, reset, timed out) and ``http.client.HTTPException`` propagate."""

    def __init__(self, timeout_s: float, read_limit: int = 2000) -> None:
        self.timeout_s, self.read_limit = timeout_s, read_limit
        self._local = threading.local()

    def _connection(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        pool: dict[tuple[str, str, int | None], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "pool", {}
        )
        key = (scheme, host, port)
        conn = pool.get(key)
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(host, port, timeout=self.timeout_s, context=_SSL)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self.timeout_s)
            pool[key] = conn
        return conn

    def _drop(self, scheme: str, host: str, port: int | None) -> None:
        conn = self._local.__dict__.get("pool", {}).pop((scheme, host, port), None)
        if conn is not None:
            conn.close()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """One POST; a keep-alive connection the server closed meanwhile is replaced once."""
        parts = urlsplit(url)
        scheme, host, port = parts.scheme, parts.hostname or "", parts.port
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        for attempt in (1, 2):
            conn = self._connection(scheme, host, port)
            reused = conn.sock is not None
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                start = response.read(self.read_limit)
                if not response.isclosed() or response.will_close:  # more than we read: do not reuse the connection
                    self._drop(scheme, host, port)
                return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, start)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(scheme, host, port)
                if not (reused and attempt == 1):
                    raise
            except BaseException:
                self._drop(scheme, host, port)
                raise
        raise AssertionError("unreachable")
