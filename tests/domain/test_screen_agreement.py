"""The bot's screen and calibration read a message alike: the floors chosen on a corpus are
the floors the bot applies, so a figure measured in calibration is what the bot does."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import CONFIG_DIR
from bot.domain.safety import SafetyScreen
from bot.domain.screen_training import Labelled, read_as_the_bot

SCREEN = SafetyScreen.load(CONFIG_DIR / "safety")
PHRASES = SafetyScreen.load(CONFIG_DIR / "safety", with_model=False)
MODEL = SCREEN.model
CORPUS_DIR = Path(__file__).parent / "safety_corpus"
# Words that move the model and the phrases, mixed with ordinary ones and sentence breaks.
WORDS = st.sampled_from(
    [
        "i",
        "want",
        "to",
        "die",
        "kill",
        "myself",
        "today",
        "ok",
        "so",
        "honestly",
        "pills",
        "overdose",
        "cut",
        "shaving",
        "lol",
        "the",
        "news",
        "documentary",
        "about",
        "suicide",
        "my",
        "dad",
        "hits",
        "me",
        "quiero",
        "morir",
        "me",
        "corté",
        "hoy",
        "bien",
        ".",
        "!",
        "?",
        "\n",
        ",",
        "kms",
        "unalive",
        "bridge",
        "rope",
        "tired",
        "burden",
        "goodbye",
        "everyone",
    ]
)
TEXTS = st.one_of(st.lists(WORDS, max_size=30).map(" ".join), st.text(max_size=80))


def calibrated(text: str, language: str) -> bool:
    """Whether calibration's rule flags the text (as screen_training reads the bot)."""
    assert MODEL is not None
    row = Labelled("none", "", text, "property", language)
    reading = read_as_the_bot(MODEL, PHRASES, row)
    return reading.flagged(MODEL.threshold, MODEL.urgent_floor, MODEL.floor, MODEL.short_threshold)


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.sampled_from(["en", "es"]))
def test_the_bot_and_calibration_flag_the_same_messages(text: str, language: str) -> None:
    assert (SCREEN.screen(text, language) is not None) == calibrated(text, language)


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_bot_and_calibration_flag_the_same_corpus_messages(language: str) -> None:
    differ = []
    # The corpus and the blind sets (train/ adds ten thousand lines and two minutes).
    paths = [*CORPUS_DIR.glob(f"*{language}*.tsv"), *CORPUS_DIR.glob(f"blind/*{language}*.tsv")]
    assert len(paths) > 3
    for path in sorted(paths):
        for line in path.read_text("utf-8").splitlines():
            text = line.rsplit("\t", 1)[-1]
            if (SCREEN.screen(text, language) is not None) != calibrated(text, language):
                differ.append(text)
    assert differ == []


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.sampled_from(["en", "es", "fr"]))
def test_nothing_found_in_every_language_is_nothing_in_the_clients_own(
    text: str, language: str
) -> None:
    """The relay takes the inbox's every-language reading that found nothing for the
    client's own (bot.services.relay, `_answers`): that holds only while this does."""
    for screen in (SCREEN, PHRASES):
        if screen.screen_all(text, language) is None:
            assert screen.screen(text, language) is None


@pytest.mark.parametrize("language", ["en", "es"])
def test_nothing_found_in_every_language_is_nothing_in_the_clients_own_in_the_corpus(
    language: str,
) -> None:
    missed = []
    for path in sorted(CORPUS_DIR.glob("*.tsv")):
        for line in path.read_text("utf-8").splitlines():
            text = line.rsplit("\t", 1)[-1]
            for screen in (SCREEN, PHRASES):
                if screen.screen_all(text, language) is None and screen.screen(text, language):
                    missed.append(text)
    assert missed == []
