"""The delivery policy and the integration rules, pure: outcomes, the retry schedule with jitter and Retry-After,
event types, URLs, the Integrations aggregate."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from commands.integrations.secrets import check_url, new_webhook_secret
from domain.errors import Conflict, InvalidInput, NotFound
from domain.integrations import (
    DELIVERED,
    FAILED,
    MAX_ENDPOINTS,
    RETRY,
    RETRY_SCHEDULE_S,
    Integrations,
    Secret,
    check_event_types,
    outcome_of,
    parse_retry_after,
    retry_delay,
)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, DELIVERED),
        (204, DELIVERED),
        (299, DELIVERED),
        (None, RETRY),
        (408, RETRY),
        (409, RETRY),
        (429, RETRY),
        (500, RETRY),
        (503, RETRY),
        (301, FAILED),
        (400, FAILED),
        (401, FAILED),
        (404, FAILED),
        (410, FAILED),
    ],
)
def test_what_an_answer_means(status: int | None, outcome: str) -> None:
    assert outcome_of(status) == outcome


def test_the_standard_webhooks_schedule_with_jitter_then_dead() -> None:
    # Given the schedule after the immediate first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
    assert RETRY_SCHEDULE_S == (5, 300, 1800, 7200, 18000, 36000, 36000)
    rand = random.Random(7)
    for attempt, base in enumerate(RETRY_SCHEDULE_S, start=1):
        delays = {retry_delay(attempt, rand=rand) for _ in range(50)}
        # I expect each delay within ±10 % of the step, and spread (jitter), not one value
        assert all(d is not None and 0.9 * base <= d <= 1.1 * base for d in delays)
        assert len(delays) > 40
    # and no retry after the last attempt: the delivery is dead
    assert retry_delay(len(RETRY_SCHEDULE_S) + 1) is None


def test_retry_after_is_honoured_and_capped() -> None:
    assert retry_delay(1, retry_after_s=120, rand=random.Random(1)) == 120  # longer than the 5 s step
    assert 4.5 <= (retry_delay(1, retry_after_s=1, rand=random.Random(1)) or 0) <= 5.5  # never sooner than the step
    assert retry_delay(1, retry_after_s=10**9) == 86_400


def test_retry_after_headers() -> None:
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert parse_retry_after("30") == 30
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("Mon, 07 Dec 2026 10:01:00 GMT", now) == 60
    assert parse_retry_after("yesterday") is None
    assert parse_retry_after(None) is None


def test_event_types_are_checked_and_ordered() -> None:
    assert check_event_types(["csat.rated", "message.created", "csat.rated"]) == ["message.created", "csat.rated"]
    with pytest.raises(InvalidInput) as err:
        check_event_types(["message.deleted"])
    assert err.value.code == "unknown_event_type"
    with pytest.raises(InvalidInput):
        check_event_types("message.created")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/x", "url_not_https"),
        ("https://127.0.0.1/x", "url_private_address"),
        ("https://192.168.1.10/x", "url_private_address"),
        ("https://[fe80::1]/x", "url_private_address"),
        ("https://0.0.0.0/x", "url_private_address"),
        ("https://no-such-host.invalid/x", "url_unresolvable"),
        ("javascript:alert(1)", "invalid_url"),
        ("", "invalid_url"),
    ],
)
def test_urls_refused_as_deployed(url: str, code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_url(url, allow_private=False)
    assert err.value.code == code


def test_the_development_setting_allows_http_and_private_addresses() -> None:
    assert check_url(" http://127.0.0.1:8080/hooks ", allow_private=True) == "http://127.0.0.1:8080/hooks"
    assert check_url("https://93.184.215.14/hooks", allow_private=False) == "https://93.184.215.14/hooks"


def test_secrets_are_standard_webhooks_secrets() -> None:
    from standardwebhooks.webhooks import Webhook

    secret = new_webhook_secret()
    assert secret.startswith("whsec_") and secret != new_webhook_secret()
    Webhook(secret)  # the package accepts it


def test_the_aggregate_keeps_endpoints_and_rotation() -> None:
    admin = uuid.uuid4()
    integrations = Integrations(uuid.uuid4())
    integrations.add_endpoint("ep_1", "https://x.example.com", ["csat.rated"], "", Secret("k", "c1", "aaaa"), admin)
    integrations.rotate_secret("ep_1", Secret("k", "c2", "bbbb"), admin)
    endpoint = integrations.endpoint("ep_1")
    assert endpoint.secret.last4 == "bbbb" and endpoint.previous_secret and endpoint.previous_secret.last4 == "aaaa"
    assert endpoint.previous_valid_until is not None
    overlap = endpoint.previous_valid_until - integrations.modified_on
    assert abs(overlap - timedelta(hours=24)) < timedelta(seconds=1)
    assert endpoint.to_dict()["secret"] == "whsec_…bbbb" and "c2" not in str(endpoint.to_dict())
    with pytest.raises(NotFound):
        integrations.endpoint("ep_2")
    with pytest.raises(InvalidInput) as err:
        integrations.change_endpoint("ep_1", {"secret": "x"}, admin)
    assert err.value.code == "unknown_field"
    for i in range(MAX_ENDPOINTS - 1):
        integrations.add_endpoint(
            f"ep_{i + 2}", "https://x.example.com", ["csat.rated"], "", Secret("k", "c", "c"), admin
        )
    with pytest.raises(Conflict):
        integrations.add_endpoint("ep_x", "https://x.example.com", ["csat.rated"], "", Secret("k", "c", "c"), admin)
