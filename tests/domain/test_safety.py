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
    Level,
    SafetyConfigError,
    SafetyMatch,
    SafetyScreen,
    expand_phrase,
)

SAFETY_DIR = CONFIG_DIR / "safety"
ENGLISH = tomllib.loads((SAFETY_DIR / "en.toml").read_text("utf-8"))
# The phrase engine on its own (the model that reads first is tested in test_screen_model).
SCREEN = SafetyScreen.load(SAFETY_DIR, with_model=False)
CATEGORIES = frozenset(ENGLISH["categories"])
PLACEHOLDER = "[Programme: add your local crisis lines here]"
# The shipped categories and their levels (the same in every language).
LEVELS: dict[str, Level] = {
    "suicide": "urgent",
    "self_harm": "urgent",
    "overdose": "urgent",
    "harm_to_others": "urgent",
    "abuse": "urgent",
    "hopelessness": "concern",
    "burden": "concern",
    "goodbye": "concern",
    "passive_ideation": "concern",
}


def found(category: str) -> SafetyMatch:
    """What the screen returns for a shipped category."""
    return SafetyMatch(category, LEVELS[category])


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
    ("everyone would be better off without me", "burden"),
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
    ("I can't go on like this", "hopelessness"),
    ("I cannot go on like this any more", "hopelessness"),
    ("i cant go on like this", "hopelessness"),
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
    ("todos estarían mejor sin mí", "burden"),
    ("ojalá estuviera muerta", "suicide"),
    ("no le encuentro sentido a la vida", "hopelessness"),
    ("la vida no vale la pena", "suicide"),
    ("he pensado en el suicidio", "suicide"),
    ("me quiero suicidar", "suicide"),
    ("quiero tirarme de un puente", "suicide"),
    ("no puedo seguir así", "hopelessness"),
    # without accents, capitals, stretched letters, digits and texting spellings
    ("ya no kiero vivir", "suicide"),
    ("QUIERO MORIRME", "suicide"),
    ("quiero moriiiir", "suicide"),
    ("m3 qu1ero m0rir", "suicide"),
    ("no tengo razones pa vivir", "suicide"),
    ("estarian mejor sin mi", "burden"),
    ("suisidio", "suicide"),
    ("ojala no despertarme", "passive_ideation"),
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
    ("me quiero cortar las venas", "self_harm"),
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
    assert SCREEN.screen(text, language) == found(category)


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


def _filled(wording: str, table: dict[str, Any]) -> str:
    """A wording with each {group} replaced by the group's first word(s)."""
    while match := re.search(r"\{([a-z_]+)\}", wording):
        name = match.group(1)
        first = "20" if name == "number" else expand_phrase(table["groups"][name][0])[-1]
        wording = wording[: match.start()] + first + wording[match.end() :]
    return wording


@pytest.mark.parametrize(
    ("language", "category", "phrase"),
    [("en", *pair) for pair in _phrases()] + [("es", *pair) for pair in _phrases(SPANISH)],
)
def test_every_phrase_in_the_file_is_found_at_its_level_or_louder(
    language: str, category: str, phrase: str
) -> None:
    """Each wording (groups by their first word) is flagged: an urgent phrase as urgent (its
    own category or another urgent one found first), a concern at least as a concern."""
    table = ENGLISH if language == "en" else SPANISH
    for wording in expand_phrase(phrase):
        filled = _filled(wording, table)
        for text in (filled, filled.upper(), f"... {filled}!"):
            match = SCREEN.screen(text, language)
            assert match is not None, text
            assert match.level == "urgent" or match == found(category), (text, match)


def test_the_files_have_the_agreed_categories_and_levels() -> None:
    assert {name: SCREEN.level_of(name) for name in SCREEN.categories()} == LEVELS
    assert {name: table["level"] for name, table in ENGLISH["categories"].items()} == LEVELS
    assert {name: table["level"] for name, table in SPANISH["categories"].items()} == LEVELS
    for table in (ENGLISH, SPANISH):
        assert 150 <= len(_phrases(table)) <= 400
        assert len(table["about"]["phrases"]) >= 40


