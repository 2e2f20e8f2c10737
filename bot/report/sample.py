"""A made-up programme's history, for the demo's sample report and the report benchmark.

Specialists, clients and the content-free events of some weeks, drawn from a seeded
random generator (the same figures every time): joins, check-ins and their answers,
messages each way with the specialists' answer times, flags, escalations, changes of
pace, blocks and erasures. Nothing here is anyone's: the names are invented, and there
is no message content to invent.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from bot.storage import events
from bot.storage.db import Database, to_db

NAMES = ("Ria Okafor", "Lee Park", "Noor Haddad", "Jo Martins", "Kai Brooks", "Mina Sato")
MOODS = (("ok", 0.5), ("meh", 0.3), ("not_today", 0.15), ("talk", 0.05))
HOUR = 3600.0

Row = tuple[str, str, int | None, int | None, int | None, str | None, float | None, str | None]


class _Programme:
    """Draws the history week by week, client by client."""

    def __init__(self, rng: random.Random, start: datetime, weeks: int) -> None:
        self.rng = rng
        self.start = start
        self.weeks = weeks
        self.rows: list[Row] = []
        self.ref = 0

    def moment(self, week: int) -> datetime:
        """A random moment in week `week` (daytime-ish)."""
        day = self.rng.randrange(7)
        seconds = self.rng.randrange(8 * 3600, 21 * 3600)
        return self.start + timedelta(weeks=week, days=day, seconds=seconds)

    def add(
        self,
        kind: str,
        at: datetime,
        client: int | None,
        specialist: int,
        ref: int | None = None,
        detail: str | None = None,
        value: float | None = None,
        outcome: str | None = None,
    ) -> None:
        self.rows.append((to_db(at), kind, client, specialist, ref, detail, value, outcome))

    def wait(self, median_hours: float) -> float | None:
        """Seconds until a specialist answers (None: not answered)."""
        if self.rng.random() < 0.04:
            return None
        return self.rng.lognormvariate(0, 1.0) * median_hours * HOUR

    def client(self, cid: int, sid: int, first_week: int) -> str:
        """One client's history; their status at the end."""
        rng = self.rng
        joined = self.moment(first_week)
        self.add(events.INVITED, joined - timedelta(hours=rng.randrange(2, 72)), None, sid)
        self.add(events.JOINED, joined, cid, sid)
        status, per_week, paused_for = "active", rng.choice((1, 2, 3, 3, 5, 7)), 0
        for week in range(first_week, self.weeks):
            if status == "blocked":
                break
            if paused_for:
                paused_for -= 1
                if not paused_for:
                    status = "active"
                    self.add(events.RESUMED, self.moment(week), cid, sid)
            if status == "active":
                for _ in range(per_week):
                    self.checkin(cid, sid, week)
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                self.message(cid, sid, week)
            roll = rng.random()
            if status == "active" and roll < 0.02:
                status, paused_for = "paused", rng.randrange(1, 4)
                self.add(events.PAUSED, self.moment(week), cid, sid)
            elif status == "active" and roll < 0.03:
                status = "stopped"
                self.add(events.STOPPED, self.moment(week), cid, sid)
            elif roll < 0.04 and per_week > 1:
                per_week -= 1
                self.add(events.FEWER, self.moment(week), cid, sid)
            elif roll < 0.045:
                per_week = 0
                self.add(events.WHEN_I_WRITE, self.moment(week), cid, sid)
            elif roll < 0.048:
                status = "blocked"
                self.add(events.BLOCKED, self.moment(week), cid, sid)
            elif roll < 0.050:
                self.add(events.ERASED, self.moment(week), None, sid)
                return "erased"
        return status

    def checkin(self, cid: int, sid: int, week: int) -> None:
        self.ref += 1
        sent = self.moment(week)
        if self.rng.random() >= 0.62:
            self.add(events.CHECKIN_SENT, sent, cid, sid, self.ref, "scheduled")
            return
        minutes = self.rng.randrange(1, 600)
        if self.rng.random() < 0.75:
            mood = self.rng.choices([m for m, _ in MOODS], [w for _, w in MOODS])[0]
        else:
            mood = "message"
        self.add(events.CHECKIN_SENT, sent, cid, sid, self.ref, "scheduled", minutes * 60.0, mood)
        answered = sent + timedelta(minutes=minutes)
        self.add(events.CHECKIN_ANSWERED, answered, cid, sid, self.ref, mood)

    def message(self, cid: int, sid: int, week: int) -> None:
        at = self.moment(week)
        wait = self.wait(3.0)
        self.add(events.CLIENT_MESSAGE, at, cid, sid, value=wait)
        roll = self.rng.random()
        if roll < 0.03:
            level = "urgent" if roll < 0.01 else "concern"
            flag_wait = None if wait is None else min(wait, self.rng.uniform(0.1, 2) * HOUR)
            self.add(events.FLAGGED, at, cid, sid, detail=level, value=flag_wait)
            if level == "urgent" and (flag_wait is None or flag_wait > 1800):
                self.add(events.ESCALATED, at + timedelta(minutes=30), cid, sid)
                role = self.rng.choice(("admin", "oncall"))
                self.add(
                    events.ESCALATION_ANSWERED, at + timedelta(minutes=45), cid, sid, None, role
                )
        if wait is not None:
            self.add(events.SPECIALIST_MESSAGE, at + timedelta(seconds=wait), cid, sid)


