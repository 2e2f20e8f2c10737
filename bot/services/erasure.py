"""/forget: a client erases everything stored about them, after a confirmation.

Every row about the client goes in one transaction: their client row (and with
it, by cascade, their check-ins and relay routing), what waits for them in the
outbox and inbox, and the used invite that carried their alias; audit entries about
them stay without their id, and the erasure is logged without one. The goodbye to the
client and the note to the specialist are queued as ephemeral, so they too leave
no row once sent. Nothing stays in the database's files either: freed space is zeroed
(secure_delete) and the write-ahead log is emptied at once (bot.storage.checkpoint).
Copies already in the specialist's chat stay there; the confirmation says so.
"""

from __future__ import annotations

from bot.delivery.outbox import Buttons, Outbox
from bot.domain.clock import Clock
from bot.domain.models import Actor, ActorRole, Client, Specialist
from bot.domain.texts import Texts
from bot.logs import EventLog
from bot.services.team import Team
from bot.storage import events
from bot.storage.audit import AuditRepository
from bot.storage.checkpoint import checkpoint
from bot.storage.clients import ClientRepository
from bot.storage.db import Database

log = EventLog(__name__)


class Erasure:
    """Asks, then erases."""

    def __init__(
        self,
        db: Database,
        clients: ClientRepository,
        audit: AuditRepository,
        outbox: Outbox,
        texts: Texts,
        clock: Clock,
        team: Team | None = None,
    ) -> None:
        self._db = db
        self._clients = clients
        self._audit = audit
        self._outbox = outbox
        self._texts = texts
        self._clock = clock
        self._team = team

    def question(self, client: Client, specialist: Specialist) -> tuple[str, Buttons]:
        """Erase everything? / Cancel."""
        language = client.language
        text = self._texts.get("forget.question", language, specialist=specialist.display_name)
        return text, [
            [
                (self._texts.get("forget.yes", language), "f:yes"),
                (self._texts.get("forget.no", language), "f:no"),
            ]
        ]

    async def ask(self, client: Client, specialist: Specialist) -> None:
        """Send the question."""
        text, buttons = self.question(client, specialist)
        async with self._db.transaction():
            await self._outbox.text(client.chat_id, text, buttons=buttons)

    async def keep(self, client: Client, message_id: int) -> None:
        """'Cancel': nothing changes."""
        async with self._db.transaction():
            await self._outbox.edit_text(
                client.chat_id, message_id, self._texts.get("forget.kept", client.language)
            )

    async def erase(self, client: Client, specialist: Specialist, message_id: int) -> None:
        """Delete every row about the client; say goodbye; tell the specialist."""
        async with self._db.transaction():
            # What the sender holds of it already, waiting for its chat's turn, is not sent.
            self._outbox.withdrawn(await self._clients.erase(client))
            if self._team is not None:
                await self._team.erased(client)  # the client's team topic goes too
            # The log keeps that an erasure happened, and nothing that says whose: the
            # entries about the client stay without their id, and this one has none.
            await self._audit.forget_client(client.id)
            await events.forget_client(self._db, client.id)
            await events.record(
                self._db, events.ERASED, self._clock.now(), specialist_id=specialist.id
            )
            await self._audit.record(
                Actor(ActorRole.CLIENT), "erase", self._clock.now(), specialist_id=specialist.id
            )
            await self._outbox.remove_buttons(client.chat_id, message_id)
            await self._outbox.text(
                client.chat_id,
                self._texts.get(
                    "forget.done", client.language, specialist=specialist.display_name
                ),
                ephemeral=True,
            )
            await self._outbox.text(
                specialist.chat_id,
                self._texts.get("forget.to_specialist", specialist.language, alias=client.alias),
                ephemeral=True,
            )
        # The rows are gone from the tables; this takes them out of the log and the file's
        # free space too. The two goodbyes, ephemeral, leave at the tick after they are sent.
        await checkpoint(self._db)
        log.info("client.erased", specialist=specialist.id)
