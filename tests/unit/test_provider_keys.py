"""Provider keys: format checks, masking, AES-GCM with key ids, rotation order, binding to workspace and provider."""

from __future__ import annotations

import uuid

import pytest

from commands.provider_keys.cipher import KeyCipher, UnknownEncryptionKey, generate_key_spec, parse_key_spec
from domain.errors import InvalidInput, NotFound
from domain.provider_keys import ProviderKeyring, check_key_format, masked

ANTHROPIC_KEY = "sk-ant-api03-" + "a" * 40 + "7f3a"
OPENAI_KEY = "sk-proj-" + "b" * 40 + "9c2d"


@pytest.mark.parametrize(
    ("provider", "key"),
    [
        ("anthropic", "sk-" + "a" * 40),  # an OpenAI-style key for Anthropic
        ("openai", ANTHROPIC_KEY),  # an Anthropic key for OpenAI
        ("anthropic", "sk-ant-short"),
        ("openai", "sk-has a space" + "x" * 20),
        ("openai", "pk-" + "x" * 40),
        ("openai", 12345),
    ],
)
def test_keys_of_the_wrong_shape_are_refused(provider: str, key: object) -> None:
    with pytest.raises(InvalidInput) as err:
        check_key_format(provider, key)
    assert err.value.code == "invalid_api_key"
    assert str(key) not in err.value.message


def test_an_unknown_provider_is_not_found() -> None:
    with pytest.raises(NotFound) as err:
        check_key_format("mistral", "sk-" + "x" * 30)
    assert err.value.code == "unknown_provider"


def test_keys_are_masked_with_their_prefix_and_last_four() -> None:
    assert check_key_format("anthropic", f"  {ANTHROPIC_KEY} ") == ANTHROPIC_KEY
    assert masked("anthropic", ANTHROPIC_KEY[-4:]) == "sk-ant-…7f3a"
    assert masked("openai", OPENAI_KEY[-4:]) == "sk-…9c2d"


def test_encryption_round_trips_and_is_bound_to_workspace_and_provider() -> None:
    cipher = KeyCipher(generate_key_spec("k1"))
    ws = uuid.uuid4()
    key_id, blob = cipher.encrypt(ws, "anthropic", ANTHROPIC_KEY)
    assert key_id == "k1" and ANTHROPIC_KEY not in blob
    assert cipher.decrypt(ws, "anthropic", key_id, blob) == ANTHROPIC_KEY
    with pytest.raises(ValueError):
        cipher.decrypt(uuid.uuid4(), "anthropic", key_id, blob)
    with pytest.raises(ValueError):
        cipher.decrypt(ws, "openai", key_id, blob)
    assert cipher.encrypt(ws, "anthropic", ANTHROPIC_KEY)[1] != blob  # a fresh nonce each time


def test_the_first_key_encrypts_and_every_listed_key_decrypts() -> None:
    old, new = generate_key_spec("old"), generate_key_spec("new")
    ws = uuid.uuid4()
    _, blob = KeyCipher(old).encrypt(ws, "openai", OPENAI_KEY)
    rotated = KeyCipher(f"{new},{old}")
    assert rotated.current == "new"
    assert rotated.decrypt(ws, "openai", "old", blob) == OPENAI_KEY
    with pytest.raises(UnknownEncryptionKey):
        KeyCipher(new).decrypt(ws, "openai", "old", blob)


@pytest.mark.parametrize(
    "spec",
    ["", "nokey", "k1:not-base64!", "k1:" + "QUFB", "k 1:" + generate_key_spec().split(":")[1], "a:x,a:y"],
)
def test_malformed_key_lists_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_key_spec(spec)


def test_the_keyring_records_set_test_and_remove_with_the_actor() -> None:
    by = uuid.uuid4()
    ring = ProviderKeyring(uuid.uuid4())
    ring.set_key("openai", "k1", "cipher", "9c2d", by)
    ring.record_test("openai", False, "openai rejected the key (401).", by)
    assert ring.keys["openai"].test_ok is False and ring.keys["openai"].tested_at is not None
    ring.remove_key("openai", by)
    with pytest.raises(NotFound) as err:
        ring.remove_key("openai", by)
    assert err.value.code == "key_not_found"
    names = [type(e).__name__ for e in ring.collect_events()]
    assert names == ["Created", "KeySet", "KeyTested", "KeyRemoved"]
