"""The escalation store on a real SQLite file: due times, claims that happen once, copies,
who is on call, and who is waiting (a tap on "talk" included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.escalation import Escalation, Supervisor, due_at, supervisors
from bot.domain.models import CheckinKind, Client, Direction
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.escalations import EscalationRepository
from bot.storage.relay import RelayRepository
from bot.storage.schedules import ScheduleRepository
from bot.storage.specialists import SpecialistRepository

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
AFTER = timedelta(minutes=15)


async def _client(db: Database, user_id: int = 2001) -> Client:
    async with db.transaction():
        sam = await SpecialistRepository(db).by_user(1001)
        if sam is None:
            sam = await SpecialistRepository(db).add(1001, "Sam Rivera", NOW)
        return await ClientRepository(db).add(
            telegram_user_id=user_id,
            alias=f"Client {user_id}",
            specialist_id=sam.id,
            language="en",
            timezone="UTC",
            consent_version=2,
            now=NOW,
        )


async def _flag(
    repo: EscalationRepository, client: Client, category: str, message_id: int, *, due: datetime
) -> Escalation:
    """An escalation for the client's message `message_id`, flagged at NOW."""
    return await repo.add(
        client_id=client.id,
        specialist_id=client.specialist_id,
        category=category,
        source=(client.chat_id, message_id),
        flagged_at=NOW,
        due_at=due,
    )


async def _copy_link(
    relay: RelayRepository, client: Client, message_id: int, *, to_chat: int
) -> int:
    """A link for a copy of the client's message `message_id` into `to_chat`."""
    return await relay.add_link(
        client_id=client.id,
        specialist_id=client.specialist_id,
        direction=Direction.TO_SPECIALIST,
        source=(client.chat_id, message_id),
        dest_chat_id=to_chat,
        now=NOW,
    )


async def test_an_escalation_falls_due_once_and_is_claimed_once(db: Database) -> None:
    client = await _client(db)
    repo = EscalationRepository(db)
    async with db.transaction():
        added = await _flag(repo, client, "suicide", 55, due=due_at(NOW, AFTER, away=False))
    assert added.due_at == NOW + AFTER and not added.escalated
    async with db.transaction():
        assert await repo.due(NOW + AFTER - timedelta(seconds=1), 10) == []
        [due] = await repo.due(NOW + AFTER, 10)
        assert due.id == added.id and due.source_message_id == 55
        assert await repo.mark_escalated(due.id, NOW + AFTER)
        # A second claim (a tick after a restart) finds nothing to do.
        assert not await repo.mark_escalated(due.id, NOW + AFTER)
        assert await repo.due(NOW + timedelta(days=1), 10) == []
    async with db.transaction():
        [still_open] = await repo.open_for(client.id)
        assert still_open.escalated
        assert await repo.mark_answered(still_open.id, 900, NOW + AFTER * 2)
        assert not await repo.mark_answered(still_open.id, 1003, NOW + AFTER * 3)
        assert await repo.open_for(client.id) == []
        answered = await repo.by_id(added.id)
    assert answered is not None and answered.answered_by == 900


async def test_an_answer_before_the_time_means_it_never_falls_due(db: Database) -> None:
    client = await _client(db)
    repo = EscalationRepository(db)
    async with db.transaction():
        added = await _flag(repo, client, "overdose", 56, due=NOW + AFTER)
        assert await repo.mark_answered(added.id, 1001, NOW + timedelta(minutes=3))
        assert await repo.due(NOW + timedelta(hours=1), 10) == []
        assert not await repo.mark_escalated(added.id, NOW + timedelta(hours=1))


async def test_copies_lead_back_to_their_escalation_and_go_with_the_client(db: Database) -> None:
    client = await _client(db)
    repo, relay = EscalationRepository(db), RelayRepository(db)
    async with db.transaction():
        added = await _flag(repo, client, "abuse", 57, due=NOW)
        link = await _copy_link(relay, client, 57, to_chat=900)
        other = await _copy_link(relay, client, 58, to_chat=1001)
        await repo.add_copy(link, added.id, 900)
        found = await repo.of_copy(link)
        assert found is not None and found.id == added.id
        assert await repo.of_copy(other) is None
        assert await repo.copy_chats(added.id) == [900]
        await ClientRepository(db).erase(client)
        assert await repo.by_id(added.id) is None
        assert await repo.of_copy(link) is None


