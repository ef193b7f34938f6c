"""Multilingual concept lexicons (English, Spanish, French, German, Portuguese), written from general knowledge of
how each language names the people, institutions and procedures of a dispute, not from any message: legal
professionals, courts and court procedures, regulators and consumer authorities (as institution + protected
domain, so names in full are read without listing every agency), banks and card issuers, money coming back
through them, direct-debit returns, a payment never authorised, staff a visitor asks for.

``THREAT_FRAMES`` combine them into P1 patterns (a concept in a frame of action: "hear from my <legal
professional>", "<bank> ... <money back>", "<report verb> ... <regulator>"); ``PERSON_FRAMES`` are requests for
a person. Both are read on normalised text (domain/decisions/text.py) and go through the intent layer like every
other pattern (a negated sentence or a question about the product sets them aside).
"""

from __future__ import annotations


def _any(*terms: str) -> str:
    return "(?:" + "|".join(terms) + ")"


# people and firms who act for a party in a dispute
LEGAL_PRO = _any(
    r"lawyers?", r"laywers?", r"attorneys?(?: at law)?", r"solicitors?", r"barristers?", r"counsel(?:lors?)?",
    r"legal (?:counsel|team|department|dept|representatives?|advisers?|advisors?|people|folks)",
    r"law (?:firm|office|practice)s?", r"llp", r"esq", r"paralegals? acting",
    # es
    r"abogad[oa]s?", r"letrad[oa]s?", r"bufetes?", r"despachos? de abogados", r"procurador\w*",
    r"(?:departamento|equipo|area|servicio) (?:juridico|legal)", r"asesor\w* (?:juridic\w*|legal)",
    r"representante legal",
    # fr
    r"avocat\w*", r"cabinet d'avocats?", r"conseils? juridiques?", r"huissiers?(?: de justice)?",
    r"commissaires? de justice", r"(?:service|pole|departement) juridique", r"conseiller juridique",
    # de
    r"(?:rechts)?anw(?:a|ae)lt\w*", r"(?:anwalts)?kanzlei\w*", r"justiziar\w*", r"syndikus\w*",
    r"rechtsbeistand\w*", r"rechtsabteilung", r"gerichtsvollzieher\w*", r"rechtsvertret\w*",
    # pt
    r"advogad[oa]s?", r"escritorios? de advocacia", r"(?:departamento|equipe|setor|time) juridic[oa]",
    r"o (?:nosso |meu )?juridico", r"assessoria juridica", r"oficial de justica",
)  # fmt: skip
_POSS = _any(
    r"my", r"our", r"the", r"mi", r"mis", r"nuestr[oa]s?", r"mon", r"ma", r"mes", r"notre", r"nos",
    r"mein\w*", r"unser\w*", r"meu", r"minha", r"meus", r"nosso", r"nossa", r"nossos",
)  # fmt: skip
# courts, court procedures and their officers: standalone they are what a threat names
COURT = _any(
    r"magistrates?(?:'? court)?", r"(?:district|county|high|federal|circuit|crown|civil|commercial) court",
    r"small[- ]claims(?: court)?", r"summons", r"expect (?:papers|to be served|a summons)",
    r"you(?:'ll| will) be served", r"(?:los|a los) (?:juzgados|tribunales)", r"juzgados?",
    r"proceso monitorio", r"demanda judicial", r"tribunal (?:de commerce|judiciaire|d'instance)",
    r"prud'?hommes", r"injonction de payer", r"mahnbescheid\w*", r"mahnverfahren", r"gerichtsverfahren",
    r"(?:amts|land|zivil)gericht\w*", r"juizado\w*", r"pequenas causas", r"tribunal de justica",
)  # fmt: skip
# institutions that take complaints: an institution noun with the domain it protects, in either order
_INSTITUTION = _any(
    r"commission\w*", r"commissioner\w*", r"authorit(?:y|ies)", r"agenc(?:y|ies)", r"office", r"bureau",
    r"division", r"ombuds\w*", r"board", r"council", r"watchdogs?", r"regulators?",
    r"comision\w*", r"autoridad\w*", r"agencia\w*", r"oficina\w*", r"instituto\w*", r"defensor\w*",
    r"superintendencia\w*", r"direccion\w*", r"commission\w*", r"autorite\w*", r"agence\w*", r"direction\w*",
    r"mediateur\w*", r"defenseur\w*", r"behorde\w*", r"beauftragte\w*", r"amt\b", r"aufsicht\w*", r"stelle",
    r"zentrale", r"autoridade\w*", r"agencia\w*", r"instituto\w*", r"secretaria\w*", r"comissao\w*",
    r"provedor\w*", r"servico\w*",
)  # fmt: skip
_PROTECTED = _any(
    r"consumer\w*", r"privacy", r"data protection", r"competition", r"fair trading",
    r"consumidor\w*", r"consumo", r"proteccion de datos", r"competencia", r"privacidad",
    r"consommat\w*", r"consommation", r"protection des donnees", r"concurrence", r"informatique et (?:des )?libertes",
    r"verbraucher\w*", r"datenschutz\w*", r"wettbewerb\w*", r"kartell\w*",
    r"consumidor\w*", r"protecao de dados", r"concorrencia", r"defesa do consumidor",
)  # fmt: skip
REGULATOR = _any(
    rf"{_INSTITUTION}(?: \w+){{0,5}} (?:for|of|on|de|del|du|des|de la|fur|der|da|do|dos|das|al|au)"
    rf"(?: \w+){{0,3}} {_PROTECTED}",
    rf"{_PROTECTED}(?: \w+){{0,2}} {_INSTITUTION}",
    r"landesbeauftragt\w*", r"bundesbeauftragt\w*", r"verbraucherschutz\w*", r"omic", r"ministerio publico",
    r"ministere public", r"staatsanwalt\w*", r"district attorney", r"attorney generals?'?s?",
    r"ombudsm[ae]n", r"defensoria", r"accc", r"oaic", r"opc", r"edpb", r"cnil", r"aepd", r"ico",
)  # fmt: skip
_REPORT = _any(
    r"report\w*", r"complain\w*", r"lodg\w*", r"submit\w*", r"fil(?:e|ed|ing)", r"sen[dt]\w*", r"escalat\w*",
    r"forward\w*", r"cc'?(?:ing|ed)?", r"copy\w*", r"tak(?:e|ing) (?:this|it)", r"brought",
    r"denunci\w*", r"reclam\w*", r"queja", r"traslad\w*", r"llevar\w*", r"lleva\w*", r"pondre", r"poner",
    r"conocimiento", r"escrib\w*", r"acud\w*", r"presenta\w*",
    r"saisi\w*", r"signal\w*", r"transmet\w*", r"envoi\w*", r"envoy\w*", r"ecri\w*", r"plainte", r"porter",
    r"melde\w*", r"beschwer\w*", r"einreich\w*", r"eingereicht", r"wend\w*", r"informier\w*", r"schreib\w*",
    r"queixa\w*", r"denunc\w*", r"lev(?:ar|o|arei|ei)", r"apresent\w*", r"registr\w*", r"acion\w*", r"abr\w*",
)  # fmt: skip
# what a regulator named in a threat is said to do next
REGULATOR_NEXT = _any(
    r"(?:will|'ll) (?:be )?(?:hear\w*|know|love|enjoy|receive|get|look|find)", r"hear\w* (?:about|of)",
    r"now has", r"has a copy", r"(?:can|will|may) (?:sort|deal|handle|decide)", r"sort (?:this|it) out",
    r"(?:be )?(?:delighted|thrilled|interested|happy to)", r"recevr\w*", r"recev\w*", r"ravi\w*", r"jugera",
    r"recibir\w*", r"encant\w*", r"adora\w*", r"vai amar", r"lieben", r"tendra", r"sabra", r"freu\w*",
    r"erfahr\w*", r"bekomm\w*", r"erhalt\w*",
    r"receber\w*", r"vai (?:adorar|gostar|saber|receber)", r"ficar\w* sabendo",
)  # fmt: skip
BANK = _any(
    r"(?:my|the|our) bank", r"banks?", r"credit union", r"building society", r"card (?:issuer|company|provider)",
    r"credit ?card(?: company)?", r"(?:number|phone number) on the back of (?:my|the) card", r"visa", r"mastercard",
    r"amex", r"american express", r"paypal", r"klarna",
    r"banco", r"entidad (?:bancaria|financiera)", r"(?:mi |la )?tarjeta", r"emisor\w*",
    r"banque", r"(?:ma |la )?carte(?: bancaire| de credit)?", r"conseiller bancaire",
    r"bank\w*", r"kreditkart\w*", r"sparkasse", r"volksbank", r"kartenherausgeber",
    r"gerente do banco", r"operadora do cartao", r"cartao(?: de credito)?", r"nubank",
)  # fmt: skip
_MONEY_BACK = _any(
    r"(?:tak|pull|get|claw|recover|recoup)\w* (?:\w+ ){0,3}(?:money|payments?|charges?|funds?|it|them)"
    r" (?:back|off you|from you)",
    r"recover\w* the (?:money|funds|payment)", r"(?:money|funds|payments?) (?:back )?off you",
    r"(?:putting|put|giving|give|send\w*) (?:it|the money|the funds) back",
    r"devolv\w* el dinero", r"recuper\w* (?:el|mi|mis|los|o|meu|meus) (?:dinero|dinheiro|importe|valor|pago)",
    r"reintegr\w* el (?:dinero|cobro|cargo)", r"retroced\w*",
    r"recuperer (?:l'argent|mon argent|les fonds|mes fonds)",
    r"(?:geld|betrag) (?:\w+ ){0,4}zuruck", r"zuruckhol\w*", r"hol\w* (?:\w+ ){0,4}zuruck", r"zuruckhol\w*",
    r"dinheiro de volta", r"pegar (?:o dinheiro|de volta)", r"reaver (?:o|meu) dinheiro",
)  # fmt: skip
DIRECT_DEBIT = _any(
    r"direct debit", r"sepa(?:-| )?(?:lastschrift|debit|mandate)?", r"recibos?", r"domiciliacion\w*",
    r"prelevements?", r"lastschrift\w*", r"debito direto", r"debitos diretos",
)  # fmt: skip
_RETURN = _any(
    r"return\w*", r"recall\w*", r"revers\w*", r"indemnity claim", r"devolv\w*", r"devolucion", r"devuelv\w*",
    r"anul\w*", r"rembours\w*", r"rejet\w*", r"annul\w*", r"zuruck\w*", r"widerruf\w*", r"storn\w*",
    r"devolucao", r"devolv\w*", r"estorn\w*", r"cancel\w*",
)  # fmt: skip
UNAUTHORISED = _any(
    r"never (?:approved|authori[sz]ed|agreed to)", r"did(?:n't| not) (?:authori[sz]e|approve)",
    r"no (?:reconozco|autorice)", r"nunca (?:autorice|autorizamos|aprobe|autorizei|aprovei)",
    r"(?:ne l'avais |ne l'ai |n'ai )?(?:pas|jamais) autorise\w*", r"non autorise\w*",
    r"(?:nie|nicht) (?:autorisiert|genehmigt|freigegeben)",
    r"nao (?:o |a )?(?:reconheco|autorizei)", r"nao autorizad[oa]",
)  # fmt: skip
_TOLD = _any(
    r"told", r"asked", r"called", r"rang", r"informed", r"dije", r"llame", r"avise", r"pedi\w*", r"dit",
    r"demande", r"appele", r"signale", r"gesagt", r"gemeldet", r"angerufen", r"informiert", r"falei", r"liguei",
    r"avisei", r"informei",
)  # fmt: skip
THREAT_FRAMES = [
    # a legal professional acting or about to
    rf"\b(?:hear\w*|news|email|letter|word|papers|call|nouvelles|courrier|lettre|noticias|carta|horen|post|brief"
    rf"|schreiben|post|noticias|notificac\w*|come|coming)\b (?:\w+ ){{0,3}}(?:from|de|du|des|von|vom|do|da|dos)"
    rf" (?:{_POSS} )?(?:\w+ ){{0,3}}{LEGAL_PRO}\b",
    rf"\b(?:forward\w*|pass\w*|hand\w*|turn\w* over|transmet\w*|transmis|remet\w*|remis|confi\w*|traslad\w*|paso"
    rf"|pasare|weiterleit\w*|weitergeleitet|leite\w*|ubergeb\w*|gebe|encaminh\w*|repass\w*)\b.{{0,40}}\b(?:to|a|al"
    rf"|au|aux|an|ao|para) (?:{_POSS} |an? |un |une |una |um |uma |einen |eine )?"
    rf"{LEGAL_PRO}\b",
    rf"\b{_POSS} {LEGAL_PRO},? (?:(?:is|are|'s|'re) (?:drafting|preparing|writing|on it|handling)|has (?:already )?"
    r"(?:drafted|prepared|written|sent|everything|all)|already has|(?:will|'ll) (?:be in touch|contact|write|call"
    r"|send|file|reach out|take|deal|handle|be (?:in touch|contacting|writing))|ya (?:tiene|esta|lo)|va a|van a"
    r"|esta (?:redactando|preparando)|prepar\w*|redact\w*|va vous|vont vous|s'occupe\w*|s'en occupe\w*"
    r"|(?:wird|werden) sich|meldet sich|(?:wird|werden) (?:ihnen|euch|dir)|pruft|prufen|kummert sich|bereitet"
    r"|hat bereits|vai (?:entrar|notificar|acionar|ligar|escrever|mandar|cuidar)|vao|ja (?:esta|tem)|estao"
    r"|redig\w*|notific\w*|(?:les |le |la |vous |lhes |vos |te |os |as )?"
    r"(?!(?:ahora|agora|otra|outra|entra|contra|compra|compras|mejora|hora|para)\b)\w{3,}r(?:a|an|ont|ao)\b)\b",
    rf"\b(?:is|are) (?:now )?(?:with|in the hands of) {_POSS} {LEGAL_PRO}\b",
    # a formal notice: the instrument each country's lawyers send before suing
    r"\b(?:burofax|carta notarial|carta documento|requerimiento notarial|letter before (?:action|claim)"
    r"|cease and desist|lettre recommandee avec"
    r" (?:accuse|ar)|einschreiben mit ruckschein)\b",
    rf"\b(?:consult\w*|instruct\w*|retain\w*|engag\w*|hired?|mandat\w*|beauftrag\w*|eingeschaltet|einschalt\w*"
    rf"|contrat\w*|constitu\w*|(?:spoke|spoken|talked|been talking|speaking) (?:to|with))\b (?:\w+ ){{0,3}}"
    rf"{LEGAL_PRO}\b",
    rf"\b(?:is|es|est|ist|e) (?:a |an |un |una |une |ein |eine |um |uma )?{LEGAL_PRO} (?:and|y|et|und|e|who|que"
    r"|qui|der|die) (?:(?:he|she|they|el|ella|il|elle|er|sie|ele|ela)(?= |'))? ?(?:says|said|will|'ll|is|'s|has"
    r"|thinks|agrees|already|dice|va|ya|esta|dit|pense|deja|sagt|meint|wird|ist|schon|diz|vai|ja)\b",
    r"\b(?:who|que|qui|der|die) (?:act|acts|represent\w*|(?:nos|me|nous|uns|mich) (?:represent\w*|vertr\w*))"
    r" (?:for )?(?:us|me)?\b|\b(?:act\w*|represent\w*) (?:for|on behalf of) (?:us|me)"
    r" (?:in|against)\b",
    r"\b(?:get|getting|bring\w*|involv\w*) (?:the )?legal (?:involved|in)\b|\blegal (?:will|'ll) be involved\b",
    # courts, procedures, their officers
    rf"\b{COURT}\b",
    # a regulator named in full (institution + protected domain) after a report verb, or said to act next
    rf"\b{_REPORT}\b.{{0,60}}\b{REGULATOR}\b",
    rf"\b{REGULATOR}\b.{{0,50}}\b{REGULATOR_NEXT}\b",
    # money taken back through a bank or card issuer, a direct debit returned, a payment never authorised
    rf"\b{BANK}\b.{{0,60}}\b{_MONEY_BACK}\b|\b{_MONEY_BACK}\b.{{0,40}}\b{BANK}\b",
    rf"\b{DIRECT_DEBIT}\b.{{0,40}}\b{_RETURN}\b|\b{_RETURN}\b.{{0,40}}\b{DIRECT_DEBIT}\b",
    rf"\b{_TOLD}\b.{{0,40}}\b{BANK}\b.{{0,40}}\b{UNAUTHORISED}\b",
    r"\bopen\w* (?:a |an )?(?:case|claim|dispute) (?:with|at|on) (?:them|paypal|visa|mastercard|amex|my bank"
    r"|the bank|klarna)\b",
    # a dispute taken to the end, a last warning, a demand under the law
    r"\b(?:hasta (?:las )?ultimas consecuencias|jusqu'au bout|bis zum (?:ende|letzten)|ate as ultimas"
    r" consequencias|(?:take|taking|go|going) (?:this|it) all the way|(?:last|final) warning before"
    r"|dernier avertissement avant|letzte warnung (?:bevor|vor)|ultima advertencia antes)\b",
    r"\b(?:es|esto es|eso es|isso e|e|c'est|das ist) (?:\w+ )?(?:ilegal|illegal|rechtswidrig|illicite"
    r"|propaganda enganosa|publicidad enganosa|publicite mensongere)\b",
    r"\b(?:subject access request|dsar|data subject (?:access )?request|derecho de acceso|droit d'acces"
    r"|auskunftsersuchen|auskunftsanspruch|direito de acesso)\b",
    # threats with no legal word, as each language says them
    r"\b(?:this (?:won't|will not|isn't going to) end here|esto no (?:se )?(?:va a )?queda\w* (?:asi|aqui)"
    r"|no se va a quedar asi|ca ne va pas en rester la|ca n'en restera pas la"
    r"|das (?:wird|hat) (?:ein )?(?:\w+ )?nachspiel"
    r"|das lasse ich mir nicht gefallen|isso nao vai ficar (?:assim|por isso)|nao vai ficar por isso mesmo"
    r"|(?:you'll|you will) regret|vous allez le regretter|das werden sie bereuen|se van a arrepentir"
    r"|voces vao se arrepender)\b",
    r"\b(?:nothing else (?:left |to try )?(?:but|except)|no other (?:way|option|choice)|nothing (?:left|else) to"
    r" (?:try|do) but)\b",
]
# a dispute told over two sentences ("I called my bank. They're taking the money back off you"): read on each
# pair of adjacent sentences of a message
ACROSS_SENTENCES = rf"\b{BANK}\b.{{0,90}}\b{_MONEY_BACK}\b"
# a person asked for: a connecting verb and someone on the team, in the five languages
_STAFF = _any(
    r"someone", r"somebody", r"a person", r"people", r"humans?", r"agents?", r"engineers?", r"developers?",
    r"technicians?", r"specialists?", r"reps?", r"representatives?", r"managers?", r"supervisors?", r"staff",
    r"colleagues?", r"(?:one|someone|somebody) (?:of|from|in) (?:your|the) (?:team|staff|engineers|support|billing"
    r"|accounts|finance)", r"(?:your|the) (?:billing|accounts|finance|support|tech|technical|sales) (?:team|department"
    r"|people|desk)",
    r"alguien", r"una persona", r"agente", r"tecnico", r"especialista", r"asesor\w*", r"responsable",
    r"quelqu'un", r"une personne", r"conseiller\w*", r"technicien\w*", r"le service \w+", r"un agent",
    r"jemand\w*", r"mitarbeiter\w*", r"techniker\w*", r"berater\w*", r"ansprechpartner\w*", r"menschen",
    r"kollegen", r"buchhaltung", r"abteilung",
    r"alguem", r"uma pessoa", r"atendente", r"tecnic[oa]", r"consultor\w*", r"responsavel", r"financeiro",
)  # fmt: skip
PERSON_FRAMES = [
    rf"\b(?:put me through|connect me|transfer me|pass me|hand me over|pasame|pasenme|comuniqueme|mettez-moi"
    rf"|mettre en relation|passez-moi|verbinden sie mich|verbinde mich|me passa|me passe|me transfere)\b.{{0,30}}"
    rf"\b{_STAFF}\b(?! (?:account|seat|login|access|invite\w*|role|user))",
    r"\b(?:i need|we need|get me|necesito|j'ai besoin d'|ich brauche|wir brauchen|preciso de) (?:an? |un |une "
    r"|einen |eine |um |uma |one of your |someone from your |alguien de su |quelqu'un de votre |jemanden aus ihrem "
    r"|alguem da sua )?(?:human|person|engineer|engineers|technician|specialist|humano|tecnico|technicien|techniker"
    r"|mensch\w*|team|equipo|equipe|staff)\b(?! (?:account|seat|login|access|invite\w*|role|user|plan))",
    # someone asked to contact the visitor, or to attend to them
    r"\b(?:someone|somebody|a person|a manager|a supervisor|an agent|a human|a rep|one of your \w+|alguien|una persona"
    r"|un agente|quelqu'un|une personne|un conseiller|jemand|ein mitarbeiter|eine person|alguem|uma pessoa"
    r"|um atendente)\b.{0,30}\b(?:contact|call|ring|email|reach|get in touch with|write to|contacte\w*|llame\w*"
    r"|escriba|contacter|appelle\w*|rappelle\w*|ecrive|kontaktier\w*|anruf\w*|meld\w* sich|entre em contato|ligue"
    r"|me ligar)\b(?: (?:me|us|me|nous|mich|uns))?",
    # a contact person, a call, the service desk, "your team", in five languages
    r"\b(?:ansprechpartner\w*|interlocuteur\w*|interlocutor\w*|contact person|persona de contacto|pessoa de contato)\b"
    r"|\b(?:rufen sie mich|ruf mich|call me|llamenme|llameme|appelez-moi|me liguem|me ligue)\b"
    r"|\b(?:speak|talk|chat) (?:to|with) (?:your |the )?(?:customer (?:service|support|care)|team|support team"
    r"|sales team|billing team|help ?desk|service desk)\b",
    r"\b(?:atencion|atendimento|atendid[oa]s?|atienda|atender|attended|served|aide|hilfe)\b (?:de|por|d'|par|von"
    r"|durch|by) (?:una persona|un humano|um humano|uma pessoa|alguien|alguem|un agente|um atendente|une personne"
    r"|un humain|einem menschen|einer person|a person|a human)\b",
]
