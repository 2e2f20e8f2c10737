"""The audit log repository on a real SQLite file: append, read, and forget a client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.models import Actor, ActorRole
from bot.storage.audit import AuditRepository
from bot.storage.db import Database

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ADMIN = Actor(ActorRole.ADMIN, 900)
CLIENT = Actor(ActorRole.CLIENT)


async def test_entries_come_back_newest_first_and_per_client(db: Database) -> None:
    audit = AuditRepository(db)
    async with db.transaction():
        await audit.record(CLIENT, "join", NOW, client_id=1, specialist_id=1, detail="v1")
        await audit.record(ADMIN, "specialists_listed", NOW + timedelta(minutes=1))
        await audit.record(
            ADMIN, "transfer", NOW + timedelta(minutes=2), client_id=1, specialist_id=2
        )
        await audit.record(CLIENT, "join", NOW + timedelta(minutes=3), client_id=2)
    async with db.transaction():
        latest = await audit.latest(3)
        about = await audit.about_client(1)
    assert [(e.action, e.client_id) for e in latest] == [
        ("join", 2),
        ("transfer", 1),
        ("specialists_listed", None),
    ]
    assert latest[1].actor == ADMIN
    assert latest[1].at == NOW + timedelta(minutes=2)
    assert [(e.action, e.actor, e.specialist_id, e.detail) for e in about] == [
        ("join", CLIENT, 1, "v1"),
        ("transfer", ADMIN, 2, None),
    ]


async def test_forgetting_a_client_keeps_the_entries_without_their_id(db: Database) -> None:
    audit = AuditRepository(db)
    async with db.transaction():
        await audit.record(CLIENT, "join", NOW, client_id=7, specialist_id=1)
        await audit.record(CLIENT, "join", NOW, client_id=8, specialist_id=1)
        await audit.forget_client(7)
    async with db.transaction():
        assert await audit.about_client(7) == []
        assert len(await audit.about_client(8)) == 1
        assert [e.client_id for e in await audit.latest(10)] == [8, None]


async def test_an_entry_is_part_of_the_transaction_it_records(db: Database) -> None:
    audit = AuditRepository(db)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await audit.record(ADMIN, "specialist_added", NOW, specialist_id=1)
            raise RuntimeError("the change failed")
    async with db.transaction():
        assert await audit.latest(10) == []


async def test_an_unknown_role_is_refused_by_the_table(db: Database) -> None:
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO audit_log (at, actor_role, action) VALUES ('x', 'robot', 'y')"
            )
