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


def test_the_secret_key_is_masked_required_in_production_and_generated_once_for_laptops(tmp_path: object) -> None:
    import os
    from pathlib import Path

    from chatassist.settings import ensure_secret_key, require_secret_key

    secret = "s" * 20 + "very-secret-signing-key"
    assert load_settings({"CHATASSIST_SECRET_KEY": secret}).masked()["secret_key"] == "****"
    # web and worker refuse to start without it, saying which variable to set
    with pytest.raises(SystemExit, match="CHATASSIST_SECRET_KEY"):
        require_secret_key(load_settings({}))
    # chatassist up generates one in the data dir (mode 0600) and reuses it
    data_dir = Path(str(tmp_path))
    first = ensure_secret_key(load_settings({"CHATASSIST_DATA_DIR": str(data_dir)}))
    again = ensure_secret_key(load_settings({"CHATASSIST_DATA_DIR": str(data_dir)}))
    assert first.secret_key and first.secret_key == again.secret_key and len(first.secret_key) >= 48
    assert os.stat(data_dir / "secret.key").st_mode & 0o777 == 0o600
