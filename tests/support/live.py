"""Read a never-ending server-sent event stream in a background thread (live-update tests and benchmarks)."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx


class LiveReader:
    """Opens ``path`` as an SSE stream and queues each (event, data, monotonic time received)."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str], params: dict[str, Any] | None = None):
        self.events: queue.Queue[tuple[str, Any, float]] = queue.Queue()
        self.status: int | None = None
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10, read=None))
        self._args = (path, {"Accept": "text/event-stream", **headers}, params or {})
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._socket: socket.socket | None = None

    def start(self) -> LiveReader:
        """Connect and wait for the response headers."""
        self._thread.start()
        assert self._opened.wait(10), "the stream did not open"
        return self

    def _run(self) -> None:
        path, headers, params = self._args
        try:
            with self._client.stream("GET", path, headers=headers, params=params) as response:
                self.status = response.status_code
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                self._opened.set()
                name, data = "message", []
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line == "":
                        if data:
                            self.events.put((name, json.loads("\n".join(data)), time.monotonic()))
                        name, data = "message", []
                    elif line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
        except (httpx.HTTPError, OSError):
            pass
        finally:
            self._opened.set()

    def next(self, timeout: float = 5.0, where: Callable[[str, Any], bool] = lambda n, d: True) -> tuple[str, Any]:
        """The next event satisfying ``where`` (others are skipped); AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                name, data, _ = self.events.get(timeout=max(0.0, left))
            except queue.Empty:
                raise AssertionError(f"no matching event within {timeout} s") from None
            if where(name, data):
                return name, data

    def ended(self, timeout: float) -> bool:
        """True once the server has closed the stream (waits up to ``timeout`` seconds)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        """Stop reading and close the connection (a shutdown wakes the thread blocked on it, and the server sees
        the client leave)."""
        self._stop.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._client.close()
