"""Every sentence the bot says comes from config/messages/<language>.toml through here."""

from __future__ import annotations

import string
import tomllib
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

DEFAULT_LANGUAGE = "en"
# Telegram takes 4096 characters in a message; a little room is left for a header.
MESSAGE_LIMIT = 4000


def supported_language(
    code: str | None, languages: Collection[str], fallback: str = DEFAULT_LANGUAGE
) -> str:
    """The language to use for a Telegram language code: es-MX, es_419 and ES are es; a code
    with no file of its own (or none at all), the fallback."""
    if not code:
        return fallback
    code = code.strip().lower().replace("_", "-")
    if code in languages:
        return code
    base = code.split("-", 1)[0]
    return base if base in languages else fallback


def _folded(text: str) -> str:
    """Lower case without accents: "Español" and "espanol" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


class TextsError(ValueError):
    """A message file that cannot be used (missing, unreadable, or a bad key)."""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, str):
            flat[name] = value
        else:
            raise TextsError(f"{name}: every message must be text")
    return flat


def placeholders(template: str) -> set[str]:
    """Return the {names} a template expects."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


class Texts:
    """The catalogue of messages for every language, with English as the fallback."""

    def __init__(self, catalogues: Mapping[str, Mapping[str, str]]) -> None:
        if DEFAULT_LANGUAGE not in catalogues:
            raise TextsError(f"no {DEFAULT_LANGUAGE} messages")
        self._catalogues = {lang: dict(messages) for lang, messages in catalogues.items()}

    @classmethod
    def load(cls, folder: Path) -> Texts:
        """Read every <language>.toml in the folder."""
        catalogues: dict[str, dict[str, str]] = {}
        for path in sorted(folder.glob("*.toml")):
            try:
                with path.open("rb") as handle:
                    catalogues[path.stem] = _flatten(tomllib.load(handle))
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise TextsError(f"{path}: {error}") from error
        return cls(catalogues)

    @property
    def languages(self) -> frozenset[str]:
        """Languages with a message file."""
        return frozenset(self._catalogues)

    def language_for(self, code: str | None) -> str:
        """The catalogue language for a Telegram language code (English if there is none)."""
        return supported_language(code, self._catalogues)

    def language_named(self, typed: str) -> str | None:
        """The language someone typed, as a code ("es", "es-MX") or by its own name
        ("Español", "espanol"); None if no file has it."""
        wanted = _folded(typed)
        for code, messages in sorted(self._catalogues.items()):
            if wanted == _folded(messages.get("language.name", code)):
                return code
        return supported_language(wanted, self._catalogues, "") or None

    def names(self, language: str = DEFAULT_LANGUAGE) -> frozenset[str]:
        """All message keys of one language."""
        return frozenset(self._catalogues[language])

    def has(self, key: str) -> bool:
        """True if the key exists in English."""
        return key in self._catalogues[DEFAULT_LANGUAGE]

    def get(self, key: str, language: str, **params: object) -> str:
        """Render one message in the language, falling back to English.

        The language has no default: every text is read by someone, and a forgotten one
        had left the staff reading English whatever they chose.
        """
        catalogue = self._catalogues.get(language, self._catalogues[DEFAULT_LANGUAGE])
        template = catalogue.get(key) or self._catalogues[DEFAULT_LANGUAGE][key]
        return template.format_map(params)


def chunks(lines: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join lines into as few messages as fit within `limit` characters each.

    A line longer than that (a long transfer note, a summary naming hundreds of clients)
    is split where it has a space or a line break, and only where it has none, anywhere:
    it goes on in the next message instead of being cut short.
    """
    messages: list[str] = []
    current = ""
    for line in _pieces(lines, limit):
        if current and len(current) + 1 + len(line) > limit:
            messages.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        messages.append(current)
    return messages


def _pieces(lines: Iterable[str], limit: int) -> Iterator[str]:
    """The lines, each longer one split into pieces of at most `limit` characters."""
    for line in lines:
        while len(line) > limit:
            cut = max(line.rfind(" ", 1, limit + 1), line.rfind("\n", 1, limit + 1))
            if cut > 0:
                yield line[:cut]
                line = line[cut + 1 :]
            else:
                yield line[:limit]
                line = line[limit:]
        yield line
