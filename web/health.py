"""GET /health (the process is alive) and GET /ready (its database and Redis answer; notices such as parked
workspaces of the projections)."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio.to_thread
from litestar import Response, get

# a check raises when its dependency is unavailable; it may return a notice (a sentence), which /ready reports under
# ``notices`` without failing (parked workspaces of a projection: the other workspaces are served)
ReadyChecks = dict[str, Callable[[], str | None]]
CHECK_TIMEOUT_S = 0.8  # /ready answers within a second whatever is down (docs/operations.md)
# A check still running after CHECK_TIMEOUT_S counts as ok if it last succeeded less than this long ago: a busy
# process (a burst of projection pages holding the GIL) stays ready, a hung dependency is reported within seconds.
# A dependency that is down fails its check at once (the pool refuses while unreachable), not by this timeout.
SLOW_OK_S = 5.0
_last_ok: dict[int, float] = {}


@get("/health", operation_id="health", tags=["ops"], summary="Liveness")
async def health() -> dict[str, str]:
    """Always ok while the process serves requests."""
    return {"status": "ok"}


@get("/ready", operation_id="ready", tags=["ops"], summary="Readiness: database and Redis reachable")
async def ready(ready_checks: ReadyChecks) -> Response[dict[str, object]]:
    """200 when every dependency answers, else 503 naming the ones that did not; ``notices``: what an operator
    should look at although the service is ready (a workspace parked for a projection)."""
    results: dict[str, str] = {}
    notices: dict[str, str] = {}

    async def probe(name: str, check: Callable[[], str | None]) -> None:
        def run() -> str | None:
            notice = check()
            _last_ok[id(check)] = time.monotonic()
            return notice

        slow_ok = time.monotonic() - _last_ok.get(id(check), -SLOW_OK_S) < SLOW_OK_S
        results[name] = "ok" if slow_ok else f"unavailable: no answer within {CHECK_TIMEOUT_S} s"
        with anyio.move_on_after(CHECK_TIMEOUT_S):  # a hung dependency: answer anyway (its thread is left behind)
            try:
                notice = await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
                results[name] = "ok"
                if notice:
                    notices[name] = notice
            except Exception as exc:
                results[name] = f"unavailable: {type(exc).__name__}"

    async with anyio.create_task_group() as checks:  # all at once: the answer comes within CHECK_TIMEOUT_S
        for name, check in ready_checks.items():
            checks.start_soon(probe, name, check)
    results = {name: results[name] for name in ready_checks}
    ok = all(v == "ok" for v in results.values())
    body: dict[str, object] = {"status": "ok" if ok else "unavailable", "checks": results}
    if notices:
        body["notices"] = notices
    if not ok:
        body.update(
            code="not_ready",
            message="A dependency is unavailable: " + ", ".join(k for k, v in results.items() if v != "ok") + ".",
        )
    return Response(body, status_code=200 if ok else 503, headers=None if ok else {"Retry-After": "5"})
