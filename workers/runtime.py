"""What actors need at run time, set once by the composition root before the worker starts."""

from __future__ import annotations

from commands.application import ChatAssistApp

_app: ChatAssistApp | None = None


def set_app(app: ChatAssistApp) -> None:
    """Give actors the event-sourced application of this process."""
    global _app
    _app = app


def get_app() -> ChatAssistApp:
    """The application set by ``set_app``."""
    if _app is None:
        raise RuntimeError("workers.runtime.set_app() was not called before the worker started")
    return _app