def test_the_resources_send_people_to_emergency_services_and_leave_room_for_local_lines() -> None:
    text = SCREEN.resources("en")
    assert "local emergency services" in text
    assert PLACEHOLDER in text.splitlines()
    assert "!!" not in text and text.count("!") <= 1
    lowered = text.lower()
    for clinical in ("suicid", "disorder", "depress", "diagnos", "patient", "symptom"):
        assert clinical not in lowered


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
    # Urgent, if not always as suicide: what surrounds it may hold another urgent phrase
    # ("110D" reads as "11 OD": an overdose).
    found = SCREEN.screen(f"{before} I want to die {after}", "en")
    assert found is not None and found.level == "urgent"


def test_huge_and_odd_texts_are_screened() -> None:
    pieces = ["word", "🙂", "שלום", "\u202e", "\x00", "k1ll", "!!!", "aaaaaaaaaaaa", "é"]
    rng = random.Random(7)
    huge = " ".join(rng.choice(pieces) for _ in range(200_000))
    assert SCREEN.screen(huge, "en") is None
    assert SCREEN.screen(huge + " i want to die", "en") == SafetyMatch("suicide")
    assert SCREEN.screen("\ud800 kill myself \udfff", "en") == SafetyMatch("suicide")
    assert SCREEN.screen("x" * 100_000, "en") is None
    assert SCREEN.screen("p" + "1" * 100_000 + "s", "en") is None


# Each family of the issue, in both languages, with the level the specialist sees.
FAMILIES: dict[str, list[tuple[str, str, str]]] = {
    "indirect warning signs": [
        ("en", "honestly they'd all be better off without me", "burden"),
        ("en", "i feel like such a burden to my family", "burden"),
        ("en", "i can't see a future anymore", "hopelessness"),
        ("en", "nothing is ever going to get better", "hopelessness"),
        ("en", "just wanted to say goodbye to you before", "goodbye"),
        ("en", "i'm giving away all my stuff", "goodbye"),
        ("en", "i hope i never wake up", "passive_ideation"),
        ("en", "sometimes i want to disappear forever", "passive_ideation"),
        ("en", "i have a plan and i've picked a date", "suicide"),
        ("es", "soy una carga para mi familia", "burden"),
        ("es", "no le veo futuro a nada", "hopelessness"),
        ("es", "solo quería despedirme de ti", "goodbye"),
        ("es", "estoy regalando todas mis cosas", "goodbye"),
        ("es", "quisiera dormir y no despertar", "passive_ideation"),
        ("es", "ya tengo un plan y elegí la fecha", "suicide"),
    ],
    "people by name, not only pronouns": [
        ("en", "my stepfather touches me", "abuse"),
        ("en", "my roommate keeps threatening me", "abuse"),
        ("en", "my boss grabbed me", "abuse"),
        ("en", "my partner has been hitting me", "abuse"),
        ("en", "my ex keeps threatening to kill me", "abuse"),
        ("en", "i'm going to kill my boss", "harm_to_others"),
        ("en", "i want to hurt them", "harm_to_others"),
        ("es", "mi padrastro me toca", "abuse"),
        ("es", "mi compañero de piso me amenaza", "abuse"),
        ("es", "mi esposa me está pegando", "abuse"),
        ("es", "voy a matar a mi jefe", "harm_to_others"),
    ],
    "inflections and tenses": [
        ("en", "i'm thinking about taking my own life", "suicide"),
        ("en", "started cutting again", "self_harm"),
        ("en", "I cut last night", "self_harm"),
        ("en", "been self harming for weeks", "self_harm"),
        ("es", "me corté anoche", "self_harm"),
        ("es", "me autolesioné otra vez", "self_harm"),
        ("es", "me tomé todas las pastillas", "overdose"),
        ("es", "intenté suicidarme el año pasado", "suicide"),
    ],
    "slang, short forms and typos": [
        ("en", "honestly gonna kms", "suicide"),
        ("en", "kys", "harm_to_others"),
        ("en", "i want to unalive myself", "suicide"),
        ("en", "sewerslide", "suicide"),
        ("en", "I OD'd last night", "overdose"),
        ("en", "i'm suicdal", "suicide"),
        ("en", "i overdosd", "overdose"),
        ("es", "me voy a suisidar", "suicide"),
        ("es", "pienso en el sucidio", "suicide"),
        ("es", "me kiero matar", "suicide"),
    ],
    "method, means and quantity": [
        ("en", "i took a whole bottle of pills", "overdose"),
        ("en", "just swallowed 30 paracetamol", "overdose"),
        ("en", "took like 40 ibuprofen", "overdose"),
        ("en", "i'm going to take all my xanax", "overdose"),
        ("en", "💊💊💊 tonight", "overdose"),
        ("en", "🔪 on my wrists again", "self_harm"),
        ("en", "i bought a rope", "suicide"),
        ("en", "i'm going to jump off the bridge", "suicide"),
        ("es", "me tomé un frasco entero de pastillas", "overdose"),
        ("es", "me acabo de tomar 30 paracetamoles", "overdose"),
        ("es", "me compré una pistola", "suicide"),
        ("es", "me voy a tirar del puente", "suicide"),
    ],
    "writing that slips past a plain reading": [
        ("en", "k i l l myself", "suicide"),
        ("en", "killmyself", "suicide"),
        ("en", "iwanttodie", "suicide"),
        ("en", "ki\u200bll myself", "suicide"),  # zero-width space inside the word
        ("en", "k\u0456ll m\u0443self", "suicide"),  # Cyrillic i and u
        ("en", "k\u03b9ll myself", "suicide"),  # Greek iota
        ("en", "s u i c i d e", "suicide"),
        ("es", "quieromorir", "suicide"),
        ("es", "q u i e r o m o r i r", "suicide"),
        ("es", "quiero mor\u200bir", "suicide"),
        ("es", "acabarconmivida", "suicide"),
    ],
}


