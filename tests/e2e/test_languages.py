"""Languages, end to end: Spanish and English clients side by side, /language, and strangers
(the staff's own language: tests/e2e/test_staff_languages.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import CONFIG_DIR
from bot.domain.safety import SafetyScreen
from bot.domain.texts import Texts
from tests.e2e.harness import Harness, current, harness, say, stranger_answer, tap
from tests.fakes.bot_api import FakeBotApi, FakeMessage

SAM = 1001
ANA, ALEX = 2001, 2002
STRANGER_ES, STRANGER_FR = 3001, 3002
MONDAY_6_UTC = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
TEXTS = Texts.load(CONFIG_DIR / "messages")


def prompts(language: str) -> set[str]:
    return {
        TEXTS.get(key, language, specialist="Sam Rivera")
        for key in TEXTS.names()
        if key.startswith("prompts.")
    }


def labels(message: FakeMessage) -> list[list[str]]:
    return [[label for label, _ in row] for row in message.buttons()]


def menu(bot: Harness, scope: str) -> dict[str, str]:
    return {c["command"]: c["description"] for c in bot.api.commands.get(scope, [])}


async def language_of(bot: Harness, user: int) -> object:
    return (await bot.client_row(user))["language"]


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC) as running_bot:
        await running_bot.add_specialist(SAM, "Sam Rivera")
        yield running_bot


async def test_each_client_reads_their_telegram_language_from_the_consent_on(
    bot: Harness,
) -> None:
    ana_code = await bot.invite(SAM, "Ana")
    alex_code = await bot.invite(SAM, "Alex")
    bot.api.add_user(ANA, "Ana", language_code="es-MX")
    bot.api.add_user(ALEX, "Alexandra", language_code="en-GB")
    bot.api.send_text(ANA, f"/start {ana_code}")
    bot.api.send_text(ALEX, f"/start {alex_code}")
    ana_consent = (await bot.said(ANA, 1))[0]
    alex_consent = (await bot.said(ALEX, 1))[0]
    assert "Sam Rivera te ha invitado a Porchlight" in (ana_consent.text or "")
    assert "Nadie está pendiente de este chat a todas horas" in (ana_consent.text or "")
    assert "/pause" in (ana_consent.text or "") and "/forget" in (ana_consent.text or "")
    assert labels(ana_consent) == [["Sí, empecemos", "Ahora no"]]
    assert "Sam Rivera invited you to Porchlight" in (alex_consent.text or "")
    assert labels(alex_consent) == [["Yes, let's begin", "Not now"]]

    bot.api.press_button(ANA, ana_consent.message_id, ana_consent.buttons()[0][0][1] or "")
    bot.api.press_button(ALEX, alex_consent.message_id, alex_consent.buttons()[0][0][1] or "")
    ana_welcome, ana_question = (await bot.said(ANA, 3))[1:]
    alex_welcome, alex_question = (await bot.said(ALEX, 3))[1:]
    assert "Gracias. Ya estás en contacto con Sam Rivera." in (ana_welcome.text or "")
    assert (ana_question.text or "").startswith("¿Cada cuánto te gustaría recibir un saludo")
    assert labels(ana_question)[0] == ["Cada día", "Cada 2 días"]
    assert labels(ana_question)[-1] == ["English", "✓ Español"]
    assert "You're connected with Sam Rivera." in (alex_welcome.text or "")
    assert (alex_question.text or "").startswith("How often would you like a gentle check-in?")
    assert labels(alex_question)[-1] == ["✓ English", "Español"]
    assert await bot.rows("SELECT alias, language FROM clients ORDER BY alias") == [
        ("Alex", "en"),
        ("Ana", "es"),
    ]
    await bot.api.wait_for_messages(SAM, 4)
    assert {m.text for m in bot.api.sent_to(SAM)[2:]} == {"Ana has joined.", "Alex has joined."}

    # Both choose the same schedule, typed; each summary comes in their own words.
    await say(bot, ANA, "/schedule daily 09:30")
    await say(bot, ALEX, "/schedule daily 09:30")
    ana_summary = (await say(bot, ANA, "/timezone UTC")).text or ""
    alex_summary = (await say(bot, ALEX, "/timezone UTC")).text or ""
    assert "Tus saludos: cada día, a las 09:30." in ana_summary
    assert "Próximo saludo: hoy a las 09:30." in ana_summary
    assert "Your check-ins: every day, at 09:30." in alex_summary

    bot.clock.set(datetime(2026, 11, 30, 9, 30, 15, tzinfo=UTC))
    await bot.tick()
    ana_checkin = bot.api.sent_to(ANA)[-1]
    alex_checkin = bot.api.sent_to(ALEX)[-1]
    assert ana_checkin.text in prompts("es")
    assert labels(ana_checkin) == [
        ["Estoy bien", "Podría estar mejor"],
        ["Hoy no", "Me gustaría hablar"],
        ["Menos saludos", "Pausa"],
    ]
    assert alex_checkin.text in prompts("en")
    assert labels(alex_checkin)[0] == ["Doing okay", "Could be better"]

    before = len(bot.api.sent_to(SAM))
    await tap(bot, ANA, ana_checkin, "Me gustaría hablar")
    await tap(bot, ALEX, alex_checkin, "Doing okay")
    assert bot.api.sent_to(ANA)[-1].text == (
        "Gracias. Ya le dije a Sam Rivera que te gustaría hablar; te escribirá aquí cuando"
        " pueda. Si no puede esperar, /crisis te muestra a quién puedes acudir ahora mismo."
    )
    assert bot.api.sent_to(ALEX)[-1].text == "Glad to hear it. Thank you for letting me know."
    # The specialist reads both in English.
    assert {m.text for m in bot.api.sent_to(SAM)[before:]} == {
        "🔔 Ana would like to talk (check-in of Mon 09:30).",
        "Alex: doing okay (check-in of Mon 09:30)",
    }


async def test_the_language_can_be_changed_in_place_right_after_consent(bot: Harness) -> None:
    await bot.join(ALEX, "Alexandra", SAM, "Alex")
    question = bot.api.sent_to(ALEX)[-1]
    await tap(bot, ALEX, question, "Español")
    spanish = current(bot, ALEX, question)
    assert (spanish.text or "").startswith("¿Cada cuánto te gustaría recibir un saludo")
    assert labels(spanish)[-1] == ["English", "✓ Español"]
    assert await language_of(bot, ALEX) == "es"
    assert len(bot.api.sent_to(ALEX)) == 3  # consent, welcome, the question: no new message

    # Tapping the language already chosen changes nothing.
    await tap(bot, ALEX, spanish, "✓ Español")
    assert current(bot, ALEX, question).text == spanish.text
    # The rest of the set-up goes on in Spanish.
    await tap(bot, ALEX, current(bot, ALEX, question), "Cada día")
    assert current(bot, ALEX, question).text == "¿Cuándo te vendría bien?"
    moments = [label.split(" (")[0] for label in labels(current(bot, ALEX, question))[0]]
    assert moments == ["Por la mañana", "Por la tarde", "Por la noche"]
    assert menu(bot, f"chat:{ALEX}")["language"] == "El idioma en el que te escribo"


async def test_language_with_buttons_or_typed_switches_everything_the_client_reads(
    bot: Harness,
) -> None:
    await bot.join(ALEX, "Alexandra", SAM, "Alex")
    await bot.join(ANA, "Ana", SAM, "Ana", language_code="es")
    await bot.settle()

    choice = await say(bot, ALEX, "/language")
    assert choice.text == (
        "Which language would you like me to write to you in? You can change it again at any time."
    )
    assert labels(choice) == [["✓ English", "Español"]]
    await tap(bot, ALEX, choice, "Español")
    confirmed = current(bot, ALEX, choice)
    assert confirmed.text == "De acuerdo, a partir de ahora te escribo en español."
    assert confirmed.buttons() == []
    assert await language_of(bot, ALEX) == "es"
    assert menu(bot, f"chat:{ALEX}")["settings"] == "Tus saludos y ajustes"

    help_text = (await say(bot, ALEX, "/help")).text or ""
    assert "/settings: tus saludos (cambiarlos, pausarlos o detenerlos)." in help_text
    paused = (await say(bot, ALEX, "/pause 1w")).text or ""
    assert paused.startswith("Los saludos quedan en pausa hasta el lunes 7 de diciembre a las")
    await bot.api.wait_until(
        lambda: bot.api.sent_to(SAM)[-1].text == "Alex paused check-ins until Monday 7 December.",
        what="the specialist's note, in English",
    )

    # Urgent words: the resources in Spanish for the client, the marked copy in English.
    before = len(bot.api.sent_to(SAM))
    words = bot.api.send_text(ALEX, "ya no kiero vivir")
    got = await bot.said(SAM, before + 2)
    assert got[before].text == "⚠️ Possibly urgent. From Alex:"
    assert got[before + 1].copied_from == (ALEX, words.message_id)
    await bot.api.wait_until(
        lambda: "Gracias por contármelo" in (bot.api.sent_to(ALEX)[-1].text or ""),
        what="the resources in Spanish",
    )
    caring = bot.api.sent_to(ALEX)[-1].text or ""
    assert caring.startswith("Gracias por contármelo. No tienes por qué cargar con esto a solas")
    assert "Lo que escribiste ya le ha llegado a Sam Rivera" in caring
    assert "contacta ahora con los servicios de emergencia de tu zona" in caring
    assert "Puede que no lo vea enseguida" in caring
    # The specialist answers; the client reads who it is from in Spanish.
    await bot.settle()  # the copy's id is noted, so Sam's reply to it is relayed
    reply_before = len(bot.api.sent_to(ALEX))
    bot.api.send_text(SAM, "Estoy aquí.", reply_to=got[before + 1].message_id)
    header, copy = (await bot.said(ALEX, reply_before + 2))[reply_before:]
    assert header.text == "De Sam Rivera, tu especialista de apoyo entre pares:"
    assert copy.copied_from is not None and copy.copied_from[0] == SAM

    # Typed, by code or by the language's own name; the same language again changes nothing.
    await bot.expect_answers(
        ALEX,
        [
            ("/language en", "Okay, I'll write to you in English from now on."),
            ("/language English", "I already write to you in English, so nothing changes."),
            ("/language espanol", "De acuerdo, a partir de ahora te escribo en español."),
            ("/language ES-mx", "Ya te escribo en español, así que no cambia nada."),
        ],
    )
    assert await language_of(bot, ALEX) == "es"
    # Ana, who came in Spanish, was never touched by any of this.
    assert await language_of(bot, ANA) == "es"


@pytest.mark.parametrize("typed", ["fr", "klingon please", "/es", "e"])
async def test_an_unknown_language_is_refused_kindly_and_changes_nothing(
    bot: Harness, typed: str
) -> None:
    await bot.join(ALEX, "Alexandra", SAM, "Alex")
    await bot.join(ANA, "Ana", SAM, "Ana", language_code="es_419")
    english = (await say(bot, ALEX, f"/language {typed}")).text or ""
    assert english == (
        "I can't write in that language yet, so nothing has changed."
        " These are the languages I can use:\nEnglish: /language en\nEspañol: /language es"
    )
    spanish = (await say(bot, ANA, f"/language {typed}")).text or ""
    assert spanish.startswith("Todavía no puedo escribir en ese idioma, así que no ha cambiado")
    assert spanish.endswith("English: /language en\nEspañol: /language es")
    assert (await language_of(bot, ALEX), await language_of(bot, ANA)) == ("en", "es")
    assert f"chat:{ALEX}" not in bot.api.commands and f"chat:{ANA}" not in bot.api.commands


async def test_the_staff_and_strangers(bot: Harness) -> None:
    # Someone without an invite hears the one sentence in their app's language, if we have it
    # (also for /language: nothing is stored about them).
    bot.api.add_user(STRANGER_ES, "Rosa", language_code="es-AR")
    bot.api.add_user(STRANGER_FR, "Jean", language_code="fr")
    assert (await say(bot, STRANGER_ES, "/language en")).text == stranger_answer("es")
    spanish = (await say(bot, STRANGER_ES, "hola")).text or ""
    assert spanish == stranger_answer("es")
    assert spanish.startswith(
        "Hola, y gracias por escribir. Este bot funciona solo con invitación"
    )
    assert SafetyScreen.load(CONFIG_DIR / "safety").resources("es") in spanish
    assert (await say(bot, STRANGER_FR, "bonjour")).text == stranger_answer("en")
    # The clients' menu comes in each language the app may use; a specialist's in theirs
    # (one added outside Telegram gets theirs at the next start, or when they first write).
    await bot.restart()
    assert menu(bot, "default")["language"] == "The language I write to you in"
    assert menu(bot, "default/es")["language"] == "El idioma en el que te escribo"
    assert menu(bot, f"chat:{SAM}")["clients"] == "Your clients, who may need you first"


async def test_erasing_takes_the_language_menu_away_too(bot: Harness) -> None:
    await bot.join(ALEX, "Alexandra", SAM, "Alex")
    await say(bot, ALEX, "/language es")
    await bot.api.wait_until(lambda: f"chat:{ALEX}" in bot.api.commands, what="Alex's menu")
    question = await say(bot, ALEX, "/forget")
    assert labels(question) == [["Borrarlo todo", "Cancelar"]]
    await tap(bot, ALEX, question, "Borrarlo todo")
    await bot.api.wait_until(lambda: f"chat:{ALEX}" not in bot.api.commands, what="menu gone")
    assert (bot.api.sent_to(ALEX)[-1].text or "").startswith("Se ha borrado todo")
    assert await bot.rows("SELECT count(*) FROM clients") == [(0,)]
