"""Safety screen: phrases that may signal crisis or harm, read in memory and never kept.

A programme keeps one file per language in config/safety/<language>.toml: the resources text
a client sees, groups of words phrases share, phrases grouped by category (each category
`urgent` or `concern`), and phrases that mark talk *about* the subject (the file's header
explains the syntax). Phrases become sequences of words in a trie, so that a long list costs
little per message and loading it costs a few milliseconds.

A message is read as words, tolerating the usual ways people write, on both sides:

- capitals, full-width and mathematical letters, accents ("está" is "esta"), Cyrillic and
  Greek letters that look Latin, invisible characters inside a word, and apostrophes of
  every kind ("don't" is "dont") are folded away by `normalise`;
- every run of spaces, punctuation and the like is one space; an emoji is a word of its own
  (a phrase may hold one); a phrase matches whole words only ("skill myself" is not "kill
  myself", "therapist" is not "the rapist");
- digits and symbols standing for letters inside words: "k1ll", "3nd", "$elf", "k!ll";
- stretched and doubled letters count once ("diiie" is "die", "kil" is "kill");
- letters spaced out ("k i l l") are one word; three words or more run together
  ("killmyself", "iwanttodie") are read apart when the parts make a phrase;
- a long word (seven letters or more) with one letter wrong, missing, extra or swapped
  ("suicde", "overdosd") reads as the phrase word, unless the file lists it as a real word;
- each file's [spellings] read as other words ("wanna" is "want to").

A phrase from [about] ("a documentary about suicide", "cut myself shaving") cancels the
category phrases it overlaps, and only those: "I watched a documentary about suicide and now
I want to kill myself" is still urgent.

Phrases memorise; a category's near rules generalise. "i ~ {wanting} ~ {dying}" matches
those groups in that order within the file's near_window words, inside one sentence, so
"i honestly just want to not be here" is caught without anyone having listed it. A
near_not word between two parts or just before the first ("i do not want to die", "no
quiero morir") cancels the rule, and so does any [about] phrase in the same sentence: a
near rule is weaker evidence than a phrase. Each part's places are found with the same
trie walk as phrases, and a rule is only looked for when every part may start at a word of
the message, so the cost stays linear in the message.

Phrases are what a programme can name; people in distress often write around every word a
list could hold. A model (bot/domain/screen_model.py, config/safety/model.json), learnt
from labelled messages in both languages, reads each message first. A message it reads as
crisis is flagged (with the category of a phrase found in it, else the model's own); a
phrase found in a message the model reads as plainly ordinary ("a documentary about
suicide", "cut myself shaving") is not. Without a model file, phrases alone decide.

A long message (4,096 characters) costs a few milliseconds: most of its words are among
the model's common words, whose mended readings each language works out once when it is
read; a first word is tried only when the word after it can go on with it; once an urgent
phrase stands (the rest of its sentence read, nothing there or over it quieting it), the
rest of the message cannot change the answer and is not walked; a near rule's parts are
looked for only where every part of the rule could start, in order, within its window;
and a message is split into words once for the model and the phrases when nothing in it
("k i l l", a sentence mark inside a word) makes their readings differ.

Why the screen returns only a category and level: the specialist needs to know that a
message may need them, not which words tripped it, and nothing of the text should travel
past this call.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
import threading
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

from bot.domain.screen_model import MODEL_MIN_WORDS, TextModel, flags
from bot.domain.texts import supported_language

FALLBACK_LANGUAGE = "en"
MAX_PHRASE_LENGTH = 300
MAX_WORDINGS_PER_PHRASE = 512
# How the shipped resources text marks the place for a programme's local crisis lines.
PLACEHOLDER = "[Programme:"
# A long word with one letter wrong still counts; shorter words must be exact.
TYPO_MIN_LETTERS = 7
# Words run together are read apart only within this length (longer is not a phrase), and
# only into three words or more: two ("the rapist" in "therapist") are too easily a real
# word, so a phrase says where two may be joined, with "-" ("self-harm").
JOINED_MAX_LETTERS = 40
JOINED_MIN_PARTS = 3

Level = Literal["urgent", "concern"]
LEVELS: tuple[Level, ...] = ("urgent", "concern")

# Apostrophe, grave and acute accents, curly and reversed quotes, prime, full-width and
# modifier apostrophes: all dropped, so "don't" however it is typed reads as "dont".
_APOSTROPHES = "'`\u00b4\u2018\u2019\u201b\u2032\uff07\u02bc"
# Symbols that stand for letters, turned into the letter only inside or next to a word, so
# "die!" keeps its "!" as punctuation.
_SYMBOLS = (
    ("!", re.compile(r"!(?<=[^\W\d_]!)(?=[^\W\d_])"), "i"),
    ("@", re.compile(r"@(?:(?<=\w@)|(?=\w))"), "a"),
    ("$", re.compile(r"\$(?:(?<=\w\$)|(?=\w))"), "s"),
)
# Cyrillic and Greek letters (lower case, after folding) that pass for Latin ones.
_LOOKALIKES = str.maketrans(
    {
        **dict(zip("аеорсухіјѕԁһӏԛԝкмнтв", "aeopcyxijsdhlqwkmhtb", strict=True)),
        **dict(zip("αβεηικνορτυχωγ", "abenikvoptuxwy", strict=True)),
    }
)
_LOOKALIKE_LETTERS = frozenset("аеорсухіјѕԁһӏԛԝкмнтвαβεηικνορτυχωγ")
_LOOKALIKE_RE = re.compile(f"[{''.join(sorted(_LOOKALIKE_LETTERS))}]")
# Emoji (and the older symbol blocks) are words of their own; skin tones are dropped.
_EMOJI = "\u2600-\u27bf\U0001f000-\U0001f3fa\U0001f400-\U0001faff"
_EMOJI_RE = re.compile(f"[{_EMOJI}]")
_ASCII_NON_WORD = str.maketrans(
    {chr(point): " " for point in range(128) if not chr(point).isalnum()}
)
# Digits inside a word stand for letters; a number alone stays a number ("30 pills").
_DIGIT_LETTERS = str.maketrans("013457", "oieast")
_RUNS = re.compile(r"([^\W\d_])\1+")
_ASCII_RUNS = re.compile(r"([a-z])\1+")
_DIGIT = re.compile(r"\d")
# Written out to begin with a plain space, which the regex engine looks for quickly:
# " a b c" and longer, as (?: [^\W\d_]){3,} would find it.
_SPACED_OUT = re.compile(r" [^\W\d_] [^\W\d_] [^\W\d_](?: [^\W\d_])*(?= )")
_GROUP = re.compile(r"\[([^\[\]()]*)\]|\(([^\[\]()]*)\)")
_REFERENCE = re.compile(r"\{([a-z_0-9]+)\}")
_SYNTAX = frozenset("[]()|{}")
# A phrase word that stands for any number written in digits (and the group's words).
NUMBER_GROUP = "number"
# Near rules: a rule's parts must all fall within this many words (from the first word of
# the first part to the last word of the last), unless the file says otherwise.
NEAR_WINDOW = 8
NEAR_WINDOW_RANGE = (2, 20)
# How a near rule separates its parts.
NEAR_SEPARATOR = "~"
# The end of a sentence (., !, ?, ;, : or an ellipsis before a space or the end, or a new
# line): near rules never reach across one. It is marked by a word no message writes,
# which the phrases never see.
# (New lines are replaced first, the marks then found by a pattern that begins with its
# class, which the regex engine scans for quickly.)
_SENTENCE_END = re.compile(r"[.!?;:\u2026][.!?;:\u2026]*(?=\s|$)")
_BREAK = "qzxqbreak"
_NEAR_NOT = "__near_not"
# A word `_Language.mended` has no reading for (None there: it reads as nothing).
_UNREAD: tuple[str, ...] = ("",)


class SafetyConfigError(ValueError):
    """A safety file that cannot be used; the message names the file and the key."""


class PhraseError(ValueError):
    """A phrase whose brackets or bars do not follow the phrase syntax."""


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
    Zero-width characters are dropped too, so one hidden inside a word leaves the word whole.
    """
    dropped: list[int] = []
    kept: list[int] = []
    for point in range(0x80, 0x10000):
        category = unicodedata.category(chr(point))
        if category in ("Mn", "Me", "Cf"):
            dropped.append(point)
        elif category == "Mc":
            kept.append(point)
    drop = re.compile(f"[{re.escape(_APOSTROPHES)}{_class_body(dropped)}]+")
    # Whitespace is left to str.split, which is quicker than replacing each space by one.
    non_word = re.compile(f"[^\\w\\s{_class_body(kept)}{_EMOJI}]+")
    return drop, non_word


def _unlookalike(word: str) -> str:
    """A word written with Cyrillic or Greek letters that pass for Latin, in Latin letters.

    Only a word made entirely of Latin letters and such look-alikes is read again, so real
    Russian or Greek words (which hold other letters too) stay as they are.
    """
    if not _LOOKALIKE_LETTERS.intersection(word):
        return word
    if all(char.isascii() or char in _LOOKALIKE_LETTERS for char in word):
        return word.translate(_LOOKALIKES)
    return word


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
        text = _EMOJI_RE.sub(r" \g<0> ", _unicode_patterns()[1].sub(" ", text))
        if _LOOKALIKE_RE.search(text):
            text = " ".join(_unlookalike(word) for word in text.split())
    words = " ".join(text.split())
    return f" {words} " if words else ""


