"""A specialist who cannot receive messages (they blocked the bot): nothing is lost.

Telegram refuses every message for someone who blocked the bot. What is for such a
specialist is held in the outbox (status 'held', m012), never given up: their clients
are told kindly that their words are kept (once in a while, not per message), the admins
are told who and how many clients, and possibly urgent words go to the admins at once.
When the specialist unblocks the bot (a my_chat_member update), everything held goes,
in order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.delivery.outbox import Outbox
from bot.domain.clock import Clock
from bot.domain.models import Client, Direction, Specialist
from bot.domain.texts import Texts
from bot.logs import EventLog
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.outbox import OutboxItem, OutboxRepository, Priority
from bot.storage.relay import RelayRepository
from bot.storage.specialists import SpecialistRepository
from bot.storage.staff_languages import StaffLanguageRepository

log = EventLog(__name__)

KEPT_NOTE_EVERY = timedelta(hours=6)


class Unreachable:
    """Holds, explains and escalates what cannot reach a specialist right now."""

    def __init__(
        self,
        db: Database,
        specialists: SpecialistRepository,
        clients: ClientRepository,
        relay: RelayRepository,
        outbox_repo: OutboxRepository,
        outbox: Outbox,
        texts: Texts,
        admin_ids: frozenset[int],
        clock: Clock,
    ) -> None:
        self._db = db
        self._specialists = specialists
        self._clients = clients
        self._relay = relay
        self._repo = outbox_repo
        self._outbox = outbox
        self._texts = texts
        self._admin_ids = admin_ids
        self._clock = clock
        self._staff_languages = StaffLanguageRepository(db)

    async def blocked(self, specialist: Specialist, refused_item: int | None) -> None:
        """Inside a transaction: the specialist blocked the bot (a 403 for `refused_item`,
        or Telegram's my_chat_member update). Their chat is held, and everyone told."""
        first = await self._specialists.set_blocked(specialist.id, True)
        await self._repo.hold_chat(refused_item or 0, specialist.chat_id)
        if await self._outbox.drop_held_digests(specialist.chat_id):
            # The summary made before the bot knew (Telegram refused it, or it was queued)
            # would arrive stale: the day's is made afresh once they unblock the bot.
            await self._specialists.set_digest(specialist.id, specialist.digest_at, None)
        if first:
            clients = await self._specialists.client_count(specialist.id)
            log.warning("specialist.blocked", specialist=specialist.id, clients=clients)
            for admin in sorted(self._admin_ids):
                await self._outbox.text(
                    admin,
                    self._texts.get(
                        "admin.specialist_blocked",
                        await self._staff_languages.language_of(admin),
                        name=specialist.display_name,
                        clients=clients,
                    ),
                )
        await self.announce(specialist)

    async def announce(
        self, specialist: Specialist, *, urgent_now: bool = False, escalated: bool = False
    ) -> None:
        """Inside a transaction: for what was held for the specialist since the last time,
        tell each client concerned that their words are kept (once in KEPT_NOTE_EVERY, or
        now with `urgent_now`), and send possibly urgent words to the admins (unless they
        were `escalated` already, to the admins and whoever is on call)."""
        now = self._clock.now()
        told: set[int] = set()
        for item in await self._repo.newly_held(specialist.chat_id):
            client = await self._client_of(item)
            if client is None:
                continue
            if client.id not in told:
                told.add(client.id)
                await self.tell_kept(client, specialist, now, force=urgent_now)
            if item.priority is Priority.URGENT and not escalated:
                source = (item.payload["from_chat_id"], item.payload["message_id"])
                await self.escalate_held_urgent(client, specialist, source, now)

    async def _client_of(self, item: OutboxItem) -> Client | None:
        """The client whose relayed words the item copies, if it is such a copy."""
        if item.method != "copy_message" or item.relay_link_id is None:
            return None
        link = await self._relay.by_id(item.relay_link_id)
        if link is None or link.direction is not Direction.TO_SPECIALIST:
            return None
        return await self._clients.by_id(link.client_id)

    async def tell_kept(
        self, client: Client, specialist: Specialist, now: datetime, *, force: bool = False
    ) -> None:
        """The client hears, kindly, that their specialist cannot receive messages now and
        their words are kept (at most once in KEPT_NOTE_EVERY unless forced)."""
        claimed = await self._clients.claim_kept_note(client.id, now, KEPT_NOTE_EVERY)
        if claimed or force:
            await self._outbox.text(
                client.chat_id,
                self._texts.get(
                    "unreachable.kept", client.language, specialist=specialist.display_name
                ),
            )

    async def escalate_held_urgent(
        self,
        client: Client,
        specialist: Specialist,
        source: tuple[int, int],
        now: datetime,
    ) -> None:
        """Possibly urgent words their specialist cannot receive: a copy to every admin at
        once, under a header naming the client and the specialist. The one place to route
        them elsewhere (supervisors on call). An admin's reply to the copy does not reach
        the client (the relay routes a reply to a client's own specialist only), and the
        header says so."""
        log.warning("unreachable.escalated", client=client.id, specialist=specialist.id)
        for admin in sorted(self._admin_ids):
            header = self._texts.get(
                "unreachable.urgent_header",
                await self._staff_languages.language_of(admin),
                alias=client.alias,
                name=specialist.display_name,
            )
            link = await self._relay.add_link(
                client_id=client.id,
                specialist_id=specialist.id,
                direction=Direction.TO_SPECIALIST,
                source=source,
                dest_chat_id=admin,
                now=now,
            )
            await self._outbox.text(admin, header, priority=Priority.URGENT)
            await self._outbox.copy(
                admin, source[0], source[1], relay_link_id=link, priority=Priority.URGENT
            )

    async def unblocked(self, specialist: Specialist) -> None:
        """The specialist unblocked the bot: everything held for them goes, in order."""
        async with self._db.transaction():
            changed = await self._specialists.set_blocked(specialist.id, False)
            released = await self._outbox.release(specialist.chat_id)
            if not changed and not released:
                return
            log.info("specialist.unblocked", specialist=specialist.id, released=released)
            for admin in sorted(self._admin_ids):
                await self._outbox.text(
                    admin,
                    self._texts.get(
                        "unreachable.admin_unblocked",
                        await self._staff_languages.language_of(admin),
                        name=specialist.display_name,
                        count=released,
                    ),
                )
