"""A small linear model that reads a message the way the phrase lists cannot.

The phrase files (bot/domain/safety.py) catch what a programme can name; people in distress
often write around the words ("I've sorted who gets the dog", "they'd manage fine without
me"). This model scores the words, word pairs and letter groups of a message, learnt from
labelled example messages in every language (tests/domain/safety_corpus/; see
bot.domain.screen_training), and says whether it reads as a
crisis message and, if so, which kind. It is plain Python, offline, and explainable: every
feature's weight is in the model file, and `python -m bot screen --explain` shows the ones
that decided a message.

Scores are taken over the whole message and over each stretch of a few sentences, so one
crisis clause inside a long message is not drowned out by ordinary talk around it.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import math
import operator
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

# Letter groups shorter than this say little; longer ones are nearly whole words.
_GRAM_SIZES = (3, 4, 5)
# A stretch scored on its own: this many words, moving on by half of it.
_WINDOW = 24
_STEP = _WINDOW // 2
FORMAT_VERSION = 2
# A message shorter than this is too little for the model to judge at its usual threshold:
# "no", "me again", "same as always" are everyday replies it could flag, "feeling really
# suicidal today" one it could wave through. Phrases decide on these, and the model only
# where it is nearly sure (its short threshold, set on short everyday replies: "🪢 tonight.
# it's decided", "ihurtmyselfagain sorrysorry" hold no phrase).
MODEL_MIN_WORDS = 5
# A threshold no score reaches (a model scores at most 1): "never".
NEVER = 1.0 + 1e-7
# A phrase found in a message shorter than this stands whatever the model reads: the model
# scored "I want to die today" 0.32 and "ok so I want to die" 0.47 (ordinary check-in
# words around the phrase), and short talk about the subject ("cut myself shaving lol")
# is what the phrase files' [about] entries quiet. On the blind and dev sets this changed
# no false alarm and caught two more (10 against 5, 6, 8, 12 and 15 words).
QUIET_MIN_WORDS = 10
# The commonest words of the corpus, whose whole weight (with their letter groups) the
# file holds ready, so that most words of a long message cost one look-up.
COMMON_WORDS = 10_000
# Per word of a message: the weight its features add, and how many features it brings.
Reading = tuple[list[float], list[int]]


def _grams(word: str) -> list[str]:
    """The letter groups of a word, with its edges marked ("<ki", "ill>")."""
    if len(word) <= 3 or not word.isalpha():
        return []
    padded = f"<{word}>"
    return [
        "#" + padded[start : start + size]
        for size in _GRAM_SIZES
        for start in range(len(padded) - size + 1)
    ]


def features(words: Sequence[str]) -> list[str]:
    """The features of a run of normalised words: each word, each pair, letter groups.

    A feature found twice counts twice, so a stretch's features are the sum of its words'
    (which lets a long message be scored stretch by stretch in one pass).
    """
    found: list[str] = []
    previous = "<s>"
    for word in words:
        found.append(word)
        found.append(f"{previous} {word}")
        found.extend(_grams(word))
        previous = word
    return found


def flags(
    *,
    words: int,
    learnt: bool,
    score: float,
    phrase: str | None,
    best: Callable[[], float],
    threshold: float,
    urgent_floor: float,
    floor: float,
    short_threshold: float = NEVER,
) -> bool:
    """Whether the screen flags a message: the one rule, for the bot (SafetyScreen) and for
    choosing thresholds on messages as the bot reads them (screen_training).

    words: how many words the message has; learnt: the model learnt the conversation's
    language; score: the model's score; phrase: the level of the phrase found ("urgent",
    "concern" or None); best: the highest of the score and each sentence's own (asked for
    only when it matters).

    Under MODEL_MIN_WORDS words a phrase decides, and the model flags on its own only at its
    short threshold (in a language it learnt). From there the model flags on its own at the
    threshold. A phrase stands unless the model reads the message, and each
    of its sentences, as plainly ordinary (below the floor for its level): talk about the
    subject. It always stands in a message under QUIET_MIN_WORDS words ("ok so I want to
    die", "I want to die today": too few words to be talk about anything else), and in a
    language the model never learnt. An ordinary sentence before "I want to kill myself"
    does not quiet it.
    """
    if words < MODEL_MIN_WORDS:
        return phrase is not None or (learnt and score >= short_threshold)
    if score >= threshold:
        return True
    if phrase is None:
        return False
    if not learnt or words < QUIET_MIN_WORDS:
        return True
    return best() >= (urgent_floor if phrase == "urgent" else floor)


def _spans(count: int) -> Iterator[tuple[int, int]]:
    """The whole message, then, for a long one, each stretch of _WINDOW words."""
    yield 0, count
    if count > _WINDOW:
        for start in range(0, count - _STEP, _STEP):
            yield start, min(count, start + _WINDOW)


def sigmoid(value: float) -> float:
    if value < -30:
        return 0.0
    return 1.0 / (1.0 + math.exp(-value))


def _packed(values: Iterable[float]) -> str:
    return base64.b64encode(array("f", values).tobytes()).decode("ascii")


def _unpacked(text: str, size: int) -> array[float]:
    values = array("f")
    values.frombytes(base64.b64decode(text, validate=True))
    if sys.byteorder != "little":
        values.byteswap()
    if len(values) != size:
        raise ValueError(f"{len(values)} weights where {size} were expected")
    return values


class TextModel:
    """Weights for "reads as crisis" and, among crisis messages, for each category.

    It keeps nothing of what it reads: the common words it has ready come from its file.
    """

    def __init__(
        self,
        bias: float,
        weights: Mapping[str, float],
        threshold: float,
        floor: float,
        categories: Sequence[str],
        category_bias: Sequence[float],
        category_features: Sequence[str],
        category_weights: Sequence[float],
        corpus: str = "",
        common: Mapping[str, float] | None = None,
        languages: Iterable[str] = (),
        urgent_floor: float | None = None,
        short_threshold: float = NEVER,
    ) -> None:
        """category_weights: for each of category_features in turn, one weight for each
        category."""
        self.bias = bias
        # Taken as they are when they come as a dict and an array (from the file): copying
        # them would double the load.
        self.weights = weights if isinstance(weights, dict) else dict(weights)
        # At `threshold` the model flags a message itself; below `floor` (`urgent_floor`
        # for an urgent phrase) a phrase found in it is taken as talk about the subject; in
        # between, phrases decide.
        self.threshold = threshold
        self.floor = floor
        self.urgent_floor = floor if urgent_floor is None else urgent_floor
        # In a message under MODEL_MIN_WORDS words, the model flags on its own from here.
        self.short_threshold = short_threshold
        self.categories = tuple(categories)
        self.category_bias = tuple(category_bias)
        self.category_features = category_features
        self.category_weights = (
            category_weights
            if isinstance(category_weights, array)
            else array("f", category_weights)
        )
        if len(self.category_weights) != len(self.category_features) * len(self.categories):
            raise ValueError("one weight for each category and feature")
        self._rows: dict[str, int] | None = None
        # A digest of the labelled messages it was learnt from (see screen_training).
        self.corpus = corpus
        # Common word -> what it adds to a score, itself and its letter groups.
        self.common = common if isinstance(common, dict) else dict(common or {})
        # The languages it learnt from (where it may overrule a phrase).
        self.languages = tuple(languages)

    def keep_ready(self, words: Iterable[str]) -> None:
        """Work out now what these words add to a score (the file keeps it)."""
        self.common = {word: self._added(word) for word in words}

    def _added(self, word: str) -> float:
        """What one word adds to a score: its own weight and its letter groups'."""
        weights = self.weights
        return weights.get(word, 0.0) + sum(weights.get(gram, 0.0) for gram in _grams(word))

    def score(self, words: Sequence[str]) -> float:
        """The highest crisis probability over the message and its stretches."""
        return self.best_stretch(words)[0]

    def best_stretch(
        self, words: Sequence[str], read: Reading | None = None
    ) -> tuple[float, Sequence[str]]:
        """The highest crisis probability over the message and its stretches, and the
        words of the stretch that has it (what the category is read from); `read`: these
        words' `reading`, if it was worked out already."""
        if not words:
            return 0.0, words
        values, counts = self.reading(words) if read is None else read
        best, start, end = self._best(values, counts)
        return sigmoid(self.bias + best), words[start:end]

    def reading(self, words: Sequence[str]) -> Reading:
        """Per word, the weight its features add (its own and its pair's with the word
        before) and how many features it brings: what a score is summed from. (Looked up
        word by word in C: a long message has some 800 words.)"""
        own: list[float | None] = list(map(self.common.get, words))
        if None in own:
            seen: dict[str, float] = {}  # this message's other words, read once
            for index, value in enumerate(own):
                if value is None:
                    word = words[index]
                    value = seen.get(word)
                    if value is None:
                        value = seen[word] = self._added(word)
                    own[index] = value
        pairs = map(" ".join, zip(itertools.chain(("<s>",), words), words, strict=False))
        values: list[float] = list(
            map(operator.add, own, map(self.weights.get, pairs, itertools.repeat(0.0)))
        )
        # How many features each word brings: itself, its pair, and its letter groups (as
        # many as _grams makes for it), counted without making them.
        counts = [3 * len(word) - 1 if len(word) > 3 and word.isalpha() else 2 for word in words]
        return values, counts

    @staticmethod
    def _best(values: Sequence[float], counts: Sequence[int]) -> tuple[float, int, int]:
        """The best stretch's value, start and end: summed from the start, so each stretch
        is a difference of two sums."""
        totals = list(itertools.accumulate(values, initial=0.0))
        sums = list(itertools.accumulate(counts, initial=0))
        return max(
            ((totals[end] - totals[start]) / math.sqrt(sums[end] - sums[start]), start, end)
            for start, end in _spans(len(values))
        )

    def sentence_score(
        self,
        sentences: Iterable[Sequence[str]],
        words: Sequence[str] = (),
        read: Reading | None = None,
    ) -> float:
        """The highest score of a message's sentences, each read on its own. With the
        message's words and their `reading`, a sentence that is a stretch of those words
        (most are) reuses what its words add: only its first word's pair is read again."""
        best = 0.0
        place = 0 if read is not None else -1
        for sentence in sentences:
            if not sentence:
                continue
            size = len(sentence)
            if place >= 0 and tuple(words[place : place + size]) == tuple(sentence):
                assert read is not None
                values = read[0][place : place + size]
                if place:  # the message's first word has its pair with the start already
                    values[0] = self._first_value(sentence[0])
                score = sigmoid(self.bias + self._best(values, read[1][place : place + size])[0])
                place += size
            else:
                place = -1  # the sentences no longer follow the words: each read anew
                score = self.score(sentence)
            best = max(best, score)
        return best

    def _first_value(self, word: str) -> float:
        """What a sentence's first word adds: its own weight and its pair with the start."""
        own = self.common.get(word)
        if own is None:
            own = self._added(word)
        return own + self.weights.get(f"<s> {word}", 0.0)

    def category(self, words: Sequence[str]) -> str:
        """The likeliest category for a message already read as crisis."""
        if self._rows is None:  # only needed when the model flags a message itself
            self._rows = {name: index for index, name in enumerate(self.category_features)}
        totals = list(self.category_bias)
        found = features(words)
        scale = 1.0 / math.sqrt(len(found))
        width = len(totals)
        weights = self.category_weights
        for feature in found:
            row = self._rows.get(feature)
            if row is not None:
                for index in range(width):
                    totals[index] += weights[row * width + index] * scale
        best = max(range(len(totals)), key=totals.__getitem__)
        return self.categories[best]

    def explain(self, words: Sequence[str], count: int = 6) -> list[tuple[str, float]]:
        """The features of the message that pushed its score most, either way."""
        weights = self.weights
        weighted = [(name, weights[name]) for name in set(features(words)) if name in weights]
        weighted.sort(key=lambda pair: (-abs(pair[1]), pair[0]))
        return weighted[:count]

    def to_json(self) -> str:
        """The model as its file holds it: names as text, weights as packed floats."""
        names = sorted(self.weights)
        return json.dumps(
            {
                "format": FORMAT_VERSION,
                "corpus": self.corpus,
                "languages": list(self.languages),
                "threshold": self.threshold,
                "floor": self.floor,
                "urgent_floor": self.urgent_floor,
                "short_threshold": self.short_threshold,
                "bias": self.bias,
                "features": "\n".join(names),
                "weights": _packed(self.weights[name] for name in names),
                "categories": list(self.categories),
                "category_bias": list(self.category_bias),
                "common": "\n".join(self.common),
                "common_weights": _packed(self.common.values()),
                "category_features": "\n".join(self.category_features),
                "category_weights": _packed(self.category_weights),
            },
            ensure_ascii=False,
            indent=0,
        )

    @classmethod
    def from_json(cls, text: str | bytes, source: str) -> TextModel:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT_VERSION:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT_VERSION}")
            names = data["features"].split("\n") if data["features"] else []
            weights = _unpacked(data["weights"], len(names))
            categories = list(data["categories"])
            rows = data["category_features"].split("\n") if data["category_features"] else []
            packed = _unpacked(data["category_weights"], len(rows) * len(categories))
            common = data["common"].split("\n") if data["common"] else []
            category_bias = [float(value) for value in data["category_bias"]]
            if not categories or len(category_bias) != len(categories):
                raise ValueError("one category bias per category, at least one category")
            if not isinstance(data["languages"], list):
                raise ValueError("languages must be a list")
            keys = ("bias", "threshold", "floor", "urgent_floor")
            # A model learnt before short messages had a threshold of their own never flags
            # one on its own.
            decisions = [float(data[key]) for key in keys]
            decisions.append(float(data.get("short_threshold", NEVER)))
            common_weights = _unpacked(data["common_weights"], len(common))
            # A NaN or an infinity anywhere makes its sum one too (a quick test in C).
            sums = (sum(decisions), sum(category_bias), sum(weights), sum(packed))
            if not all(math.isfinite(value) for value in (*sums, sum(common_weights))):
                raise ValueError("a weight or threshold that is not a finite number")
            if not all(0.0 <= value <= 1.0 + 1e-6 for value in decisions[1:]):
                raise ValueError("thresholds must be between 0 and 1")
            return cls(
                bias=float(data["bias"]),
                weights=dict(zip(names, weights, strict=True)),
                threshold=float(data["threshold"]),
                floor=float(data["floor"]),
                urgent_floor=float(data["urgent_floor"]),
                short_threshold=decisions[-1],
                categories=categories,
                category_bias=category_bias,
                category_features=rows,
                category_weights=packed,
                corpus=str(data.get("corpus", "")),
                languages=[str(code) for code in data["languages"]],
                common=dict(zip(common, common_weights, strict=True)),
            )
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as error:
            raise ValueError(f"{source}: not a screen model ({error})") from error

    @classmethod
    def load(cls, path: Path) -> TextModel:
        return cls.from_json(path.read_bytes(), str(path))