def _letters_to_words(normalised: str) -> str:
    """Letters spaced out ("k i l l") as one word: three single letters or more in a row."""
    return _SPACED_OUT.sub(_spaced_word, normalised)


def _spaced_word(letters: re.Match[str]) -> str:
    return " " + letters.group().replace(" ", "")


def _digits_as_letters(normalised: str) -> str:
    """Digits inside words as the letters they stand for ("k1ll"); numbers stay numbers.

    Found from each digit outwards, so a message without digits costs one search.
    """
    pieces: list[str] = []
    done = 0
    for digit in _DIGIT.finditer(normalised):
        if digit.start() < done:
            continue
        start = normalised.rfind(" ", 0, digit.start()) + 1
        end = normalised.find(" ", digit.end())
        end = len(normalised) if end < 0 else end
        word = normalised[start:end]
        pieces.append(normalised[done:start])
        pieces.append(word if word.isdigit() else word.translate(_DIGIT_LETTERS))
        done = end
    pieces.append(normalised[done:])
    return "".join(pieces)


def _folded(normalised: str) -> str:
    """Digits inside words as letters, and "l" as "i" (the two look alike, like "1"): the
    form runs of letters are read in."""
    if _DIGIT.search(normalised):
        normalised = _digits_as_letters(normalised)
    return normalised.replace("l", "i")


def _collapsed(folded: str) -> str:
    """Each run of one letter as that letter: "kiiii" (kill) and "ki" (kil) are one word."""
    return (_ASCII_RUNS if folded.isascii() else _RUNS).sub(_first_letter, folded)


def _first_letter(run: re.Match[str]) -> str:
    return run[1]


def vocabulary(words: Iterable[str]) -> dict[str, str]:
    """Normalised words (the model's common ones) as messages' words are read for phrases:
    folded form -> compared form."""
    return {plain: _collapsed(plain) for plain in {_folded(word) for word in words}}


def skeleton(word: str) -> str:
    """The compared form of one normalised word."""
    return _collapsed(_folded(word))


@functools.lru_cache(maxsize=16384)
def _phrase_words(text: str) -> tuple[tuple[str, str], ...]:
    """A word of a phrase (never of a message) as (normalised, compared) words; wordings
    share most of their words, so each is read once."""
    if _EMOJI_RE.fullmatch(text):
        # An emoji stays itself; reading it the long way would build the Unicode tables
        # (some 30 ms) while loading, when no message needs them yet.
        return ((text, text),)
    return tuple((word, skeleton(word)) for word in normalise(text).split())


def expand_phrase(phrase: str) -> list[str]:
    """Every plain wording a phrase stands for: "cut[ting] my (arm|arms)" gives four.

    {group} references are left in place; the matcher reads them as any of the group's words.
    """
    if len(phrase) > MAX_PHRASE_LENGTH:
        raise PhraseError(f"longer than {MAX_PHRASE_LENGTH} characters")
    if "(" not in phrase and "[" not in phrase:  # most group words: one wording
        return [_literal(phrase)]
    pieces: list[list[str]] = []
    position = 0
    for group in _GROUP.finditer(phrase):
        pieces.append([_literal(phrase[position : group.start()])])
        optional, choice = group.group(1), group.group(2)
        if optional is not None:
            pieces.append(["", *map(_literal, optional.split("|"))])
        else:
            pieces.append([_literal(option) for option in choice.split("|")])
        position = group.end()
    pieces.append([_literal(phrase[position:])])
    count = math.prod(len(options) for options in pieces)
    if count > MAX_WORDINGS_PER_PHRASE:
        raise PhraseError(f"stands for {count} wordings; at most {MAX_WORDINGS_PER_PHRASE}")
    return ["".join(choice) for choice in itertools.product(*pieces)]


def _literal(text: str) -> str:
    if _SYNTAX.isdisjoint(text):
        return text
    stray = sorted(_SYNTAX.intersection(_REFERENCE.sub("", text)))
    if stray:
        raise PhraseError(
            f"unexpected {' '.join(stray)} (use [optional|endings], (one|other) or {{group}},"
            " not nested)"
        )
    return text


def _hyphen_forms(wording: str) -> Iterator[str]:
    """A "-" lets the parts be joined or split ("self-harm": "self harm", "selfharm")."""
    if "-" not in wording:
        yield wording
        return
    parts = wording.split("-")
    for joins in itertools.product((" ", ""), repeat=len(parts) - 1):
        yield parts[0] + "".join(join + part for join, part in zip(joins, parts[1:], strict=True))


# A phrase, read: plain words, and ("{", name) for a group of words.
_Step = tuple[str, str]
# A group that may come next: its name, the node after it, whether it is a list of words.
_GroupStep = tuple[str, "_Node", bool]


class _GroupPlan(NamedTuple):
    """A group that may come next at a node, with what trying it quickly needs."""

    name: str
    after: _Node
    firsts: frozenset[str]  # the words it may start with ("#": a number)
    empty: bool  # it may match no word
    numbers: bool  # a number may start it
    simple: bool  # a list of single words (`_Language.simple`)


_WORD, _GROUP_REF = "w", "{"


class _Node:
    """A trie node: the next word, the groups that may come next, and the phrases ending."""

    __slots__ = ("ends", "groups", "next", "plan")

    def __init__(self) -> None:
        self.next: dict[str, _Node] = {}
        self.groups: dict[str, _Node] = {}
        self.ends: list[int] = []
        # The groups, in order, with what `_Language` needs to try them quickly.
        self.plan: tuple[_GroupPlan, ...] = ()

    def add(self, steps: Sequence[_Step], terminal: int) -> None:
        node = self
        for kind, value in steps:
            table = node.next if kind == _WORD else node.groups
            child = table.get(value)
            if child is None:
                child = table[value] = _Node()
            node = child
        if terminal not in node.ends:
            node.ends.append(terminal)


@dataclass(frozen=True)
class _Terminal:
    category: str | None  # None: an [about] phrase
    level: Level
    # For an [about] entry: "" (cancels what it overlaps), "sentence" (cancels its
    # sentence) or "unless" (keeps its sentence's matches despite a "sentence" one).
    role: str = ""


@dataclass
class _Words:
    """The vocabulary a language's phrases use, for reading misspelt and joined words."""

    known: set[str] = field(default_factory=set)  # compared forms of every phrase word
    # Folded (not collapsed) form -> compared form, to read words run together.
    pieces: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Every beginning of a piece ("k", "ki", "kii"): a split stops where none continues.
    piece_starts: set[str] = field(default_factory=set)
    # The last two letters of every piece: a word ending otherwise is never split.
    piece_tails: set[str] = field(default_factory=set)
    # Compared form, and each with one letter left out -> the long phrase words it may be.
    near: dict[str, list[str]] = field(default_factory=dict)
    # The first letter with the second, and with the third, of every word in `near`: a word
    # whose pairs are not here is no typo of them (only a wrong second letter is missed).
    near_pairs: set[str] = field(default_factory=set)
    not_typos: frozenset[str] = frozenset()
    seen: set[tuple[str, bool]] = field(default_factory=set)
    typo_words: set[str] = field(default_factory=set)  # whose typos are in `near`

    def learn(self, normalised_word: str, reads_as: tuple[str, ...], part: bool) -> None:
        """A phrase word; `part` if it may be one of the parts of a run-together word (a
        word a "-" joined, like "selfharm", is not)."""
        if (normalised_word, part) in self.seen:
            return
        self.seen.add((normalised_word, part))
        folded = _folded(normalised_word)
        word = _collapsed(folded)
        one_letter = len(folded) == 1 and normalised_word not in ("i", "a", "y", "o", "e", "u")
        if part and folded not in self.pieces and not one_letter:
            self.pieces[folded] = reads_as
            self.piece_starts.update([folded[:end] for end in range(1, len(folded) + 1)])
            self.piece_tails.add(folded[-2:])
        self.known.add(word)
        long_word = len(normalised_word) >= TYPO_MIN_LETTERS and not normalised_word.isdigit()
        if long_word and word not in self.typo_words:  # each compared word once
            self.typo_words.add(word)
            self.near_pairs.update((word[:2], word[0] + word[2]))
            near = self.near
            for variant in {word, *(word[:k] + word[k + 1 :] for k in range(len(word)))}:
                candidates = near.get(variant)
                if candidates is None:
                    near[variant] = [word]
                elif word not in candidates:
                    candidates.append(word)


