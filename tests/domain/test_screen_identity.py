"""The safety screen decides exactly as it did before it was made faster.

A crisis screen that flags one message less, or one more, because it was sped up is broken.
Two checks stand guard, both quick:

- a part of tests/domain/screen_identity.py's messages (corpus, blind sets, long and
  adversarial ones), screened by the code as it was before (screen_golden.jsonl holds what
  it decided: categories, levels, the phrases found, the model's scores);
- property tests: the quick ways the screen now reads a message against the plain ways it
  read them before, kept here as the reference, on texts made of phrase words, spellings,
  run-together and misspelt words, digits, hidden characters and punctuation.

The whole comparison (36,000 messages, a few minutes): `python
tests/domain/screen_identity.py record ...` with the code before and after, then `compare`.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import CONFIG_DIR
from bot.domain import safety
from bot.domain.safety import (
    _BREAK,
    _DIGIT,
    JOINED_MAX_LETTERS,
    JOINED_MIN_PARTS,
    NUMBER_GROUP,
    TYPO_MIN_LETTERS,
    SafetyMatch,
    SafetyScreen,
    _collapsed,
    _digits_as_letters,
    _folded,
    _Language,
    _Node,
    _spaced_word,
    _Text,
    _whole_pieces,
    normalise,
)
from tests.domain import screen_identity

GOLDEN = Path(__file__).parent / "screen_golden.jsonl"
SCREEN = SafetyScreen.load(CONFIG_DIR / "safety")
LANGUAGES = SCREEN._built().languages


def test_the_screen_decides_as_it_did_before_it_was_made_faster() -> None:
    expected = [json.loads(line) for line in GOLDEN.read_text("utf-8").splitlines()]
    messages = list(screen_identity.suite_messages())
    # The file records the shipped phrase files, model and corpus: after changing one, compare
    # the whole set (screen_identity.py record, then compare) and record the suite's part
    # again (record tests/domain/screen_golden.jsonl --suite).
    assert len(messages) == len(expected), "the corpus changed: record the suite's part again"
    differing: list[str] = []
    for (name, text), before in zip(messages, expected, strict=True):
        now = screen_identity.compact({"id": name, **screen_identity.record(SCREEN, safety, text)})
        old = dict(zip(screen_identity.FIELDS, before, strict=True))
        new = dict(zip(screen_identity.FIELDS, now, strict=True))
        problems = screen_identity.differences(old, new)
        if problems:
            differing.append(f"{name}: {'; '.join(problems)}")
    assert not differing, "\n".join(differing[:20])


# The reference: how a message was read before, plainly (one regex pass or one loop each).
_OLD_SENTENCE_END = re.compile(r"[.!?;:\u2026]+(?=\s|$)|\n")
_OLD_SPACED_OUT = re.compile(r"(?: [^\W\d_]){3,}(?= )")
_OLD_RUNS = re.compile(r"([^\W\d_])\1+")
_OLD_ASCII_RUNS = re.compile(r"([a-z])\1+")


def old_normalised(text: str) -> str:
    return normalise(_OLD_SENTENCE_END.sub(f" {_BREAK} ", text))


def old_letters_to_words(normalised: str) -> str:
    return _OLD_SPACED_OUT.sub(_spaced_word, normalised)


def old_collapsed(folded: str) -> str:
    return (_OLD_ASCII_RUNS if folded.isascii() else _OLD_RUNS).sub(r"\1", folded)


def old_folded(normalised: str) -> str:
    if _DIGIT.search(normalised):
        normalised = _digits_as_letters(normalised)
    return normalised.replace("l", "i")


def old_model_words(normalised: str) -> tuple[str, ...]:
    plain = old_letters_to_words(normalised.replace(f" {_BREAK} ", " ").replace(_BREAK, " "))
    if _DIGIT.search(plain):
        plain = _digits_as_letters(plain)
    return tuple(plain.split())


def old_text(normalised: str) -> tuple[list[str], list[int], dict[str, str]]:
    """(words, each word's sentence, distinct word -> folded form), as _Text read them."""
    folded = old_folded(old_letters_to_words(normalised)).split()
    words = old_collapsed(" ".join(folded)).split()
    sentences: list[int] = []
    if _BREAK in words:
        sentence = 0
        kept: list[str] = []
        plain: list[str] = []
        for word, fold in zip(words, folded, strict=True):
            if word == _BREAK:
                sentence += 1
                continue
            kept.append(word)
            plain.append(fold)
            sentences.append(sentence)
        words, folded = kept, plain
    else:
        sentences = [0] * len(words)
    return words, sentences, dict(zip(words, folded, strict=True))


def old_mend(language: _Language, plain: str, word: str, typos: bool) -> tuple[str, ...] | None:
    if plain.isdigit():
        return None
    reading: tuple[str, ...] | None = None
    if typos and len(plain) >= TYPO_MIN_LETTERS - 1 and word not in language.words.not_typos:
        reading = language._typo(word)
    if reading is None and JOINED_MIN_PARTS <= len(plain) <= JOINED_MAX_LETTERS:
        reading = language._split(plain)
    return reading


def old_read(
    language: _Language,
    words: list[str],
    sentences: list[int],
    distinct: dict[str, str],
    typos: bool,
) -> tuple[list[str], list[tuple[int, int, int]] | None, list[int]]:
    spellings, known = language.spellings, language.words.known
    readings: dict[str, tuple[str, ...]] = {}
    split: set[str] = set()
    for word, plain in distinct.items():
        reading = spellings.get(word)
        if reading is None and word not in known and len(plain) >= 4:
            reading = old_mend(language, plain, word, typos)
            if reading is not None and len(reading) > 1:
                split.add(word)
        if reading is not None:
            readings[word] = reading
    if not readings:
        return words, None, sentences
    read: list[str] = []
    joined: list[tuple[int, int, int]] = []
    read_sentences: list[int] = []
    for index, word in enumerate(words):
        reading = readings.get(word)
        if reading is None:
            read.append(word)
            joined.append((-1, 0, 1))
            read_sentences.append(sentences[index])
            continue
        read.extend(reading)
        read_sentences.extend([sentences[index]] * len(reading))
        if word in split:
            joined.extend((index, part, len(reading)) for part in range(len(reading)))
        else:
            joined.extend([(-1, 0, 1)] * len(reading))
    return read, joined, read_sentences


def old_whole_pieces(joined: list[tuple[int, int, int]] | None, start: int, end: int) -> bool:
    if joined is None:
        return True
    touched: dict[int, list[int]] = {}
    for word, part, _ in joined[start:end]:
        if word >= 0:
            touched.setdefault(word, []).append(part)
    for word, parts in touched.items():
        count = next(total for w, _, total in joined if w == word)
        if len(parts) < 2 or (0 not in parts and count - 1 not in parts):
            return False
    return True


def old_groups_at(
    language: _Language, node: _Node, token: str | None
) -> Iterator[tuple[str, _Node]]:
    """At a root, groups that may match no word, then those starting with the word, then
    (for a number) those that take one; elsewhere, every fitting group in order."""
    firsts, nullable = language.firsts, language.nullable
    if node is language.root or node is language.near_root:
        yield from ((name, after) for name, after in node.groups.items() if name in nullable)
        if token is None:
            return
        yield from (
            (name, after)
            for name, after in node.groups.items()
            if name not in nullable and token in firsts[name]
        )
        if token.isdigit():
            yield from (
                (name, after)
                for name, after in node.groups.items()
                if name not in nullable and "#" in firsts[name] and token not in firsts[name]
            )
        return
    for name, after in node.groups.items():
        group_firsts = firsts[name]
        if (
            name in nullable
            or token in group_firsts
            or (token is not None and "#" in group_firsts and token.isdigit())
        ):
            yield name, after


def old_group_ends(language: _Language, name: str, tokens: list[str], at: int) -> list[int]:
    ends: list[int] = []
    if at < len(tokens) and name == NUMBER_GROUP and tokens[at].isdigit():
        ends.append(at + 1)
    root = language.groups.get(name)
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
            for inner, after in old_groups_at(language, node, token):
                ends_inner = old_group_ends(language, inner, tokens, position)
                stack.extend((after, end) for end in ends_inner)
    return ends


def old_matches(
    language: _Language, tokens: list[str], root: _Node, starts: frozenset[str]
) -> list[tuple[int, int, int]]:
    found: list[tuple[int, int, int]] = []
    count = len(tokens)
    numbers = "#" in starts
    for start, first in enumerate(tokens):
        if not (first in starts or (numbers and first.isdigit())):
            continue
        stack = [(root, start)]
        while stack:
            node, at = stack.pop()
            for terminal in node.ends:
                found.append((start, at, terminal))
            token = tokens[at] if at < count else None
            if token is not None:
                child = node.next.get(token)
                if child is not None:
                    stack.append((child, at + 1))
            if node.groups:
                for name, after in old_groups_at(language, node, token):
                    ends = old_group_ends(language, name, tokens, at)
                    stack.extend((after, end) for end in ends)
    return found


def old_find(language: _Language, text: str, typos: bool) -> SafetyMatch | None:
    """_Language.find as it was: every phrase found in the whole message, then judged."""
    words, sentences, distinct = old_text(safety._normalised(text))
    tokens, joined, read_sentences = old_read(language, words, sentences, distinct, typos)
    found = old_matches(language, tokens, language.root, language.firsts[""])
    about: list[tuple[int, int]] = []
    framed: set[int] = set()
    kept: set[int] = set()
    for start, end, terminal in found:
        kind = language.terminals[terminal]
        if kind.category is None:
            if kind.role == "sentence":
                framed.add(read_sentences[start])
            elif kind.role == "unless":
                kept.add(read_sentences[start])
            else:
                about.append((start, end))
    framed -= kept
    found = [hit for hit in found if read_sentences[hit[0]] not in framed]
    first: SafetyMatch | None = None
    for start, end, terminal in found:
        kind = language.terminals[terminal]
        if kind.category is None or not old_whole_pieces(joined, start, end):
            continue
        if any(start < stop and begin < end for begin, stop in about):
            continue
        if kind.level == "urgent":
            return SafetyMatch(kind.category, "urgent")
        first = first or SafetyMatch(kind.category, kind.level)
    if not language.near_rules:
        return first
    # Near rules are read only when no urgent phrase stands (their code is unchanged).
    about_sentences = {read_sentences[start] for start, _ in about}
    near = [
        hit
        for hit in old_near(language, tokens, read_sentences)
        if read_sentences[hit[0]] not in about_sentences and read_sentences[hit[0]] not in framed
    ]
    also = language._first(near, about, None)
    if first is None or (also is not None and also.level == "urgent"):
        return also
    return first


def old_near(
    language: _Language, tokens: list[str], sentences: list[int]
) -> list[tuple[int, int, int]]:
    """_Language._near as it was: every part of every rule that may start in the message
    found from every place one may start at (which rules, and how they are found from
    their parts' places, are as they were)."""
    rules, _, starts = language._near_rules_in(tokens)
    if not rules:
        return []
    ends: dict[tuple[str, int], list[int]] = {}
    spots: dict[int, list[tuple[int, int]]] = {}
    for start, end, part in old_matches(language, tokens, language.near_root, starts):
        if end > start and sentences[start] == sentences[end - 1]:
            spots.setdefault(part, []).append((start, end))
    return language._rules_found(rules, spots, tokens, sentences, ends)


def _vocabulary() -> list[str]:
    """Words the phrases use (as written in messages), everyday ones, and awkward ones."""
    words: set[str] = set()
    for language in LANGUAGES.values():
        words.update(language.firsts[""])
        words.update(language.spellings)
        words.update(list(language.words.known)[:400])
    words.update(screen_identity.FILLER)
    words.discard("#")
    return sorted(words)


def _walk_to(
    language: _Language, node: _Node, rng: random.Random, depth: int = 0
) -> tuple[list[str], _Node]:
    """The words of a phrase of this trie, chosen at random (a message that holds it), and
    the node they lead to."""
    words: list[str] = []
    while depth < 12:
        depth += 1
        steps: list[tuple[str, _Node | None]] = [
            (word, child) for word, child in node.next.items()
        ]
        steps += [("{" + name, after) for name, after in node.groups.items()]
        if node.ends and (not steps or rng.random() < 0.3):
            break
        if not steps:
            break
        step, after = rng.choice(steps)
        if step.startswith("{"):
            group = language.groups.get(step[1:])
            if group is None or (step[1:] == NUMBER_GROUP and rng.random() < 0.5):
                words.append(str(rng.choice([1, 2, 30, 110, 2024])))
            else:
                words += _walk_to(language, group, rng, depth)[0]
        else:
            words.append(step)
        node = after
    return words, node


def _walk(language: _Language, node: _Node, rng: random.Random) -> list[str]:
    return _walk_to(language, node, rng)[0]


def _phrase(rng: random.Random) -> str:
    language = LANGUAGES[rng.choice(sorted(LANGUAGES))]
    return " ".join(_walk(language, rng.choice([language.root, language.near_root]), rng))


VOCABULARY = _vocabulary()
PIECES = st.one_of(
    st.randoms(use_true_random=False).map(_phrase),
    st.randoms(use_true_random=False).map(_phrase),
    st.sampled_from(VOCABULARY),
    st.sampled_from(VOCABULARY).map(lambda word: word.replace("i", "1").replace("e", "3")),
    st.sampled_from(VOCABULARY).map(lambda word: " ".join(word)),
    st.sampled_from(VOCABULARY).map(lambda word: word[:-2] + word[-1:] if len(word) > 6 else word),
    st.sampled_from(VOCABULARY).map(lambda word: word[0] + word[0] + word if word else word),
    st.lists(st.sampled_from(VOCABULARY), min_size=2, max_size=4).map("".join),
    st.sampled_from(["30", "110", "1", "k1ll", "$elf", "@", "!", "...", "\n", ".", "?!", ";"]),
    st.sampled_from(["\u200b", "\u0301", "😢", "\u0430", "\u03bf", "ß", "_", "'", "\u2026"]),
    st.text(max_size=4),
)
TEXTS = st.lists(
    st.tuples(PIECES, st.sampled_from([" ", " ", " ", "", ". ", "\n", ", ", "  "])),
    max_size=40,
).map(lambda pairs: "".join(piece + gap for piece, gap in pairs))


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_a_message_is_read_into_the_same_words_as_before(text: str) -> None:
    normalised = safety._normalised(text)
    assert normalised == old_normalised(text)
    assert safety._model_words(normalised) == old_model_words(normalised)
    read = _Text(normalised)
    assert (read.words, read.sentences, read.distinct) == old_text(normalised)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        TEXTS,
        # a sentence mark a message wrote inside a word, letters spaced across a mark
        TEXTS.map(lambda text: text.replace(" ", f" x{_BREAK}1 ", 1)),
        TEXTS.map(lambda text: f"a b. c d {text} {_BREAK}{_BREAK} k 1 l l"),
    )
)
def test_a_message_read_once_reads_as_each_reading_on_its_own(text: str) -> None:
    normalised = safety._normalised(text)
    message = safety._Message(normalised)
    assert message.words == safety._model_words(normalised)
    assert message.sentences() == safety._sentences(normalised)
    alone = _Text(normalised)
    for once in (message.text(), message.text(SCREEN._built().collapsed)):
        assert (once.words, once.sentences, once.distinct) == (
            alone.words,
            alone.sentences,
            alone.distinct,
        )


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.sampled_from(sorted(LANGUAGES)), st.booleans())
def test_phrases_are_found_in_the_same_places_and_order_as_before(
    text: str, code: str, typos: bool
) -> None:
    language = LANGUAGES[code]
    normalised = safety._normalised(text)
    words, sentences, distinct = old_text(normalised)
    tokens, pieces, read_sentences = language._read(_Text(normalised), typos)
    old_tokens, joined, old_sentences = old_read(language, words, sentences, distinct, typos)
    assert (tokens, read_sentences) == (old_tokens, old_sentences)
    old_pieces = {at: piece for at, piece in enumerate(joined or []) if piece[0] >= 0}
    assert (pieces or {}) == old_pieces
    for root, starts in (
        (language.root, language.firsts[""]),
        (language.near_root, frozenset().union(*language.near_part_firsts)),
    ):
        found = language._matches(tokens, root, starts, {})
        assert found == old_matches(language, tokens, root, starts)
        for start, end, _ in found:
            assert _whole_pieces(pieces, start, end) == old_whole_pieces(joined, start, end)


