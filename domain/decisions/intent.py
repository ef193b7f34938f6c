"""The intent layer: does a conversation ask for money back, ask for a person, or only talk about these things?"""

from __future__ import annotations

import re

from domain.decisions import lexicon, patterns

REFUND = re.compile(
    r"\b(?:refund\w*|refudn\w*|refnd\w*|reimburs\w*|money back|my money|pay (?:me|us) back|paid back|owed"
    r"|credit (?:it |the money |that )?back|return (?:my|the|our) (?:money|payment|\d|\$)|return the \d|send back"
    r"|(?:want|need|get|have|give|send|pay|credit|like|expect)\b[^.?!]{0,40}(?:money|payment|charge|fee|amount"
    r"|\d|[$€£]|bucks|dollars?|euros?|pounds?|quid|grand)[^.?!]{0,25}\bback\b|returned"
    r"|\b(?:promised|promis|prometi\w*|versproch\w*|prometeram|prometido)\b[^.?!]{0,40}(?:\d|%)"
    r"|(?:want|need|give|send|pay) (?:it|that|them|this|those) back|(?:give|send|pay|hand) (?:us|me) back"
    r"|reembols\w*|reintegr\w*|devuelv(?:an|anme|ame|enme|annos|anos)\w*|(?:me|nos)(?: los| las| lo| la)? devuelv\w*"
    r"|devolucion|devolver(?:me|nos)?"
    r" (?:el|los|mi|mis) (?:dinero|importe|pago|\d)|regres(?:en|enme|ar) \w* ?(?:los|el|mi|mis)|de vuelta|recuperar"
    r"|rembours\w*|rendez|rende|(?:veux|voudrais|souhaite|exige|demande)\b[^.?!]{0,40}\ben retour\b"
    r"|recuperer|(?:ruck)?erstatt\w*|ruckzahlung|geld zuruck|devolv\w*|devolucao|estorno|de volta"
    # German "zurück" is money back in a compound verb or after money or a wish; a separable verb's particle
    # ("die API gibt 401 zurück", "kommt zurück") is not
    r"|zuruck(?:zahl|erstatt|buch|uberweis|geb|bekomm|hab|hol|ford|verlang|will|mocht)\w*"
    r"|(?:geld|betrag|summe|kosten|gebuhr\w*|euro|eur|franken|chf|dollar|pfund|\d|[$€£]|will|mochte|mochten"
    r"|wollen|verlange\w*|brauche\w*|hatte gern\w*|bitte)\b[^.?!]{0,40}\bzuruck\b"
    r"|rimbors\w*|restituit(?:eci|emi|e)\b|restituire (?:i|il) (?:soldi|denaro)|rivoglio|soldi indietro"
    r"|terugbetal\w*|geld terug|terugstort\w*|terug(?:krijgen|hebben))"
)
# A question about refunds or the status of one already granted: not a demand.
REFUND_QUESTION = re.compile(
    r"\b(?:(?:refund|reembolso|remboursement|erstattung|rimborso|terugbetaling)\b[^.?!]{0,40}\b(?:arriv\w*|lleg\w*"
    r"|chega\w*|kommt|komt|ankomm\w*)|prepay|prepayer|vorauszahlen|pagar por adelantado|pagar adiantado"
    r"|refund policy|refund work|refunds work"
    r"|refundable|(?:was|been|were) (?:issued|processed|sent)"
    r"|do you refund|how (?:long|do i|can i)\b[^.?!]{0,30}"
    r"refund|when will\b[^.?!]{0,30}(?:refund|arrive)|(?:approved|confirmed|promised|granted) (?:my |the |a )?"
    r"(?:refund|\$)|refund (?:you|i was) (?:approved|confirmed|promised)|pending|on its way|arrived|got it"
    r"|thanks for the refund|hasn't arrived|politica de (?:reembolso|devolucion)|cuanto tarda|me (?:aprobaron"
    r"|confirmaron)|en camino|politique de remboursement|que vous avez accepte|m'avez confirme|confirme est|en route"
    r"|remboursables?|erstattungsbedingungen|bestatigte|erstattungsfahig|ausstehend|unterwegs|wann kommt"
    r"|politica de reembolso|quando cai|ja confirmaram|a caminho|reembolsavel|reembolsable|es reembolsable"
    # the status of a refund already granted, in five languages
    r"|(?:got|received|saw) (?:the|my|your) refund|refund (?:came|arrived|went through|landed|showed up)"
    r"|(?:has|did|is) (?:the|my) refund|where is (?:my|the) refund|status of (?:my|the) refund"
    r"|ya (?:fue|se|me|lo|la|esta) (?:procesad\w*|proceso|hech[oa]|enviad[oa]|emitid[oa]|realizad[oa]|llego|recibi\w*"
    r"|devuelto|transferid[oa]|abonad[oa])|estado (?:del|de mi) reembolso|donde esta (?:mi|el) reembolso"
    r"|recibi el reembolso|est-il (?:parti|effectue|traite|vire)|est parti|a ete (?:effectue|envoye|traite|vire)"
    r"|ou en est|(?:bien )?recu (?:le|mon) remboursement|statut du remboursement"
    r"|schon (?:angewiesen|uberwiesen|bearbeitet|veranlasst|raus|gebucht)|wurde\b[^.?!]{0,40}\b(?:angewiesen"
    r"|uberwiesen|bearbeitet|veranlasst|ausgezahlt)|(?:ruck)?erstattung (?:erhalten|bekommen)"
    r"|status der (?:ruck)?erstattung"
    r"|ja foi (?:feito|processado|enviado|pago|realizado|creditado|estornado)|ja caiu|recebi o reembolso"
    r"|status do reembolso|cade (?:o|meu) reembolso"
    # a refund already granted, whatever is asked about it next ("the refund was approved, when does it land?")
    r"|(?:refund|reembolso|remboursement|(?:ruck)?erstattung|devolucion|devolucao|estorno|rimborso)\b[^.?!]{0,40}"
    r"\b(?<!not )(?<!never )(?<!n't )(?<!no )(?<!nobody )(?<!nunca )(?<!nao )(?<!pas )(?<!nicht )(?<!nie )"
    r"(?:approved|confirmed|granted|aprobad[oa]|aceptad[oa]|confirmad[oa]|aprovad[oa]|valide\w*|accepte\w*"
    r"|confirme\w*|bestatigt|genehmigt|zugesagt|approvat[oa]|accorde\w*|concedid[oa]|otorgad[oa]|gewahrt"
    r"|autorizad[oa]|autorise\w*|deferid[oa])"
    r"|(?:how many days|how long|cuantos dias|cuanto tiempo|combien de (?:jours|temps)|wie lange|wie viele tage"
    r"|quantos dias|quanto tempo)\b[^.?!]{0,40}\b(?:land\w*|arriv\w*|show\w* up|llega\w*|arrive\w*|ankomm\w*"
    r"|da\b|auf dem konto|chega\w*|cai\w*|cair))\b"
)
PERSON = [
    r"\b(?:talk|speak|chat|connect|put|transfer|pass|hand|get|need|want|prefer|discuss)\w*\b.{0,30}"
    r"\b(?:a |an |some |your |one of your |the |someone |somebody )?(?:real |actual |live |human )?"
    r"(?:person|people|human|humans|agent|someone|somebody|representative|rep|manager|supervisor|staff|operator"
    r"|employee|team member|support (?:team|staff|agent|person)|boss|engineer|developers?)\b",
    r"\b(?:rather|prefer\w*|prefier\w*|lieber)\b[^.?!]{0,60}(?:\b(?:than|que|als|do que) |\bqu')"
    r"(?:(?:with|to|con|avec|a|mit|com) ?)?(?:a |an |the |un |una |une |einem |einer |um |uma |o |el |le |dem |der )?"
    r"(?:bot|robot|robo|machine|chatbot|ai|ia|ki|maquina)\b",
    r"\b(?:real|actual|live) (?:person|human|agent|people|support)\b|\bhuman (?:being|agent)\b|\bhuman please\b",
    r"^(?:human|operator|representative|agent|person)\b|\b(?:talk|speak) to human\b|\bpls get a human\b",
    r"\b(?:representative|operator)\b|\bsomeone real\b|\bany humans?\b|\bi want a person\b",
    r"\b(?:is there|are there|is anyone|anyone from)\b.{0,30}\b(?:human|person|team|engineer|someone)\b",
    r"\b(?:call me|give me a call|book a call|phone call|call back|callback|someone (?:call|ring) me|on a call"
    r"|rappeler|zuruckrufen|devolver la llamada|ligar de volta|me ligar|richiamar\w*|terugbellen)\b"
    # the French call back in its other forms ("qu'on me rappelle", "rappelez-moi")
    r"|\b(?:me|nous) rappel(?:le|lent|iez|ez|erez|era|erait)\b|\brappelez-(?:moi|nous)\b",
    r"\b(?:could|can) (?:a |someone|somebody|a team member|a person|one of)\b.{0,30}\b(?:call|look|jump in|give)",
    r"\bwho (?:can|could|do) i (?:speak|talk|chat) (?:with|to)\b|\bput me through\b"
    r"|\bsomeone from (?:support|your team|the team|sales)\b|\bescalate this\b",
    r"\b(?:stop|not|no more) (?:replying|talking to (?:a |the )?)?\b.{0,25}\b(?:bot|robot|articles)\b",
    r"\b(?:customer (?:service|support|care)|support team|an agent|a human|a person|someone|somebody|support)"
    r" (?:please|pls|plz|now|asap)\b|\b(?:agent|human|person|persona|humano|humain|pessoa|operatore|mens)[,.!]*"
    r" (?:please|pls|plz|now|por favor|porfa|svp|s'il vous plait|bitte|per favore|alstublieft)[.!]*\s*$"
    r"|\bi need (?:help from )?(?:a |an )?(?:person|human|agent|someone real)\b"
    r"|\b(?:is )?any(?:one|body) (?:there|around|real|home)\b",
    # Spanish
    r"\b(?:hablar|habla|pasa\w*|comunica\w*|atienda|atiende|conversar|chatear|contactar)\b.{0,30}\b(?:persona|humano|agente|alguien|asesor"
    r"|tecnico|especialista|ingeniero|desarrollador"
    r"|supervisor|responsable|equipo|operador|soporte|atencion al cliente)\b|\bpersona (?:real|de verdad)\b"
    r"|\balgun humano\b|\bcon un humano\b"
    r"|\balguien de verdad\b|\bme (?:puede|pueda) llamar\b|\bllamada con soporte\b|\balguien del equipo\b",
    # French
    r"\b(?:parler|discuter|echanger|chatter) (?:a|avec)\b.{0,30}\b(?:humain|personne|conseiller|agent|quelqu'un"
    r"|technicien|specialiste|ingenieur|developpeur|expert"
    r"|responsable|operateur|service client|support)\b|\b(?:joindre|contacter) (?:un|une|le|quelqu'un)\b.{0,20}"
    r"\b(?:humain|personne|conseiller|service client|support)\b|\bun humain\b"
    r"|\bquelqu'un de (?:reel|votre equipe|l'equipe)\b|\bvraie personne\b|\bvrai conseiller\b|\bpassez-moi\b"
    r"|\bm'appeler\b|\ben relation avec\b|\bpar telephone\b",
    # German
    r"\bmit (?:einem|einer|jemandem|ihrem|dem)\b.{0,30}\b(?:mitarbeiter\w*|mensch\w*|sprechen|reden|berater|chatten"
    r"|person|kundenservice|kundendienst|support\w*"
    r"|vorgesetzten)|\becht\w* (?:mensch\w*|person|berater)\b|\bmensch bitte\b|\beinen menschen\b"
    r"|\bjemand\b.{0,30}\b(?:anrufen|ansehen|team)\b|\bverbinden sie mich\b|\bweiterleiten\b|\btelefontermin\b"
    r"|\bvom team online\b",
    # Italian, Dutch
    r"\bparlare con\b.{0,30}\b(?:operatore|persona|umano|qualcuno|responsabile)\b|\boperatore umano\b"
    r"|\bpersona vera\b|\b(?:met|een) (?:een )?(?:mens|medewerker|echte persoon)\b|\becht mens\b"
    r"|\b(?:spreken|praten|chatten) met (?:een|iemand)\b|\biemand\b.{0,30}\bspreken\b",
    # Portuguese
    r"\b(?:falar|conversar|papo) com\b.{0,30}\b(?:pessoa|humano|atendente|alguem|supervisor|operador|suporte"
    r"|tecnico|especialista|engenheiro|desenvolvedor|consultor)\b"
    r"|\bpessoa de verdade\b"
    r"|\bhumano ai\b|\batendente\b|\batendimento humano\b|\balguem da equipe\b|\bme ligar\b|\bligacao com\b"
    r"|\bconsultor de verdade\b",
]
PERSON += lexicon.PERSON_FRAMES
_SEPARATOR = re.compile(r"(?<=\d)[.,'](?=\d)")
_CALL_BACK = re.compile(
    r"\b(?:call|ring|phone|get)\w* (?:me |us |you )?back\b|\bzuruck ?ruf\w*|\bruf\w* (?:mich|uns) (?:\w+ )?zuruck\b"
    r"|\b(?:me )?ligar? (?:\w+ )?de volta\b|\bme ligar\w*|\bdevolver(?:me)? la llamada\b|\brappel\w*"
    r"|\bllam\w* de vuelta\b"
)


