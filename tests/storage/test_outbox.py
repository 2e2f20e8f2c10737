"""The outbox's shared keyboards (m024): a check-in's buttons are stored once for every
check-in alike, and each item is read back, for the sender, as it was written before."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.config import CONFIG_DIR
from bot.delivery.outbox import NewText, Outbox, keyboard
from bot.domain.clock import ManualClock
from bot.domain.texts import Texts
from bot.services.checkins import CHECKIN_ROWS, checkin_data
from bot.storage.db import Database
from bot.storage.outbox import SLOT, OutboxRepository, Priority
from bot.storage.relay import RelayRepository

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def check_in_buttons(language: str, slot: str) -> list[list[tuple[str, str]]]:
    texts = Texts.load(CONFIG_DIR / "messages")
    return [
        [(texts.get(f"checkin.{answer}", language), f"ci:{slot}:{answer}") for answer in row]
        for row in CHECKIN_ROWS
    ]


async def queue_check_ins(db: Database, chats: list[int], language: str = "en") -> None:
    """Queue "What has been on your mind lately?" to each chat as the tick does (a batch's
    steps, one transaction)."""
    outbox = Outbox(db, OutboxRepository(db), RelayRepository(db), ManualClock(NOW))
    template = json.dumps(
        keyboard(check_in_buttons(language, SLOT)), ensure_ascii=False, separators=(",", ":")
    )
    slot = str(int(DUE.timestamp()))
    items = [
        NewText(
            chat_id=chat,
            text="What has been on your mind lately?",
            keyboard=template,
            slot=slot,
            priority=Priority.SCHEDULED,
            idempotency_key=f"checkin:{chat}:{slot}",
            at_most_once=True,
        )
        for chat in chats
    ]
    async with db.transaction():
        await db.write_steps(outbox.text_steps(items))


async def test_a_check_in_is_read_back_with_the_buttons_it_always_had(db: Database) -> None:
    await queue_check_ins(db, [501, 502])
    async with db.transaction():
        due = await OutboxRepository(db).due(NOW, 10)
        stored = await db.fetch_all("SELECT payload FROM outbox ORDER BY id")
        kept = await db.fetch_all("SELECT count(*) FROM keyboards")
    expected = keyboard(
        [
            [(label, checkin_data(DUE, data.rsplit(":", 1)[1])) for label, data in row]
            for row in check_in_buttons("en", "")
        ]
    )
    assert [item.payload for item in due] == [
        {"chat_id": chat, "text": "What has been on your mind lately?", "reply_markup": expected}
        for chat in (501, 502)
    ]
    # Stored once, not under each check-in: no item's row holds a button's label.
    assert kept[0][0] == 1
    assert all("Doing okay" not in row[0] for row in stored)


async def test_a_check_in_keeps_the_buttons_it_was_queued_with_when_they_change(
    db: Database,
) -> None:
    # Queued under the English labels and read (the repository keeps what it read); then
    # the labels change (a text edited, or the client's language) before it is sent.
    repository = OutboxRepository(db)
    await queue_check_ins(db, [501])
    async with db.transaction():
        await repository.due(NOW, 10)
    await queue_check_ins(db, [502], language="es")
    async with db.transaction():
        due = await repository.due(NOW, 10)
        kept = await db.fetch_all("SELECT count(*) FROM keyboards")
    labels = {
        item.chat_id: [
            [button["text"] for button in row]
            for row in item.payload["reply_markup"]["inline_keyboard"]
        ]
        for item in due
    }
    assert labels == {
        chat: [[label for label, _ in row] for row in check_in_buttons(language, "")]
        for chat, language in ((501, "en"), (502, "es"))
    }
    assert labels[501] != labels[502]
    assert kept[0][0] == 2
