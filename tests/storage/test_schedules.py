"""The tick's claim (what it makes of each due client's row), the staff languages it looks
up for a batch, and its batches' writes: every due client once, whatever the batch size."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

import bot.services.checkins as checkins_service
from bench.population import Population, populate
from bot.config import CONFIG_DIR
from bot.delivery.outbox import Outbox
from bot.domain.clock import ManualClock
from bot.domain.models import CheckinKind, Client, Schedule, made
from bot.domain.texts import Texts
from bot.services.base import ScheduleContext
from bot.services.checkins import CheckIns
from bot.storage import events
from bot.storage.clients import ClientRepository, client_from_row
from bot.storage.db import Database, to_db
from bot.storage.outbox import OutboxRepository
from bot.storage.relay import RelayRepository
from bot.storage.schedules import (
    CLIENT_AND_SCHEDULE_COLUMNS,
    CLIENTS_WITH_TICKS,
    DueClient,
    ScheduleRepository,
    schedule_from_row,
)
from bot.storage.specialists import SpecialistRepository
from bot.storage.staff_languages import StaffLanguageRepository

TICKS = "SELECT client_id, next_due_at, unanswered FROM client_ticks ORDER BY client_id"
SMALL = Population(clients=300, storm=120, specialists=4)


async def test_the_claim_reads_each_client_as_the_named_readers_do(tmp_path: Path) -> None:
    path = tmp_path / "population.sqlite3"
    await asyncio.to_thread(populate, path, SMALL)
    db = await Database.open(path)
    try:
        async with db.transaction():
            # Columns read alike (two moments, two flags) differ in some row: a claim that
            # read one in the place of the other is noticed.
            first, second = await db.fetch_all(
                "SELECT client_id FROM client_ticks WHERE next_due_at <= ?"
                " ORDER BY next_due_at LIMIT 2",
                (SMALL.storm_at.isoformat(timespec="microseconds"),),
            )
            await db.write(
                "UPDATE client_ticks SET paused_until = ?, manual_due_at = ?, welcome_back = 1,"
                " patience_offered = 0 WHERE client_id = ?",
                ("2026-01-01T00:00:00.000000+00:00", "2026-02-02T00:00:00.000000+00:00", first[0]),
            )
            await db.write(
                "UPDATE client_ticks SET welcome_back = 0, patience_offered = 1"
                " WHERE client_id = ?",
                (second[0],),
            )
            claimed = await ScheduleRepository(db).due(SMALL.storm_at, SMALL.storm)
            rows = await db.fetch_all(
                f"SELECT {CLIENT_AND_SCHEDULE_COLUMNS}, s.chat_id AS specialist_chat_id,"
                " s.display_name AS specialist_name"
                f" FROM {CLIENTS_WITH_TICKS} JOIN specialists s ON s.id = c.specialist_id"
                " WHERE t.next_due_at <= ? ORDER BY t.next_due_at LIMIT ?",
                (SMALL.storm_at.isoformat(timespec="microseconds"), SMALL.storm),
            )
    finally:
        await db.close()
    by_name = [
        DueClient(
            client_from_row(dict(row)),
            schedule_from_row(dict(row)),
            row["specialist_chat_id"],
            row["specialist_name"],
        )
        for row in rows
    ]
    assert len(claimed) == SMALL.storm
    assert claimed == by_name


def test_made_wants_every_field_and_gives_an_equal_object() -> None:
    schedule = Schedule(
        1, None, None, "UTC", False, None, None, None, None, 0, None, None, False, None
    )
    values = {name: getattr(schedule, name) for name in schedule.__dict__}
    assert made(Schedule, **values) == schedule
    with pytest.raises(TypeError):
        made(Schedule, client_id=1)
    with pytest.raises(TypeError):
        made(Client, **values)

    @dataclass(frozen=True)
    class Checked:
        hour: int

        def __post_init__(self) -> None:
            if not 0 <= self.hour < 24:
                raise ValueError("no such hour")

    with pytest.raises(TypeError):  # its check would be skipped
        made(Checked, hour=25)


async def test_staff_languages_for_a_batch(db: Database) -> None:
    repo = StaffLanguageRepository(db)
    async with db.transaction():
        await repo.seen(10, "es", SMALL.storm_at)
        await repo.choose(11, "en", SMALL.storm_at)
        assert await repo.languages_of({10, 11, 12}) == {
            10: await repo.language_of(10),
            11: await repo.language_of(11),
            12: await repo.language_of(12),
        }
        assert await repo.languages_of({10}) == {10: "es"}


def _storm_checkins(db: Database, clock: ManualClock) -> CheckIns:
    """The check-ins of the storm tests, with the same random draws every time."""
    return CheckIns(
        ScheduleContext(
            db,
            ClientRepository(db),
            ScheduleRepository(db),
            Outbox(db, OutboxRepository(db), RelayRepository(db), clock),
            Texts.load(CONFIG_DIR / "messages"),
            clock,
        ),
        patience_after=3,
        staff_timezone="UTC",
        rng=random.Random(1),
    )


async def _storm(
    path: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> dict[str, list[object]]:
    """Tick through the storm minute twice with batches of `batch`; every row it wrote."""
    monkeypatch.setattr(checkins_service, "BATCH", batch)
    clock = ManualClock(SMALL.storm_at)
    db = await Database.open(path)
    try:
        ticks = _storm_checkins(db, clock)
        first = await ticks.tick()
        again = await ticks.tick()
        assert first.checkins + first.offers > 0
        assert again.checkins + again.offers == 0
        tables = {}
        async with db.transaction():
            for table, order in (
                ("checkins", "id"),
                ("events", "id"),
                ("outbox", "id"),
                ("clients", "id"),
                ("client_ticks", "client_id"),
            ):
                rows = await db.fetch_all(f"SELECT * FROM {table} ORDER BY {order}")
                tables[table] = [tuple(row) for row in rows]
        return tables
    finally:
        await db.close()


async def test_a_storm_in_small_batches_writes_what_one_batch_does_each_client_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pristine = tmp_path / "population.sqlite3"
    await asyncio.to_thread(populate, pristine, SMALL)
    copies = []
    for name in ("small", "whole"):
        copy = tmp_path / f"{name}.sqlite3"
        copy.write_bytes(pristine.read_bytes())
        copies.append(copy)
    small = await _storm(copies[0], 7, monkeypatch)  # 120 due: 17 full batches and a part
    whole = await _storm(copies[1], 10_000, monkeypatch)
    assert small == whole
    checkins = small["checkins"]
    assert len(checkins) == len({row[1] for row in checkins}), "a client checked in twice"
    sent = [row for row in small["events"] if row[2] == "checkin_sent"]
    assert sorted(row[5] for row in sent) == [row[0] for row in checkins]
    check_in_chats = [row[1] for row in small["outbox"] if str(row[6]).startswith("checkin:")]
    assert len(check_in_chats) == len(checkins) == len(set(check_in_chats))


async def test_a_client_changed_between_batches_is_decided_again_from_what_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person's write between two batches of a storm (here: three check-ins unanswered)
    counts for the next batch: it is decided from what is stored then, not before."""
    path = tmp_path / "population.sqlite3"
    await asyncio.to_thread(populate, path, SMALL)
    monkeypatch.setattr(checkins_service, "BATCH", 7)
    clock = ManualClock(SMALL.storm_at)
    db = await Database.open(path)
    try:
        async with db.transaction():
            due = await db.fetch_all(
                "SELECT client_id AS id, next_due_at FROM client_ticks WHERE next_due_at <= ?"
                " ORDER BY next_due_at LIMIT 14",
                (SMALL.storm_at.isoformat(timespec="microseconds"),),
            )
        # In the second batch, due at the storm's moment (an exact time, never stale).
        changed = next(row["id"] for row in due[7:] if row["next_due_at"] == due[-1][1])
        writes = 0
        write_steps = db.write_steps

        async def first_batch_written(steps: Any) -> None:
            nonlocal writes
            writes += 1
            if writes == 1:  # a person's write, waiting for the first batch to end
                asyncio.get_running_loop().create_task(three_unanswered())
            await write_steps(steps)

        async def three_unanswered() -> None:
            async with db.transaction():
                await db.write(
                    "UPDATE client_ticks SET unanswered = 3, patience_offered = 0"
                    " WHERE client_id = ?",
                    (changed,),
                )

        monkeypatch.setattr(db, "write_steps", first_batch_written)
        ticks = _storm_checkins(db, clock)
        await ticks.tick()
        async with db.transaction():
            kinds = await db.fetch_all("SELECT client_id, kind FROM checkins ORDER BY id")
    finally:
        await db.close()
    assert dict((row[0], row[1]) for row in kinds)[changed] == "patience"
    assert len(kinds) == len({row[0] for row in kinds}), "a client checked in twice"


