"""Which language a visitor's question is written in (projections/knowledge/language.py, ADR 0067)."""

from __future__ import annotations

from projections.knowledge.language import guess_language
from projections.knowledge.view import language_config


def test_a_question_is_read_in_the_language_its_small_words_say() -> None:
    # Given questions as visitors write them: lower case, no accents, in each of five languages
    # When their language is guessed
    # I expect each one's language, Spanish and Portuguese told apart by the words they do not share
    assert guess_language("how do i get my money back") == "en"
    assert guess_language("no me llega el correo para cambiar la contraseña") == "es"
    assert guess_language("como paro de pagar todo mes, nao quero mais") == "pt"
    assert guess_language("vcs devolvem o valor do mes?") == "pt"
    assert guess_language("je ne reçois pas le mail pour changer mon mdp") == "fr"
    assert guess_language("wie kann ich mein Abo kündigen") == "de"


def test_no_guess_when_the_words_do_not_say() -> None:
    # Given questions too short, or whose words are shared by several languages
    # When their language is guessed
    # I expect no guess: the order then prefers no language
    assert guess_language("") is None
    assert guess_language("api") is None
    assert guess_language("exportar a json") is None
    assert language_config("csv") is None
    # and a guess names the language's text search configuration
    assert language_config("onde baixo a minha fatura") == "portuguese"
