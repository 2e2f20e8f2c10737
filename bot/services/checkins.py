"""The check-in engine: one repeating tick over an indexed next_due_at, and the answers.

The tick claims due clients in small batches; for each batch, in one transaction,
it decides (bot.domain.engine), writes the check-ins to the outbox and advances
next_due_at from now. Batches are written with executemany, so 20,000 clients due
in the same minute cost a few statements per batch rather than per client, and no
batch holds the event loop for long. Check-ins are queued at-most-once under an
idempotency key per client and due moment: never the same check-in twice, also
across a crash.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot import metrics
from bot.delivery.outbox import NewText, keyboard
from bot.domain.engine import Action, Decision, decide, decide_manual
from bot.domain.models import Checkin, CheckinKind, Client, ClientStatus, Schedule, Specialist
from bot.domain.rhythm import after_quiet, next_due, quiet_begins, step_down, zone
from bot.logs import EventLog
from bot.services.away import Away
from bot.services.base import ScheduleContext, ScheduleService
from bot.storage import events
from bot.storage.outbox import SLOT, Priority
from bot.storage.schedules import DueClient

log = EventLog(__name__)

BATCH = 150
# Clients decided in one go before the event loop gets a turn (about 2 ms of work).
DECIDE_STRETCH = 50
MOOD_ANSWERS = ("ok", "meh", "not_today", "talk")
CHECKIN_ROWS = (("ok", "meh"), ("not_today", "talk"), ("fewer", "pause"))
PATIENCE_ROWS = (("less", "keep"), ("pause",))
# A message counts as the answer to the latest check-in only this long after it was sent
# (and only before the next one, which is then the latest).
CHECKIN_ANSWER_WINDOW = timedelta(hours=24)


def checkin_data(due_at: datetime, answer: str) -> str:
    """Callback data of a check-in button: the slot (epoch seconds) and the answer."""
    return f"ci:{int(due_at.timestamp())}:{answer}"


def parse_checkin_data(data: str) -> tuple[datetime, str] | None:
    """The (due moment, answer) of a check-in button, or None if it is not one of ours."""
    parts = data.split(":")
    answers = (*MOOD_ANSWERS, "fewer", "pause", "less", "keep")
    if len(parts) != 3 or parts[0] != "ci" or not parts[1].isdigit() or parts[2] not in answers:
        return None
    try:
        return datetime.fromtimestamp(int(parts[1]), tz=zone("UTC")), parts[2]
    except (OverflowError, OSError, ValueError):
        return None


class Tap(StrEnum):
    """What a tap on a check-in's button led to."""

    DONE = "done"
    PAUSE = "pause"
    INVALID = "invalid"


@dataclass
class TickReport:
    """What one tick did, for logs and benchmarks."""

    checkins: int = 0
    offers: int = 0
    skipped: int = 0
    resumed: int = 0
    cleared: int = 0
    # Clients still due when the tick's time was up (a storm): the next slice goes on.
    more: bool = False

    def count(self, action: Action) -> None:
        """Count one decision."""
        name = _REPORTED_AS[action]
        setattr(self, name, getattr(self, name) + 1)


_REPORTED_AS = {
    Action.CHECKIN: "checkins",
    Action.PATIENCE: "offers",
    Action.SKIP: "skipped",
    Action.RESUME: "resumed",
    Action.CLEAR: "cleared",
}