class _Text:
    """A message as the languages read it: compared words, and each distinct one with its
    folded form (for mending). Built once per message, whatever the number of languages."""

    __slots__ = ("distinct", "sentences", "words")

    def __init__(
        self,
        normalised: str,
        digits: str | None = None,
        collapsed: Mapping[str, str] | None = None,
    ) -> None:
        """`digits`: the normalised text with digits inside words read as letters, when no
        letters in it stand spaced out (`_Message`): the same words, read once.
        `collapsed`: folded words of plain letters a to z -> their compared form (the model's
        common words, worked out when it is read): most words of a message are looked up
        there instead of collapsed again."""
        plain = (
            _folded(_letters_to_words(normalised)) if digits is None else digits.replace("l", "i")
        )
        folded = plain.split()
        if collapsed is None:
            words = _collapsed(plain).split()
        else:
            # A run of one letter never reaches past a word: each word collapses on its own
            # as it would in the whole text (with the same pattern).
            runs = _ASCII_RUNS if plain.isascii() else _RUNS
            known = collapsed.get
            words = [known(word) or runs.sub(_first_letter, word) for word in folded]
        # The sentence each word is in (how many marks come before it): the marks between
        # sentences are not words.
        self.sentences: list[int]
        if _BREAK in words:
            kept: list[str] = []
            plain_kept: list[str] = []
            self.sentences = []
            done = 0
            marks = [index for index, word in enumerate(words) if word == _BREAK]
            for sentence, mark in enumerate([*marks, len(words)]):
                kept += words[done:mark]
                plain_kept += folded[done:mark]
                self.sentences += [sentence] * (mark - done)
                done = mark + 1
            words, folded = kept, plain_kept
        else:
            self.sentences = [0] * len(words)
        self.words = words
        self.distinct = dict(zip(words, folded, strict=True))


