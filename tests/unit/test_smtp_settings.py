"""The SMTP settings: read from CHATASSIST_SMTP_*, the password never shown, a bad configuration stopped at start."""

from __future__ import annotations

import pytest

from chatassist.bootstrap import smtp_settings
from chatassist.settings import load_settings


def test_the_smtp_settings_are_read_and_the_password_masked() -> None:
    settings = load_settings(
        {
            "CHATASSIST_SMTP_HOST": "smtp.example.com",
            "CHATASSIST_SMTP_PORT": "465",
            "CHATASSIST_SMTP_SECURITY": "SSL",
            "CHATASSIST_SMTP_USERNAME": "apikey",
            "CHATASSIST_SMTP_PASSWORD": "very-secret-smtp-password",
            "CHATASSIST_SMTP_FROM": "ChatAssist <no-reply@example.com>",
        }
    )
    smtp = smtp_settings(settings)
    assert (smtp.host, smtp.port, smtp.security, smtp.username) == ("smtp.example.com", 465, "ssl", "apikey")
    assert smtp.sender == "ChatAssist <no-reply@example.com>" and smtp.password == "very-secret-smtp-password"
    assert settings.masked()["smtp_password"] == "****" and "very-secret" not in str(settings.masked())


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"CHATASSIST_SMTP_HOST": "smtp.example.com"}, "CHATASSIST_SMTP_FROM"),
        ({"CHATASSIST_SMTP_HOST": "smtp.example.com", "CHATASSIST_SMTP_FROM": "nobody"}, "CHATASSIST_SMTP_FROM"),
        (
            {"CHATASSIST_SMTP_HOST": "h", "CHATASSIST_SMTP_FROM": "a@b.c", "CHATASSIST_SMTP_SECURITY": "tls1.0"},
            "CHATASSIST_SMTP_SECURITY",
        ),
    ],
)
def test_a_bad_smtp_configuration_stops_with_a_sentence(env: dict[str, str], says: str) -> None:
    with pytest.raises(SystemExit, match=says):
        smtp_settings(load_settings(env))
