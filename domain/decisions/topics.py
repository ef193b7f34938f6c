"""The topic of a conversation: what it is about, in any of the five languages.

Two votes: the classifier trained on the corpus (character n-grams, so typos and languages carry), and precise
multilingual keywords matched on whole words (never inside a longer word). A workspace's own topics keep working:
their configured keywords (beyond the shipped defaults) vote too, and a topic the model does not know is decided
by its keywords alone.
"""

from __future__ import annotations

import re
from functools import lru_cache

from domain.decisions.model import topic_model

OTHER = "Other"
KEYWORD_WEIGHT = 0.35
_KEYWORDS: dict[str, str] = {
    "Legal & Compliance": r"gdpr|rgpd|dsgvo|lgpd|ccpa|hipaa|dpa|soc ?2|iso ?27001|compliance|compliant|subprocessors?"
    r"|data residency|retention|personal data|my data|mes donnees|meus dados|mis datos|meine daten|privacy policy"
    r"|terms of service|subpoena|cumplimiento|conformidade|conformes?|datenschutz\w*|auftragsverarbeitung"
    r"|av-vertrag|encargado|sous-traitance|cgv|agb|termos de uso|terminos de servicio|baa|contractual clauses"
    r"|law enforcement|cookies|consent|erasure|supprimer mes donnees|borren|exclusao dos meus dados|loschung",
    "Refunds & Cancellation": r"refund\w*|refnd|reimburs\w*|money back|cancel\w*|reembols\w*|devolu\w*|devuelv\w*"
    r"|rembours\w*|resili\w*|erstatt\w*|kundig\w*|ruckzahlung|estorno|cancelar|darme de baja|de volta"
    r"|downgrade",
    "Passwords & Auth": r"password|passwort|contrasena|mot de passe|senha|log ?in|login|logged out|sign in|2fa"
    r"|two-factor|zwei-faktor|double authentification|dos pasos|duas etapas|locked out|bloquead[ao]|bloque"
    r"|gesperrt|sso|saml|authenticator|credentials|credenciales|identifiants|zugangsdaten|credenciais"
    r"|iniciar sesion|me connecter|anmeldung|entrar|session|sesion|sessao|sitzung|verification",
    "Billing": r"invoices?|factura\w*|facture\w*|rechnung\w*|fatura\w*|notas? fiscal\w*|billing|billed|bill|vat"
    r"|tva|ust-idnr|nif|cnpj|receipts?|pricing|price|cuesta|coute|kostet|custa|seats?|asientos|licencas"
    r"|card (?:on file|declined|got declined)|tarjeta fue rechazada|carte a ete refusee|karte wurde|cartao foi"
    r"|bank transfer|transferencia|virement|uberweisung|boleto|pix|charge on my statement|extracto|releve"
    r"|kontoauszug|extrato|prepay|discount|yearly billing|annual fee",
    "API & Integrations": r"api|webhooks?|sdk|endpoint|token|zapier|slack|hubspot|rest|graphql|integrat\w*"
    r"|javascript|python|node|401|429|500|timeout|api key|cle api|api-schlussel",
    "Onboarding": r"get(?:ting)? started|signed up|sign up|import\w*|set ?up|setup|onboard\w*|invite|invit\w*"
    r"|convid\w*|einlad\w*|first (?:time|day)|primera vez|premiere utilisation|erstes mal|primeira vez"
    r"|registr\w*|inscri\w*|cadastr\w*|snippet|trial|prueba|essai|testphase|teste|checklist|knowledge base"
    r"|configuration|configuracion|einrichtung\w*|configura\w*|walk (?:me|us) through",
}
_COMPILED = {name: re.compile(rf"\b(?:{words})\b") for name, words in _KEYWORDS.items()}


@lru_cache(maxsize=256)
def _workspace_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    words = [re.escape(k.strip()) for k in keywords if k.strip()]
    return re.compile(rf"(?<!\w)(?:{'|'.join(words)})(?!\w)") if words else None


def classify(
    text: str, topics: list[tuple[str, tuple[str, ...]]], shipped: dict[str, tuple[str, ...]]
) -> tuple[str, float, str]:
    """(topic, score, how) of a normalised conversation text, among the workspace's topic names and Other.
    ``shipped``: the default keyword lists, which do not vote (the multilingual table above replaces them)."""
    names = [name for name, _ in topics]
    model = topic_model()
    probs = model.scores(text)
    votes: dict[str, float] = {name: probs.get(name, 0.0) for name in [*names, OTHER]}
    for name, keywords in topics:
        own = tuple(k for k in keywords if k not in set(shipped.get(name, ())))
        pattern = _workspace_pattern(tuple(sorted(own)))
        if pattern is not None and pattern.search(text):
            if name not in model.classes:
                return name, 1.0, "workspace keywords"
            votes[name] += KEYWORD_WEIGHT
        if name in _COMPILED and _COMPILED[name].search(text):
            votes[name] += KEYWORD_WEIGHT
    best = max(votes, key=lambda n: votes[n])
    return best, round(votes[best], 3), "classifier and keywords"