def _same_places(language: _Language, text: str) -> None:
    normalised = safety._normalised(text)
    words, sentences, distinct = old_text(normalised)
    for typos in (True, False):
        tokens = language._read(_Text(normalised), typos)[0]
        assert tokens == old_read(language, words, sentences, distinct, typos)[0]
        for root, starts in (
            (language.root, language.firsts[""]),
            (language.near_root, frozenset().union(*language.near_part_firsts)),
        ):
            found = language._matches(tokens, root, starts, {})
            assert found == old_matches(language, tokens, root, starts), text


def _phrases_by_kind() -> dict[str, list[str]]:
    """Phrases of each kind ("urgent", "concern", "about", "sentence", "unless"), walked
    from the tries: the ones that decide what stands in a message."""
    rng = random.Random(7)
    kinds: dict[str, list[str]] = {}
    for language in LANGUAGES.values():
        for _ in range(4000):
            words, node = _walk_to(language, language.root, rng)
            for terminal in node.ends[:1]:
                kind = language.terminals[terminal]
                name = kind.level if kind.category is not None else kind.role or "about"
                kinds.setdefault(name, []).append(" ".join(words))
    return kinds


KINDS = _phrases_by_kind()
DECIDING = st.one_of(
    *(st.sampled_from(phrases) for _, phrases in sorted(KINDS.items())),
    st.sampled_from(KINDS["urgent"]).map(lambda phrase: phrase.replace(" ", ". ", 1)),
    st.sampled_from(screen_identity.FILLER),
)
SENTENCES = st.lists(
    st.tuples(DECIDING, st.sampled_from([" ", " ", ". ", "\n", " and then ", ", "])),
    min_size=1,
    max_size=14,
).map(lambda pairs: "".join(piece + gap for piece, gap in pairs))


