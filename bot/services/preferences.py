"""The client's settings: rhythm, time, time zone, quiet hours, pause, resume and stop.

Buttons first, typed commands for the same. A setup message is edited in place as
the client taps through it (cadence, then day or days, then the moment, then the
time zone the first time), so the chat stays short. The choices made so far ride
in the buttons' data; only "type a time" and "type a time zone" leave a note in
the client's row (`awaiting`), and text that does not parse as the awaited answer
is relayed as usual: nothing a client writes is lost to a settings dialogue.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, time, timedelta

from bot.delivery.outbox import Buttons
from bot.domain.models import Client, ClientStatus, Schedule, Specialist
from bot.domain.rhythm import (
    Cadence,
    QuietHours,
    Rhythm,
    ScheduleSyntaxError,
    Window,
    next_due,
    parse_pause,
    parse_quiet,
    parse_schedule,
    parse_zone,
    quiet_begins,
    zone,
)
from bot.services.base import ScheduleContext, ScheduleService
from bot.services.languages import SETUP, language_buttons
from bot.storage import events

COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Madrid",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
)
TIME_CHOICES = tuple(time(hour) for hour in range(7, 23))
QUIET_CHOICES = (
    QuietHours(time(22), time(7)),
    QuietHours(time(23), time(8)),
    QuietHours(time(21), time(9)),
)
# How long a "type a time" or "type a time zone" question waits for its answer.
ANSWER_WINDOW = timedelta(minutes=15)
PAUSES = {"1d": timedelta(days=1), "1w": timedelta(weeks=1), "2w": timedelta(weeks=2)}
CADENCE_ROWS = (
    (Cadence.DAILY, Cadence.EVERY_2_DAYS),
    (Cadence.EVERY_3_DAYS, Cadence.WEEKLY),
    (Cadence.WEEKDAYS, Cadence.WHEN_I_WRITE),
)
CADENCE_LABELS = {
    Cadence.DAILY: "setup.every_day",
    Cadence.EVERY_2_DAYS: "setup.every_2_days",
    Cadence.EVERY_3_DAYS: "setup.every_3_days",
    Cadence.WEEKLY: "setup.weekly",
    Cadence.WEEKDAYS: "setup.weekdays",
    Cadence.WHEN_I_WRITE: "setup.when_i_write",
}


def _mask(days: frozenset[int]) -> int:
    return sum(1 << day for day in days)


def _days(mask: int) -> frozenset[int]:
    return frozenset(day for day in range(7) if mask >> day & 1)


class Preferences(ScheduleService):
    """Reads and changes a client's schedule, and says what it now is."""

    def __init__(
        self,
        context: ScheduleContext,
        *,
        default_timezone: str,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(context, rng)
        self._default_timezone = default_timezone

    # ------------------------------------------------------------------ questions

    def _t(self, client: Client, key: str, **params: object) -> str:
        return self._texts.get(key, client.language, **params)

    def cadence_question(self, client: Client, languages: bool = False) -> tuple[str, Buttons]:
        """How often? Six choices; right after consent, with a row to change the language."""
        rows = [
            [(self._t(client, CADENCE_LABELS[c]), f"r:c:{c.value}") for c in row]
            for row in CADENCE_ROWS
        ]
        if languages and len(self._texts.languages) > 1:
            rows.append(language_buttons(self._texts, client.language, SETUP))
        return self._t(client, "setup.cadence_question"), rows

    def weekly_question(self, client: Client) -> tuple[str, Buttons]:
        """Which day, for once a week."""
        days = [(self._phrasing.weekday(day, client.language), f"r:w:{day}") for day in range(7)]
        return self._t(client, "setup.weekly_question"), [days[:4], days[4:]]

    def weekdays_question(self, client: Client, mask: int) -> tuple[str, Buttons]:
        """Which days, tapped on and off, then Done."""
        chosen = _days(mask)
        days = [
            (
                ("✓ " if day in chosen else "")
                + self._phrasing.weekday_short(day, client.language),
                f"r:t:{mask ^ (1 << day)}",
            )
            for day in range(7)
        ]
        rows: list[list[tuple[str, str]]] = [days[:4], days[4:]]
        if chosen:
            rows.append([(self._t(client, "setup.done"), f"r:d:{mask}")])
        return self._t(client, "setup.weekdays_question"), rows

    def moment_question(self, client: Client, cadence: Cadence, mask: int) -> tuple[str, Buttons]:
        """Morning, afternoon, evening, or a set time."""
        base = f"{cadence.value}:{mask}"
        return self._t(client, "setup.moment_question"), [
            [
                (self._t(client, f"setup.{window.value}"), f"r:m:{base}:{window.value}")
                for window in Window
            ],
            [(self._t(client, "setup.set_time"), f"r:s:{base}")],
        ]

    def time_question(self, client: Client, cadence: Cadence, mask: int) -> tuple[str, Buttons]:
        """A grid of whole hours; any other time can be typed."""
        base = f"{cadence.value}:{mask}"
        buttons = [(f"{t:%H:%M}", f"r:h:{base}:{t:%H%M}") for t in TIME_CHOICES]
        rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
        return self._t(client, "setup.time_question"), rows

    def timezone_question(self, client: Client) -> tuple[str, Buttons]:
        """The programme's zone and a few common ones; any other can be typed."""
        zones = [self._default_timezone, *(z for z in COMMON_ZONES if z != self._default_timezone)]
        buttons = [(name, f"z:{name}") for name in zones]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        return self._t(client, "setup.timezone_question"), rows

    def quiet_question(self, client: Client) -> tuple[str, Buttons]:
        """No quiet hours, or one of a few common spans; any other can be typed."""
        spans = [
            (self._phrasing.quiet(q, client.language), f"q:{q.start:%H%M}-{q.end:%H%M}")
            for q in QUIET_CHOICES
        ]
        return self._t(client, "setup.quiet_question"), [
            [(self._t(client, "setup.quiet_none"), "q:none")],
            spans,
        ]

    def pause_question(self, client: Client, specialist_name: str) -> tuple[str, Buttons]:
        """1 day, 1 week, 2 weeks, or until I say."""
        return self._t(client, "pause.question", specialist=specialist_name), [
            [
                (self._t(client, "pause.one_day"), "p:1d"),
                (self._t(client, "pause.one_week"), "p:1w"),
                (self._t(client, "pause.two_weeks"), "p:2w"),
            ],
            [(self._t(client, "pause.open"), "p:open")],
        ]

    def stop_question(self, client: Client, specialist_name: str) -> tuple[str, Buttons]:
        """Confirm before stopping."""
        return self._t(client, "pause.stop_question", specialist=specialist_name), [
            [
                (self._t(client, "pause.stop_yes"), "x:yes"),
                (self._t(client, "pause.stop_no"), "x:no"),
            ]
        ]

    def settings_buttons(self, client: Client) -> Buttons:
        """The menu under /settings: what can be changed, and a way to stop check-ins or
        (when paused or stopped) to resume them, so nobody has to type a command."""
        rows: list[list[tuple[str, str]]] = [
            [
                (self._t(client, "settings.change_rhythm"), "s:rhythm"),
                (self._t(client, "settings.change_timezone"), "s:tz"),
            ],
            [(self._t(client, "settings.change_quiet"), "s:quiet")],
        ]
        if client.status is ClientStatus.ACTIVE:
            rows[1].append((self._t(client, "settings.pause"), "s:pause"))
        else:
            rows[1].append((self._t(client, "settings.resume"), "s:resume"))
        if client.status is not ClientStatus.STOPPED:
            rows.append([(self._t(client, "settings.stop"), "s:stop")])
        return rows

    async def ask(self, client: Client, question: tuple[str, Buttons]) -> None:
        """Send a question as a new message."""
        text, buttons = question
        async with self._db.transaction():
            await self._outbox.text(client.chat_id, text, buttons=buttons)

    async def show(self, client: Client, message_id: int, question: tuple[str, Buttons]) -> None:
        """Turn an earlier setup message into the next question."""
        text, buttons = question
        async with self._db.transaction():
            await self._outbox.edit_text(client.chat_id, message_id, text, buttons=buttons)

    # ------------------------------------------------------------------ the summary

    async def summary(self, client: Client) -> str:
        """What the client has chosen and when the next check-in comes."""
        async with self._db.transaction():
            schedule = await self._schedules.get(client.id)
            fresh = await self._clients.by_id(client.id)
        assert schedule is not None and fresh is not None
        return self._summary(fresh, schedule)

    def _summary(self, client: Client, schedule: Schedule) -> str:
        language = client.language
        tz = zone(schedule.timezone)
        if client.status is ClientStatus.STOPPED:
            status = self._t(client, "settings.stopped")
        elif client.status is ClientStatus.PAUSED and schedule.paused_until is None:
            status = self._t(client, "settings.paused_open")
        elif client.status is ClientStatus.PAUSED and schedule.paused_until is not None:
            until = self._phrasing.moment(schedule.paused_until, tz, language)
            status = self._t(client, "settings.paused_until", until=until)
        elif schedule.rhythm is None or schedule.next_due_at is None:
            status = self._t(client, "settings.none_scheduled")
        else:
            when = self._phrasing.next_checkin(
                schedule.next_due_at, tz, self._clock.now(), schedule.rhythm, language
            )
            status = self._t(client, "settings.next", next=when)
        return self._t(
            client,
            "settings.summary",
            rhythm=self._phrasing.rhythm(schedule.rhythm, language),
            timezone=schedule.timezone,
            quiet=self._phrasing.quiet(schedule.quiet, language),
            status=status,
        )

    async def send_settings(self, client: Client) -> None:
        """/settings: the summary with the menu."""
        async with self._db.transaction():
            schedule = await self._schedules.get(client.id)
            fresh = await self._clients.by_id(client.id)
            assert schedule is not None and fresh is not None
            text = self._summary(fresh, schedule)
            await self._outbox.text(client.chat_id, text, buttons=self.settings_buttons(fresh))

    # ------------------------------------------------------------------ changes

    async def _change(
        self,
        client: Client,
        change: Schedule,
        *,
        status: ClientStatus | None = None,
        edit: int | None = None,
        then: tuple[str, Buttons] | None = None,
        pace: bool = False,
    ) -> None:
        """Store a changed schedule, reschedule, and answer with the summary (or `then`);
        with `pace`, the client chose their pace (ScheduleRepository.pace_chosen)."""
        new_status = status or client.status
        async with self._db.transaction():
            stored = await self._schedules.get(client.id)
            assert stored is not None
            change = self._reschedule(_with_choices(stored, change), new_status)
            await self._schedules.save(change)
            if pace:
                await self._schedules.pace_chosen(client.id)
            if new_status is not client.status:
                await self._clients.set_status(client.id, new_status)
            unscheduled = change.rhythm is not None and not change.rhythm.is_scheduled
            if unscheduled or new_status in (ClientStatus.PAUSED, ClientStatus.STOPPED):
                # "Only when I write" stops check-ins as a pause does.
                await self._outbox.withdraw_checkins(client.chat_id)
            elif (change.quiet, change.timezone) != (stored.quiet, stored.timezone):
                # A check-in still waiting to go (Telegram down) knows the quiet hours it was
                # queued under: in a new zone, or under new ones, it must not come at night.
                begins = quiet_begins(self._clock.now(), zone(change.timezone), change.quiet)
                if begins is not None:
                    await self._outbox.expire_checkins(client.chat_id, begins)
            fresh = await self._clients.by_id(client.id)
            assert fresh is not None
            text, buttons = then or (self._summary(fresh, change), None)
            if edit is not None:
                await self._outbox.edit_text(client.chat_id, edit, text, buttons=buttons)
            else:
                await self._outbox.text(client.chat_id, text, buttons=buttons)

    def _reschedule(self, change: Schedule, status: ClientStatus) -> Schedule:
        """When the next check-in is due under the changed schedule and this status."""
        if status is ClientStatus.STOPPED:
            return replace(change, next_due_at=None, paused_until=None)
        if status is ClientStatus.PAUSED:
            return replace(change, next_due_at=change.paused_until)
        if change.rhythm is None:
            return change
        following = next_due(
            change.rhythm,
            zone(change.timezone),
            change.quiet,
            self._clock.now(),
            last_slot=change.last_slot,
            rng=self._rng,
        )
        return replace(change, next_due_at=following)

    async def _save(self, change: Schedule) -> None:
        """Inside a transaction: store the client's choices from `change` onto the schedule
        as it is now, so a tick that committed since `change` was read is not undone."""
        stored = await self._schedules.get(change.client_id)
        assert stored is not None
        await self._schedules.save(_with_choices(stored, change))

    async def _schedule(self, client: Client) -> Schedule:
        async with self._db.autocommit():
            schedule = await self._schedules.get(client.id)
        assert schedule is not None
        return schedule

    async def set_rhythm(self, client: Client, rhythm: Rhythm, edit: int | None = None) -> None:
        """A new rhythm; the first time, the time zone question follows."""
        stored = await self._schedule(client)
        if rhythm.cadence is Cadence.WHEN_I_WRITE and stored.rhythm != rhythm:
            await self._record_pace(client, events.WHEN_I_WRITE)
        schedule = replace(stored, rhythm=rhythm, awaiting=None)
        # Choosing a schedule is how a stopped client starts again.
        status = ClientStatus.ACTIVE if client.status is ClientStatus.STOPPED else None
        if rhythm.is_scheduled and not schedule.timezone_chosen:
            # Scheduled already in the programme's zone, so a client who never answers
            # the zone question still gets the check-ins they chose.
            await self._change(
                client,
                replace(schedule, awaiting=self._asked("timezone")),
                status=status,
                edit=edit,
                then=self.timezone_question(client),
                pace=True,
            )
            return
        await self._change(client, schedule, status=status, edit=edit, pace=True)

    async def set_timezone(self, client: Client, name: str, edit: int | None = None) -> None:
        """A new time zone (already validated)."""
        schedule = await self._schedule(client)
        await self._change(
            client,
            replace(schedule, timezone=name, timezone_chosen=True, awaiting=None),
            edit=edit,
        )

    async def set_quiet(
        self, client: Client, quiet: QuietHours | None, edit: int | None = None
    ) -> None:
        """New quiet hours, or none."""
        schedule = await self._schedule(client)
        await self._change(client, replace(schedule, quiet=quiet), edit=edit)

    async def await_time(self, client: Client, cadence: Cadence, mask: int) -> None:
        """Remember that the next plain text may be the time for this rhythm."""
        schedule = await self._schedule(client)
        async with self._db.transaction():
            await self._save(
                replace(schedule, awaiting=self._asked(f"time:{cadence.value}:{mask}"))
            )

    async def await_timezone(self, client: Client) -> None:
        """Remember that the next plain text may be a time zone."""
        schedule = await self._schedule(client)
        async with self._db.transaction():
            await self._save(replace(schedule, awaiting=self._asked("timezone")))

    async def typed_answer(self, client: Client, text: str) -> bool:
        """If the client was just asked to type a time or zone and this is one, use it.

        Only the very next message, and only within ANSWER_WINDOW of the question, is
        considered: whatever else it is, it is relayed and the question lapses, so a
        later "Japan", "+1" or "UTC" in conversation is never taken for a setting.
        """
        if client.awaiting is None:
            return False  # nothing asked: no need to read the schedule
        schedule = await self._schedule(client)
        if schedule.awaiting is None:
            return False
        awaiting, _, asked_at = schedule.awaiting.partition("@")
        asked = float(asked_at) if asked_at.isdigit() else 0.0
        try:
            if self._clock.now().timestamp() - asked > ANSWER_WINDOW.total_seconds():
                raise ValueError("the question has lapsed")
            if awaiting == "timezone":
                await self.set_timezone(client, parse_zone(text.strip()))
            else:
                _, cadence, mask = awaiting.split(":")
                await self.set_rhythm(client, self.build_rhythm(cadence, mask, at=text.strip()))
        except ValueError:
            async with self._db.transaction():
                await self._save(replace(schedule, awaiting=None))
            return False
        return True

    def _asked(self, question: str) -> str:
        """What `awaiting` holds: the question, and when it was asked."""
        return f"{question}@{int(self._clock.now().timestamp())}"

    @staticmethod
    def build_rhythm(
        cadence: str, mask: str, *, window: str | None = None, at: str | None = None
    ) -> Rhythm:
        """A rhythm from button data; ValueError if the parts do not make one."""
        days = _days(int(mask)) if mask.isdigit() else frozenset()
        moment_time = None
        if at is not None:
            digits = at.replace(":", "")
            if not (digits.isdigit() and len(digits) in (3, 4)):
                raise ValueError("not a time")
            moment_time = time(int(digits[:-2]), int(digits[-2:]))
        return Rhythm(
            Cadence(cadence),
            weekdays=days,
            window=Window(window) if window else None,
            at=moment_time,
        )

    # ------------------------------------------------------------------ typed commands

    async def schedule_command(self, client: Client, args: list[str]) -> None:
        """/schedule ..., or bare /schedule for the buttons."""
        if not args:
            await self.ask(client, self.cadence_question(client))
            return
        try:
            rhythm = parse_schedule(args)
        except ScheduleSyntaxError:
            await self._say(client, "schedule.usage")
            return
        await self.set_rhythm(client, rhythm)

    async def timezone_command(self, client: Client, args: list[str]) -> None:
        """/timezone <name or offset>, or bare for the buttons."""
        if not args:
            await self.await_timezone(client)
            await self.ask(client, self.timezone_question(client))
            return
        try:
            name = parse_zone(" ".join(args))
        except ValueError:
            await self._say(client, "schedule.timezone_usage")
            return
        await self.set_timezone(client, name)

    async def quiet_command(self, client: Client, args: list[str]) -> None:
        """/quiet HH:MM-HH:MM or /quiet off, or bare for the buttons."""
        if not args:
            await self.ask(client, self.quiet_question(client))
            return
        try:
            quiet = parse_quiet(args)
        except ValueError:
            await self._say(client, "schedule.quiet_usage")
            return
        await self.set_quiet(client, quiet)

    async def _say(
        self, client: Client, key: str, *, edit: int | None = None, **params: object
    ) -> None:
        async with self._db.transaction():
            if edit is not None:
                await self._outbox.edit_text(client.chat_id, edit, self._t(client, key, **params))
            else:
                await self._outbox.text(client.chat_id, self._t(client, key, **params))

    # ------------------------------------------------------------------ pause, resume, stop

    async def pause_command(self, client: Client, specialist: Specialist, args: list[str]) -> None:
        """/pause 1w (or the choices when bare)."""
        if not args:
            await self.ask(client, self.pause_question(client, specialist.display_name))
            return
        try:
            length = parse_pause(" ".join(args))
        except ValueError:
            await self._say(client, "schedule.pause_usage")
            return
        await self.pause(client, specialist, length)

    async def pause_choice(
        self, client: Client, specialist: Specialist, choice: str, edit: int
    ) -> None:
        """A tap on one of the pause choices."""
        if choice != "open" and choice not in PAUSES:
            return
        await self.pause(client, specialist, PAUSES.get(choice), edit=edit)

    async def pause(
        self,
        client: Client,
        specialist: Specialist,
        length: timedelta | None,
        edit: int | None = None,
    ) -> None:
        """Pause check-ins for a while, or until the client says.

        The specialist hears of a pause once: the same pause again (a double tap on the
        choice, or /pause 1w twice in a day) tells them nothing new and is not announced.
        """
        now = self._clock.now()
        schedule = await self._schedule(client)
        until = None if length is None else now + length
        tz = zone(schedule.timezone)
        when = self._pause_for_staff(until, specialist.language)
        known = client.status is ClientStatus.PAUSED and (
            self._pause_for_staff(schedule.paused_until, specialist.language) == when
        )
        async with self._db.transaction():
            await self._save(replace(schedule, paused_until=until, next_due_at=until))
            await self._schedules.pace_chosen(client.id)
            await self._clients.set_status(client.id, ClientStatus.PAUSED)
            if client.status is not ClientStatus.PAUSED:
                await events.about(self._db, events.PAUSED, now, client)
            await self._outbox.withdraw_checkins(client.chat_id)
            name = specialist.display_name
            if until is None:
                text = self._t(client, "pause.done_open", specialist=name)
            else:
                moment = self._phrasing.moment(until, tz, client.language)
                text = self._t(client, "pause.done_until", until=moment, specialist=name)
            if edit is not None:
                await self._outbox.edit_text(client.chat_id, edit, text)
            else:
                await self._outbox.text(client.chat_id, text)
            if not known:
                await self._outbox.note_about(
                    specialist,
                    client,
                    self._texts.get(
                        "to_specialist.paused", specialist.language, alias=client.alias, until=when
                    ),
                )

    def _pause_for_staff(self, until: datetime | None, language: str) -> str:
        """How long a pause lasts, as the specialist is told: 'until Monday 7 December'."""
        if until is None:
            return self._texts.get("to_specialist.until_open", language)
        return self._texts.get(
            "to_specialist.until_date", language, date=self._phrasing.date(until.date(), language)
        )

    async def resume(
        self, client: Client, specialist: Specialist, edit: int | None = None
    ) -> None:
        """/resume (or Resume under /settings, whose message `edit` names) after a pause or
        a stop."""
        schedule = await self._schedule(client)
        if client.status not in (ClientStatus.PAUSED, ClientStatus.STOPPED):
            await self._say(client, "pause.not_paused", edit=edit)
            return
        await self._record_pace(client, events.RESUMED)
        if schedule.rhythm is None:
            async with self._db.transaction():
                await self._clients.set_status(client.id, ClientStatus.ACTIVE)
            await self._say(client, "pause.no_schedule", edit=edit)
            return
        resumed = replace(schedule, paused_until=None, welcome_back=True)
        await self._change(client, resumed, status=ClientStatus.ACTIVE, edit=edit, pace=True)
        theirs = specialist.language
        rhythm = self._phrasing.rhythm(schedule.rhythm, theirs)
        async with self._db.transaction():
            await self._outbox.note_about(
                specialist,
                client,
                self._texts.get(
                    "to_specialist.resumed", theirs, alias=client.alias, rhythm=rhythm
                ),
            )

    async def stop(self, client: Client, specialist: Specialist, edit: int) -> None:
        """Stop scheduled check-ins (after the confirmation); the relay stays open.

        Already stopped (a double tap on "Yes, stop them"): the same answer, and the
        specialist is not told twice.
        """
        schedule = await self._schedule(client)
        stopped = client.status is ClientStatus.STOPPED
        async with self._db.transaction():
            await self._save(replace(schedule, next_due_at=None, paused_until=None))
            await self._clients.set_status(client.id, ClientStatus.STOPPED)
            if not stopped:
                await events.about(self._db, events.STOPPED, self._clock.now(), client)
            await self._outbox.withdraw_checkins(client.chat_id)
            await self._outbox.edit_text(
                client.chat_id,
                edit,
                self._t(client, "pause.stopped", specialist=specialist.display_name),
            )
            if not stopped:
                await self._outbox.note_about(
                    specialist,
                    client,
                    self._texts.get(
                        "to_specialist.stopped", specialist.language, alias=client.alias
                    ),
                )

    async def unblock(self, client: Client) -> None:
        """A client who had blocked the bot is back: everything resumes as it was before."""
        if client.status is not ClientStatus.BLOCKED:
            return
        async with self._db.transaction():
            restored = await self._clients.unblock(client.id)
            schedule = await self._schedules.get(client.id)
            assert schedule is not None
            await self._schedules.save(self._reschedule(schedule, restored))

    async def keep(self, client: Client, edit: int) -> None:
        """'Keep them' under the stop question."""
        async with self._db.transaction():
            await self._outbox.edit_text(client.chat_id, edit, self._t(client, "pause.stop_kept"))

    async def _record_pace(self, client: Client, kind: str) -> None:
        """A change of pace the client made, for the programme report."""
        async with self._db.autocommit():
            await events.about(self._db, kind, self._clock.now(), client)


def _with_choices(stored: Schedule, change: Schedule) -> Schedule:
    """The client's choices (and what follows from them) from `change`; the tick's progress
    (last slot, unanswered count, last prompt, manual check-in) as stored."""
    return replace(
        stored,
        rhythm=change.rhythm,
        quiet=change.quiet,
        timezone=change.timezone,
        timezone_chosen=change.timezone_chosen,
        paused_until=change.paused_until,
        next_due_at=change.next_due_at,
        welcome_back=change.welcome_back,
        awaiting=change.awaiting,
    )
