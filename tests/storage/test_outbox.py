"""The outbox's shared keyboards (m024): a check-in's buttons are stored once for every
check-in alike, and each item is read back, for the sender, as it was written before."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.config import CONFIG_DIR
from bot.delivery.outbox import NewText, Outbox, keyboard
from bot.domain.clock import ManualClock
from bot.domain.texts import Texts
from bot.services.checkins import CHECKIN_ROWS, checkin_data
from bot.storage import migrations
from bot.storage.db import Database
from bot.storage.outbox import SLOT, OutboxRepository, Priority
from bot.storage.relay import RelayRepository

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _check_in_buttons(language: str, slot: str) -> list[list[tuple[str, str]]]:
    texts = Texts.load(CONFIG_DIR / "messages")
    return [
        [(texts.get(f"checkin.{answer}", language), f"ci:{slot}:{answer}") for answer in row]
        for row in CHECKIN_ROWS
    ]


async def _queue_check_ins(db: Database, chats: list[int]) -> None:
    """Queue one check-in per chat as the tick does (a batch's steps, one transaction)."""
    outbox = Outbox(db, OutboxRepository(db), RelayRepository(db), ManualClock(NOW))
    template = json.dumps(
        keyboard(_check_in_buttons("en", SLOT)), ensure_ascii=False, separators=(",", ":")
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
    await _queue_check_ins(db, [501, 502])
    async with db.transaction():
        due = await OutboxRepository(db).due(NOW, 10)
        stored = await db.fetch_all("SELECT payload FROM outbox ORDER BY id")
        kept = await db.fetch_all("SELECT count(*) FROM keyboards")
    expected = keyboard(
        [
            [(label, checkin_data(DUE, data.rsplit(":", 1)[1])) for label, data in row]
            for row in _check_in_buttons("en", "")
        ]
    )
    assert [item.payload for item in due] == [
        {"chat_id": chat, "text": "What has been on your mind lately?", "reply_markup": expected}
        for chat in (501, 502)
    ]
    # Stored once, not under each check-in: no item's row holds a button's label.
    assert kept[0][0] == 1
    assert all("Doing okay" not in row[0] for row in stored)


async def test_an_item_queued_before_the_upgrade_is_sent_as_it_was(tmp_path: Path) -> None:
    """A database with check-ins queued by the code before m024 (the keyboard in each
    payload): the upgrade keeps them, and they are read as they were written; new ones are
    queued the new way beside them."""
    path = tmp_path / "porchlight.sqlite3"
    before = [step for step in migrations.MIGRATIONS if step is not migrations.m024_keyboards_once]
    markup = keyboard(_check_in_buttons("en", str(int(DUE.timestamp()))))
    old_payload = {"chat_id": 500, "text": "What helped?", "reply_markup": markup}
    async with aiosqlite.connect(path) as conn:
        await conn.execute(
            "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
        for step in before:
            await step(conn)
            await conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                (step.__name__, NOW.isoformat()),
            )
        await conn.execute(
            "INSERT INTO outbox (chat_id, method, payload, priority, at_most_once, not_before,"
            " created_at, idempotency_key) VALUES (500, 'send_message', ?, 1, 1, ?, ?, 'k')",
            (json.dumps(old_payload), *["2026-03-02T07:59:00.000000+00:00"] * 2),
        )
        await conn.commit()
    db = await Database.open(path)
    try:
        await _queue_check_ins(db, [501])
        async with db.transaction():
            due = await OutboxRepository(db).due(NOW, 10)
    finally:
        await db.close()
    assert [item.payload for item in due] == [
        old_payload,
        {"chat_id": 501, "text": "What has been on your mind lately?", "reply_markup": markup},
    ]