@dataclass
class _Language:
    resources: str | None
    spellings: dict[str, tuple[str, ...]]
    root: _Node
    groups: dict[str, _Node]
    terminals: list[_Terminal]
    words: _Words
    levels: dict[str, Level]
    # Near rules: each part's phrases end at its index in near_root; a rule is its parts in
    # order and the terminal (category) it reports.
    near_root: _Node = field(default_factory=_Node)
    near_rules: list[tuple[tuple[int, ...], int]] = field(default_factory=list)
    near_window: int = NEAR_WINDOW
    # Each part's wordings as steps, by index: what its first word may be.
    near_parts: list[list[list[_Step]]] = field(default_factory=list)
    # The words each group (and, under "", any phrase) can start with; a number is "#".
    firsts: dict[str, frozenset[str]] = field(default_factory=dict)
    # How the model's common words read when mended (with typos, without), worked out once
    # (see `learn_vocabulary`): most words of a message are among them. Only words from
    # the model file are kept here, never a message's.
    mended: dict[bool, dict[str, tuple[str, ...] | None]] = field(
        default_factory=lambda: {True: {}, False: {}}
    )

    def __post_init__(self) -> None:
        # Groups that may match no word at all (an optional [a|b] of a phrase).
        self.nullable = frozenset(name for name, root in self.groups.items() if root.ends)
        for name in self.groups:
            self.firsts[name] = self._firsts(self.groups[name])
        self.firsts[NUMBER_GROUP] = self.firsts.get(NUMBER_GROUP, frozenset()) | {"#"}
        self.firsts[""] = self._firsts(self.root)
        self.near_part_firsts = [self._steps_firsts(part) for part in self.near_parts]
        # The same, read through every group however it is defined (a programme may name a
        # group "number"): never fewer words than a part can start with, so that a place
        # none of them stands at is surely no place a part starts (`_near_places`).
        # The words each group's trie may start with, read through every group (see
        # `_group_starts`).
        self._starts: dict[str, tuple[frozenset[str], bool]] = {}
        self.near_part_starts = [
            self._steps_firsts(part, lambda name: self._group_starts(name, self._starts))
            for part in self.near_parts
        ]
        # Groups that are a list of single words (most are): one that starts with a word
        # ends just after it, with no need to walk its trie.
        self.simple = frozenset(
            name
            for name, root in self.groups.items()
            if name != NUMBER_GROUP
            and root.next
            and not root.ends
            and not root.groups
            and all(
                child.ends and not child.next and not child.groups for child in root.next.values()
            )
        )
        # For each root (phrases, near parts), the groups it starts with, by first word.
        self._root_index: dict[int, tuple[dict[str, list[_GroupStep]], list[_GroupStep]]] = {}
        for root in (self.root, self.near_root):
            by_word: dict[str, list[_GroupStep]] = {}
            nullable: list[_GroupStep] = []
            for name, after in root.groups.items():
                if name in self.nullable:
                    nullable.append((name, after, False))
                    continue
                for word in self.firsts[name]:
                    by_word.setdefault(word, []).append((name, after, name in self.simple))
            self._root_index[id(root)] = (by_word, nullable)
        seen: set[int] = set()
        pending = [self.root, self.near_root, *self.groups.values()]
        while pending:
            node = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            node.plan = tuple(
                _GroupPlan(
                    name,
                    after,
                    self.firsts[name],
                    name in self.nullable,
                    "#" in self.firsts[name],
                    name in self.simple,
                )
                for name, after in node.groups.items()
            )
            pending.extend(node.next.values())
            pending.extend(node.groups.values())
        # For each root, the words that can come second after each first word, and whether
        # a number can (see `_seconds`).
        self._second: dict[int, dict[str, tuple[frozenset[str], bool]]] = {
            id(root): self._seconds(root) for root in (self.root, self.near_root)
        }

    def _seconds(self, root: _Node) -> dict[str, tuple[frozenset[str], bool]]:
        """For each word a phrase of this trie may start with, the words that can follow it
        (and whether a number can), when nothing else can: a phrase of one word, or a
        group that may match none (at the start) or starts with another group, could end
        or go on anyhow, and those first words are left out. A first word followed by none
        of these starts nothing."""
        by_word, nullable = self._root_index[id(root)]
        if nullable or root.ends:
            return {}
        seconds: dict[str, tuple[frozenset[str], bool]] = {}
        for first in self._firsts(root):
            child = root.next.get(first)
            steps = by_word.get(first, [])
            if first.isdigit():
                # A number starts the groups that start with one ("{number} kms") as well
                # as the phrases written with it ("13 reasons why"), as `_groups_at` reads it.
                steps = [*steps, *by_word.get("#", ())]
            expected = [self._expected(child, None)] if child is not None else []
            for name, after, simple in steps:
                if simple:  # it holds the first word: the phrase goes on after it
                    expected.append(self._expected(after, None))
                    continue
                group = self.groups.get(name)
                if name == NUMBER_GROUP or group is None or group.groups:
                    expected.append(None)
                    break
                # A group of several words: the second word is its own next one, or, where
                # it may end after the first, what comes after it.
                inside = group.next.get(first)
                if inside is not None:
                    expected.append(self._expected(inside, after))
            if not expected or any(found is None for found in expected):
                continue
            words: set[str] = set()
            numbers = False
            for found in expected:
                assert found is not None
                words |= found[0]
                numbers = numbers or found[1]
            seconds[first] = (frozenset(words), numbers)
        return seconds

    def _expected(self, node: _Node, after: _Node | None) -> tuple[frozenset[str], bool] | None:
        """The words that may come next at this node (and whether a number may), as
        `_hits` and `_group_ends` walk on; None when a phrase may end here. `after`: where
        the phrase goes on when this node is inside a group (None: a node of the phrases'
        own trie)."""
        words: set[str] = set(node.next)
        numbers = False
        if node.ends:
            if after is None:
                return None
            rest = self._expected(after, None)
            if rest is None:
                return None
            words |= rest[0]
            numbers = rest[1]
        for plan in node.plan:
            if not plan.empty:  # entered only at a word it may start with
                words |= plan.firsts
                numbers = numbers or plan.numbers
                continue
            # One that may match no word is walked whatever comes: every word its trie may
            # start with, and what comes after it.
            starts, _ = self._group_starts(plan.name, self._starts)
            words |= starts
            numbers = numbers or "#" in starts
            rest = self._expected(plan.after, after)
            if rest is None:
                return None
            words |= rest[0]
            numbers = numbers or rest[1]
        return frozenset(words), numbers

    def learn_vocabulary(self, words: Mapping[str, str]) -> None:
        """Work out now how these words read when mended, as `_read` would: each word as
        messages' words are read for phrases (folded -> compared, `vocabulary`)."""
        spellings, known = self.spellings, self.words.known
        with_typos, without = self.mended[True], self.mended[False]
        for plain, word in words.items():
            if plain in without:  # read ahead already (a screen built again, `with_model`)
                continue
            if spellings.get(word) is None and word not in known and len(plain) >= 4:
                # As `_mend` reads it, with the split worked out once for both.
                split = without[plain] = self._mend(plain, word, typos=False)
                typo = self._typo_of(plain, word)
                with_typos[plain] = None if plain.isdigit() else split if typo is None else typo

    def _groups_at(self, node: _Node, token: str | None) -> list[_GroupStep]:
        """The groups that may come next at this node and start with this word (or match
        no word: those are tried at the end of the text too), and whether each is a list
        of single words (which then ends just after this one)."""
        index = self._root_index.get(id(node))
        if index is not None:  # where most words are tried: looked up, not searched
            by_word, nullable = index
            if token is None:
                return nullable
            groups = by_word.get(token)
            found = [*nullable, *groups] if groups and nullable else groups or nullable
            if token.isdigit():
                found = [
                    *found,
                    *(
                        (name, after, simple)
                        for name, after, simple in by_word.get("#", ())
                        if token not in self.firsts[name]
                    ),
                ]
            return found
        return [
            (name, after, simple)
            for name, after, firsts, empty, numbers, simple in node.plan
            if empty or token in firsts or (numbers and token is not None and token.isdigit())
        ]

    def _steps_firsts(
        self,
        wordings: list[list[_Step]],
        group: Callable[[str], tuple[frozenset[str], bool]] | None = None,
    ) -> frozenset[str]:
        """The words any of these wordings may start with (a number is "#"). `group`: a
        group's first words and whether it may match none (by default `firsts` and
        `nullable`, as the walk enters groups)."""
        found: set[str] = set()
        for steps in wordings:
            for kind, value in steps:
                if kind == _WORD:
                    found.add(value)
                    break
                if group is None:
                    words, empty = self.firsts.get(value, frozenset({"#"})), value in self.nullable
                else:
                    words, empty = group(value)
                found |= words
                if not empty:
                    break
        return frozenset(found)

    def _group_starts(
        self, name: str, known: dict[str, tuple[frozenset[str], bool]]
    ) -> tuple[frozenset[str], bool]:
        """The words a group may start with (a number is "#"), and whether it may match
        no word at all; `known` holds the groups already read."""
        if name in known:
            return known[name]
        found: set[str] = {"#"} if name == NUMBER_GROUP else set()
        root = self.groups.get(name)
        if root is None:
            known[name] = frozenset(found), False
            return known[name]
        empty = False
        pending = [root]
        while pending:
            node = pending.pop()
            found.update(node.next)
            empty = empty or bool(node.ends)
            for inner, after in node.groups.items():
                words, inner_empty = self._group_starts(inner, known)
                found |= words
                if inner_empty:
                    pending.append(after)
        known[name] = frozenset(found), empty
        return known[name]

    def _firsts(self, node: _Node) -> frozenset[str]:
        found = set(node.next)
        for name, after in node.groups.items():
            found |= self.firsts.get(name, frozenset({"#"}))
            if name in self.nullable:
                found |= self._firsts(after)
        return frozenset(found)

    def find(self, text: _Text, typos: bool = True) -> SafetyMatch | None:
        """The first urgent match, else the first concern, that no [about] phrase covers."""
        if not self.terminals:
            return None
        tokens, pieces, sentences = self._read(text, typos)
        # Where each group's words end, by (group, place): phrases share groups, so each is
        # looked for once at each place.
        ends: dict[tuple[str, int], list[int]] = {}
        found: list[tuple[int, int, int]] = []
        # Whether an urgent phrase stands depends only on the phrases found up to the end of
        # its sentence (and its own end): once those are read, the words after them cannot
        # change the answer, and a long message need not be read to its end.
        settled = -1
        for start, hits in self._hits(tokens, self.root, self.firsts[""], ends):
            if 0 <= settled <= start:
                first = self._standing(found, sentences, pieces)[0]
                if first is not None and first.level == "urgent":
                    return first
                settled = -1
            found += hits
            for begin, end, terminal in hits:
                kind = self.terminals[terminal]
                if kind.category is not None and kind.level == "urgent":
                    sentence_end = bisect.bisect_right(sentences, sentences[begin])
                    settled = max(settled, end, sentence_end)
        first, about, framed = self._standing(found, sentences, pieces)
        if not self.near_rules or (first is not None and first.level == "urgent"):
            return first  # near rules could add nothing
        # A near rule is weaker evidence than a phrase: talk about the subject anywhere in
        # its sentence cancels it.
        about_sentences = {sentences[start] for start, _ in about}
        near = [
            hit
            for hit in self._near(tokens, sentences, ends)
            if sentences[hit[0]] not in about_sentences and sentences[hit[0]] not in framed
        ]
        also = self._first(near, about, None)
        if first is None or (also is not None and also.level == "urgent"):
            return also
        return first

    def _standing(
        self,
        found: list[tuple[int, int, int]],
        sentences: list[int],
        pieces: dict[int, tuple[int, int, int]] | None,
    ) -> tuple[SafetyMatch | None, list[tuple[int, int]], set[int]]:
        """The first urgent match, else the first concern, among these phrases found that
        no [about] phrase covers or frames; and the places of [about] phrases, and the
        sentences framed."""
        about: list[tuple[int, int]] = []
        framed: set[int] = set()
        kept: set[int] = set()
        for start, end, terminal in found:
            kind = self.terminals[terminal]
            if kind.category is None:
                if kind.role == "sentence":
                    framed.add(sentences[start])
                elif kind.role == "unless":
                    kept.add(sentences[start])
                else:
                    about.append((start, end))
        # Past, someone else's or an institution's framing ("3 years since I was suicidal",
        # "a course on overdose signs") quiets its whole sentence, unless something there
        # brings it back to now ("again", "tonight").
        framed -= kept
        if framed:
            found = [hit for hit in found if sentences[hit[0]] not in framed]
        return self._first(found, about, pieces), about, framed

    def _first(
        self,
        hits: list[tuple[int, int, int]],
        about: list[tuple[int, int]],
        pieces: dict[int, tuple[int, int, int]] | None,
    ) -> SafetyMatch | None:
        """The first urgent hit, else the first concern, that no [about] phrase covers."""
        first: SafetyMatch | None = None
        for start, end, terminal in hits:
            kind = self.terminals[terminal]
            if kind.category is None or not _whole_pieces(pieces, start, end):
                continue
            if any(start < stop and begin < end for begin, stop in about):
                continue
            if kind.level == "urgent":
                return SafetyMatch(kind.category, "urgent")
            if first is None:
                first = SafetyMatch(kind.category, kind.level)
        return first

    def _near(
        self, tokens: list[str], sentences: list[int], ends: dict[tuple[str, int], list[int]]
    ) -> list[tuple[int, int, int]]:
        """(start, end, terminal) of every near rule whose parts come in order, within the
        window, in one sentence, with no near_not word between them."""
        rules, present, starts = self._near_rules_in(tokens)
        if not rules:
            return []
        places = self._near_places(tokens, sentences, rules, present)
        spots: dict[int, list[tuple[int, int]]] = {}
        for start, end, part in self._matches(tokens, self.near_root, starts, ends, places):
            # A part that matched no word (all of it optional) does not count.
            if end > start and sentences[start] == sentences[end - 1]:
                spots.setdefault(part, []).append((start, end))
        return self._rules_found(rules, spots, tokens, sentences, ends)

    def _near_rules_in(
        self, tokens: list[str]
    ) -> tuple[list[tuple[tuple[int, ...], int]], set[str], frozenset[str]]:
        """The near rules whose every part may start at a word of the message (only those
        are looked for), the message's words ("#" for a number among them), and the words
        present that their parts may start with."""
        present = set(tokens)
        if any(token.isdigit() for token in present):
            present.add("#")
        rules = [
            rule
            for rule in self.near_rules
            if all(not present.isdisjoint(self.near_part_firsts[part]) for part in rule[0])
        ]
        starts = frozenset().union(
            *(self.near_part_firsts[part] for parts, _ in rules for part in parts)
        )
        return rules, present, starts & present

    def _rules_found(
        self,
        rules: list[tuple[tuple[int, ...], int]],
        spots: dict[int, list[tuple[int, int]]],
        tokens: list[str],
        sentences: list[int],
        ends: dict[tuple[str, int], list[int]],
    ) -> list[tuple[int, int, int]]:
        """(start, end, terminal) of the first place each rule is found at, from the
        places its parts were found at (`spots`, by part, in order)."""
        found: list[tuple[int, int, int]] = []
        for parts, terminal in rules:
            if not all(part in spots for part in parts):
                continue
            for start, end in spots[parts[0]]:
                # The word just before counts too: "no quiero morir", "if i want to".
                before = start - 1 if start and sentences[start - 1] == sentences[start] else start
                if self._blocked(tokens, before, start, ends):
                    continue
                last = self._near_rest(parts, 1, start, end, spots, tokens, sentences, ends)
                if last is not None:
                    found.append((start, last, terminal))
                    break
        return found

    def _near_places(
        self,
        tokens: list[str],
        sentences: list[int],
        rules: list[tuple[tuple[int, ...], int]],
        present: set[str],
    ) -> list[int]:
        """The places worth walking the near parts from: where a rule's first part may
        start with each of its other parts able to start after it, in order, in the window
        and the sentence; and where those other parts may start. A part is found nowhere
        else in a match, so walking only these finds every rule that the whole walk would.
        """
        starts = self.near_part_starts
        wanted = frozenset().union(*(starts[part] for parts, _ in rules for part in parts))
        wanted &= present
        at: dict[str, list[int]] = {}
        for index, token in enumerate(tokens):
            if token in wanted:
                places = at.get(token)
                if places is None:
                    at[token] = [index]
                else:
                    places.append(index)
        if "#" in wanted:
            at["#"] = [index for index, token in enumerate(tokens) if token.isdigit()]
        by_part: dict[int, list[int]] = {}
        window = self.near_window
        keep: set[int] = set()
        for parts, _ in rules:
            lists: list[list[int]] = []
            for part in parts:
                places = by_part.get(part)
                if places is None:
                    words = starts[part].intersection(at)
                    places = by_part[part] = sorted(
                        itertools.chain.from_iterable(at[word] for word in words)
                    )
                lists.append(places)
            if not all(lists):
                continue
            first_places, rest = lists[0], lists[1:]
            rarest = min(rest, key=len)
            if len(rarest) < len(first_places):
                # Only first places a few words before the rarest part's can begin one.
                near_rarest: set[int] = set()
                for place in rarest:
                    low = bisect.bisect_left(first_places, place - window + 1)
                    near_rarest.update(first_places[low : bisect.bisect_left(first_places, place)])
                first_places = sorted(near_rarest)
            for first in first_places:
                sentence, limit, previous = sentences[first], first + window, first
                for places in rest:
                    # The earliest place after the previous part's: if it is too far, so
                    # are the others.
                    next_index = bisect.bisect_right(places, previous)
                    if next_index == len(places):
                        break
                    previous = places[next_index]
                    if previous >= limit or sentences[previous] != sentence:
                        break
                else:
                    keep.add(first)
                    for places in rest:
                        low = bisect.bisect_right(places, first)
                        high = bisect.bisect_left(places, limit)
                        keep.update(
                            place for place in places[low:high] if sentences[place] == sentence
                        )
        return sorted(keep)

    def _near_rest(
        self,
        parts: tuple[int, ...],
        index: int,
        first: int,
        after: int,
        spots: dict[int, list[tuple[int, int]]],
        tokens: list[str],
        sentences: list[int],
        ends: dict[tuple[str, int], list[int]],
    ) -> int | None:
        """Where the rest of a near rule ends when its part `index` comes at `after` or
        later, or None. Each part has few places in a window, so this stays linear."""
        if index == len(parts):
            return after
        limit = first + self.near_window
        for start, end in spots[parts[index]]:
            if start < after or end > limit or sentences[start] != sentences[first]:
                continue
            if self._blocked(tokens, after, start, ends):
                continue
            last = self._near_rest(parts, index + 1, first, end, spots, tokens, sentences, ends)
            if last is not None:
                return last
        return None

    def _blocked(
        self, tokens: list[str], start: int, end: int, ends: dict[tuple[str, int], list[int]]
    ) -> bool:
        """A near_not word ("not", "never") in the gap between two parts."""
        if _NEAR_NOT not in self.groups:
            return False
        return any(self._group_ends(_NEAR_NOT, tokens, at, ends) for at in range(start, end))

    def _read(
        self, text: _Text, typos: bool
    ) -> tuple[list[str], dict[int, tuple[int, int, int]] | None, list[int]]:
        """The compared words, with spellings read, misspellings mended and joined words
        split; and, when a word was split, for each place that holds one of its parts,
        (the joined word's place, which part, how many parts); and each word's sentence."""
        tokens = text.words
        spellings, known = self.spellings, self.words.known
        readings: dict[str, tuple[str, ...]] = {}
        split: set[str] = set()
        mended = self.mended[typos]
        for word, plain in text.distinct.items():
            reading = spellings.get(word)
            if reading is None and word not in known and len(plain) >= 4:
                reading = mended.get(plain, _UNREAD)
                if reading is _UNREAD:
                    reading = self._mend(plain, word, typos)
                if reading is not None and len(reading) > 1:
                    split.add(word)
            if reading is not None:
                readings[word] = reading
        if not readings:
            return tokens, None, text.sentences
        # Most readings are one word: those are read in place, and only the places of words
        # read as several (a spelling, a joined word) shift what follows.
        read = (
            [
                reading[0] if (reading := readings.get(word)) is not None else word
                for word in tokens
            ]
            if all(len(reading) == 1 for reading in readings.values())
            else None
        )
        if read is not None:
            return read, None, text.sentences
        several = {word for word, reading in readings.items() if len(reading) > 1}
        single = {word: reading[0] for word, reading in readings.items() if len(reading) == 1}
        mapped = [single.get(word, word) for word in tokens]
        read = []
        sentences: list[int] = []
        pieces: dict[int, tuple[int, int, int]] = {}
        done = 0
        for index in [index for index, word in enumerate(tokens) if word in several]:
            read += mapped[done:index]
            sentences += text.sentences[done:index]
            reading = readings[tokens[index]]
            if tokens[index] in split:
                pieces.update(
                    (len(read) + part, (index, part, len(reading))) for part in range(len(reading))
                )
            read += reading
            sentences += [text.sentences[index]] * len(reading)
            done = index + 1
        read += mapped[done:]
        sentences += text.sentences[done:]
        return read, pieces or None, sentences

    def _mend(self, plain: str, word: str, typos: bool) -> tuple[str, ...] | None:
        """An unknown word as a misspelt phrase word, or as phrase words run together."""
        if plain.isdigit():
            return None
        reading = self._typo_of(plain, word) if typos else None
        if reading is None and JOINED_MIN_PARTS <= len(plain) <= JOINED_MAX_LETTERS:
            reading = self._split(plain)
        return reading

    def _typo_of(self, plain: str, word: str) -> tuple[str, ...] | None:
        """The phrase word a long word is a misspelling of, if it is one."""
        if len(plain) >= TYPO_MIN_LETTERS - 1 and word not in self.words.not_typos:
            return self._typo(word)
        return None

    def _typo(self, word: str) -> tuple[str, ...] | None:
        pairs = self.words.near_pairs
        if word[:2] not in pairs and word[0] + word[2:3] not in pairs:
            return None
        near = self.words.near
        for variant in (word, *(word[:k] + word[k + 1 :] for k in range(len(word)))):
            for candidate in near.get(variant, ()):
                if candidate[0] == word[0] and abs(len(candidate) - len(word)) <= 1:
                    return self.spellings.get(candidate, (candidate,))
        return None

    def _split(self, plain: str) -> tuple[str, ...] | None:
        """Phrase words that make up the whole word, longest first; None if they do not."""
        pieces, starts = self.words.pieces, self.words.piece_starts
        # Most words do not end with a piece: say so before searching.
        if plain[-2:] not in self.words.piece_tails or not any(
            plain[-end:] in pieces for end in range(2, min(len(plain), 12))
        ):
            return None
        failed: set[int] = set()

        def parts_from(start: int) -> tuple[str, ...] | None:
            if start == len(plain):
                return ()
            if start in failed:
                return None
            ends: list[int] = []
            end = start + 1
            while end <= len(plain) and plain[start:end] in starts:
                if plain[start:end] in pieces and (end - start > 1 or end < len(plain)):
                    ends.append(end)
                end += 1
            for end in reversed(ends):  # the longest piece first
                rest = parts_from(end)
                if rest is not None:
                    return pieces[plain[start:end]] + rest
            failed.add(start)
            return None

        parts = parts_from(0)
        return parts if parts is not None and len(parts) >= JOINED_MIN_PARTS else None

    def _matches(
        self,
        tokens: list[str],
        root: _Node,
        starts: frozenset[str],
        ends: dict[tuple[str, int], list[int]],
        places: list[int] | None = None,
    ) -> list[tuple[int, int, int]]:
        """(start, end, terminal) of every phrase of this trie found, by start (only from
        these places, if given); `ends` holds the places groups were found at in these
        tokens (filled as they are)."""
        return [hit for _, hits in self._hits(tokens, root, starts, ends, places) for hit in hits]

    def _hits(
        self,
        tokens: list[str],
        root: _Node,
        starts: frozenset[str],
        ends: dict[tuple[str, int], list[int]],
        places: list[int] | None = None,
    ) -> Iterator[tuple[int, list[tuple[int, int, int]]]]:
        """As `_matches`, one place at a time: (start, what starts there), by start."""
        count = len(tokens)
        numbers = "#" in starts
        candidates = [
            start
            for start, token in (
                enumerate(tokens)
                if places is None
                else ((place, tokens[place]) for place in places)
            )
            if token in starts or (numbers and token.isdigit())
        ]
        # Most first words are not followed by a word that goes on with them.
        seconds = self._second.get(id(root), {})
        candidates = [
            start
            for start in candidates
            if (second := seconds.get(tokens[start])) is None
            or (
                start + 1 < count
                and (tokens[start + 1] in second[0] or (second[1] and tokens[start + 1].isdigit()))
            )
        ]
        groups_at, group_ends = self._groups_at, self._group_ends
        for start in candidates:
            found: list[tuple[int, int, int]] = []
            stack = [(root, start)]
            while stack:
                node, at = stack.pop()
                if node.ends:
                    found.extend([(start, at, terminal) for terminal in node.ends])
                token = tokens[at] if at < count else None
                if token is not None:
                    child = node.next.get(token)
                    if child is not None:
                        stack.append((child, at + 1))
                if node.groups:
                    for name, after, simple in groups_at(node, token):
                        if simple:  # it holds this word: it ends after it
                            stack.append((after, at + 1))
                            continue
                        where = ends.get((name, at))
                        if where is None:
                            where = group_ends(name, tokens, at, ends)
                        stack.extend([(after, end) for end in where])
            if found:
                yield start, found

    def _group_ends(
        self, name: str, tokens: list[str], at: int, known: dict[tuple[str, int], list[int]]
    ) -> list[int]:
        """Where a group's word (or words) starting at `at` end; `known` holds (and keeps)
        the answers already found in these tokens."""
        ends = known.get((name, at))
        if ends is not None:
            return ends
        ends = []
        if at < len(tokens) and name == NUMBER_GROUP and tokens[at].isdigit():
            ends.append(at + 1)
        root = self.groups.get(name)
        stack = [(root, at)] if root is not None else []
        while stack:
            node, position = stack.pop()
            if node.ends:
                ends.append(position)
            token = tokens[position] if position < len(tokens) else None
            if token is not None:
                child = node.next.get(token)
                if child is not None:
                    stack.append((child, position + 1))
            if node.groups:
                for inner, after, simple in self._groups_at(node, token):
                    if simple:
                        stack.append((after, position + 1))
                        continue
                    ends_inner = self._group_ends(inner, tokens, position, known)
                    stack.extend([(after, end) for end in ends_inner])
        known[name, at] = ends
        return ends


