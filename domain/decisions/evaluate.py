"""Measure the decision on the corpus: per rule precision / recall / F1, amount accuracy, topic accuracy, a
confusion table, per language, and the misses. Used by ``chatassist eval decisions`` and the test suite."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.decisions import corpus
from domain.decisions.judge import Verdict, uncertain

# the LLM judge as the evaluation calls it: the visitor's messages -> a verdict, or the layer of its failure
Judge = Callable[[list[str]], "Verdict | dict[str, Any]"]

RULE_OF = {"p1_legal": "p1", "p2_refund_over_threshold": "p2", "human_requested": "person"}
MEASURED = ("p1", "p2", "person")


@dataclass
class Score:
    """Counts for one slice (a split, a language)."""

    n: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    amount_hits: int = 0
    amount_right: int = 0
    topic_right: int = 0

    def prf(self, rule: str) -> tuple[float, float, float, int]:
        """Precision, recall, F1 and support of a rule (1.0 when there is nothing to measure)."""
        tp = self.confusion[(rule, rule)]
        got = sum(v for (_, g), v in self.confusion.items() if g == rule)
        want = sum(v for (e, _), v in self.confusion.items() if e == rule)
        p = tp / got if got else 1.0
        r = tp / want if want else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f, want

    @property
    def amount_accuracy(self) -> float:
        """Share of true P2 hits whose amount and currency are the labelled ones."""
        return self.amount_right / self.amount_hits if self.amount_hits else 1.0

    @property
    def topic_accuracy(self) -> float:
        """Share of conversations filed under the labelled topic."""
        return self.topic_right / self.n if self.n else 1.0

    def summary(self) -> dict[str, Any]:
        """Plain figures."""
        out: dict[str, Any] = {"conversations": self.n}
        for rule in MEASURED:
            p, r, f, s = self.prf(rule)
            out[rule] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": s}
        out["amount_accuracy"] = round(self.amount_accuracy, 4)
        out["amount_hits"] = self.amount_hits
        out["topic_accuracy"] = round(self.topic_accuracy, 4)
        return out


@dataclass
class Report:
    """The whole evaluation of one split."""

    split: str
    overall: Score
    by_language: dict[str, Score]
    misses: list[dict[str, Any]]
    judge: dict[str, int] | None = None  # with the judge: conversations asked, verdicts, failures, decisions changed

    def text(self) -> str:
        """The printed report."""
        lines = [f"split {self.split}: {self.overall.n} conversations"]
        if self.judge is not None:
            j = self.judge
            lines.append(
                f"LLM judge: asked on {j['asked']} uncertain conversations, {j['verdicts']} verdicts, "
                f"{j['failures']} failures, {j['changed']} decisions changed"
            )
        lines.append(f"{'slice':<8}{'rule':<8}{'precision':>10}{'recall':>8}{'f1':>7}{'support':>9}")
        for name, score in [("all", self.overall), *sorted(self.by_language.items())]:
            for rule in MEASURED:
                p, r, f, s = score.prf(rule)
                lines.append(f"{name:<8}{rule:<8}{p:>10.1%}{r:>8.1%}{f:>7.3f}{s:>9}")
            lines.append(
                f"{name:<8}amount accuracy {score.amount_accuracy:.1%} of {score.amount_hits} P2 hits; "
                f"topic accuracy {score.topic_accuracy:.1%}"
            )
        rules = ["p1", "p2", "person", "none"]
        lines.append("confusion (rows expected, columns decided): " + " ".join(f"{r:>7}" for r in rules))
        for e in rules:
            lines.append(f"  {e:<8}" + " ".join(f"{self.overall.confusion[(e, g)]:>7}" for g in rules))
        lines.append(f"{len(self.misses)} misses")
        return "\n".join(lines)


def _amount_ok(example: corpus.Example, evidence: dict[str, Any]) -> bool:
    if example.amount is None or "amount" not in evidence:
        return False
    return Decimal(str(evidence["amount"])) == example.amount and evidence.get("currency") == example.currency


def evaluate(split: str, judge: Judge | None = None) -> Report:
    """Decide every conversation of the split with the default rules and score it against its labels. With
    ``judge``, the uncertain decisions are decided again with its verdict, as the chat turn does."""
    from domain.escalation import decide  # the engine imports this package; import it when measuring

    overall, by_language, misses = Score(), dict[str, Score](), list[dict[str, Any]]()
    judged = {"asked": 0, "verdicts": 0, "failures": 0, "changed": 0}
    for example in corpus.split(split):
        decision = decide(list(example.messages))
        if judge is not None and uncertain(decision.evidence):
            answer = judge(list(example.messages))
            judged["asked"] += 1
            if isinstance(answer, Verdict):
                judged["verdicts"] += 1
                again = decide(list(example.messages), verdict=answer)
            else:
                judged["failures"] += 1
                again = decide(list(example.messages), judge_failed=answer)
            judged["changed"] += (again.rule, again.topic) != (decision.rule, decision.topic)
            decision = again
        got = RULE_OF.get(decision.rule, "none")
        for score in (overall, by_language.setdefault(example.language, Score())):
            score.n += 1
            score.confusion[(example.rule, got)] += 1
            score.topic_right += decision.topic == example.topic
            if example.rule == "p2" and got == "p2":
                score.amount_hits += 1
                score.amount_right += _amount_ok(example, decision.evidence)
        amount_wrong = example.rule == got == "p2" and not _amount_ok(example, decision.evidence)
        if got != example.rule or decision.topic != example.topic or amount_wrong:
            misses.append(
                {
                    "language": example.language,
                    "line": example.line,
                    "messages": list(example.messages),
                    "expected": {"rule": example.rule, "topic": example.topic, "amount": str(example.amount),
                                 "currency": example.currency},
                    "decided": {"rule": got, "topic": decision.topic, "amount": decision.evidence.get("amount"),
                                "currency": decision.evidence.get("currency"),
                                "decided_by": decision.evidence.get("decided_by")},
                }
            )  # fmt: skip
    return Report(split, overall, by_language, misses, judged if judge is not None else None)