async def test_who_is_on_call_and_who_supervises(db: Database) -> None:
    repo = EscalationRepository(db)
    async with db.transaction():
        specialists = SpecialistRepository(db)
        sam = await specialists.add(1001, "Sam Rivera", NOW)
        tess = await specialists.add(1003, "Tess Lee", NOW)
        assert await repo.set_on_call(tess.id, True)
        assert not await repo.set_on_call(tess.id, True)
        assert await repo.set_on_call(sam.id, True)
        on_call = await repo.on_call()
        await specialists.deactivate(sam.id)
        assert [name for _, name in await repo.on_call()] == ["Tess Lee"]
    assert [name for _, name in on_call] == ["Sam Rivera", "Tess Lee"]
    found = supervisors(frozenset({900, 1003}), [s for s, _ in on_call], assigned_user_id=1001)
    # Tess is both an admin and on call: once. Sam never supervises his own client.
    assert found == [Supervisor(900, 900), Supervisor(1003, 1003)]


async def test_waiting_starts_once_and_ends_with_an_answer(db: Database) -> None:
    alex, bo = await _client(db, 2001), await _client(db, 2002)
    repo = EscalationRepository(db)
    async with db.transaction():
        await repo.mark_waiting(alex.id, NOW)
        await repo.mark_waiting(alex.id, NOW + timedelta(hours=3))  # still since NOW
        await repo.mark_waiting(bo.id, NOW + timedelta(hours=2))
        waiting = await repo.waiting_since_before(NOW + timedelta(hours=1), 10)
        assert [(c.id, since) for c, since in waiting] == [(alex.id, NOW)]
        await repo.mark_reminded(alex.id)
        assert await repo.waiting_since_before(NOW + timedelta(days=1), 10) == [
            (bo, NOW + timedelta(hours=2))
        ]
        await repo.clear_waiting(bo.id)
        assert await repo.waiting_since_before(NOW + timedelta(days=1), 10) == []
        # Answered, then writing again: a new wait, and a new reminder may come.
        await repo.clear_waiting(alex.id)
        await repo.mark_waiting(alex.id, NOW + timedelta(days=2))
        [(again, since)] = await repo.waiting_since_before(NOW + timedelta(days=3), 10)
    assert again.id == alex.id and since == NOW + timedelta(days=2)


async def test_a_tap_on_talk_waits_like_a_message(db: Database) -> None:
    client = await _client(db)
    schedules, repo = ScheduleRepository(db), EscalationRepository(db)
    tapped = NOW + timedelta(minutes=10)
    async with db.transaction():
        await db.write_steps(
            [schedules.checkins_step([(client.id, CheckinKind.SCHEDULED, NOW, "p1")], NOW)]
        )
        checkin = await schedules.latest_checkin(client.id)
        assert checkin is not None
        await schedules.answer_checkin(checkin.id, "ok", tapped)
        assert await repo.waiting_since_before(NOW + timedelta(days=1), 10) == []
        await schedules.answer_checkin(checkin.id, "talk", tapped)
        [(found, since)] = await repo.waiting_since_before(NOW + timedelta(days=1), 10)
    assert found.id == client.id and since == tapped


async def test_the_due_question_uses_its_index(db: Database) -> None:
    async with db.transaction() as conn:
        plans = []
        for sql in (
            "SELECT id FROM escalations WHERE due_at IS NOT NULL AND due_at <= ?"
            " ORDER BY due_at LIMIT 100",
            "SELECT id FROM clients WHERE waiting_since IS NOT NULL AND waiting_reminded = 0"
            " AND waiting_since <= ? ORDER BY waiting_since LIMIT 100",
            # Each tick asks this about every copy of an escalation still unanswered.
            "SELECT 1 FROM outbox o WHERE o.relay_link_id = ? AND o.status = 'dead'",
        ):
            async with conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("x",)) as cursor:
                plans.append(" ".join([str(row[3]) async for row in cursor]))
    assert "escalations_due" in plans[0]
    assert "clients_waiting" in plans[1]
    # By relay link (outbox_relay_link, m015), a handful of rows a copy: never the outbox.
    assert "USING INDEX outbox_relay_link (relay_link_id=?)" in plans[2]
