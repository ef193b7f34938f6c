"""Which language a visitor's question is written in, when its words say so clearly (ADR 0067).

Retrieval parses a question in every language of the workspace (``view.SEARCH_SQL``), so a Portuguese question whose
words are also Spanish ("cancelar", "dados", "plano") can find the Spanish article when the Portuguese one exists.
This guess, from the short function words and spellings that tell the five languages of the built-in help centre
apart, lets the order prefer an article in the question's language among the chunks already found; it never
excludes one (a Spanish question on an article that exists only in English still finds it). No guess (``None``)
when the question is too short or two languages score alike.
"""

from __future__ import annotations

import re
import unicodedata

# Words (lower case, with and without accents) that are common in questions of one language and rare in the others'.
# Words two languages share ("como", "que", "no", "para", "a", "de") are left out: they tell nothing.
MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the my our your i we you is are how what where when why can cant can't does dont don't did i'm"
        " it its it's to of and or for with not have has get got this that there from would should"
        " us any all which who been be".split()
    ),
    "es": frozenset(
        "el los las mi mis tus del y una unos unas está estoy puedo quiero tengo necesito hay donde dónde cómo"
        " qué cuando cuándo porque ya pero muy más ningun ningún ninguna tambien también lo al hago hacer sé"
        " cual cuál cuanto cuánto mucho poco usted ustedes fue estar llega llego sale sirve ahora todavia"
        " todavía con".split()
    ),
    "pt": frozenset(
        "o os um uma meu minha meus minhas seu sua seus suas do da dos das na nas em eu voce você vc vcs nao não"
        " pra pro ta tá tenho preciso posso quero consigo onde isso esse essa aqui já ainda agora muito tambem"
        " ter fazer faço sei qual quanto quando e ao aos chega chegou com".split()
    ),
    "fr": frozenset(
        "des du mon ma notre votre vos je il nous vous est ce ça ca cette et où comment pourquoi quand quel"
        " quelle pas plus ne pour avec dans sur sans deja déjà encore peux veux dois faut avoir etre être suis"
        " ai les".split()
    ),
    "de": frozenset(
        "der die das den dem des ein eine einen einem mein meine meinen unser unsere ich du wir sie er ist"
        " sind bin hab habe hat haben kann konnen können muss wie wo warum wann nicht kein keine und"
        " oder mit bei von zu für fur auf aus beim vom zum zur noch schon mehr gibt gibts geht komm komme"
        " kommt mich mir dich dir uns euch ihr als alle bitte nur auch jetzt".split()
    ),
}
# Spellings one language has and the others do not (on the question lower-cased, accents kept)
SPELLINGS: dict[str, re.Pattern[str]] = {
    "es": re.compile(r"ñ|¿|¡|ción\b|cion\b|ciones\b|\bll"),
    "pt": re.compile(r"ção|ções|ão\b|ões\b|ã|õ|\bvcs?\b|lh[aeiou]|nh[aeiou]|cao\b|coes\b"),
    "fr": re.compile(r"[èùîûœ]|ée|\b[jldmnstc]'|eau|aux\b"),
    "de": re.compile(r"[äöüß]|sch|\w{3,}ung\b|ei[nt]\b|\bge\w{3,}t\b|ieren\b|\bein\w{3,}"),
}
# Languages whose words cross: a question in one of them often shares spellings with an article in another (Spanish
# and Portuguese "cancelar", "dados"/"datos"), so an article in a close language is a worse guess than one in a distant
# language the question matched through its concept or through words such as "api" or "csv"
ROMANCE = ("es", "pt", "fr", "it", "ca", "ro")
GERMANIC = ("de", "nl", "da", "sv", "no")
CLOSE: dict[str, tuple[str, ...]] = {
    code: tuple(other for other in group if other != code) for group in (ROMANCE, GERMANIC) for code in group
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
LEAD = 1.0  # the best language must score at least this much more than the next one


def _plain(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))


def guess_language(question: str) -> str | None:
    """The language code (en, es, pt, fr, de) the question is clearly written in, or None."""
    text = question[:2000].lower().replace("\u2019", "'")
    words = _WORD.findall(text)
    scores = dict.fromkeys(MARKERS, 0.0)
    for word in words:
        forms = {word, _plain(word), *word.split("'")}
        for language, markers in MARKERS.items():
            if forms & markers:
                scores[language] += 1.0
    for language, pattern in SPELLINGS.items():
        scores[language] += 0.75 * min(2, len(pattern.findall(text)))
    best, second = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:2]
    if best[1] < 1.0 or best[1] - second[1] < LEAD:
        return None
    return best[0]
