"""The admins' side, end to end: specialists, transfers by an admin, the audit log, menus."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from bot import scheduling
from bot.domain.models import Actor, ActorRole
from bot.handlers.menus import ADMIN_COMMANDS, CLIENT_COMMANDS, SPECIALIST_COMMANDS
from bot.services.container import Services
from tests.e2e.harness import Harness, harness, say, tap
from tests.fakes.bot_api import FakeBotApi

SAM, RIA, LEE = 1001, 1002, 1003
ALEX, BO, CY, DEE = 2001, 2002, 2003, 2004
ADMIN, STRANGER = 900, 4242
NOT_FOR_YOU = "Sorry, that's only available to the programme's admins."


def menu(bot: Harness, scope: str) -> list[str]:
    return [command["command"] for command in bot.api.commands.get(scope, [])]


async def restart_with_menus(bot: Harness, last_chat: int) -> None:
    """Restart, and wait until the menus are set again (the last one is `last_chat`'s)."""

    def set_for_last() -> int:
        return sum(
            call.params.get("scope") == {"type": "chat", "chat_id": last_chat}
            for call in bot.api.calls_to("setMyCommands")
        )

    before = set_for_last()
    await bot.restart()
    await bot.api.wait_until(lambda: set_for_last() > before, what="the menus")


async def test_admin_adds_lists_and_removes_specialists(bot: Harness) -> None:
    bot.api.add_user(LEE, "Lee")
    added = await say(bot, ADMIN, "/addspecialist 1003 Lee  Park")
    assert added.text == (
        "Lee Park (1003) is registered as a specialist. They can open the bot and send /start."
    )
    await bot.api.wait_until(lambda: menu(bot, "chat:1003") != [], what="Lee's menu")
    assert menu(bot, "chat:1003") == list(SPECIALIST_COMMANDS)
    listed = await say(bot, ADMIN, "/specialists")
    assert listed.text == (
        "Specialists:\n"
        "Sam Rivera (1001), clients: 2\n"
        "Ria Okafor (1002), clients: 1\n"
        "Lee Park (1003), clients: 0"
    )

    # Lee has no clients: nothing moves, and Lee hears a plain goodbye.
    removed = await say(bot, ADMIN, "/removespecialist 1003 to Ria Okafor")
    assert removed.text == "Lee Park is no longer a specialist."
    goodbye = "You're no longer registered as a specialist here. Thank you for your work."
    await bot.api.wait_until(
        lambda: any(m.text == goodbye for m in bot.api.sent_to(LEE)), what="Lee's goodbye"
    )
    ria_before = len(bot.api.sent_to(RIA))
    removed = await say(bot, ADMIN, "/removespecialist 1001 to Ria Okafor")
    assert removed.text == (
        "Sam Rivera is no longer a specialist. Their clients (2) now talk with Ria Okafor,"
        " and each has been told."
    )
    handed = (await bot.said(RIA, ria_before + 1))[ria_before]
    assert handed.text == (
        "The clients of Sam Rivera (2) have been handed over to you. Each has been told that"
        " you'll read their messages from now on:\n"
        "Alex · not chosen yet · active · hasn't written yet\n"
        "Bo · not chosen yet · active · hasn't written yet"
    )
    for client in (ALEX, BO):
        await bot.api.wait_until(
            lambda c=client: (
                "Ria Okafor will read your messages" in (bot.api.sent_to(c)[-1].text or "")
            ),
            what="the client told",
        )
    await bot.api.wait_until(
        lambda: "no longer registered as a specialist" in (bot.api.sent_to(SAM)[-1].text or ""),
        what="Sam's goodbye",
    )
    await bot.api.wait_until(lambda: "chat:1001" not in bot.api.commands, what="Sam's menu gone")

    # Sam is a stranger now; Alex's words reach Ria.
    assert "works by invitation" in ((await say(bot, SAM, "/clients")).text or "")
    ria_before = len(bot.api.sent_to(RIA))
    bot.api.send_text(ALEX, "hello?")
    assert (await bot.said(RIA, ria_before + 2))[-1].text == "hello?"
    listed = await say(bot, ADMIN, "/specialists")
    assert "Sam Rivera (1001), clients: 0, removed" in (listed.text or "")
    assert "Ria Okafor (1002), clients: 3" in (listed.text or "")
    assert "Lee Park (1003), clients: 0, removed" in (listed.text or "")


async def test_nobody_else_can_use_admin_commands(bot: Harness) -> None:
    bot.api.add_user(STRANGER, "Someone")
    bot.api.add_user(LEE, "Lee")
    audit_before = await bot.rows("SELECT count(*) FROM audit_log")
    for user, command in (
        (STRANGER, "/specialists"),
        (STRANGER, "/addspecialist 4242 Me"),
        (ALEX, "/addspecialist 2001 Alex"),
        (ALEX, "/audit"),
        (SAM, "/removespecialist 1002 to Sam Rivera"),
        (SAM, "/audit 5"),
        (RIA, "/specialists"),
    ):
        assert (await say(bot, user, command)).text == NOT_FOR_YOU, (user, command)
    await bot.barrier(SAM)
    assert await bot.rows("SELECT count(*) FROM audit_log") == audit_before
    assert await bot.rows("SELECT telegram_user_id, active FROM specialists ORDER BY id") == [
        (SAM, 1),
        (RIA, 1),
    ]
    # Nothing is kept about the stranger, not even the refusal sent to them.
    assert await bot.rows("SELECT count(*) FROM outbox WHERE chat_id = ?", STRANGER) == [(0,)]


async def test_admin_mistakes_are_explained_and_change_nothing(bot: Harness) -> None:
    await bot.expect_answers(
        ADMIN,
        [
            ("/addspecialist", "Add a specialist like this: /addspecialist 123456789 Sam Rivera"),
            ("/addspecialist Lee Park", "Add a specialist like this"),
            ("/addspecialist 1003", "Add a specialist like this"),
            (
                "/addspecialist 2001 Alex",
                "Could not add the specialist: that Telegram account is a client of this bot.",
            ),
            (
                f"/addspecialist 1003 {'L' * 65}",
                "Could not add the specialist: the display name is",
            ),
            *(
                (
                    f"/addspecialist 1003 Sam{hidden}Rivera",
                    "Could not add the specialist: the display name has characters that",
                )
                for hidden in ("\u202e", "\u200b", "\x07")  # reversing, invisible, a bell
            ),
            ("/removespecialist", "Remove a specialist like this: /removespecialist 123456789 to"),
            ("/removespecialist 1001 Ria Okafor", "Remove a specialist like this"),
            ("/removespecialist 1001", "Sam Rivera still has clients. Please say who takes them"),
            ("/removespecialist 1001 to 1001", "Their clients need to go to another specialist."),
            ("/removespecialist 1001 to Nobody", "I don't know a specialist called Nobody."),
            ("/removespecialist 9999 to Ria Okafor", "There is no active specialist with the"),
            ("/audit many", "Please give how many entries you'd like, from 1 to 200"),
            ("/audit 0", "Please give how many entries you'd like"),
            ("/audit 201", "Please give how many entries you'd like"),
            ("/transfer Alex", "Hand a client over like this"),
            ("/transfer Zed Ria Okafor", "You have no client called Zed."),
        ],
    )
    assert await bot.rows("SELECT telegram_user_id, active FROM specialists ORDER BY id") == [
        (SAM, 1),
        (RIA, 1),
    ]
    assert await bot.rows("SELECT count(*) FROM clients WHERE specialist_id = 1") == [(2,)]


async def test_an_admin_who_writes_hears_what_they_can_do_here(bot: Harness) -> None:
    # An admin is no stranger: not the invitation-only note, but their own commands.
    await bot.expect_answers(
        ADMIN,
        [
            ("/nosuchcommand", "I don't know that command. /help lists yours."),
            ("hello, is this working?", "Hello. You're an admin of this Porchlight."),
        ],
    )
    before = len(bot.api.sent_to(ADMIN))
    bot.api.send_media(ADMIN, "dice")
    answer = await bot.next_text(ADMIN, before)
    assert (answer.text or "").startswith("Hello. You're an admin of this Porchlight.")


async def test_an_admin_transfers_and_the_audit_log_tells_who_did_what(bot: Harness) -> None:
    await bot.join(DEE, "Dee", RIA, "Alex")  # Ria has an Alex too
    ambiguous = await say(bot, ADMIN, "/transfer Alex Ria Okafor")
    assert ambiguous.text == (
        "Several clients are called Alex: with Sam Rivera (1001), Ria Okafor (1002)."
        " Please add their specialist's Telegram user id, like Alex@1001."
    )
    sam_before = len(bot.api.sent_to(SAM))
    done = await say(bot, ADMIN, "/transfer Alex@1001 Ria Okafor Knows Bo.")
    assert (done.text or "").startswith("Alex now talks with Ria Okafor, and has been told.")
    told = (await bot.said(SAM, sam_before + 1))[sam_before]
    assert told.text == (
        "An admin has handed Alex over to Ria Okafor. Your replies to their earlier messages"
        " won't reach them any more."
    )
    await bot.settle()
    intro = next(m for m in bot.api.sent_to(RIA) if "handed over to you" in (m.text or ""))
    assert (intro.text or "").startswith("Alex (2) has been handed over to you by Sam Rivera.")
    assert "Note: Knows Bo." in (intro.text or "")

    log = await say(bot, ADMIN, "/audit 4")
    lines = (log.text or "").split("\n")
    assert lines[0] == "The newest 4 audit entries (UTC), newest first:"
    assert [line.split(" · ", 1)[1] for line in lines[1:]] == [
        "admin 900 · transfer · client 1 (Alex (2)) · specialist Ria Okafor"
        " · from specialist 1001",
        "a client · join · client 4 (Alex) · specialist Ria Okafor · consent version 2",
        "specialist 1002 · invite · specialist Ria Okafor",
        "a client · join · client 3 (Cy) · specialist Ria Okafor · consent version 2",
    ]
    # Reading the log is logged too, after it was read.
    assert (await bot.rows("SELECT actor_role, actor_id, action FROM audit_log"))[-1] == (
        "admin",
        ADMIN,
        "audit_read",
    )
    # The whole log: ids and event names, never what anyone wrote or an alias.
    bot.api.send_text(ALEX, "a secret sentence")
    await bot.barrier(ALEX)
    dump = str(await bot.rows("SELECT * FROM audit_log"))
    assert "secret" not in dump and "Alex" not in dump and "Knows Bo" not in dump


async def test_an_erasure_leaves_no_trace_of_who_in_the_audit_log(bot: Harness) -> None:
    alex_id = (await bot.client_row(ALEX))["id"]
    assert await bot.rows("SELECT action FROM audit_log WHERE client_id = ?", alex_id) == [
        ("join",)
    ]
    question = await say(bot, ALEX, "/forget")
    await tap(bot, ALEX, question, "Erase everything")
    assert await bot.rows("SELECT count(*) FROM audit_log WHERE client_id = ?", alex_id) == [(0,)]
    assert await bot.rows(
        "SELECT actor_role, actor_id, action, client_id, specialist_id, detail FROM audit_log"
        " WHERE action = 'erase'"
    ) == [("client", None, "erase", None, 1, None)]
    dump = str(await bot.rows("SELECT * FROM audit_log"))
    assert str(ALEX) not in dump


async def test_each_role_gets_its_own_menu(
    fake_api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness(fake_api, tmp_path, admin_ids="900,1002") as bot:
        # The first start's menus: the clients' in two languages, the two admins'.
        await fake_api.wait_until(
            lambda: len(fake_api.calls_to("setMyCommands")) == 4, what="the first menus"
        )
        await bot.add_specialist(SAM, "Sam Rivera")
        await bot.add_specialist(RIA, "Ria Okafor")
        await bot.add_specialist(LEE, "Lee Park")
        await bot.services.transfers.remove_specialist(Actor(ActorRole.CLI), LEE, None)
        fake_api.commands.clear()
        fake_api.commands["chat:1003"] = [{"command": "clients", "description": "old"}]
        # The first chat menu is refused (someone who never opened the bot): the rest still go.
        fake_api.fail_next("setMyCommands", status=400, description="Bad Request: chat not found")
        with caplog.at_level(logging.WARNING):
            await restart_with_menus(bot, ADMIN)
        assert menu(bot, "default") == []  # the refused one
        assert menu(bot, "chat:1001") == list(SPECIALIST_COMMANDS)
        combined = [c for c in SPECIALIST_COMMANDS if c != "help"]
        combined += [c for c in ADMIN_COMMANDS if c not in combined]
        assert menu(bot, "chat:1002") == combined
        assert menu(bot, "chat:900") == list(ADMIN_COMMANDS)
        assert "chat:1003" not in fake_api.commands  # removed: back to the clients' menu
        assert "menu.refused" in caplog.text
        await restart_with_menus(bot, ADMIN)
        assert menu(bot, "default") == list(CLIENT_COMMANDS)
        descriptions = {c["command"]: c["description"] for c in fake_api.commands["chat:900"]}
        assert descriptions["audit"] == "The newest audit log entries"


async def test_menus_are_set_after_the_first_tick_so_overdue_check_ins_go_first(
    fake_api: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, released = asyncio.Event(), asyncio.Event()
    real_tick = scheduling.tick

    async def held_tick(found: Services, **slice: Any) -> bool:
        entered.set()
        await released.wait()
        return await real_tick(found, **slice)

    async with harness(fake_api, tmp_path, admin_ids="900") as bot:
        await fake_api.wait_until(
            lambda: len(fake_api.calls_to("setMyCommands")) == 3, what="the first menus"
        )
        await bot.add_specialist(SAM, "Sam Rivera")
        monkeypatch.setattr(scheduling, "tick", held_tick)
        before = len(fake_api.calls_to("setMyCommands"))
        await bot.restart()
        await asyncio.wait_for(entered.wait(), 5)
        await bot.barrier(SAM)  # the bot is serving, its first tick still under way
        assert len(fake_api.calls_to("setMyCommands")) == before
        released.set()
        await fake_api.wait_until(
            lambda: len(fake_api.calls_to("setMyCommands")) == before + 4, what="the menus"
        )
        assert menu(bot, "chat:1001") == list(SPECIALIST_COMMANDS)
        assert menu(bot, "chat:900") == list(ADMIN_COMMANDS)
