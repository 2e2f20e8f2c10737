"""/digest HH:MM or /digest off: a daily summary for a specialist, off by default.

The tick sends it once the specialist's local time (the programme's zone) has
passed HH:MM and none went today. It covers yesterday's HH:MM to today's, local time,
whenever it is actually sent (a late tick, a restart, a clock change): every message
and tap falls in exactly one summary. From stored metadata only: who may need them (a
possibly urgent message, or one that may need attention), who wrote (how many
messages), who tapped which button, who is paused or stopped, and who has been quiet
for more than two weeks. Never what anyone wrote.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.domain.commands import parse_digest
from bot.domain.models import ClientStatus, Specialist
from bot.logs import EventLog
from bot.services.base import StaffContext, StaffService
from bot.services.notices import Refused
from bot.services.overview import Overview
from bot.storage.outbox import DIGEST_KEY

log = EventLog(__name__)


class Digests(StaffService):
    """Sets the daily summary's time, and sends the summaries that are due."""

    def __init__(self, context: StaffContext, overview: Overview) -> None:
        super().__init__(context)
        self._overview = overview
        self._zone_name = context.staff_timezone

    async def set(self, specialist: Specialist, text: str) -> None:
        """/digest HH:MM or /digest off; anything else is refused with an example."""
        try:
            at = parse_digest(text)
        except ValueError as error:
            raise Refused(str(error)) from None
        local = self._clock.now().astimezone(self._staff_tz)
        # A time already past today starts tomorrow: no summary the moment it is asked for.
        passed = at is not None and local.time() >= at
        sent_on = local.date() if passed else specialist.digest_sent_on
        async with self._db.transaction():
            await self._specialists.set_digest(specialist.id, at, sent_on)
            if at is None:
                await self._notices.say_now(specialist.chat_id, "digest.off", specialist.language)
            else:
                await self._notices.say_now(
                    specialist.chat_id,
                    "digest.on_tomorrow" if passed else "digest.on_today",
                    specialist.language,
                    time=f"{at:%H:%M}",
                    zone=self._zone_name,
                )

    async def tick(self) -> int:
        """Send every summary whose time has come today; return how many went."""
        now = self._clock.now()
        local = now.astimezone(self._staff_tz)
        async with self._db.transaction():
            wanting = await self._specialists.with_digest()
        sent = 0
        for specialist in wanting:
            assert specialist.digest_at is not None
            if local.time() < specialist.digest_at or specialist.blocked:
                # Not for a specialist who blocked the bot: a summary kept for them would
                # arrive stale, and go on naming a client who has erased their data since.
                # Once they unblock it, the day's summary comes at the next tick (one held
                # when the bot learnt of the block is dropped: Unreachable.blocked).
                continue
            async with self._db.transaction():
                if not await self._specialists.claim_digest(specialist.id, local.date()):
                    continue
                start, end = self._window(specialist.digest_at, local.date())
                summary = await self._summary(specialist, now, start, end)
                await self._outbox.text(  # in parts
                    specialist.chat_id,
                    "\n".join(summary),
                    idempotency_key=f"{DIGEST_KEY}{specialist.id}:{local.date().isoformat()}",
                )
            sent += 1
        if sent:
            log.info("digest.sent", count=sent)
        return sent

    def _window(self, at: time, today: date) -> tuple[datetime, datetime]:
        """From yesterday's `at` to today's, in the programme's zone, as UTC moments."""
        end = datetime.combine(today, at, tzinfo=self._staff_tz)
        start = datetime.combine(today - timedelta(days=1), at, tzinfo=self._staff_tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    async def _summary(
        self, specialist: Specialist, now: datetime, start: datetime, end: datetime
    ) -> list[str]:
        wrote = await self._facts.wrote_between(specialist.id, start, end)
        taps = await self._facts.taps_between(specialist.id, start, end)
        facts = await self._facts.of_specialist(specialist.id)
        paused = [f for f in facts if f.client.status is ClientStatus.PAUSED]
        stopped = [f for f in facts if f.client.status is ClientStatus.STOPPED]
        quiet = sorted(
            ((f, silence) for f in facts if (silence := f.quiet_for(now)) is not None),
            key=lambda pair: -pair[1],
        )
        language = specialist.language

        def t(key: str, **params: object) -> str:
            return self._texts.get(key, language, **params)

        flagged = [
            t(f"safety_levels.digest_{level}_item", alias=f.client.alias)
            for f in sorted(facts, key=lambda f: f.client.alias.casefold())
            for level, moment in (("urgent", f.flagged_at), ("concern", f.concern_at))
            if moment is not None and start <= moment < end
        ]
        sections = {
            "safety_levels.digest_flagged": flagged,
            "digest.wrote": [t("digest.wrote_item", alias=a, count=n) for a, n in wrote],
            "digest.tapped": [
                t("digest.tapped_item", alias=a, answer=t(f"answer.{answer}"))
                for a, answer in taps
            ],
            "digest.paused": [
                t(
                    "digest.paused_item",
                    alias=f.client.alias,
                    until=self._overview.until(f, language),
                )
                for f in paused
            ],
            "digest.stopped": [f.client.alias for f in stopped],
            "digest.quiet": [
                t("digest.quiet_item", alias=f.client.alias, days=silence.days)
                for f, silence in quiet
            ],
        }
        day = self._phrasing.date(now.astimezone(self._staff_tz).date(), language)
        lines = [t("digest.title", date=day)]
        lines += [t(key, items="; ".join(items)) for key, items in sections.items() if items]
        if len(lines) == 1:
            lines.append(t("digest.nothing"))
        return lines