@settings(max_examples=500, deadline=None)
@given(st.one_of(SENTENCES, TEXTS), st.sampled_from(sorted(LANGUAGES)), st.booleans())
def test_a_language_finds_what_it_found_reading_the_whole_message(
    text: str, code: str, typos: bool
) -> None:
    language = LANGUAGES[code]
    assert language.find(_Text(safety._normalised(text)), typos) == old_find(language, text, typos)


@settings(max_examples=300, deadline=None)
@given(st.one_of(SENTENCES, TEXTS), st.sampled_from(sorted(LANGUAGES)), st.booleans())
def test_near_rules_are_found_where_the_whole_walk_found_them(
    text: str, code: str, typos: bool
) -> None:
    language = LANGUAGES[code]
    tokens, _, sentences = language._read(_Text(safety._normalised(text)), typos)
    assert language._near(tokens, sentences, {}) == old_near(language, tokens, sentences)


@settings(max_examples=300, deadline=None)
@given(st.one_of(SENTENCES, TEXTS))
def test_each_sentence_scores_as_it_does_read_on_its_own(text: str) -> None:
    model = SCREEN.model
    assert model is not None
    normalised = safety._normalised(text)
    words = safety._model_words(normalised)
    sentences = safety._sentences(normalised)
    expected = max((model.score(sentence) for sentence in sentences), default=0.0)
    assert model.sentence_score(sentences, words, model.reading(words)) == expected


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_every_way_a_phrase_starts_is_found_as_before(code: str) -> None:
    language = LANGUAGES[code]
    rng = random.Random(18)
    for root in (language.root, language.near_root):
        for word, child in root.next.items():
            for _ in range(2):
                rest = " ".join(_walk(language, child, rng))
                _same_places(language, f"so today {word} {rest} and then")
                _same_places(language, f"{word} 30 {rest}")
        for name, after in root.groups.items():
            group = language.groups.get(name)
            for _ in range(2):
                first = _walk(language, group, rng) if group is not None else ["30"]
                rest = " ".join(_walk(language, after, rng))
                _same_places(language, f"so today {' '.join(first)} {rest} and then")


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_the_common_words_read_ahead_read_as_they_would_in_a_message(code: str) -> None:
    language = LANGUAGES[code]
    assert language.mended[True] and language.mended[False]
    for typos, table in language.mended.items():
        for plain, reading in table.items():
            assert reading == old_mend(language, plain, _collapsed(plain), typos), plain


