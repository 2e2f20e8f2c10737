"""The report's tables, from the weekly tallies: for the whole programme or one specialist.

Each section is one table (one CSV): a row per ISO week, figures under the small-cell
rule. Nothing here can name a client: the tallies hold counts and waits only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.report.figures import (
    SUPPRESSED,
    Cell,
    Slot,
    Sum,
    Table,
    Week,
    count,
    hours,
    protect,
    rate,
    reveals,
)
from bot.storage import events
from bot.storage.report import StaffRow, Tallies

WEEK = "ISO week"
MOODS = (
    ("ok", "doing okay"),
    ("meh", "could be better"),
    ("not_today", "not today"),
    ("talk", "would like to talk"),
)
PACE = (
    (events.FEWER, "fewer"),
    (events.PAUSED, "pause"),
    (events.STOPPED, "stop"),
    (events.RESUMED, "resume"),
    (events.WHEN_I_WRITE, "only when I write"),
)
LEVELS = (("urgent", "urgent"), ("concern", "concern"))
STATUSES = ("active", "paused", "stopped", "blocked")


@dataclass(frozen=True)
class Scope:
    """Whose figures: the whole programme (specialist None) or one specialist."""

    title: str
    specialist: int | None = None


class Figures:
    """One scope's figures out of the tallies (summed once, then read per week)."""

    def __init__(self, tallies: Tallies, weeks: list[Week], scope: Scope) -> None:
        self._weeks = weeks
        sid = scope.specialist
        mine: Callable[[int | None], bool] = lambda who: sid is None or who == sid  # noqa: E731
        self._counts: dict[tuple[int, str, str | None], int] = defaultdict(int)
        self._kinds: dict[tuple[int, str], int] = defaultdict(int)
        self._roles: set[str] = set()
        for (week, who, kind, detail), n in tallies.counts.items():
            # Every role in the period, whoever's client: the same columns in every scope.
            if kind == events.ESCALATION_ANSWERED and detail is not None:
                self._roles.add(detail)
            if mine(who):
                self._counts[(week, kind, detail)] += n
                self._kinds[(week, kind)] += n
        self._keyed: dict[str, dict[int, int]] = {}
        for name, keyed in (
            ("sent", tallies.sent),
            ("answered", tallies.answered),
            ("by_message", tallies.by_message),
        ):
            summed: dict[int, int] = defaultdict(int)
            for (week, who), n in keyed.items():
                if mine(who):
                    summed[week] += n
            self._keyed[name] = summed
        self._active = (
            dict(tallies.active_total)
            if sid is None
            else {week: n for (week, who), n in tallies.active.items() if who == sid}
        )
        self._waits: dict[tuple[int, str], list[float]] = defaultdict(list)
        for (week, who, kind), values in tallies.waits.items():
            if mine(who):
                self._waits[(week, kind)] += values
        self._unanswered: dict[tuple[int, str], int] = defaultdict(int)
        for (week, who, kind), n in tallies.unanswered.items():
            if mine(who):
                self._unanswered[(week, kind)] += n

    def n(self, idx: int, kind: str, detail: str | None = None) -> int:
        """How many events of a kind (with this detail, or any when None) in week idx."""
        if detail is None:
            return self._kinds.get((idx, kind), 0)
        return self._counts.get((idx, kind, detail), 0)

    def keyed(self, name: str, idx: int) -> int:
        """Check-ins 'sent', 'answered' or answered 'by_message' in week idx."""
        return self._keyed[name].get(idx, 0)

    def active(self, idx: int) -> int:
        """Distinct clients who wrote or answered in week idx."""
        return self._active.get(idx, 0)

    def waits(self, idx: int, kind: str) -> list[float]:
        """Seconds to the first human answer, for the events of this kind in week idx."""
        return self._waits.get((idx, kind), [])

    def unanswered(self, idx: int, kind: str) -> int:
        """Events of this kind still without a human answer after 24 hours."""
        return self._unanswered.get((idx, kind), 0)

    def roles(self) -> list[str]:
        """Who answered escalations in the period, by role."""
        return sorted(self._roles)

    def table(
        self, name: str, title: str, columns: Iterable[tuple[str, Callable[[int], Cell]]]
    ) -> Table:
        """A row per week, a column per figure."""
        listed = list(columns)
        made = Table(name, title, [WEEK, *(heading for heading, _ in listed)])
        for idx, week in enumerate(self._weeks):
            made.rows.append((week.label, [figure(idx) for _, figure in listed]))
        return made


@dataclass(frozen=True)
class Chart:
    """A picture of some figures: bars per week, lines per week, or totals of the period."""

    name: str
    title: str
    kind: str  # "bars", "lines" or "totals"
    labels: list[str]
    series: list[tuple[str, list[Cell]]]
    unit: str = ""


