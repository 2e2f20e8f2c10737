"""Safety screen: urgent wording is noticed however it is typed, everyday wording is not."""

from __future__ import annotations

import dataclasses
import random
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import CONFIG_DIR
from bot.domain.safety import (
    SafetyConfigError,
    SafetyMatch,
    SafetyScreen,
    expand_phrase,
)

SAFETY_DIR = CONFIG_DIR / "safety"
ENGLISH = tomllib.loads((SAFETY_DIR / "en.toml").read_text("utf-8"))
SCREEN = SafetyScreen.load(SAFETY_DIR)
CATEGORIES = frozenset(ENGLISH["categories"])
PLACEHOLDER = "[Programme: add your local crisis lines here]"


def fullwidth(text: str) -> str:
    """ASCII letters as their full-width forms (written out so the source stays plain)."""
    return "".join(chr(ord(char) + 0xFEE0) if char.isalpha() else char for char in text)


def math_bold(text: str) -> str:
    """Lower-case letters as MATHEMATICAL BOLD SMALL letters."""
    return "".join(
        chr(0x1D41A + ord(char) - ord("a")) if char.isalpha() else char for char in text
    )


MATCHES = [
    ("I'm going to take all my pills tonight", "overdose"),
    # plain and shouted
    ("I want to kill myself", "suicide"),
    ("KILL MYSELF", "suicide"),
    ("i just want to die", "suicide"),
    ("I'm going to end my life tonight", "suicide"),
    ("everyone would be better off without me", "suicide"),
    ("I've been thinking about suicide", "suicide"),
    ("feeling really suicidal today", "suicide"),
    ("I wish I was dead", "suicide"),
    ("there's nothing to live for", "suicide"),
    ("I want to jump off the bridge", "suicide"),
    # spacing, hyphens and punctuation between words
    ("kill   my-self", "suicide"),
    ("kill... myself", "suicide"),
    ("kill\nmyself", "suicide"),
    ("#killmyself", "suicide"),
    ("#wanttodie", "suicide"),
    ("self harm", "self_harm"),
    ("self-harm", "self_harm"),
    ("selfharm", "self_harm"),
    ("I've been self-harming again", "self_harm"),
    ("😔 i want to die 😔", "suicide"),
    ("'kill myself'", "suicide"),
    # apostrophes, and short forms read as the long ones
    ("I don't want to live anymore", "suicide"),
    ("I don\u2019t want to live any more", "suicide"),
    ("I don\u00b4t want to be alive", "suicide"),
    ("i dont want to live", "suicide"),
    ("i do not want to live", "suicide"),
    ("I dont wanna be alive", "suicide"),
    ("i wannna die", "suicide"),
    ("I can't go on like this", "suicide"),
    ("I cannot go on living", "suicide"),
    ("i cant go on like this", "suicide"),
    ("gonna OD tonight", "overdose"),
    ("I'm going to od", "overdose"),
    # digits and symbols for letters
    ("k1ll mys3lf", "suicide"),
    ("3nd my l1fe", "suicide"),
    ("w4nna d1e", "suicide"),
    ("wanna d!e", "suicide"),
    ("se1f h4rm", "self_harm"),
    ("I was r@ped", "abuse"),
    ("$elf harm", "self_harm"),
    # stretched or shortened letters
    ("i want to diiiiie", "suicide"),
    ("kiiiilllll myself", "suicide"),
    ("kil myself", "suicide"),
    # look-alike letters, accents and invisible characters
    (fullwidth("kill myself"), "suicide"),
    (math_bold("kill myself"), "suicide"),
    ("kíll mysélf", "suicide"),
    ("ki\u00adll myself", "suicide"),  # soft hyphen inside a word
    ("kill\u200bmyself", "suicide"),  # zero-width space between words
    ("\u202ei want to die\u202c", "suicide"),  # right-to-left override around it
    # the other categories
    ("I cut myself last night", "self_harm"),
    ("I keep hurting myself", "self_harm"),
    ("I want to kill him", "harm_to_others"),
    ("i'm scared i'll hurt someone", "harm_to_others"),
    ("she deserves to die", "harm_to_others"),
    ("he hits me when he drinks", "abuse"),
    ("she choked me", "abuse"),
    ("I'm scared to go home", "abuse"),
    ("I don't feel safe at home", "abuse"),
    ("he threatened to kill me", "abuse"),
    ("I took too many pills", "overdose"),
    ("I swallowed a handful of tablets", "overdose"),
    ("thinking about overdosing", "overdose"),
    # the screen does not weigh negation or context: a person reads the message
    ("I'm not going to kill myself, don't worry", "suicide"),
]

