"""Rules every client-facing text keeps, checked over config/messages/*.toml.

Every key in every language with the same placeholders is checked in test_texts.py
(test_every_file_has_every_other_files_keys_with_the_same_placeholders).
"""

from __future__ import annotations

import re
import statistics

import pytest
import textstat

from bot.config import CONFIG_DIR
from bot.domain.texts import Texts, placeholders
from tests.domain.test_texts import _raw

LANGUAGES = sorted(path.stem for path in (CONFIG_DIR / "messages").glob("*.toml"))
TEXTS = Texts.load(CONFIG_DIR / "messages")

# What a client reads: these tables whole, and these keys of the staff's tables.
CLIENT_TABLES = frozenset(
    {
        "stranger",
        "consent",
        "button",
        "client",
        "checkin",
        "prompts",
        "setup",
        "settings",
        "schedule",
        "pause",
        "privacy",
        "mydata",
        "forget",
        "rhythm",
        "window",
        "when",
        "weekday",
        "weekday_short",
        "month",
        "language",
        "checkin_kept",
    }
)
CLIENT_KEYS = frozenset(
    {
        "relay.header_to_client",
        "transfer.to_client",
        "away.note",
        "away.their_note",
        "away.urgent",
        "away.until_date",
        "away.until_open",
        "unreachable.kept",
        "escalation.crisis",
        "escalation.header_from_colleague",
        "escalation.header_from_team",
        *(
            f"menu.{name}"
            for name in (
                *("settings", "schedule", "timezone", "quiet", "pause", "resume", "stop"),
                *("privacy", "mydata", "forget", "language", "help", "crisis"),
            )
        ),
    }
)
NOT_TEXT = frozenset({"consent.version", "settings.clients_only", "forget.to_specialist"})

LONGEST = 400
# Longer than LONGEST, and why.
LONG_ON_PURPOSE = {
    "consent.terms": "the terms in full, before anything is stored",
    "privacy.text": "what is kept, who sees it, for how long, and how to erase it",
    "mydata.about": "explains each part of the file /mydata sends",
    "client.safety": "the crisis reply (the safety-net work's), gentle and complete",
    "team_consent.terms": "consent.terms with the team inbox on",
    "team_consent.privacy": "privacy.text with the team inbox on",
}
# Placeholders as a client would see them filled. The crisis lines ({resources}) and the
# terms ({terms}) are counted where they are written, not in every text that carries them.
SAMPLE = {
    "specialist": "Sam Rivera",
    "previous": "Ria Okafor",
    "name": "Sam Rivera",
    "resources": "",
    "terms": "",
    "rhythm": "every day, at 09:00",
    "next": "tomorrow at 09:00",
    "status": "Next check-in: tomorrow at 09:00.",
    "until": "Wednesday 2 December at 09:00",
    "date": "Wednesday 2 December",
    "days": "30",
    "timezone": "Europe/Berlin",
    "quiet": "22:00 to 07:00",
    "choices": "English: /language en\nEspañol: /language es",
    "code": "en",
    "note": "Back on Thursday.",
}


def client_keys() -> list[str]:
    """Every client-facing key (the same in every language)."""
    keys = [
        key
        for key in TEXTS.names()
        if (key.split(".")[0] in CLIENT_TABLES or key in CLIENT_KEYS) and key not in NOT_TEXT
    ]
    assert len(keys) > 150, "the list of client texts lost its tables"
    return sorted(keys)


def rendered(key: str, language: str) -> str:
    """The text as a client reads it, with its placeholders filled as above."""
    params = {name: SAMPLE.get(name, "Sam Rivera") for name in placeholders(_raw(language, key))}
    if "change" in params:
        params["change"] = TEXTS.get("consent.change", language, specialist="Sam Rivera")
    return TEXTS.get(key, language, **params)


def test_the_client_keys_named_here_exist() -> None:
    assert sorted(CLIENT_KEYS - TEXTS.names()) == []
    assert sorted(set(LONG_ON_PURPOSE) - TEXTS.names()) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_client_text_is_longer_than_400_characters_unless_listed(language: str) -> None:
    long = {
        key: len(rendered(key, language))
        for key in client_keys()
        if len(rendered(key, language)) > LONGEST
    }
    assert sorted(set(long) - set(LONG_ON_PURPOSE)) == [], long


# ---------------------------------------------------------------- check-in prompts

