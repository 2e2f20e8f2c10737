"""One busy chat, strangers who flood, specialists who block the bot, and moves while
messages wait: nobody's words held up by another chat, lost, or sent to the wrong person."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.storage.outbox import Priority
from tests.e2e.harness import Harness, say, stranger_answer
from tests.e2e.test_delivery import started  # the same cast: Sam, Ria, Alex, Bo, Cy
from tests.fakes.bot_api import FakeBotApi, FakeMessage

# Relays run whole on the database's thread: the loop checks nothing there touches it.
pytestmark = pytest.mark.thread_checks

SAM, RIA = 1001, 1002
ALEX, BO, CY = 2001, 2002, 2003
ADMIN, STRANGER = 900, 4242
URGENT_WORDS = "I want to end my life"
KEPT = "Sam Rivera can't receive messages here right now. Your message is kept safe"
PASSED_ON = "I'll pass this on to Sam Rivera."


def copies(bot: Harness, chat: int) -> list[tuple[int, int]]:
    """Where each copy in the chat came from, in the order they arrived."""
    return [m.copied_from for m in bot.api.sent_to(chat) if m.copied_from is not None]


def texts(bot: Harness, chat: int) -> list[str]:
    return [m.text or "" for m in bot.api.sent_to(chat)]


async def waiting_for(bot: Harness, chat: int, count: int) -> None:
    """Wait until at least `count` messages wait in the outbox for the chat."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        rows = await bot.rows(
            "SELECT count(*) FROM outbox WHERE chat_id = ? AND status = 'pending'", chat
        )
        if int(str(rows[0][0])) >= count:
            return
        assert asyncio.get_running_loop().time() < deadline, f"fewer than {count} waited"
        await asyncio.sleep(0.01)  # polling with a deadline, as settle() does


def flood(bot: Harness, user: int, count: int) -> list[FakeMessage]:
    return [bot.api.send_text(user, f"forwarded {n}") for n in range(count)]


async def test_a_flood_in_one_chat_does_not_hold_up_another_clients_message(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path, send_per_chat_interval=0.05) as bot:
        sender = bot.services.sender
        assert sender is not None
        # Fewer people's messages in flight than the flood holds, as hundreds would be.
        sender._allowances[Priority.PERSON] = (10, 1)
        sent = flood(bot, ALEX, 60)
        await waiting_for(bot, SAM, 40)
        cy = bot.api.send_text(CY, "a word for Ria")
        await bot.api.wait_until(lambda: (CY, cy.message_id) in copies(bot, RIA), what="Cy's copy")
        # Cy's message reached Ria while most of Alex's backlog still waited for Sam's chat
        # (it had waited behind all of it, taking every place in flight).
        assert len(copies(bot, SAM)) < 40
        await bot.api.wait_until(
            lambda: (ALEX, sent[-1].message_id) in copies(bot, SAM), timeout=20, what="the flood"
        )
        assert copies(bot, SAM) == [(ALEX, m.message_id) for m in sent]


async def test_possibly_urgent_words_go_ahead_of_a_backlog_in_the_same_chat(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path, send_per_chat_interval=0.05) as bot:
        sent = flood(bot, ALEX, 40)
        await waiting_for(bot, SAM, 20)
        urgent = bot.api.send_text(BO, URGENT_WORDS)
        await bot.api.wait_until(
            lambda: (ALEX, sent[-1].message_id) in copies(bot, SAM), timeout=20, what="the flood"
        )
        arrived = bot.api.sent_to(SAM)
        at = next(i for i, m in enumerate(arrived) if m.copied_from == (BO, urgent.message_id))
        assert arrived[at - 1].text == "⚠️ Possibly urgent. From Bo:"
        # Ahead of half of Alex's backlog at least (it went next, behind what was under way).
        alex_after = [m for m in arrived[at:] if m.copied_from and m.copied_from[0] == ALEX]
        assert len(alex_after) >= 20
        # Alex's copies that follow are under Alex's name again, never read as Bo's.
        assert arrived[at + 1].text == "From Alex:"
        assert arrived[at + 2].copied_from is not None and arrived[at + 2].copied_from[0] == ALEX
        assert [c for c in copies(bot, SAM) if c[0] == ALEX] == [
            (ALEX, m.message_id) for m in sent
        ]