@pytest.mark.parametrize(
    ("language", "text", "category"),
    [case for cases in FAMILIES.values() for case in cases],
)
def test_each_family_is_found_at_its_level(language: str, text: str, category: str) -> None:
    assert SCREEN.screen(text, language) == found(category)


# Talk about the subject, and everyday words that share some with crisis language.
ABOUT: list[tuple[str, str]] = [
    ("en", "I volunteer for a suicide prevention charity"),
    ("en", "I watched a documentary about suicide last night, it was really moving"),
    ("en", "my friend works in suicide prevention and loves it"),
    ("en", "I'm a nurse, we had three overdoses on my shift last night"),
    ("en", "had a patient who overdosed on paracetamol today, she's ok now"),
    ("en", "2 years clean from self harm today!"),
    ("en", "i used to self harm but i haven't for a long time"),
    ("en", "i overdosed on coffee this morning lol"),
    ("en", "cut myself shaving lol"),
    ("en", "took 2 ibuprofen for my headache"),
    ("en", "my boyfriend beat me at chess again"),
    ("en", "i'll kill him if he spoils the show lol"),
    ("en", "my mum is going to kill me when she sees my room"),
    ("en", "the steak was overdone"),
    ("en", "I ran 5 kms today"),
    ("en", "therapist"),
    ("es", "soy voluntaria en una asociación de prevención del suicidio"),
    ("es", "anoche vi un documental sobre el suicidio"),
    ("es", "mi amigo trabaja en prevención del suicidio"),
    ("es", "soy enfermera y anoche tuvimos tres sobredosis en la guardia"),
    ("es", "hoy cumplo 2 años sin autolesionarme"),
    ("es", "sobredosis de chocolate otra vez"),
    ("es", "me corté afeitándome jaja"),
    ("es", "me tomé 2 ibuprofenos para el dolor de cabeza"),
    ("es", "mi novio me ganó al ajedrez otra vez"),
    ("es", "mi mamá me va a matar cuando vea mi cuarto"),
    ("es", "tengo que tomarme todas las pastillas del antibiótico"),
]


@pytest.mark.parametrize(("language", "text"), ABOUT)
def test_talk_about_the_subject_and_look_alikes_are_left_alone(language: str, text: str) -> None:
    assert SCREEN.screen(text, language) is None


