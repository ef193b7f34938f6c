"""The topic of a conversation: what it is about, in any of the five languages.

Two votes: the classifier trained on the corpus (character n-grams, so typos and languages carry), and precise
multilingual keywords matched on whole words (never inside a longer word). A workspace's own topics keep working:
their configured keywords (beyond the shipped defaults) vote too, and a topic the model does not know is decided
by its keywords alone.
"""

from __future__ import annotations

import re
from functools import lru_cache

from domain.decisions import intent, patterns
from domain.decisions.legal import is_p1, legal_signals
from domain.decisions.model import topic_model

OTHER, LEGAL, REFUNDS = "Other", "Legal & Compliance", "Refunds & Cancellation"
CLASSIFIER_ALONE = 0.6  # with no keyword, the classifier's topic needs this probability, else Other (dev split)
_KEYWORDS: dict[str, str] = {
    "Legal & Compliance": r"gdpr|rgpd|dsgvo|lgpd|ccpa|hipaa|dpa|soc ?2|iso ?27001|compliance|compliant|subprocessors?"
    r"|data residency|retention|personal data|my data|mes donnees|meus dados|mis datos|meine daten|privacy"
    r"|terms of service|subpoena|cumplimiento|conformidade|conformes?|datenschutz\w*|auftragsverarbeitung\w*|avv"
    r"|av-vertrag|encargado|sous-traitance|cgv|agb|termos de uso|terminos de servicio|baa|contractual clauses"
    r"|law enforcement|cookies|consent|consentimiento|consentement|einwilligung|consentimento|erasure|deletion"
    r"|supprimer mes donnees|borren|exclusao dos meus dados|loschung|effacement|phone number|numero de telefono"
    r"|conservez|speichern sie|guardan|keep (?:chat|the chat|data|transcripts)|encrypted|security questionnaire"
    r"|governing law|governs your terms|dpo|datenschutzbeauftragte\w*"
    r"|(?:dados|datos|donnees|daten|data)\b.{0,30}\b(?:armazenad\w*|almacen\w*|heberge\w*|gespeichert|stored|hosted"
    r"|guardad\w*|ubicad\w*|localis\w*)|(?:armazen\w*|almacen\w*|heberge\w*|gespeichert|stor\w*|host\w*|guard\w*)"
    r" .{0,20}(?:dados|datos|donnees|daten|data)",
    "Refunds & Cancellation": r"refund\w*|refnd|reimburs\w*|money back|cancel\w*|reembols\w*|devolucion|devolucao"
    r"|devuelvan\w*|devuelvame\w*|me devuelven|devolvam|rembours\w*|resili\w*|erstatt\w*|kundig\w*|ruckzahlung"
    r"|estorno|darme de baja|de volta|de vuelta|downgrade|geld zuruck|mon argent|meu dinheiro|mi dinero"
    r"|rimbors\w*|disdett\w*|disdir\w*|terugbetal\w*"
    r"|opzeggen|geld terug"
    # the right to return or withdraw, as each language names it (German compounds included)
    r"|ruckgabe\w*|widerruf\w*|cooling[- ]off|right of withdrawal|desistimiento|retractation|arrependimento"
    r"|my money",
    "Passwords & Auth": r"password\w*|passwort\w*|contrasena|mot de passe|senha|log ?in|login|logged out|sign in"
    r"|2fa|two-factor|zwei-faktor\w*|double authentification|mfa|two factor|2 factor"
    r"|autenticacao|autenticacion|authentification|authentifizierung|dois fatores|dos factores|deux facteurs"
    r"|zwei faktoren|dos pasos|duas etapas|locked out|bloquead[ao]|bloque"
    r"|gesperrt|sso|saml|authenticator|credentials|credenciales|identifiants|zugangsdaten|credenciais"
    r"|iniciar sesion|me connecter|connexion|anmeldung|anmelden|entrar|session|sesion|sessao|sitzung|acceso"
    r"|acces|zugang|acesso|verification|verificacion|verificacao|reset link|account is locked"
    r"|log(?:ging)? (?:in|into|on)|sign(?:ing)? (?:in|into)|einlogg\w*|nicht (?:in|auf) (?:mein|das|unser) konto"
    r"|acess\w* (?:a |minha |a minha |nossa )?conta|acced\w* a (?:mi |la |mon |ma )?(?:cuenta|compte)"
    r"|cuenta bloqueada|compte bloque|konto gesperrt|conta bloqueada|magic link|one-time code|codigo de acceso"
    r"|wachtwoord|inloggen|accedere|accesso|autenticazione|tweestapsverificatie"
    # single sign-on by name and its identity providers; logging in as Portuguese and Spanish verbs say it
    r"|single sign[- ]?on|okta|scim|azure ad|entra id|logar|logo na|loguear\w*|logear\w*|deslog\w*"
    r"|nicht mehr (?:in|auf|ins) (?:mein|das|unser)? ?konto|komme? nicht (?:mehr )?(?:rein|ins konto)",
    "Billing": r"fattur\w*|factu(?:ur|ren)|abbonamento|plans?|planes|plano|invoices?|factura\w*|facture\w*"
    r"|rechnung\w*|fatura\w*|notas? fisca(?:l|is)\w*"
    r"|billing|billed|bill|vat"
    r"|tva|ust-idnr|nif|cnpj|receipts?|pricing|price|prices|preise|precio|prix|preco|cuesta|coute|kostet|custa"
    r"|seats?|asientos|licencas|licences|lizenzen|card (?:on file|declined|got declined|expires)|declined"
    r"|rechazada|refusee|abgelehnt|recusado|bank transfer|transferencia|virement|uberweisung|boleto|pix"
    r"|charge on my statement|statement|extracto|releve|kontoauszug|extrato|prepay|prepayer|vorauszahlen"
    r"|adelantado|adiantado|discount|descuento|remise|rabatt|desconto|yearly billing|annual fee|payments?|pagos?"
    r"|paiements?|zahlung\w*|pagamentos?|pay|pagar|payer|zahlen|accounts|buchhaltung|facturacion|comptabilite"
    r"|financeiro|upgrade|tarif\w*|plano pro|plan pro|pro plan|pro-tarif|currencies|monedas|devises|wahrungen"
    r"|moedas|en euros|in eur|em euros|charged|cobro|cobranca|cargo|prelevement|abbuchung|debit|charge"
    r"|purchase orders?|po number|payment method|metodo de pago|moyen de paiement|zahlungs(?:methode|art)"
    # being charged, as Spanish and Portuguese verbs say it
    r"|cobra(?:ron|ste|n|do|da|r|mos|ram)|cobrou"
    r"|forma de pagamento|subscription price|precio de la suscripcion",
    "API & Integrations": r"api|apis|webhooks?|sdk|endpoint|token|zapier|slack|hubspot|rest|graphql"
    r"|integrat\w*|integracion|integracao|integr(?:ar|ate|arlo|ala|alo|amos|ieren|iert|ierung)|shopify"
    r"|woocommerce|magento|bigcommerce|javascript|python|node|react|401|429|500|timeout|api key|cle api"
    r"|api-schlussel|rate limit|sync|connectors?|connecteurs?|konnektor\w*|conector\w*|schnittstelle\w*"
    r"|crm|salesforce|pipedrive|whatsapp|n8n|make\.com|json|404|403|502|503|500er|oauth app"
    r"|sincroniz\w*|synchronis\w*|synchronisier\w*",
    "Onboarding": r"get(?:ting)? started|signed up|sign up|import\w*|set ?up|setup|onboard\w*|invite|invit\w*"
    r"|convid\w*|einlad\w*|first (?:time|day)|primera vez|premiere utilisation|erstes mal|primeira vez"
    r"|registr\w*|inscri\w*|cadastr\w*|snippet|trial|prueba|essai|testphase|teste|checklist|knowledge base"
    r"|configuration|configuracion|einrichtung\w*|einrichten|configur\w*|walk (?:me|us) through"
    r"|add (?:a |our |human |more )?(?:\w+ )?(?:agents?|workspace|members?|users?)|how do i (?:start|add)\b"
    r"|por donde empiezo|aangemeld|hoe begin ik|uitnodig\w*|nodig .{0,20} uit|registrato|da dove comincio"
    r"|einladen|lad(?:e|en|t) .{0,60}\bein|richten .{0,20} ein|migrat\w*|wordpress|widget to"
    r"|par ou commencer|wie fange ich an|por onde comeco"
    r"|install\w*|instal\w*|embed\w*|einbind\w*|binde\w* .{0,40} ein"
    r"|do first|first steps|einbau\w*|code snippet|script tag|richte\w* .{0,30} ein"
    r"|empiezo|empezar|comenzar|commencer|anfangen|comecar|comeco|primeros pasos|premiers pas|erste schritte"
    r"|primeiros passos"
    # an account just opened, the chat put on one's site
    r"|(?:acabo|acabei|acabamos) de (?:criar|crear|abrir|registr\w*)|je viens de (?:creer|m'inscrire|ouvrir)"
    r"|just (?:created|opened|made) (?:an|my|our) account|gerade (?:registriert|angemeldet|erstellt)"
    r"|(?:coloc\w*|pon\w*|put\w*|mett\w*|met|instal\w*) (?:o|el|le|the|our|mon|meu|mi|nuestro|nosso)"
    r" (?:chat|widget|bot) (?:no|na|en|sur|on|in|auf|em)",
}
_COMPILED = {name: re.compile(rf"\b(?:{words})\b") for name, words in _KEYWORDS.items()}
# One's own buyers' payment disputes, asked about ("can our shop handle chargebacks from our own buyers?"): the
# subject is payments, so Billing (docs/escalation.md, "Topics"); API & Integrations when the question is about an
# integration mechanism ("a webhook when one of our customers opens a chargeback").
_OWN_DISPUTES = re.compile(patterns.OWN_DISPUTES)
_MECHANISM = re.compile(r"\b(?:api|apis|webhooks?|sdk|endpoint|integrat\w*|integr(?:ar|er|ieren)|connectors?)\b")