async def test_a_storm_batch_that_meets_a_full_disk_queues_nothing_and_is_sent_once_later(
    tmp_path: Path,
) -> None:
    """A full disk in the middle of a batch's writes ends SQLite's transaction: nothing of
    the batch may stay (no check-in queued while the client's schedule is not advanced),
    and once there is room again every due client is sent one check-in, and every
    specialist one note per offer to ease off."""
    path = tmp_path / "population.sqlite3"
    await asyncio.to_thread(populate, path, SMALL)
    clock = ManualClock(SMALL.storm_at)
    db = await Database.open(path)
    try:
        ticks = _storm_checkins(db, clock)

        async def stored(sql: str) -> list[tuple[Any, ...]]:
            async with db.transaction():
                return [tuple(row) for row in await db.fetch_all(sql)]

        before = await stored(TICKS)
        [(pages,)] = await stored("PRAGMA page_count")
        async with db.autocommit():
            await db.write(f"PRAGMA max_page_count = {pages}")  # the disk is full
        with pytest.raises(aiosqlite.OperationalError, match="full"):
            await ticks.tick()
        async with db.autocommit():
            await db.write("PRAGMA max_page_count = 1073741823")  # room again
        assert await stored("SELECT count(*) FROM checkins") == [(0,)]
        assert await stored("SELECT count(*) FROM outbox") == [(0,)]
        assert await stored("SELECT count(*) FROM events") == [(0,)]
        assert await stored(TICKS) == (before)

        report = await ticks.tick()
        sent = await stored("SELECT chat_id, idempotency_key, payload FROM outbox")
        check_ins = [chat for chat, key, _ in sent if str(key).startswith("checkin:")]
        notes = [chat for chat, key, _ in sent if key is None]
        assert report.checkins + report.offers == len(check_ins) == len(set(check_ins)) > 0
        assert report.offers > 0
        assert len(notes) == report.offers
    finally:
        await db.close()


