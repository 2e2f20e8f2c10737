"""The programme report's reads: weekly tallies of the content-free events, by specialist.

Every query bins events into the report's weeks (bounds in UTC, worked out in the
programme's zone) inside SQLite, so a year of a large programme is a few index range
scans and small result sets; only the waits (for medians) come back one by one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.storage import events
from bot.storage.db import Database, Params, to_db

UNANSWERED_AFTER = timedelta(hours=24)

# Events counted per week as they are (kind, detail).
COUNTED = (
    events.INVITED,
    events.JOINED,
    events.PAUSED,
    events.STOPPED,
    events.RESUMED,
    events.FEWER,
    events.WHEN_I_WRITE,
    events.BLOCKED,
    events.ERASED,
    events.CLIENT_MESSAGE,
    events.SPECIALIST_MESSAGE,
    events.FLAGGED,
    events.ESCALATED,
    events.ESCALATION_ANSWERED,
    events.CHECKIN_ANSWERED,
)
# What makes a client "active" in a week: they wrote, or answered a check-in.
ACTIVE = (events.CLIENT_MESSAGE, events.CHECKIN_ANSWERED)
WAITED = (events.CLIENT_MESSAGE, events.FLAGGED)

Key = tuple[int, int | None]  # (week index, specialist id)


@dataclass(frozen=True)
class StaffRow:
    """A specialist as the report names them (display name only) and their caseload."""

    id: int
    name: str
    active: bool
    clients: dict[str, int]


@dataclass
class Tallies:
    """What happened in each week, per specialist: the raw material of every table."""

    counts: dict[tuple[int, int | None, str, str | None], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    sent: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    answered: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    by_message: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    active: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    active_total: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    waits: dict[tuple[int, int | None, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    unanswered: dict[tuple[int, int | None, str], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    staff: list[StaffRow] = field(default_factory=list)


def _weeks_cte(bounds: Sequence[tuple[datetime, datetime]]) -> tuple[str, list[object]]:
    """`WITH w(idx, s, e)` over the weeks, and its parameters."""
    values = ",".join("(?, ?, ?)" for _ in bounds)
    params: list[object] = []
    for index, (start, end) in enumerate(bounds):
        params += [index, to_db(start), to_db(end)]
    return f"WITH w(idx, s, e) AS (VALUES {values})", params


def _marks(items: Sequence[str]) -> str:
    return ",".join("?" * len(items))


async def tallies(
    db: Database,
    bounds: Sequence[tuple[datetime, datetime]],
    now: datetime,
    *,
    per_specialist: bool = False,
) -> Tallies:
    """Read the week-by-week tallies for these week bounds (inside a transaction).

    Per specialist only when asked: a programme of 10,000 has hundreds of specialists,
    and the programme's own figures need one row per week and kind, not per person.
    """
    found = Tallies()
    if not bounds:
        return found
    cte, weeks = _weeks_cte(bounds)
    span = "JOIN events ev ON ev.at >= w.s AND ev.at < w.e"
    who = "ev.specialist_id" if per_specialist else "NULL"

    async def rows(sql: str, extra: Params) -> list[Any]:
        return await db.fetch_all(f"{cte} {sql}", [*weeks, *extra])

    for idx, sid, kind, detail, n in await rows(
        f"SELECT w.idx, {who}, ev.kind, ev.detail, count(*) FROM w {span}"
        f" WHERE ev.kind IN ({_marks(COUNTED)}) GROUP BY 1, 2, 3, 4",
        COUNTED,
    ):
        found.counts[(idx, sid, kind, detail)] = n

    # A check-in counts in the week it was sent; its first answer says how it was answered.
    for idx, sid, sent, answered, by_message in await rows(
        f"SELECT w.idx, {who}, count(*), count(ev.outcome), sum(ev.outcome = 'message')"
        f" FROM w {span} WHERE ev.kind = ? AND ev.detail != 'patience' GROUP BY 1, 2",
        (events.CHECKIN_SENT,),
    ):
        found.sent[(idx, sid)] = sent
        found.answered[(idx, sid)] = answered
        found.by_message[(idx, sid)] = by_message or 0

    active_sql = f"FROM w {span} WHERE ev.kind IN ({_marks(ACTIVE)}) AND ev.client_id IS NOT NULL"
    if per_specialist:
        for idx, sid, n in await rows(
            f"SELECT w.idx, ev.specialist_id, count(DISTINCT ev.client_id) {active_sql}"
            " GROUP BY 1, 2",
            ACTIVE,
        ):
            found.active[(idx, sid)] = n
    for idx, n in await rows(
        f"SELECT w.idx, count(DISTINCT ev.client_id) {active_sql} GROUP BY 1", ACTIVE
    ):
        found.active_total[idx] = n

    # Waits to the whole second, counted: a year of a large programme has a few distinct
    # values a week where it has hundreds of thousands of messages.
    waits = found.waits
    for idx, sid, kind, value, n in await rows(
        f"SELECT w.idx, {who}, ev.kind, round(ev.value), count(*) FROM w {span}"
        f" WHERE ev.kind IN ({_marks(WAITED)}) AND ev.value IS NOT NULL GROUP BY 1, 2, 3, 4",
        WAITED,
    ):
        waits[(idx, sid, kind)] += [value] * n
    cutoff = to_db(now - UNANSWERED_AFTER)
    for idx, sid, kind, n in await rows(
        f"SELECT w.idx, {who}, ev.kind, count(*) FROM w {span}"
        f" WHERE ev.kind IN ({_marks(WAITED)})"
        "   AND ((ev.value IS NULL AND ev.at < ?) OR ev.value > ?) GROUP BY 1, 2, 3",
        (*WAITED, cutoff, UNANSWERED_AFTER.total_seconds()),
    ):
        found.unanswered[(idx, sid, kind)] = n

    caseloads: dict[int, dict[str, int]] = defaultdict(dict)
    for row in await db.fetch_all(
        "SELECT specialist_id, status, count(*) FROM clients GROUP BY 1, 2"
    ):
        caseloads[int(row[0])][str(row[1])] = int(row[2])
    found.staff = [
        StaffRow(int(row[0]), str(row[1]), bool(row[2]), caseloads.get(int(row[0]), {}))
        for row in await db.fetch_all(
            "SELECT id, display_name, active FROM specialists ORDER BY display_name, id"
        )
    ]
    return found
