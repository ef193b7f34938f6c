"""The composition root: settings, bootstrap, the CLI (DESIGN.md)."""

import os as _os
import sys as _sys

# httpx imports its command-line tool (and with it rich, pygments and click, ~4.5 MB) whenever they are installed,
# as they are here for Litestar's CLI. No ChatAssist process runs `httpx` from the command line; `None` in
# sys.modules makes that one import fail, and httpx then defines its placeholder `main` (docs/adr/0071).
_sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if _os.environ.get("CHATASSIST_LOG_FORMAT", "").strip().lower() == "json":  # JSON before any import can warn
    from chatassist.logformat import install_early as _install_early

    _install_early()
