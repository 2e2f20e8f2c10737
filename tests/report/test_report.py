"""The programme report against a database seeded with known events.

Europe/London, weeks 2026-W42 to W44: W43 ends with the clocks going back (Sunday 25
October, a 169-hour week), and its first hour (Monday 00:30 BST) is still Sunday in UTC.
A client who erased their data (client 7) still counts in the weekly totals, never again
as a person.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import CONFIG_DIR
from bot.delivery.outbox import Outbox
from bot.domain.clock import ManualClock
from bot.domain.texts import Texts
from bot.report.figures import Table, weeks_between
from bot.report.tables import (
    Scope,
    caseload_table,
    charts,
    hide_complements,
    section_tables,
)
from bot.services.report import Reports
from bot.storage import events
from bot.storage.db import Database, to_db
from bot.storage.outbox import OutboxRepository
from bot.storage.relay import RelayRepository
from bot.storage.report import Tallies
from bot.storage.retention import Kept, RetentionRepository

LONDON = "Europe/London"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
A, B = 1, 2

# Per week, what the CSV files must say (small cells as "<5").
EXPECTED = {
    "reach": [
        ["ISO week", "invited", "joined", "active", "paused", "stopped", "blocked", "erased"],
        ["2026-W42", "6", "5", "5", "0", "0", "0", "0"],
        ["2026-W43", "0", "<5", "6", "5", "<5", "0", "0"],
        ["2026-W44", "0", "0", "0", "0", "0", "<5", "<5"],
    ],
    "checkins": [
        ["ISO week", "sent", "answered", "by tap", "by message", "answer rate"],
        ["2026-W42", "10", "8", "*", "<5", "80%"],  # 5 by tap would tell the 3
        ["2026-W43", "0", "0", "0", "0", ""],
        ["2026-W44", "0", "0", "0", "0", ""],
    ],
    "taps": [
        ["ISO week", "doing okay", "could be better", "not today", "would like to talk"],
        ["2026-W42", "<5", "<5", "0", "<5"],
        ["2026-W43", "0", "0", "0", "0"],
        ["2026-W44", "0", "0", "0", "0"],
    ],
    "pace": [
        ["ISO week", "fewer", "pause", "stop", "resume", "only when I write"],
        ["2026-W42", "0", "0", "0", "0", "0"],
        ["2026-W43", "0", "5", "<5", "0", "0"],
        ["2026-W44", "0", "0", "0", "5", "0"],
    ],
    "conversation": [
        [
            "ISO week",
            "from clients",
            "from specialists",
            "first answer median (h)",
            "first answer p90 (h)",
            "unanswered after 24 h",
        ],
        ["2026-W42", "5", "5", "3.0", "30.0", "<5"],
        ["2026-W43", "6", "<5", "<5", "<5", "<5"],
        ["2026-W44", "5", "0", "", "", "5"],
    ],
    "safety": [
        [
            "ISO week",
            "flagged urgent",
            "flagged concern",
            "flag to answer median (h)",
            "flag to answer worst (h)",
            "flags unanswered after 24 h",
            "escalated",
            "escalation answered by admin",
        ],
        ["2026-W42", "0", "0", "", "", "0", "0", "0"],
        ["2026-W43", "5", "<5", "1.0", "2.0", "<5", "<5", "<5"],
        ["2026-W44", "0", "0", "", "", "0", "0", "0"],
    ],
    "caseloads": [
        [
            "ISO week",
            "specialists",
            "clients",
            "active",
            "paused",
            "stopped",
            "blocked",
            "median caseload",
            "largest caseload",
        ],
        ["2026-W44", "<5", "7", "*", "0", "<5", "0", "<5", "6"],  # 7 - 6 would tell 1
    ],
}


def at(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def seed(db: Database) -> None:
    """The known events (times in UTC; London is UTC+1 until 25 October 01:00 UTC)."""
    async with db.transaction():
        for sid, name in ((A, "Sam Rivera"), (B, "Kim Lee")):
            await db.write(
                "INSERT INTO specialists (id, telegram_user_id, chat_id, display_name,"
                " created_at) VALUES (?, ?, ?, ?, ?)",
                (sid, 500 + sid, 500 + sid, name, to_db(at(1, 9))),
            )
        for cid in range(1, 9):
            specialist, status = (B, "stopped") if cid == 8 else (A, "active")
            if cid == 7:
                continue  # erased: no row left
            await db.write(
                "INSERT INTO clients (id, telegram_user_id, chat_id, alias, specialist_id,"
                " status, language, timezone, consent_version, consented_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'en', 'UTC', 1, ?, ?)",
                (cid, 7000 + cid, 7000 + cid, f"Zed{cid}", specialist, status)
                + (to_db(at(1, 9)),) * 2,
            )

        async def ev(kind: str, moment: datetime, cid: int | None, sid: int = A, **more):
            await events.record(db, kind, moment, client_id=cid, specialist_id=sid, **more)

        # W42: six invites, five joined, ten check-ins (eight answered), five messages.
        for _ in range(6):
            await ev(events.INVITED, at(12, 10), None)
        for cid in range(1, 6):
            await ev(events.JOINED, at(12, 11), cid)
        for ref in range(1, 11):
            cid = (ref - 1) % 5 + 1
            sent = at(13 if ref <= 5 else 14, 9)
            await ev(events.CHECKIN_SENT, sent, cid, ref=ref, detail="scheduled")
        for ref, tap in zip(range(1, 6), ("ok", "ok", "ok", "meh", "talk"), strict=True):
            await ev(events.CHECKIN_ANSWERED, at(13, 10), ref, ref=ref, detail=tap)
        for ref in (6, 7, 8):
            await ev(events.CHECKIN_ANSWERED, at(14, 10), ref - 5, ref=ref, detail="message")
        # A second tap on a check-in answered by message: still one answered check-in.
        await ev(events.CHECKIN_ANSWERED, at(14, 11), 1, ref=6, detail="message")
        for cid, wait in zip(range(1, 6), (1, 2, 3, 4, 30), strict=True):
            await ev(events.CLIENT_MESSAGE, at(14, 10), cid)
            await ev(events.SPECIALIST_MESSAGE, at(14, 10) + timedelta(hours=wait), cid)

        # W43 (the clocks go back on Sunday 25 October at 01:00 UTC).
        await ev(events.JOINED, at(18, 23, 30), 6)  # Monday 19th 00:30 BST
        await ev(events.JOINED, at(25, 23, 30), 7)  # Sunday 25th 23:30 GMT
        for cid in range(1, 7):
            await ev(events.CLIENT_MESSAGE, at(20, 12), cid)
            level = "concern" if cid == 6 else "urgent"
            await ev(events.FLAGGED, at(20, 12), cid, detail=level)
        for cid in range(1, 5):
            await ev(events.SPECIALIST_MESSAGE, at(20, 13), cid)
        await ev(events.ESCALATED, at(20, 13, 30), 5)
        await ev(events.ESCALATION_ANSWERED, at(20, 14), 5, detail="admin")
        for cid in range(1, 6):
            await ev(events.PAUSED, at(21, 9), cid)
        await ev(events.STOPPED, at(21, 9), 6)

        # W44: client 7 writes five times and then erases their data; five resume.
        for hour in range(10, 15):
            await ev(events.CLIENT_MESSAGE, at(26, hour), 7)
        for cid in range(1, 6):
            await ev(events.RESUMED, at(27, 9), cid)
        await events.forget_client(db, 7)
        await ev(events.ERASED, at(27, 12), None)
        await ev(events.BLOCKED, at(28, 9), 8, sid=B)
        # Outside the period: counted nowhere.
        await ev(events.INVITED, at(11, 22, 59), None)  # Sunday 11th 23:59 BST: W41
        await ev(events.INVITED, at(2, 9, month=11), None)  # W45


def reports(db: Database) -> Reports:
    clock = ManualClock(NOW)
    outbox = Outbox(db, OutboxRepository(db), RelayRepository(db), clock)
    texts = Texts.load(CONFIG_DIR / "messages")
    return Reports(db, outbox, texts, clock, timezone=LONDON, admin_ids=frozenset({900}))


@pytest.fixture
async def seeded(db: Database) -> Database:
    await seed(db)
    return db


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.reader(handle))


async def test_weeks_follow_the_programme_zone_across_the_clock_change() -> None:
    from zoneinfo import ZoneInfo

    weeks = weeks_between(date(2026, 10, 12), date(2026, 11, 1), ZoneInfo(LONDON))
    assert [week.label for week in weeks] == ["2026-W42", "2026-W43", "2026-W44"]
    assert weeks[1].start == at(18, 23)  # Monday 00:00 BST
    assert weeks[1].end - weeks[1].start == timedelta(hours=169)


async def test_csv_figures_match_the_seeded_events(seeded: Database, tmp_path: Path) -> None:
    written = await reports(seeded).write(
        tmp_path / "report.html", tmp_path / "csv", date(2026, 10, 14), date(2026, 10, 30)
    )
    assert {path.name for path in written[1:]} == {f"{name}.csv" for name in EXPECTED}
    for name, expected in EXPECTED.items():
        assert read_csv(tmp_path / "csv" / f"{name}.csv") == expected, name


async def test_html_shows_the_same_figures(seeded: Database) -> None:
    built = await reports(seeded).build(date(2026, 10, 12), date(2026, 11, 1))
    for name, expected in EXPECTED.items():
        for row in expected[1:]:
            cells = "".join(f"<td>{cell.replace('<', '&lt;')}</td>" for cell in row)
            assert f"<tr>{cells}</tr>" in built.html, (name, row)


async def test_an_erased_client_is_no_longer_anyones_in_the_events(seeded: Database) -> None:
    async with seeded.transaction():
        assert await events.of_client(seeded, 7) == []
        left = await seeded.fetch_one(
            "SELECT count(*) FROM events WHERE kind = ? AND client_id IS NULL",
            (events.CLIENT_MESSAGE,),
        )
    assert left is not None and left[0] == 5


async def test_by_specialist_names_specialists_and_no_client(
    seeded: Database, tmp_path: Path
) -> None:
    built = await reports(seeded).build(date(2026, 10, 12), date(2026, 11, 1), by_specialist=True)
    assert "<h2>Sam Rivera</h2>" in built.html and "<h2>Kim Lee</h2>" in built.html
    assert "Zed" not in built.html and "7001" not in built.html
    reach = dict(built.sections)["reach"]
    kim = next(table for name, table in reach if name == "Kim Lee")
    assert kim.rows[2][1][kim.columns.index("blocked") - 1].text == "<5"
    sam = next(table for name, table in reach if name == "Sam Rivera")
    assert [cells[2].text for _, cells in sam.rows] == ["5", "6", "0"]  # active
    await reports(seeded).write(tmp_path / "r.html", tmp_path / "csv", by_specialist=True)
    rows = read_csv(tmp_path / "csv" / "reach.csv")
    assert rows[0][:2] == ["ISO week", "specialist"]
    assert {row[1] for row in rows[1:]} == {"all", "Sam Rivera", "Kim Lee"}


SMALL_NUMBER = re.compile(r"^[1-4]$")


async def test_small_cells_everywhere(seeded: Database, tmp_path: Path) -> None:
    """No count of 1 to 4 in any table cell, CSV cell or chart label."""
    built = await reports(seeded).build(date(2026, 10, 12), date(2026, 11, 1), by_specialist=True)
    for tables in built.sections.values():
        for _, table in tables:
            for _, cells in table.rows:
                assert not any(SMALL_NUMBER.match(cell.text) for cell in cells), table.name
    await reports(seeded).write(tmp_path / "r.html", tmp_path / "csv", by_specialist=True)
    for path in (tmp_path / "csv").iterdir():
        for row in read_csv(path)[1:]:
            assert not any(SMALL_NUMBER.match(cell) for cell in row), path.name
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", built.html)
    assert labels, "charts carry their labels as text"
    assert not any(SMALL_NUMBER.match(label.strip()) for label in labels)
    assert "&lt;5" in labels  # hidden bars are labelled, not drawn to height
    assert "Counts of 1 to 4" in built.html  # the footer says so


async def test_page_is_self_contained_with_every_chart(seeded: Database) -> None:
    built = await reports(seeded).build(date(2026, 10, 12), date(2026, 11, 1))
    page = built.html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "<script" not in page and "@import" not in page
    assert all(target.startswith("#") for target in re.findall(r"url\(([^)]*)\)", page))
    assert "<!DOCTYPE svg" not in page and "<?xml" not in page
    assert page.count("<svg") == 7
    for title in (
        "Clients who joined, were active, stopped",
        "Check-ins sent and answered",
        "The mix of taps over the period",
        "Changes of pace over the period",
        "Messages each way",
        "Hours to a specialist&#x27;s first answer",
        "Flagged messages by level",
    ):
        assert title.replace("&#x27;", "'") in page or title in page, title
    assert "@page{size:A4" in page and 'name="viewport"' in page


async def test_missing_matplotlib_is_one_line_naming_the_extra(
    seeded: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    from bot.report import charts
    from bot.report.charts import ChartsUnavailable

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    charts._pyplot.cache_clear()  # as in a fresh process
    with pytest.raises(ChartsUnavailable) as raised:
        await reports(seeded).build()
    assert str(raised.value) == 'the report\'s charts need matplotlib: pip install -e ".[report]"'


async def test_retention_purges_old_events(seeded: Database) -> None:
    async with seeded.transaction():
        while await RetentionRepository(seeded).delete_before(Kept.EVENTS, at(19, 0), 100):
            pass
        [(oldest,)] = [tuple(r) for r in await seeded.fetch_all("SELECT min(at) FROM events")]
    assert oldest >= to_db(at(19, 0))


def recovered(parts: list[str], total: str) -> bool:
    """A funder's subtraction: one hidden cell beside a shown total and shown parts."""
    cells = [*parts, total]
    hidden = [cell for cell in cells if not cell.isdigit()]
    return len(hidden) == 1