NON_MATCHES = [
    "I taught the skill myself",
    "My therapist says hi",
    "the rapist was on the news",
    "I could kill for a coffee",
    "I'm killing it at work",
    "this deadline is killing me",
    "we killed some time at the park",
    "I'm dying to see you",
    "my phone died again",
    "I want to diet",
    "I cut my hair myself",
    "just took a selfie",
    "that was selfish of me",
    "self harmony is a band",
    "it's harmless",
    "I feel safe at home",
    "something to live for",
    "grape juice and a scrape on my knee",
    "overdue library books",
    "this is going to be odd",
    "I took 30 pills of vitamin C this month",
    "I ran 5 kms today",
    "she shot me a look",
    "hit me up later",
    "Kill Your Darlings is a good film",
    "",
    "   ",
    "🙂🙂🙂",
    "שלום, מה שלומך",
    "مرحبا كيف حالك",
    "12345 !!! ??? ...",
]


SPANISH = tomllib.loads((SAFETY_DIR / "es.toml").read_text("utf-8"))

SPANISH_MATCHES = [
    ("Quiero morir", "suicide"),
    ("me quiero morir ya", "suicide"),
    ("ya no quiero vivir", "suicide"),
    ("No quiero seguir viviendo así", "suicide"),
    ("a veces pienso en quitarme la vida", "suicide"),
    ("voy a acabar con mi vida esta noche", "suicide"),
    ("me voy a matar", "suicide"),
    ("todos estarían mejor sin mí", "suicide"),
    ("ojalá estuviera muerta", "suicide"),
    ("no le encuentro sentido a la vida", "suicide"),
    ("la vida no vale la pena", "suicide"),
    ("he pensado en el suicidio", "suicide"),
    ("me quiero suicidar", "suicide"),
    ("quiero tirarme de un puente", "suicide"),
    ("no puedo seguir así", "suicide"),
    # without accents, capitals, stretched letters, digits and texting spellings
    ("ya no kiero vivir", "suicide"),
    ("QUIERO MORIRME", "suicide"),
    ("quiero moriiiir", "suicide"),
    ("m3 qu1ero m0rir", "suicide"),
    ("no tengo razones pa vivir", "suicide"),
    ("estarian mejor sin mi", "suicide"),
    ("suisidio", "suicide"),
    ("ojala no despertarme", "suicide"),
    ("#quieromorir", "suicide"),
    ("quiero... morir", "suicide"),
    # the other categories
    ("me autolesiono otra vez", "self_harm"),
    ("auto-lesiones", "self_harm"),
    ("tengo ganas de hacerme daño", "self_harm"),
    ("me corté las muñecas", "self_harm"),
    ("volví a cortarme", "self_harm"),
    ("quiero matarlo", "harm_to_others"),
    ("lo voy a matar", "harm_to_others"),
    ("quiero hacerle daño a alguien", "harm_to_others"),
    ("mi pareja me pega", "abuse"),
    ("mi papá me golpea cuando bebe", "abuse"),
    ("me violaron", "abuse"),
    ("tengo miedo de volver a casa", "abuse"),
    ("no me siento segura en casa", "abuse"),
    ("amenazó con matarme", "abuse"),
    ("no me deja salir de casa", "abuse"),
    ("me tomé todas las pastillas", "overdose"),
    ("me he tomado un puñado de calmantes", "overdose"),
    ("pensé en una sobredosis", "overdose"),
    ("me quiero quitar la vida", "suicide"),
    ("me voy a quitar la vida", "suicide"),
    ("me quiero ahorcar", "suicide"),
    ("me voy a pegar un tiro", "suicide"),
    ("me quiero cortar las venas", "suicide"),
    ("me voy a tirar de un puente", "suicide"),
    ("me voy a tirar por la ventana", "suicide"),
    ("pienso en matarme", "suicide"),
    ("me quiero hacer daño", "self_harm"),
    ("me quiero lastimar", "self_harm"),
    ("voy a tomarme todas mis pastillas", "overdose"),
    ("me voy a tomar todas las pastillas", "overdose"),
    # English is checked too, whatever the language
    ("i want to die", "suicide"),
]

