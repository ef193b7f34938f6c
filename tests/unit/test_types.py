"""mypy --strict over our packages (pyproject.toml's ``[tool.mypy]``), enforced: a type error fails the test run.

No cache (``--cache-dir=/dev/null``, mypy's documented way to write none): every run checks from cold, so nothing
left by an earlier run with other sources or stubs can hide an error. About 20 s of CPU (docs/architecture.md,
"Type checking").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_strict_reports_no_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", os.devnull],  # packages and flags: pyproject.toml
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in" in result.stdout, result.stdout + result.stderr