def test_what_is_read_ahead_comes_from_the_model_file_never_from_a_message() -> None:
    model = SCREEN.model
    assert model is not None
    vocabulary = {_folded(word) for word in model.common}
    before = {code: dict(language.mended[True]) for code, language in LANGUAGES.items()}
    SCREEN.screen("zebrasentinel quokkaword, I want to kill myself", "en")
    for code, language in LANGUAGES.items():
        assert language.mended[True] == before[code]
        assert set(language.mended[True]) <= vocabulary


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hice 13 kms hoy", "es"),  # "{number} (km|kms|k)": a run, not "kill myself"
        ("13 kms", "en"),
        ("13 days without self harm", "en"),  # "{span} without self harm": a milestone
        ("13 dias sin autolesionarme", "es"),
    ],
)
def test_a_number_a_phrase_is_written_with_still_starts_a_number_group(
    text: str, language: str
) -> None:
    # "13 reasons why" starts with 13: a 13 must still start "{number} kms", "{span} ...".
    assert SCREEN.screen(text, language) == SCREEN.screen(text.replace("13", "12"), language)
    assert LANGUAGES[language].find(_Text(safety._normalised(text))) == old_find(
        LANGUAGES[language], text, True
    )


def test_a_programmes_number_phrase_is_found_after_a_number_another_phrase_starts_with() -> None:
    tables = {
        "en": {
            "resources": "r",
            "categories": {"overdose": {"phrases": ["{number} pills tonight"]}},
            "about": {"phrases": ["13 reasons why"]},
        }
    }
    screen = SafetyScreen.from_tables(tables)
    assert screen.screen("12 pills tonight", "en") == SafetyMatch("overdose")
    assert screen.screen("13 pills tonight", "en") == SafetyMatch("overdose")


