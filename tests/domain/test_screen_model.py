"""The model that reads messages before the phrases: scoring, its file, learning, and how
the screen combines the two."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import NoReturn

import pytest

from bot.config import CONFIG_DIR
from bot.domain.safety import MODEL_FILE, SafetyConfigError, SafetyScreen, message_words
from bot.domain.screen_model import (
    MODEL_MIN_WORDS,
    NEVER,
    QUIET_MIN_WORDS,
    TextModel,
    features,
    sigmoid,
)
from bot.domain.screen_training import (
    NO_FLOOR,
    SHORT_MIN_ORDINARY,
    CorpusError,
    Labelled,
    Reading,
    choose,
    choose_short,
    corpus_digest,
    fit,
    lowest_floor,
    lowest_threshold,
    read_corpus,
    train,
)
from bot.screen_cli import corpus_files

CATEGORIES = ["suicide", "abuse", "burden"]
CORPUS_DIR = Path(__file__).parent / "safety_corpus"


def model(
    weights: dict[str, float],
    threshold: float = 0.5,
    floor: float = 0.2,
    languages: tuple[str, ...] = ("en", "es"),
) -> TextModel:
    """A hand-made model: "suicide" for "rope", "abuse" for "hits", "burden" otherwise."""
    return TextModel(
        bias=-2.0,
        weights=weights,
        threshold=threshold,
        floor=floor,
        categories=CATEGORIES,
        category_bias=[0.0, 0.0, 0.1],
        category_features=["rope", "hits"],
        category_weights=[5.0, 0.0, 0.0, 0.0, 5.0, 0.0],
        languages=languages,
    )


def test_a_crisis_clause_inside_a_long_message_scores_as_it_does_alone() -> None:
    weighted = model({"rope": 30.0, "garage": 10.0})
    alone = weighted.score(message_words("the rope is in the garage"))
    ordinary = " ".join(["we went to the market and bought bread and some apples."] * 12)
    inside = weighted.score(message_words(f"{ordinary} the rope is in the garage. {ordinary}"))
    # Scored over the whole message only, the clause would be lost among the words; a
    # stretch around it reads like a message of a few sentences.
    around = message_words(f"{ordinary} the rope is in the garage. {ordinary}")
    whole = weighted.bias + 16.0 / len(features(around)) ** 0.5
    assert alone > 0.5
    assert sigmoid(whole) < 0.5 < inside


def test_an_ordinary_message_and_an_empty_one_score_low() -> None:
    weighted = model({"rope": 12.0})
    assert weighted.score(message_words("lovely walk by the river today")) < 0.2
    assert weighted.score(()) == 0.0


def test_common_words_ready_score_as_words_worked_out_and_reading_keeps_nothing() -> None:
    weighted = model({"#rop": 6.0, "rope": 6.0, "got a": 1.0})
    words = message_words("got a rope, a ROPE, and 1 more r0pe 💊")
    worked_out = weighted.score(words)
    before = dict(vars(weighted))
    weighted.keep_ready(["rope", "got", "more"])
    assert weighted.score(words) == pytest.approx(worked_out)
    assert weighted.common["rope"] == pytest.approx(12.0)
    weighted.score(message_words("zebra sentinel"))
    assert "zebra" not in repr(vars(weighted)) and set(vars(weighted)) == set(before)
    # A misspelling shares letter groups with the word, so it still counts for something.
    assert weighted.score(message_words("got a ropee")) > weighted.score(message_words("got a"))


def test_a_stretch_counts_exactly_the_features_its_words_bring() -> None:
    # The score divides by the square root of the stretch's feature count, which it counts
    # word by word without making the features: the same count as making them.
    weighted = model({"#pil": 1.5, "me": 0.5, "<s> i": 0.25})
    words = message_words("I can't go on, the pills are here 💊 k1ll me now. ok")
    found = features(words)
    total = sum(weighted.weights.get(feature, 0.0) for feature in found)
    assert weighted.score(words) == pytest.approx(sigmoid(-2.0 + total / math.sqrt(len(found))))


def test_the_category_is_the_likeliest_kind() -> None:
    weighted = model({"rope": 12.0})
    assert weighted.category(message_words("the rope")) == "suicide"
    assert weighted.category(message_words("he hits me")) == "abuse"
    assert weighted.category(message_words("nothing known here")) == "burden"


def test_the_file_keeps_every_weight_and_decision(tmp_path: Path) -> None:
    original = model({"rope": 1.5, "a b": -0.25, "#ope>": 0.125})
    original.corpus = "abc"
    path = tmp_path / MODEL_FILE
    path.write_text(original.to_json(), "utf-8")
    read = TextModel.load(path)
    assert read.weights == original.weights
    assert (read.threshold, read.floor, read.corpus) == (0.5, 0.2, "abc")
    assert read.languages == ("en", "es")
    words = message_words("a b rope he hits")
    assert read.score(words) == original.score(words)
    assert read.category(words) == original.category(words)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda data: data.update(format=99),
        lambda data: data.update(weights="@@not base64@@"),
        lambda data: data.update(weights=""),
        lambda data: data.pop("threshold"),
        lambda data: data.update(category_bias=[1.0]),
        lambda data: data.pop("languages"),
        lambda data: data.update(bias=float("nan")),
        lambda data: data.update(threshold=1.5),
        lambda data: data.update(urgent_floor=-0.1),
        lambda data: data.update(categories=[], category_bias=[], category_weights=""),
        lambda data: data.update(languages="en"),
    ],
)
def test_a_spoilt_model_file_stops_the_start_naming_the_file(tmp_path: Path, spoil) -> None:  # type: ignore[no-untyped-def]
    for name in ("en.toml", "es.toml"):
        (tmp_path / name).write_bytes((CONFIG_DIR / "safety" / name).read_bytes())
    data = json.loads(model({"rope": 1.0}).to_json())
    spoil(data)
    (tmp_path / MODEL_FILE).write_text(json.dumps(data), "utf-8")
    with pytest.raises(SafetyConfigError, match=MODEL_FILE):
        SafetyScreen.load(tmp_path)
    # The same folder loads with phrases alone when asked (as train-screen does).
    assert SafetyScreen.load(tmp_path, with_model=False).model is None


def screen_with(weighted: TextModel) -> SafetyScreen:
    phrases = SafetyScreen.load(CONFIG_DIR / "safety", with_model=False)
    return phrases.with_model(weighted)


def test_the_model_flags_what_no_phrase_names_with_its_own_category() -> None:
    screen = screen_with(model({"sorted": 25.0, "dog": 25.0, "rope": 40.0}))
    found = screen.screen("sorted out who takes the dog", "en")
    assert found is not None
    assert (found.category, found.level) == ("burden", "concern")
    found = screen.screen("the rope is ready for tonight", "en")
    assert found is not None and (found.category, found.level) == ("suicide", "urgent")


def test_a_few_words_are_left_to_the_phrases_both_ways() -> None:
    screen = screen_with(model({"me": 40.0, "again": 40.0, "today": -60.0}))
    assert screen.screen("me again", "en") is None  # the model would flag it
    found = screen.screen("feeling really suicidal today", "en")  # the model would not
    assert found is not None and found.level == "urgent"


def test_a_short_message_the_model_is_nearly_sure_of_is_flagged_without_a_phrase() -> None:
    weighted = model({"decided": 80.0, "again": 4.0, "me": 1.0})
    weighted.short_threshold = 0.99
    screen = screen_with(weighted)
    found = screen.screen("🪢 tonight. it's decided", "en")  # no phrase in it
    assert found is not None and found.category == "burden"  # the model's own guess
    assert weighted.score(message_words("me again")) < 0.99
    assert screen.screen("me again", "en") is None  # under the short threshold
    # Without a short threshold (a model from before), the phrases alone decide.
    weighted.short_threshold = NEVER
    assert screen.screen("🪢 tonight. it's decided", "en") is None
    # In a language the model never learnt, too.
    unlearnt = model({"decided": 40.0}, languages=("es",))
    unlearnt.short_threshold = 0.5
    assert screen_with(unlearnt).screen("🪢 tonight. it's decided", "en") is None


def test_the_short_threshold_is_set_on_short_ordinary_replies_and_never_under_the_threshold() -> (
    None
):
    def short(score: float) -> Reading:
        return Reading(score, score, None, words=MODEL_MIN_WORDS - 1)

    # 400 short replies: 2 may be flagged (SHORT_FALSE_ALARMS), the third may not.
    ordinary = [short(0.99), short(0.98), short(0.97)] + [short(0.1)] * 397
    assert choose_short(ordinary, threshold=0.5) == pytest.approx(0.97 + 1e-9)
    assert choose_short(ordinary, threshold=0.975) == 0.975
    # Long messages do not count, and too few short ones say nothing: never.
    assert choose_short(ordinary[: SHORT_MIN_ORDINARY - 1], threshold=0.5) == NEVER
    assert choose_short([reading(0.1)] * 1000, threshold=0.5) == NEVER
    # Nor do short replies let long messages flag more: they are not in the threshold's count.
    long = [reading(0.99), reading(0.98)] + [reading(0.1)] * 38
    assert choose(long + ordinary, false_alarms=0.05) == choose(long, false_alarms=0.05)
    assert short(0.98).flagged(0.5, 0.5, 0.5, short_threshold=0.97)
    assert not short(0.96).flagged(0.5, 0.5, 0.5, short_threshold=0.97)


def test_a_model_file_without_a_short_threshold_never_flags_a_short_message_alone() -> None:
    data = json.loads(model({"rope": 1.0}).to_json())
    del data["short_threshold"]
    assert TextModel.from_json(json.dumps(data), "old").short_threshold == NEVER
    data["short_threshold"] = 1.5
    with pytest.raises(ValueError, match="between 0 and 1"):
        TextModel.from_json(json.dumps(data), "bad")


def test_an_ordinary_sentence_before_a_phrase_does_not_quiet_it() -> None:
    weighted = model({"work": -30.0, "car": -30.0, "kids": -30.0, "film": -60.0, "kill": 25.0})
    weighted.urgent_floor = weighted.floor = 0.3
    screen = screen_with(weighted)
    text = "we talked about work, the car and the kids. I want to kill myself"
    found = screen.screen(text, "en")
    assert found is not None and found.category == "suicide"
    # In one sentence with the ordinary words, it is read as talk about the subject.
    assert screen.screen("the film where he says I want to kill myself", "en") is None


def test_a_phrase_decides_between_floor_and_threshold_and_names_the_category() -> None:
    # "kill myself" scores between floor and threshold: the phrase decides, and its
    # category (not the model's) is the one reported, above the threshold too.
    for threshold in (0.9, 0.3):
        screen = screen_with(model({"kill": 20.0, "myself": 10.0}, threshold=threshold))
        found = screen.screen("I want to kill myself", "en")
        assert found is not None and found.category == "suicide"


def test_below_the_floor_a_phrase_is_talk_about_the_subject() -> None:
    text = "the film where he says I want to kill myself"
    without_model = SafetyScreen.load(CONFIG_DIR / "safety", with_model=False)
    assert without_model.screen(text, "en") is not None
    screen = screen_with(model({"film": -30.0}, floor=0.2))
    assert screen.screen(text, "en") is None


def test_an_urgent_phrase_counts_from_its_own_lower_floor() -> None:
    weighted = model({"film": -3.0})  # scores the message at about 0.03
    weighted.floor, weighted.urgent_floor = 0.5, 0.01
    screen = screen_with(weighted)
    found = screen.screen("the film where he says I want to kill myself", "en")
    assert found is not None and found.level == "urgent"
    # A concern phrase below its own floor is talk about the subject.
    assert (
        screen.screen("the film where she says everyone would be better off without me", "en")
        is None
    )


def test_in_a_language_the_model_never_learnt_the_phrases_decide() -> None:
    # A model learnt from Spanish only cannot tell ordinary English: the phrase stands.
    screen = screen_with(model({"film": -30.0}, floor=0.2, languages=("es",)))
    found = screen.screen("the film where he says I want to kill myself made us cry", "en")
    assert found is not None and found.category == "suicide"
    # In the language it learnt, the same low score quiets the phrase (in a message long
    # enough to be about something else: QUIET_MIN_WORDS).
    assert screen.screen("the film where he says me quiero matar nos hizo llorar", "es") is None


def test_explain_shows_score_phrase_and_weightiest_features() -> None:
    screen = screen_with(model({"rope": 6.0, "garage": -1.0}))
    said = screen.explain("the rope is in the garage", "en")
    assert said.startswith("phrase=")
    assert "score=" in said and "'rope'+6.00" in said and "'garage'-1.00" in said


def rows(*pairs: tuple[str, str, str]) -> list[Labelled]:
    return [Labelled(level, category, text, source) for level, category, text, source in pairs]


def test_learning_finds_the_line_and_is_the_same_every_time() -> None:
    crisis = ["i took all the pills", "took the whole box of pills", "swallowed every pill"]
    ordinary = ["i took the dog out", "took the bus to work", "walked the dog at noon"]
    data = [(features(message_words(text)), True) for text in crisis] + [
        (features(message_words(text)), False) for text in ordinary
    ]
    first = fit(data * 20)
    assert fit(data * 20).weights == first.weights
    assert first.score(features(message_words("took all my pills"))) > 0.5
    assert first.score(features(message_words("took the dog to the vet"))) < 0.5


def test_the_threshold_keeps_false_alarms_within_the_share_asked() -> None:
    benign = [0.9, 0.8, 0.3, 0.2, 0.1, 0.1, 0.05, 0.0, 0.0, 0.0]
    threshold = lowest_threshold(benign, 0.1)  # one of ten may be flagged
    assert sum(score >= threshold for score in benign) == 1
    assert lowest_threshold(benign, 0.0) > 0.9
    # Ties are flagged together or not at all: never more than allowed.
    assert sum(score >= lowest_threshold([1.0] * 10, 0.1) for score in [1.0] * 10) == 0
    tied = [(0.9, False), (0.5, True), (0.5, True), (0.4, True)] + [(0.0, False)] * 6
    assert lowest_floor(tied, threshold=0.85, allowed=1) == (NO_FLOOR, 0)
    assert lowest_floor(tied, threshold=0.85, allowed=2) == (0.5, 2)
    assert lowest_floor(tied, threshold=0.85, allowed=3) == (0.4, 3)
    # A sentence above the threshold in a message below it: its phrase flags it at any
    # floor up to that score, so it is counted first (and the floor may go above the
    # threshold when nothing more is allowed).
    sentence = [(0.95, True), (0.5, True), (0.0, False)]
    assert lowest_floor(sentence, threshold=0.85, allowed=1) == (0.95, 1)
    assert lowest_floor(sentence, threshold=0.85, allowed=2) == (0.5, 2)
    assert lowest_floor(sentence, threshold=0.85, allowed=0) == (NO_FLOOR, 0)


def reading(score: float, phrase: str | None = None, best: float | None = None) -> Reading:
    return Reading(score, score if best is None else best, phrase, words=QUIET_MIN_WORDS)


def test_urgent_phrases_get_what_the_model_leaves_then_concern_phrases() -> None:
    ordinary = [reading(0.99), reading(0.98), reading(0.97)]
    ordinary += [reading(0.5, "urgent"), reading(0.4, "concern", best=0.45)]
    ordinary += [reading(0.0)] * 35
    threshold, urgent_floor, floor = choose(ordinary, false_alarms=0.1)  # 4 of 40
    assert 0.5 < threshold < 0.97  # the model's own 3
    assert (urgent_floor, floor) == (0.5, NO_FLOOR)  # the 4th: the urgent phrase
    # 5: the concern phrase too, weighed by its best sentence.
    assert choose(ordinary, false_alarms=0.125)[1:] == (0.5, 0.45)
    # A short message: the phrase alone decides, whatever the score.
    short = Reading(0.0, 0.0, "urgent", words=MODEL_MIN_WORDS - 1)
    assert short.flagged(0.9, 0.9, 0.9) and not Reading(1.0, 1.0, None, 4).flagged(0, 0, 0)
    # Under QUIET_MIN_WORDS words the model may flag alone but not quiet a phrase.
    brief = Reading(0.0, 0.0, "urgent", words=QUIET_MIN_WORDS - 1)
    assert brief.flagged(0.9, 0.9, 0.9) and Reading(0.95, 0.95, None, 5).flagged(0.9, 1, 1)
    assert not Reading(0.0, 0.0, "urgent", words=QUIET_MIN_WORDS).flagged(0.9, 0.9, 0.9)


def test_learning_reports_each_file_scored_by_a_model_learnt_without_it() -> None:
    phrases = SafetyScreen.load(CONFIG_DIR / "safety", with_model=False)
    data = rows(
        *[("urgent", "suicide", f"i have the rope ready {n}", "a.tsv") for n in range(8)],
        *[("none", "", f"the bus was late again {n}", "a.tsv") for n in range(8)],
        *[("urgent", "suicide", f"rope is ready tonight {n}", "b.tsv") for n in range(8)],
        *[("none", "", f"late bus today again {n}", "b.tsv") for n in range(8)],
    )
    learnt, outcomes = train(data, phrases, 0.05, CATEGORIES)
    assert [(o.source, o.crisis, o.benign) for o in outcomes] == [("a.tsv", 8, 8), ("b.tsv", 8, 8)]
    assert all(o.caught == 8 and o.flagged == 0 for o in outcomes)
    assert learnt.score(message_words("the rope is ready")) >= learnt.threshold


def test_a_corpus_line_that_breaks_the_format_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(
        "urgent\tsuicide\tplain\tfine line\nurgent\tnot_a_kind\tx\tline two\n", "utf-8"
    )
    with pytest.raises(CorpusError, match=r"bad.tsv:2: category 'not_a_kind'"):
        read_corpus(path, CATEGORIES)
    path.write_text("none\tsuicide\tx\tordinary but labelled crisis\n", "utf-8")
    with pytest.raises(CorpusError, match=r"bad\.tsv:1"):
        read_corpus(path, CATEGORIES)
    path.write_text("just one field\n", "utf-8")
    with pytest.raises(CorpusError, match="4 TAB-separated fields"):
        read_corpus(path, CATEGORIES)


def test_the_shipped_model_was_learnt_from_the_corpus_as_it_is() -> None:
    """Change the corpus, learn again: `python -m bot train-screen`."""
    shipped = TextModel.load(CONFIG_DIR / "safety" / MODEL_FILE)
    paths = corpus_files()
    assert shipped.corpus == corpus_digest(paths)
    # What it learns from: our corpus and the writers' files, never a blind set.
    assert {path.parent.name for path in paths} == {"safety_corpus", "train"}
    assert len(paths) > 20 and (CORPUS_DIR / "blind").is_dir()
    assert 0 < shipped.urgent_floor <= shipped.threshold < 1
    assert 0 < shipped.floor <= NO_FLOOR  # NO_FLOOR: concern phrases count only when it flags
    # Calibrated on short replies too (bench/RESULTS.md): a short message it is sure of flags.
    assert shipped.threshold <= shipped.short_threshold < 1


def test_the_same_files_are_read_once_and_a_changed_one_again(tmp_path: Path) -> None:
    for name in ("en.toml", "es.toml"):
        (tmp_path / name).write_bytes((CONFIG_DIR / "safety" / name).read_bytes())
    first = SafetyScreen.load(tmp_path)
    assert SafetyScreen.load(tmp_path) is first
    assert SafetyScreen.load(tmp_path, with_model=False) is not first
    (tmp_path / MODEL_FILE).write_text(model({"rope": 40.0}).to_json(), "utf-8")
    again = SafetyScreen.load(tmp_path)
    assert again is not first and again.model is not None and first.model is None


def test_any_fault_reading_the_files_is_a_configuration_error() -> None:
    """The bot stops with one line on a SafetyConfigError (bot.app); another kind of fault
    while reading the files must not leave a bot serving on without a screen."""

    def broken() -> NoReturn:
        raise RecursionError("maximum recursion depth exceeded")

    screen = SafetyScreen._deferred({"en": "Call 112."}, broken)
    with pytest.raises(SafetyConfigError, match="RecursionError: maximum recursion"):
        screen.warm()
    assert not screen.ready
    with pytest.raises(SafetyConfigError):  # tried again, and said again
        screen.screen("hello there", "en")
