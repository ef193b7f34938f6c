"""App settings and the settings command's validation: every bad value is refused with a code and a sentence."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from commands.change_app_settings.cmd import split
from domain.app_settings import AppSettings, AppSettingsValues, default_hours
from domain.errors import InvalidInput

BY = uuid.uuid4()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"widget_language": "xx"}, "invalid_language"),
        ({"widget_theme_colour": "blue"}, "invalid_colour"),
        ({"widget_theme_colour": "#12345"}, "invalid_colour"),
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
        ({"time_zone": "../etc/passwd"}, "invalid_time_zone"),
        ({"time_zone": 5}, "invalid_time_zone"),
        ({"analytics_retention_days": 29}, "out_of_range"),
        ({"analytics_retention_days": 3651}, "out_of_range"),
        ({"analytics_retention_days": True}, "out_of_range"),
        ({"analytics_retention_days": "90"}, "out_of_range"),
        ({"show_ai_badge": "yes"}, "invalid_input"),
        ({"after_hours_message": "x" * 1001}, "text_too_long"),
        ({"after_hours_auto_response": True, "after_hours_message": "  "}, "invalid_input"),
        ({"business_hours": {"mon": ["09:00", "17:00"]}}, "invalid_business_hours"),
        ({"business_hours": {**default_hours(), "mon": ["09:00", "09:00"]}}, "invalid_business_hours"),
        ({"business_hours": {**default_hours(), "tue": ["9:00", "17:00"]}}, "invalid_business_hours"),
        ({"business_hours": {**default_hours(), "wed": ["09:00", "24:00"]}}, "invalid_business_hours"),
        ({"business_hours": {**default_hours(), "thu": "09:00-17:00"}}, "invalid_business_hours"),
        ({"holidays": "2026-12-25"}, "invalid_holidays"),
        ({"holidays": ["2026-12-25", "2026-12-25"]}, "invalid_holidays"),
        ({"holidays": ["2026-02-30"]}, "invalid_holidays"),
        ({"holidays": ["25/12/2026"]}, "invalid_holidays"),
        ({"holidays": [20261225]}, "invalid_holidays"),
        ({"holidays": [f"2026-01-{d:02d}" for d in range(1, 32)] * 4}, "invalid_holidays"),
        ({"colour": "#ffffff"}, "unknown_setting"),
        ({"quick_replies": "Reset my password"}, "invalid_quick_replies"),
        ({"quick_replies": ["a", "b", "c", "d", "e", "f", "g"]}, "invalid_quick_replies"),
        ({"quick_replies": ["  "]}, "invalid_quick_replies"),
        ({"quick_replies": ["x" * 81]}, "invalid_quick_replies"),
        ({"quick_replies": ["Reset", "reset "]}, "invalid_quick_replies"),
        ({"quick_replies": [3]}, "invalid_quick_replies"),
    ],
)
def test_bad_app_settings_are_refused_with_a_code_and_a_sentence(changes: dict[str, Any], code: str) -> None:
    settings = AppSettings(uuid.uuid4())
    with pytest.raises(InvalidInput) as err:
        settings.change(changes, BY)
    assert err.value.code == code and err.value.message.endswith(".")
    assert settings.data == {}


def test_defaults_apply_until_changed_and_only_differences_are_recorded() -> None:
    settings = AppSettings(uuid.uuid4())
    assert settings.values == AppSettingsValues()
    assert settings.change({"widget_language": "en", "time_zone": "Europe/Paris"}, BY) == {"time_zone": "Europe/Paris"}
    assert settings.values.time_zone == "Europe/Paris" and settings.values.widget_language == "en"
    assert settings.change({"time_zone": "Europe/Paris"}, BY) == {}
    events = settings.collect_events()
    assert [type(e).__name__ for e in events] == ["Created", "Changed"]
    assert events[1].by == BY  # type: ignore[attr-defined]


def test_valid_values_at_the_edges_are_accepted() -> None:
    hours = {**default_hours(), "sat": ["10:00", "14:30"], "mon": ["00:00", "23:59"]}
    values = AppSettingsValues().with_changes(
        {"analytics_retention_days": 30, "business_hours": hours, "after_hours_message": "y" * 1000}
    )
    assert values.business_hours["sat"] == ["10:00", "14:30"]
    # a closing time before the opening time runs past midnight (domain/business_hours.py)
    overnight = {**default_hours(), "fri": ["22:00", "06:00"], "sat": ["18:00", "00:00"]}
    values = AppSettingsValues().with_changes({"business_hours": overnight, "holidays": ["2026-12-25", "2027-01-01"]})
    assert values.business_hours["fri"] == ["22:00", "06:00"] and values.holidays == ["2026-12-25", "2027-01-01"]
    assert AppSettingsValues().with_changes({"analytics_retention_days": 3650}).analytics_retention_days == 3650


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"primary_model": "llama-3"}, "unknown_model"),
        ({"fallback_model": 7}, "unknown_model"),
        ({"budget_model": ""}, "unknown_model"),
        ({"system_prompt": "hi"}, "unknown_setting"),  # the prompt has its own permission and endpoint
        ({"storage_used_bytes": 1}, "unknown_setting"),
    ],
)
def test_the_settings_command_refuses_unknown_models_and_names(changes: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        split(changes)
    assert err.value.code == code


def test_the_settings_command_splits_app_and_chat_settings() -> None:
    app, chat = split({"widget_language": "fr", "primary_model": "claude-haiku-4-5", "max_history_turns": 4})
    assert app == {"widget_language": "fr"} and chat == {"primary_model": "claude-haiku-4-5", "max_history_turns": 4}


def test_quick_replies_are_trimmed_and_an_empty_list_turns_the_chips_off() -> None:
    settings = AppSettings(uuid.uuid4())
    assert settings.values.quick_replies[0] == "How do I connect my API?"
    assert settings.change({"quick_replies": [" Track my order ", "Talk to a person"]}, BY) == {
        "quick_replies": ["Track my order", "Talk to a person"]
    }
    assert settings.change({"quick_replies": []}, BY) == {"quick_replies": []}
    assert settings.values.quick_replies == []
