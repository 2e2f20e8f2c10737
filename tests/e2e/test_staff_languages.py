"""The staff's own language, end to end: a specialist and an admin each choose theirs with
/language (or read their Telegram app's until they do), and everything the bot says to
each of them is in it, whatever language their clients read; a client's words are copied
untouched, and no choice of the staff changes a client's language."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import CONFIG_DIR
from bot.domain.texts import Texts
from bot.services.people import CLI
from tests.domain.test_texts import _raw
from tests.e2e.conftest import MONDAY_6_UTC
from tests.e2e.harness import Harness, current, harness, say, tap
from tests.fakes.bot_api import FakeBotApi, FakeMessage

ADMIN, SAM, RIA = 900, 1001, 1002
ALEX = 2001
TEXTS = Texts.load(CONFIG_DIR / "messages")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def fragments(language: str, other: str) -> set[str]:
    """The fixed words of every text in `language` (between its placeholders), where the
    text in `other` does not have them too ("/digest off" reads the same in both)."""
    found = set()
    for key in TEXTS.names(language):
        theirs = _raw(other, key)
        for piece in PLACEHOLDER.split(_raw(language, key)):
            piece = piece.strip(" .,:;()\n")
            if len(piece) >= 14 and " " in piece and piece not in theirs:
                found.add(piece)
    return found


ENGLISH = fragments("en", "es")
SPANISH = fragments("es", "en")


def leaks(messages: Iterable[FakeMessage], foreign: set[str]) -> list[tuple[str, str]]:
    """(fragment, message) for every message of the bot's own words holding a fragment of
    the other language (copies of a person's words are theirs, and not looked at)."""
    return [
        (piece, message.text or "")
        for message in messages
        if message.copied_from is None
        for piece in foreign
        if piece in (message.text or "")
    ]


def menu(bot: Harness, chat: int) -> dict[str, str]:
    return {c["command"]: c["description"] for c in bot.api.commands.get(f"chat:{chat}", [])}


async def stored(bot: Harness, user: int) -> list[tuple[object, ...]]:
    return await bot.rows(
        "SELECT language, app_language FROM staff_languages WHERE telegram_user_id = ?", user
    )


@asynccontextmanager
async def sam_and_alex(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    """Sam Rivera, a specialist, with Alex, an English-speaking client; the admin (900), who
    is no specialist, has opened the bot."""
    async with harness(fake_api, tmp_path, start=MONDAY_6_UTC) as running_bot:
        running_bot.api.add_user(ADMIN, "Ada")
        await running_bot.add_specialist(SAM, "Sam Rivera")
        await running_bot.join(ALEX, "Alexandra", SAM, "Alex")
        await running_bot.settle()
        yield running_bot


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with sam_and_alex(fake_api, tmp_path) as running_bot:
        yield running_bot


async def choose_spanish(bot: Harness, user: int) -> None:
    """The user sends /language and taps Español."""
    question = await say(bot, user, "/language")
    assert question.text == (
        "Which language would you like me to write to you in? You can change it again at any time."
    )
    assert [[label for label, _ in row] for row in question.buttons()] == [
        ["✓ English", "Español"]
    ]
    await tap(bot, user, question, "Español")
    assert current(bot, user, question).text == (
        "De acuerdo, a partir de ahora te escribo en español."
    )


async def test_a_spanish_speaking_specialist_reads_spanish_while_the_admin_reads_english(
    bot: Harness,
) -> None:
    await choose_spanish(bot, SAM)
    await bot.api.wait_until(
        lambda: (
            menu(bot, SAM).get("clients")
            == "Las personas que acompañas, primero quien quizá te necesite"
        ),
        what="Sam's menu in Spanish",
    )
    assert await stored(bot, SAM) == [("es", "en")]
    # Ria, a colleague on call, reads her Telegram app's Spanish.
    bot.api.add_user(RIA, "Ria", language_code="es")
    await bot.services.people.add_specialist(RIA, "Ria Okafor")
    assert ((await say(bot, RIA, "/oncall on")).text or "").startswith("Estás de guardia.")
    sam_from = len(bot.api.sent_to(SAM))
    admin_from = len(bot.api.sent_to(ADMIN))

    # A message: Sam's header is Spanish, Alex's words are copied as they are.
    hello = bot.api.send_text(ALEX, "hello, rough week")
    await bot.barrier(ALEX)
    header, copy = bot.api.sent_to(SAM)[sam_from : sam_from + 2]
    assert header.text == "De Alex:"
    assert copy.copied_from == (ALEX, hello.message_id)
    assert (bot.api.sent_to(ALEX)[-2].text or "").startswith("I'll pass this on to Sam Rivera.")

    # A flag: Spanish for Sam; Alex's own answer stays English.
    urgent = bot.api.send_text(ALEX, "i want to die")
    await bot.barrier(ALEX)
    assert any(m.text == "⚠️ Puede ser urgente. De Alex:" for m in bot.api.sent_to(SAM))
    assert any(m.copied_from == (ALEX, urgent.message_id) for m in bot.api.sent_to(SAM))
    assert any(
        (m.text or "").startswith("Thank you for telling me.") for m in bot.api.sent_to(ALEX)
    )

    # Nobody answers: the admin's copy of the same message is in English, Sam's note Spanish.
    bot.advance(timedelta(minutes=16))
    await bot.run_tick()
    [escalation] = [
        m
        for m in bot.api.sent_to(ADMIN)[admin_from:]
        if (m.text or "").startswith("⚠️ Possibly urgent, not answered yet. From Alex")
    ]
    assert "flagged as suicide, sent 16 min ago" in (escalation.text or "")
    # Each supervisor in their own language.
    assert any(
        (m.text or "").startswith(
            "⚠️ Puede ser urgente y aún no tiene respuesta. De Alex, a quien acompaña Sam"
            " Rivera; marcado como suicidio, enviado hace 16 min."
        )
        for m in bot.api.sent_to(RIA)
    )
    assert any(m.copied_from == (ALEX, urgent.message_id) for m in bot.api.sent_to(RIA))
    assert any(m.copied_from == (ALEX, urgent.message_id) for m in bot.api.sent_to(ADMIN))
    assert any(
        (m.text or "").startswith(
            "El mensaje de Alex que puede ser urgente (hace 16 min) ha llegado también"
        )
        for m in bot.api.sent_to(SAM)
    )

    # /clients.
    overview = (await say(bot, SAM, "/clients")).text or ""
    assert overview.startswith(
        "Las personas que acompañas (1), primero las que quizá te necesiten:"
    )
    assert "⚠️ Alex · todavía sin elegir · activa · escribió por última vez hace 16 min" in (
        overview
    )

    # A reminder, a day on.
    bot.advance(timedelta(hours=24))
    await bot.run_tick()
    assert any(
        (m.text or "").startswith("🔔 Alex espera una respuesta desde hace un día.")
        for m in bot.api.sent_to(SAM)
    )

    # The rest of Sam's tools, each answered in Spanish (or, for a mistake, kindly).
    for command in [
        "/help",
        "/start",
        "/oncall",
        "/oncall on",
        "/oncall off",
        "/oncall sometimes",
        "/digest 18:00",
        "/digest whenever",
        "/digest off",
        "/away until friday Back on Friday",
        "/away until someday",
        "/back",
        "/back",
        "/checkin",
        "/checkin Nobody",
        "/checkin Alex",
        "/invite",
        "/to",
        "/to Nobody hi",
        "/to Alex",
        "/transfer",
        "/transfer Alex Nobody Here",
        "/specialists",
        "/frobnicate",
        "just a note to nobody",
        "/language",
    ]:
        await say(bot, SAM, command)
    await bot.settle()
    said = bot.api.sent_to(SAM)[sam_from:]
    assert leaks(said, ENGLISH) == []
    assert any((m.text or "").startswith("Tus comandos:") for m in said)
    assert any((m.text or "").startswith("Estás de guardia.") for m in said)
    assert any(
        (m.text or "").startswith("Listo: figuras como ausente hasta el viernes") for m in said
    )
    assert any((m.text or "").startswith("Recibirás un resumen diario a las 18:00") for m in said)
    assert any((m.text or "").startswith("Lo siento, esto solo está disponible") for m in said)
    # The admin read English only, Ria Spanish only; Alex's language is Alex's.
    assert leaks(bot.api.sent_to(ADMIN)[admin_from:], SPANISH) == []
    assert leaks(bot.api.sent_to(RIA), ENGLISH) == []
    assert (await bot.client_row(ALEX))["language"] == "en"


async def test_an_admin_who_is_no_specialist_chooses_spanish_and_keeps_it_after_a_restart(
    bot: Harness,
) -> None:
    answer = await say(bot, ADMIN, "/language Español")
    assert answer.text == "De acuerdo, a partir de ahora te escribo en español."
    await bot.api.wait_until(
        lambda: (
            menu(bot, ADMIN).get("specialists") == "Los especialistas y las personas que acompañan"
        ),
        what="the admin's menu in Spanish",
    )
    assert await stored(bot, ADMIN) == [("es", "en")]

    bot.api.commands.clear()
    await bot.restart()
    # The start-up's one menu each: the admin's in Spanish, Sam's in English.
    await bot.api.wait_until(
        lambda: (
            menu(bot, ADMIN).get("audit") == "Las entradas más recientes del registro"
            and menu(bot, SAM).get("clients") == "Your clients, who may need you first"
        ),
        what="the menus after the restart",
    )
    greeting = (await say(bot, ADMIN, "/help")).text or ""
    assert greeting.startswith("Hola. Administras este Porchlight. Tus comandos:")
    listed = (await say(bot, ADMIN, "/specialists")).text or ""
    assert listed == "Especialistas:\nSam Rivera (1001), personas: 1"
    refused = (await say(bot, ADMIN, "/audit lots")).text or ""
    assert refused == "Indica cuántas entradas quieres, de 1 a 200, como /audit 50."
    admin_from = len(bot.api.sent_to(ADMIN))
    for command in [
        "/start",
        "hello",
        "/frobnicate",
        "/addspecialist",
        "/addspecialist 77 ",
        "/addspecialist 2001 Alex Again",
        "/removespecialist",
        "/removespecialist 555",
        "/removespecialist 1001",
        "/removespecialist 1001 to Sam Rivera",
        "/transfer",
        "/transfer Nobody Sam Rivera",
        "/transfer Alex Sam Rivera",
        "/audit 3",
        "/report 9999w",
        "/oncall",
        "/oncall on",
        "/clients",
        "/language",
    ]:
        await say(bot, ADMIN, command)
    await bot.settle()
    assert leaks(bot.api.sent_to(ADMIN)[admin_from:], ENGLISH) == []
    # Their English app does not move them back: the choice is theirs.
    assert await stored(bot, ADMIN) == [("es", "en")]
    # Sam and Alex read as before.
    assert ((await say(bot, SAM, "/clients")).text or "").startswith("Your clients (1)")
    assert (await bot.client_row(ALEX))["language"] == "en"


async def test_a_specialist_whose_app_is_in_spanish_reads_spanish_without_choosing(
    bot: Harness,
) -> None:
    bot.api.add_user(RIA, "Ria", language_code="es-MX")
    await bot.services.people.add_specialist(RIA, "Ria Okafor")
    greeting = (await say(bot, RIA, "/start")).text or ""
    assert greeting.startswith("Hola, Ria Okafor. Tu cuenta está registrada como especialista")
    # Her menu came with her first message (start-up could not know her language).
    await bot.api.wait_until(
        lambda: menu(bot, RIA).get("invite") == "Invitar a una nueva persona",
        what="Ria's menu in Spanish",
    )
    assert await stored(bot, RIA) == [(None, "es")]
    # Also what the tick sends her, with no message of hers to read the app's language from.
    transfer = await say(bot, SAM, "/transfer Alex Ria Okafor")
    assert (transfer.text or "").startswith("Alex now talks with Ria Okafor")
    handed = (await bot.said(RIA, 2))[1].text or ""
    assert handed.startswith("Ahora acompañas a Alex, a quien acompañaba Sam Rivera.")
    bot.api.send_text(ALEX, "hello Ria")
    await bot.barrier(ALEX)
    bot.advance(timedelta(hours=25))
    await bot.run_tick()
    assert any(
        (m.text or "").startswith("🔔 Alex espera una respuesta") for m in bot.api.sent_to(RIA)
    )
    assert leaks(bot.api.sent_to(RIA), ENGLISH) == []


@pytest.mark.parametrize("typed", ["klingon", "fr", "/es", "e"])
async def test_a_language_we_do_not_have_is_refused_kindly_and_changes_nothing(
    bot: Harness, typed: str
) -> None:
    await choose_spanish(bot, SAM)
    answer = (await say(bot, SAM, f"/language {typed}")).text or ""
    assert answer == (
        "Todavía no puedo escribir en ese idioma, así que no ha cambiado nada. Estos son los"
        " idiomas que puedo usar:\nEnglish: /language en\nEspañol: /language es"
    )
    admin = (await say(bot, ADMIN, f"/language {typed}")).text or ""
    assert admin.startswith("I can't write in that language yet, so nothing has changed.")
    assert await stored(bot, SAM) == [("es", "en")]
    assert await stored(bot, ADMIN) == [(None, "en")]
    assert (await bot.client_row(ALEX))["language"] == "en"


async def test_forged_language_buttons_change_nothing(bot: Harness) -> None:
    question = await say(bot, SAM, "/language")
    for forged in ["l:fr", "l:es:setup", "l:es:other", "l:", "l:es:setup:x"]:
        query = bot.api.press_button(SAM, question.message_id, forged, force=True)
        await bot.api.wait_until(
            lambda query=query: query in bot.api.answered_callbacks, what="the forged tap"
        )
        assert bot.api.answered_callbacks[query].get("text") == "This button no longer works."
    # None is a button the message shows: each is refused before anything is read from it.
    await bot.settle()
    assert await stored(bot, SAM) == [(None, "en")]
    assert current(bot, SAM, question).text == question.text
    # Removed, Sam is nobody's staff: the real button he still sees does nothing either.
    bot.api.add_user(RIA, "Ria")
    await bot.services.people.add_specialist(RIA, "Ria Okafor")
    await bot.services.transfers.remove_specialist(CLI, SAM, "Ria Okafor")
    query = bot.api.press_button(SAM, question.message_id, "l:es")
    await bot.api.wait_until(lambda: query in bot.api.answered_callbacks, what="the old tap")
    assert str(bot.api.answered_callbacks[query].get("text")).startswith(
        "This button no longer works."
    )
    assert await stored(bot, SAM) == [(None, "en")]
    assert (await bot.client_row(ALEX))["language"] == "en"
