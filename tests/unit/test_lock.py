"""The hashed locks that CI and set-up install agree with pyproject.toml's ranges (see scripts/lock)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(lock: str) -> dict[str, str]:
    """Package name -> pinned version, each pin followed by at least one hash."""
    text = (ROOT / "requirements" / lock).read_text()
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{match.group(1)} in {lock} has no hash"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + (project["optional-dependencies"][extra] if extra else [])
    return [Requirement(line) for line in wanted]


@pytest.mark.parametrize(("lock", "extra"), [("app.lock", None), ("test.lock", "test")])
def test_every_declared_dependency_is_pinned_within_its_range(lock: str, extra: str | None) -> None:
    # Given the lock and pyproject.toml's ranges
    locked = pins(lock)
    # I expect each declared dependency pinned, with a hash, at a version its range admits
    for requirement in declared(extra):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is declared but not in {lock}: run bash scripts/lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{lock} pins {requirement.name}=={locked[name]}, outside {requirement.specifier}: run bash scripts/lock"
        )


def test_the_app_lock_is_the_test_lock_runtime_subset() -> None:
    app, test = pins("app.lock"), pins("test.lock")
    assert {name: test.get(name) for name in app} == app