async def seed_programme(
    db: Database, *, clients: int, weeks: int, end: datetime, seed: int = 7
) -> int:
    """Write a made-up programme of `clients` over the `weeks` before `end`; rows written."""
    rng = random.Random(seed)
    start = end - timedelta(weeks=weeks)
    async with db.transaction():
        # After whatever is there already (the demo's own specialist and client).
        first_staff = await _next_id(db, "specialists")
        first_client = await _next_id(db, "clients")
        last_ref = await db.fetch_one("SELECT coalesce(max(ref), 0) FROM events")
    programme = _Programme(rng, start, weeks)
    programme.ref = 0 if last_ref is None else int(last_ref[0])
    count = max(2, clients // 25)
    staff = [(NAMES[n] if n < len(NAMES) else f"Specialist {n + 1}") for n in range(count)]
    client_rows = []
    for cid in range(first_client, first_client + clients):
        sid = first_staff + rng.randrange(count)
        # Most joined early; a steady trickle joins every week.
        joined_week = min(weeks - 1, int(rng.expovariate(1.0) * weeks / 3))
        status = programme.client(cid, sid, joined_week)
        if status != "erased":
            client_rows.append((cid, sid, status))
    # Erased clients' events keep no id, as /forget leaves them.
    kept = {cid for cid, _, _ in client_rows}
    rows = [
        (at, kind, client if client is None or client in kept else None, *rest)
        for at, kind, client, *rest in programme.rows
    ]
    made = to_db(start)
    async with db.transaction():
        await db.write_many(
            "INSERT INTO specialists (id, telegram_user_id, chat_id, display_name, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(sid, -sid, -sid, name, made) for sid, name in enumerate(staff, start=first_staff)],
        )
        await db.write_many(
            "INSERT INTO clients (id, telegram_user_id, chat_id, alias, specialist_id, status,"
            " language, timezone, consent_version, consented_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 'en', 'UTC', 1, ?, ?)",
            [
                (cid, -1000 - cid, -1000 - cid, f"sample {cid}", sid, status, made, made)
                for cid, sid, status in client_rows
            ],
        )
        await db.write_many(
            "INSERT INTO events (at, kind, client_id, specialist_id, ref, detail, value, outcome)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


async def _next_id(db: Database, table: str) -> int:
    row = await db.fetch_one(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return 1 if row is None else int(row[0])
