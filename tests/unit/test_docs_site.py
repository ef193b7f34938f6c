"""The documentation cannot drift from the code: the generated pages match what the code says, the site builds in
strict mode (every page in the navigation, every link and anchor resolving), and every setting is explained."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

from chatassist.docs_gen import ROOT, error_catalogue, event_catalogue, generate
from chatassist.settings import Settings, env_name


def test_the_generated_pages_are_what_the_code_says() -> None:
    # Given the committed docs, I expect `chatassist docs generate` to have nothing to rewrite
    differs = generate(check=True)
    assert differs == [], f"run `chatassist docs generate` and commit: {differs}"


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    # When the site is built as `chatassist docs build` does, into a scratch directory
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    # I expect no warning (a broken link or anchor, a page outside the navigation) and every page rendered
    assert done.returncode == 0, done.stderr[-3000:]
    for page in ("index.html", "errors/index.html", "events/index.html", "configuration/index.html"):
        assert (tmp_path / "site" / page).is_file(), page


def test_every_setting_is_explained_in_the_configuration_page_or_one_it_links_to() -> None:
    config = (ROOT / "docs/configuration.md").read_text(encoding="utf-8")
    hand_written = config.split("<!-- env:begin")[0] + config.split("<!-- env:end -->")[1]
    linked = set(re.findall(r"\]\(([a-z0-9-]+\.md)", hand_written))
    texts = [hand_written] + [(ROOT / "docs" / name).read_text(encoding="utf-8") for name in linked]
    missing = [env_name(f.name) for f in dataclasses.fields(Settings) if not any(env_name(f.name) in t for t in texts)]
    assert missing == []


def test_every_variable_the_code_reads_is_documented() -> None:
    # Given every CHATASSIST_* name written in our packages (settings and the few read directly)
    names: set[str] = set()
    for package in ("chatassist", "web", "workers", "commands", "projections", "read_api", "domain"):
        for path in (ROOT / package).rglob("*.py"):
            names.update(re.findall(r"\"(CHATASSIST_[A-Z0-9_]+)\"", path.read_text(encoding="utf-8")))
    docs = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    # I expect each to appear in the docs
    assert sorted(n for n in names if n not in docs) == []


def test_the_error_table_finds_codes_raised_in_each_way() -> None:
    # (the generator must see the three ways a code is answered, or the table would silently shrink)
    codes = error_catalogue()
    assert 409 in codes["conversation_closed"].statuses  # Conflict(..., code=...) in the domain
    assert 404 in codes["not_found"].statuses  # the generic code of a status
    assert 429 in codes["anonymous_budget_exhausted"].statuses  # RateLimited(..., code=...) in web/
    assert 429 in codes["too_many_signups"].statuses  # a Litestar HTTP exception with extra={"code": ...}
    assert 409 in codes["version_conflict"].statuses  # a subclass whose __init__ passes code=...
    assert 400 in codes["json_too_deep"].statuses  # Response(error_body(...), status_code=...)
    assert len(codes) >= 100


def test_the_event_catalogue_names_each_aggregate_and_its_versions() -> None:
    events = {(e.aggregate, e.name): e for e in event_catalogue()}
    assert events[("Conversation", "ModelCallMade")].version >= 2
    assert ("request_sha256", "str | None") in events[("Conversation", "ModelCallMade")].fields
    assert events[("Conversation", "UserMessageReceived")].recorded_by == ["receive"]
