"""The daily purge: nothing older than retention survives a day, nothing newer is touched,
and every statement deletes a small batch found through an index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.clock import ManualClock
from bot.services.relay import UPDATE_MEMORY, kept_for
from bot.services.retention import Purge
from bot.storage.db import Database, to_db
from bot.storage.retention import Kept, delete_statement

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
RETENTION = timedelta(days=30)
AGES = kept_for(RETENTION)
TICK = timedelta(minutes=15)
# (table, column that dates a row)
DATED = (
    ("checkins", "sent_at"),
    ("relay_links", "created_at"),
    ("outbox", "created_at"),
    ("processed_updates", "processed_at"),
)


async def setup_people(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO specialists (id, telegram_user_id, chat_id, display_name, created_at)"
            " VALUES (1, 1001, 1001, 'Sam', ?)",
            (to_db(START),),
        )
        await conn.execute(
            "INSERT INTO clients (id, telegram_user_id, chat_id, alias, specialist_id, status,"
            " language, timezone, consent_version, consented_at, created_at)"
            " VALUES (1, 2001, 2001, 'Alex', 1, 'active', 'en', 'UTC', 1, ?, ?)",
            (to_db(START), to_db(START)),
        )


async def add_history(db: Database, first: datetime, last: datetime, every: timedelta) -> None:
    """A check-in and a relayed message with its sent copy at every step; an update id at
    every step of the last UPDATE_MEMORY and a day (as long as the bot keeps them)."""
    moment = first
    async with db.transaction() as conn:
        while moment <= last:
            stamp = to_db(moment)
            await conn.execute(
                "INSERT INTO checkins (client_id, kind, due_at, sent_at)"
                " VALUES (1, 'scheduled', ?, ?)",
                (stamp, stamp),
            )
            link = await conn.execute(
                "INSERT INTO relay_links (client_id, specialist_id, direction, dest_chat_id,"
                " dest_message_id, created_at) VALUES (1, 1, 'to_specialist', 1001, 7, ?)",
                (stamp,),
            )
            await conn.execute(
                "INSERT INTO outbox (chat_id, method, payload, priority, relay_link_id,"
                " status, not_before, created_at) VALUES (1001, 'copyMessage', '{}', 0, ?,"
                " 'sent', ?, ?)",
                (link.lastrowid, stamp, stamp),
            )
            if moment >= last - UPDATE_MEMORY - timedelta(days=1):
                await conn.execute(
                    "INSERT INTO processed_updates (update_id, processed_at) VALUES"
                    " ((SELECT coalesce(max(update_id), 0) + 1 FROM processed_updates), ?)",
                    (stamp,),
                )
            moment += every


async def moments(db: Database, table: str, column: str) -> list[datetime]:
    async with db.autocommit():
        rows = await db.fetch_all(f"SELECT {column} FROM {table} ORDER BY {column}")
    return [datetime.fromisoformat(row[0]) for row in rows]


async def test_nothing_past_retention_survives_a_day_and_nothing_newer_is_touched(
    db: Database,
) -> None:
    await setup_people(db)
    # One day past retention, as in steady state: the first purge has a day to delete.
    await add_history(db, START - RETENTION - timedelta(days=1), START, timedelta(hours=1))
    before = {table: await moments(db, table, column) for table, column in DATED}
    clock = ManualClock(START)
    purge = Purge(db, clock, batch_rows=7)  # a day's purge takes many steps
    end = START + timedelta(days=2)
    while clock.now() < end:
        for _ in range(10):  # the steps between two looks
            await purge.run(AGES)
        now = clock.now()
        for table, column in DATED:
            age = UPDATE_MEMORY if table == "processed_updates" else RETENTION
            left = await moments(db, table, column)
            # Nothing older than its age by more than a day...
            assert min(left) >= now - age - timedelta(days=1), table
            # ...and everything within its age is still there.
            assert [m for m in before[table] if m >= now - age] == [
                m for m in left if m >= now - age
            ], table
        clock.advance(TICK)
    # The purge ran at the start and a day later, no more.
    checkins = await moments(db, "checkins", "sent_at")
    assert min(checkins) == START + timedelta(days=1) - RETENTION


async def test_a_purge_runs_once_a_day(db: Database) -> None:
    await setup_people(db)
    clock = ManualClock(START)
    purge = Purge(db, clock)
    assert await purge.run(AGES) == 0
    await add_history(db, START - timedelta(days=31), START - timedelta(days=31), TICK)
    clock.advance(timedelta(hours=23))
    assert await purge.run(AGES) == 0  # not yet: the day's purge is done
    clock.advance(timedelta(hours=1))
    assert await purge.run(AGES) == 4  # a check-in, a link, its copy and an update


async def test_a_large_purge_goes_one_batch_a_step(db: Database) -> None:
    await setup_people(db)
    await add_history(db, START - timedelta(days=60), START - timedelta(days=31), TICK)
    clock = ManualClock(START)
    purge = Purge(db, clock, batch_rows=5)
    assert await purge.run(AGES) == 5
    assert purge.statements == 1
    steps = 1
    while purge.under_way:
        clock.advance(timedelta(seconds=1))
        assert await purge.run(AGES) <= 5 + 3  # a full batch, or the last of each table
        steps += 1
    assert steps > 100  # ~2,800 rows in four tables, five a step
    for table, column in DATED:
        assert await moments(db, table, column) == [], table
    clock.advance(timedelta(hours=1))
    assert await purge.run(AGES) == 0  # done for the day


async def test_a_message_waiting_to_go_is_never_purged(db: Database) -> None:
    await setup_people(db)
    old = to_db(START - timedelta(days=90))
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO outbox (chat_id, method, payload, priority, status, not_before,"
            " created_at) VALUES (2001, 'sendMessage', '{}', 1, 'pending', ?, ?)",
            (old, old),
        )
    await Purge(db, ManualClock(START)).run(AGES)
    assert len(await moments(db, "outbox", "created_at")) == 1


async def test_every_purge_statement_finds_its_rows_through_an_index(db: Database) -> None:
    plans: list[str] = []
    async with db.autocommit():
        for table in Kept:
            rows = await db.fetch_all(
                f"EXPLAIN QUERY PLAN {delete_statement(table)}", (to_db(START), 10)
            )
            plans.extend(row["detail"] for row in rows)
        # Deleting a relay link looks for the messages that point at it.
        rows = await db.fetch_all(
            "EXPLAIN QUERY PLAN SELECT 1 FROM outbox WHERE relay_link_id = 1"
        )
        plans.extend(row["detail"] for row in rows)
    assert len(plans) > 3 * len(Kept)
    assert not [plan for plan in plans if plan.startswith("SCAN")], plans


async def test_expired_invites_go_a_batch_at_a_time(db: Database) -> None:
    # Invites were never purged before, so the first purge after an upgrade finds every
    # invite ever left unused: 30,000 of them in one DELETE held the database 162 ms.
    await setup_people(db)
    async with db.transaction() as conn:
        for number in range(13):
            expires = START - timedelta(days=1) if number < 12 else START + timedelta(days=1)
            await conn.execute(
                "INSERT INTO invites (code_hash, specialist_id, alias, created_at, expires_at)"
                " VALUES (?, 1, ?, ?, ?)",
                (bytes([number]), f"Person {number}", to_db(START), to_db(expires)),
            )
    clock = ManualClock(START)
    purge = Purge(db, clock, batch_rows=5)
    await purge.run(AGES)
    assert len(await moments(db, "invites", "expires_at")) == 13 - 5
    while purge.under_way:
        clock.advance(timedelta(seconds=1))
        await purge.run(AGES)
    assert await moments(db, "invites", "expires_at") == [START + timedelta(days=1)]