def charts(tables: list[Table], tallies: Tallies, weeks: list[Week], scope: Scope) -> list[Chart]:
    """The pictures of a scope's tables (every figure in them shown under the same rule)."""
    f = Figures(tallies, weeks, scope)
    by_name = {table.name: table for table in tables}
    labels = [week.label.split("-")[1] for week in weeks]

    def weekly(name: str, title: str, columns: list[str], kind: str = "bars") -> Chart:
        table = by_name[name.removesuffix("_times")]
        series = [(column, table.column(column)) for column in columns]
        return Chart(name, title, kind, labels, series, "h" if kind == "lines" else "")

    def totals(name: str, title: str, rows: Iterable[tuple[str, str, str | None]]) -> Chart:
        listed = list(rows)
        cells = []
        for label, kind, detail in listed:
            total = count(sum(f.n(idx, kind, detail) for idx in range(len(weeks))))
            # Beside the weekly column it sums, a total must not tell a hidden week.
            if reveals(by_name[name].column(label), total):
                total = Cell(SUPPRESSED, raw=total.raw)
            cells.append(total)
        return Chart(name, title, "totals", [label for label, *_ in listed], [("", cells)])

    return [
        weekly(
            "reach", "Clients who joined, were active, stopped", ["joined", "active", "stopped"]
        ),
        weekly("checkins", "Check-ins sent and answered", ["sent", "answered"]),
        totals(
            "taps",
            "The mix of taps over the period",
            [(label, events.CHECKIN_ANSWERED, mood) for mood, label in MOODS],
        ),
        totals(
            "pace",
            "Changes of pace over the period",
            [(label, kind, None) for kind, label in PACE],
        ),
        weekly("conversation", "Messages each way", ["from clients", "from specialists"]),
        weekly(
            "conversation_times",
            "Hours to a specialist's first answer",
            ["first answer median (h)", "first answer p90 (h)"],
            kind="lines",
        ),
        weekly("safety", "Flagged messages by level", ["flagged urgent", "flagged concern"]),
    ]


def section_tables(tallies: Tallies, weeks: list[Week], scope: Scope) -> list[Table]:
    """Reach, check-ins, taps, pace, conversation and safety for one scope."""
    f = Figures(tallies, weeks, scope)

    def counted(kind: str, detail: str | None = None) -> Callable[[int], Cell]:
        return lambda idx: count(f.n(idx, kind, detail))

    def sent(idx: int) -> int:
        return f.keyed("sent", idx)

    def answered(idx: int) -> int:
        return f.keyed("answered", idx)

    def by_message(idx: int) -> int:
        return f.keyed("by_message", idx)

    def client_waits(idx: int) -> list[float]:
        return f.waits(idx, events.CLIENT_MESSAGE)

    def flag_waits(idx: int) -> list[float]:
        return f.waits(idx, events.FLAGGED)

    return [
        f.table(
            "reach",
            "Reach",
            [
                ("invited", counted(events.INVITED)),
                ("joined", counted(events.JOINED)),
                ("active", lambda idx: count(f.active(idx))),
                ("paused", counted(events.PAUSED)),
                ("stopped", counted(events.STOPPED)),
                ("blocked", counted(events.BLOCKED)),
                ("erased", counted(events.ERASED)),
            ],
        ),
        f.table(
            "checkins",
            "Check-ins",
            [
                ("sent", lambda idx: count(sent(idx))),
                ("answered", lambda idx: count(answered(idx))),
                ("by tap", lambda idx: count(answered(idx) - by_message(idx))),
                ("by message", lambda idx: count(by_message(idx))),
                ("answer rate", lambda idx: rate(answered(idx), sent(idx))),
            ],
        ),
        f.table(
            "taps",
            "The mix of taps",
            [(label, counted(events.CHECKIN_ANSWERED, mood)) for mood, label in MOODS],
        ),
        f.table("pace", "Changes of pace", [(label, counted(kind)) for kind, label in PACE]),
        f.table(
            "conversation",
            "Conversation",
            [
                ("from clients", counted(events.CLIENT_MESSAGE)),
                ("from specialists", counted(events.SPECIALIST_MESSAGE)),
                ("first answer median (h)", lambda idx: hours(client_waits(idx), "median")),
                ("first answer p90 (h)", lambda idx: hours(client_waits(idx), "p90")),
                (
                    "unanswered after 24 h",
                    lambda idx: count(f.unanswered(idx, events.CLIENT_MESSAGE)),
                ),
            ],
        ),
        f.table(
            "safety",
            "Safety",
            [
                *[(f"flagged {label}", counted(events.FLAGGED, level)) for level, label in LEVELS],
                ("flag to answer median (h)", lambda idx: hours(flag_waits(idx), "median")),
                ("flag to answer worst (h)", lambda idx: hours(flag_waits(idx), "worst")),
                (
                    "flags unanswered after 24 h",
                    lambda idx: count(f.unanswered(idx, events.FLAGGED)),
                ),
                ("escalated", counted(events.ESCALATED)),
                *[
                    (f"escalation answered by {role}", counted(events.ESCALATION_ANSWERED, role))
                    for role in f.roles()
                ],
            ],
        ),
    ]


