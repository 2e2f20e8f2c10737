"""/away and /back: a specialist's time off, and what their clients hear meanwhile.

While away, a client's message still reaches the specialist, silently (no sound,
no banner), and the client gets, at most once per day of their own calendar, a
note: the specialist is away until when, the message is waiting, and one soft line
pointing to /crisis for anything urgent (the note comes with everyday messages, so
not the emergency paragraph). A possibly urgent message still notifies the
specialist with sound, and goes to the supervisors at once (bot.services.escalation).
Dates are read in the programme's zone; when the until-date has passed, the tick ends
away mode and says so.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.domain.commands import parse_away
from bot.domain.models import Actor, ActorRole, Client, Specialist
from bot.domain.rhythm import zone
from bot.domain.safety import SafetyScreen
from bot.logs import EventLog
from bot.services.base import StaffContext, StaffService
from bot.services.notices import Refused

log = EventLog(__name__)


class Away(StaffService):
    """Turns away mode on and off, and writes the away note."""

    def __init__(self, context: StaffContext, safety: SafetyScreen) -> None:
        super().__init__(context)
        self._safety = safety

    def today(self, now: datetime | None = None) -> date:
        """The date in the programme's zone, where away dates are read."""
        return (now or self._clock.now()).astimezone(self._staff_tz).date()

    async def away(self, specialist: Specialist, text: str) -> None:
        """/away [until <date or weekday>] [note]: refused with an example if the date is off."""
        now = self._clock.now()
        try:
            request = parse_away(text, self.today(now))
        except ValueError as error:
            raise Refused(str(error)) from None
        async with self._db.transaction():
            await self._specialists.set_away(specialist.id, request.until, request.note)
            await self._audit.record(
                Actor(ActorRole.SPECIALIST, specialist.telegram_user_id),
                "away",
                now,
                specialist_id=specialist.id,
                detail=None if request.until is None else f"until {request.until.isoformat()}",
            )
            if request.until is None:
                await self._notices.say_now(
                    specialist.chat_id, "away.on_open", specialist.language
                )
            else:
                await self._notices.say_now(
                    specialist.chat_id,
                    "away.on_until",
                    specialist.language,
                    date=self._phrasing.date(request.until, specialist.language),
                )
        log.info("specialist.away", specialist=specialist.id)

    async def back(self, specialist: Specialist) -> None:
        """/back: messages notify the specialist again."""
        now = self._clock.now()
        async with self._db.transaction():
            if not await self._specialists.set_back(specialist.id):
                await self._notices.say_now(
                    specialist.chat_id, "away.not_away", specialist.language
                )
                return
            await self._audit.record(
                Actor(ActorRole.SPECIALIST, specialist.telegram_user_id),
                "back",
                now,
                specialist_id=specialist.id,
            )
            await self._notices.say_now(specialist.chat_id, "away.back", specialist.language)
        log.info("specialist.back", specialist=specialist.id)

    async def end_passed(self) -> int:
        """The tick: end away mode whose until-date has passed; return how many ended."""
        now = self._clock.now()
        async with self._db.transaction():
            ended = await self._specialists.away_ended(self.today(now))
            for specialist in ended:
                await self._specialists.set_back(specialist.id)
                await self._audit.record(
                    Actor(ActorRole.SYSTEM), "back", now, specialist_id=specialist.id
                )
                await self._notices.say_now(specialist.chat_id, "away.ended", specialist.language)
        for specialist in ended:
            log.info("specialist.back", specialist=specialist.id, automatic=1)
        return len(ended)

    async def note_if_away(self, client: Client, specialist: Specialist) -> None:
        """A client asked to talk (a check-in's button): while their specialist is away,
        the away note, as a message of theirs would bring (once a day)."""
        now = self._clock.now()
        if not specialist.is_away(self.today(now)):
            return
        async with self._db.transaction():
            await self.note(client, specialist, now, with_resources=False)

    async def note(
        self, client: Client, specialist: Specialist, now: datetime, *, with_resources: bool
    ) -> bool:
        """Inside the relay's transaction: the away note, if the client has not had it today."""
        today = now.astimezone(zone(client.timezone)).date()
        if not await self._clients.claim_away_note(client.id, today):
            return False
        language = client.language
        if specialist.away_until is None:
            until = self._texts.get("away.until_open", language)
        else:
            day = self._phrasing.date(specialist.away_until, language)
            until = self._texts.get("away.until_date", language, date=day)
        parts = [
            self._texts.get("away.note", language, specialist=specialist.display_name, until=until)
        ]
        if specialist.away_note:
            parts.append(
                self._texts.get(
                    "away.their_note",
                    language,
                    specialist=specialist.display_name,
                    note=specialist.away_note,
                )
            )
        if with_resources:
            parts.append(self._texts.get("away.urgent", language))
        await self._outbox.text(client.chat_id, "\n\n".join(parts))
        return True
