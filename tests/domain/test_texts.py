"""The message catalogue: every key the code uses exists, and renders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import CONFIG_DIR
from bot.domain.texts import Texts, TextsError, chunks, placeholders

ROOT = Path(__file__).resolve().parents[2]
KEY_RE = re.compile(r"""["']((?:[a-z_]+)\.(?:[a-z_]+))["']""")
# Event names look like keys but are not: log.info("relay.to_client", client=12).
LOG_EVENT_RE = re.compile(r"""log\.(?:debug|info|warning|error|exception)\(\s*["'][^"']*["']""")


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts.load(CONFIG_DIR / "messages")


def keys_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        found.update(KEY_RE.findall(LOG_EVENT_RE.sub("", path.read_text(encoding="utf-8"))))
    return found


def test_every_key_the_code_names_exists(texts: Texts) -> None:
    sections = {key.split(".")[0] for key in texts.names()}
    used = {k for k in keys_in_code() if k.split(".")[0] in sections and not k.endswith(".toml")}
    assert used, "the scan found no keys at all"
    missing = sorted(key for key in used if not texts.has(key))
    assert missing == []


def test_every_language_has_every_key_with_the_same_placeholders(texts: Texts) -> None:
    english = texts.names("en")
    for language in texts.languages:
        assert texts.names(language) == english, language
        for key in english:
            assert placeholders(texts.get(key, language, **_dummy(texts, key))) == set()
            assert placeholders(_raw(language, key)) == placeholders(_raw("en", key))


def _raw(language: str, key: str) -> str:
    import tomllib

    data = tomllib.loads((CONFIG_DIR / "messages" / f"{language}.toml").read_text("utf-8"))
    for part in key.split("."):
        data = data[part]
    assert isinstance(data, str)
    return data


def _dummy(texts: Texts, key: str) -> dict[str, str]:
    return {name: "x" for name in placeholders(_raw("en", key))}


def test_no_text_shouts_or_pressures(texts: Texts) -> None:
    for key in texts.names():
        text = _raw("en", key)
        assert "!!" not in text, key
        assert "haven't answered" not in text.lower(), key


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