async def test_a_stranger_who_floods_gets_one_answer(fake_api: FakeBotApi, tmp_path: Path) -> None:
    async with started(fake_api, tmp_path, stranger_reply_minutes=60) as bot:
        bot.api.add_user(STRANGER, "Someone")
        for n in range(15):
            bot.api.send_text(STRANGER, f"hello {n}")
        await bot.barrier(ALEX)
        assert texts(bot, STRANGER) == [stranger_answer()]
        assert await bot.rows("SELECT count(*) FROM outbox WHERE chat_id = ?", STRANGER) == [(0,)]


async def test_a_specialist_who_blocks_the_bot_gets_everything_kept_when_they_unblock(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path) as bot:
        before_sam = len(bot.api.sent_to(SAM))
        bot.api.block_bot(SAM)
        await bot.api.wait_until(
            lambda: any("Sam Rivera has blocked the bot" in t for t in texts(bot, ADMIN)),
            what="the admins told",
        )
        told = next(t for t in texts(bot, ADMIN) if "Sam Rivera has blocked the bot" in t)
        assert "2 client(s) affected" in told
        before_alex = len(bot.api.sent_to(ALEX))
        first = bot.api.send_text(ALEX, "are you there?")
        second = bot.api.send_text(ALEX, "still here")
        urgent = bot.api.send_text(BO, URGENT_WORDS)
        await bot.barrier(CY)
        # Alex hears once, kindly and truthfully, that their words are kept.
        alex = texts(bot, ALEX)[before_alex:]
        assert [t for t in alex if t.startswith(KEPT)] == [alex[0]]
        assert not any(t.startswith(PASSED_ON) for t in alex)
        # Bo's possibly urgent words reached the admins at once, once, under the escalation's
        # header (so that a reply reaches Bo), as they reach whoever is on call.
        admin = bot.api.sent_to(ADMIN)
        [at] = [i for i, m in enumerate(admin) if m.copied_from == (BO, urgent.message_id)]
        assert (admin[at - 1].text or "").startswith(
            "⚠️ Possibly urgent, not answered yet. From Bo, a client of Sam Rivera"
        )
        assert any(t.startswith(KEPT) for t in texts(bot, BO))
        # Nothing given up on.
        assert await bot.rows("SELECT count(*) FROM outbox WHERE status = 'dead'") == [(0,)]
        assert len(bot.api.sent_to(SAM)) == before_sam

        bot.api.unblock_bot(SAM)
        await bot.api.wait_until(
            lambda: (ALEX, second.message_id) in copies(bot, SAM), what="the kept messages"
        )
        await bot.settle()
        assert copies(bot, SAM) == [
            (BO, urgent.message_id),
            (ALEX, first.message_id),
            (ALEX, second.message_id),
        ]
        assert any("Sam Rivera can receive messages again" in t for t in texts(bot, ADMIN))


async def test_a_block_seen_only_as_a_403_corrects_what_the_client_was_told(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path) as bot:
        bot.api.block_bot(SAM, notify=False)
        before = len(bot.api.sent_to(ALEX))
        words = bot.api.send_text(ALEX, "are you there?")
        await bot.api.wait_until(
            lambda: any(t.startswith(KEPT) for t in texts(bot, ALEX)[before:]),
            what="the correction",
        )
        assert texts(bot, ALEX)[before].startswith(PASSED_ON)  # before Telegram said 403
        assert any("Sam Rivera has blocked the bot" in t for t in texts(bot, ADMIN))
        assert await bot.rows(
            "SELECT count(*) FROM outbox WHERE chat_id = ? AND status = 'held'", SAM
        ) == [(2,)]  # the header and the copy
        bot.api.unblock_bot(SAM)
        await bot.api.wait_until(
            lambda: (ALEX, words.message_id) in copies(bot, SAM), what="the kept copy"
        )
        assert texts(bot, SAM)[-2] == "From Alex:"


