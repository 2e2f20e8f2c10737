"""The shipped screen (model and phrases) on the plainest messages: what it must never miss
and the everyday sentences it must leave alone. The measured figures are in
bench/RESULTS.md ("Safety screen"); these are the floor under them."""

from __future__ import annotations

import pytest

from bot.config import CONFIG_DIR
from bot.domain.safety import SafetyScreen

SCREEN = SafetyScreen.load(CONFIG_DIR / "safety")

URGENT = {
    "en": [
        "I want to kill myself",
        "im going to end my life tonight",
        "I took 30 pills an hour ago",
        "I cut myself again last night",
        "my husband beats me",
        "I'm going to kill him",
        "k i l l myself",
        "i have a rope in the garage",
    ],
    "es": [
        "me quiero matar",
        "me voy a quitar la vida esta noche",
        "me tomé todas las pastillas",
        "me corté otra vez anoche",
        "mi pareja me pega",
        "lo voy a matar",
    ],
}
CONCERN_OR_URGENT = {
    "en": [
        "feeling really suicidal today",
        "i want to die",
        "everyone would be better off without me",
        "i wish i could just disappear forever",
        "I don't see any future for me",
    ],
    "es": [
        "tengo pensamientos suicidas",
        "quiero morirme",
        "todos estarían mejor sin mí",
        "ojalá no despertar mañana",
        "no le veo futuro a nada",
    ],
}
ORDINARY = {
    "en": [
        "feeling really tired today",
        "the bus was late again",
        "overdosed on coffee lol",
        "this traffic is killing me",
        "my appointment is on thursday at 10",
    ],
    "es": [
        "me muero de risa",
        "hoy fue un día largo",
        "me corté el pelo ayer",
        "el examen me mató jaja",
        "mañana tengo cita con el médico",
    ],
}


@pytest.mark.parametrize(
    ("language", "text"), [(code, text) for code, texts in URGENT.items() for text in texts]
)
def test_plain_urgent_messages_are_urgent(language: str, text: str) -> None:
    found = SCREEN.screen(text, language)
    assert found is not None and found.level == "urgent", found


@pytest.mark.parametrize(
    ("language", "text"),
    [(code, text) for code, texts in CONCERN_OR_URGENT.items() for text in texts],
)
def test_plain_warning_signs_are_flagged(language: str, text: str) -> None:
    assert SCREEN.screen(text, language) is not None


@pytest.mark.parametrize(
    ("language", "text"), [(code, text) for code, texts in ORDINARY.items() for text in texts]
)
def test_everyday_messages_are_left_alone(language: str, text: str) -> None:
    assert SCREEN.screen(text, language) is None