def plain(text: str) -> str:
    """A normalised text as the refund and topic layers read it: a thousands separator ends no sentence ("€2.000
    back"), and a call back ("call me back", "me ligar de volta", "zurückrufen") is no money back."""
    return _CALL_BACK.sub(" ", _SEPARATOR.sub("", text))


# Words of money back that are not about money: an API or a page that returns an error or a code ("la API me
# devuelve un error 500", "a API devolve 422"), recovering a password, an account or access ("recuperar mi
# contraseña", "récupérer l'accès à mon compte"), and one's own buyers' disputes (someone else's money).
_NOT_MONEY = re.compile(
    # the verb as an API's (third person), never the imperative a refund demand uses ("devuélvanme", "return the")
    r"\b(?:devuelve|devolvio|devolve|devolveu|retourne|renvoie|returns|gibt|liefert)\b (?:me |nos |nous |mir |uns )?"
    r"(?:(?:un|una|el|la|um|uma|o|a|une|le|an?|the|einen|eine|den|ein)\s)?(?:error\w*|erro|erreur\w*|fehler\w*"
    r"|codigo|code|status|estado|mensaje|mensagem|message|respuesta|resposta|reponse|response|resultado|result"
    r"|null|vacio|vazio|vide|leer|empty"
    r"|[1-5]\d\d(?![\d.,])(?! ?(?:€|\$|£|eur|usd|gbp|euros?|dollars?|dolares|reais|pesos|bucks|libras|francs"
    r"|franken)))\b"
    r"|\b(?:recuper\w*|reset\w*|retrouver)\b (?:\w+ ){0,2}(?:l'|d')?(?:contrasena|password|senha|mot de passe|passwort"
    r"|acces|acceso|acesso|access|cuenta|compte|conta|account|konto|zugang|usuario|login|identifiants)\b"
    r"|" + patterns.OWN_DISPUTES
)


