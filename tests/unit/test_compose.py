"""docker-compose.yml starts a production-shaped ChatAssist: every process gets what a production start needs."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import yaml

from chatassist.settings import Settings, env_name

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
# What a production start needs: the servers, the session signing key, the provider-key cipher (without it saving a
# provider key fails), the public address of the links it writes, and production mode.
REQUIRED = {
    "DATABASE_URL",
    "REDIS_URL",
    "CHATASSIST_SECRET_KEY",
    "CHATASSIST_KEYS_ENCRYPTION_KEY",
    "CHATASSIST_PUBLIC_URL",
    "CHATASSIST_ENV",
}


def chatassist_services() -> dict[str, dict[str, object]]:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    return {name: s for name, s in services.items() if s.get("image", "").startswith("chatassist")}


def test_every_chatassist_process_gets_every_variable_a_production_start_needs() -> None:
    services = chatassist_services()
    assert {"migrate", "web", "worker", "scheduler"} <= set(services)
    for name, service in services.items():
        environment = service.get("environment")
        assert isinstance(environment, dict), name
        missing = REQUIRED - set(environment)
        assert not missing, f"{name} lacks {sorted(missing)}"
        assert environment["CHATASSIST_ENV"] == "production", name


def test_the_secrets_it_needs_are_required_not_defaulted() -> None:
    environment = chatassist_services()["web"]["environment"]
    assert isinstance(environment, dict)
    for name in ("CHATASSIST_SECRET_KEY", "CHATASSIST_KEYS_ENCRYPTION_KEY"):
        assert str(environment[name]).startswith("${" + name + ":?"), f"{name} must stop compose when unset"


def test_every_variable_it_sets_is_one_chatassist_reads() -> None:
    known = {env_name(f.name) for f in fields(Settings)}
    for name, service in chatassist_services().items():
        environment = service["environment"]
        assert isinstance(environment, dict)
        unknown = set(environment) - known
        assert not unknown, f"{name} sets {sorted(unknown)}, which no setting reads (a typo?)"