def _whole_pieces(pieces: dict[int, tuple[int, int, int]] | None, start: int, end: int) -> bool:
    """A match inside a run-together word takes two of its parts or more, one at an edge of
    the word: "iwanttodie" holds "want to die", but "therapist" does not hold "rapist"."""
    if pieces is None:
        return True
    touched: dict[int, list[int]] = {}
    counts: dict[int, int] = {}
    for at in range(start, end):
        piece = pieces.get(at)
        if piece is not None:
            word, part, count = piece
            touched.setdefault(word, []).append(part)
            counts[word] = count
    for word, parts in touched.items():
        count = counts[word]
        if len(parts) < 2 or (0 not in parts and count - 1 not in parts):
            return False
    return True


class _Reader:
    """Checks one language's table and says exactly where a problem is."""

    KEYS = (
        "resources",
        "spellings",
        "not_typos",
        "near_window",
        "near_not",
        "groups",
        "categories",
        "about",
    )

    def __init__(self, source: str, language: str) -> None:
        self.source = source
        self.language = language
        self.words = _Words()
        self.spellings: dict[str, tuple[str, ...]] = {}
        self.group_names: set[str] = set()
        # Every group's trie: the file's, then the choices phrases make between whole words
        # ("(car|bus|train)"), kept as unnamed groups so that what follows a choice is
        # stored once, not once for each way of choosing.
        self.roots: dict[str, _Node] = {}
        self.choices: dict[tuple[tuple[str, ...], bool], str] = {}
        # Each word of a wording as steps, read once: for the split and the joined forms.
        self.raw_steps: dict[bool, dict[str, tuple[_Step, ...]]] = {True: {}, False: {}}
        # Near rules: each distinct part (its text) -> its index in near_root.
        self.near_root = _Node()
        self.near_parts: dict[str, int] = {}
        self.near_part_steps: list[list[list[_Step]]] = []
        self.near_rules: list[tuple[tuple[int, ...], int]] = []

    def error(self, key: str, problem: str) -> SafetyConfigError:
        return SafetyConfigError(f"{self.source}: {key}: {problem}")

    def read(self, table: Mapping[str, Any]) -> _Language:
        unknown = sorted(set(table) - set(self.KEYS))
        if unknown:
            raise self.error(unknown[0], f"unknown key (expected {', '.join(self.KEYS)})")
        required = self.language == FALLBACK_LANGUAGE
        resources = self.resources(table.get("resources"), required)
        self.read_spellings(table.get("spellings", {}))
        self.words.not_typos = self.not_typos(table.get("not_typos", []))
        window = self.window(table.get("near_window", NEAR_WINDOW))
        self.groups(table.get("groups", {}))
        near_not = table.get("near_not")
        if near_not is not None:
            root_not = _Node()
            for steps in self.phrases("near_not", near_not):
                root_not.add(steps, 0)
            self.roots[_NEAR_NOT] = root_not
        terminals: list[_Terminal] = []
        root = _Node()
        levels = self.categories(table.get("categories"), required, root, terminals)
        about = table.get("about")
        if about is not None:
            if (
                not isinstance(about, Mapping)
                or "phrases" not in about
                or not set(about) <= {"phrases", "sentence", "unless"}
            ):
                raise self.error(
                    "about", "must be a table with phrases = [...] (and sentence, unless) only"
                )
            for role, key in (("", "phrases"), ("sentence", "sentence"), ("unless", "unless")):
                if key not in about:
                    continue
                terminals.append(_Terminal(None, "concern", role))
                for steps in self.phrases(f"about.{key}", about[key]):
                    root.add(steps, len(terminals) - 1)
        return _Language(
            resources,
            self.spellings,
            root,
            self.roots,
            terminals,
            self.words,
            levels,
            self.near_root,
            self.near_rules,
            window,
            self.near_part_steps,
        )

    def window(self, value: object) -> int:
        low, high = NEAR_WINDOW_RANGE
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.error("near_window", f"must be a whole number of words, {low} to {high}")
        return value

    def resources(self, value: object, required: bool) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error("resources", "must be text (the message a client sees)")
        return value.strip()

    def read_spellings(self, value: object) -> None:
        if not isinstance(value, Mapping):
            raise self.error("spellings", 'must be a table of word = "reads as"')
        for key, reads_as in value.items():
            word = normalise(str(key)).strip()
            if not word or " " in word:
                raise self.error(f"spellings.{key}", "the left side must be a single word")
            if not isinstance(reads_as, str) or not normalise(reads_as):
                raise self.error(f"spellings.{key}", "must be the words it reads as")
            reading = tuple(skeleton(part) for part in normalise(reads_as).split())
            self.spellings[skeleton(word)] = reading
            self.words.learn(word, reading, True)

    def not_typos(self, value: object) -> frozenset[str]:
        if not isinstance(value, list) or not all(isinstance(word, str) for word in value):
            raise self.error("not_typos", "must be a list of words")
        return frozenset(skeleton(normalise(word).strip()) for word in value)

    def groups(self, value: object) -> dict[str, _Node]:
        if not isinstance(value, Mapping):
            raise self.error("groups", "must be a table of name = [words or phrases]")
        for name, members in value.items():
            key = f"groups.{name}"
            if not re.fullmatch("[a-z_]+", str(name)):
                raise self.error(key, "a group name is lower-case letters and _ only")
            root = _Node()
            for steps in self.phrases(key, members):
                root.add(steps, 0)
            # Named after its own words: a group can use the groups above it, not itself.
            self.roots[str(name)] = root
            self.group_names.add(str(name))
        return self.roots

    def categories(
        self, value: object, required: bool, root: _Node, terminals: list[_Terminal]
    ) -> dict[str, Level]:
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping) or not value:
            raise self.error("categories", "must hold at least one [categories.<name>] table")
        levels: dict[str, Level] = {}
        for name, category in value.items():
            key = f"categories.{name}"
            if not isinstance(category, Mapping):
                raise self.error(key, "must be a table with phrases = [...]")
            extra = sorted(set(category) - {"phrases", "level", "near"})
            if extra:
                raise self.error(
                    f"{key}.{extra[0]}", "unknown key (expected level, phrases, near)"
                )
            if "phrases" not in category and "near" not in category:
                raise self.error(key, "must have phrases = [...] or near = [...]")
            level = category.get("level", "urgent")
            if level not in LEVELS:
                raise self.error(f"{key}.level", 'must be "urgent" or "concern"')
            levels[str(name)] = cast(Level, level)
            terminals.append(_Terminal(str(name), cast(Level, level)))
            if "phrases" in category:
                for steps in self.phrases(f"{key}.phrases", category["phrases"]):
                    root.add(steps, len(terminals) - 1)
            if "near" in category:
                self.near(f"{key}.near", category["near"], len(terminals) - 1)
        return levels

    def near(self, key: str, rules: object, terminal: int) -> None:
        """Near rules: "part ~ part ~ ...", each part a phrase, in this order in a window."""
        if not isinstance(rules, list) or not rules:
            raise self.error(key, "must be a list of at least one rule")
        for index, rule in enumerate(rules):
            where = f"{key}[{index}]"
            if not isinstance(rule, str):
                raise self.error(where, "must be text")
            texts = [part.strip() for part in rule.split(NEAR_SEPARATOR)]
            if len(texts) < 2 or not all(texts):
                raise self.error(where, f"{rule!r}: two parts or more, joined by ~")
            parts: list[int] = []
            for text in texts:
                part = self.near_parts.get(text)
                if part is None:
                    part = self.near_parts[text] = len(self.near_parts)
                    wordings = list(self.phrases(where, [text]))
                    for steps in wordings:
                        self.near_root.add(steps, part)
                    self.near_part_steps.append(wordings)
                parts.append(part)
            self.near_rules.append((tuple(parts), terminal))

    def phrases(self, key: str, phrases: object) -> Iterator[list[_Step]]:
        if not isinstance(phrases, list) or not phrases:
            raise self.error(key, "must be a list of at least one phrase")
        for index, phrase in enumerate(phrases):
            where = f"{key}[{index}]"
            if not isinstance(phrase, str):
                raise self.error(where, "must be text")
            try:
                wordings = expand_phrase(self.lift(where, phrase))
            except PhraseError as error:
                raise self.error(where, f"{phrase!r}: {error}") from error
            for wording in wordings:
                for form_index, form in enumerate(_hyphen_forms(wording)):
                    steps = self.steps(where, phrase, form, form_index == 0)
                    if not steps:
                        raise self.error(where, f"{phrase!r}: has a wording with no words")
                    yield steps

    def lift(self, where: str, phrase: str) -> str:
        """The phrase with each choice between whole words after its start ("(a|b)" or
        "[a|b]" with spaces or the phrase's end around it) as a reference to an unnamed
        group of its options. Choices inside a word ("cut[ting]") are expanded."""
        if len(phrase) > MAX_PHRASE_LENGTH:
            raise PhraseError(f"longer than {MAX_PHRASE_LENGTH} characters")
        if "(" not in phrase and "[" not in phrase:
            return phrase
        lifted: list[str] = []
        position = 0
        for group in _GROUP.finditer(phrase):
            before = phrase[group.start() - 1] if group.start() else " "
            after = phrase[group.end()] if group.end() < len(phrase) else " "
            # A choice that starts the phrase stays in the trie: phrases share their first
            # words there, which keeps looking them up quick.
            if not group.start() or not (before.isspace() and after.isspace()):
                continue
            optional = group.group(1) is not None
            options = (group.group(1) if optional else group.group(2)).split("|")
            for option in options:
                _literal(option)
            lifted.append(phrase[position : group.start()])
            lifted.append("{" + self.choice(where, tuple(options), optional) + "}")
            position = group.end()
        lifted.append(phrase[position:])
        return "".join(lifted)

    def choice(self, where: str, options: tuple[str, ...], optional: bool) -> str:
        """The unnamed group for these options (one per distinct choice)."""
        name = self.choices.get((options, optional))
        if name is not None:
            return name
        root = _Node()
        for option in options:
            plain = option.replace(" ", "")
            # Most options are plain words; only others need reading to see they hold one.
            if not (plain.isalnum() or normalise(_REFERENCE.sub("x", option))):
                optional = True  # an empty option: the choice may be left out
                continue
            for steps in self.phrases(where, [option]):
                root.add(steps, 0)
        if optional:
            root.ends.append(0)
        name = f"__{len(self.choices)}"
        self.choices[options, optional] = name
        self.roots[name] = root
        self.group_names.add(name)
        return name

    def steps(self, where: str, phrase: str, wording: str, split: bool) -> list[_Step]:
        steps: list[_Step] = []
        cache = self.raw_steps[split]
        for raw in wording.split():
            known = cache.get(raw)
            if known is not None:
                steps.extend(known)
                continue
            if raw[0] == "{" or raw[-1] == "}":
                name = raw[1:-1]
                if not _REFERENCE.fullmatch(raw):
                    raise self.error(where, f"{phrase!r}: a {{group}} stands as a word of its own")
                if name not in self.group_names and name != NUMBER_GROUP:
                    raise self.error(
                        where, f"{phrase!r}: no group named {{{name}}} (above it) in [groups]"
                    )
                steps.append((_GROUP_REF, name))
                continue
            known = cache[raw] = self.word_steps(raw, split)
            steps.extend(known)
        return steps

    def word_steps(self, raw: str, split: bool) -> tuple[_Step, ...]:
        """One word of a wording as steps (a spelling may make it two), learnt once."""
        steps: list[_Step] = []
        for word, compared in _phrase_words(raw):
            reading = self.spellings.get(compared, (compared,))
            steps.extend((_WORD, part) for part in reading)
            self.words.learn(word, reading, split)
        return tuple(steps)