# Everyday Spanish that shares words with the phrases; none of it should be flagged.
SPANISH_NON_MATCHES = [
    "me muero de ganas de verte",
    "me muero de risa",
    "este calor me está matando",
    "vamos a matar el tiempo en el parque",
    "mi mamá me va a matar si llego tarde",
    "mi teléfono se murió otra vez",
    "quiero vivir en otra ciudad algún día",
    "no quiero despertar al bebé",
    "mañana no quiero despertarme temprano",
    "ojalá no despierte el perro",
    "ojalá estuviera aquí contigo",
    "me corté el pelo yo solo",
    "me hice daño en la rodilla jugando",
    "tengo que tomarme todas las pastillas del antibiótico",
    "me tomé una pastilla para el dolor de cabeza",
    "la película de terror me dio miedo",
    "voy a terminar con todo el trabajo de hoy",
    "estoy bien, gracias",
    "hoy fue un buen día",
    "me pegó el sol en la cara",
    "crema para no quemarme la piel",
    "se me pega la ropa con este calor",
    "abusó de mi confianza",
    "la violación de datos salió en las noticias",
    "mi hermano se tomó el día libre",
    "quiero dormir un rato",
    "no puedo ir a la cita del jueves",
    "¿qué tal tu semana?",
    "",
]


@pytest.mark.parametrize(
    ("language", "text", "category"),
    [("en", *match) for match in MATCHES]
    + [(code, *match) for match in SPANISH_MATCHES for code in ("es", "es-MX")],
)
def test_urgent_wording_is_noticed_however_it_is_typed(
    language: str, text: str, category: str
) -> None:
    assert SCREEN.screen(text, language) == SafetyMatch(category)


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", text) for text in NON_MATCHES] + [("es", text) for text in SPANISH_NON_MATCHES],
)
def test_everyday_wording_is_left_alone(language: str, text: str) -> None:
    assert SCREEN.screen(text, language) is None


def _phrases(table: dict[str, Any] = ENGLISH) -> list[tuple[str, str]]:
    return [
        (category, phrase)
        for category, table in table["categories"].items()
        for phrase in table["phrases"]
    ]


@pytest.mark.parametrize(
    ("language", "category", "phrase"),
    [("en", *pair) for pair in _phrases()] + [("es", *pair) for pair in _phrases(SPANISH)],
)
def test_every_phrase_in_the_file_matches_each_of_its_wordings(
    language: str, category: str, phrase: str
) -> None:
    for wording in expand_phrase(phrase):
        for text in (wording, wording.upper(), f"... {wording}!"):
            assert SCREEN.screen(text, language) == SafetyMatch(category), text


def test_the_english_file_is_a_reasonable_size_with_the_agreed_categories() -> None:
    assert {"suicide", "self_harm", "harm_to_others", "abuse", "overdose"} == CATEGORIES
    assert 40 <= len(_phrases()) <= 80


def test_the_resources_send_people_to_emergency_services_and_leave_room_for_local_lines() -> None:
    text = SCREEN.resources("en")
    assert "local emergency services" in text
    assert PLACEHOLDER in text.splitlines()
    assert "!!" not in text and text.count("!") <= 1
    lowered = text.lower()
    for clinical in ("suicid", "disorder", "depress", "diagnos", "patient", "symptom"):
        assert clinical not in lowered


def test_the_spanish_file_has_the_same_categories_and_a_reasonable_size() -> None:
    assert set(SPANISH["categories"]) == CATEGORIES
    assert 40 <= len(_phrases(SPANISH)) <= 100


def test_the_spanish_resources_are_in_spanish_and_keep_the_marked_place() -> None:
    text = SCREEN.resources("es")
    assert text == SCREEN.resources("es-419") != SCREEN.resources("en")
    assert "servicios de emergencia" in text
    # The same marker in every language, so that `check` warns until it is filled in.
    assert any(line.startswith("[Programme:") for line in text.splitlines())
    assert SCREEN.unfilled() == ["en", "es"]
    lowered = text.lower()
    for clinical in ("suicid", "trastorno", "depres", "diagnós", "paciente", "síntoma"):
        assert clinical not in lowered


def test_a_match_names_only_a_category_and_level_never_the_words() -> None:
    match = SCREEN.screen("please, I want to kill myself tonight", "en")
    assert match is not None
    assert [field.name for field in dataclasses.fields(match)] == ["category", "level"]
    assert "myself" not in repr(match) and "tonight" not in repr(match)