async def test_a_removed_specialist_gets_nothing_and_their_successor_gets_it_all(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path) as bot:
        bot.api.block_bot(SAM)
        await bot.barrier(CY)
        first = bot.api.send_text(ALEX, "one")
        second = bot.api.send_text(ALEX, "two")
        await bot.barrier(CY)
        removed = await say(bot, ADMIN, "/removespecialist 1001 to Ria Okafor")
        assert "Ria Okafor" in (removed.text or "")
        await bot.api.wait_until(
            lambda: (ALEX, second.message_id) in copies(bot, RIA), what="the re-addressed copies"
        )
        ria = bot.api.sent_to(RIA)
        at = next(i for i, m in enumerate(ria) if m.copied_from == (ALEX, first.message_id))
        assert ria[at - 1].text == "From Alex:"
        assert ria[at + 1].copied_from == (ALEX, second.message_id)
        # Ria's reply to the re-addressed copy reaches Alex.
        await bot.settle()
        bot.api.send_text(RIA, "I'm here now", reply_to=ria[at].message_id)
        await bot.api.wait_until(lambda: "I'm here now" in texts(bot, ALEX), what="Ria's reply")
        bot.api.unblock_bot(SAM)
        await bot.barrier(CY)
        assert copies(bot, SAM) == []


async def test_a_transfer_readdresses_what_still_waits_for_the_old_specialist(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path) as bot:
        # Telegram asks the bot to leave Sam's chat alone for a minute: Alex's words wait.
        bot.api.fail_next("copyMessage", chat_id=SAM, status=429, retry_after=60)
        first = bot.api.send_text(ALEX, "one")
        second = bot.api.send_text(ALEX, "two")
        await bot.api.wait_until(
            lambda: any(c.error_code == 429 for c in bot.api.calls_to("copyMessage")),
            what="the 429",
        )
        await waiting_for(bot, SAM, 2)  # both copies (not barrier(): it waits for the outbox)
        await say(bot, ADMIN, "/transfer Alex Ria Okafor")
        await bot.api.wait_until(
            lambda: (ALEX, second.message_id) in copies(bot, RIA), what="the re-addressed copies"
        )
        assert [c for c in copies(bot, RIA) if c[0] == ALEX] == [
            (ALEX, first.message_id),
            (ALEX, second.message_id),
        ]
        assert copies(bot, SAM) == []
        assert await bot.rows(
            "SELECT count(*) FROM outbox WHERE chat_id = ? AND method = 'copy_message'"
            " AND status IN ('pending', 'sending', 'held')",
            SAM,
        ) == [(0,)]


async def test_a_copy_already_waiting_for_the_old_specialists_turn_goes_to_the_new_one(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path) as bot:
        sender = bot.services.sender
        assert sender is not None
        first = bot.api.send_text(ALEX, "one")
        await bot.api.wait_until(lambda: (ALEX, first.message_id) in copies(bot, SAM))
        await bot.settle()
        # Sam's chat has to wait two seconds: Alex's next copy is taken by the sender and
        # waits for the chat's turn (marked sending) when the admin moves Alex to Ria.
        sender._limiter.pause_chat(SAM, 2.0)
        second = bot.api.send_text(ALEX, "two")
        await bot.api.wait_until(
            lambda: bool(sender._in_flight) and SAM in sender._workers, what="the copy taken"
        )
        await say(bot, ADMIN, "/transfer Alex Ria Okafor")
        await bot.api.wait_until(
            lambda: (ALEX, second.message_id) in copies(bot, RIA), what="the re-addressed copy"
        )
        await bot.api.wait_until(lambda: SAM not in sender._workers, what="Sam's turn passed")
        assert copies(bot, SAM) == [(ALEX, first.message_id)]


def speakers(
    bot: Harness, chat: int, names: frozenset[str] = frozenset({"Alex", "Bo"})
) -> list[tuple[str, int]]:
    """Each copy in the chat with the name of the last header before it, in arrival order."""
    named, heard = "", []
    for m in bot.api.sent_to(chat):
        if m.copied_from is not None:
            heard.append((named, m.copied_from[0]))
        elif (m.text or "").rstrip(":").split("From ")[-1] in names:
            named = (m.text or "").rstrip(":").split("From ")[-1]
    return heard