# Each prompt says, in its own words, that no reply is needed.
NO_REPLY_NEEDED = {
    "en": (
        "no need to",
        "no reply needed",
        "no answer needed",
        "you don't have to answer",
        "nothing you need to answer",
        "reply only if",
        "write back only if",
        "only if and when",
        "leave this one unanswered",
        "skip this",
        "no pressure to reply",
        "silence is a fine answer",
        "or not at all",
        "or none at all",
        "answering is up to you",
        "if not, that's fine",
        "it can wait, or stay unsaid",
    ),
    "es": (
        "no hace falta",
        "no tienes que contestar",
        "sin nada que tengas que responder",
        "solo si quieres",
        "solo si tienes ganas",
        "puedes dejar esta sin responder",
        "puedes saltarte",
        "ninguna obligación de responder",
        "el silencio también es una buena respuesta",
        "o en ninguna",
        "tú decides si respondes",
        "si no, también está bien",
        "puede esperar, o quedarse sin decir",
    ),
}
# A question a prompt asks opens with one of these words: never a yes/no question.
OPEN_QUESTION = {
    "en": re.compile(r"^(what|what's|how|how's|who|which|where|when|why)\b", re.IGNORECASE),
    "es": re.compile(
        r"^¿(qué|cómo|quién|cuál|cuáles|cuándo|dónde|cuánto|cuánta|en qué|de qué|por qué)\b",
        re.IGNORECASE,
    ),
}
QUESTION = {"en": re.compile(r"[^.?!;]*\?"), "es": re.compile(r"¿[^?]*\?")}
# Three weeks of daily check-ins without a repeat (bot.domain.engine.choose_prompt walks
# every prompt once before any comes again; tests/domain/test_engine.py shows it).
FEWEST_PROMPTS = 24


def prompts(language: str) -> dict[str, str]:
    return {
        key: rendered(key, language) for key in TEXTS.names(language) if key.startswith("prompts.")
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_there_are_enough_prompts_for_three_weeks_of_days(language: str) -> None:
    assert len(prompts(language)) >= FEWEST_PROMPTS


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_prompt_says_no_reply_is_needed(language: str) -> None:
    silent = [
        text
        for text in prompts(language).values()
        if not any(words in text.lower() for words in NO_REPLY_NEEDED[language])
    ]
    assert silent == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_no_prompt_asks_a_yes_or_no_question(language: str) -> None:
    closed = [
        (key, question.strip())
        for key, text in prompts(language).items()
        for question in QUESTION[language].findall(text)
        if not OPEN_QUESTION[language].match(question.strip())
    ]
    assert closed == []


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Are you okay today? No need to answer."),
        ("en", "Did anything help? Reply only if you like."),
        ("es", "¿Estás bien hoy? No hace falta responder."),
        ("es", "¿Te ayudó algo? Solo si quieres."),
    ],
)
def test_the_yes_or_no_rule_catches_a_closed_question(language: str, text: str) -> None:
    questions = QUESTION[language].findall(text)
    assert questions and not OPEN_QUESTION[language].match(questions[0].strip())


# ---------------------------------------------------------------- readability

# Texts shorter than this many words (buttons, labels, fragments) have no reading ease.
FEWEST_WORDS = 8


def reading_ease() -> dict[str, float]:
    """Flesch reading ease of every English client text long enough to have one."""
    scores = {}
    for key in client_keys():
        text = rendered(key, "en")
        if len(text.split()) >= FEWEST_WORDS:
            scores[key] = textstat.flesch_reading_ease(text)
    return scores


def test_english_client_texts_read_easily() -> None:
    scores = reading_ease()
    lowest = sorted(scores.items(), key=lambda item: item[1])[:5]
    median = statistics.median(scores.values())
    # Shown with -s (or -rP), and whenever the test fails.
    print(f"Flesch reading ease of {len(scores)} English client texts: median {median:.1f}")
    for key, score in lowest:
        print(f"  {score:6.1f}  {key}")
    assert len(scores) > 80
    assert median >= 80, lowest
    assert lowest[0][1] >= 60, lowest


def test_spanish_says_persona_for_whoever_is_supported_never_cliente() -> None:
    """es.toml's own rule: "persona" for whoever receives support (staff texts too);
    "cliente" reads as a customer, in a programme where nobody is one."""
    said = [key for key in sorted(TEXTS.names()) if "cliente" in _raw("es", key).casefold()]
    assert said == []
