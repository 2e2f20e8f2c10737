"""What admins read: the specialists, and the audit log (in Telegram and on the command line).

Reading is an admin action too: each /specialists and /audit in Telegram is logged.
"""

from __future__ import annotations

from bot.domain.models import Actor, AuditEntry, Specialist
from bot.domain.texts import DEFAULT_LANGUAGE
from bot.services.base import StaffService

AUDIT_DEFAULT = 20
AUDIT_MAX = 200


class Admin(StaffService):
    """Lists specialists and audit entries as lines of text."""

    async def show_specialists(self, chat_id: int, actor: Actor, language: str) -> None:
        """/specialists: one line each, with their number of clients and whether away."""
        async with self._db.transaction():
            found = await self._specialists.all()
            lines = [
                self._specialist_line(s, await self._specialists.client_count(s.id), language)
                for s in found
            ]
            await self._audit.record(actor, "specialists_listed", self._clock.now())
            if not lines:
                lines = [self._texts.get("admin.specialists_none", language)]
            else:
                lines.insert(0, self._texts.get("admin.specialists_title", language))
            await self._send(chat_id, lines)

    async def show_audit(self, chat_id: int, count: int, actor: Actor, language: str) -> None:
        """/audit [n]: the newest entries; reading them is logged after they are read."""
        lines = await self.audit(count, language)
        async with self._db.transaction():
            await self._audit.record(actor, "audit_read", self._clock.now())
            await self._send(chat_id, lines)

    async def _send(self, chat_id: int, lines: list[str]) -> None:
        await self._outbox.text(chat_id, "\n".join(lines))  # in parts, if it is long

    def _specialist_line(self, specialist: Specialist, clients: int, language: str) -> str:
        if not specialist.active:
            state = self._texts.get("admin.state_removed", language)
        elif specialist.away and specialist.away_until is not None:
            day = self._phrasing.date(specialist.away_until, language)
            state = self._texts.get("admin.state_away_until", language, date=day)
        elif specialist.away:
            state = self._texts.get("admin.state_away", language)
        else:
            state = ""
        return self._texts.get(
            "admin.specialist_line",
            language,
            name=specialist.display_name,
            user_id=specialist.telegram_user_id,
            clients=clients,
            state=state,
        )

    async def audit(self, count: int, language: str = DEFAULT_LANGUAGE) -> list[str]:
        """The newest `count` entries (at most AUDIT_MAX), newest first, as lines (the
        command line's in the programme's default language)."""
        count = max(1, min(count, AUDIT_MAX))
        async with self._db.transaction():
            entries = await self._audit.latest(count)
            lines = [await self._entry_line(entry, language) for entry in entries]
        if not lines:
            return [self._texts.get("audit.empty", language)]
        return [self._texts.get("audit.title", language, count=len(lines)), *lines]

    async def _entry_line(self, entry: AuditEntry, language: str) -> str:
        def t(key: str, **params: object) -> str:
            return self._texts.get(key, language, **params)

        parts = [
            f"{entry.at:%Y-%m-%d %H:%M}",
            t(f"audit.actor_{entry.actor.role.value}", user_id=entry.actor.user_id),
            entry.action,
        ]
        if entry.client_id is not None:
            client = await self._clients.by_id(entry.client_id)
            parts.append(
                t("audit.client", id=entry.client_id)
                if client is None
                else t("audit.client_named", id=entry.client_id, alias=client.alias)
            )
        if entry.specialist_id is not None:
            specialist = await self._specialists.by_id(entry.specialist_id)
            name = specialist.display_name if specialist else str(entry.specialist_id)
            parts.append(t("audit.specialist", name=name))
        if entry.detail:
            parts.append(entry.detail)
        return " · ".join(parts)