@pytest.mark.parametrize(
    ("language", "text", "category"),
    [
        ("en", "I watched a documentary about suicide and now I want to kill myself", "suicide"),
        ("en", "my friend works in suicide prevention but i'm going to kill myself", "suicide"),
        ("en", "i used to self harm and i started cutting again last week", "self_harm"),
        ("en", "overdosed on coffee lol. also i took a whole bottle of pills", "overdose"),
        ("en", "i'm 2 years clean but i cut again last night", "self_harm"),
        ("es", "vi un documental sobre el suicidio y ahora me quiero matar", "suicide"),
        ("es", "antes me autolesionaba y la semana pasada volví a cortarme", "self_harm"),
    ],
)
def test_talk_about_the_subject_never_hides_a_statement_beside_it(
    language: str, text: str, category: str
) -> None:
    assert SCREEN.screen(text, language) == found(category)


def test_an_urgent_phrase_anywhere_wins_over_a_concern_before_it() -> None:
    text = "nobody would miss me. i took too many pills"
    assert SCREEN.screen(text, "en") == found("overdose")
    assert SCREEN.screen("nobody would miss me", "en") == found("burden")


def test_a_typo_is_read_in_the_conversations_language_only() -> None:
    # "suicidas" is Spanish, one letter from the English "suicidal".
    assert SCREEN.screen("un personaje con ideas suicidas", "es") is None
    assert SCREEN.screen("i am suicidas", "en") == found("suicide")


def test_a_listed_real_word_is_never_a_typo() -> None:
    assert SCREEN.screen("he overdoes it at the gym", "en") is None
    assert SCREEN.screen("i overdosd", "en") == found("overdose")


def test_the_level_of_a_stored_category_comes_from_the_files() -> None:
    assert SCREEN.level_of("burden") == "concern"
    assert SCREEN.level_of("suicide") == "urgent"
    assert SCREEN.level_of("a category removed since") == "urgent"


GROUPS_TABLES: dict[str, dict[str, Any]] = {
    "en": {
        "resources": "r",
        "groups": {
            "people": ["husband", "step (dad|father)", "room-mate"],
            "someone": ["he", "my {people}"],
        },
        "categories": {
            "abuse": {"level": "urgent", "phrases": ["{someone} hits me"]},
            "overdose": {"phrases": ["took {number} pills"]},
            "burden": {"level": "concern", "phrases": ["a burden"]},
        },
        "about": {"phrases": ["hits me up"]},
    }
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my husband hits me", SafetyMatch("abuse")),
        ("my step father hits me", SafetyMatch("abuse")),
        ("my roommate hits me", SafetyMatch("abuse")),
        ("he hits me", SafetyMatch("abuse")),
        ("my neighbour hits me", None),
        ("he hits me up later", None),
        ("took 40 pills", SafetyMatch("overdose")),
        ("took some pills", None),
        ("i feel like a burden", SafetyMatch("burden", "concern")),
    ],
)
def test_groups_levels_and_about_phrases_in_a_programmes_file(
    text: str, expected: SafetyMatch | None
) -> None:
    assert SafetyScreen.from_tables(GROUPS_TABLES).screen(text, "en") == expected


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"categories": _suicide(["{nobody} hits me"])}, "categories.suicide.phrases[0]"),
        ({"categories": _suicide(["x{people}"])}, "categories.suicide.phrases[0]"),
        ({"groups": {"people": ["{people}"]}}, "groups.people[0]"),
        ({"groups": {"People": ["a"]}}, "groups.People"),
        ({"groups": ["a"]}, "groups"),
        (
            {"categories": {"suicide": {"level": "loud", "phrases": ["a"]}}},
            "categories.suicide.level",
        ),
        ({"about": {"phrases": []}}, "about.phrases"),
        ({"about": ["a"]}, "about"),
        ({"not_typos": "overdone"}, "not_typos"),
    ],
)
def test_a_malformed_group_level_or_about_is_refused_naming_the_key(
    change: dict[str, object], named: str
) -> None:
    table: dict[str, object] = {"resources": "r", "categories": _suicide(["want to die"])}
    table.update(change)
    with pytest.raises(SafetyConfigError, match=re.escape(f"<en>: {named}")):
        SafetyScreen.from_tables({"en": table})


CORPUS_DIR = Path(__file__).parent / "safety_corpus"


