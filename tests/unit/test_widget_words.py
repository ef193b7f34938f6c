"""The widget's words in every language of the setting, and the model names its badge shows."""

from __future__ import annotations

import re

import pytest

from domain.app_settings import LANGUAGES
from web.widget_config import model_label
from web.widget_strings import EN, KEYS, STRINGS, strings_for


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_word_with_its_placeholders(language: str) -> None:
    words = strings_for(language)
    assert language in STRINGS and set(words) == set(KEYS) == set(EN)
    for key, english in EN.items():
        assert words[key].strip(), (language, key)
        assert set(re.findall(r"\{\w+\}", words[key])) == set(re.findall(r"\{\w+\}", english)), (language, key)


@pytest.mark.parametrize(
    ("model", "label"),
    [
        ("claude-sonnet-4-6", "Claude Sonnet 4.6"),
        ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"),
        ("claude-haiku-4-5", "Claude Haiku 4.5"),
        ("gpt-4o-mini", "GPT-4o mini"),
        ("gpt-4.1", "GPT-4.1"),
    ],
)
def test_the_badge_names_models_as_people_write_them(model: str, label: str) -> None:
    assert model_label(model) == label