async def test_no_hidden_cell_comes_back_by_subtraction(seeded: Database) -> None:
    """Answered = by tap + by message; clients = the statuses; the programme = the
    specialists: a '<5' beside a shown total and shown parts would tell the number."""
    built = await reports(seeded).build(date(2026, 10, 12), date(2026, 11, 1), by_specialist=True)
    scopes: dict[str | None, dict[str, Table]] = {}
    for name, tables in built.sections.items():
        for scope, table in tables:
            scopes.setdefault(scope, {})[name] = table
    for named in scopes.values():
        checkins, caseloads = named["checkins"], named["caseloads"]
        for row in range(len(checkins.rows)):
            parts = [checkins.column(c)[row].text for c in ("by tap", "by message")]
            assert not recovered(parts, checkins.column("answered")[row].text), row
        statuses = [caseloads.column(s)[0].text for s in ("active", "paused", "stopped")]
        statuses.append(caseloads.column("blocked")[0].text)
        assert not recovered(statuses, caseloads.column("clients")[0].text)
    # Kim Lee has one client: the programme's clients less Sam's must not tell it.
    each = [
        scopes[name]["caseloads"].column("clients")[0].text for name in ("Sam Rivera", "Kim Lee")
    ]
    assert not recovered(each, scopes[None]["caseloads"].column("clients")[0].text)
    # Nor may a caseload's median or largest show a specialist's hidden count.
    sam = scopes["Sam Rivera"]["caseloads"]
    assert sam.column("clients")[0].hidden
    assert sam.column("median caseload")[0].hidden and sam.column("largest caseload")[0].hidden
    assert scopes[None]["caseloads"].column("largest caseload")[0].hidden
    assert "\u201c*\u201d is hidden too" in built.html  # the footer says why