def test_screening_leaves_nothing_of_the_text_in_the_screen() -> None:
    screen = SafetyScreen.load(SAFETY_DIR)
    before = dict(vars(screen))
    screen.screen("zebra-sentinel, I want to kill myself", "en")
    assert vars(screen) == before
    assert "zebra" not in repr(vars(screen))


# A second language, as a programme might add it later.
SPANISH_TABLES: dict[str, dict[str, Any]] = {
    "en": {
        "resources": "English resources.",
        "spellings": {"wanna": "want to"},
        "categories": {"suicide": {"phrases": ["want to die"]}},
    },
    "es": {
        "resources": "Recursos en español.",
        "spellings": {"q": "que"},
        "categories": {
            "suicide": {"phrases": ["quiero morir", "ya no quiero vivir más"]},
            "abuse": {"phrases": ["me pega", "tengo miedo de que me mate"]},
        },
    },
}


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Quiero morir", "es", "suicide"),
        ("QUIERO MORÍR", "es", "suicide"),  # accents are ignored on both sides
        ("ya no quiero vivir mas", "es", "suicide"),
        ("tengo miedo de q me mate", "es", "abuse"),  # Spanish spellings for Spanish
        ("quiero morir", "es-MX", "suicide"),
        ("quiero morir", "ES_mx", "suicide"),
        ("i wanna die", "es", "suicide"),  # people mix languages: English is always checked
        ("quiero morir", "en", None),  # an English conversation uses English phrases
        ("i want to die", "fr", "suicide"),  # an unknown language uses English
        ("quiero morir", "fr", None),
        ("i want to die", "", "suicide"),
    ],
)
def test_languages_fall_back_to_english_and_english_is_always_checked(
    text: str, language: str, expected: str | None
) -> None:
    screen = SafetyScreen.from_tables(SPANISH_TABLES)
    assert screen.languages == {"en", "es"}
    assert screen.screen(text, language) == (expected and SafetyMatch(expected))


def test_resources_come_in_the_clients_language_or_english() -> None:
    screen = SafetyScreen.from_tables(SPANISH_TABLES)
    assert screen.resources("es") == "Recursos en español."
    assert screen.resources("es-AR") == "Recursos en español."
    assert screen.resources("de") == "English resources."
    only_phrases = {**SPANISH_TABLES, "es": {"categories": SPANISH_TABLES["es"]["categories"]}}
    assert SafetyScreen.from_tables(only_phrases).resources("es") == "English resources."


def test_spellings_read_the_same_in_messages_and_in_phrases() -> None:
    tables = {"en": {"resources": "r", "spellings": {"wanna": "want to"}}}
    tables["en"]["categories"] = {"suicide": {"phrases": ["wanna die"]}}
    screen = SafetyScreen.from_tables(tables)
    for text in ("wanna die", "want to die", "WANNNNA DIE"):
        assert screen.screen(text, "en") == SafetyMatch("suicide")
    assert screen.screen("want a die for the board game", "en") is None


def test_a_plain_space_in_a_phrase_is_never_optional() -> None:
    tables = {"en": {"resources": "r", "categories": {"abuse": {"phrases": ["the rapist"]}}}}
    screen = SafetyScreen.from_tables(tables)
    assert screen.screen("the rapist", "en") == SafetyMatch("abuse")
    assert screen.screen("the-rapist", "en") == SafetyMatch("abuse")
    assert screen.screen("my therapist", "en") is None


@pytest.mark.parametrize(
    ("phrase", "wordings"),
    [
        (
            "cut[ting] my (arm|arms)",
            ["cut my arm", "cut my arms", "cutting my arm", "cutting my arms"],
        ),
        ("overdose[d|s]", ["overdose", "overdosed", "overdoses"]),
        ("self-harm", ["self-harm"]),
    ],
)
def test_phrase_syntax_expands_to_plain_wordings(phrase: str, wordings: list[str]) -> None:
    assert sorted(expand_phrase(phrase)) == sorted(wordings)


def _english_with(key: str, value: object) -> dict[str, dict[str, object]]:
    """A minimal valid English table with one key changed (None removes it)."""
    table: dict[str, object] = {
        "resources": "r",
        "categories": {"suicide": {"phrases": ["want to die"]}},
    }
    if value is None:
        del table[key]
    else:
        table[key] = value
    return {"en": table}


