"""Settings come from the environment; secrets are never printed in full."""

from __future__ import annotations

import pytest

from chatassist.settings import load_settings


def test_settings_read_the_documented_variables_and_mask_secrets() -> None:
    settings = load_settings(
        {
            "ANTHROPIC_API_KEY": "sk-ant-api03-abcdefghijklmnop7f3a",
            "CHATASSIST_PORT": "9001",
            "DATABASE_URL": "postgresql://app:hunter2@db:5432/chat",
            "OPENAI_API_KEY": "",
        }
    )
    masked = settings.masked()
    assert settings.port == 9001 and settings.openai_api_key is None
    assert masked["anthropic_api_key"] == "sk-ant…7f3a"
    assert "hunter2" not in str(masked) and "abcdefghijklmnop" not in str(masked)


def test_a_bad_value_stops_with_a_message_naming_the_variable() -> None:
    with pytest.raises(SystemExit, match="CHATASSIST_PORT"):
        load_settings({"CHATASSIST_PORT": "eighty"})
