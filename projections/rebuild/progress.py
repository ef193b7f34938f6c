"""Progress of a long run: a bar redrawn in place on a terminal, plain lines every few seconds otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """``update(position, done)`` as work proceeds; ``total`` events up to position ``head``."""

    def __init__(self, label: str, total: int, head: int, stream: TextIO | None = None, every_s: float = 2.0) -> None:
        self.label, self.total, self.head = label, total, head
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = 0.2 if self.tty else every_s
        self.started = time.monotonic()
        self._shown = 0.0

    def line(self, position: int, done: int) -> str:
        """position / max, events done / total, events/s, ETA (and a bar on a terminal)."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate > 0 and self.total > done else 0.0
        text = (
            f"{self.label}: position {position:,} / {self.head:,}, {done:,} / {self.total:,} events,"
            f" {rate:,.0f} events/s, ETA {_duration(eta)}"
        )
        if not self.tty:
            return text
        filled = int(30 * done / self.total) if self.total else 30
        return f"[{'#' * filled}{'.' * (30 - filled)}] {text}"

    def update(self, position: int, done: int, *, force: bool = False) -> None:
        """Show the progress if the last update is old enough (or ``force``)."""
        now = time.monotonic()
        if not force and now - self._shown < self.every_s:
            return
        self._shown = now
        if self.tty:
            self.stream.write("\r\x1b[2K" + self.line(position, done))
        else:
            self.stream.write(self.line(position, done) + "\n")
        self.stream.flush()

    def finish(self, message: str) -> None:
        """End the progress display with a final line."""
        self.stream.write(("\n" if self.tty else "") + message + "\n")
        self.stream.flush()