MODEL_FILE = "model.json"
# Screens already read in this process, by folder and its files' times and sizes.
_LOADED: dict[object, SafetyScreen] = {}
_LOADED_MOST = 8


def _normalised(text: str) -> str:
    """The normalised text with a mark between sentences (phrases do not cross it)."""
    marked = text.replace("\n", f" {_BREAK} ")
    return normalise(_SENTENCE_END.sub(f" {_BREAK} ", marked))


def message_words(text: str) -> tuple[str, ...]:
    """A message as the model reads it (and learns from it)."""
    return _model_words(_normalised(text))


def message_sentences(text: str) -> list[tuple[str, ...]]:
    """A message's sentences as the model reads them."""
    return _sentences(_normalised(text))


def _sentences(normalised: str) -> list[tuple[str, ...]]:
    return [words for part in normalised.split(_BREAK) if (words := _model_words(part))]


def _model_words(normalised: str) -> tuple[str, ...]:
    """Words, letters spaced out joined up, digits inside words as letters; no sentence
    marks."""
    plain = _letters_to_words(normalised.replace(f" {_BREAK} ", " ").replace(_BREAK, " "))
    if _DIGIT.search(plain):
        plain = _digits_as_letters(plain)
    return tuple(plain.split())


class _Message:
    """A normalised message read once for both the model and the phrases, when it can be:
    most messages have no letters spaced out ("k i l l") and no sentence mark inside a
    word, and then the model's words, its sentences and the phrases' words all come from
    one reading of the digits (the same words `_model_words`, `_sentences` and `_Text`
    read, each on its own, in the others)."""

    __slots__ = ("digits", "normalised", "split", "words")

    def __init__(self, normalised: str) -> None:
        self.normalised = normalised
        self.digits: str | None = None
        self.split: list[str] = []
        plain = normalised.replace(f" {_BREAK} ", " ").replace(_BREAK, " ")
        if not _SPACED_OUT.search(plain):
            digits = _digits_as_letters(normalised) if _DIGIT.search(normalised) else normalised
            split = digits.split()
            marks = split.count(_BREAK)
            if marks == normalised.count(_BREAK):  # every mark a word of its own
                self.digits, self.split = digits, split
                self.words = (
                    tuple(word for word in split if word != _BREAK) if marks else tuple(split)
                )
                return
        self.words = _model_words(normalised)

    def sentences(self) -> list[tuple[str, ...]]:
        """The message's sentences as the model reads them."""
        if self.digits is None:
            return _sentences(self.normalised)
        found: list[tuple[str, ...]] = []
        done = 0
        split = self.split
        for index, word in enumerate(split):
            if word == _BREAK:
                if index > done:
                    found.append(tuple(split[done:index]))
                done = index + 1
        if len(split) > done:
            found.append(tuple(split[done:]))
        return found

    def text(self, collapsed: Mapping[str, str] | None = None) -> _Text:
        """The message as the languages read it (`_Text`)."""
        return _Text(self.normalised, self.digits, collapsed)


