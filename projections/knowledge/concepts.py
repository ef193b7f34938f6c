"""A support-domain concept lexicon: the words visitors use for the concepts every SaaS help centre covers, in English,
Spanish, French, German and Portuguese (ADR 0060, docs/knowledge.md, "Retrieval").

Each concept has *triggers* (the visitor's words and phrases, written without accents, lower case; a trailing ``*``
matches any word starting so) and *terms* (the words help articles use for it, in the five languages). A question
that contains a trigger of a concept is searched also for that concept's terms, at a lower weight than its own
words (``view.SEARCH_SQL``): "how do i quit" finds the article about cancelling a subscription, "is the app down"
the one about the service status. The lexicon is keyed to concepts, never to articles: a workspace's own articles
are found through the words they use.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Concept:
    name: str
    triggers: tuple[str, ...]
    terms: str


def _c(name: str, triggers: str, terms: str) -> Concept:
    return Concept(name, tuple(t.strip() for t in triggers.split(",") if t.strip()), terms)


CONCEPTS: tuple[Concept, ...] = (
    _c(
        "cancel",
        "quit, quitting, unsubscrib*, cancel*, terminat*, close account, close my account, close our account,"
        " close the account, delete my account, delete our account, stop paying, stop being charged, stop billing,"
        " end my subscription, end our subscription, dar de baja, darme de baja, darse de baja, anular*, cancelar*,"
        " resili*, desabonn*, desinscri*, ne plus payer, arreter mon abonnement, kundig*, kuendig*, konto beenden,"
        " abo beenden, abonnement beenden, konto loschen, konto loeschen, encerrar*, parar de pagar, desistir",
        "cancel unsubscribe subscription cancelar suscripcion resilier resiliation kundigen kundigung cancelamento"
        " assinatura",
    ),
    _c(
        "plan",
        "price*, pricing, cost, costs, cheap*, expensive, tier*, upgrad*, downgrad*, pay less, pay more, package*,"
        " bigger plan, smaller plan, precio*, barat*, caro, cuesta, cuestan, tarif*, prix, moins cher*, plus cher*,"
        " offre, formule*, preis*, gunstig*, guenstig*, billig*, teuer*, preco*, custa, mais caro",
        "plan plans upgrade downgrade pricing precio mejorar tarif formule abonnement preis tarif plano precos",
    ),
    _c(
        "invoice",
        "invoic*, receipt*, bill, bills, billing, tax id, vat, factur*, recibo*, comprobante*, nota fiscal, fatura*,"
        " rechnung*, beleg*, quittung*, recu, recus, justificatif*",
        "invoice invoices receipt receipts billing factura facturas recibo recibos facture factures recu facturation"
        " rechnung rechnungen beleg belege fatura faturas cobranca",
    ),
    _c(
        "refund",
        "refund*, money back, my money, reimburs*, dinero, devolver*, devolucion*, reembols*, rembours*, argent,"
        " geld zuruck, geld zurueck, mein geld, erstatt*, ruckerstatt*, rueckerstatt*, dinheiro, estorno*",
        "refund refunds refunded reembolso reembolsos remboursement rembourse erstattung ruckerstattung erstattet"
        " reembolsado",
    ),
    _c(
        "password",
        "password*, pasword*, passwd, log in, cant log, cannot log, sign in, signin, cant get in, get into my account,"
        " locked out, forgot, contrasena*, clave, olvide, iniciar sesion, no puedo entrar, mot de passe, mdp,"
        " me connecter, plus me connecter, kennwort*, passwort*, einloggen, anmelden, komme nicht mehr rein, senha*,"
        " palavra-passe, palavra passe, esqueci, nao consigo entrar",
        "password reset forgot contrasena restablecer olvidaste mot passe reinitialiser oublie passwort zurucksetzen"
        " vergessen senha redefinir esqueci",
    ),
    _c(
        "two-factor",
        "2fa, mfa, two step, two-step, second step, second factor, authenticator*, 6 digit, six digit, one-time code,"
        " phone, telephone, movil, celular, handy, telefone, dos pasos, deux etapes, zwei faktor, dois fatores,"
        " autenticador*, authentificat*",
        "two-factor authentication authenticator backup codes dos pasos autenticacion deux facteurs authentification"
        " zwei-faktor-authentifizierung dois fatores autenticacao",
    ),
    _c(
        "webhook",
        "webhook*, callback*, notify*, notification*, my server, our server, post request, http request, ping our,"
        " endpoint*, notificar*, notifier, benachrichtig*, notificacao*",
        "webhook webhooks endpoint delivery deliveries signed signature",
    ),
    _c(
        "api-key",
        "token*, api key*, apikey, secret key, access key, rest api, the api, our api, clave de api, cle api,"
        " cle dapi, api-schlussel, api schlussel, chave de api, chave da api",
        "api key keys token",
    ),
    _c(
        "export",
        "export*, download*, copy of, copia de, descarg*, telecharg*, sauvegard*, herunterlad*, sicherung*, baixar,"
        " copia de seguranca, take my data, get my data out",
        "export exports download exportar exportacion exporter telecharger exportieren export herunterladen exportacao",
    ),
    _c(
        "import",
        "import*, bring my, bring our, move my data, move our data, migrat*, upload*, spreadsheet*, csv,"
        " from another tool, importar*, importer, importieren, carregar, subir",
        "import importer upload csv importar importieren",
    ),
    _c(
        "status",
        "outage*, is down, app down, site down, are you down, went down, is it down, down right now, not working,"
        " doesnt work, does not work, nothing loads, not loading, wont load, having problems, having issues,"
        " broken, incident*, caida*, caido, no funciona, no carga, panne*, ne marche pas, ne fonctionne pas,"
        " ne charge pas, storung*, stoerung*, gestort, gestoert, geht nicht, funktioniert nicht, fora do ar,"
        " nao funciona, nao carrega, instabilidade, ausfall*",
        "status outage outages incident incidents broken",
    ),
    _c(
        "team",
        "invit*, teammate*, colleague*, coworker*, co-worker*, add a user, add users, add someone, seat*,"
        " new member*, team member*, companero*, equipo, colleg*, equipe, kolleg*, mitarbeiter*, colega*, convid*,"
        " convidar",
        "invite teammates team invitation role invitar equipo inviter equipe einladen team convidar equipe",
    ),
)

_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def normalize(text: str) -> str:
    """Lower case, accents removed, words separated by single spaces."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(plain.replace("\u2019", "").replace("'", "")))  # "can't": "cant"


def _matches(trigger: str, words: list[str], padded: str) -> bool:
    if " " in trigger:
        return f" {trigger} " in padded
    if trigger.endswith("*"):
        stem = trigger[:-1]
        return any(w.startswith(stem) for w in words)
    return trigger in words


def expansions(question: str) -> list[str]:
    """The terms of each concept the question names (one string per concept, in lexicon order)."""
    text = normalize(question[:2000])
    words = text.split()
    padded = f" {text} "
    return [c.terms for c in CONCEPTS if any(_matches(t, words, padded) for t in c.triggers)]
