"""The layered escalation and topic decision (docs/escalation.md): text normalisation, multilingual patterns, an
intent layer, a small statistical classifier trained from the corpus in ``domain/data/decisions``, amounts with
currency conversion. Pure: stdlib only."""