# A programme writes its own phrases: the screen must decide as before with any files, not
# only with the shipped ones. Small random tables over a few words, numbers among them (a
# phrase written with "13" beside "{number} ..."), groups, choices, near rules and framing.
PROGRAMME_WORDS = [
    "kill",
    "die",
    "my",
    "self",
    "pills",
    "take",
    "took",
    "cut",
    "want",
    "to",
    "i",
    "me",
    "so",
    "not",
    "ago",
    "years",
    "hurt",
    "end",
    "it",
    "all",
    "tonight",
    "reasons",
    "why",
    "kms",
    "lots",
    "of",
    "the",
    "a",
    "overdose",
    "myself",
    "13",
    "24",
    "💊",
]


def _programme_phrase(rng: random.Random, groups: list[str]) -> str:
    pieces: list[str] = []
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.15 and groups:
            pieces.append("{" + rng.choice(groups) + "}")
        elif roll < 0.25:
            pieces.append("{number}")
        elif roll < 0.35:
            pieces.append("[" + "|".join(rng.sample(PROGRAMME_WORDS, rng.randint(1, 3))) + "]")
        elif roll < 0.45:
            pieces.append("(" + "|".join(rng.sample(PROGRAMME_WORDS, rng.randint(2, 3))) + ")")
        else:
            pieces.append(rng.choice(PROGRAMME_WORDS))
    if pieces[0].startswith("[") and len(pieces) == 1:
        pieces.append(rng.choice(PROGRAMME_WORDS))
    return " ".join(pieces)


