"""Invite codes and aliases."""

from __future__ import annotations

import pytest

from bot.domain.invites import AliasError, clean_alias, hash_code, looks_like_code, new_code


def test_codes_are_long_random_and_url_safe() -> None:
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(looks_like_code(code) for code in codes)
    assert all(len(code) == 22 for code in codes)  # 16 bytes, 128 bits


def test_only_the_hash_is_stored_and_it_is_stable() -> None:
    code = new_code()
    assert hash_code(code) == hash_code(code)
    assert code.encode() not in hash_code(code)
    assert hash_code(code) != hash_code(new_code())


@pytest.mark.parametrize("text", ["", "short", "x" * 23, "has space in it 1234567", "a/b" * 8])
def test_shapes_that_are_not_codes(text: str) -> None:
    assert not looks_like_code(text)


@pytest.mark.parametrize(
    ("raw", "alias"),
    [
        ("Alex", "Alex"),
        ("  Mary   Jane ", "Mary Jane"),
        ("José 🌱", "José 🌱"),
        ("O'Brien", "O'Brien"),
        ("Robert'); DROP TABLE clients;--", "Robert'); DROP TABLE clients;--"),
        ("مريم", "مريم"),
    ],
)
def test_aliases_that_are_kept(raw: str, alias: str) -> None:
    assert clean_alias(raw) == alias


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("", "alias.empty"),
        ("   ", "alias.empty"),
        ("x" * 33, "alias.too_long"),
        ("/start", "alias.invalid"),
        ("Ev\u202eil", "alias.invalid"),
        ("tab\u200bbed", "alias.invalid"),
        ("bell\x07", "alias.invalid"),
    ],
)
def test_aliases_that_are_refused(raw: str, key: str) -> None:
    with pytest.raises(AliasError) as refused:
        clean_alias(raw)
    assert str(refused.value) == key
