"""Safety screen: phrases that may signal crisis or harm, read in memory and never kept.

A programme keeps one file per language in config/safety/<language>.toml: the resources text
a client sees, and phrases grouped by category (the file's header explains the phrase
syntax). At load every phrase is compiled, once, into one regular expression per language,
shaped as a trie so that a long list costs little per message. Matching tolerates the usual
ways people write, on both sides:

- capitals, full-width and mathematical letters, accents ("está" is "esta") and apostrophes
  of every kind ("don't" is "dont") are folded away by `normalise`;
- every run of spaces, punctuation, emoji and the like is one space, and a phrase matches
  whole words only ("skill myself" is not "kill myself", "therapist" is not "the rapist");
- digits and symbols standing for letters inside words: "k1ll", "3nd", "$elf", "k!ll";
- stretched letters: a letter three or more times counts once ("diiie" is "die"), and a
  doubled letter may be written once or stretched ("kil", "killll");
- each file's [spellings] read as other words ("wanna" is "want to").

Why the screen returns only a category: the specialist needs to know that a message may be
urgent, not which words tripped it, and nothing of the text should travel past this call.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.domain.texts import supported_language

FALLBACK_LANGUAGE = "en"
MAX_PHRASE_LENGTH = 300
MAX_WORDINGS_PER_PHRASE = 512
# How the shipped resources text marks the place for a programme's local crisis lines.
PLACEHOLDER = "[Programme:"

# Apostrophe, grave and acute accents, curly and reversed quotes, prime, full-width and
# modifier apostrophes: all dropped, so "don't" however it is typed reads as "dont".
_APOSTROPHES = "'`\u00b4\u2018\u2019\u201b\u2032\uff07\u02bc"
# Digits that stand for letters. The text keeps its digits ("30 pills" stays a number) and
# the compiled phrases accept them in place of the letter instead.
_LOOKALIKES = {"a": "4", "e": "3", "i": "1", "l": "1", "o": "0", "s": "5", "t": "7"}
# Symbols that stand for letters, turned into the letter only inside or next to a word, so
# "die!" keeps its "!" as punctuation. Each pattern starts with its symbol, which the regex
# engine finds quickly.
_SYMBOLS = (
    ("!", re.compile(r"!(?<=[^\W\d_]!)(?=[^\W\d_])"), "i"),
    ("@", re.compile(r"@(?:(?<=\w@)|(?=\w))"), "a"),
    ("$", re.compile(r"\$(?:(?<=\w\$)|(?=\w))"), "s"),
)
_ASCII_NON_WORD = str.maketrans(
    {chr(point): " " for point in range(128) if not chr(point).isalnum()}
)
_ZERO_WIDTH_SPACE = 0x200B
_RUN = re.compile(r"(.)\1*")
_GROUP = re.compile(r"\[([^\[\]()]*)\]|\(([^\[\]()]*)\)")
_SYNTAX = frozenset("[]()|")
# Normalised text is words joined by single spaces, with a space at each end, so a pattern
# can start with a literal space (which the regex engine scans for quickly) and end here.
_WORD_END = "(?= )"


class SafetyConfigError(ValueError):
    """A safety file that cannot be used; the message names the file and the key."""


class PhraseError(ValueError):
    """A phrase whose brackets or bars do not follow the phrase syntax."""


Level = Literal["urgent", "concern"]


@dataclass(frozen=True)
class SafetyMatch:
    """What the screen found: a category and its level, never the words or the text.

    `urgent`: explicit intent, plan, method, an overdose taken, harm to others, danger at
    home now (the client gets the crisis reply; escalation starts). `concern`: indirect
    warning signs (the specialist is told loudly; nothing is pushed on the client).
    """

    category: str
    level: Level = "urgent"


def _class_body(points: list[int]) -> str:
    """Sorted code points as the inside of a regex character class, in ranges."""
    parts: list[str] = []
    for _, run in itertools.groupby(enumerate(points), lambda pair: pair[1] - pair[0]):
        members = [point for _, point in run]
        first, last = members[0], members[-1]
        parts.append(f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}")
    return "".join(parts)


@functools.cache
def _unicode_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """What to drop (accents, format characters) and what separates words, for any script.

    Built once from the Unicode database (some 30 ms), so that normalising a message is a
    few passes in C. Spacing marks stay inside their word: in many scripts they are vowels.
    Only the Basic Multilingual Plane is listed, which keeps the classes fast bitmaps; marks
    beyond it (historic scripts, emoji tags) separate words instead, on both sides alike.
    """
    dropped: list[int] = []
    kept: list[int] = []
    for point in range(0x80, 0x10000):
        category = unicodedata.category(chr(point))
        if category in ("Mn", "Me", "Cf") and point != _ZERO_WIDTH_SPACE:
            dropped.append(point)
        elif category == "Mc":
            kept.append(point)
    drop = re.compile(f"[{re.escape(_APOSTROPHES)}{_class_body(dropped)}]+")
    # Whitespace is left to str.split, which is quicker than replacing each space by one.
    non_word = re.compile(f"[^\\w\\s{_class_body(kept)}]+")
    return drop, non_word


def normalise(text: str) -> str:
    """The plain form phrases and messages are compared in: " words like these ", or ""."""
    if text.isascii():
        text = text.replace("'", "").replace("`", "").lower()
    else:
        # NFKD would turn an acute accent used as an apostrophe into a space and a mark.
        text = text.replace("\u00b4", "")
        text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
        text = _unicode_patterns()[0].sub("", text)
    for symbol, pattern, letter in _SYMBOLS:
        if symbol in text:
            text = pattern.sub(letter, text)
    if text.isascii():
        text = text.translate(_ASCII_NON_WORD)
    else:
        text = _unicode_patterns()[1].sub(" ", text)
    words = " ".join(text.split())
    return f" {words} " if words else ""


def _letter(char: str) -> str:
    lookalike = _LOOKALIKES.get(char)
    return f"[{char}{lookalike}]" if lookalike else re.escape(char)


def _units(words: str) -> tuple[str, ...]:
    """Regex pieces for normalised words, one per run of the same character.

    A single letter also matches three or more of it ("diiie"); a doubled one matches any
    run ("kil", "killll"). Repeats are of the plain letter only, so that neighbouring pieces
    never compete for the same characters and a search never backtracks far.
    """
    units: list[str] = []
    for run in _RUN.finditer(words):
        char = run.group(1)
        if char == " ":
            units.append(" ")
        elif char.isdigit():
            units.append(run.group())
        elif len(run.group()) == 1:
            plain = re.escape(char)
            units.append(f"{_letter(char)}(?:{plain}{plain}+)?")
        else:
            units.append(f"{_letter(char)}{re.escape(char)}*")
    return tuple(units)


def expand_phrase(phrase: str) -> list[str]:
    """Every plain wording a phrase stands for: "cut[ting] my (arm|arms)" gives four."""
    if len(phrase) > MAX_PHRASE_LENGTH:
        raise PhraseError(f"longer than {MAX_PHRASE_LENGTH} characters")
    pieces: list[list[str]] = []
    position = 0
    for group in _GROUP.finditer(phrase):
        pieces.append([_literal(phrase[position : group.start()])])
        optional, choice = group.group(1), group.group(2)
        if optional is not None:
            pieces.append(["", *optional.split("|")])
        else:
            pieces.append(choice.split("|"))
        position = group.end()
    pieces.append([_literal(phrase[position:])])
    count = math.prod(len(options) for options in pieces)
    if count > MAX_WORDINGS_PER_PHRASE:
        raise PhraseError(f"stands for {count} wordings; at most {MAX_WORDINGS_PER_PHRASE}")
    return ["".join(choice) for choice in itertools.product(*pieces)]


def _literal(text: str) -> str:
    stray = sorted(_SYNTAX.intersection(text))
    if stray:
        raise PhraseError(
            f"unexpected {' '.join(stray)} (use [optional|endings] or (one|other), not nested)"
        )
    return text


_Trie = dict[str, "_Trie"]
_TERMINAL = "\x00"  # a trie key that ends a sequence: the marker, then what it stands for


def _trie_pattern(sequences: list[tuple[tuple[str, ...], int]]) -> tuple[str, tuple[int, ...]]:
    """One regex for many unit sequences, sharing prefixes so that a scan stays quick.

    Each sequence comes with an index (its category, or its spelling) and ends in an empty
    group; the pattern's k-th group stands for the k-th index returned, so
    `Match.lastindex` tells which one matched.
    """
    root: _Trie = {}
    for units, category in sequences:
        node = root
        for unit in units:
            node = node.setdefault(unit, {})
        node.setdefault(f"{_TERMINAL}{category}", {})
    order: list[int] = []
    return _render(root, order), tuple(order)


def _render(node: _Trie, order: list[int]) -> str:
    branches: list[str] = []
    for unit, child in node.items():
        if unit.startswith(_TERMINAL):
            order.append(int(unit[1:]))
            branches.append(f"{_WORD_END}()")
        else:
            branches.append(unit + _render(child, order))
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


@dataclass(frozen=True)
class _Spellings:
    """Whole words read as other words ("wanna" as "want to"), in messages and phrases."""

    pattern: re.Pattern[str] | None
    readings: tuple[str, ...]  # what each group of the pattern reads as, in group order

    @classmethod
    def build(cls, words: Mapping[str, str]) -> _Spellings:
        if not words:
            return cls(None, ())
        readings = list(words.values())
        trie, order = _trie_pattern([(_units(word), index) for index, word in enumerate(words)])
        return cls(re.compile(f" {trie}"), tuple(readings[index] for index in order))

    def apply(self, normalised: str) -> str:
        if self.pattern is None:
            return normalised
        return self.pattern.sub(self._read, normalised)

    def _read(self, word: re.Match[str]) -> str:
        # The match ends before the next space, so the reading keeps the one in front.
        return f" {self.readings[(word.lastindex or 1) - 1]}"


@dataclass(frozen=True)
class _Language:
    resources: str | None
    spellings: _Spellings
    pattern: re.Pattern[str] | None
    # The category of each group in the pattern, in group order.
    terminals: tuple[str, ...]

    def find(self, normalised: str) -> str | None:
        if self.pattern is None:
            return None
        found = self.pattern.search(self.spellings.apply(normalised))
        if found is None or found.lastindex is None:
            return None
        return self.terminals[found.lastindex - 1]


def _wording_units(wording: str, spellings: _Spellings) -> tuple[str, ...]:
    """Regex pieces for one wording; a "-" lets the parts be joined, split or hyphenated."""
    units: list[str] = []
    for part in wording.split("-"):
        words = spellings.apply(normalise(part)).strip()
        if words:
            if units:
                units.append(" ?")
            units.extend(_units(words))
    return tuple(units)


class _Reader:
    """Checks one language's table and says exactly where a problem is."""

    def __init__(self, source: str, language: str) -> None:
        self.source = source
        self.language = language

    def error(self, key: str, problem: str) -> SafetyConfigError:
        return SafetyConfigError(f"{self.source}: {key}: {problem}")

    def read(self, table: Mapping[str, Any]) -> _Language:
        unknown = sorted(set(table) - {"resources", "spellings", "categories"})
        if unknown:
            raise self.error(unknown[0], "unknown key (expected resources, spellings, categories)")
        required = self.language == FALLBACK_LANGUAGE
        resources = self.resources(table.get("resources"), required)
        spellings = self.spellings(table.get("spellings", {}))
        pattern, terminals = self.categories(table.get("categories"), spellings, required)
        return _Language(resources, spellings, pattern, terminals)

    def resources(self, value: object, required: bool) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error("resources", "must be text (the message a client sees)")
        return value.strip()

    def spellings(self, value: object) -> _Spellings:
        if not isinstance(value, Mapping):
            raise self.error("spellings", 'must be a table of word = "reads as"')
        words: dict[str, str] = {}
        for key, reads_as in value.items():
            word = normalise(str(key)).strip()
            if not word or " " in word:
                raise self.error(f"spellings.{key}", "the left side must be a single word")
            if not isinstance(reads_as, str) or not normalise(reads_as):
                raise self.error(f"spellings.{key}", "must be the words it reads as")
            words[word] = normalise(reads_as).strip()
        return _Spellings.build(words)

    def categories(
        self, value: object, spellings: _Spellings, required: bool
    ) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
        if value is None and not required:
            return None, ()
        if not isinstance(value, Mapping) or not value:
            raise self.error("categories", "must hold at least one [categories.<name>] table")
        names: list[str] = []
        sequences: list[tuple[tuple[str, ...], int]] = []
        for name, category in value.items():
            key = f"categories.{name}"
            if not isinstance(category, Mapping):
                raise self.error(key, "must be a table with phrases = [...]")
            extra = sorted(set(category) - {"phrases"})
            if extra:
                raise self.error(f"{key}.{extra[0]}", "unknown key (expected phrases)")
            phrases = category.get("phrases")
            if not isinstance(phrases, list) or not phrases:
                raise self.error(f"{key}.phrases", "must be a list of at least one phrase")
            for index, phrase in enumerate(phrases):
                for units in self.phrase(f"{key}.phrases[{index}]", phrase, spellings):
                    sequences.append((units, len(names)))
            names.append(str(name))
        trie, order = _trie_pattern(sequences)
        return re.compile(f" {trie}"), tuple(names[index] for index in order)

    def phrase(self, key: str, phrase: object, spellings: _Spellings) -> list[tuple[str, ...]]:
        if not isinstance(phrase, str):
            raise self.error(key, "must be text")
        try:
            wordings = expand_phrase(phrase)
        except PhraseError as error:
            raise self.error(key, f"{phrase!r}: {error}") from error
        units = [_wording_units(wording, spellings) for wording in wordings]
        if not all(units):
            raise self.error(key, f"{phrase!r}: has a wording with no letters or digits")
        return units


