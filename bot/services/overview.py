"""/clients: every client of a specialist on one line, those who may need them first.

Long lists come in pages with ◀ ▶ buttons. A button carries the specialist's row id
and the page; a press by anyone else, or for a page that no longer exists, gets a
kind answer and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.delivery.outbox import Buttons
from bot.domain.models import ClientStatus, Specialist
from bot.domain.overview import WAITING_AFTER, Attention, ClientFacts, by_attention
from bot.domain.rhythm import zone
from bot.services.base import StaffContext, StaffService
from bot.services.notices import Refused

PAGE_SIZE = 10
_MARKERS = {
    Attention.URGENT: "clients.marker_urgent",
    Attention.WAITING: "escalation.marker_waiting",
    Attention.CONCERN: "safety_levels.marker_concern",
    Attention.TALK: "clients.marker_talk",
    Attention.QUIET: "clients.marker_quiet",
}


def page_data(specialist_id: int, page: int) -> str:
    """Callback data of a page button."""
    return f"cl:{specialist_id}:{page}"


def parse_page_data(data: str) -> tuple[int, int] | None:
    """The (specialist row id, page) of a page button, or None if it is not one of ours."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "cl" or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[2])


class Overview(StaffService):
    """Renders a specialist's clients, in pages."""

    def __init__(self, context: StaffContext, waiting_after: timedelta = WAITING_AFTER) -> None:
        super().__init__(context)
        self._waiting_after = waiting_after

    def line(self, facts: ClientFacts, now: datetime, language: str) -> str:
        """'🔔 Alex · every day, at 09:00 · active · last wrote 2 h ago · 3 unanswered', in
        the specialist's language."""
        client, schedule = facts.client, facts.schedule
        attention = facts.attention(now, self._waiting_after)
        marker = _MARKERS.get(attention)
        if client.status is ClientStatus.PAUSED:
            status = self._texts.get("clients.paused", language, until=self.until(facts, language))
        else:
            status = self._texts.get(f"clients.status_{client.status.value}", language)
        if facts.last_wrote_at is None:
            wrote = self._texts.get("clients.never_wrote", language)
        else:
            wrote = self._texts.get(
                "clients.wrote",
                language,
                ago=self._phrasing.ago(facts.last_wrote_at, now, language),
            )
        parts = [
            (self._texts.get(marker, language) if marker else "") + client.alias,
            self._phrasing.rhythm(schedule.rhythm, language),
            status,
            wrote,
        ]
        if attention is Attention.WAITING and facts.waiting_since is not None:
            ago = self._phrasing.ago(facts.waiting_since, now, language)
            parts.append(self._texts.get("escalation.waiting", language, ago=ago))
        if schedule.unanswered:
            parts.append(
                self._texts.get("clients.unanswered", language, count=schedule.unanswered)
            )
        if facts.taps:
            parts.append(self._trend(facts.taps, language))
        return " · ".join(parts)

    def _trend(self, taps: tuple[str, ...], language: str) -> str:
        """The last check-in taps as small symbols, oldest first: 'taps ●●◐◐◐'."""
        symbols = "".join(self._texts.get(f"trend.{tap}", language) for tap in taps)
        return self._texts.get("trend.line", language, taps=symbols)

    def until(self, facts: ClientFacts, language: str) -> str:
        """How long a paused client's pause lasts: 'until Friday 4 December', 'until they say'."""
        paused_until = facts.schedule.paused_until
        if paused_until is None:
            return self._texts.get("to_specialist.until_open", language)
        day = paused_until.astimezone(zone(facts.schedule.timezone)).date()
        return self._texts.get(
            "to_specialist.until_date", language, date=self._phrasing.date(day, language)
        )

    async def send(self, specialist: Specialist) -> None:
        """/clients: the first page, as a new message."""
        async with self._db.transaction():
            text, buttons = await self._page(specialist, 0)
            await self._outbox.text(specialist.chat_id, text, buttons=buttons)

    async def turn(self, specialist: Specialist | None, data: str, message_id: int) -> None:
        """A page button: show that page in place, or refuse (Refused) and change nothing."""
        parsed = parse_page_data(data)
        if parsed is None:
            raise Refused("clients.page_gone")
        owner, page = parsed
        if specialist is None or specialist.id != owner:
            raise Refused("clients.not_yours")
        async with self._db.transaction():
            text, buttons = await self._page(specialist, page)
            await self._outbox.edit_text(specialist.chat_id, message_id, text, buttons=buttons)

    async def _page(self, specialist: Specialist, page: int) -> tuple[str, Buttons | None]:
        now = self._clock.now()
        language = specialist.language
        facts = await self._facts.of_specialist(specialist.id)
        ordered = by_attention(facts, now, self._waiting_after)
        if not ordered:
            if page:
                raise Refused("clients.page_gone")
            return self._texts.get("clients.none", language), None
        pages = (len(ordered) + PAGE_SIZE - 1) // PAGE_SIZE
        if page >= pages:
            raise Refused("clients.page_gone")
        shown = ordered[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        text = "\n\n".join(
            [
                self._texts.get("clients.title", language, count=len(ordered)),
                "\n".join(self.line(facts, now, language) for facts in shown),
            ]
        )
        if any(facts.taps for facts in shown):
            text += "\n\n" + self._texts.get("trend.legend", language)
        if pages == 1:
            return text, None
        text += "\n\n" + self._texts.get("clients.page", language, page=page + 1, pages=pages)
        row = []
        if page > 0:
            row.append(
                (self._texts.get("clients.previous", language), page_data(specialist.id, page - 1))
            )
        if page < pages - 1:
            row.append(
                (self._texts.get("clients.next", language), page_data(specialist.id, page + 1))
            )
        return text, [row]
