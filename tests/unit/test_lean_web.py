"""A web process imports what its requests need at start, and the modules few requests use where they are used
(docs/adr/0062-lean-web-process.md, 0071): the anthropic SDK, the openai SDK without an OpenAI key, fpdf2 before a
PDF export, zxcvbn before a password is checked; httpx's command-line module (rich) never."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from commands._passwords import check_password_strength
from commands.replay_conversation import pdf

ROOT = Path(__file__).resolve().parents[2]
LAZY = ("anthropic", "openai", "fpdf", "fontTools", "PIL", "zxcvbn", "rich")

# What `chatassist web` imports before it serves (chatassist/cli.py `_serve`), its providers built from an
# Anthropic key alone, in a fresh interpreter.
START = """
import json, sys
import chatassist.asgi, chatassist.cli
from chatassist.bootstrap import build_providers
from chatassist.integrations import context
from chatassist.seed import demo_filler
from chatassist.settings import Settings
from domain.decisions.model import warm
from read_api._live import LiveHub
from web.app import create_app
from web.observability import MetricsAccess

providers = build_providers(Settings(anthropic_api_key="sk-ant-test"))
warm()
print(json.dumps({"providers": sorted(providers.by_name), "loaded": sorted(m for m in LAZY if m in sys.modules)}))
"""


def start_in_a_fresh_interpreter(extra: str = "") -> dict[str, list[str]]:
    code = f"LAZY = {LAZY!r}\n" + START + extra
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_a_web_process_with_an_anthropic_key_starts_without_the_modules_few_requests_use() -> None:
    started = start_in_a_fresh_interpreter()
    assert started == {"providers": ["anthropic"], "loaded": []}


def test_an_openai_key_in_the_environment_loads_its_sdk_at_start() -> None:
    extra = (
        "providers = build_providers(Settings(openai_api_key='sk-test'))\n"
        "print(json.dumps({'providers': sorted(providers.by_name), 'loaded': sorted(m for m in LAZY if m in"
        " sys.modules)}))\n"
    )
    started = start_in_a_fresh_interpreter(extra)
    assert started == {"providers": ["openai"], "loaded": ["openai"]}


def test_the_lazily_imported_modules_work_on_first_use() -> None:
    """Given this interpreter, when a password is checked and a transcript laid out, I expect both to work: the
    imports they now make themselves succeed (the e2e tests cover them through HTTP)."""
    assert check_password_strength("purple elephants juggle quietly at dawn") == (
        "purple elephants juggle quietly at dawn"
    )
    document = pdf.render(["# Conversation\n", "- one line\n"])
    assert document.startswith(b"%PDF-") and "fpdf" in sys.modules and "zxcvbn" in sys.modules
