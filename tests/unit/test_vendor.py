"""scripts/vendor.py: the dashboard's browser code comes only from the lock, integrity-checked."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def vendor() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vendor", ROOT / "scripts" / "vendor.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_download_that_does_not_match_the_lock_is_refused() -> None:
    v = vendor()
    data = b"htmx"
    good = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    v.check_integrity(data, good)  # the same bytes: accepted
    with pytest.raises(SystemExit, match="integrity check failed"):
        v.check_integrity(data + b" tampered", good)
    with pytest.raises(SystemExit):
        v.check_integrity(data, "sha1-" + base64.b64encode(hashlib.sha1(data).digest()).decode())  # sha512 only


def test_every_package_used_is_pinned_with_an_integrity_hash() -> None:
    v = vendor()
    declared = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    for name in v.FILES:
        entry = lock[f"node_modules/{name}"]
        wanted = {**declared.get("dependencies", {}), **declared.get("devDependencies", {})}[name]
        assert entry["version"] == wanted, name  # exact pins, no ranges
        assert entry["integrity"].startswith("sha512-") and entry["resolved"].startswith("https://registry.npmjs.org/")