def _programme_table(rng: random.Random) -> dict[str, object]:
    groups: dict[str, list[str]] = {}
    for name in "abc"[: rng.randint(0, 3)]:
        groups[f"g{name}"] = [
            _programme_phrase(rng, list(groups)) if rng.random() < 0.3 else word
            for word in rng.sample(PROGRAMME_WORDS, rng.randint(1, 4))
        ]
    phrase = functools.partial(_programme_phrase, rng, list(groups))
    categories: dict[str, dict[str, object]] = {}
    for index in range(rng.randint(1, 3)):
        category: dict[str, object] = {
            "level": rng.choice(["urgent", "concern"]),
            "phrases": [phrase() for _ in range(rng.randint(1, 5))],
        }
        if rng.random() < 0.4:
            category["near"] = [" ~ ".join(phrase() for _ in range(rng.randint(2, 3)))]
        categories[f"c{index}"] = category
    about: dict[str, list[str]] = {"phrases": [phrase() for _ in range(rng.randint(1, 3))]}
    if rng.random() < 0.5:
        about["sentence"] = [phrase()]
    if rng.random() < 0.3:
        about["unless"] = [phrase()]
    table = {"resources": "r", "groups": groups, "categories": categories, "about": about}
    if rng.random() < 0.3:
        table["near_not"] = ["not"]
    return table


@settings(max_examples=300, deadline=None)
@given(st.randoms(use_true_random=False))
def test_a_programmes_own_phrases_are_found_as_before(rng: random.Random) -> None:
    screen = SafetyScreen.from_tables({"en": _programme_table(rng)})
    language = screen._built().languages["en"]
    for _ in range(20):
        words = [*PROGRAMME_WORDS, "3", "100", ".", "\n"]
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 14)))
        for typos in (True, False):
            read = _Text(safety._normalised(text))
            found = language.find(read, typos)
            assert found == old_find(language, text, typos), text
            tokens, _, sentences = language._read(read, typos)
            near = language._near(tokens, sentences, {})
            assert near == old_near(language, tokens, sentences), text