def _corpus(language: str) -> list[tuple[str, str, str]]:
    """The language's corpus and its fresh batch (written before the near rules existed)."""
    rows = [
        row
        for name in (language, f"fresh_{language}")
        for row in (CORPUS_DIR / f"{name}.tsv").read_text("utf-8").splitlines()
    ]
    return [tuple(row.split("\t", 2)) for row in rows if row and not row.startswith("#")]  # type: ignore[misc]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_corpus_is_caught_with_few_false_alarms(language: str) -> None:
    """The floor under the shipped files: a change that loses recall or raises false
    alarms on the labelled corpus fails here (bench/bench_safety.py prints the detail)."""
    rows = _corpus(language)
    crisis = [(level, text) for level, _, text in rows if level != "none"]
    benign = [text for level, _, text in rows if level == "none"]
    assert len(rows) >= 300 and len(crisis) >= 150 and len(benign) >= 150
    caught = [SCREEN.screen(text, language) for _, text in crisis]
    recall = sum(match is not None for match in caught) / len(crisis)
    alarms = sum(SCREEN.screen(text, language) is not None for text in benign) / len(benign)
    urgent_as_urgent = [
        match is not None and match.level == "urgent"
        for (level, _), match in zip(crisis, caught, strict=True)
        if level == "urgent"
    ]
    assert recall >= 0.95
    assert alarms <= 0.03
    assert sum(urgent_as_urgent) / len(urgent_as_urgent) >= 0.95


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("took pills", True),  # both choices left out, the last at the very end
        ("i took all pills now", True),
        ("took some of the pills tonight", True),
        ("took the pills", False),
        ("cutting myself", True),  # a choice inside a word is expanded
        ("cut myself", True),
        ("cuts myself", False),
        ("(a|b) [c]", False),
    ],
)
def test_choices_between_whole_words_and_inside_words(text: str, expected: bool) -> None:
    phrases = ["took [all|some of the] pills [tonight|now]", "cut[ting] myself"]
    tables = {"en": {"resources": "r", "categories": _suicide(phrases)}}
    found_it = SafetyScreen.from_tables(tables).screen(text, "en") is not None
    assert found_it is expected


NEAR_TABLES: dict[str, Any] = {
    "en": {
        "resources": "r",
        "near_window": 8,
        "near_not": ["not", "never"],
        "groups": {
            "wanting": ["want to", "going to", "wanna"],
            "dying": ["die", "end it", "not be here"],
        },
        "categories": {
            "suicide": {"near": ["i ~ {wanting} ~ {dying}"]},
            "burden": {"level": "concern", "near": ["better off ~ without me"]},
        },
        "about": {"phrases": ["documentary about"]},
    }
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The parts in order, anywhere within the window: no phrase lists these wordings.
        ("i honestly just want to not be here", "suicide"),
        ("im so done i wanna end it", "suicide"),
        ("I really, really want to DIE", "suicide"),
        ("they would all be better off without me", "burden"),
        # Out of order, or too far apart (the window counts from the first word to the last).
        ("die is what i want to", None),
        ("i think that maybe one day soon i want to die", "suicide"),
        ("i am going to the shops, the cinema and the park to die", None),
        ("i want to go to the shop and then the cinema and die", None),
        # Never across a sentence end.
        ("i want to. die hard is a film", None),
        ("i want to go home! die hard is on", None),
        ("i want to go home\ndie hard is on", None),
        # A near_not word between the parts, or just before the first, cancels it.
        ("i do not want to die", None),
        ("i never want to end it", None),
        ("not i want to die", None),
        # Talk about the subject anywhere in the sentence cancels it, and only that sentence.
        ("i saw a documentary about people who want to die", None),
        ("i saw a documentary about it and i want to die", None),
        ("i saw a documentary about it. i want to die", "suicide"),
    ],
)
def test_near_rules_need_their_parts_in_order_in_one_sentence(
    text: str, expected: str | None
) -> None:
    found = SafetyScreen.from_tables(NEAR_TABLES).screen(text, "en")
    assert (found.category if found else None) == expected