def caseload_table(staff: list[StaffRow], week: str, specialist: int | None) -> Table:
    """Specialists and caseloads now: for the programme, or one specialist's clients."""
    table = Table(
        "caseloads",
        "Specialists and caseloads (now)",
        [WEEK, "specialists", "clients", *STATUSES, "median caseload", "largest caseload"],
    )
    chosen = [row for row in staff if specialist is None or row.id == specialist]
    working = [row for row in chosen if row.active]
    loads = sorted(sum(row.clients.values()) for row in working) or [0]
    by_status = [sum(row.clients.get(status, 0) for row in chosen) for status in STATUSES]
    table.rows.append(
        (
            week,
            [
                count(len(working)),
                count(sum(sum(row.clients.values()) for row in chosen)),
                *[count(n) for n in by_status],
                count(int(loads[(len(loads) - 1) // 2])),
                count(loads[-1]),
            ],
        )
    )
    return table


# Sums a reader can do within one scope's tables: (table, parts, table, total), per row.
SUMS = (
    ("checkins", ("by tap", "by message"), "checkins", "answered"),
    ("taps", tuple(label for _, label in MOODS), "checkins", "by tap"),
    ("caseloads", STATUSES, "caseloads", "clients"),
)
# Figures that do not add up across specialists.
NOT_SUMMED = ("specialists", "median caseload", "largest caseload")


def _slot(table: Table, row: int, column: str) -> Slot:
    return table.rows[row][1], table.columns.index(column) - 1


def hide_complements(programme: list[Table], specialists: list[list[Table]]) -> None:
    """Complementary suppression: no hidden cell can be worked out by subtraction.

    Within each scope, a row's parts against their total (by tap and by message against
    answered; the taps against by tap; the statuses against clients); with specialists,
    each of their figures against the programme's (what belongs to no specialist now is
    an unseen remainder).
    """
    sums: list[Sum] = []
    for tables in (programme, *specialists):
        named = {table.name: table for table in tables}
        for parts_table, parts, total_table, total in SUMS:
            held, whole = named[parts_table], named[total_table]
            for row in range(min(len(held.rows), len(whole.rows))):
                slots = [_slot(held, row, column) for column in parts]
                sums.append((slots, _slot(whole, row, total), 0))
    for index, table in enumerate(programme):
        theirs = [tables[index] for tables in specialists]
        if not theirs:
            continue
        for row, (_, cells) in enumerate(table.rows):
            for column, cell in enumerate(cells):
                if cell.raw is None or table.columns[column + 1] in NOT_SUMMED:
                    continue
                slots = [(other.rows[row][1], column) for other in theirs]
                remainder = cell.raw - sum(row_[i].raw or 0 for row_, i in slots)
                sums.append((slots, (cells, column), remainder))
    protect(sums)
    # A rate beside its shown denominator would give a hidden numerator back (and the
    # other way round).
    for tables in (programme, *specialists):
        for table in tables:
            if table.name != "checkins":
                continue
            for _, cells in table.rows:
                index = table.columns.index("answer rate") - 1
                sides = (table.columns.index(side) - 1 for side in ("answered", "sent"))
                if any(cells[side].hidden for side in sides) and cells[index].number is not None:
                    cells[index] = Cell(SUPPRESSED)
    # A caseload's median or largest names a specialist's own count: hidden with it.
    loads = ("median caseload", "largest caseload")
    hidden = {
        cell.raw
        for tables in specialists
        for table in tables
        if table.name == "caseloads"
        for cell in table.column("clients")
        if cell.hidden
    }
    for tables in (programme, *specialists):
        for table in tables:
            if table.name != "caseloads":
                continue
            mine = tables is not programme
            for _, cells in table.rows:
                for load in loads:
                    index = table.columns.index(load) - 1
                    clients = cells[table.columns.index("clients") - 1]
                    tells = clients.hidden if mine else cells[index].raw in hidden
                    if tells and not cells[index].hidden:
                        cells[index] = Cell(SUPPRESSED, raw=cells[index].raw)


def period_label(weeks: list[Week]) -> str:
    """'2026-W37 to 2026-W48', for the page's heading."""
    if not weeks:
        return ""
    return f"{weeks[0].label} to {weeks[-1].label}"
