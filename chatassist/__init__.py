"""The composition root: settings, bootstrap, the CLI (DESIGN.md)."""

import os as _os

if _os.environ.get("CHATASSIST_LOG_FORMAT", "").strip().lower() == "json":  # JSON before any import can warn
    from chatassist.logformat import install_early as _install_early

    _install_early()