def test_a_near_rule_reports_its_category_level_and_an_urgent_phrase_still_wins() -> None:
    screen = SafetyScreen.from_tables(NEAR_TABLES)
    assert screen.screen("everyone is better off without me", "en") == SafetyMatch(
        "burden", "concern"
    )
    assert screen.screen(
        "everyone is better off without me. i am going to end it", "en"
    ) == SafetyMatch("suicide", "urgent")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"near_window": 1}, "near_window"),
        ({"near_window": "six"}, "near_window"),
        ({"near_not": []}, "near_not"),
        ({"categories": {"suicide": {"near": ["die"]}}}, "categories.suicide.near[0]"),
        ({"categories": {"suicide": {"near": ["i ~ "]}}}, "categories.suicide.near[0]"),
        ({"categories": {"suicide": {"near": []}}}, "categories.suicide.near"),
        ({"categories": {"suicide": {"near": ["i ~ {nope}"]}}}, "categories.suicide.near[0]"),
        ({"categories": {"suicide": {"level": "urgent"}}}, "categories.suicide"),
    ],
)
def test_a_malformed_near_rule_is_refused_naming_the_key(
    change: dict[str, object], named: str
) -> None:
    table: dict[str, object] = {"resources": "r", "categories": _suicide(["want to die"])}
    table.update(change)
    with pytest.raises(SafetyConfigError, match=re.escape(f"<en>: {named}")):
        SafetyScreen.from_tables({"en": table})


@pytest.mark.parametrize(
    ("text", "language", "level"),
    [
        # Wordings no phrase lists, caught by the shipped near rules per family.
        ("honestly i just wanna not exist anymore", "en", "urgent"),
        ("been hoarding my nans sleeping tablets, got enough saved now", "en", "urgent"),
        ("i swallowed like 25 of my prozac an hour ago", "en", "urgent"),
        ("im gonna batter my flatmate when he gets home", "en", "urgent"),
        ("mi cuñado me amenazó con matarme si hablo", "es", "urgent"),
        ("la neta ya quiero irme de este mundo", "es", "urgent"),
        # Idioms, accidents and one's own past stay quiet.
        ("i could honestly die of boredom in this lecture", "en", None),
        ("burned my hand on the stove making pancakes", "en", None),
        ("cuando tenia 16 queria morirme, ahora estoy bien", "es", None),
    ],
)
def test_the_shipped_near_rules_generalise_by_family(
    text: str, language: str, level: str | None
) -> None:
    found = SCREEN.screen(text, language)
    assert (found.level if found else None) == level


FRAMED_TABLES: dict[str, Any] = {
    "en": {
        "resources": "r",
        "categories": {"suicide": {"phrases": ["suicidal", "kill myself"]}},
        "about": {
            "phrases": ["documentary about"],
            "sentence": ["used to", "years since", "training on"],
            "unless": ["again", "tonight"],
        },
    }
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Past or course framing quiets every match in its sentence, not only what it overlaps.
        ("it has been 3 years since i was suicidal", None),
        ("i used to want to kill myself every day", None),
        ("we had training on what to say to someone suicidal", None),
        # ...and only that sentence.
        ("i used to be fine. now i am suicidal", "suicide"),
        # A word from `unless` in the sentence brings it back to now.
        ("i used to be suicidal and i am again", "suicide"),
        ("years since i cut but i want to kill myself tonight", "suicide"),
        ("i am suicidal", "suicide"),
    ],
)
def test_past_and_course_framing_quiets_its_sentence_unless_brought_back_to_now(
    text: str, expected: str | None
) -> None:
    found = SafetyScreen.from_tables(FRAMED_TABLES).screen(text, "en")
    assert (found.category if found else None) == expected


