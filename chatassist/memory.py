"""The C allocator of a long-lived server process (docs/adr/0062-lean-web-process.md).

glibc's malloc gives each thread that allocates an arena of its own, up to eight per core. A web process runs the
event store and the views in anyio's worker threads (up to 40), the psycopg pool's threads and Redis's: each arena
keeps the pages its thread freed, so the resident size grows with the number of threads that ever ran, not with
what the process holds. ``limit_arenas`` caps the arenas before those threads start (what ``MALLOC_ARENA_MAX=2``
in the environment does, without asking every deployment to set it); ``trim`` hands the pages freed by start-up
(the import of every module, the classifiers' training) back to the system.

Both are glibc's (``mallopt``, ``malloc_trim``); elsewhere (musl, macOS) they do nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
from typing import Any

log = logging.getLogger("chatassist")
M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def _libc() -> Any:
    try:
        return ctypes.CDLL(None)  # the process's own symbols: glibc's malloc where it is the allocator
    except OSError:
        return None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` (call before any thread starts); an operator's MALLOC_ARENA_MAX
    wins. True when the cap was set here."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False  # glibc read it at start: the operator's choice
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas)))


def trim() -> None:
    """Give the heap's free pages back to the system (after start-up: the garbage of imports and training)."""
    malloc_trim = getattr(_libc(), "malloc_trim", None)
    if malloc_trim is not None:
        malloc_trim(ctypes.c_size_t(0))
