"""Learning the screen's model from labelled messages (`python -m bot train-screen`).

A corpus file holds one message a line, TAB-separated: `level category style message`
(level urgent, concern or none; category one of the phrase files' categories, `-` for
none). Older files with three fields (`level family message`) teach the crisis/ordinary
line but not the category.

The threshold is never chosen on messages the model learnt from: each file (in practice,
each writer) is left out in turn, a model learnt from the others scores it, and the
threshold is the lowest score at which those out-of-fold ordinary messages stay under the
false-alarm rate asked for. The floor below which a phrase match counts as talk about the
subject is chosen the same way. The final model then learns from every file.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.safety import SafetyScreen, message_sentences, message_words
from bot.domain.screen_model import (
    COMMON_WORDS,
    MODEL_MIN_WORDS,
    NEVER,
    TextModel,
    features,
    flags,
    sigmoid,
)

LEVELS = ("urgent", "concern", "none")
# Weights smaller than this change no decision; leaving them out keeps the file small and
# its load quick.
PRUNE = 0.01
# Each fold's files are scored by a model learnt from the other folds' files.
FOLDS = 5
# The share of the false alarms allowed that the model may raise on its own; phrases found
# in messages it scores lower may raise the rest.
MODEL_SHARE = 0.75
# A floor no score reaches (a model scores at most 1).
NO_FLOOR = NEVER
# Short everyday replies ("no", "me again", "same as always") are most of what clients write,
# so the model may flag at most this share of them on its own, and only when the ordinary
# messages it is calibrated on hold at least SHORT_MIN_ORDINARY of them; otherwise short
# messages are left to the phrases.
SHORT_FALSE_ALARMS = 0.005
SHORT_MIN_ORDINARY = 200


class CorpusError(ValueError):
    """A corpus line that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class Labelled:
    """One corpus message: its level, its category ('' for none or unknown)."""

    level: str
    category: str
    text: str
    source: str
    language: str = "en"


def corpus_digest(paths: Iterable[Path]) -> str:
    """A digest of corpus files' names and contents, in name order: the model file keeps
    the one it was learnt from, so a test can tell when it is out of date."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda path: path.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def language_of(path: Path, known: Iterable[str]) -> str:
    """The language a corpus file's name gives ("en_writer.tsv", "fresh_es.tsv")."""
    named = set(re.split(r"[_.\-]", path.name.lower())) & set(known)
    if len(named) != 1:
        raise CorpusError(
            f"{path}: name the file's language in its name, as in en_mine.tsv"
            f" (one of {', '.join(sorted(known))})"
        )
    return named.pop()


def read_corpus(path: Path, categories: Iterable[str], language: str = "en") -> list[Labelled]:
    """The labelled messages of one file; a line that breaks the format is an error."""
    known = set(categories)
    rows: list[Labelled] = []
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) == 4:
            level, category, _, text = fields
        elif len(fields) == 3:
            level, _, text = fields
            category = "-" if level == "none" else ""
        else:
            raise CorpusError(f"{path}:{number}: expected 4 TAB-separated fields")
        if level not in LEVELS:
            raise CorpusError(f"{path}:{number}: level {level!r} is not one of {LEVELS}")
        if (level == "none") != (category == "-") or (category not in known | {"", "-"}):
            raise CorpusError(f"{path}:{number}: category {category!r} for level {level}")
        rows.append(
            Labelled(level, "" if category == "-" else category, text, path.name, language)
        )
    return rows


@dataclass
class Fitted:
    """Weights learnt for one yes/no question."""

    bias: float = 0.0
    weights: dict[str, float] = field(default_factory=dict)

    def score(self, found: Sequence[str]) -> float:
        total = sum(self.weights.get(feature, 0.0) for feature in found)
        return sigmoid(self.bias + total / math.sqrt(len(found)))


def fit(
    rows: Sequence[tuple[list[str], bool]],
    epochs: int = 8,
    rate: float = 0.2,
    l2: float = 1e-4,
    seed: int = 7,
) -> Fitted:
    """Logistic regression by Adagrad over features scaled to unit length; the same rows
    and seed always give the same weights."""
    fitted = Fitted()
    weights = fitted.weights
    squares: dict[str, float] = {}
    bias_square = 1e-8
    order = list(range(len(rows)))
    shuffle = random.Random(seed).shuffle
    for _ in range(epochs):
        shuffle(order)
        for index in order:
            found, label = rows[index]
            if not found:
                continue
            scale = 1.0 / math.sqrt(len(found))
            total = fitted.bias + scale * sum(weights.get(feature, 0.0) for feature in found)
            error = sigmoid(total) - (1.0 if label else 0.0)
            bias_square += error * error
            fitted.bias -= rate * error / math.sqrt(bias_square)
            for feature in found:
                weight = weights.get(feature, 0.0)
                gradient = error * scale + l2 * weight
                square = squares.get(feature, 1e-8) + gradient * gradient
                squares[feature] = square
                weights[feature] = weight - rate * gradient / math.sqrt(square)
    return fitted