@pytest.mark.parametrize(
    ("language", "text", "category"),
    [
        # The shipped files: recovery, third person and courses are quiet...
        ("en", "One year since my overdose and I'm so glad to be here", None),
        ("en", "back when i was self harming i never thought i'd get here", None),
        ("en", "the training said what to do if someone says they want to die", None),
        ("en", "my boss will kill me, I'm late again", None),
        ("es", "hoy hace un año de mi sobredosis y sigo aquí", None),
        ("es", "en la capacitación aprendimos a detectar una sobredosis", None),
        # ...and a relapse or an intent beside them is not.
        ("en", "I used to cut and I relapsed last night", "self_harm"),
        ("es", "antes me cortaba y anoche volví a cortarme", "self_harm"),
        ("en", "3 years since my last attempt and I am planning to kill myself", "suicide"),
        ("en", "I'm at the shelter and he found me, he has a knife", "abuse"),
        ("en", "in the past week I have taken 40 pills", "overdose"),
        ("es", "hace 3 años de mi intento y estoy pensando en matarme", "suicide"),
        ("en", "the news was the last straw, gonna kill myself", "suicide"),
        ("en", "I used to be happy, now I cut every night", "self_harm"),
        ("en", "back when I was a kid he beat me and he still does", "abuse"),
        ("es", "antes era feliz, ahora me corto todas las noches", "self_harm"),
        ("es", "cuando era chica me pegaba y todavía me pega", "abuse"),
        ("en", "the article about suicide made me realise I'm suicidal", "suicide"),
        ("en", "years since I felt ok, I'm so suicidal", "suicide"),
        ("en", "clean for 2 years but I have the pills ready", "overdose"),
        ("en", "since my last session I have been cutting every day", "self_harm"),
        ("en", "back when I was little he touched me and he still comes into my room", "abuse"),
        ("en", "3 years since I was suicidal, but I'm doing well", None),
        ("es", "hace años que no estoy bien, tengo ganas de morirme", "suicide"),
        ("es", "limpia hace 2 años pero tengo las pastillas listas", "overdose"),
        ("es", "cuando era chica me tocaba y todavía entra a mi cuarto", "abuse"),
        ("es", "hace 3 años de mi intento, hoy estoy bien", None),
    ],
)
def test_the_shipped_files_quiet_past_and_course_talk_but_not_a_relapse(
    language: str, text: str, category: str | None
) -> None:
    result = SCREEN.screen(text, language)
    assert (result.category if result else None) == category


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "not sure where I'm going for lunch"),
        ("en", "I know which bridge we meet at"),
        ("en", "my coach keeps sending me pics of the training plan"),
        ("en", "thank god it will all be over soon, exams are brutal"),
        ("en", "how high is the car park roof for my van"),
        ("en", "I'm going to beat the shit out of him at FIFA"),
        ("en", "could you survive a fall from 5 storeys, watching a doc"),
        ("es", "el lunes ya no voy a estar en la oficina"),
        ("es", "ya elegí el día de la boda"),
        ("es", "mi plan es meter el coche al taller"),
        ("es", "pronto se acaba todo el lío de la mudanza"),
        ("es", "te encargo a mi perro el finde que viajo"),
        ("en", "break his legs is what the ref wanted lol"),
        ("en", "I'm sorting out my will with the solicitor for the house"),
        ("en", "already took them to school"),
        ("en", "took the lot to the tip"),
        ("en", "the kids headbang to metal"),
        ("en", "relapsed last night on smoking"),
        ("en", "my boyfriend choked me up with his speech"),
        ("en", "he said I'm next in line for promotion"),
        ("en", "take them together with food"),
        ("en", "I have a stash of my pills in the cupboard in case of headaches"),
        ("es", "me di cabezazos de risa"),
        ("es", "me tomé 2 de ibuprofeno"),
        ("es", "ya me los tomé, el café y el pan"),
        ("es", "volví a las andadas con el chocolate"),
        ("es", "mi ex se metió en casa a buscar su ropa"),
        ("es", "me rompió el brazo la caída"),
        ("es", "dijo que sigo yo en la fila"),
        ("es", "ya dejé todo listo para el viaje"),
        ("es", "gracias por todo lo que hiciste por mí, nos vemos el lunes"),
        ("es", "tengo que tomármelas todas, lo dijo el médico"),
        ("es", "cuánto mide el puente de Brooklyn"),
        ("es", "estoy pensando en tirarme a la piscina"),
        ("es", "quiere que vaya solo a su casa a jugar play"),
        ("es", "mejor si me voy temprano"),
        ("es", "no las voy a usar más, las regalo"),
    ],
)
def test_plan_goodbye_and_threat_families_leave_everyday_plans_alone(
    language: str, text: str
) -> None:
    assert SCREEN.screen(text, language) is None