@dataclass(frozen=True)
class _Built:
    """A screen's phrases, read, and its model: what screening needs."""

    languages: dict[str, _Language]
    model: TextModel | None
    levels: dict[str, Level]
    # The model's common words of plain letters a to z, folded -> compared (`_Text`).
    collapsed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, languages: Mapping[str, _Language], model: TextModel | None) -> _Built:
        english = languages.get(FALLBACK_LANGUAGE)
        if english is None or english.resources is None:
            raise SafetyConfigError(f"no {FALLBACK_LANGUAGE} safety table with resources")
        levels: dict[str, Level] = {}
        for table in languages.values():
            for category, level in table.levels.items():
                # A category urgent in any language is urgent.
                if levels.get(category) != "urgent":
                    levels[category] = level
        collapsed: dict[str, str] = {}
        if model is not None:
            words = vocabulary(model.common)
            for table in languages.values():
                table.learn_vocabulary(words)
            collapsed = {
                plain: word
                for plain, word in words.items()
                if plain.isascii() and plain.isalpha() and plain.islower()
            }
        return cls(dict(languages), model, levels, collapsed)


class SafetyScreen:
    """Screens a client's text for phrases that may signal crisis; English is always checked.

    Build one with `load` (or `from_tables` in tests) at start-up and share it: it holds the
    phrases, the model and how the model's common words read (worked out when it is read),
    never the text it screens: nothing learnt from one message is kept for the next.
    """

    def __init__(self, languages: Mapping[str, _Language], model: TextModel | None = None) -> None:
        self._ready: _Built | None = _Built.of(languages, model)
        self._codes = frozenset(languages)
        self._resources = {code: table.resources for code, table in languages.items()}
        self._later: Callable[[], _Built] | None = None
        self._lock = threading.Lock()

    @classmethod
    def _deferred(
        cls, resources: Mapping[str, str | None], build: Callable[[], _Built]
    ) -> SafetyScreen:
        """A screen whose phrases and model are read at first use, or by `warm`; the
        resources text (by language, English's required) is there at once."""
        if resources.get(FALLBACK_LANGUAGE) is None:
            raise SafetyConfigError(f"no {FALLBACK_LANGUAGE} safety table with resources")
        screen = cls.__new__(cls)
        screen._codes = frozenset(resources)
        screen._resources = dict(resources)
        screen._ready = None
        screen._later = build
        screen._lock = threading.Lock()
        return screen

    def _built(self) -> _Built:
        ready = self._ready
        if ready is None:
            # The bot warms a lazy screen in a worker thread while it already serves: a
            # message screened meanwhile waits for that reading instead of doing it twice.
            with self._lock:
                if self._ready is None:
                    assert self._later is not None
                    try:
                        self._ready = self._later()
                    except SafetyConfigError:
                        raise  # left unread: the next use tries again, and says the same
                    except Exception as error:
                        # Whatever else goes wrong reading the files is said the same way (a
                        # bot that serves on with no screen would be worse).
                        raise SafetyConfigError(
                            f"the safety files could not be read ({type(error).__name__}: {error})"
                        ) from error
                    self._later = None
                ready = self._ready
        return ready

    def with_model(self, model: TextModel | None) -> SafetyScreen:
        """The same phrases with another model (or none)."""
        return SafetyScreen(self._built().languages, model)

    @property
    def ready(self) -> bool:
        """Whether the phrases and the model have been read (screening will not wait)."""
        return self._ready is not None

    def warm(self) -> None:
        """Read now what a lazy `load` left for first use; SafetyConfigError if it cannot."""
        self._built()

    @classmethod
    def load(cls, folder: Path, with_model: bool = True, lazy: bool = False) -> SafetyScreen:
        """Read every <language>.toml in the folder (config/safety/), and its model.json
        unless told not to (when a new model is being learnt).

        Lazy, only the files' syntax is read now (a few milliseconds): reading the phrases
        and the model takes half a second of CPU, which the bot spends after it has
        started (`warm`) rather than before it answers anyone.

        The same unchanged files give the same screen, read once per process (it holds
        nothing of what it screens, so it is safely shared): a restart in one process, or a
        test suite starting the bot many times, does not read them again.
        """
        files = [*sorted(folder.glob("*.toml")), folder / MODEL_FILE]
        try:
            key = (
                str(folder.resolve()),
                with_model,
                tuple(
                    (str(path), path.stat().st_mtime_ns, path.stat().st_size)
                    for path in files
                    if path.exists()
                ),
            )
        except OSError:
            key = None
        screen = _LOADED.get(key) if key is not None else None
        if screen is None:
            screen = cls._read(folder, with_model)
            if key is not None:
                if len(_LOADED) >= _LOADED_MOST:
                    _LOADED.clear()
                _LOADED[key] = screen
        if not lazy:
            screen.warm()
        return screen

    @classmethod
    def _read(cls, folder: Path, with_model: bool) -> SafetyScreen:
        tables: dict[str, Mapping[str, Any]] = {}
        sources: dict[str, str] = {}
        for path in sorted(folder.glob("*.toml")):
            try:
                with path.open("rb") as handle:
                    tables[path.stem] = tomllib.load(handle)
            except UnicodeDecodeError as error:  # an editor that saved it as Latin-1, say
                raise SafetyConfigError(f"{path}: not UTF-8 text (save it as UTF-8)") from error
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise SafetyConfigError(f"{path}: {error}") from error
            sources[path.stem] = str(path)
        if FALLBACK_LANGUAGE not in tables:
            raise SafetyConfigError(f"{folder}: no {FALLBACK_LANGUAGE}.toml")
        model_path = folder / MODEL_FILE

        def build() -> _Built:
            model = None
            if with_model and model_path.exists():
                try:
                    model = TextModel.load(model_path)
                except (OSError, ValueError) as error:
                    raise SafetyConfigError(str(error)) from error
            return cls._languages_of(tables, sources, model)

        # The crisis lines are plain text, read now: /crisis and a stranger's answer give
        # them even if the phrases or the model turn out unreadable (the bot stops then).
        resources = {
            language.lower(): _Reader(sources[language], language.lower()).resources(
                table.get("resources"), required=language.lower() == FALLBACK_LANGUAGE
            )
            for language, table in tables.items()
        }
        return cls._deferred(resources, build)

    @classmethod
    def from_tables(
        cls, tables: Mapping[str, Mapping[str, Any]], model: TextModel | None = None
    ) -> SafetyScreen:
        """Build from already-parsed tables, keyed by language (for tests)."""
        built = cls._languages_of(
            tables, {language: f"<{language}>" for language in tables}, model
        )
        return cls(built.languages, built.model)

    @staticmethod
    def _languages_of(
        tables: Mapping[str, Mapping[str, Any]],
        sources: Mapping[str, str],
        model: TextModel | None,
    ) -> _Built:
        if FALLBACK_LANGUAGE not in tables:
            raise SafetyConfigError(f"no {FALLBACK_LANGUAGE} safety table")
        languages = {
            language.lower(): _Reader(sources[language], language.lower()).read(table)
            for language, table in tables.items()
        }
        return _Built.of(languages, model)

    def categories(self) -> list[str]:
        """Every category of the phrase files, urgent ones first, each once."""
        levels = self._built().levels
        return sorted(levels, key=lambda name: (levels[name] != "urgent", name))

    @property
    def model(self) -> TextModel | None:
        """The model that reads messages before the phrases, if there is one."""
        return self._built().model

    @property
    def languages(self) -> frozenset[str]:
        """Languages with a safety file."""
        return self._codes

    def level_of(self, category: str) -> Level:
        """The level of a category (a stored one after a restart); unknown ones are urgent."""
        return self._built().levels.get(category, "urgent")

    def screen(self, text: str, language: str) -> SafetyMatch | None:
        """The category of a phrase found in the text (its language's or English), or None."""
        return self._find(text, self.reading(language))

    def screen_all(self, text: str, language: str) -> SafetyMatch | None:
        """As screen, then in every other loaded language too (for a message whose writer's
        chosen language is not known yet)."""
        return self._find(text, self.reading(language, every=True))

    def reading(self, language: str, every: bool = False) -> tuple[str, ...]:
        """The languages a message is read in, in order (`screen`, or `screen_all` when
        every): two messages read in the same ones are read alike."""
        codes = (self._resolve(language), FALLBACK_LANGUAGE)
        return tuple(dict.fromkeys((*codes, *sorted(self._codes)) if every else codes))

    def _find(self, text: str, codes: tuple[str, ...]) -> SafetyMatch | None:
        """Normalise once; the model's reading, then the phrases of these languages."""
        normalised = _normalised(text)
        if not normalised.replace(_BREAK, "").strip():
            return None
        model = self.model
        message = _Message(normalised)
        if model is None:
            return self._phrases(normalised, codes, message)
        words = message.words
        count = len(words)
        read = model.reading(words)
        score, stretch = model.best_stretch(words, read)

        @functools.cache
        def best() -> float:
            return max(score, model.sentence_score(message.sentences(), words, read))

        def flagged(phrase: Level | None) -> bool:
            return flags(
                words=count,
                # The model knows what ordinary talk looks like only in the languages it
                # learnt; in another, the programme's phrases decide.
                learnt=codes[0] in model.languages,
                score=score,
                phrase=phrase,
                best=best,
                threshold=model.threshold,
                urgent_floor=model.urgent_floor,
                floor=model.floor,
                short_threshold=model.short_threshold,
            )

        if not (flagged("urgent") or flagged("concern")):
            return None  # read as plainly ordinary: no phrase found could change that
        found = self._phrases(normalised, codes, message)
        if not flagged(found.level if found else None):
            return None
        if found is not None:
            return found  # the phrase's category says more than the model's guess
        category = model.category(stretch)
        return SafetyMatch(category, self.level_of(category))

    def explain(self, text: str, language: str) -> str:
        """How the screen read a message (for `python -m bot screen --explain`): the model's
        score against its thresholds, the phrase category found, the weightiest features."""
        normalised = _normalised(text)
        phrases = self._phrases(normalised, (self._resolve(language), FALLBACK_LANGUAGE))
        parts = [f"phrase={phrases.category if phrases else '-'}"]
        model = self.model
        if model is not None:
            words = _model_words(normalised)
            parts.append(
                f"score={model.score(words):.2f} (flags at {model.threshold:.2f}, at"
                f" {model.short_threshold:.2f} under {MODEL_MIN_WORDS} words; phrases count"
                f" from {model.urgent_floor:.2f} if urgent, {model.floor:.2f} if concern)"
            )
            parts.append(
                " ".join(f"{feature!r}{weight:+.2f}" for feature, weight in model.explain(words))
            )
        return "; ".join(parts)

    def _phrases(
        self, normalised: str, codes: tuple[str, ...], message: _Message | None = None
    ) -> SafetyMatch | None:
        """An urgent phrase match in any of these languages (each read once), else the
        first concern; `message`: the normalised text read already."""
        built = self._built()
        words = (message or _Message(normalised)).text(built.collapsed)
        languages = built.languages
        concern: SafetyMatch | None = None
        for index, code in enumerate(dict.fromkeys(codes)):
            # Typos are read in the conversation's own language only: "suicida" is a Spanish
            # word, not a misspelt English one.
            found = languages[code].find(words, typos=index == 0)
            if found is not None and found.level == "urgent":
                return found
            concern = concern or found
        return concern

    def unfilled(self) -> list[str]:
        """Languages whose resources still hold the place left for the programme's own lines."""
        return sorted(
            code
            for code, table in self._built().languages.items()
            if table.resources is not None and PLACEHOLDER in table.resources
        )

    def resources(self, language: str) -> str:
        """The resources text in the language, or in English if it has none."""
        own = self._resources[self._resolve(language)]
        return own if own is not None else self._resources[FALLBACK_LANGUAGE] or ""

    def _resolve(self, language: str) -> str:
        """The loaded language for a code: es-MX or es_MX means es; an unknown one, English."""
        return supported_language(language, self._codes, FALLBACK_LANGUAGE)
