"""m024 on a populated database: the tick's columns move from clients to client_ticks
with every value kept, check-ins queued before it are sent as they were, the tick goes on
where it was, and /forget erases the moved row too."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from bot.delivery.outbox import keyboard
from bot.domain.models import Client, ClientStatus
from bot.storage import migrations
from bot.storage.clients import ClientRepository
from bot.storage.db import Database, StorageError, to_db
from bot.storage.export import ExportRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.schedules import TICK_COLUMNS, ScheduleRepository
from tests.storage.test_outbox import DUE, NOW, check_in_buttons, queue_check_ins

JOINED = "2026-01-01T00:00:00.000000+00:00"
# Two clients as the code before m024 stored them: Alex due now, with a check-in queued
# already (its keyboard in its payload); Bo paused, who last wrote on the 1st.
CLIENTS = (
    "INSERT INTO specialists (id, telegram_user_id, chat_id, display_name, created_at)"
    " VALUES (1, 1001, 1001, 'Sam', ''); "
    "INSERT INTO clients (id, telegram_user_id, chat_id, alias, specialist_id, status,"
    " language, timezone, consent_version, consented_at, created_at, cadence, at,"
    " timezone_chosen, next_due_at, last_slot, unanswered, last_prompt, last_sent_kind,"
    " patience_offered, last_checkin_at) VALUES"
    f" (1, 501, 501, 'Alex', 1, 'active', 'en', 'Europe/Berlin', 1, '{JOINED}', '',"
    " 'daily', '09:00',"
    f" 1, '{to_db(DUE)}', '2026-03-01', 2, 'p03', 'checkin', 0, '2026-03-01T08:00:00+00:00'); "
    "INSERT INTO clients (id, telegram_user_id, chat_id, alias, specialist_id, status,"
    " language, timezone, consent_version, consented_at, created_at, cadence, window,"
    " paused_until, next_due_at, manual_due_at, welcome_back, patience_offered, last_reply_at)"
    f" VALUES (2, 502, 502, 'Bo', 1, 'paused', 'es', 'UTC', 1, '{JOINED}', '', 'daily', 'evening',"
    " '2026-03-09T00:00:00+00:00', '2026-03-09T00:00:00+00:00', '2026-03-05T10:00:00+00:00',"
    " 1, 1, '2026-03-01T12:00:00+00:00');"
)
OLD_MARKUP = keyboard(check_in_buttons("en", str(int(DUE.timestamp()))))
OLD_PAYLOAD = {"chat_id": 501, "text": "What helped?", "reply_markup": OLD_MARKUP}


async def _before_m024(path: Path) -> dict[int, dict[str, object]]:
    """A database the code before m024 made and filled; each client's tick columns."""
    before = [
        step for step in migrations.MIGRATIONS if step is not migrations.m024_tick_rows_narrow
    ]
    async with aiosqlite.connect(path) as conn:
        await conn.execute(
            "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
        for step in before:
            await step(conn)
            await conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, '')", (step.__name__,)
            )
        await migrations.run_script(conn, CLIENTS.replace("; ", ";\n"))
        await conn.execute(
            "INSERT INTO outbox (chat_id, method, payload, priority, at_most_once, not_before,"
            " created_at, idempotency_key) VALUES (501, 'send_message', ?, 1, 1, ?, ?, ?)",
            (json.dumps(OLD_PAYLOAD), to_db(DUE), to_db(DUE), f"checkin:1:{int(DUE.timestamp())}"),
        )
        await conn.commit()
        conn.row_factory = aiosqlite.Row
        names = ", ".join(sorted(TICK_COLUMNS))
        rows = await conn.execute_fetchall(f"SELECT id, {names} FROM clients")
    return {row["id"]: {name: row[name] for name in TICK_COLUMNS} for row in rows}


async def test_the_upgrade_keeps_every_value_and_the_tick_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "porchlight.sqlite3"
    stored = await _before_m024(path)
    db = await Database.open(path)
    try:
        async with db.transaction():
            names = ", ".join(sorted(TICK_COLUMNS))
            moved = await db.fetch_all(f"SELECT client_id, {names} FROM client_ticks")
            columns = [row[1] for row in await db.fetch_all("PRAGMA table_info(clients)")]
            due = await ScheduleRepository(db).due(NOW, 10)
        await queue_check_ins(db, [502])
        async with db.transaction():
            queued = await OutboxRepository(db).due(NOW, 10)
    finally:
        await db.close()
    assert {row[0]: {name: row[name] for name in TICK_COLUMNS} for row in moved} == stored
    assert stored[2]["last_reply_at"] == "2026-03-01T12:00:00+00:00"  # the rows held values
    assert not TICK_COLUMNS & set(columns)
    assert [(item.client.alias, item.schedule.unanswered) for item in due] == [("Alex", 2)]
    assert [item.payload for item in queued] == [
        OLD_PAYLOAD,
        {"chat_id": 502, "text": "What has been on your mind lately?", "reply_markup": OLD_MARKUP},
    ]


