"""The programme report: for the command line, /report, and the weekly send to admins.

The figures are read in one short transaction; the page (charts included) is drawn in
a worker thread, so the bot keeps relaying while matplotlib works. Admins get the page
as a document through the outbox, like every other message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.delivery.outbox import Outbox
from bot.domain.clock import Clock
from bot.domain.rhythm import zone
from bot.domain.texts import Texts
from bot.logs import EventLog
from bot.report import charts as drawing
from bot.report.figures import (
    DEFAULT_WEEKS,
    PeriodError,
    Table,
    Week,
    parse_weekly,
    period,
    weeks_between,
)
from bot.report.page import Part, render, save
from bot.report.tables import (
    Scope,
    caseload_table,
    charts,
    hide_complements,
    period_label,
    section_tables,
)
from bot.storage.db import Database, to_db
from bot.storage.report import Tallies, tallies
from bot.storage.staff_languages import StaffLanguageRepository

log = EventLog(__name__)

TITLE = "Porchlight programme report"
FILENAME = "porchlight-report.html"


@dataclass(frozen=True)
class Built:
    """A finished report: the page and its tables by section (for CSV)."""

    html: str
    sections: dict[str, list[tuple[str | None, Table]]]
    weeks: list[Week]


def _assemble(
    found: Tallies, weeks: list[Week], this_week: str, made: str, by_specialist: bool
) -> Built:
    """The page and the CSV tables from the tallies (CPU only: runs in a thread)."""
    everyone = Scope("The whole programme")
    scopes = [everyone]
    if by_specialist:
        scopes += [Scope(row.name, row.id) for row in found.staff]
    made_tables = [
        [
            caseload_table(found.staff, this_week, scope.specialist),
            *section_tables(found, weeks, scope),
        ]
        for scope in scopes
    ]
    hide_complements(made_tables[0], made_tables[1:])
    parts = []
    sections: dict[str, list[tuple[str | None, Table]]] = {}
    for scope, tables in zip(scopes, made_tables, strict=True):
        pictures = (
            [drawing.svg(chart) for chart in charts(tables, found, weeks, scope)]
            if scope is everyone
            else []
        )
        parts.append(Part(scope.title, tables, pictures))
        for table in tables:
            name = None if scope is everyone else scope.title
            sections.setdefault(table.name, []).append((name, table))
    page = render(TITLE, period_label(weeks), made, parts)
    return Built(page, sections, weeks)


class Reports:
    """Builds the report; sends it to admins on request and once a week."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        texts: Texts,
        clock: Clock,
        *,
        timezone: str,
        admin_ids: frozenset[int],
        weekly: str | None = None,
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._texts = texts
        self._clock = clock
        self._tz = zone(timezone)
        self._admin_ids = admin_ids
        self._weekly = parse_weekly(weekly) if weekly else None
        self._drawing = asyncio.Lock()
        self._staff_languages = StaffLanguageRepository(db)

    def today(self) -> date:
        """The programme's date now."""
        return self._clock.now().astimezone(self._tz).date()

    async def build(
        self,
        first: date | None = None,
        last: date | None = None,
        *,
        weeks: int | None = None,
        by_specialist: bool = False,
    ) -> Built:
        """The report over whole ISO weeks from `first` to `last` (default: the last 12)."""
        drawing.available()
        now = self._clock.now()
        start, end = period(first, last, self.today(), weeks or DEFAULT_WEEKS)
        try:
            span = weeks_between(start, end, self._tz)
        except OverflowError:
            raise PeriodError(f"{start} is too far back for the report's calendar") from None
        async with self._db.transaction():
            found = await tallies(
                self._db,
                [(week.start, week.end) for week in span],
                now,
                per_specialist=by_specialist,
            )
        this_week = weeks_between(self.today(), self.today(), self._tz)[0].label
        made = now.astimezone(self._tz).strftime("%Y-%m-%d %H:%M %Z")
        async with self._drawing:  # pyplot is one state: one drawing at a time
            return await asyncio.to_thread(_assemble, found, span, this_week, made, by_specialist)

    async def write(
        self,
        out: Path,
        csv_folder: Path | None = None,
        first: date | None = None,
        last: date | None = None,
        *,
        by_specialist: bool = False,
    ) -> list[Path]:
        """The command line's report: the page (and CSV files); every path written."""
        built = await self.build(first, last, by_specialist=by_specialist)
        written = await asyncio.to_thread(save, built.html, out, built.sections, csv_folder)
        log.info("report.written", weeks=len(built.weeks), by_specialist=int(by_specialist))
        return written

    async def send(self, chat_id: int, weeks: int, language: str) -> None:
        """/report: the last `weeks` weeks to one admin, as an HTML document (its caption in
        their language; the page itself is in English)."""
        built = await self.build(weeks=weeks)
        async with self._db.transaction():
            await self._queue(chat_id, built, language)
        log.info("report.sent", chat=chat_id, weeks=weeks)

    async def _queue(self, chat_id: int, built: Built, language: str) -> None:
        await self._outbox.document(
            chat_id,
            FILENAME,
            built.html,
            caption=self._texts.get("report.caption", language, period=period_label(built.weeks)),
        )

    def _weekly_moment(self, now: datetime) -> tuple[str, datetime] | None:
        """This week's label and the moment REPORT_WEEKLY sends it, if set."""
        if self._weekly is None:
            return None
        weekday, at = self._weekly
        local = now.astimezone(self._tz).date()
        monday = local - timedelta(days=local.weekday())
        moment = datetime.combine(monday + timedelta(days=weekday), at, self._tz)
        week = weeks_between(local, local, self._tz)[0].label
        return week, moment

    async def tick(self) -> bool:
        """Once a week at REPORT_WEEKLY: the report to every admin (True if sent now).

        The week is claimed in the same transaction that queues the documents, so a
        restart sends it at most once; a bot that was down at the moment sends it late.
        """
        now = self._clock.now()
        due = self._weekly_moment(now)
        if due is None or not self._admin_ids or now < due[1]:
            return False
        week = due[0]
        async with self._db.autocommit(background=True):
            if await self._db.fetch_one("SELECT 1 FROM report_runs WHERE week = ?", (week,)):
                return False
        try:
            built = await self.build()
        except drawing.ChartsUnavailable as error:
            log.warning("report.weekly_unavailable", reason=str(error))
            return False
        async with self._db.transaction(background=True):
            claimed = await self._db.insert(
                "INSERT OR IGNORE INTO report_runs (week, sent_at) VALUES (?, ?)",
                (week, to_db(now)),
            )
            if claimed is None:
                return False
            for admin in sorted(self._admin_ids):
                language = await self._staff_languages.language_of(admin)
                await self._queue(admin, built, language)
        log.info("report.weekly", week=week, admins=len(self._admin_ids))
        return True
