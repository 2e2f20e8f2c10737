"""The two-way relay: a client's words to their specialist, the specialist's answers back.

Messages are copied by id (copy_message), never forwarded, so the specialist's own
account stays hidden and clients who hide forwards still work. Every copy is paired
with its client in relay_links, so a specialist answers simply by replying. A header
naming the sender goes before a copy when the chat last heard from someone else, or
not for a while; a run of messages from one person reads as one conversation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.delivery.outbox import Outbox
from bot.domain.clock import Clock
from bot.domain.models import Client, ClientStatus, Direction, RelayLink, Specialist
from bot.domain.safety import SafetyMatch, SafetyScreen
from bot.domain.texts import DEFAULT_LANGUAGE, Texts
from bot.logs import EventLog
from bot.services.away import Away
from bot.services.checkins import CheckIns
from bot.services.lookup import Lookup
from bot.services.notices import Refused
from bot.services.people import People
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.inbox import InboxRepository, Received
from bot.storage.relay import RelayRepository
from bot.storage.specialists import SpecialistRepository

log = EventLog(__name__)

HEADER_GAP = timedelta(minutes=30)
SAFETY_REPLY_EVERY = timedelta(hours=1)
UPDATE_MEMORY = timedelta(days=3)


class Outcome(StrEnum):
    """What became of a message someone sent."""

    RELAYED = "relayed"
    DUPLICATE = "duplicate"
    NOT_A_REPLY = "not_a_reply"
    CLIENT_GONE = "client_gone"
    NOT_YOUR_CLIENT = "not_your_client"


class Relay:
    """Carries messages between clients and specialists."""

    def __init__(
        self,
        db: Database,
        specialists: SpecialistRepository,
        clients: ClientRepository,
        relay: RelayRepository,
        inbox: InboxRepository,
        people: People,
        outbox: Outbox,
        checkins: CheckIns,
        away: Away,
        safety: SafetyScreen,
        texts: Texts,
        clock: Clock,
    ) -> None:
        self._db = db
        self._checkins = checkins
        self._away = away
        self._lookup = Lookup(clients, specialists)
        self._inbox = inbox
        self._people = people
        self._safety = safety
        self._clients = clients
        self._relay = relay
        self._outbox = outbox
        self._texts = texts
        self._clock = clock
        # Updates whose inbox row a relay transaction removed: forget() has nothing to do.
        self._settled: set[int] = set()

    async def from_client(
        self,
        update_id: int,
        client: Client,
        specialist: Specialist,
        message_id: int,
        reply_to: int | None,
        flagged: SafetyMatch | None = None,
        *,
        unscreened: str | None = None,
    ) -> Outcome:
        """Copy a client's message to their specialist (once per update, whatever happens).

        A message the safety screen flagged goes first all the same, under a loud header:
        `urgent` marks it possibly urgent, and the client gets the resources (at most once
        an hour) and a line saying their message has gone to their specialist; `concern`
        says it may need attention and why, and the client sees nothing unusual. A voice
        note, video or audio (`unscreened`, its kind) says in its header that it was not
        screened. While the specialist is away the copy arrives silently (unless flagged),
        and the client gets the away note once a day.
        """
        now = self._clock.now()
        async with self._db.transaction():
            await self._settle(update_id)
            if not await self._relay.first_time(update_id, now):
                return Outcome.DUPLICATE
            answered = await self._checkins.answered_by_message(client, now)
            # A client replying to a specialist's message: thread the copy under the original.
            original = await self._linked(client.chat_id, reply_to, specialist.id)
            thread_to = (
                original.source_message_id
                if original and original.direction is Direction.TO_CLIENT
                else None
            )
            away = specialist.is_away(self._away.today(now))
            urgent = flagged is not None and flagged.level == "urgent"
            if flagged is not None:
                await self._clients.mark_flagged(client.id, now, flagged.level)
                header = self._flagged_header(client, flagged)
            elif unscreened is not None:
                header = self._texts.get(
                    "safety_levels.unscreened_header",
                    alias=client.alias,
                    kind=self._texts.get(f"safety_levels.kind_{unscreened}"),
                )
            elif answered is None:
                header = self._texts.get("relay.header_to_specialist", alias=client.alias)
            else:
                header = self._texts.get(
                    "to_specialist.answering",
                    alias=client.alias,
                    when=self._checkins.label(answered),
                )
            new_thread = await self._copy(
                client=client,
                specialist=specialist,
                direction=Direction.TO_SPECIALIST,
                source=(client.chat_id, message_id),
                dest_chat_id=specialist.chat_id,
                header=header,
                reply_to=thread_to,
                force_header=answered is not None or flagged is not None or bool(unscreened),
                silent=away and flagged is None,
            )
            resources_sent = urgent and await self._safety_reply(client, specialist, now)
            noted = away and await self._away.note(
                client, specialist, now, with_resources=not resources_sent
            )
            if not urgent and new_thread and not noted:
                await self._outbox.text(
                    client.chat_id,
                    self._texts.get(
                        "client.passed_on", client.language, specialist=specialist.display_name
                    ),
                )
        log.info(
            "relay.to_specialist",
            client=client.id,
            specialist=specialist.id,
            flagged=flagged.category if flagged else None,
            level=flagged.level if flagged else None,
        )
        return Outcome.RELAYED

    async def from_specialist(
        self, update_id: int, specialist: Specialist, message_id: int, reply_to: int | None
    ) -> Outcome:
        """Copy a specialist's reply to the client whose message it answers."""
        now = self._clock.now()
        async with self._db.transaction():
            await self._settle(update_id)
            if not await self._relay.first_time(update_id, now):
                return Outcome.DUPLICATE
            link = await self._linked(specialist.chat_id, reply_to, None)
            if link is None:
                return await self._explain(specialist, Outcome.NOT_A_REPLY)
            client = await self._clients.by_id(link.client_id)
            if client is None:
                return await self._explain(specialist, Outcome.CLIENT_GONE)
            if client.specialist_id != specialist.id or link.specialist_id != specialist.id:
                return await self._explain(specialist, Outcome.NOT_YOUR_CLIENT)
            # Answering a client's message: thread the copy under the client's original.
            thread_to = (
                link.source_message_id if link.direction is Direction.TO_SPECIALIST else None
            )
            await self._to_client(client, specialist, message_id, reply_to=thread_to)
        log.info("relay.to_client", client=client.id, specialist=specialist.id)
        return Outcome.RELAYED

    async def write_to(
        self, update_id: int, specialist: Specialist, message_id: int, text: str
    ) -> None:
        """/to <alias> <words>: the words to one of the specialist's clients, unprompted.

        Sent as the bot's text under the usual header, and paired with the /to message in
        relay_links, so a reply from the client threads back under it.
        """
        now = self._clock.now()
        async with self._db.transaction():
            if not await self._relay.first_time(update_id, now):
                return
            if not text.strip():
                raise Refused("to.usage")
            named = await self._lookup.client(text, specialist)
            client = named.found
            if not named.rest:
                raise Refused("to.empty", alias=client.alias)
            if client.status is ClientStatus.BLOCKED:
                raise Refused("to.blocked", alias=client.alias)
            await self._to_client(client, specialist, message_id, reply_to=None, text=named.rest)
        log.info("relay.to_client", client=client.id, specialist=specialist.id, direct=1)

    async def _to_client(
        self,
        client: Client,
        specialist: Specialist,
        message_id: int,
        *,
        reply_to: int | None,
        text: str | None = None,
    ) -> None:
        """A specialist's message (or the words of their /to) to their client."""
        await self._copy(
            client=client,
            specialist=specialist,
            direction=Direction.TO_CLIENT,
            source=(specialist.chat_id, message_id),
            dest_chat_id=client.chat_id,
            header=self._texts.get(
                "relay.header_to_client", client.language, specialist=specialist.display_name
            ),
            reply_to=reply_to,
            text=text,
        )

    def _flagged_header(self, client: Client, flagged: SafetyMatch) -> str:
        """The loud header over a flagged message: possibly urgent, or may need attention."""
        if flagged.level == "urgent":
            return self._texts.get("relay.urgent_header", alias=client.alias)
        return self._texts.get(
            "safety_levels.concern_header",
            alias=client.alias,
            category=flagged.category.replace("_", " "),
        )

    async def _safety_reply(self, client: Client, specialist: Specialist, now: datetime) -> bool:
        """The resources to a client whose words may signal risk, at most once an hour."""
        if not await self._clients.claim_safety_reply(client.id, now, SAFETY_REPLY_EVERY):
            return False
        text = self._texts.get(
            "client.safety",
            client.language,
            specialist=specialist.display_name,
            resources=self._safety.resources(client.language),
        )
        await self._outbox.text(client.chat_id, text)
        return True

    async def tidy(self, retention: timedelta) -> None:
        """Forget update ids Telegram will not redeliver, and whatever is past retention."""
        now = self._clock.now()
        async with self._db.transaction():
            await self._relay.forget_updates_before(now - UPDATE_MEMORY)
            await self._relay.purge_before(now - retention)

    async def keep(self, received: Received, words: str | None, language: str | None) -> None:
        """Store a message's ids until it is handled (see bot.handlers.inbox), with what the
        safety screen finds in its words, so a message relayed after a crash is still
        marked possibly urgent. The words themselves are not kept."""
        # Every language the screen knows: the app's language need not be the one the
        # client chose to write in, and only a replay after a crash uses this mark.
        flagged = self._safety.screen_all(words, language or DEFAULT_LANGUAGE) if words else None
        if flagged is not None:
            received = replace(received, safety_category=flagged.category)
        async with self._db.autocommit():
            await self._inbox.keep(received, self._clock.now())

    async def _settle(self, update_id: int) -> None:
        """Inside the relay's transaction: the message is handled once this commits."""
        await self._inbox.forget(update_id)
        self._settled.add(update_id)

    async def forget(self, update_id: int) -> None:
        """A message was handled (the relay may have said so in its own transaction)."""
        if update_id in self._settled:
            self._settled.discard(update_id)
            return
        async with self._db.autocommit():
            await self._inbox.forget(update_id)

    async def replay(self) -> int:
        """Relay what a crash left unhandled; return how many messages there were."""
        async with self._db.transaction():
            left = await self._inbox.unhandled()
        for message in left:
            person = await self._people.identify(message.user_id)
            if person.specialist is not None:
                await self.from_specialist(
                    message.update_id,
                    person.specialist,
                    message.message_id,
                    message.reply_to_message_id,
                )
            elif person.client is not None and person.their_specialist is not None:
                category = message.safety_category
                await self.from_client(
                    message.update_id,
                    person.client,
                    person.their_specialist,
                    message.message_id,
                    message.reply_to_message_id,
                    (
                        SafetyMatch(category, self._safety.level_of(category))
                        if category is not None
                        else None
                    ),
                    unscreened=message.unscreened,
                )
            await self.forget(message.update_id)
        if left:
            log.warning("inbox.replayed", count=len(left))
        return len(left)

    async def _linked(
        self, chat_id: int, message_id: int | None, specialist_id: int | None
    ) -> RelayLink | None:
        """The relay link behind a message in this chat: a copy we made, or an original."""
        if message_id is None:
            return None
        link = await self._relay.by_dest(chat_id, message_id)
        if link is None:
            link = await self._relay.by_source(chat_id, message_id)
        if link is not None and specialist_id is not None and link.specialist_id != specialist_id:
            return None
        return link

    async def _copy(
        self,
        *,
        client: Client,
        specialist: Specialist,
        direction: Direction,
        source: tuple[int, int],
        dest_chat_id: int,
        header: str,
        reply_to: int | None,
        force_header: bool = False,
        silent: bool = False,
        text: str | None = None,
    ) -> bool:
        """Queue the header (when needed) and the copy; return True if a header went.

        With `text`, the bot sends those words in place of a copy (a specialist's /to).
        """
        now = self._clock.now()
        # The specialist is part of the key: after a transfer the client hears a new name.
        source_key = f"{direction.value}:{client.id}:{specialist.id}"
        last = await self._relay.last_source(dest_chat_id)
        needs_header = (
            force_header or last is None or last[0] != source_key or now - last[1] > HEADER_GAP
        )
        if needs_header:
            header_link = await self._relay.add_link(
                client_id=client.id,
                specialist_id=specialist.id,
                direction=direction,
                source=None,
                dest_chat_id=dest_chat_id,
                now=now,
            )
            await self._outbox.text(dest_chat_id, header, relay_link_id=header_link, silent=silent)
        link = await self._relay.add_link(
            client_id=client.id,
            specialist_id=specialist.id,
            direction=direction,
            source=source,
            dest_chat_id=dest_chat_id,
            now=now,
        )
        if text is not None:
            await self._outbox.text(dest_chat_id, text, relay_link_id=link)
        else:
            await self._outbox.copy(
                dest_chat_id,
                source[0],
                source[1],
                relay_link_id=link,
                reply_to=reply_to,
                silent=silent,
            )
        await self._relay.set_last_source(dest_chat_id, source_key, now)
        return needs_header

    async def _explain(self, specialist: Specialist, outcome: Outcome) -> Outcome:
        key = {
            Outcome.NOT_A_REPLY: "specialist.reply_hint",
            Outcome.CLIENT_GONE: "specialist.client_gone",
            Outcome.NOT_YOUR_CLIENT: "specialist.not_your_client",
        }[outcome]
        await self._outbox.text(specialist.chat_id, self._texts.get(key))
        return outcome
