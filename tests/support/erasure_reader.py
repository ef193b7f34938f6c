"""Another process reading a sealed conversation, for tests/integration/test_erasure_notice.py.

``python -m tests.support.erasure_reader DATABASE_URL REDIS_URL KEY_SPEC CONVERSATION_ID``: bootstraps as a server
process does, with a key cache that would keep entries an hour (so only the erasure notice can make it forget),
prints ``listening`` once its LISTEN is in force and ``read <user_id>`` for the first read; then for each ``read``
line on its standard input, ``read <user_id> <0|1>``: the user id as it decodes the conversation's first stored event
now, and whether the key was still cached.
"""

from __future__ import annotations

import sys
import time
from uuid import UUID

from chatassist.bootstrap import bootstrap
from chatassist.settings import Settings


def main() -> None:
    """Serve ``read`` lines until standard input closes."""
    database_url, redis_url, spec, conversation = sys.argv[1:5]
    cid = UUID(conversation)
    container = bootstrap(
        Settings(database_url=database_url, redis_url=redis_url, keys_encryption_key=spec, db_pool_size=2),
        run_migrations=False,
    )
    app = container.app
    keys = app.mapper.keys  # type: ignore[attr-defined]
    keys.ttl_s = 3600.0

    def user_id() -> str:
        stored = next(iter(app.recorder.select_events(cid, limit=1)))
        return str(app.mapper.to_domain_event(stored).personal["user_id"])  # type: ignore[attr-defined]

    user_id()  # the first key read starts the listener
    deadline = time.monotonic() + 30
    while not keys._listening and time.monotonic() < deadline:
        time.sleep(0.05)
    print("listening" if keys._listening else "not listening", flush=True)
    print(f"read {user_id()}", flush=True)
    for line in sys.stdin:
        if line.strip() == "read":
            cached = cid in keys._cache
            print(f"read {user_id()} {int(cached)}", flush=True)
    container.close()


if __name__ == "__main__":
    main()
