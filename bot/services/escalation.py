"""Escalation: a possibly urgent message is answered by someone, and silence is noticed.

A message screened urgent starts a clock (a row with due_at, in SQLite). If the client's
specialist writes to the client before it runs out, nothing else happens. If not, the
tick sends the supervisors (every admin, and every specialist who is /oncall) a copy
under a header saying whose it is, what was flagged and how long it has waited; while
the specialist is away that happens at once. A supervisor answers by replying, exactly
as a specialist does. The first answer from anyone closes it, and everyone else who had
it hears who answered. After that only the one who answered may write on through their copy,
for FOLLOW_UP_WINDOW (the specialist is told each time); another supervisor's reply does not
go, and they hear who answered. With nobody to send it to, the specialist gets one loud
reminder.

Ordinary silence is gentler: a client whose message or "I'd like to talk" nobody has
answered after REMIND_AFTER_HOURS brings their specialist one reminder. The client
never hears anything about either.

The due-time is claimed in the same transaction that queues the copies, so a restart
neither sends an escalation twice nor forgets one that was due.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot import metrics
from bot.domain.clock import StepBack
from bot.domain.escalation import (
    FOLLOW_UP_WINDOW,
    Escalation,
    Reply,
    Responder,
    Supervisor,
    after_answer,
    due_at,
    supervisors,
)
from bot.domain.models import Actor, ActorRole, Client, ClientStatus, Direction, Specialist
from bot.domain.safety import SafetyScreen
from bot.logs import EventLog
from bot.services.base import StaffContext, StaffService
from bot.services.notices import Refused
from bot.services.phrasing import category_name
from bot.storage import events
from bot.storage.escalations import EscalationRepository
from bot.storage.relay import RelayRepository

log = EventLog(__name__)

BATCH = 100


class Escalations(StaffService):
    """Starts, sends, closes and reminds; also /oncall and /crisis."""

    def __init__(
        self,
        context: StaffContext,
        repo: EscalationRepository,
        relay: RelayRepository,
        safety: SafetyScreen,
        *,
        admin_ids: frozenset[int],
        escalate_after: timedelta,
        remind_after: timedelta,
    ) -> None:
        super().__init__(context)
        self._repo = repo
        self._relay = relay
        self._safety = safety
        self._admin_ids = admin_ids
        self._escalate_after = escalate_after
        self._remind_after = remind_after
        # The team inbox (bot.services.team) hears of each escalation, for the client's
        # topic and the group's General topic.
        # Told of each escalation sent: its client, their specialist, and the words' ids.
        self.on_escalated: (
            Callable[[Client, Specialist, tuple[int, int]], Awaitable[None]] | None
        ) = None
        self._step_back = StepBack(self._clock)

    @property
    def remind_after(self) -> timedelta:
        """How long a client may wait before their specialist is reminded."""
        return self._remind_after

    # ------------------------------------------------------------ inside the relay

    async def flagged(
        self,
        client: Client,
        specialist: Specialist,
        source: tuple[int, int],
        category: str,
        now: datetime,
        *,
        away: bool,
    ) -> None:
        """Inside the relay's transaction: start the clock on an urgent message (and send it
        on at once while the specialist is away)."""
        waiting = await self._repo.open_for(client.id)
        if any(
            (e.source_chat_id, e.source_message_id) == source and not e.escalated for e in waiting
        ):
            # An edit of a message whose clock already runs (bot.handlers.client): the
            # supervisors' copies, not made yet, will show it as it reads then.
            return
        escalation = await self._repo.add(
            client_id=client.id,
            specialist_id=specialist.id,
            category=category,
            source=source,
            flagged_at=now,
            due_at=due_at(now, self._escalate_after, away),
        )
        if away:
            await self._escalate(escalation, now)

    async def waiting(self, client: Client, now: datetime) -> None:
        """Inside a transaction: the client wrote or asked to talk (for the reminder)."""
        await self._repo.mark_waiting(client.id, now)

    async def answered(self, client: Client, responder: Responder, now: datetime) -> None:
        """Inside the relay's transaction: someone wrote to the client. Their open urgent
        messages are answered; those that had gone on tell the others who answered."""
        await self._repo.clear_waiting(client.id)
        for escalation in await self._repo.open_for(client.id):
            if not await self._repo.mark_answered(escalation.id, responder.user_id, now):
                continue
            if escalation.escalated:
                await self._tell_who_answered(client, escalation, responder, now)

    async def may_reply(
        self, escalation: Escalation, client: Client, responder: Responder, now: datetime
    ) -> bool:
        """Inside the relay's transaction: may a supervisor's reply to their copy go to the
        client? The first reply closes the escalation (a conditional update: of two at once,
        exactly one wins); after it, only its author may write on, for FOLLOW_UP_WINDOW, and
        the specialist hears each time. Anyone else is told who answered; nothing goes."""
        if await self._repo.mark_answered(escalation.id, responder.user_id, now):
            await self._tell_who_answered(client, escalation, responder, now)
            return True
        current = await self._repo.by_id(escalation.id)
        assert current is not None and current.answered_by is not None
        reply = after_answer(current, responder.user_id, now)
        specialist = await self._specialists.by_id(client.specialist_id)
        assert specialist is not None
        theirs = specialist.language
        if reply is Reply.FOLLOW_UP:
            if responder.name is None:
                note = self._texts.get(
                    "escalation_followup.told_admin", theirs, alias=client.alias
                )
            else:
                note = self._texts.get(
                    "escalation_followup.told", theirs, name=responder.name, alias=client.alias
                )
            await self._outbox.note_about(specialist, client, note, quiet=True)
            log.info("escalation.follow_up", client=client.id, by=responder.user_id)
            return True
        language = await self._staff_languages.language_of(responder.user_id)
        if reply is Reply.OVER:
            text = self._texts.get(
                "escalation_followup.over",
                language,
                alias=client.alias,
                specialist=specialist.display_name,
                hours=int(FOLLOW_UP_WINDOW.total_seconds() // 3600),
            )
        else:
            text = await self._taken(client, specialist, current.answered_by, language)
        await self._outbox.text(responder.chat_id, text)
        log.info(
            "escalation.reply_refused", client=client.id, by=responder.user_id, why=reply.value
        )
        return False

    async def _taken(
        self, client: Client, specialist: Specialist, answered_by: int, language: str
    ) -> str:
        """To a supervisor whose reply did not go: who answered first, and whom to ask."""
        if answered_by == specialist.telegram_user_id:
            return self._texts.get(
                "escalation_followup.taken_by_specialist",
                language,
                alias=client.alias,
                specialist=specialist.display_name,
            )
        colleague = await self._specialists.by_user(answered_by)
        if colleague is None:
            return self._texts.get(
                "escalation_followup.taken_by_admin",
                language,
                alias=client.alias,
                specialist=specialist.display_name,
            )
        return self._texts.get(
            "escalation_followup.taken",
            language,
            name=colleague.display_name,
            alias=client.alias,
            specialist=specialist.display_name,
        )

    async def copy_of(self, relay_link_id: int) -> Escalation | None:
        """The escalation a supervisor's copy (or its header) belongs to, if it is one."""
        return await self._repo.of_copy(relay_link_id)

    # ------------------------------------------------------------ the tick

    async def tick(self) -> int:
        """Send what is due: escalations, then reminders; return how many went."""
        sent = 0
        now, step = self._step_back.look()
        async with self._db.transaction(background=True):
            if step is not None:
                # The clock went back (NTP): a deadline written before would come that much
                # later, an urgent message waiting an hour more for an hour.
                moved = await self._repo.bring_forward(step, now)
                log.warning("clock.went_back", seconds=round(step.total_seconds()), moved=moved)
            # A step no look saw (it came while the bot was down): no deadline lies further
            # ahead than a whole window from now.
            await self._repo.keep_within(now + self._escalate_after)
        while True:
            async with self._db.transaction(background=True):
                due = await self._repo.due(now, BATCH)
                for escalation in due:
                    sent += await self._escalate(escalation, now)
            if len(due) < BATCH:
                break
        while True:
            async with self._db.transaction(background=True):
                unreached = await self._repo.unreached(BATCH)
                for escalation in unreached:
                    await self._unreached(escalation, now)
            if len(unreached) < BATCH:
                break
        while True:
            async with self._db.transaction(background=True):
                waiting = await self._repo.waiting_since_before(now - self._remind_after, BATCH)
                for client, since in waiting:
                    await self._remind(client, since, now)
            sent += len(waiting)
            if len(waiting) < BATCH:
                break
        return sent

    async def _escalate(self, escalation: Escalation, now: datetime) -> int:
        """Send one escalation to the supervisors (or remind the specialist); return 1 if
        this call claimed it."""
        if not await self._repo.mark_escalated(escalation.id, now):
            return 0
        people = await self._people_of(escalation)
        if people is None:
            return 1
        client, specialist = people
        on_call = [supervisor for supervisor, _ in await self._repo.on_call()]
        found = supervisors(
            self._admin_ids, on_call, specialist.telegram_user_id, client.telegram_user_id
        )
        detail = f"escalation {escalation.id}: to {len(found)}"
        if not found:
            await self._tell_alone(
                escalation, client, specialist, now, "escalation.nobody", "nowhere"
            )
            return 1
        for supervisor in found:
            # Each supervisor reads the header in their own language.
            language = await self._staff_languages.language_of(supervisor.user_id)
            header = self._texts.get(
                "escalation.header",
                language,
                alias=client.alias,
                specialist=specialist.display_name,
                category=category_name(self._texts, escalation.category, language),
                ago=self._phrasing.ago(escalation.flagged_at, now, language),
            )
            await self._send_copy(escalation, client, specialist, supervisor, header)
        if self.on_escalated is not None:
            source = (escalation.source_chat_id, escalation.source_message_id)
            await self.on_escalated(client, specialist, source)
        theirs = specialist.language
        ago = self._phrasing.ago(escalation.flagged_at, now, theirs)
        await self._outbox.note_about(
            specialist,
            client,
            self._texts.get("escalation.specialist_told", theirs, alias=client.alias, ago=ago),
        )
        await self._audit.record(
            Actor(ActorRole.SYSTEM),
            "escalated",
            now,
            client_id=client.id,
            specialist_id=specialist.id,
            detail=detail,
        )
        # For the programme report and /metrics: counts and times, never content.
        await events.record(
            self._db, events.ESCALATED, now, client_id=client.id, specialist_id=specialist.id
        )
        self._db.after_commit(metrics.escalated)
        log.warning(
            "escalation.sent", client=client.id, specialist=specialist.id, supervisors=len(found)
        )
        return 1

    async def _unreached(self, escalation: Escalation, now: datetime) -> None:
        """Telegram refused every supervisor's copy: the specialist, told it had gone on,
        hears that nobody else has it (once, loudly)."""
        if not await self._repo.mark_unreached(escalation.id, now):
            return
        people = await self._people_of(escalation)
        if people is None:
            return
        client, specialist = people
        await self._tell_alone(
            escalation, client, specialist, now, "escalation.unreached", "unreached"
        )

    async def _people_of(self, escalation: Escalation) -> tuple[Client, Specialist] | None:
        """The escalation's client and their specialist now (None if either is gone)."""
        client = await self._clients.by_id(escalation.client_id)
        specialist = (
            None if client is None else await self._specialists.by_id(client.specialist_id)
        )
        if client is None or specialist is None:
            return None
        return client, specialist

    async def _tell_alone(
        self,
        escalation: Escalation,
        client: Client,
        specialist: Specialist,
        now: datetime,
        key: str,
        event: str,
    ) -> None:
        """The specialist hears, loudly, that no supervisor has the escalation (text `key`);
        audited as escalation_<event> and logged as escalation.<event>."""
        ago = self._phrasing.ago(escalation.flagged_at, now, specialist.language)
        await self._outbox.note_about(
            specialist,
            client,
            self._texts.get(key, specialist.language, alias=client.alias, ago=ago),
            loud=True,
        )
        await self._audit.record(
            Actor(ActorRole.SYSTEM),
            f"escalation_{event}",
            now,
            client_id=client.id,
            specialist_id=specialist.id,
            detail=f"escalation {escalation.id}",
        )
        log.warning(f"escalation.{event}", client=client.id, specialist=specialist.id)

    async def _send_copy(
        self,
        escalation: Escalation,
        client: Client,
        specialist: Specialist,
        supervisor: Supervisor,
        header: str,
    ) -> None:
        """The header and a copy of the client's message to one supervisor, both linked to
        the client, so a reply to either reaches them. The links name no source: the copy
        is not the client writing again (the overview and the digest count those)."""
        now = self._clock.now()
        source = (escalation.source_chat_id, escalation.source_message_id)
        links = []
        for _ in ("header", "copy"):
            link = await self._relay.add_link(
                client_id=client.id,
                specialist_id=specialist.id,
                direction=Direction.TO_SPECIALIST,
                source=None,
                dest_chat_id=supervisor.chat_id,
                now=now,
            )
            await self._repo.add_copy(link, escalation.id, supervisor.chat_id)
            links.append(link)
        await self._outbox.text(supervisor.chat_id, header, relay_link_id=links[0])
        await self._outbox.copy(supervisor.chat_id, *source, relay_link_id=links[1])
        # The next relay into this chat opens with its own header.
        await self._relay.forget_last_source(supervisor.chat_id)

    async def _tell_who_answered(
        self, client: Client, escalation: Escalation, responder: Responder, now: datetime
    ) -> None:
        """Everyone who had the escalation, and the client's specialist, hear who answered."""
        chats = set(await self._repo.copy_chats(escalation.id))
        specialist = await self._specialists.by_id(client.specialist_id)
        if specialist is not None:
            chats.add(specialist.chat_id)
        chats.discard(responder.chat_id)
        for chat_id in sorted(chats):
            # Staff chats are private: the chat's id is the person's Telegram user id.
            language = await self._staff_languages.language_of(chat_id)
            ago = self._phrasing.ago(escalation.flagged_at, now, language)
            if responder.name is None:
                text = self._texts.get(
                    "escalation.answered_by_admin", language, alias=client.alias, ago=ago
                )
            else:
                text = self._texts.get(
                    "escalation.answered",
                    language,
                    name=responder.name,
                    alias=client.alias,
                    ago=ago,
                )
            await self._outbox.text(chat_id, text)
        role = ActorRole.ADMIN if responder.is_admin else ActorRole.SPECIALIST
        # The report shows who answers escalations by role only: admin, the client's own
        # specialist, or a colleague on call.
        if responder.is_admin:
            answered_as = "admin"
        elif specialist is not None and responder.user_id == specialist.telegram_user_id:
            answered_as = "specialist"
        else:
            answered_as = "on call"
        await events.record(
            self._db,
            events.ESCALATION_ANSWERED,
            now,
            client_id=client.id,
            specialist_id=client.specialist_id,
            detail=answered_as,
        )
        await self._audit.record(
            Actor(role, responder.user_id),
            "escalation_answered",
            now,
            client_id=client.id,
            specialist_id=client.specialist_id,
            detail=f"escalation {escalation.id}",
        )
        log.info("escalation.answered", client=client.id, by=responder.user_id)

    async def _remind(self, client: Client, since: datetime, now: datetime) -> None:
        """The one reminder about a client nobody has answered (never a word to them)."""
        await self._repo.mark_reminded(client.id)
        if client.status is ClientStatus.BLOCKED:
            return
        specialist = await self._specialists.by_id(client.specialist_id)
        if specialist is None:
            return
        theirs = specialist.language
        ago = self._phrasing.ago(since, now, theirs)
        await self._outbox.note_about(
            specialist,
            client,
            self._texts.get("escalation.reminder", theirs, alias=client.alias, ago=ago),
        )
        log.info("reminder.sent", client=client.id, specialist=specialist.id)

    # ------------------------------------------------------------ /oncall and /crisis

    async def on_call(
        self, specialist: Specialist | None, user_id: int, words: str, language: str
    ) -> None:
        """/oncall on, /oncall off, or /oncall alone: who is on call (in `language`, the
        asker's)."""
        choice = words.strip().casefold()
        now = self._clock.now()
        async with self._db.transaction():
            if choice == "":
                await self._outbox.text(user_id, await self._status(language))
                return
            if choice not in ("on", "off"):
                raise Refused("escalation.oncall_usage")
            if specialist is None:
                raise Refused("escalation.admin_always")
            on = choice == "on"
            if await self._repo.set_on_call(specialist.id, on):
                await self._audit.record(
                    Actor(ActorRole.SPECIALIST, specialist.telegram_user_id),
                    "on_call" if on else "off_call",
                    now,
                    specialist_id=specialist.id,
                )
            if on:
                text = self._texts.get("escalation.oncall_on", language, minutes=self.minutes)
            else:
                text = self._texts.get("escalation.oncall_off", language)
            await self._outbox.text(specialist.chat_id, text)
        log.info("specialist.on_call", specialist=specialist.id, on=int(on))

    @property
    def minutes(self) -> str:
        """ESCALATE_AFTER_MINUTES as a person reads it: '15', '0.5'."""
        return f"{self._escalate_after.total_seconds() / 60:g}"

    async def _status(self, language: str) -> str:
        """Who is on call, and whether escalations have anywhere to go."""
        on_call = [name for _, name in await self._repo.on_call()]
        parts = [
            self._texts.get("escalation.status_people", language, names=", ".join(on_call))
            if on_call
            else self._texts.get("escalation.status_nobody", language)
        ]
        if self._admin_ids:
            parts.append(
                self._texts.get(
                    "escalation.status_admins",
                    language,
                    count=len(self._admin_ids),
                    minutes=self.minutes,
                )
            )
        elif not on_call:
            parts.append(self._texts.get("escalation.status_nowhere", language))
        parts.append(self._texts.get("escalation.status_hint", language))
        return "\n\n".join(parts)

    async def nowhere_to_go(self) -> bool:
        """No admin and nobody on call: an escalation could only remind the specialist."""
        if self._admin_ids:
            return False
        async with self._db.transaction():
            return not await self._repo.on_call()

    async def crisis(self, chat_id: int, language: str, *, stranger: bool) -> None:
        """/crisis: the crisis lines, any time (to a stranger too, keeping nothing)."""
        text = self._texts.get(
            "escalation.crisis", language, resources=self._safety.resources(language)
        )
        async with self._db.transaction():
            await self._outbox.text(chat_id, text, ephemeral=stranger)
