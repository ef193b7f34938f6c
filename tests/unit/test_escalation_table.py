"""The escalation engine against realistic visitor messages, each labelled with the rule a support lead expects
and the topic. Prints precision and recall per rule; P1 recall must be 100% and overall accuracy at least 90%.

Labels follow the policy in docs/escalation.md, not the engine's output: a row the engine gets wrong stays wrong.
Columns: message, expected rule, expected topic, reply confidence (None: not known yet), turn number.
"""

from __future__ import annotations

from collections import Counter

import pytest

from domain.assessment import topic_of
from domain.escalation import HUMAN, LOW, NONE, P1, P2, P3, decide

LEGAL, REF, AUTH, BILL, API, ONB, OTHER = (
    "Legal & Compliance",
    "Refunds & Cancellation",
    "Passwords & Auth",
    "Billing",
    "API & Integrations",
    "Onboarding",
    "Other",
)
OK = 0.8  # a confident reply

CASES: list[tuple[str, str, str, float | None, int]] = [
    # P1: legal threats, chargebacks, regulators, data protection (every phrasing must be caught)
    ("if this isnt fixed by friday my lawyer will be in touch", P1, LEGAL, OK, 1),
    ("I'm talking to my laywer about this tomorrow", P1, LEGAL, OK, 1),
    ("you guys are gonna get sued, this is theft", P1, LEGAL, OK, 1),
    ("Im seriously considering suing your company", P1, LEGAL, OK, 1),
    ("We will be taking legal action if the data is not restored.", P1, LEGAL, OK, 1),
    ("ok I'm doing a chargeback then. done with this", P1, LEGAL, OK, 1),
    ("i'll just dispute the charge with my bank", P1, LEGAL, OK, 1),
    ("I already called my credit card company to dispute this payment", P1, LEGAL, OK, 1),
    ("filing a GDPR complaint with the ICO today", P1, LEGAL, OK, 1),
    ("This is a data protection violation and I will report it", P1, LEGAL, OK, 1),
    ("I invoke my right to erasure and I'll complain to the DPA if ignored", P1, LEGAL, OK, 1),
    ("reporting you to the FTC for deceptive billing", P1, LEGAL, OK, 1),
    ("i will contact the consumer protection agency about this scam", P1, LEGAL, OK, 1),
    ("going to the ombudsman next", P1, LEGAL, OK, 1),
    ("see you in small claims court", P1, LEGAL, OK, 1),
    ("our attorney sent you a cease and desist last week, did you get it?", P1, LEGAL, OK, 1),
    ("Voy a hablar con mi abogado sobre esto", P1, LEGAL, OK, 1),
    ("je vais contacter mon avocat", P1, LEGAL, OK, 1),
    ("Mein Anwalt wird sich bei Ihnen melden.", P1, LEGAL, OK, 1),
    ("voy a poner una denuncia, esto es un fraude", P1, LEGAL, OK, 1),
    ("My atorney says your terms are unenforceable", P1, LEGAL, OK, 1),
    ("thinking about a class action with other customers tbh", P1, LEGAL, OK, 1),
    ("I got charged $900 and I'm filing a chargback", P1, LEGAL, OK, 1),
    # a question about compliance is answered, filed under Legal & Compliance (issue 16 changed the policy, which
    # made every GDPR mention P1 "questions included"; compliance_questions: escalate restores it)
    ("is your product GDPR compliant? need to know before we sign", NONE, LEGAL, OK, 1),
    ("we need a signed DPA before procurement approves", NONE, LEGAL, OK, 1),
    ("I'll be filing a complaint with the attorney general", P1, LEGAL, OK, 1),
    ("your lawsiut is coming buddy", P1, LEGAL, OK, 1),
    ("My bank is going to reverse the payment, I already told them it was unauthorized", P1, LEGAL, OK, 1),
    ("we received a subpoena asking for a customer's chat logs, who do we send it to", P1, LEGAL, OK, 1),
    ("Refund me the €450 or I'm going to the regulator", P1, LEGAL, OK, 1),
    ("i want all my data deleted under gdpr, article 17", P1, LEGAL, OK, 1),
    ("CAN I TALK TO A HUMAN OR DO I NEED A LAWYER", P1, LEGAL, OK, 1),
    ("this is a breach of contract, plain and simple", P1, LEGAL, OK, 1),
    ("We're going to report this to the Better Business Bureau", P1, LEGAL, OK, 1),
    # P2: refund asked for, over 200 in the stated currency
    ("I want a refund for the $250 you charged me yesterday", P2, REF, OK, 1),
    ("pls refund 250 dollars, i never used it", P2, REF, OK, 1),
    ("Requesting a refund of USD 1,200.50 for the annual plan", P2, REF, OK, 1),
    ("hi, can I get my €300 back? cancelled on day 2", P2, REF, OK, 1),
    ("I would like 300 euros refunded, wrong plan was selected", P2, REF, OK, 1),
    ("looking for a refund of 3k, the team never onboarded", P2, REF, OK, 1),
    ("you billed us £480 for seats we removed, need that refunded", P2, REF, OK, 1),
    ("can i get my money back? it was 499$", P2, REF, OK, 1),
    ("refund the $2,400 annual renewal please, we didnt want it to renew", P2, REF, OK, 1),
    ("Hola, quiero un reembolso de 350 euros", P2, REF, OK, 1),
    ("Ich möchte eine Rückerstattung von 600 €", P2, REF, OK, 1),
    ("je voudrais un remboursement de 250€ svp", P2, REF, OK, 1),
    ("we paid 1200 usd for the enterprise tier and it doesnt work, we want a refund", P2, REF, OK, 1),
    ("charged twice, $399 each time, refund one of them", P2, REF, OK, 1),
    ("need a refnd on my last invoice ($780)", P2, REF, OK, 1),
    ("give us back the 5k we paid for onboarding that never happened", P2, REF, OK, 1),
    # below the threshold, or no amount: the AI helps
    ("can i get a refund for the $50 addon?", NONE, REF, OK, 1),
    ("I was charged £75 by mistake, could you refund it", NONE, REF, OK, 1),
    ("how do refunds work if I cancel mid month?", NONE, REF, OK, 1),
    ("refund policy?", NONE, REF, OK, 1),
    ("I want to cancel my subscription", NONE, REF, OK, 1),
    ("can I get 20 dollars back for the outage day", NONE, REF, OK, 1),
    ("upgrade to the $300 plan - what do I get?", NONE, BILL, OK, 1),
    ("our invoice says €1,200, is VAT included?", NONE, BILL, OK, 1),
    # a person asked for
    ("can i talk to a human", HUMAN, OTHER, OK, 1),
    ("I want to speak to a real person please", HUMAN, OTHER, OK, 1),
    ("get me a representative", HUMAN, OTHER, OK, 1),
    ("is there an actual human there?", HUMAN, OTHER, OK, 1),
    ("operator", HUMAN, OTHER, OK, 1),
    ("pls connect me with someone from your support team, the bot isnt helping", HUMAN, OTHER, OK, 1),
    ("I need to talk to an agent about my invoice", HUMAN, BILL, OK, 1),
    ("let me speak with your manager", HUMAN, OTHER, OK, 1),
    ("transfer me to a live agent", HUMAN, OTHER, OK, 1),
    ("can someone call me? my number is on the account", HUMAN, OTHER, OK, 1),
    ("I don't want to chat with a bot, I want someone real", HUMAN, OTHER, OK, 1),
    ("quiero hablar con una persona", HUMAN, OTHER, OK, 1),
    ("je veux parler à un humain", HUMAN, OTHER, OK, 1),
    ("Kann ich bitte mit einem Mitarbeiter sprechen?", HUMAN, OTHER, OK, 1),
    ("my password reset keeps failing, can I speak to somebody", HUMAN, AUTH, OK, 1),
    ("please escalate this, it's been 3 days", HUMAN, OTHER, OK, 1),
    # P3: not resolved by the turn limit (6)
    ("still doesnt work", P3, OTHER, OK, 6),
    ("nope, same error as before", P3, OTHER, OK, 7),
    ("the webhook still fails with a 401", P3, API, OK, 6),
    ("tried that too. no luck", P3, OTHER, 0.2, 6),
    ("still getting locked out after the 2fa code", P3, AUTH, OK, 8),
    # low confidence of the reply
    ("how do I configure the SCIM provisioning for okta groups", LOW, OTHER, 0.25, 1),
    ("does your thing work with our on-prem AS/400", LOW, OTHER, 0.1, 2),
    ("why is the export missing the custom fields from last tuesday", LOW, OTHER, 0.3, 3),
    ("can the api do bulk upserts with partial failures", LOW, API, 0.35, 1),
    ("what's the rate limit for the graphql endpoint", LOW, API, 0.39, 2),
    # nothing fires: everyday questions answered by the AI
    ("How do I reset my password?", NONE, AUTH, OK, 1),
    ("i cant log in, it says invalid credentials", NONE, AUTH, OK, 1),
    ("where do i find my invoices", NONE, BILL, OK, 1),
    ("Can I pay by bank transfer instead of card?", NONE, BILL, OK, 1),
    ("how do i add a VAT number to the invoice", NONE, BILL, OK, 1),
    ("our webhook signature doesn't verify", NONE, API, OK, 1),
    ("Is there a python SDK?", NONE, API, OK, 1),
    ("how do I connect Slack", NONE, API, OK, 1),
    ("how do I import my contacts from a csv", NONE, ONB, OK, 1),
    ("just signed up, how do i get started?", NONE, ONB, OK, 1),
    ("how do i invite my team", NONE, ONB, OK, 1),
    ("thanks, that worked!", NONE, OTHER, OK, 2),
    ("hi", NONE, OTHER, OK, 1),
    ("is the dark mode coming soon", NONE, OTHER, OK, 1),
    ("the api layer returns 500 since this morning", NONE, API, OK, 1),
    ("how do i change the plan for my team", NONE, BILL, OK, 1),
    ("do you support SSO with google", NONE, AUTH, OK, 1),
    ("what happens to my data if I cancel", NONE, REF, OK, 1),
    ("my human resources team needs access, how do I add them", NONE, ONB, OK, 1),
    ("the agent field in the report is empty", NONE, OTHER, OK, 1),
    ("can i get the report back in csv instead of pdf", NONE, OTHER, OK, 1),
    ("our sales rep said we'd get 20% off, where do I enter the code", NONE, OTHER, OK, 1),
    ("how many users can I have on the $49 plan", NONE, BILL, OK, 1),
    ("Order #4821 shows 3 seats, we have 250 employees, how does pricing work", NONE, BILL, OK, 1),
    ("hola, como cambio mi contraseña", NONE, AUTH, OK, 1),
    ("wie exportiere ich meine Rechnungen", NONE, BILL, OK, 1),
    ("can I get a refund if I downgrade within 14 days", NONE, REF, OK, 1),
    # written after the engine, without running it first: harder phrasings
    ("I'll have to get our legal folks involved at this point", P1, LEGAL, OK, 1),
    ("this violates the CCPA, you're selling my info", P1, LEGAL, OK, 1),
    ("gonna report u to trading standards", P1, LEGAL, OK, 1),
    ("my bank says they can claw back the payment if you don't respond", P1, LEGAL, OK, 1),
    ("we were charged two hundred and fifty dollars, want a refund", P2, REF, OK, 1),
    ("refund the $150 seat plus the $100 setup fee", P2, REF, OK, 1),
    ("lemme talk to ur boss", HUMAN, OTHER, OK, 1),
    ("any humans around??", HUMAN, OTHER, OK, 1),
    ("the callback URL for the webhook returns 404", NONE, API, OK, 1),
    ("how do I cancel and get the unused $30 back", NONE, REF, OK, 1),
    ("i'd rather have a person look at this honestly", HUMAN, OTHER, OK, 1),
    ("password reset email never arrives, tried 4 times", NONE, AUTH, OK, 4),
    # written after a review for false positives, not tuned
    ("how do I upload a .ico file as the widget icon", NONE, OTHER, OK, 1),
    ("o processo de login não funciona", NONE, AUTH, OK, 1),
    ("hay mucha demanda, necesitamos más asientos en el plan", NONE, BILL, OK, 1),
    ("my colleague Sue can't log in", NONE, AUTH, OK, 1),
]