async def test_two_moments_of_a_dst_fold_are_stored_an_hour_apart(db: Database) -> None:
    """01:30 before and after New York's clocks go back are one wall time and, to Python,
    equal datetimes: a batch that remembers each moment's text must not write one for
    the other."""
    new_york = ZoneInfo("America/New_York")
    first = datetime(2026, 11, 1, 1, 30, tzinfo=new_york)
    second = first.replace(fold=1)
    assert first == second and first.astimezone(UTC) != second.astimezone(UTC)
    now = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    schedules = ScheduleRepository(db)
    async with db.transaction():
        sam = await SpecialistRepository(db).add(1001, "Sam Rivera", now)
        client = await ClientRepository(db).add(
            telegram_user_id=2001,
            alias="Ana",
            specialist_id=sam.id,
            language="en",
            timezone="America/New_York",
            consent_version=2,
            now=now,
        )
        sent = [(client.id, first), (client.id, second)]
        await db.write_steps(
            [
                schedules.checkins_step(
                    [(client.id, CheckinKind.SCHEDULED, due, "p1") for _, due in sent], now
                ),
                events.checkins_sent_step(sent, now),
            ]
        )
        stored = await db.fetch_all("SELECT due_at FROM checkins ORDER BY due_at")
        recorded = await db.fetch_one("SELECT count(*) FROM events WHERE kind = 'checkin_sent'")
    assert [row[0] for row in stored] == [to_db(first), to_db(second)]
    assert recorded is not None and recorded[0] == 2