async def test_a_client_added_after_has_a_tick_row_and_forget_erases_it(tmp_path: Path) -> None:
    path = tmp_path / "porchlight.sqlite3"
    await _before_m024(path)
    db = await Database.open(path)
    try:
        clients = ClientRepository(db)
        async with db.transaction():
            await db.write(
                "INSERT INTO clients (id, telegram_user_id, chat_id, alias, specialist_id,"
                " status, language, timezone, consent_version, consented_at, created_at)"
                " VALUES (3, 503, 503, 'Cy', 1, 'active', 'en', 'UTC', 1, '', '')"
            )
            await ScheduleRepository(db).mark_contact(3, NOW)
            export = await ExportRepository(db).client_row(_client(3, 503))
            await clients.erase(_client(2, 502))
            left = await db.fetch_all("SELECT client_id FROM client_ticks ORDER BY client_id")
    finally:
        await db.close()
    assert export["last_reply_at"] == to_db(NOW)  # /mydata shows the moved columns
    assert [row[0] for row in left] == [1, 3]
    with sqlite3.connect(path) as conn:  # nothing of Bo's tick row is left in the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"2026-03-05T10:00:00" not in path.read_bytes()


def _client(client_id: int, user: int) -> Client:
    return Client(
        id=client_id,
        telegram_user_id=user,
        chat_id=user,
        alias="",
        specialist_id=1,
        status=ClientStatus.ACTIVE,
        language="en",
        timezone="UTC",
        consent_version=1,
        consented_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def test_an_upgrade_stopped_midway_leaves_the_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """m024 runs in the one transaction of every migration (Database.open): stopped after
    half of clients' columns are gone (a kill, a full disk), nothing of it is kept, and the
    next start does all of it."""
    path = tmp_path / "porchlight.sqlite3"
    stored = await _before_m024(path)
    drops = migrations._DROP_FROM_CLIENTS.splitlines()
    stopped = "\n".join([*drops[:5], "SELECT stop_here();", *drops[5:]])
    monkeypatch.setattr(migrations, "_DROP_FROM_CLIENTS", stopped)
    with pytest.raises(StorageError):
        await Database.open(path)
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        columns = {row[1] for row in conn.execute("PRAGMA table_info(clients)")}
    assert "client_ticks" not in tables and "keyboards" not in tables
    assert columns >= TICK_COLUMNS
    monkeypatch.undo()
    db = await Database.open(path)
    try:
        async with db.transaction():
            names = ", ".join(sorted(TICK_COLUMNS))
            moved = await db.fetch_all(f"SELECT client_id, {names} FROM client_ticks")
    finally:
        await db.close()
    assert {row[0]: {name: row[name] for name in TICK_COLUMNS} for row in moved} == stored


async def test_the_tick_claims_through_the_due_index_on_an_analyzed_database(
    tmp_path: Path,
) -> None:
    """An aged database has ANALYZE's figures for clients and none for client_ticks (made
    after): the tick must still seek the due clients, not read every client each tick."""
    path = tmp_path / "porchlight.sqlite3"
    await _before_m024(path)
    with sqlite3.connect(path) as conn:
        conn.execute("ANALYZE")
        # bench/aged.py's 10,000 clients as ANALYZE saw them.
        conn.execute("UPDATE sqlite_stat1 SET stat = '10000 334 1' WHERE idx = 'clients_alias'")
        conn.execute("UPDATE sqlite_stat1 SET stat = '10000 1' WHERE idx LIKE '%clients_1'")
    db = await Database.open(path)
    statements: list[str] = []
    raw = db._connection
    try:
        async with db.transaction():
            await raw._execute(raw._conn.set_trace_callback, statements.append)
            await ScheduleRepository(db).due(NOW, 150)
            await ScheduleRepository(db).manual_due(NOW, 150)
            await raw._execute(raw._conn.set_trace_callback, None)
            plans = [
                [row["detail"] for row in await db.fetch_all(f"EXPLAIN QUERY PLAN {sql}")]
                for sql in statements
                if sql.startswith("SELECT")
            ]
    finally:
        await db.close()
    assert [plan[0] for plan in plans] == [
        "SEARCH t USING INDEX client_ticks_next_due (next_due_at<?)",
        "SEARCH t USING INDEX client_ticks_manual_due (manual_due_at<?)",
    ]