def test_the_table_has_at_least_100_messages() -> None:
    assert len(CASES) >= 100


def run() -> list[tuple[str, str, str, str, str]]:
    """(message, expected rule, decided rule, expected topic, classified topic) per row."""
    out = []
    for text, rule, topic, confidence, turn in CASES:
        decision = decide([text], turns=turn, confidence=confidence)
        out.append((text, rule, decision.rule, topic, topic_of(text)))
    return out


def report(rows: list[tuple[str, str, str, str, str]]) -> dict[str, tuple[float, float, int]]:
    """Per rule: precision, recall, support; printed with the misses."""
    expected, got = Counter(r[1] for r in rows), Counter(r[2] for r in rows)
    hits = Counter(r[1] for r in rows if r[1] == r[2])
    stats: dict[str, tuple[float, float, int]] = {}
    print(f"\n{'rule':<28}{'precision':>10}{'recall':>8}{'support':>9}")
    for rule in (P1, P2, HUMAN, P3, LOW, NONE):
        precision = hits[rule] / got[rule] if got[rule] else 1.0
        recall = hits[rule] / expected[rule] if expected[rule] else 1.0
        stats[rule] = (precision, recall, expected[rule])
        print(f"{rule:<28}{precision:>10.2%}{recall:>8.2%}{expected[rule]:>9}")
    accuracy = sum(hits.values()) / len(rows)
    topics = sum(r[3] == r[4] for r in rows) / len(rows)
    print(f"rule accuracy {accuracy:.2%}, topic accuracy {topics:.2%} over {len(rows)} messages")
    for text, rule, decided, topic, classified in rows:
        if rule != decided or topic != classified:
            print(f"  MISS {text!r}: rule {rule} -> {decided}; topic {topic} -> {classified}")
    return stats


def test_precision_and_recall_per_rule() -> None:
    rows = run()
    stats = report(rows)
    assert stats[P1][1] == 1.0, "every legal or compliance message must escalate"
    assert sum(r[1] == r[2] for r in rows) / len(rows) >= 0.90
    assert sum(r[3] == r[4] for r in rows) / len(rows) >= 0.90


@pytest.mark.parametrize(
    ("messages", "rule"),
    [
        (["I was billed twice", "it's $600 in total and I want it refunded"], P2),
        (["my lawyer has the details", "ok whatever"], P1),
        (["can I talk to someone?", "never mind, found it"], NONE),
    ],
)
def test_the_whole_conversation_counts_for_p1_and_p2_and_the_latest_message_for_a_human(
    messages: list[str], rule: str
) -> None:
    assert decide(messages, confidence=OK).rule == rule
