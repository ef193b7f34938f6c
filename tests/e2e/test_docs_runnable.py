"""Every code block the docs mark as runnable (an HTML comment ``<!-- runnable -->`` on the line before the fence)
runs, in order, against a freshly started ``chatassist up`` (its own database, the offline answerer, its own worker
delivering webhooks), as a reader following the page would run it: the Python blocks of a page in one process, the
bash blocks of a page in one shell. So the docs cannot drift from the code."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.services import throwaway_database

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^<!-- runnable -->\n```(python|bash)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def runnable_blocks(page: Path) -> list[tuple[str, str]]:
    """The (language, code) of each block marked runnable on the page, in order."""
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(page.read_text(encoding="utf-8"))]


PAGES = [p for p in [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"] if runnable_blocks(p)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def up(service_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`chatassist up` on a database of its own, with no AI key, ready; its base URL."""
    data_dir = tmp_path_factory.mktemp("docs-up")
    port = free_port()
    with throwaway_database(service_urls[0]) as database_url:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL")
        }
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=service_urls[1],
            CHATASSIST_DATA_DIR=str(data_dir),
            CHATASSIST_BROKER_NAMESPACE=f"docs-{uuid.uuid4().hex[:8]}",
            CHATASSIST_INTEGRATIONS_ALLOW_PRIVATE_URLS="true",  # as the quickstart says, for a receiver on loopback
            CHATASSIST_DB_POOL_SIZE="2",
        )
        log = data_dir / "up.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "chatassist.cli", "up", "--port", str(port)],
                cwd=data_dir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, log.read_text()[-4000:]
                try:
                    if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(0.3)
            yield base
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_the_quickstart_is_runnable_end_to_end() -> None:
    # (the marker must not silently disappear from the page that promises it)
    kinds = [kind for kind, _ in runnable_blocks(ROOT / "docs/quickstart.md")]
    assert kinds.count("python") >= 6, kinds


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_the_runnable_blocks_of_the_page_run(page: Path, up: str, tmp_path: Path) -> None:
    # Given a page's runnable blocks, and a started server
    blocks = runnable_blocks(page)
    env = {**os.environ, "CHATASSIST": up}
    for kind, suffix, command in (("python", ".py", [sys.executable]), ("bash", ".sh", ["bash", "-euo", "pipefail"])):
        code = "\n\n".join(text for lang, text in blocks if lang == kind)
        if not code:
            continue
        script = tmp_path / f"{page.stem}{suffix}"
        script.write_text(code, encoding="utf-8")
        # When they run in order, as a reader would run them
        done = subprocess.run([*command, str(script)], env=env, capture_output=True, text=True, timeout=300)
        # I expect them to succeed
        assert done.returncode == 0, f"{page.name} ({kind}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
