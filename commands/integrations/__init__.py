"""Use cases of the integrations: webhook endpoints, Slack, redelivery (domain/integrations.py)."""
