"""Telling a person, once, about what could not be delivered.

A client who blocks the bot is marked blocked (no more check-ins) and their
specialist is told once; when the client writes again they are active again. What is
for a specialist who blocked the bot is kept instead (bot.services.unreachable). A
relayed message given up on is reported to whoever sent it: the specialist (or the
supervisor who answered an escalation) for their own replies, the admins for a client's
message that could not reach the specialist. Reports name the people, never the content.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.delivery.outbox import Outbox
from bot.domain.models import Direction
from bot.domain.texts import Texts
from bot.logs import EventLog
from bot.services.unreachable import Unreachable
from bot.storage import events
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.outbox import OutboxItem
from bot.storage.relay import RelayRepository
from bot.storage.specialists import SpecialistRepository
from bot.storage.staff_languages import StaffLanguageRepository

log = EventLog(__name__)


class DeliveryReports:
    """The sender's listener for blocked chats and dead messages."""

    def __init__(
        self,
        db: Database,
        specialists: SpecialistRepository,
        clients: ClientRepository,
        relay: RelayRepository,
        outbox: Outbox,
        texts: Texts,
        admin_ids: frozenset[int],
        unreachable: Unreachable,
    ) -> None:
        self._db = db
        self._specialists = specialists
        self._clients = clients
        self._relay = relay
        self._outbox = outbox
        self._texts = texts
        self._admin_ids = admin_ids
        self._unreachable = unreachable
        self._staff_languages = StaffLanguageRepository(db)

    async def blocked(self, item: OutboxItem) -> bool:
        """Telegram refused the item with 403: its person blocked the bot. True if it is
        kept (for a specialist, until they unblock the bot)."""
        return await self.chat_blocked(item.chat_id, item.id)

    async def chat_blocked(self, chat_id: int, refused_item: int | None = None) -> bool:
        """The person in this chat blocked the bot; True if what is for them is kept."""
        async with self._db.transaction():
            client = await self._clients.by_user(chat_id)
            if client is not None:
                if not await self._clients.block(client.id):
                    return False  # told already
                specialist = await self._specialists.by_id(client.specialist_id)
                log.info("client.blocked", client=client.id)
                await events.about(self._db, events.BLOCKED, datetime.now(UTC), client)
                if specialist is not None:
                    # Linked to the client like the other notes about them (paused,
                    # stopped): kept for a specialist who blocked the bot too, it goes with
                    # the client's /forget instead of naming them once the specialist is back.
                    await self._outbox.note_about(
                        specialist,
                        client,
                        self._texts.get(
                            "to_specialist.client_blocked", specialist.language, alias=client.alias
                        ),
                    )
                return False
            specialist = await self._specialists.by_user(chat_id)
            if specialist is None or not specialist.active:
                return False
            await self._unreachable.blocked(specialist, refused_item)
            return True

    async def dead(self, item: OutboxItem, reason: str) -> None:
        """A message was given up on: tell the sender of a relayed message."""
        if item.relay_link_id is None:
            log.info("outbox.dead_unreported", item=item.id)
            return
        async with self._db.transaction():
            link = await self._relay.by_id(item.relay_link_id)
            if link is None or link.source_message_id is None:
                return  # a header: the copy behind it reports for both
            client = await self._clients.by_id(link.client_id)
            specialist = await self._specialists.by_id(link.specialist_id)
            if client is None or specialist is None:
                return
            if link.direction is Direction.TO_CLIENT:
                # Whoever wrote it: the specialist, or a supervisor answering an escalation.
                writer = link.source_chat_id or specialist.chat_id
                language = await self._staff_languages.language_of(writer)
                await self._outbox.text(
                    writer,
                    self._texts.get("to_specialist.not_delivered", language, alias=client.alias),
                )
            else:
                await self._tell_admins(
                    "admin.not_delivered", alias=client.alias, name=specialist.display_name
                )

    async def _tell_admins(self, key: str, **params: str) -> None:
        for admin in sorted(self._admin_ids):
            language = await self._staff_languages.language_of(admin)
            await self._outbox.text(admin, self._texts.get(key, language, **params))
