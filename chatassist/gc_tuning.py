"""The garbage collector of a long-lived server process (docs/adr/0059-chat-turn-speed.md).

A web process holds ~300,000 tracked objects once it has imported its libraries (the ``anthropic`` SDK's types
alone are thousands of modules) and built its app. Python's full collection walks all of them: ~0.2-0.5 s on this
project's machines, a pause of every open stream, every few minutes under load. None of those objects ever becomes
garbage, so after start-up they are moved to the permanent generation (``gc.freeze``) that collections skip, and
the young generation is made larger so that a busy process runs far fewer collections of the objects a turn makes.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 20, 20)  # Python's default is (700, 10, 10): one young collection every ~3 chat turns


def settle() -> None:
    """Collect once, freeze what survives (start-up state), and set the thresholds. Call after start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