def _suicide(phrases: object) -> dict[str, object]:
    return {"suicide": {"phrases": phrases}}


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("categories", _suicide(["kill (myself"]), "categories.suicide.phrases[0]"),
        ("categories", _suicide(["ok", "[a[b]]"]), "categories.suicide.phrases[1]"),
        ("categories", _suicide(["a] b"]), "categories.suicide.phrases[0]"),
        ("categories", _suicide(["!!!"]), "categories.suicide.phrases[0]"),
        ("categories", _suicide([3]), "categories.suicide.phrases[0]"),
        ("categories", _suicide("want to die"), "categories.suicide.phrases"),
        ("categories", _suicide([]), "categories.suicide.phrases"),
        ("categories", {"suicide": {"phrase": ["die"]}}, "categories.suicide.phrase"),
        ("categories", {"suicide": ["want to die"]}, "categories.suicide"),
        ("categories", {}, "categories"),
        ("categories", None, "categories"),
        ("resources", "", "resources"),
        ("resources", None, "resources"),
        ("categorys", {}, "categorys"),
        ("spellings", {"two words": "x"}, "spellings.two words"),
        ("spellings", {"wanna": 1}, "spellings.wanna"),
        ("spellings", ["wanna"], "spellings"),
    ],
)
def test_a_malformed_table_is_refused_naming_the_key(key: str, value: object, named: str) -> None:
    with pytest.raises(SafetyConfigError, match=re.escape(f"<en>: {named}: ")):
        SafetyScreen.from_tables(_english_with(key, value))


def test_tables_without_english_are_refused() -> None:
    with pytest.raises(SafetyConfigError, match="no en"):
        SafetyScreen.from_tables({"es": {"resources": "r"}})


def test_a_malformed_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text('resources = "r"\n[categories.suicide\n', "utf-8")
    with pytest.raises(ValueError, match=r"en\.toml"):
        SafetyScreen.load(tmp_path)


def test_a_bad_key_in_a_file_is_refused_naming_the_file_and_the_key(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text(
        'resources = "r"\n[categories.suicide]\nphrases = ["want to die", "end (it"]\n', "utf-8"
    )
    with pytest.raises(ValueError, match=r"en\.toml: categories\.suicide\.phrases\[1\]"):
        SafetyScreen.load(tmp_path)


def test_a_folder_without_english_is_refused(tmp_path: Path) -> None:
    (tmp_path / "es.toml").write_text('resources = "r"\n', "utf-8")
    with pytest.raises(ValueError, match=r"no en\.toml"):
        SafetyScreen.load(tmp_path)


# Pieces that tend to break text handling, mixed freely with arbitrary text.
AWKWARD = st.sampled_from(
    [
        "kill myself",
        "k1ll",
        "\u202e",
        "\u200f",
        "\u200d",
        "\ufeff",
        "\x00",
        "\r\n",
        "\t",
        "🙂",
        "👨\u200d👩\u200d👧",
        "🏳\ufe0f\u200d🌈",
        "שלום",
        "مرحبا",
        "\ufdfa",
        "\u0301\u0301\u0301",
        "!!!",
        "@$",
        "'",
        "\u00b4",
        "-",
        "ß",
        "\u0130",
        "ﬁ",
        "a" * 50,
        "1" * 50,
        "\U000e0041",
    ]
)
TEXTS = st.lists(st.one_of(st.text(), AWKWARD), max_size=20).map("".join)


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.sampled_from(["en", "es", "xx", "", "EN-gb"]))
def test_screen_never_raises_and_is_deterministic(text: str, language: str) -> None:
    first = SCREEN.screen(text, language)
    assert first == SCREEN.screen(text, language)
    assert first is None or first.category in CATEGORIES


@settings(max_examples=100, deadline=None)
@given(TEXTS, TEXTS)
def test_a_phrase_is_found_whatever_surrounds_it(before: str, after: str) -> None:
    assert SCREEN.screen(f"{before} I want to die {after}", "en") == SafetyMatch("suicide")


def test_huge_and_odd_texts_are_screened() -> None:
    pieces = ["word", "🙂", "שלום", "\u202e", "\x00", "k1ll", "!!!", "aaaaaaaaaaaa", "é"]
    rng = random.Random(7)
    huge = " ".join(rng.choice(pieces) for _ in range(200_000))
    assert SCREEN.screen(huge, "en") is None
    assert SCREEN.screen(huge + " i want to die", "en") == SafetyMatch("suicide")
    assert SCREEN.screen("\ud800 kill myself \udfff", "en") == SafetyMatch("suicide")
    assert SCREEN.screen("x" * 100_000, "en") is None
    assert SCREEN.screen("p" + "1" * 100_000 + "s", "en") is None
