"""Content-free events for the programme report: what happened when, to whom by id.

One call at each key point in the services records a row (see the migration m016 for
the table). Nothing here ever holds words, aliases or Telegram ids. A human answer to a
client (a specialist's message, or an escalation answered) writes, onto the client's
messages and flags still waiting, how many seconds they waited: the report reads
response times from there, and they stay true after the client erases their data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.models import Client
from bot.storage.db import Database, Step, batch_to_db, to_db

# What the services record. Escalation (another branch) adds its two kinds with one line
# each: record(db, ESCALATED, now, client_id=..., specialist_id=...) when it goes to the
# supervisors, and record(db, ESCALATION_ANSWERED, now, client_id=..., detail=role) when a
# supervisor answers (detail: the role only, e.g. "admin" or "oncall").
INVITED = "invited"
JOINED = "joined"
CHECKIN_SENT = "checkin_sent"
CHECKIN_ANSWERED = "checkin_answered"
FEWER = "fewer"
PAUSED = "paused"
STOPPED = "stopped"
RESUMED = "resumed"
WHEN_I_WRITE = "when_i_write"
BLOCKED = "blocked"
ERASED = "erased"
CLIENT_MESSAGE = "client_message"
SPECIALIST_MESSAGE = "specialist_message"
FLAGGED = "flagged"
ESCALATED = "escalated"
ESCALATION_ANSWERED = "escalation_answered"

# A human answer closes what waited for one: which kinds each answer closes.
_CLOSES = {
    SPECIALIST_MESSAGE: (CLIENT_MESSAGE, FLAGGED),
    ESCALATION_ANSWERED: (FLAGGED,),
}

_INSERT = (
    "INSERT INTO events (at, kind, client_id, specialist_id, ref, detail)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


async def record(
    db: Database,
    kind: str,
    at: datetime,
    *,
    client_id: int | None = None,
    specialist_id: int | None = None,
    ref: int | None = None,
    detail: str | None = None,
) -> None:
    """Record one event (inside the caller's transaction or autocommit block)."""
    stamp = to_db(at)
    await db.write(_INSERT, (stamp, kind, client_id, specialist_id, ref, detail))
    if kind == CHECKIN_ANSWERED and ref is not None:
        await _first_answer(db, ref, stamp, detail)
    closes = _CLOSES.get(kind)
    if closes is not None and client_id is not None:
        marks = ",".join("?" * len(closes))
        # By the client's own rows: left to itself, SQLite read them from events_kind_at,
        # every message anyone has sent so far (20 ms at 118,000 of them, for each answer).
        await db.write(
            "UPDATE events INDEXED BY events_client"
            " SET value = (julianday(?) - julianday(at)) * 86400.0"
            f" WHERE client_id = ? AND kind IN ({marks}) AND value IS NULL AND at <= ?",
            (stamp, client_id, *closes, stamp),
        )


async def about(
    db: Database, kind: str, at: datetime, client: Client, detail: str | None = None
) -> None:
    """Record an event about a client (and so their specialist at the time)."""
    await record(
        db, kind, at, client_id=client.id, specialist_id=client.specialist_id, detail=detail
    )


def checkins_sent_step(sent: Sequence[tuple[int, datetime]], now: datetime) -> Step:
    """The check-ins (and offers to ease off) just added at `now`, by (client id, due at),
    as a step to run with a batch's other writes (Database.write_steps)."""
    stamp = to_db(now)
    text = batch_to_db()  # a storm's check-ins share a few due moments
    # Each check-in found by its unique (client, due moment): in a storm every check-in
    # shares one sent_at, and a search by it walked all the earlier batches' rows again.
    return (
        "INSERT OR IGNORE INTO events (at, kind, client_id, specialist_id, ref, detail)"
        " SELECT c.sent_at, ?, c.client_id, cl.specialist_id, c.id, c.kind"
        " FROM checkins c JOIN clients cl ON cl.id = c.client_id"
        " WHERE c.client_id = ? AND c.due_at = ? AND c.sent_at = ?",
        [(CHECKIN_SENT, client_id, text(due_at), stamp) for client_id, due_at in sent],
    )


async def checkin_answered(db: Database, checkin_id: int, answer: str, now: datetime) -> None:
    """A check-in answered: by a tap (the button's name) or by a 'message'."""
    await db.write(
        "INSERT INTO events (at, kind, client_id, specialist_id, ref, detail)"
        " SELECT ?, ?, c.client_id, cl.specialist_id, c.id, ?"
        " FROM checkins c JOIN clients cl ON cl.id = c.client_id WHERE c.id = ?",
        (to_db(now), CHECKIN_ANSWERED, answer, checkin_id),
    )
    await _first_answer(db, checkin_id, to_db(now), answer)


async def _first_answer(db: Database, ref: int, stamp: str, answer: str | None) -> None:
    """The check-in's sent row learns when and how it was first answered."""
    await db.write(
        "UPDATE events SET value = (julianday(?) - julianday(at)) * 86400.0, outcome = ?"
        " WHERE kind = ? AND ref = ? AND outcome IS NULL",
        (stamp, answer, CHECKIN_SENT, ref),
    )


async def forget_client(db: Database, client_id: int) -> None:
    """/forget: the client's events stay in the weekly counts, no longer theirs.

    Their check-ins are deleted, and SQLite gives a deleted check-in's id to the next
    one: the events let go of it too, or the next client's check-in would not count.
    """
    await db.write(
        "UPDATE events SET client_id = NULL, ref = NULL WHERE client_id = ?", (client_id,)
    )


async def of_client(db: Database, client_id: int) -> list[dict[str, Any]]:
    """/mydata: the client's own events (what happened when; never anyone's words)."""
    rows = await db.fetch_all(
        "SELECT at, kind, detail FROM events WHERE client_id = ? ORDER BY id", (client_id,)
    )
    return [dict(row) for row in rows]