def test_a_period_total_does_not_tell_a_hidden_week() -> None:
    """Stops: 3 one week (hidden), 6 the next; the period's total of 9 would tell the 3."""
    tz = ZoneInfo(LONDON)
    weeks = weeks_between(date(2026, 10, 12), date(2026, 10, 19), tz)
    found = Tallies()
    found.counts[(0, None, events.STOPPED, None)] = 3
    found.counts[(1, None, events.STOPPED, None)] = 6
    scope = Scope("The whole programme")
    tables = section_tables(found, weeks, scope)
    pace = next(chart for chart in charts(tables, found, weeks, scope) if chart.name == "pace")
    stops = pace.series[0][1][pace.labels.index("stop")]
    assert stops.hidden and stops.text != "9"


async def test_a_check_in_id_freed_by_an_erasure_counts_for_its_new_client(db: Database) -> None:
    """Check-in ids are reused once the erased client's check-ins are deleted: the next
    client's check-in must still count as sent, and their answer must be theirs."""
    await seed(db)  # the specialists and clients; no check-ins
    async with db.transaction():
        await db.write("DELETE FROM events", ())
    sent_at = at(14, 11, 17)

    async def check_in(client: int) -> int:
        async with db.transaction():
            checkin = await db.insert(
                "INSERT INTO checkins (client_id, kind, due_at, sent_at)"
                " VALUES (?, 'scheduled', ?, ?)",
                (client, to_db(sent_at), to_db(sent_at)),
            )
            assert checkin is not None
            await db.write_steps([events.checkins_sent_step([(client, sent_at)], sent_at)])
        return checkin

    erased = await check_in(2)
    async with db.transaction():
        await events.forget_client(db, 2)
        await db.write("DELETE FROM clients WHERE id = 2", ())
    reused = await check_in(3)
    assert reused == erased  # SQLite gives the freed id again
    async with db.transaction():
        await events.checkin_answered(db, reused, "meh", at(14, 12))
        mine = await db.fetch_all(
            "SELECT outcome FROM events WHERE kind = ? AND client_id = 3 AND at = ?",
            (events.CHECKIN_SENT, to_db(sent_at)),
        )
    assert [row[0] for row in mine] == ["meh"]