def lowest_threshold(benign: Sequence[float], false_alarms: float) -> float:
    """The lowest score that flags at most this share of the benign scores."""
    ordered = sorted(benign, reverse=True)
    allowed = int(false_alarms * len(ordered))
    if allowed >= len(ordered):
        return 0.0
    # Just above the first score that may not be flagged (ties with it are not flagged).
    return ordered[allowed] + 1e-9


def lowest_floor(
    benign: Sequence[tuple[float, bool]], threshold: float, allowed: int
) -> tuple[float, int]:
    """The lowest floor at which at most `allowed` benign messages the model does not flag
    itself, with a phrase found (their best score: the message's or a sentence's, phrase
    found), are flagged; and how many it flags.

    A sentence can score above the threshold while its message does not: its phrase flags
    it at any floor up to that score, so it counts too, and the floor may have to be above
    the threshold (up to NO_FLOOR, where no phrase counts without the model)."""
    floor = NO_FLOOR
    flagged = 0
    # Scores tied with each other come in together or not at all.
    counts = Counter(score for score, phrase in benign if phrase)
    for score in sorted(counts, reverse=True):
        if flagged + counts[score] > allowed:
            break
        flagged += counts[score]
        floor = score
    return floor, flagged


def _folds(rows: Sequence[Labelled], sources: Sequence[str]) -> list[set[str]]:
    """Files in at most FOLDS groups of about equal size, each file whole in one group."""
    sizes = Counter(row.source for row in rows)
    folds: list[set[str]] = [set() for _ in range(min(FOLDS, len(sources)))]
    totals = [0] * len(folds)
    for source in sorted(sources, key=lambda name: (-sizes[name], name)):
        smallest = totals.index(min(totals))
        folds[smallest].add(source)
        totals[smallest] += sizes[source]
    return folds if len(folds) > 1 else []


@dataclass(frozen=True)
class Reading:
    """How the bot reads one message: the model's score, the best of that and its
    sentences' (what a phrase is weighed against), the level of the phrase found (or
    None), how many words it has (see screen_model.flags)."""

    score: float
    best: float
    phrase: str | None
    words: int

    def flagged(
        self, threshold: float, urgent_floor: float, floor: float, short_threshold: float = NEVER
    ) -> bool:
        return flags(
            words=self.words,
            learnt=True,  # a corpus teaches its own language
            score=self.score,
            phrase=self.phrase,
            best=lambda: self.best,
            threshold=threshold,
            urgent_floor=urgent_floor,
            floor=floor,
            short_threshold=short_threshold,
        )


def read_as_the_bot(model: TextModel, screen: SafetyScreen, row: Labelled) -> Reading:
    """A corpus message read as SafetyScreen reads it (its phrases, then the model)."""
    words = message_words(row.text)
    score = model.score(words)
    best = max(score, model.sentence_score(message_sentences(row.text)))
    return Reading(score, best, _phrase_level(screen, row), len(words))


def choose(ordinary: Sequence[Reading], false_alarms: float) -> tuple[float, float, float]:
    """Threshold, urgent floor and floor from ordinary messages never learnt from: the
    model alone may flag MODEL_SHARE of the false alarms allowed; urgent phrases it scores
    lower may flag what is left, then concern phrases the rest. Messages under
    MODEL_MIN_WORDS words have a threshold of their own (choose_short) and do not count here:
    the many short replies would let the long messages flag more."""
    ordinary = [reading for reading in ordinary if reading.words >= MODEL_MIN_WORDS]
    if not ordinary:
        # No score says where the threshold goes: 0 would flag every message.
        raise CorpusError(
            f"the ordinary messages to set the threshold on hold none of {MODEL_MIN_WORDS}"
            " words or more: give ordinary messages of every length"
        )
    allowed = int(false_alarms * len(ordinary))
    threshold = lowest_threshold(
        [reading.score for reading in ordinary], false_alarms * MODEL_SHARE
    )
    flagged = [reading.flagged(threshold, 2.0, 2.0) for reading in ordinary]
    left = max(0, allowed - sum(flagged))
    quiet = [reading for reading, flag in zip(ordinary, flagged, strict=True) if not flag]
    urgent_floor, used = lowest_floor(
        [(reading.best, reading.phrase == "urgent") for reading in quiet], threshold, left
    )
    floor, _ = lowest_floor(
        [(reading.best, reading.phrase == "concern") for reading in quiet],
        threshold,
        left - used,
    )
    return threshold, urgent_floor, floor


def choose_short(ordinary: Sequence[Reading], threshold: float) -> float:
    """The short threshold from ordinary messages never learnt from: the lowest score (never
    under the threshold) at which at most SHORT_FALSE_ALARMS of the short ones are flagged
    by the model alone; NEVER when too few of them say where that is."""
    short = [reading.score for reading in ordinary if 0 < reading.words < MODEL_MIN_WORDS]
    if len(short) < SHORT_MIN_ORDINARY:
        return NEVER
    return max(threshold, lowest_threshold(short, SHORT_FALSE_ALARMS))