@lru_cache(maxsize=256)
def _own_keywords(keywords: tuple[str, ...], shipped: tuple[str, ...]) -> tuple[str, ...]:
    """A topic's keywords beyond the shipped ones, sorted (computed once per topic list, not per turn: ADR 0064)."""
    known = set(shipped)
    return tuple(sorted(k for k in keywords if k not in known))


@lru_cache(maxsize=256)
def _workspace_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    words = [re.escape(k.strip()) for k in keywords if k.strip()]
    return re.compile(rf"(?<!\w)(?:{'|'.join(words)})(?!\w)") if words else None


def classify(
    text: str,
    topics: list[tuple[str, tuple[str, ...]]],
    shipped: dict[str, tuple[str, ...]],
    p1: bool | None = None,
) -> tuple[str, float, str]:
    """(topic, score, how) of a normalised conversation text, among the workspace's topic names and Other.

    A P1 conversation (``p1``, else read here with the default rules) is a legal matter: Legal & Compliance. A
    refund asked for is Refunds & Cancellation. Otherwise the keywords name the candidates: one topic named
    wins; several are settled by the classifier; with none, the classifier's choice when it is confident
    enough, else Other. ``shipped``: the default keyword lists, which do not vote (the multilingual table above
    replaces them); a workspace's own keywords do.
    """
    names = [name for name, _ in topics]
    if LEGAL in names and (p1 if p1 is not None else is_p1([text])):
        return LEGAL, 1.0, "a legal matter (P1)"
    if REFUNDS in names and intent.asks_refund(text):
        return REFUNDS, 1.0, "a refund asked for"
    probs = topic_model().scores(text)
    text = intent.plain(text)
    if _OWN_DISPUTES.search(text):
        own = "API & Integrations" if _MECHANISM.search(text) else "Billing"
        if own in names:
            return own, 1.0, "one's own buyers' payment disputes"
    hits: list[str] = []
    for name, keywords in topics:
        pattern = _workspace_pattern(_own_keywords(tuple(keywords), tuple(shipped.get(name, ()))))
        if (pattern is not None and pattern.search(text)) or (name in _COMPILED and _COMPILED[name].search(text)):
            hits.append(name)
    if len(hits) == 1:
        return hits[0], 1.0, "keywords"
    if hits:
        best = max(hits, key=lambda n: (probs.get(n, 0.0), -hits.index(n)))
        return best, round(probs.get(best, 0.0), 3), "keywords and classifier"
    # legal words set aside as a mention (negated, someone else's threat, a question about the product) and no
    # compliance keyword: they are the talk, not the subject ("a customer threatens to sue us: can your bot...?")
    best = max([*names, OTHER], key=lambda n: probs.get(n, 0.0))
    if best == LEGAL and legal_signals([text])[1]:
        best = max([n for n in [*names, OTHER] if n != LEGAL], key=lambda n: probs.get(n, 0.0))
    if probs.get(best, 0.0) < CLASSIFIER_ALONE:
        return OTHER, round(probs.get(OTHER, 0.0), 3), "classifier unsure"
    return best, round(probs[best], 3), "classifier"
