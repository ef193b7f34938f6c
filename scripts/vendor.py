"""Fetch the dashboard's third-party browser code into web/static/vendor/ (git-ignored), from package-lock.json.

Each package's tarball is downloaded from the ``resolved`` URL the lock records and checked against the lock's
``integrity`` (sha512, Subresource Integrity format) before one file is taken out of it: nothing unchecked reaches
the static directory, and no Node.js is needed (a fresh machine with only Python runs this). Run by scripts/install;
``--dev`` also fetches the test-only packages (axe-core). Skipped when vendor/ already holds this lock's files.

Usage: python scripts/vendor.py [--dev]
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "package-lock.json"
VENDOR = ROOT / "web" / "static" / "vendor"
FILES = {  # package -> [(file in its tarball, name under vendor/)]; other packages of the lock are not fetched
    "htmx.org": [("package/dist/htmx.min.js", "htmx.min.js")],
    "htmx-ext-sse": [("package/dist/sse.min.js", "htmx-ext-sse.min.js")],
    "swagger-ui-dist": [  # the API reference page (/schema/swagger) without a CDN
        ("package/swagger-ui-bundle.js", "swagger-ui-bundle.js"),
        ("package/swagger-ui-standalone-preset.js", "swagger-ui-standalone-preset.js"),
        ("package/swagger-ui.css", "swagger-ui.css"),
        ("package/favicon-32x32.png", "swagger-favicon-32x32.png"),
    ],
    "axe-core": [("package/axe.min.js", "axe.min.js")],
}


def check_integrity(data: bytes, integrity: str) -> None:
    """Raise unless ``data`` matches one of the lock's SRI hashes (sha512 only: the lock's algorithm)."""
    for entry in integrity.split():
        algorithm, _, expected = entry.partition("-")
        if algorithm == "sha512" and base64.b64encode(hashlib.sha512(data).digest()).decode() == expected:
            return
    raise SystemExit(f"integrity check failed: the download does not match {integrity[:30]}...")


def main(argv: list[str]) -> int:
    dev = "--dev" in argv
    lock = json.loads(LOCK.read_text())
    stamp_text = hashlib.sha256(LOCK.read_bytes()).hexdigest() + (" dev" if dev else "")
    stamp = VENDOR / ".stamp"
    if stamp.exists() and stamp.read_text() == stamp_text:
        return 0
    VENDOR.mkdir(parents=True, exist_ok=True)
    for key, entry in lock["packages"].items():
        name = key.removeprefix("node_modules/")
        if not key or name not in FILES or (entry.get("dev") and not dev):
            continue
        with urllib.request.urlopen(entry["resolved"], timeout=60) as response:
            data = response.read()
        check_integrity(data, entry["integrity"])
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member, target in FILES[name]:
                source = tar.extractfile(member)
                if source is None:
                    raise SystemExit(f"{name} {entry['version']} has no {member}")
                (VENDOR / target).write_bytes(source.read())
        print(f"vendor: {name} {entry['version']} -> web/static/vendor/ (integrity checked)")
    stamp.write_text(stamp_text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
