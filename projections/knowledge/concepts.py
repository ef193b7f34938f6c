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
    overrides: tuple[str, ...] = ()  # broader concepts this one stands for when both are named ("log in with okta")


def _c(name: str, triggers: str, terms: str, overrides: tuple[str, ...] = ()) -> Concept:
    found = [t.strip() for t in triggers.split(",") if t.strip()]
    # French negation is mostly written without its "ne" ("je veux plus payer", "ca marche pas"): both forms match
    spoken = [t[3:] for t in found if t.startswith("ne ")]
    return Concept(name, tuple(dict.fromkeys(found + spoken)), terms, overrides)


CONCEPTS: tuple[Concept, ...] = (
    _c(
        "cancel",
        "quit, quitting, unsubscrib*, cancel*, terminat*, close account, close my account, close our account,"
        " close the account, delete my account, delete our account, stop paying, stop being charged, stop billing,"
        " end my subscription, end our subscription, dar de baja, darme de baja, darse de baja, anular*, cancelar*,"
        " resili*, desabonn*, desinscri*, ne plus payer, arreter mon abonnement, kundig*, kuendig*, konto beenden,"
        " abo beenden, abonnement beenden, konto loschen, konto loeschen, encerrar*, parar de pagar, desistir,"
        # session 10: each language's usual words, and French negation without its "ne" ("je veux plus payer")
        " stop using, stop the subscription, stop my subscription, not renew, auto renew*, auto-renew*,"
        " dejar de pagar, dejo de pagar, no pagar mas, cerrar mi cuenta, cerrar la cuenta,"
        " eliminar mi cuenta, borrar mi cuenta, no renovar, arreter de payer, arreter labonnement,"
        " arreter mon abo, annuler mon abonnement, annuler labonnement, fermer mon compte, supprimer mon compte,"
        " vertrag beenden, vertrag auflosen, vertrag aufloesen, nicht mehr zahlen, nicht mehr bezahlen,"
        " abo stoppen, konto schliessen, paro de pagar, deixar de pagar, deixo de pagar, nao quero mais pagar,"
        " fechar minha conta,"
        " excluir minha conta, apagar minha conta, desassin*,"
        # session 11 (ADR 0067): each concept described rather than named, in each language
        " dont want it anymore, no longer need it, get out of the contract, end the contract, leave the service,"
        " stop the service, ya no quiero, ya no lo quiero, terminar el contrato, dejar el servicio, baja del servicio,"
        " plus besoin, mettre fin, arreter le service, quitter le service, nicht mehr nutzen, will nicht mehr,"
        " aufhoren, aufhoeren, nao quero mais, sair do servico, encerrar o contrato",
        "cancel unsubscribe subscription cancelar suscripcion resilier resiliation kundigen kundigung cancelamento"
        " assinatura",
    ),
    _c(
        "plan",
        "price*, pricing, cost, costs, cheap*, expensive, tier*, upgrad*, downgrad*, pay less, pay more, package*,"
        " bigger plan, smaller plan, precio*, barat*, caro, cuesta, cuestan, tarif*, prix, moins cher*, plus cher*,"
        " offre, formule*, preis*, gunstig*, guenstig*, billig*, teuer*, preco*, custa, mais caro,"
        " paquete*, forfait*, paket*, pacote*,"
        " more seats, more users, more licenses, more licences, mas usuarios, mas licencias, subir de plan,"
        " cambiar de plan, plus dutilisateurs, plus de licences, changer doffre, changer de formule, mehr nutzer,"
        " mehr lizenzen, mehr platze, mehr plaetze, mais usuarios, mais licencas, mudar de plano, trocar de plano",
        "plan plans upgrade downgrade pricing precio mejorar tarif formule preis tarif plano precos",
    ),
    _c(
        "invoice",
        "invoic*, receipt*, bill, bills, billing, tax id, vat, factur*, recibo*, comprobante*, nota fiscal, fatura*,"
        " rechnung*, beleg*, quittung*, recu, recus, justificatif*,"
        " accountant*, proof of payment, tax number, billing address, iva, nif, cif, rfc, datos fiscales,"
        " direccion fiscal, contador, contable, tva, comptable*, siret, ust, ust-id, ustid, mwst, umsatzsteuer*,"
        " steuernummer*, abrechnung*, buchhalt*, comprovante*, cnpj, cpf, dados fiscais,"
        " company address, billing details, adresse de facturation, rechnungsadresse, firmenadresse,"
        " endereco de cobranca, direccion de facturacion, razon social, raison sociale, numero fiscal,"
        " numero de tva, numero de iva",
        "invoice invoices receipt receipts billing factura facturas recibo recibos facture factures recu facturation"
        " rechnung rechnungen beleg belege fatura faturas cobranca",
    ),
    _c(
        "refund",
        "refund*, money back, my money, reimburs*, dinero, devolver*, devolucion*, reembols*, rembours*, argent,"
        " geld zuruck, geld zurueck, mein geld, erstatt*, ruckerstatt*, rueckerstatt*, dinheiro, estorno*,"
        " the money, money returned, return the money, charged twice, double charged, overcharged, chargeback*,"
        " devuelv*, plata, reintegr*, cobro indebido, cobraron dos veces, rendre largent, preleve deux fois,"
        " zuruckbekomm*, zurueckbekomm*, zuruckzahl*, zurueckzahl*, gutschrift*, doppelt abgebucht,"
        " ruckbuchung*, rueckbuchung*, devolv*, devoluc*, ressarc*, cobrado duas vezes, cobranca indevida",
        "refund refunds refunded reembolso reembolsos remboursement rembourse erstattung ruckerstattung erstattet"
        " reembolsado",
    ),
    _c(
        "password",
        "password*, pasword*, passwd, log in, cant log, cannot log, sign in, signin, cant get in, get into my account,"
        " locked out, forgot, contrasena*, clave, olvide, iniciar sesion, no puedo entrar, mot de passe, mdp,"
        " me connecter, plus me connecter, kennwort*, passwort*, einloggen, anmelden, komme nicht mehr rein, senha*,"
        " palavra-passe, palavra passe, esqueci, nao consigo entrar,"
        " pw, pwd, credentials, login details, dont remember, cant remember, no me acuerdo, no recuerdo,"
        " me souviens plus, rappelle plus, weiss nicht mehr,"
        " no puedo acceder, no puedo ingresar, credenciales, identifiant*, plus acceder, jai oublie, zugangsdaten,"
        " vergessen, nicht mehr rein, nao lembro, nao me lembro, nao consigo acessar, nao consigo logar, credenciais",
        "password reset forgot contrasena restablecer olvidaste mot passe reinitialiser oublie passwort zurucksetzen"
        " vergessen senha redefinir esqueci",
    ),
    _c(
        "two-factor",
        "2fa, mfa, two step, two-step, second step, second factor, authenticator*, 6 digit, six digit, one-time code,"
        " phone, telephone, movil, celular, handy, telefone, dos pasos, deux etapes, zwei faktor, dois fatores,"
        " autenticador*, authentificat*,"
        " verification code, security code, sms code, doble factor, codigo de verificacion, portable, smartphone,"
        " double authentification, code de verification, code par sms, zwei-faktor, bestatigungscode*,"
        " bestaetigungscode*, sicherheitscode*, duas etapas, codigo de verificacao,"
        " 2 step, 2-step, 2 steps, 2 factor, 2-factor, qr, backup code*, recovery code*, app de codigos,"
        " app de los codigos, app dos codigos, codigos de respaldo, codes de secours, code de secours,"
        " backup-code*, wiederherstellungscode*, codigos de backup, codigo de backup, 2 pasos, 2 etapas,"
        " 2 etapes, new phone, lost my phone, nuevo telefono, perdi el telefono, nouveau telephone,"
        " neues handy, handy verloren, celular novo, perdi o celular, troquei de celular",
        "two-factor authentication authenticator backup codes dos pasos autenticacion deux facteurs authentification"
        " zwei-faktor-authentifizierung dois fatores autenticacao",
    ),
    _c(
        "webhook",
        "webhook*, callback*, notify*, notification*, my server, our server, post request, http request, ping our,"
        " endpoint*, notificar*, notifier, benachrichtig*, notificacao*,"
        " ping my, ping me, notifica*, avisen, avisar, avise, aviso, avisos, servidor, serveur, requete http,"
        " meu servidor, mein server, unser server, requisicao*,"
        " send events, push events, event notification*, retry*, retried, reintent*, reessa*, signatur*,"
        " assinatura do webhook, firma del webhook, signature du webhook",
        "webhook webhooks endpoint delivery deliveries signature",
    ),
    _c(
        "api-key",
        "token*, api key*, apikey, secret key, access key, rest api, the api, our api, clave de api, cle api,"
        " cle dapi, api-schlussel, api schlussel, chave de api, chave da api,"
        " api, rate limit*, too many requests, 429, llave*, cle, schlussel*, schluessel*, schnittstelle*, chave*,"
        " per second, calls per, requests per, por segundo, par seconde, pro sekunde, throttl*, script*,"
        " programmatic*",
        "api key keys token",
    ),
    _c(
        "export",
        "export*, download*, copy of, copia de, descarg*, telecharg*, sauvegard*, herunterlad*, sicherung*, baixar,"
        " copia de seguranca, take my data, get my data out,"
        " full copy, all my data, all our data, extraer*, sacar mis datos, sacar los datos,"
        " copie de, une copie, extraire*, recuperer mes donnees, recuperer nos donnees,"
        " runterlad*, kopie*, datensicherung*, alle daten, extrair*, tirar meus dados, tirar os dados, tirar todas,"
        " tirar tudo, todas as informacoes,"
        " dump, gdpr, rgpd, dsgvo, lgpd, everything we have, all of our data, toda la informacion,"
        " toda mi informacion, todos mis datos, todos los datos, saco toda, saco todos, sacar toda, sacar todos,"
        " toutes nos donnees, toutes mes donnees, alle unsere daten, alle meine daten, todos os dados,"
        " todos meus dados",
        "export exports download exportar exportacion exporter telecharger exportieren export herunterladen exportacao",
    ),
    _c(
        "import",
        "import*, bring my, bring our, move my data, move our data, migrat*, upload*, spreadsheet*, csv,"
        " from another tool, importar*, importer, importieren, carregar, subir,"
        " switching from, coming from, planilla*, hoja de calculo, migrar*, tableur*, feuille de calcul, migrer*,"
        " tabelle*, hochlad*, migrier*, planilha*,"
        " bring in, load our, load my, customer list, contact list, lista de clientes, liste de clients,"
        " kundenliste*, lista de contatos, excel, xlsx, cargar mis, cargar los, subir mis, subir los, charger",
        "import importer upload csv importar importieren",
    ),
    _c(
        "status",
        "outage*, is down, app down, site down, are you down, went down, is it down, down right now, not working,"
        " doesnt work, does not work, nothing loads, not loading, wont load, having problems, having issues,"
        " broken, incident*, caida*, caido, no funciona, no carga, panne*, ne marche pas, ne fonctionne pas,"
        " ne charge pas, storung*, stoerung*, gestort, gestoert, geht nicht, funktioniert nicht, fora do ar,"
        " nao funciona, nao carrega, instabilidade, ausfall*,"
        " se cayo, no anda, no abre, ne marche plus, ne fonctionne plus,"
        " plante, ladt nicht, laedt nicht, ladt nichts, laedt nichts, caiu, dando erro, deu erro,"
        " throwing errors, getting errors, errors everywhere, error 500, 500 error, just me, only me,"
        " everyone else, all down, everything down, alles down, down bei, esta down, ta down, est down,"
        " solo a mi, solo yo, seulement moi, nur bei mir, so comigo, so eu, lento, lenta, langsam, ca rame",
        "status outage outages incident incidents broken",
    ),
    _c(
        "team",
        "invit*, teammate*, colleague*, coworker*, co-worker*, add a user, add users, add someone, seat*,"
        " new member*, team member*, companero*, equipo, colleg*, equipe, kolleg*, mitarbeiter*, colega*, convid*,"
        " convidar,"
        " role*, rol, roles, permission*, permiso*, permissao, permissoes, berechtigung*, rolle*, viewer,"
        " view only, read only user, only look, solo lectura, lecture seule, nur lesen, somente leitura,"
        " agregar usuario*, anadir usuario*, agregar a alguien, anadir a alguien, sumar a alguien,"
        " ajouter un utilisateur, ajouter des utilisateurs, nutzer hinzufugen, nutzer hinzufuegen,"
        " benutzer hinzufugen, benutzer hinzufuegen, adicionar usuario*, adicionar um usuario, adicionar alguem",
        "invite teammates invitation role invitar companeros inviter collegues einladen teammitglieder convidar"
        " colegas",
    ),
    # session 10: concepts with no entry before, as common in SaaS help centres as the twelve
    _c(
        "sso",
        "sso, saml, okta, azure*, entra id, onelogin, single sign*, identity provider, idp, company account,"
        " work account, corporate account, microsoft account, google account, log in with google,"
        " log in with microsoft, sign in with google, sign in with microsoft, inicio de sesion unico,"
        " cuenta de la empresa, cuenta corporativa, connexion unique, authentification unique, compte entreprise,"
        " einmalanmeldung, firmenkonto, login unico, conta corporativa, conta da empresa",
        "single sso saml okta azure identity provider",
        overrides=("password",),
    ),
    # session 11: the mobile apps, as common as the calendar (a phone alone still names two-factor)
    _c(
        "mobile",
        "mobile app*, app for my phone, app for the phone, phone app, iphone*, ipad, android, ios, app store,"
        " play store, app fur, app fuer, app furs, app fuers, furs handy, fuers handy, handy app, app para el celular,"
        " app para el movil, app para celular, app para movil, aplicacion movil, aplicaciones moviles, app movil,"
        " application mobile, applications mobiles, appli mobile, app mobile, app sur mon telephone,"
        " aplicativo movel, aplicativos moveis, aplicativo para celular, app para celular, app no celular",
        "mobile apps ios android aplicaciones moviles applications mobiles aplicativos moveis",
    ),
    _c(
        "calendar",
        "calendar*, calendario*, calendrier*, kalender*, agenda*, outlook, ical, icalendar",
        "calendar google outlook",
    ),
    _c(
        "time-tracking",
        "timer*, timesheet*, time tracking, track time, track my time, time spent, hours worked, working hours,"
        " horas trabajadas, registrar horas, registro de horas, hoja de horas, cronometr*, chronometr*,"
        " temps passe, feuille de temps, feuilles de temps, heures travaillees, arbeitszeit*, zeiterfass*,"
        " stundenzettel*, stunden erfassen, horas trabalhadas, tempo gasto, registro de horas, folha de horas,"
        " log hours, log my hours, logged hours, hours logged, hours people, hours i worked, hours spent,"
        " hours on, registrar las horas, registro las horas, horas que trabajo, horas gastadas, horas dedicadas,"
        " saisir mes heures, saisir les heures, heures passees, stunden buchen, stunden eintragen, zeit buchen,"
        " zeit erfassen, marcar horas, marcar as horas, horas gastas, apontar horas, horas que trabalhei",
        "timer timesheets time tracking",
    ),
)