def asks_refund(text: str) -> bool:
    """Whether a normalised message asks for money back (not a question about refunds or their status)."""
    text = _NOT_MONEY.sub(" ", plain(text))
    return bool(REFUND.search(text)) and not REFUND_QUESTION.search(text)


# The latest message withdraws the request ("never mind, found it") or asks about the product's handoff.
PERSON_NOT = re.compile(
    r"\b(?:talked|spoke|chatted) (?:to|with)\b|\b(?:don't|dont|do not|no) need (?:a|an|for|to)\b|\bpas besoin\b"
    r"|\bno necesito\b|\bbrauche keinen\b|\bnao preciso\b|\bnon ho bisogno\b|\bheb geen\b"
    r"|\b(?:never ?mind|nevermind|found it|olvidalo|ya lo encontre|laissez tomber|j'ai trouve|schon gut"
    r"|hab'?s gefunden|esquece|ja achei|how does (?:the )?handoff|how does the transfer|como funciona|comment"
    r"\s+fonctionne|wie funktioniert|what time|a que hora|a quelle heure|wann ist|que horas|how many agents"
    r"|human agents to|the human agent earlier|person icon|contact about partnerships|should contact"
    # a question about setting up the product's own agents or handoff, not a request for a person
    r"|how (?:do|can) (?:i|we) (?:add|invite|assign|configure|set up|remove)|configurable|(?:add|invite|assign)\w*"
    r" (?:a |more |new )?(?:human )?agents?|agreg\w* (?:mas )?agentes|ajouter (?:un|des) agents?"
    r"|adicion\w* (?:mais )?atendentes|weitere mitarbeiter ein)\b"
)