class CheckIns(ScheduleService):
    """Sends check-ins when they are due and carries their answers to the specialist."""

    def __init__(
        self,
        context: ScheduleContext,
        *,
        patience_after: int,
        staff_timezone: str,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(context, rng)
        self._patience_after = patience_after
        self._staff_tz = zone(staff_timezone)
        self._keyboards: dict[tuple[CheckinKind, str], str] = {}
        self._prompts: dict[tuple[str | None, str, str], str] = {}
        self._prompt_keys = sorted(
            key.removeprefix("prompts.")
            for key in self._texts.names()
            if key.startswith("prompts.")
        )
        # The specialist's away time (bot.services.away): a client who asks to talk while
        # they are away hears so, as a message would tell them.
        self.away: Away | None = None

    # ------------------------------------------------------------------ the tick

    async def tick(self, seconds: float | None = None) -> TickReport:
        """Handle every client whose moment has come, batch by batch; with `seconds`, stop
        starting batches once that much time has passed (at least one batch) and say in the
        report whether more are due. Each batch is its own transaction, so a slice that
        stops (or a process killed in one) leaves nobody half-handled: the rest are still
        due, and the next slice claims them."""
        report = TickReport()
        started = time.perf_counter()
        until = None if seconds is None else started + seconds
        self._prompts.clear()  # a renamed specialist reads their new name from the next tick
        now = self._clock.now()
        for manual in (False, True):
            # Check-ins a specialist asked for are few: each slice takes its batch of them
            # too, rather than leaving them behind a storm of scheduled ones.
            if await self._drain(manual, now, report, until):
                report.more = True
        if report.checkins or report.offers or report.resumed:
            log.info(
                "checkins.tick",
                sent=report.checkins,
                offers=report.offers,
                skipped=report.skipped,
                resumed=report.resumed,
                more=report.more,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        return report

    async def _drain(
        self, manual: bool, now: datetime, report: TickReport, until: float | None
    ) -> bool:
        """Claim and handle due clients (scheduled, or asked for by a specialist) in batches,
        until none are left (False) or the time is up with more still due (True)."""
        while True:
            # Between batches, whatever a person is waiting for goes first.
            async with self._db.transaction(background=True):
                claimed = await (
                    self._schedules.manual_due(now, BATCH)
                    if manual
                    else self._schedules.due(now, BATCH)
                )
                if claimed:
                    await self._handle_batch(claimed, now, manual, report)
            if len(claimed) < BATCH:
                return False
            if until is not None and time.perf_counter() >= until:
                return True

    async def _handle_batch(
        self, claimed: list[DueClient], now: datetime, manual: bool, report: TickReport
    ) -> None:
        schedules: list[Schedule] = []
        checkins: list[tuple[int, CheckinKind, datetime, str | None]] = []
        # In the order they are queued; a DueClient stands for the note to their specialist
        # about an offer to ease off, written once their languages are known.
        messages: list[NewText | DueClient] = []
        status_changes: list[tuple[int, ClientStatus]] = []
        for number, due in enumerate(claimed, start=1):
            if number % DECIDE_STRETCH == 0:
                # Other work gets the event loop (the connection stays this batch's).
                await asyncio.sleep(0)
            decision = self._decide(due, now, manual)
            report.count(decision.action)
            schedules.append(decision.schedule)
            if decision.status is not due.client.status:
                status_changes.append((due.client.id, decision.status))
            sent = self._render(due, decision, now, manual)
            if sent is not None:
                kind, due_at, text = sent
                checkins.append((due.client.id, kind, due_at, decision.prompt_key))
                messages.append(text)
            if decision.action is Action.PATIENCE:
                messages.append(due)
        texts = await self._with_patience_notes(messages)
        checked_in = {client_id for client_id, _, _, _ in checkins}
        # Every write of the batch handed over at once, in this order.
        await self._db.write_steps(
            [
                self._schedules.progress_step(schedules, checked_in, now),
                self._clients.statuses_step(status_changes),
                self._schedules.checkins_step(checkins, now),
                events.checkins_sent_step([(row[0], row[2]) for row in checkins], now),
                *self._outbox.text_steps(texts),
            ]
        )

    def _decide(self, due: DueClient, now: datetime, manual: bool) -> Decision:
        if manual:
            return decide_manual(
                due.client.status,
                due.schedule,
                now,
                prompt_keys=self._prompt_keys,
                rng=self._rng,
            )
        return decide(
            due.client.status,
            due.schedule,
            now,
            prompt_keys=self._prompt_keys,
            patience_after=self._patience_after,
            rng=self._rng,
        )

    def _render(
        self, due: DueClient, decision: Decision, now: datetime, manual: bool
    ) -> tuple[CheckinKind, datetime, NewText] | None:
        """The check-in (or offer) message for a decision that sends one."""
        if decision.action not in (Action.CHECKIN, Action.PATIENCE):
            return None
        slot = due.schedule.manual_due_at if manual else due.schedule.next_due_at
        assert slot is not None
        due_at = slot.replace(microsecond=0)
        language = due.client.language
        if decision.action is Action.PATIENCE:
            kind = CheckinKind.PATIENCE
            text = self._texts.get("checkin.patience", language)
        else:
            kind = CheckinKind.MANUAL if manual else CheckinKind.SCHEDULED
            text = self._prompt(decision.prompt_key, language, due.specialist_name)
            if decision.welcome_back:
                text = f"{self._texts.get('checkin.welcome_back', language)}\n\n{text}"
        slot_key = str(int(due_at.timestamp()))
        scheduled = kind is CheckinKind.SCHEDULED
        message = NewText(
            chat_id=due.client.chat_id,
            text=text,
            keyboard=self._keyboard_json(kind, language),
            slot=slot_key,
            priority=Priority.SCHEDULED,
            idempotency_key=f"checkin:{due.client.id}:{slot_key}",
            at_most_once=True,
            # A scheduled check-in held up past the start of quiet hours is dropped there (the
            # next one comes in its time); one the specialist asked for, or an offer to ease
            # off, is never dropped so: the specialist was told it is on its way.
            expires=quiet_begins(now, zone(due.schedule.timezone), due.schedule.quiet)
            if scheduled
            else None,
            quiet_drops=scheduled,
        )
        return kind, due_at, message

    def _prompt(self, key: str | None, language: str, specialist: str) -> str:
        """A check-in's prompt, rendered once per tick for everyone who shares it."""
        found = self._prompts.get((key, language, specialist))
        if found is None:
            found = self._texts.get(f"prompts.{key}", language, specialist=specialist)
            self._prompts[(key, language, specialist)] = found
        return found

    def _keyboard_json(self, kind: CheckinKind, language: str) -> str:
        """The buttons under a check-in or an offer, as JSON with SLOT for the due moment."""
        cached = self._keyboards.get((kind, language))
        if cached is None:
            rows = PATIENCE_ROWS if kind is CheckinKind.PATIENCE else CHECKIN_ROWS
            labels = "patience_" if kind is CheckinKind.PATIENCE else ""
            buttons = [
                [
                    (
                        self._texts.get(f"checkin.{labels}{answer}", language),
                        f"ci:{SLOT}:{answer}",
                    )
                    for answer in row
                ]
                for row in rows
            ]
            cached = json.dumps(keyboard(buttons), ensure_ascii=False, separators=(",", ":"))
            self._keyboards[(kind, language)] = cached
        return cached

    async def _with_patience_notes(self, messages: list[NewText | DueClient]) -> list[NewText]:
        """The batch's texts, each DueClient replaced by the note to their specialist."""
        offered = {item.specialist_chat_id for item in messages if isinstance(item, DueClient)}
        if not offered:
            return [item for item in messages if isinstance(item, NewText)]
        # Looked up only here (rarely), for the batch at once: the tick's claim of due
        # clients stays as lean as it is. A specialist's private chat has their user id.
        languages = await self._staff_languages.languages_of(offered)
        return [
            self._patience_note(item, languages[item.specialist_chat_id])
            if isinstance(item, DueClient)
            else item
            for item in messages
        ]

    def _patience_note(self, due: DueClient, language: str) -> NewText:
        text = self._texts.get(
            "to_specialist.patience_note",
            language,
            alias=due.client.alias,
            count=self._patience_after,
        )
        return NewText(chat_id=due.specialist_chat_id, text=text)

    # ------------------------------------------------------------------ answers

    async def answer(
        self,
        client: Client,
        specialist: Specialist,
        due_at: datetime,
        answer: str,
        message_id: int,
    ) -> Tap:
        """A tap on a check-in's button.

        A tap on a check-in that is not this client's changes nothing (INVALID); one on a
        check-in already answered by a tap is thanked and changes nothing. PAUSE asks the
        caller to show the pause choices.
        """
        now = self._clock.now()
        async with self._db.transaction():
            checkin = await self._schedules.checkin_at(client.id, due_at)
            if checkin is None:
                return Tap.INVALID
            if checkin.answer not in (None, "message"):
                await self._outbox.remove_buttons(client.chat_id, message_id)
                await self._outbox.text(
                    client.chat_id, self._texts.get("checkin.button_used", client.language)
                )
                return Tap.DONE
            await self._schedules.answer_checkin(checkin.id, answer, now)
            await events.checkin_answered(self._db, checkin.id, answer, now)
            self._db.after_commit(metrics.checkin_answered)
            await self._schedules.mark_contact(client.id, now)
            await self._outbox.remove_buttons(client.chat_id, message_id)
            if answer in MOOD_ANSWERS:
                await self._report_mood(client, specialist, checkin, answer)
                away = self.away
                if answer == "talk" and away and specialist.is_away(away.today(now)):
                    # The thanks already point to /crisis: not a second time.
                    await away.note(client, specialist, now, with_resources=False)
                return Tap.DONE
            if answer in ("fewer", "less"):
                await self._fewer(client, specialist, now)
                return Tap.DONE
            if answer == "keep":
                await self._outbox.text(
                    client.chat_id, self._texts.get("checkin.patience_kept", client.language)
                )
                return Tap.DONE
        return Tap.PAUSE

    async def _report_mood(
        self, client: Client, specialist: Specialist, checkin: Checkin, answer: str
    ) -> None:
        when = self.label(checkin, specialist.language)
        language = client.language
        # "I've let them know" would not be true while they cannot receive anything.
        ack = "checkin_kept.talk" if answer == "talk" and specialist.blocked else None
        await self._outbox.text(
            client.chat_id,
            self._texts.get(
                ack or f"checkin.ack_{answer}", language, specialist=specialist.display_name
            ),
        )
        theirs = specialist.language
        if answer == "talk":
            note = self._texts.get(
                "to_specialist.wants_to_talk", theirs, alias=client.alias, when=when
            )
        else:
            note = self._texts.get(
                "to_specialist.tapped",
                theirs,
                alias=client.alias,
                answer=self._texts.get(f"answer.{answer}", theirs),
                when=when,
            )
        await self._outbox.note_about(specialist, client, note)

    async def _fewer(self, client: Client, specialist: Specialist, now: datetime) -> None:
        schedule = await self._schedules.get(client.id)
        assert schedule is not None
        rhythm = schedule.rhythm
        tz = zone(schedule.timezone)
        lower = step_down(rhythm, now.astimezone(tz).weekday()) if rhythm else None
        if rhythm is None or lower is None:
            await self._outbox.text(
                client.chat_id,
                self._texts.get(
                    "checkin.fewer_lowest",
                    client.language,
                    rhythm=self._phrasing.rhythm(rhythm, client.language),
                ),
            )
            return
        following = next_due(
            lower, tz, schedule.quiet, now, last_slot=schedule.last_slot, rng=self._rng
        )
        await self._schedules.save(replace(schedule, rhythm=lower, next_due_at=following))
        await events.about(self._db, events.FEWER, now, client)
        await self._outbox.text(
            client.chat_id,
            self._texts.get(
                "checkin.fewer_now",
                client.language,
                rhythm=self._phrasing.rhythm(lower, client.language),
            ),
        )
        await self._outbox.note_about(
            specialist,
            client,
            self._texts.get(
                "to_specialist.fewer",
                specialist.language,
                alias=client.alias,
                rhythm=self._phrasing.rhythm(lower, specialist.language),
            ),
        )

    async def answered_by_message(self, client: Client, now: datetime) -> Checkin | None:
        """Inside the relay's transaction: a client's message answers their latest check-in,
        if it is still unanswered and was sent within CHECKIN_ANSWER_WINDOW. A message days
        later is just a message: filing it under an old check-in would misread it."""
        await self._schedules.mark_contact(client.id, now)
        latest = await self._schedules.latest_checkin(client.id)
        if (
            latest is None
            or latest.answered_at is not None
            or latest.kind is CheckinKind.PATIENCE
            or now - latest.sent_at > CHECKIN_ANSWER_WINDOW
        ):
            return None
        await self._schedules.answer_checkin(latest.id, "message", now)
        await events.checkin_answered(self._db, latest.id, "message", now)
        self._db.after_commit(metrics.checkin_answered)
        return latest

    async def quiet_now(self, client: Client, now: datetime) -> bool:
        """Whether it is the client's quiet hours now (a reply then arrives without a sound)."""
        schedule = await self._schedules.get(client.id)
        if schedule is None or schedule.quiet is None:
            return False
        return schedule.quiet.contains(now.astimezone(zone(schedule.timezone)).time())

    def label(self, checkin: Checkin, language: str) -> str:
        """'Tue 10:14': the check-in as the specialist knows it, in their language."""
        return self._phrasing.checkin_label(checkin.sent_at, self._staff_tz, language)

    # ------------------------------------------------------------------ on demand

    async def request(self, specialist: Specialist, alias: str) -> None:
        """A specialist's /checkin: now, or when the client's quiet hours end."""
        now = self._clock.now()
        async with self._db.transaction():
            client = await self._own_client(specialist, alias)
            if client is None:
                return
            schedule = await self._schedules.get(client.id)
            assert schedule is not None
            theirs = specialist.language
            if client.status is not ClientStatus.ACTIVE:
                state = self._texts.get(f"state.{client.status.value}", theirs)
                await self._outbox.text(
                    specialist.chat_id,
                    self._texts.get(
                        "to_specialist.checkin_not_scheduled",
                        theirs,
                        alias=client.alias,
                        state=state,
                    ),
                )
                return
            tz = zone(schedule.timezone)
            at = after_quiet(now, tz, schedule.quiet)
            await self._schedules.save(replace(schedule, manual_due_at=at))
            if at > now:
                await self._outbox.text(
                    specialist.chat_id,
                    self._texts.get(
                        "to_specialist.checkin_waits",
                        theirs,
                        alias=client.alias,
                        time=f"{at.astimezone(tz):%H:%M}",
                    ),
                )
            else:
                await self._outbox.text(
                    specialist.chat_id,
                    self._texts.get("to_specialist.checkin_sent", theirs, alias=client.alias),
                )
        # Only the check-in asked for: the scheduled ones wait for the tick.
        await self._drain(True, self._clock.now(), TickReport(), None)

    async def _own_client(self, specialist: Specialist, alias: str) -> Client | None:
        """The specialist's client by alias, or a helpful answer and None."""
        alias = " ".join(alias.split())
        if not alias:
            await self._outbox.text(
                specialist.chat_id,
                self._texts.get("to_specialist.checkin_usage", specialist.language),
            )
            return None
        theirs = await self._clients.of_specialist(specialist.id)
        found = next((c for c in theirs if c.alias.casefold() == alias.casefold()), None)
        if found is None:
            key = "to_specialist.no_such_client" if theirs else "to_specialist.no_clients"
            names = ", ".join(c.alias for c in theirs)
            await self._outbox.text(
                specialist.chat_id,
                self._texts.get(key, specialist.language, alias=alias, clients=names),
            )
        return found
