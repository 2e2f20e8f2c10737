"""The client's rhythm (columns on clients), the engine's bookkeeping (client_ticks: the
columns a tick changes, in a narrow row of their own since m024), and check-ins."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import aiosqlite

from bot.domain.models import Checkin, CheckinKind, Client, ClientStatus, Schedule, made
from bot.domain.rhythm import QuietHours, Rhythm, parse_quiet
from bot.storage.clients import CLIENT_COLUMNS, RowLike
from bot.storage.db import Database, Step, batch_to_db, from_db, maybe_from_db, to_db

SCHEDULE_COLUMNS = (
    "cadence, weekdays, window, at, quiet, timezone, timezone_chosen, paused_until,"
    " next_due_at, manual_due_at, last_slot, unanswered, last_prompt, last_sent_kind,"
    " welcome_back, awaiting, patience_offered"
)
# What the tick (and a client's contact) changes: client_ticks, beside clients (m024).
TICK_COLUMNS = frozenset(
    {
        "paused_until",
        "next_due_at",
        "manual_due_at",
        "last_slot",
        "unanswered",
        "last_prompt",
        "last_sent_kind",
        "welcome_back",
        "patience_offered",
        "last_checkin_at",
        "last_reply_at",
    }
)
# A client's row with its tick row, as `c` and `t`.
CLIENTS_WITH_TICKS = "clients c JOIN client_ticks t ON t.client_id = c.id"


def qualified(columns: str) -> str:
    """Comma-separated column names, each named by its table in CLIENTS_WITH_TICKS."""
    names = (name.strip() for name in columns.split(","))
    return ", ".join(f"{'t' if name in TICK_COLUMNS else 'c'}.{name}" for name in names)


CLIENT_AND_SCHEDULE_COLUMNS = qualified(f"{CLIENT_COLUMNS}, {SCHEDULE_COLUMNS}")


@cache
def _rhythm_of(
    cadence: str | None, weekdays: str | None, window: str | None, at: str | None
) -> Rhythm | None:
    # Cached: thousands of clients share a handful of rhythms, and the tick reads them all.
    if cadence is None:
        return None
    return Rhythm.from_storage(
        {"cadence": cadence, "weekdays": weekdays, "window": window, "at": at}
    )


def _rhythm(row: RowLike) -> Rhythm | None:
    return _rhythm_of(row["cadence"], row["weekdays"], row["window"], row["at"])


@cache
def _quiet(text: str | None) -> QuietHours | None:
    return None if text is None else parse_quiet(text)


def schedule_from_row(row: RowLike) -> Schedule:
    """A Schedule from a clients row that holds the schedule columns."""
    return Schedule(
        client_id=row["id"],
        rhythm=_rhythm(row),
        quiet=_quiet(row["quiet"]),
        timezone=row["timezone"],
        timezone_chosen=bool(row["timezone_chosen"]),
        paused_until=maybe_from_db(row["paused_until"]),
        next_due_at=maybe_from_db(row["next_due_at"]),
        manual_due_at=maybe_from_db(row["manual_due_at"]),
        last_slot=None if row["last_slot"] is None else date.fromisoformat(row["last_slot"]),
        unanswered=row["unanswered"],
        last_prompt=row["last_prompt"],
        last_sent_kind=row["last_sent_kind"],
        welcome_back=bool(row["welcome_back"]),
        awaiting=row["awaiting"],
        patience_offered=bool(row["patience_offered"]),
    )


_SAVE_CHOICES = (
    "UPDATE clients SET cadence = ?, weekdays = ?, window = ?, at = ?, quiet = ?,"
    " timezone = ?, timezone_chosen = ?, awaiting = ? WHERE id = ?"
)
_SAVE_TICKS = (
    "UPDATE client_ticks SET paused_until = ?, next_due_at = ?, manual_due_at = ?,"
    " last_slot = ?, unanswered = ?, last_prompt = ?, last_sent_kind = ?, welcome_back = ?,"
    " patience_offered = ? WHERE client_id = ?"
)


def _choices_params(schedule: Schedule) -> tuple[object, ...]:
    rhythm = schedule.rhythm.to_storage() if schedule.rhythm else {}
    return (
        rhythm.get("cadence"),
        rhythm.get("weekdays"),
        rhythm.get("window"),
        rhythm.get("at"),
        None if schedule.quiet is None else schedule.quiet.to_storage(),
        schedule.timezone,
        int(schedule.timezone_chosen),
        schedule.awaiting,
        schedule.client_id,
    )


def _ticks_params(schedule: Schedule) -> tuple[object, ...]:
    return (
        _maybe_db(schedule.paused_until),
        _maybe_db(schedule.next_due_at),
        _maybe_db(schedule.manual_due_at),
        None if schedule.last_slot is None else schedule.last_slot.isoformat(),
        schedule.unanswered,
        schedule.last_prompt,
        schedule.last_sent_kind,
        int(schedule.welcome_back),
        int(schedule.patience_offered),
        schedule.client_id,
    )


@dataclass(frozen=True)
class DueClient:
    """A claimed client with their schedule and who their specialist is."""

    client: Client
    schedule: Schedule
    specialist_chat_id: int
    specialist_name: str


# The claim's columns, in the order due_from_claimed reads them: its own list, so that a
# column added to (or moved in) CLIENT_COLUMNS or SCHEDULE_COLUMNS cannot shift what it
# reads into the wrong field.
_CLAIMED = (
    "id, telegram_user_id, chat_id, alias, specialist_id, status, language, timezone,"
    " consent_version, consented_at, awaiting, consent_team, cadence, weekdays, window, at,"
    " quiet, timezone_chosen, paused_until, next_due_at, manual_due_at, last_slot,"
    " unanswered, last_prompt, last_sent_kind, welcome_back, patience_offered"
)
# From the tick rows, in the order of their due index (CROSS JOIN: SQLite keeps the
# order as written), whatever the statistics say: an aged database has ANALYZE's figures
# for clients and none for client_ticks, and the planner then read every client a tick.
_CLAIM = (
    f"SELECT {qualified(_CLAIMED)}, s.chat_id, s.display_name FROM client_ticks t"
    " CROSS JOIN clients c ON c.id = t.client_id JOIN specialists s ON s.id = c.specialist_id"
)


def due_from_claimed(row: Sequence[Any]) -> DueClient:
    """A DueClient from a row of the claim (_CLAIMED, then the specialist's chat and name),
    by position: what client_from_row and schedule_from_row make of it by name, without a
    lookup per name (a storm claims 20,000, and the names cost more than the objects)."""
    (
        client_id,
        telegram_user_id,
        chat_id,
        alias,
        specialist_id,
        status,
        language,
        timezone,
        consent_version,
        consented_at,
        awaiting,
        consent_team,
        cadence,
        weekdays,
        window,
        at,
        quiet,
        timezone_chosen,
        paused_until,
        next_due_at,
        manual_due_at,
        last_slot,
        unanswered,
        last_prompt,
        last_sent_kind,
        welcome_back,
        patience_offered,
        specialist_chat_id,
        specialist_name,
    ) = row
    client = made(
        Client,
        id=client_id,
        telegram_user_id=telegram_user_id,
        chat_id=chat_id,
        alias=alias,
        specialist_id=specialist_id,
        status=ClientStatus(status),
        language=language,
        timezone=timezone,
        consent_version=consent_version,
        consented_at=from_db(consented_at),
        awaiting=awaiting,
        consent_team=bool(consent_team),
    )
    schedule = made(
        Schedule,
        client_id=client_id,
        rhythm=_rhythm_of(cadence, weekdays, window, at),
        quiet=_quiet(quiet),
        timezone=timezone,
        timezone_chosen=bool(timezone_chosen),
        paused_until=maybe_from_db(paused_until),
        next_due_at=maybe_from_db(next_due_at),
        manual_due_at=maybe_from_db(manual_due_at),
        last_slot=None if last_slot is None else date.fromisoformat(last_slot),
        unanswered=unanswered,
        last_prompt=last_prompt,
        last_sent_kind=last_sent_kind,
        welcome_back=bool(welcome_back),
        awaiting=awaiting,
        patience_offered=bool(patience_offered),
    )
    return made(
        DueClient,
        client=client,
        schedule=schedule,
        specialist_chat_id=specialist_chat_id,
        specialist_name=specialist_name,
    )


def _maybe_db(moment: datetime | None) -> str | None:
    return None if moment is None else to_db(moment)


def _checkin(row: aiosqlite.Row) -> Checkin:
    return Checkin(
        id=row["id"],
        client_id=row["client_id"],
        kind=CheckinKind(row["kind"]),
        due_at=from_db(row["due_at"]),
        sent_at=from_db(row["sent_at"]),
        prompt_key=row["prompt_key"],
        answered_at=maybe_from_db(row["answered_at"]),
        answer=row["answer"],
    )


class ScheduleRepository:
    """Reads and writes schedules and check-ins."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, client_id: int) -> Schedule | None:
        """The schedule of one client."""
        row = await self._db.fetch_one(
            f"SELECT c.id, {qualified(SCHEDULE_COLUMNS)} FROM {CLIENTS_WITH_TICKS} WHERE c.id = ?",
            (client_id,),
        )
        return None if row is None else schedule_from_row(row)

    async def due(self, now: datetime, limit: int) -> list[DueClient]:
        """Clients whose next check-in (or pause end) has come, earliest first."""
        return await self._claim("next_due_at", now, limit)

    async def manual_due(self, now: datetime, limit: int) -> list[DueClient]:
        """Clients with a check-in a specialist asked for that may now go."""
        return await self._claim("manual_due_at", now, limit)

    async def _claim(self, column: str, now: datetime, limit: int) -> list[DueClient]:
        rows = await self._db.fetch_all(
            f"{_CLAIM} WHERE t.{column} <= ? ORDER BY t.{column} LIMIT ?",
            (to_db(now), limit),
        )
        return [due_from_claimed(row) for row in rows]

    def progress_step(
        self, schedules: list[Schedule], checked_in: Collection[int], now: datetime
    ) -> Step:
        """Store what the tick changes (never the client's choices), for a batch at once;
        the clients in `checked_in` were sent a check-in (or an offer) now."""
        stamp = to_db(now)
        # A storm's clients share a few due moments: each is written out once.
        text = batch_to_db()
        return (
            "UPDATE client_ticks SET paused_until = ?, next_due_at = ?, manual_due_at = ?,"
            " last_slot = ?, unanswered = ?, last_prompt = ?, last_sent_kind = ?,"
            " welcome_back = ?, patience_offered = ?,"
            " last_checkin_at = coalesce(?, last_checkin_at) WHERE client_id = ?",
            [
                (
                    text(s.paused_until),
                    text(s.next_due_at),
                    text(s.manual_due_at),
                    None if s.last_slot is None else s.last_slot.isoformat(),
                    s.unanswered,
                    s.last_prompt,
                    s.last_sent_kind,
                    int(s.welcome_back),
                    int(s.patience_offered),
                    stamp if s.client_id in checked_in else None,
                    s.client_id,
                )
                for s in schedules
            ],
        )

    def checkins_step(
        self, rows: list[tuple[int, CheckinKind, datetime, str | None]], now: datetime
    ) -> Step:
        """Record a batch of check-ins (client id, kind, due at, prompt) sent now."""
        stamp = to_db(now)
        text = batch_to_db()
        return (
            "INSERT OR IGNORE INTO checkins (client_id, kind, due_at, sent_at, prompt_key)"
            " VALUES (?, ?, ?, ?, ?)",
            [(client, kind.value, text(due), stamp, prompt) for client, kind, due, prompt in rows],
        )

    async def save(self, schedule: Schedule) -> None:
        """Write every schedule field back."""
        await self._db.write(_SAVE_CHOICES, _choices_params(schedule))
        await self._db.write(_SAVE_TICKS, _ticks_params(schedule))

    async def mark_contact(self, client_id: int, now: datetime) -> None:
        """The client wrote or tapped: the unanswered count starts again."""
        await self._db.write(
            "UPDATE client_ticks SET unanswered = 0, patience_offered = 0, last_reply_at = ?"
            " WHERE client_id = ?",
            (to_db(now), client_id),
        )

    async def pace_chosen(self, client_id: int) -> None:
        """The client chose their pace (a pause, a resume, a rhythm): a word about the
        check-ins, as a tap on one is, so the unanswered count starts again (their last
        reply stays what it was: they wrote nothing to their specialist)."""
        await self._db.write(
            "UPDATE client_ticks SET unanswered = 0, patience_offered = 0 WHERE client_id = ?",
            (client_id,),
        )

    async def checkin(self, checkin_id: int) -> Checkin | None:
        """One check-in by id."""
        row = await self._db.fetch_one("SELECT * FROM checkins WHERE id = ?", (checkin_id,))
        return None if row is None else _checkin(row)

    async def checkin_at(self, client_id: int, due_at: datetime) -> Checkin | None:
        """The client's check-in for one due moment."""
        row = await self._db.fetch_one(
            "SELECT * FROM checkins WHERE client_id = ? AND due_at = ?", (client_id, to_db(due_at))
        )
        return None if row is None else _checkin(row)

    async def latest_checkin(self, client_id: int) -> Checkin | None:
        """The client's most recent check-in or offer."""
        row = await self._db.fetch_one(
            "SELECT * FROM checkins WHERE client_id = ? ORDER BY id DESC LIMIT 1", (client_id,)
        )
        return None if row is None else _checkin(row)

    async def answer_checkin(self, checkin_id: int, answer: str, now: datetime) -> None:
        """Record how a check-in was answered (the button's name or 'message')."""
        await self._db.write(
            "UPDATE checkins SET answered_at = ?, answer = ? WHERE id = ?",
            (to_db(now), answer, checkin_id),
        )