_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# An elided French article or pronoun ("l'argent", "j'ai", "qu'il") is a word of its own; an English contraction
# ("can't", "don't") is one word without its apostrophe
_ELISION = re.compile(r"\b(c|d|j|l|m|n|qu|s|t)['\u2019](?=[a-z])")


def normalize(text: str) -> str:
    """Lower case, accents removed, words separated by single spaces."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    plain = _ELISION.sub(r"\1 ", plain)
    return " ".join(_WORD.findall(plain.replace("\u2019", "").replace("'", "")))  # "can't": "cant"


def _matches(trigger: str, words: list[str], padded: str) -> bool:
    """Whether one trigger is in the question (the definition ``_PATTERNS`` compiles; kept for the unit test)."""
    if " " in trigger:
        return f" {trigger} " in padded
    if trigger.endswith("*"):
        stem = trigger[:-1]
        return any(w.startswith(stem) for w in words)
    return trigger in words


def _pattern(triggers: tuple[str, ...]) -> re.Pattern[str]:
    """One expression for all of a concept's triggers, searched in the normalised question padded with spaces: a
    word or phrase between spaces, a ``stem*`` as a word starting so. Same answers as ``_matches`` on each trigger,
    in one search instead of a Python loop over ~800 triggers per question (0.25 ms p50, 0.9 ms p99 before)."""
    alternatives = [re.escape(t[:-1]) + r"\S*" if t.endswith("*") and " " not in t else re.escape(t) for t in triggers]
    return re.compile(" (?:" + "|".join(alternatives) + ")(?= )")


_PATTERNS = tuple((concept, _pattern(concept.triggers)) for concept in CONCEPTS)


def expansions(question: str) -> list[str]:
    """The terms of each concept the question names (one string per concept, in lexicon order)."""
    padded = f" {normalize(question[:2000])} "
    named = [c for c, pattern in _PATTERNS if pattern.search(padded)]
    overridden = {name for c in named for name in c.overrides}
    return [c.terms for c in named if c.name not in overridden]
