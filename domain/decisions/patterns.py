"""Precise multilingual patterns (English, Spanish, French, German, Portuguese) over normalised text.

``THREAT``: a legal threat, a payment dispute or chargeback, a complaint to a regulator or authority: what must
never be missed. ``MENTION``: legal or compliance vocabulary that is only a subject ("our legal team asked for
invoices", "is it GDPR compliant?"); a mention alone decides nothing: the intent layer and the classifier do.
"""

from __future__ import annotations

from domain.decisions import lexicon
from domain.decisions.text import normal

_I = r"(?:i|i'm|im|i'll|ill|we|we're|were|we'll|my|our|us|me)"
_BANK = (
    r"(?:bank|banks|card (?:issuer|company|provider)|credit ?card(?: company)?|card company|issuer|visa|mastercard"
    r"|amex|american express|paypal|chase|barclays|revolut|credit union|banco|tarjeta|emisor|banque|carte bancaire"
    r"|carte|kreditkart\w*|bank\w*|operadora do cartao|cartao(?: de credito)?|la tarjeta)"
)
_REGULATOR = (
    # "DPA": a data protection authority, not the data processing agreement one signs or asks for
    r"(?:regulators?|(?<!signed )(?<!sign )(?<!sign a )(?<!sign the )(?<!your )(?<!a )"
    r"dpa(?! (?:agreement|addendum|template))"
    r"|data protection (?:officer|board)|ftc|federal trade commission|cfpb"
    r"|consumer financial protection bureau|ombuds\w*|bbb"
    r"|better business bureau|attorney generals?'?s?(?: office)?|trading standards|fca|competition and markets"
    r"|information commissioner'?s?(?: office)?|privacy (?:commissioner|regulator)|supervisory authority"
    r"|data protection (?:authority|regulator|commission\w*)|authorit(?:y|ies)|relevant authorities|police|ico"
    r"|cnil|aepd|agencia espanola de proteccion de datos|autoridad de (?:control|proteccion de datos)|ocu"
    r"|profeco|consumo|oficina del consumidor|defensa del consumidor|superintendencia\w*|fiscalia"
    r"|dgccrf|repression des fraudes|mediateur\w*|ufc|associations? de consommateurs|autorite de (?:controle"
    r"|protection des donnees)|gendarmerie|procureur|datenschutz(?:behorde|beauftragte\w*|aufsicht)"
    r"|aufsichtsbehorde|verbraucherzentrale|bundesnetzagentur|bafin|behorden?|polizei|procon|anpd|cnpd"
    r"|reclame aqui|consumidor\.gov\.br|ministerio publico|autoridade (?:nacional|de protecao de dados)"
    r"|autoridades|autorites|financial ombudsman|citizens advice|consumer affairs|accc|competition bureau|dpc"
    r"|data protection commission(?:er)?|consumer (?:council|watchdog|agency|protection (?:office|agency|bureau))"
    r"|state attorney|facua|condusef|sernac|indecopi|defensa del consumidor|defensor del pueblo|guardia civil"
    r"|policia|garante(?: della privacy| per la protezione dei dati)?|agcm|antitrust|codacons|altroconsumo"
    r"|polizia|carabinieri|autoriteit persoonsgegevens|acm|consumentenbond|geschillencommissie|politie"
    r"|schlichtungsstelle|verbraucherschutz\w*|asae|deco|livro de reclamacoes|senacon|banco central|bacen"
    r"|60 millions de consommateurs|signal ?conso|arcom|cnpd|autorita|cma|which\?|action fraud|ofcom|ofgem"
    r"|advertising standards|visa|mastercard|american express|amex|paypal|my bank|the bank|card issuer"
    r"|bundesamt\w*|bundeskartellamt|comision nacional\w*|commission nationale\w*"
    r"|autoridade nacional\w*|agencia (?:espanola|nacional)\w*|(?:federal|national|state) (?:agency|authority|office"
    r"|bureau|commission)|\w*datenschutz(?:behorde|beauftragte\w*|aufsicht\w*)|resolution cent(?:er|re))"
)
THREAT = [
    # lawyers acting, courts, suing
    r"\b(?:my|our|his|her|the) (?:lawyers?|laywers?|attorneys?|attourneys?|atorneys?|solicitors?|counsel"
    r"|legal (?:team|counsel|department|folks|people))\b.{0,40}\b(?:will|'ll|be in touch|contact\w*|cc'?d"
    r"|copied|says|said|in touch|letter|are reviewing it|is reviewing it|has|have|better be|can ask|can explain"
    r"|could|will ask|asks)",
    r"\b(?:do|will|would) i (?:need|have to (?:get|hire|call)) (?:a |an )?(?:lawyer|attorney|solicitor)\b"
    r"|\bnecesito un abogado\b|\bbesoin d'un avocat\b|\bbrauche ich (?:einen|nen) anwalt\b"
    r"|\bpreciso de (?:um )?advogado\b",
    # legal rights invoked, legal process served: a regulatory demand
    r"\b(?:under|per|according to|pursuant to|segun|conforme(?: a| al)?|conformement (?:a|au)|gemass|nach"
    r"|nos termos d[ao]) (?:the |el |la |le |o |a |der |die |art\.? ?\d+ )?(?:gdpr|rgpd|dsgvo|lgpd|ccpa"
    r"|article \d+|art\.? ?\d+|data protection law)\b",
    r"\b(?:gdpr|rgpd|dsgvo|lgpd),? (?:article|art\.?|artikel|articulo|artigo) ?\d+\b",
    r"\b(?:i|we) (?:invoke|exercise|am exercising|demand)\b.{0,30}\bright\b|\bright to (?:erasure|be forgotten)\b"
    r"|\b(?:exijo|exige|exigimos|exijo que|verlange|exijo a)\b.{0,40}\b(?:datos|donnees|daten|dados)\b",
    r"\b(?:subpoena|court order|search warrant|requerimiento judicial|orden judicial|ordonnance du tribunal"
    r"|gerichtsbeschluss|mandado judicial|intimacao judicial)\b",
    r"\b(?:i|we) (?:will |'ll )?(?:have to )?(?:get|involve|bring in) (?:our|my) (?:legal|lawyers?)",
    r"\b(?:i|we)(?:'ll| will| am going to| are going to|'m going to|'re going to| gonna| shall| may| might|'d"
    r"| would| have to| need to)\b.{0,40}\b(?:lawyers?|laywers?|attorneys?|solicitors?|legal|court|law firm)\b",
    r"\b(?:contact|call|ring|email|phone|see|hire|retain|instruct|engage|involve|consult|get|bring in|speak to"
    r"|talk to|forward\w* (?:this|it) to)(?:ing|ed|s)? (?:a |an |my |our )?(?:lawyers?|attorneys?|solicitors?|counsel"
    r"|legal (?:team|counsel|department))\b",
    r"\b(?:voy a|vamos a|iremos|vou|vamos|irei|je vais|nous allons|on va|ich werde|wir werden|ich gehe"
    r"|ich schalte)\b.{0,40}\b(?:abogad\w*|advogad\w*|avocat\w*|anw(?:a|ae)lt\w*)",
    r"\bur lawyer\b|\bis a lawyer and\b|\bi'm a lawyer and\b|\bexpect a letter from\b",
    r"\b(?:hearing|hear) from (?:my|our) (?:lawyers?|solicitors?|attorneys?|counsel|legal\w*)\b"
    r"|\bentendrez parler de (?:notre|mon|nos|mes) (?:avocat\w*|service juridique)|\bhoren von (?:unserem|meinem"
    r"|unseren|meinen) (?:anw(?:a|ae)lt\w*|rechtsabteilung)|\ben manos de (?:nuestro|mi|mis|nuestros) (?:abogad\w*"
    r"|departamento juridico|juridico)|\bnas maos d[oa]s? (?:nosso|meu|nossos|meus) (?:advogad\w*|juridico)"
    r"|\bnoticias d[oa]s? (?:nosso|meu|nossos|meus) advogad\w*|\bin den handen (?:unseres|meines) anwalt\w*"
    r"|\bentre les mains de (?:notre|mon|nos) (?:avocat\w*|service juridique)",
    r"\b(?:letter|notice) from (?:our|my) (?:counsel|lawyers?|solicitors?)\b",
    r"\b(?:talking|speaking|consulting|talk|speak|consult)(?:ing)? (?:to|with) (?:my |our |a |an )?(?:lawyers?"
    r"|laywers?|attorneys?|solicitors?)\b",
    r"\b(?:instructed|hired|hire|getting|get|contacting|contacted|call(?:ing)?|involv\w*) (?:a |an |my |our )?"
    r"(?:law firm|lawyers?|attorneys?|solicitors?|legal (?:folks|team|counsel))\b",
    r"\b(?:hands|hand) of (?:my|our) (?:solicitors?|lawyers?|attorneys?)\b",
    r"(?<!colleague )(?<!coworker )(?<!named )(?<!called )(?<!friend )(?<!and )(?<!with )(?<!ask )"
    r"\b(?:sue|sueing|suing|sued)\b(?! (?:anyone|anybody|nobody|can\b|can't|cannot|is\b|has\b|from\b|and\b"
    r"|wants|needs|says|said|'s|will be|in\b))",
    r"\b(?:law ?suits?|lawsiut|class[- ]action|filing suit|file suit|file a suit)\b",
    r"\blegal (?:action|proceedings?|steps|route|recourse|measures|avenue\w*)\b",
    r"\b(?:in|to) (?:court|the courts?)\b(?! reporting)|\bsmall[- ]claims\b|\b(?:the |a )?judge\b"
    r"|\btribunal\w*\b",
    r"\bcourt order\b|\bcease (?:and|&) desist\b|\bbreach of (?:contract|the contract)\b",
    r"\b(?:claim for damages|seeking compensation|compensation through|damages)\b",
    r"\bformal notice\b|\breserving all our rights\b|\binsurance covers what'?s coming\b",
    r"\b(?:take|taking) (?:this|it) further\b|\bproper channels\b|\btaking action\b|\bwe are taking action\b",
    r"\billegal\b",
    r"\b(?:this is|that's|thats|it's|its|is|pure|plain) (?:a |an |pure |plain )?(?:fraud|scam|theft)\b"
    r"|\bas (?:fraud|fraudulent)\b|\bidentity theft\b|\bfraudulent\b",
    # payment disputes, chargebacks
    r"\bcharge ?-?backs?\b|\bchargb?ack\b|\bchargback\b|\bretrofactur\w*|\bruckbelastung\w*",
    rf"\b(?:disput\w*|contest\w*|revers\w*|claw ?back|recall\w*|block|pull\w*|block and claw)\b.{{0,50}}\b{_BANK}\b",
    rf"\b{_BANK}\b.{{0,60}}\b(?:disput\w*|revers\w*|claw\w* back|claw ?back|pull\w* the (?:money|payment)"
    r"|(?:money|payment) back|refund(?:ed)? me|investigat\w*|contest\w*|charging (?:the|it) back|is handling"
    r"|opening a case|handle it|deal with you|recall\w*|getting my money back|send the money back|reverse it"
    r"|get (?:it|the money|my money|them) back|revirt\w*|reviert\w*"
    r"|reembols\w*|devolver\w*|devuelva|anul\w*|revert\w*|tramitando|caso|rembours\w*|annul\w*|rejeter"
    r"|dossier|litige|zuruck\w*|storn\w*|reklam\w*|fall ist|estorn\w*|cancel\w*|desfazer|o caso"
    r"|encarguen|encargue|debrouillez|klaren sie|resolvam|enquet\w*|pruft|prufen|untersuch\w*|ermitt\w*)",
    r"\b(?:opened|open|opening|filed|raise[ds]?|raising) (?:a |an )?(?:dispute|claim)\b",
    rf"\b(?:case|claim|complaint|reclam\w*|ruckruf\w*|reclamacao|contestacao)\b.{{0,40}}\b{_BANK}\b"
    rf"|\b{_BANK}\b.{{0,60}}\b(?:reclam\w*|complaint|claim|ruckruf\w*|reaver|recuperer l'argent|revierta"
    r"|reconozca)",
    r"\b(?:ma banque|mi banco|o banco|el banco|meine bank|my bank|the bank)\b.{0,20}\b(?:a |ha |hat )?(?:rejet\w*"
    r"|recus\w*|refus\w*|rechaz\w*|declined|abgelehnt|zuruckgewiesen)\b.{0,20}\b(?:prelevement|debito|debit|cargo"
    r"|cobro|charge|payment|lastschrift|abbuchung)",
    rf"\b(?:let|have|get) (?:my |the )?{_BANK} (?:sort|deal|handle|take)",
    r"\bforward\w* (?:\w+ ){0,3}to (?:my|our) (?:lawyers?|attorneys?|solicitors?|counsel|legal\w*)",
    r"\b(?:payment|charge|transaction|debit)s? (?:is|are|will be|gets|getting|is getting|will get) (?:being )?"
    r"(?:reversed|disputed|charged back|clawed back|recalled)\b",
    r"\b(?:violat\w*|breach\w*|infring\w*|illegal under|against the law|viola\w*|verstoss\w*|verstost|enfreint)\b"
    r".{0,30}\b(?:gdpr|rgpd|dsgvo|lgpd|ccpa|the law|la ley|la loi|das gesetz|a lei|privacy|data protection)\b"
    r"|\bsell(?:ing|s)? my (?:info|information|data|personal data)\b",
    r"\b(?:as|which) the law requires\b|\byou are legally (?:required|obliged)\b|\bby law you (?:must|have to)\b",
    r"\b(?:this is|that's|es un|esto es un|c'est du|das ist|isso e|e) (?:robo|vol|diebstahl|roubo|theft)\b"
    r"|\brechtlich\w* (?:dagegen|gegen|vor)\b|\bacao judicial\b|\bprocesso judicial\b|\bentrar com (?:uma )?acao\b"
    r"|\b(?:pregunte|preguntara) (?:mi|nuestro) abogad\w*|\bfragt (?:\w+ ){0,2}(?:mein|unser)\w* anw(?:a|ae)lt",
    r"\b(?:i'm|i am|i'll|i will|we're|we are|we will|we'll|going to|gonna) disput\w*\b(?! (?:that|whether))"
    r"|\bdisputing (?:the|this|that|your|these) (?:charges?|payments?|transactions?|bill|invoice)\b"
    r"|\bfile (?:a )?dispute\b|\bcharge reversal\b|\bstop(?:ped)? (?:the )?payment\b"
    r"|\b(?:let|have|had|get|got) (?:my|the) (?:bank|card (?:company|issuer)|credit card(?: company)?|issuer)"
    r" (?:deal|handle|sort|take care|reverse|refund|claw|pull|get)",
    r"\b(?:you'll|you will) (?:be )?hear(?:ing)? from (?:us|me|my|our)\b|\bthis (?:isn't|is not) over\b"
    r"|\bi know my rights\b|\bwe know our rights\b|\byou(?:'ll| will) regret\b|\bsee you in court\b",
    r"\bunauthori[sz]ed (?:transaction|charge|payment)\b|\bnever authori[sz]ed\b|\bunrecogni[sz]ed transactions?\b",
    r"\b(?:the )?(?:charge|transaction|payment) is being disputed\b",
    # regulators and authorities
    rf"\b(?:report\w*|complain\w*|complaint\w*|contact\w*|escalat\w*|going|go|notify\w*|tell|reporting|saisi\w*"
    r"|acudir\w*|ir a|ire a|denunci\w*|reclam\w*|signal\w*|alert\w*|avisar|informar\w*|ecrire|informiere|melde"
    rf"|wende|geht|gehe|vou ao|vou a|acionar|apresentar|registrar|writing|write|klacht\w*|meld\w*|dien\w*"
    rf"|segnal\w*|reclamo|esposto|denunc\w*|presentero|faro|inform\w*|beschwer\w*|forward\w*|queixa\w*|queja\w*)\b"
    rf".{{0,60}}"
    rf"\b{_REGULATOR}\b",
    rf"\b{_REGULATOR}\b.{{0,40}}\b(?:will|hear|know|interested|next|love|adorar|adorer|interess\w*|informe\w*"
    r"|informad\w*|sabra|saura|erfahrt|weet|le interesa|vai adorar|va adorer)\b",
    rf"\b(?:le interesa|interessiert|va adorer|vai adorar|would love to hear)\b.{{0,40}}\b{_REGULATOR}\b",
    r"\bfile (?:a )?(?:formal )?complaint\b|\bformal complaint\b",
    # Spanish
    # any tense of talking to, consulting or calling one's lawyer ("hable con mi abogado", "he consultado a...")
    r"\b(?:habl|consult|contact|llam)\w* (?:con |a )?(?:mi|mis|nuestro|nuestros|un|una) abogad\w*"
    r"|\b(?:mi|mis|nuestr\w*) abogad\w* (?:se pondr\w*|ya tiene|tiene|va|van|dice|dicen|pregunt\w*|escrib\w*"
    r"|llam\w*|se encarg\w*)",
    r"\bdenuncia\w*|\bdemand\w* (?:por|a ustedes)|\blos demando\b|\bdemandaremos\b|\bvia judicial\b",
    r"\bacciones legales\b|\bjuzgado\b|\ben los tribunales\b|\bjuicio\b|\bante un juez\b"
    r"|\b(?:al|el|la|a la|un|una|del|de la) jueza?\b|\bjuiza\b",
    r"\bcontracargo\w*|\b(?:anul\w*|revert\w*|desconoc\w*|reclamacion|disputa)\b.{0,40}\b(?:cobro|cargo|pago\w*)",
    r"\b(?:queja formal|reclamacion ante|presentare una reclamacion|presentar una queja)\b",
    r"\b(?:es|esto es|como) (?:un |una )?(?:fraude|estafa)\b|\bcobro no reconocido\b|\bacciones por la via\b"
    r"|\btomar medidas\b|\btomaremos acciones\b",
    # French
    r"\b(?:mon|ma|mes|notre|nos) avocat\w* (?:va|vont|a|ont|sera|seront|vous|demandera|ecrira|appellera"
    r"|s'en charge\w*|contactera)\b"
    r"|\b(?:contact\w*|appel\w*|consult\w*|prendre|pris|parle\w* a|vu) (?:mon|un|une|notre) avocat\w*",
    r"\bmise en demeure\b|\bporte\w* plainte\b|\bdeposer plainte\b|\bplainte\b|\bpoursuites?\b|\bpoursuivre\b",
    r"\ben justice\b|\bau tribunal\b|\bvoie judiciaire\b|\bun juge\b|\ble juge\b|\bdommages et interets\b",
    # a lawsuit brought, in any tense ("on vous fera un procès", "nous intenterons un procès")
    r"\b(?:fai\w*|fer(?:a|ai|as|ons|ont|ez)|intent\w*|engag\w*) (?:un )?proces\b|\bproces contre (?:vous|votre)\b",
    r"\bopposition\b|\bcontest\w* (?:le|du) (?:paiement|debit|prelevement)|\b(?:rejeter|annuler) (?:le|ce)"
    r" (?:prelevement|paiement)|\blitige\b(?! de paiement de nos)|\bescroquerie\b|\barnaque\b|\bfrauduleuse\b",
    r"\bprelevement non reconnu\b|\bvoies appropriees\b|\bservice juridique va\b",
    # Italian
    r"\b(?:il mio|mio|nostro|un) avvocat[oa]\b|\bavvocati\b|\b(?:vi|le|ti) (?:faccio|faremo|facciamo) causa\b"
    r"|\bfare causa\b|\bquerela\b|\bdenunci\w*|\btribunale\b|\bgiudice\b|\bazioni? legal[ei]\b"
    r"|\bvie legali\b|\bdiffida\b|\brisarcimento\b|\btruffa\b",
    r"\b(?:contest\w*|storn\w*|annull\w*|bloccat\w*|disconosc\w*)\b.{0,40}\b(?:addebito|pagamento|banca|carta)"
    r"|\b(?:banca|carta di credito)\b.{0,40}\b(?:storn\w*|contest\w*|rimbors\w*|bloccare|annullare)",
    # Dutch
    r"\b(?:mijn|onze|een) advocaat\b|\badvocaten\b|\baanklagen\b|\brechtszaak\b|\brechter\b"
    r"|\bjuridische stappen\b|\bgerechtelijke\b|\baangifte\b|\bingebrekestelling\b|\bschadevergoeding\b"
    r"|\boplichting\b|\boplichters\b",
    r"\b(?:terugboek\w*|terugdraai\w*|storno|betwist\w*|terugvorder\w*|chargeback)\b.{0,40}\b(?:bank|betaling"
    r"|afschrijving|creditcard)|\b(?:bank|creditcard\w*)\b.{0,40}\b(?:terugboek\w*|terugdraai\w*|terughalen"
    r"|betwist\w*|terugvorder\w*|storneren)",
    # German
    r"\b(?:mein|meine|unser|unsere)\w* (?:rechts)?anw(?:a|ae)lt(?:in|e|en)? (?:wird|werden|hat alle|haben alle"
    r"|hat bereits|hat schon"
    r"|meldet|fragt|schreibt|kummert)\b"
    r"|\b(?:einen|meinen) (?:rechts)?anw(?:a|ae)lt(?:in)? ein\b|\banwalt einschalten\b|\bverklag\w*"
    r"|\bmit (?:meinem|meiner|unserem|unserer) (?:rechts)?anw(?:a|ae)lt(?:in)? (?:\w+ )?(?:gesprochen|sprechen"
    r"|telefoniert|besprochen|beraten)\b"
    r"|\bklage\b(?! uber)|\bvor gericht\b|\bgerichtlich\w*|\b(?:amts|land)gericht\b|\brichter\b"
    r"|\brechtliche\w* schritte\b|\bjuristisch\w*\b|\bschadensersatz\b|\babmahnung\b",
    r"\b(?:straf)?anzeige (?:wegen|ist|erstatt\w*|gestellt)|\b(?:erstatte|stelle) (?:eine )?\w*anzeige|\bstrafanzeige\b"
    r"|\bbetrug\b|\babzocke\b|\brechtswidrig\b|\brechtsabteilung wird\b",
    r"\b(?:lastschrift|zahlung|abbuchung|buchung|belastung)\b.{0,40}\b(?:zuruck\w*|widerruf\w*|reklamiert"
    r"|angefochten|storn\w*|nicht autorisiert)|\bzuruckbuch\w* lassen\b|\bkauferschutz\b|\bwiderspruch\b",
    r"\bbei (?:meiner|der) bank reklamiert\b|\bgebotenen weg\b",
    # Portuguese
    r"\b(?:fal\w* com|convers\w* com|consult\w*|contrat\w*) (?:o |a )?(?:meu|minha|nosso|um|uma) advogad\w*"
    r"|\b(?:meu|minha|nossos?|nossas?) advogad\w* (?:vai|vao|ja tem|tem|entrar|entram|pergunta\w*|escreve\w*"
    r"|liga\w*|cuida\w*)",
    r"\bprocess(?:o|ar|arei|amos)?\b (?:contra|voces)|\bprocesso voces\b|\bna justica\b|\bjuizado\b"
    r"|\b(?:ir|vou|vamos|irei|iremos) (?:a|para a) justica\b"
    r"|\bjuiz\b|\bmedidas judiciais\b|\bindenizacao\b|\bnotificacao extrajudicial\b|\bboletim de ocorrencia\b",
    r"\b(?:contest\w*|estorn\w*|desfazer|cancelar esse pagamento|cancelar o pagamento)\b.{0,40}"
    r"\b(?:cobranca|pagamento|compra|debito|banco|cartao)|\bestornar o pagamento\b|\bcontestacao\b",
    r"\b(?:e|isso e|foi) (?:um )?(?:golpe|fraude)\b|\bcanais competentes\b|\b(?:registrar|apresentar) queixa\b"
    r"|\bpedi (?:o )?estorno\b",
]
# The widget's other languages (Swedish, Danish, Norwegian, Finnish, Polish, Japanese, Korean, Chinese): the key
# words of a legal threat, a payment dispute or a regulator, without the intent layer (recall first; no corpus yet).
THREAT += [
    r"\b(?:min|mina|var|mine|vores|minun|moj|mojego) (?:advokat\w*|jurist\w*|asianajaja\w*|prawnik\w*"
    r"|adwokat\w*)\b|\b(?:stamma|stammer|sagsøge|sagsoge|saksøke|saksoke|haastaa oikeuteen|pozw\w*"
    r"|sad (?:rozstrzygnie|sprawe)|domstol\w*|retten|tuomioistuin\w*|oikeuteen)\b",
    r"\b(?:bestrid\w*|aterkrav\w*|tilbageført\w*|tilbagefort\w*|chargeback\w*|reklamer\w* (?:hos|til)"
    r" (?:banken|kortselskabet)|kiista\w*|takaisinveloitu\w*|obciazenie zwrotne|reklamacj\w* w banku)\b",
    r"\b(?:konsumentverket|arn|forbrugerombudsmand\w*|forbrukerradet|forbrukertilsynet|datatilsynet"
    r"|integritetsskyddsmyndigheten|imy|kuluttajariitalautakun\w*|kkv|tietosuojavaltuute\w*|uokik|uodo|rzecznik\w*"
    r"|polisen|politiet|poliisi|policj\w*)\b",
    # written as the normalisation leaves them (Hangul decomposed, Japanese voicing marks dropped)
    normal(
        "(?:弁護士|訴え|訴訟|裁判|消費者センター|警察|チャージバック|변호사|소송|고소|소비자원|경찰|차지백|律师|起诉|诉讼|法院|消费者协会|12315"
        "|报警|拒付|退单)"
    ),
]
# "I don't want to go to court, but you leave me no choice": the negation does not take the threat back.
NO_CHOICE = (
    r"\b(?:leav\w*|left|give|giving|gave) (?:me|us) no (?:option|choice|alternative)\b"
    r"|\bno (?:other )?(?:option|choice) (?:but|left)\b|\bno me (?:dejan|deja|dejas) (?:otra )?(?:opcion|eleccion"
    r"|alternativa)\b|\bne me laisse\w* pas (?:le )?choix\b|\blasse\w* (?:mir|uns) keine (?:wahl|andere wahl)\b"
    r"|\bnao (?:me|nos) deix\w* (?:outra )?escolha\b"
    r"|\bnon (?:mi|ci) lasciate (?:altra )?scelta\b|\blaten (?:me|ons) geen (?:keus|keuze)\b"
)
THREAT += [
    NO_CHOICE,
    r"\bactionable\b|\blitigat\w*|\blegal recourse\b",
    r"\b(?:lawyers?|attorneys?|solicitors?|legal|counsel) (?:get|gets|will get|are getting|getting|become|will be|be)"
    r" involved\b",
    r"\bzeige\w* (?:sie|euch|dich|ihn|die firma|ihr unternehmen) an\b|\banzeigen werde\b",
]
MENTION = (
    r"\b(?:lawyers?|attorneys?|solicitors?|legal|law|gdpr|rgpd|dsgvo|lgpd|ccpa|hipaa|dpa|compliance|compliant"
    r"|conformit\w*|cumplimiento|conformidade|regulat\w*|privacy|data protection|dispute\w*|chargebacks?|court"
    r"|abogad\w*|avocat\w*|anwalt\w*|advogad\w*|juridi\w*|litige\w*|contracargos?|disputas?|streitfall\w*"
    r"|ruckbuchung\w*|avvocat\w*|advocaat|advocaten|juridisch\w*|legale|garante|privacy)\b"
)
# One's own buyers' payment disputes, told or asked about: someone else's dispute, not the visitor's (a threat
# phrase inside it is set aside, domain/decisions/legal.py; the topic is Billing, domain/decisions/topics.py):
# "can our shop handle chargebacks from our own buyers?"
_OWN_PARTY = (
    r"(?:our|our own|one of our|some of our|nuestr[oa]s(?: propi[oa]s)?|(?:de |uno de |una de )?nuestr[oa]s"
    r"|nos(?: propres)?|(?:un|une|l'un) de nos|unsere[nr]?(?: eigenen)?|einer unserer|eine unserer|nossos(?: proprios)?"
    r"|(?:um|uma) d[oa]s noss[oa]s)"
)
_BUYERS = (
    r"(?:customers?|buyers?|shoppers?|clients?|(?:end )?users?|clientes?|compradores?|usuarios?|consumidores?"
    r"|acheteurs?|utilisateurs?|kunden|kaufer\w*|nutzer\w*)"
)
_DISPUTE = (
    r"(?:charge ?-?backs?|contracargos?|retrofacturation\w*|ruckbuchung\w*|zuruckbuch\w*|ruckbelastung\w*"
    r"|disput\w*|litiges?|contest\w*|reclam\w* (?:un|el|o|a) (?:cargo|cobro|pago|compra)|revers\w* (?:a |the )?"
    r"(?:payment|charge)|estorno\w*|widerspr\w*)"
)
OWN_DISPUTES = (
    rf"\b{_OWN_PARTY} {_BUYERS}\b.{{0,80}}\b{_DISPUTE}|\b(?:um|uma|un|una|ein|eine|a|one) (?:\w+ )?(?:cliente|clienta"
    rf"|comprador\w*|kunde|customer|client|buyer) (?:nosso|nossa|nuestr[oa]|von uns|of ours)\b.{{0,80}}\b{_DISPUTE}"
    rf"|\b{_DISPUTE}\b.{{0,40}}\b(?:from|by|of|de|des|von|der|dos|das|d[eo]s) {_OWN_PARTY} {_BUYERS}\b"
)
# Negation of a threat in the same sentence: "not going to sue", "nobody is threatening", "not disputing".
NEGATED = [
    r"\b(?:not|never|no one|nobody|n't|dont|don't|won't|wont) (?:\w+ ){0,4}(?:sue|suing|threaten\w*|disput\w*"
    r"|going to sue|lawyer\w*|court|chargeback\w*|report\w*|contest\w*)\b",
    r"\bnot (?:going to|gonna) sue\b|\bnot threatening\b",
    r"\b(?:not|never|n't) (?:trying|going|looking|planning|wanting|out|here) to\b(?: [\w']+){0,4} (?:or|nor)"
    r"(?: (?!(?:i|we|i'll|we'll|ill|will|else|my|our|you|then)\b)[\w']+){0,3} (?:sue|lawyers?|attorneys?|legal|court"
    r"|dispute|chargeback)\b",
    # a verbal negation a few words before the threat's noun, in five languages
    r"\b(?:not|never|n't|no (?:tengo (?:intencion|pensado)|pienso|voy|quiero|planeo)|je ne (?:vais|veux|compte)"
    r"|n'ai pas l'intention|nao (?:vou|pretendo|quero|tenho intencao)|(?:will|werde|habe) (?:nicht|kein\w*)"
    r"|nicht vor|keine absicht)\b(?: \w+){0,5} (?:legal\w*|court|courts|tribunal\w*|lawyers?|attorneys?"
    r"|abogad\w*|avocat\w*|anw(?:a|ae)lt\w*|advogad\w*|juzgad\w*|justic\w*|jueces|juez|juge|proces|klage\w*"
    r"|gericht\w*|rechtlich\w*|juridi\w*|judicia\w*|plainte|poursuites?|juicio|denuncia|demanda|queixa|processo"
    r"|anzeige)\b",
    # legal words as the subject of a question or of the visitor's trade, not an action
    r"\bchargeback (?:fees?|rates?|polic\w*|protection|ratio|process\w*)\b|\bcourt[- ]reporting\b"
    r"|\b(?:customers?|clients?|users?|buyers?|visitors?|clientes?|usuarios?|kunden?|utilisateurs?)\b.{0,15}"
    r"\b(?:threaten\w*|amenaz\w*|menac\w*|droh\w*|ameac\w*|minacci\w*|dreig\w*)\b"
    r"|\b(?:customers?|clientes?|clients?|kunden?)\b.{0,40}\b(?:chargebacks?|contracargos?|ruckbuchung\w*)\b"
    r"|\b(?:chargebacks?|contracargos?)\b.{0,30}\b(?:from|de) (?:one of )?(?:our|nuestros?|nos|unser\w*)\b"
    r"|\b(?:law firm|legal services|legal tech)\b.{0,40}\b(?:trial|demo|seats?|pricing|plan|customers?)\b",
    # reported speech: the visitor's own customers are the subject (the possessive before or after the noun), or
    # someone of the visitor's own life joking ("one of our customers threatened to take us to
    # court"), so the threat is not the visitor's
    r"\b(?:one of our|our own|some of our|a few of our|uno de nuestros|una de nuestras|algunos de nuestros|l'un de nos"
    r"|un de nos|une de nos|certains de nos|einer unserer|eine unserer|einer von unseren|manche unserer|um dos nossos"
    r"|uma das nossas|alguns dos nossos)\b.{0,20}\b(?:customers?|clients?|buyers?|shoppers?|users?|members?|tenants?"
    r"|patients?|students?|clientes?|compradores?|usuarios?|kunden|kaufer\w*|nutzer\w*|utilisateurs?|acheteurs?"
    r"|alunos?|alumnos?|eleves?)\b",
    r"\b(?:um|uma|un|una|ein|eine|a|one)\b (?:\w+ )?(?:cliente|clienta|comprador\w*|usuari[oa]|kunde|kundin|kaufer\w*"
    r"|customer|client|buyer) (?:nosso|nossa|nuestr[oa]|von uns|of ours)\b"
    r"|\b(?:my|our|mi|mon|ma|mein\w*|meu|minha) (?:boss|manager|wife|husband|partner|colleague|coworker|friend|mom|dad"
    r"|jefe|jefa|patron|chef\w*|chefe)\b.{0,15}\b(?:jok\w*|kidd\w*|bromea\w*|en broma|plaisant\w*|blagu\w*|scherz\w*"
    r"|brinc\w*)\b",
    # the negation after the verb: "ich verklage hier keinen", "no pienso denunciar a nadie"
    r"\b(?:verklag\w*|sue|suing|denunci\w*|demand\w*|process\w*|poursui\w*|anzeig\w*)\b(?: \w+){0,2}"
    r" (?:keinen|niemanden|nobody|anyone|anybody|a nadie|ninguem|personne)\b",
    # ...or before it: "ich will niemanden verklagen", "a nadie voy a denunciar"
    r"\b(?:niemanden|keinen|a nadie|ninguem|nobody|no one)\b(?: \w+){0,2} (?:verklag\w*|sue|suing|denunci\w*"
    r"|demandar|processar|poursuivre|anzeigen)\b",
    # the visitor asking the company how to get money back is a refund question, not a dispute with a bank
    r"\b(?:can|could|how do|how can|may|puedo|como|comment|kann|wie) (?:i|we|recupero|puis-je|ich|bekomme)\b"
    r"[^.!?]{0,40}\b(?:back|recuper\w*|zuruck)\b[^.!?]*\?",
    # a refund the company approved, still on its way: not a dispute
    r"\b(?:estorno|reembolso|refund|remboursement|erstattung|devolucion|devolucao)\b[^.?!]{0,30}\b(?:que (?:voces"
    r"|ustedes|vous) (?:aprovaram|aprobaron|avez accepte|avez valide|confirmaram|confirmaron)|you (?:approved"
    r"|confirmed)|(?:was|been) (?:approved|confirmed)|genehmigt\w*|bestatigt\w*|aprovad\w*|aprobad\w*|valide\w*"
    r"|confirmad\w*)\b",
    r"\b(?:nadie|no voy a|no estoy)\b.{0,30}\b(?:amenaz\w*|demandar|reclamando|denunciar)\b",
    r"\b(?:personne ne|je ne vais|je ne)\b.{0,30}\b(?:menace|poursuivre|conteste)\b",
    r"\b(?:niemand|nicht|niemanden)\b.{0,30}\b(?:droht|verklage|zuruckbuchen)\b|\bverklage niemanden\b",
    r"\b(?:ninguem|nao vou|nao estou)\b.{0,30}\b(?:ameac\w*|processar|contestando)\b",
    r"\b(?:nessuno|non (?:voglio|sto|faro))\b.{0,30}\b(?:minaccia\w*|causa|denuncia\w*|contest\w*)\b",
    r"\b(?:niemand|ik ga niet|ik wil niet)\b.{0,30}\b(?:dreigt|aanklagen|betwist\w*)\b",
]
# A question about the product or about compliance, not a demand: "can your product handle chargebacks?",
# "is it GDPR compliant?", "does the bot understand when customers threaten to sue?".
ABOUT = [
    r"\b(?:can|does|do|is|are|how|what|which|where)\b.{0,40}\b(?:your (?:product|tool|bot|platform|api)|the bot"
    r"|the (?:api|widget|chat|dashboard|tool)"
    r"|with your|integrat\w*|webhook|handle|manage|our (?:own )?(?:buyers|customers|shop))\b",
    r"\b(?:su producto|votre (?:produit|outil)|euer produkt|o produto de voces|integr\w*)\b",
    r"\b(?:when|if|where) (?:a |an |our |my |the )?(?:customers?|users?|visitors?|buyers?|clients?) (?:threaten\w*"
    r"|disput\w*|open\w*|mention\w*|say\w*|ask\w*|complain\w*|talk\w*|file\w*)\b",
]
COMPLIANCE_QUESTION = (
    r"\b(?:gdpr|rgpd|dsgvo|lgpd|ccpa|hipaa|dpa|soc ?2|iso ?27001|compliant|compliance|conform\w*|cumplimiento"
    r"|subprocessors?|data residency|retention|encargado|sous-traitance|auftragsverarbeitung|av-vertrag|baa"
    r"|contractual clauses|terms of service|privacy policy|terminos|cgv|agb|termos)\b"
)
# Concepts in frames of action (domain/decisions/lexicon.py): legal professionals, courts, regulators named in
# full, money taken back through a bank, direct-debit returns, payments never authorised.
THREAT += lexicon.THREAT_FRAMES
# the authorities of the list above said to act next, with the lexicon's verbs ("UFC-Que Choisir sera ravie")
THREAT.append(rf"\b{_REGULATOR}\b.{{0,50}}\b{lexicon.REGULATOR_NEXT}\b")