class SafetyScreen:
    """Screens a client's text for phrases that may signal crisis; English is always checked.

    Build one with `load` (or `from_tables` in tests) at start-up and share it: it holds only
    compiled phrases, and `screen` keeps nothing of the text it reads.
    """

    def __init__(self, languages: Mapping[str, _Language]) -> None:
        english = languages.get(FALLBACK_LANGUAGE)
        if english is None or english.resources is None:
            raise SafetyConfigError(f"no {FALLBACK_LANGUAGE} safety table with resources")
        self._languages = dict(languages)
        self._fallback_resources = english.resources

    @classmethod
    def load(cls, folder: Path) -> SafetyScreen:
        """Read every <language>.toml in the folder (config/safety/)."""
        tables: dict[str, Mapping[str, Any]] = {}
        sources: dict[str, str] = {}
        for path in sorted(folder.glob("*.toml")):
            try:
                with path.open("rb") as handle:
                    tables[path.stem] = tomllib.load(handle)
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise SafetyConfigError(f"{path}: {error}") from error
            sources[path.stem] = str(path)
        if FALLBACK_LANGUAGE not in tables:
            raise SafetyConfigError(f"{folder}: no {FALLBACK_LANGUAGE}.toml")
        return cls._build(tables, sources)

    @classmethod
    def from_tables(cls, tables: Mapping[str, Mapping[str, Any]]) -> SafetyScreen:
        """Build from already-parsed tables, keyed by language (for tests)."""
        return cls._build(tables, {language: f"<{language}>" for language in tables})

    @classmethod
    def _build(
        cls, tables: Mapping[str, Mapping[str, Any]], sources: Mapping[str, str]
    ) -> SafetyScreen:
        if FALLBACK_LANGUAGE not in tables:
            raise SafetyConfigError(f"no {FALLBACK_LANGUAGE} safety table")
        languages = {
            language.lower(): _Reader(sources[language], language.lower()).read(table)
            for language, table in tables.items()
        }
        return cls(languages)

    @property
    def languages(self) -> frozenset[str]:
        """Languages with a safety file."""
        return frozenset(self._languages)

    def screen(self, text: str, language: str) -> SafetyMatch | None:
        """The category of a phrase found in the text (its language's or English), or None."""
        return self._find(text, (self._resolve(language), FALLBACK_LANGUAGE))

    def screen_all(self, text: str, language: str) -> SafetyMatch | None:
        """As screen, then in every other loaded language too (for a message whose writer's
        chosen language is not known yet)."""
        return self._find(
            text, (self._resolve(language), FALLBACK_LANGUAGE, *sorted(self._languages))
        )

    def _find(self, text: str, codes: tuple[str, ...]) -> SafetyMatch | None:
        """Normalise once; the first of these languages (each read once) that finds a phrase."""
        normalised = normalise(text)
        if not normalised:
            return None
        for code in dict.fromkeys(codes):
            category = self._languages[code].find(normalised)
            if category is not None:
                return SafetyMatch(category)
        return None

    def unfilled(self) -> list[str]:
        """Languages whose resources still hold the place left for the programme's own lines."""
        return sorted(
            code
            for code, table in self._languages.items()
            if table.resources is not None and PLACEHOLDER in table.resources
        )

    def resources(self, language: str) -> str:
        """The resources text in the language, or in English if it has none."""
        own = self._languages[self._resolve(language)].resources
        return own if own is not None else self._fallback_resources

    def _resolve(self, language: str) -> str:
        """The loaded language for a code: es-MX or es_MX means es; an unknown one, English."""
        return supported_language(language, self._languages, FALLBACK_LANGUAGE)