async def test_after_urgent_words_jump_a_backlog_the_clients_next_words_keep_their_name(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path, send_per_chat_interval=0.05) as bot:
        sent = flood(bot, ALEX, 40)
        await waiting_for(bot, SAM, 20)
        bot.api.send_text(BO, URGENT_WORDS)
        later = bot.api.send_text(BO, "and one more thing")
        await bot.api.wait_until(
            lambda: (BO, later.message_id) in copies(bot, SAM), timeout=20, what="Bo's next"
        )
        await bot.api.wait_until(
            lambda: (ALEX, sent[-1].message_id) in copies(bot, SAM), timeout=20, what="the flood"
        )
        # Bo's ordinary words wait behind Alex's backlog; they are never shown as Alex's.
        names = {ALEX: "Alex", BO: "Bo"}
        assert [(name, names[who]) for name, who in speakers(bot, SAM) if name != names[who]] == []


async def test_a_specialist_refused_by_a_403_gets_what_was_kept_when_they_write_to_the_bot(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    # Telegram sends no my_chat_member for a first /start ("bot can't initiate
    # conversation with a user"), nor for an unblock the bot missed: writing is the proof.
    async with started(fake_api, tmp_path) as bot:
        bot.api.block_bot(SAM, notify=False)
        words = bot.api.send_text(ALEX, "are you there?")
        await bot.api.wait_until(
            lambda: any(t.startswith(KEPT) for t in texts(bot, ALEX)), what="the correction"
        )
        bot.api._chat_for_helper(SAM).blocked = False
        bot.api.send_text(SAM, "/start")
        await bot.api.wait_until(
            lambda: (ALEX, words.message_id) in copies(bot, SAM), what="the kept copy"
        )
        assert any("Sam Rivera can receive messages again" in t for t in texts(bot, ADMIN))


async def erase(bot: Harness, user: int) -> None:
    question = await say(bot, user, "/forget")
    query = bot.api.press_button(user, question.message_id, "f:yes")
    await bot.api.wait_until(lambda: query in bot.api.answered_callbacks, what="the tap")
    await bot.barrier(CY)


async def test_forget_withdraws_what_is_kept_for_a_specialist_who_blocked_the_bot(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path) as bot:
        bot.api.block_bot(SAM)
        bot.api.send_text(ALEX, "kept for Sam")
        await bot.barrier(CY)
        await erase(bot, ALEX)
        bot.api.unblock_bot(SAM)
        await bot.api.wait_until(
            lambda: any("can receive messages again" in t for t in texts(bot, ADMIN)),
            what="the unblock",
        )
        await bot.barrier(CY)
        assert [c for c in copies(bot, SAM) if c[0] == ALEX] == []


async def test_forget_withdraws_what_still_waits_for_the_specialist(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path, send_per_chat_interval=0.2) as bot:
        flood(bot, ALEX, 40)
        await waiting_for(bot, SAM, 30)
        await erase(bot, ALEX)  # then Cy and the watcher are answered (a barrier)
        at_erasure = len(copies(bot, SAM))
        await bot.barrier(CY)
        await asyncio.sleep(1)  # what would still go has a second at the chat's pace
        # At most the copy whose request had left (or was waiting for its slot) arrives.
        assert len(copies(bot, SAM)) - at_erasure <= 1
        assert len(copies(bot, SAM)) < 20


async def test_urgent_words_readdressed_ahead_of_a_backlog_leave_it_under_its_own_name(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    async with started(fake_api, tmp_path, send_per_chat_interval=0.1) as bot:
        bot.api.block_bot(SAM)
        urgent = bot.api.send_text(BO, URGENT_WORDS)  # kept for Sam
        await bot.barrier(ALEX)
        bot.api.add_user(3001, "Dee")
        await bot.join(3001, "Dee", RIA, "Dee")
        sent = flood(bot, CY, 30)
        await waiting_for(bot, RIA, 15)
        await say(bot, ADMIN, "/transfer Bo Ria Okafor")
        dee = bot.api.send_text(3001, "hello Ria")
        await bot.api.wait_until(
            lambda: (3001, dee.message_id) in copies(bot, RIA), timeout=20, what="Dee's words"
        )
        assert (CY, sent[-1].message_id) in copies(bot, RIA)
        assert (BO, urgent.message_id) in copies(bot, RIA)
        names = {CY: "Cy", BO: "Bo", 3001: "Dee"}
        wrong = [
            (name, names[who])
            for name, who in speakers(bot, RIA, frozenset(names.values()))
            if name != names[who]
        ]
        assert wrong == []