def test_a_rate_does_not_give_back_a_hidden_count() -> None:
    """Sam answered 9 of 10, Kim 3 of 5: Sam's 9 is hidden so that the programme's 12
    does not tell Kim's 3, and Sam's 90% of 10 must not give the 9 back."""
    weeks = weeks_between(date(2026, 10, 12), date(2026, 10, 12), ZoneInfo(LONDON))
    found = Tallies()
    for sid, sent, answered in ((A, 10, 9), (B, 5, 3)):
        found.sent[(0, sid)] = sent
        found.answered[(0, sid)] = answered
    scopes = [Scope("all"), Scope("Sam", A), Scope("Kim", B)]
    made = [
        [caseload_table([], "2026-W42", scope.specialist), *section_tables(found, weeks, scope)]
        for scope in scopes
    ]
    hide_complements(made[0], made[1:])
    sam = made[1][2]
    assert sam.column("answered")[0].hidden
    assert sam.column("answer rate")[0].hidden


async def test_every_read_of_the_events_is_answered_from_the_covering_index(
    seeded: Database,
) -> None:
    # A year of a large programme is read from events_kind_at alone (m016); m023 reordered
    # its columns after `at` so that a tick's check-in events are appended to it.
    read: list[str] = []
    async with seeded.transaction() as conn:
        await conn.set_trace_callback(read.append)
    await reports(seeded).build(date(2026, 10, 12), date(2026, 11, 1))
    async with seeded.transaction() as conn:
        await conn.set_trace_callback(None)  # type: ignore[arg-type]  # sqlite3 takes None
    reads = [sql for sql in read if "JOIN events" in sql]
    assert len(reads) >= 5
    async with seeded.transaction():
        for sql in reads:
            plan = " | ".join(
                row["detail"] for row in await seeded.fetch_all(f"EXPLAIN QUERY PLAN {sql}")
            )
            assert "COVERING INDEX events_kind_at (kind=? AND at>? AND at<?)" in plan, plan