def calibrate_model(
    model: TextModel,
    screen: SafetyScreen,
    ordinary: Sequence[Labelled],
    false_alarms: float,
) -> None:
    """Set a model's threshold and floors again on ordinary messages it never learnt from."""
    readings = [read_as_the_bot(model, screen, row) for row in ordinary]
    model.threshold, model.urgent_floor, model.floor = choose(readings, false_alarms)
    model.short_threshold = choose_short(readings, model.threshold)


def _phrase_level(screen: SafetyScreen, row: Labelled) -> str | None:
    """The level of the phrase the bot would find in a corpus message (phrases alone)."""
    found = screen.screen(row.text, row.language)
    return found.level if found else None


def _scorer(fitted: Fitted) -> TextModel:
    """Learnt weights as a model that scores as the bot does (stretch by stretch)."""
    return TextModel(fitted.bias, fitted.weights, 1.0, 1.0, (), (), (), ())


@dataclass(frozen=True)
class Outcome:
    """Out-of-fold figures for one corpus file: crisis caught, ordinary flagged."""

    source: str
    crisis: int
    caught: int
    benign: int
    flagged: int


def train(
    rows: Sequence[Labelled],
    screen: SafetyScreen,
    false_alarms: float,
    categories: Sequence[str],
    calibration: Sequence[Labelled] = (),
    languages: Sequence[str] = (),
) -> tuple[TextModel, list[Outcome]]:
    """A model from every row. Threshold and floor come from out-of-fold scores, or, when
    calibration rows are given (labelled messages it never learns from), from the final
    model's scores of those."""
    found = [features(message_words(row.text)) for row in rows]
    labels = [row.level != "none" for row in rows]
    folds = _folds(rows, sorted({row.source for row in rows}))
    if not folds and not calibration:
        raise CorpusError(
            "one corpus file cannot set the threshold: give two files or more (each file is"
            " scored by a model learnt from the others), or --calibrate files"
        )
    readings: dict[int, Reading] = {}
    for fold in folds:
        others = [i for i, row in enumerate(rows) if row.source not in fold]
        learnt = _scorer(fit([(found[i], labels[i]) for i in others]))
        for index, row in enumerate(rows):
            if row.source in fold:
                readings[index] = read_as_the_bot(learnt, screen, row)
    whole = fit(list(zip(found, labels, strict=True)))
    crisis = [i for i, row in enumerate(rows) if row.category]
    # A feature of a single crisis message says nothing about its kind in general.
    seen = Counter(feature for i in crisis for feature in set(found[i]))
    shared = {i: [feature for feature in found[i] if seen[feature] > 1] for i in crisis}
    kinds = [
        fit([(shared[i], rows[i].category == name) for i in crisis], seed=11 + index)
        for index, name in enumerate(categories)
    ]
    rows_of: dict[str, list[float]] = {}
    for index, kind in enumerate(kinds):
        for feature, weight in kind.weights.items():
            if abs(weight) >= PRUNE:
                rows_of.setdefault(feature, [0.0] * len(categories))[index] = weight
    category_features = sorted(rows_of)
    model = TextModel(
        bias=whole.bias,
        weights={key: value for key, value in whole.weights.items() if abs(value) >= PRUNE},
        threshold=1.0,
        floor=1.0,
        categories=categories,
        category_bias=[kind.bias for kind in kinds],
        category_features=category_features,
        category_weights=[weight for name in category_features for weight in rows_of[name]],
        languages=languages,
    )
    counted = Counter(word for row in rows for word in message_words(row.text))
    model.keep_ready(word for word, _ in counted.most_common(COMMON_WORDS))
    # Set on the model as the bot will use it (weights pruned and stored as floats).
    if calibration:
        calibrate_model(
            model, screen, [row for row in calibration if row.level == "none"], false_alarms
        )
    else:
        ordinary = [reading for i, reading in readings.items() if not labels[i]]
        model.threshold, model.urgent_floor, model.floor = choose(ordinary, false_alarms)
        model.short_threshold = choose_short(ordinary, model.threshold)
    outcomes = []
    for source in sorted({rows[i].source for i in readings}):
        mine = [i for i in readings if rows[i].source == source]
        flags = {
            i: readings[i].flagged(
                model.threshold, model.urgent_floor, model.floor, model.short_threshold
            )
            for i in mine
        }
        outcomes.append(
            Outcome(
                source,
                crisis=sum(labels[i] for i in mine),
                caught=sum(labels[i] and flags[i] for i in mine),
                benign=sum(not labels[i] for i in mine),
                flagged=sum(not labels[i] and flags[i] for i in mine),
            )
        )
    return model, outcomes
