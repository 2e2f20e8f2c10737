"""The message catalogue: every key the code uses exists, and renders."""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.config import CONFIG_DIR
from bot.domain.safety import SafetyScreen
from bot.domain.texts import Texts, TextsError, chunks, placeholders

ROOT = Path(__file__).resolve().parents[2]
KEY_RE = re.compile(r"""["']((?:[a-z_]+)\.(?:[a-z_]+))["']""")
# Event names look like keys but are not: log.info("relay.to_client", client=12).
LOG_EVENT_RE = re.compile(r"""log\.(?:debug|info|warning|error|exception)\(\s*["'][^"']*["']""")
# Every language with a message file: each must be complete.
LANGUAGES = sorted(path.stem for path in (CONFIG_DIR / "messages").glob("*.toml"))


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts.load(CONFIG_DIR / "messages")


def keys_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        found.update(KEY_RE.findall(LOG_EVENT_RE.sub("", path.read_text(encoding="utf-8"))))
    return found


def test_english_and_spanish_are_shipped(texts: Texts) -> None:
    assert {"en", "es"} <= texts.languages


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_the_code_names_exists_in_every_language(texts: Texts, language: str) -> None:
    sections = {key.split(".")[0] for key in texts.names()}
    used = {k for k in keys_in_code() if k.split(".")[0] in sections and not k.endswith(".toml")}
    assert used, "the scan found no keys at all"
    missing = sorted(used - texts.names(language))
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_file_has_every_other_files_keys_with_the_same_placeholders(
    texts: Texts, language: str
) -> None:
    for other in LANGUAGES:
        assert sorted(texts.names(language) ^ texts.names(other)) == [], (language, other)
        for key in texts.names(other):
            assert placeholders(_raw(language, key)) == placeholders(_raw(other, key)), key
    for key in texts.names(language):
        assert placeholders(texts.get(key, language, **_dummy(key))) == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_safety_resources(language: str) -> None:
    table = tomllib.loads((CONFIG_DIR / "safety" / f"{language}.toml").read_text("utf-8"))
    assert isinstance(table.get("resources"), str) and table["resources"].strip()
    assert (
        SafetyScreen.load(CONFIG_DIR / "safety").resources(language) == table["resources"].strip()
    )


def test_every_safety_file_has_resources() -> None:
    for path in sorted((CONFIG_DIR / "safety").glob("*.toml")):
        table = tomllib.loads(path.read_text("utf-8"))
        assert isinstance(table.get("resources"), str) and table["resources"].strip(), path


def test_language_names_and_the_consent_version_agree(texts: Texts) -> None:
    names = [texts.get("language.name", language) for language in LANGUAGES]
    assert len(set(names)) == len(names)
    assert {texts.get("consent.version", language) for language in LANGUAGES} == {"2"}


@functools.cache
def _file(language: str) -> dict[str, Any]:
    """A message file as parsed (read once: the tests ask it for every key)."""
    return tomllib.loads((CONFIG_DIR / "messages" / f"{language}.toml").read_text("utf-8"))


def _raw(language: str, key: str) -> str:
    data: Any = _file(language)
    for part in key.split("."):
        data = data[part]
    assert isinstance(data, str)
    return data


def _dummy(key: str) -> dict[str, str]:
    return {name: "x" for name in placeholders(_raw("en", key))}


@pytest.mark.parametrize(
    ("language", "pressure"),
    [
        ("en", ("haven't answered", "you didn't reply")),
        ("es", ("no has respondido", "no has contestado")),
    ],
)
def test_no_text_shouts_or_pressures(
    texts: Texts, language: str, pressure: tuple[str, ...]
) -> None:
    for key in texts.names(language):
        text = _raw(language, key)
        assert "!!" not in text, key
        assert not any(words in text.lower() for words in pressure), key


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("es", "es"),
        ("es-MX", "es"),
        ("es_419", "es"),
        ("ES", "es"),
        ("en-GB", "en"),
        ("fr", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_a_telegram_language_code_picks_a_catalogue(
    texts: Texts, code: str | None, language: str
) -> None:
    assert texts.language_for(code) == language


@pytest.mark.parametrize(
    ("typed", "language"),
    [
        ("es", "es"),
        (" ES ", "es"),
        ("es-MX", "es"),
        ("Español", "es"),
        ("espanol", "es"),
        ("english", "en"),
        ("en", "en"),
        ("fr", None),
        ("spanish please", None),
        ("e", None),
        ("", None),
    ],
)
def test_a_typed_language_is_a_code_or_its_own_name(
    texts: Texts, typed: str, language: str | None
) -> None:
    assert texts.language_named(typed) == language


def test_unknown_language_falls_back_to_english(texts: Texts) -> None:
    assert texts.get("specialist.joined", "xx", alias="Alex") == "Alex has joined."


def test_a_broken_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text('a = "ok"\nb = 3\n')
    with pytest.raises(TextsError, match="b: every message must be text"):
        Texts.load(tmp_path)


@pytest.mark.parametrize(
    ("lines", "messages"),
    [
        (["one", "two", "three"], ["one\ntwo", "three"]),
        (["a" * 12], ["a" * 10, "aa"]),
        (["short", "many words here to go"], ["short", "many words", "here to go"]),
        (["first line\nsecond line"], ["first line", "second", "line"]),
        ([], []),
    ],
)
def test_chunks_fill_messages_and_split_long_lines_without_losing_words(
    lines: list[str], messages: list[str]
) -> None:
    assert chunks(lines, limit=10) == messages
    assert "".join(messages).replace("\n", "").replace(" ", "") == (
        "".join(lines).replace("\n", "").replace(" ", "")
    )


# The same word in both languages.
SAME_IN_SPANISH = {"safety_levels.kind_audio", "safety_levels.kind_video", "language.choice"}


def test_every_text_with_words_is_written_in_spanish_too(texts: Texts) -> None:
    """The staff's texts as well as the clients': a Spanish-speaking team reads them all
    (only symbols, layouts like "{alias} ({count})" and the listed words are the same)."""
    same = []
    for key in texts.names("en"):
        english = _raw("en", key)
        words = re.sub(r"\{[a-z_]+\}", "", english)
        if re.search(r"[A-Za-z]{2,}", words) and english == _raw("es", key):
            same.append(key)
    assert sorted(set(same) - SAME_IN_SPANISH - {"consent.version"}) == []


def test_every_category_of_the_safety_screen_has_a_name_in_every_language(
    texts: Texts,
) -> None:
    categories: set[str] = set()
    for path in (CONFIG_DIR / "safety").glob("*.toml"):
        categories |= set(tomllib.loads(path.read_text("utf-8")).get("categories", {}))
    assert categories
    for language in LANGUAGES:
        named = {
            key.removeprefix("safety_categories.")
            for key in texts.names(language)
            if key.startswith("safety_categories.")
        }
        assert sorted(categories - named) == [], language
