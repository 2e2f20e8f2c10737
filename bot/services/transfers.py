"""Handing clients over: /transfer by their specialist or an admin, and removing a specialist.

The client is told who reads their messages from now on; the new specialist gets
the note and the client's overview line, then the client's messages still waiting for
the old specialist (queued, or kept while the old one had blocked the bot), re-addressed
under a header of their own: nothing of theirs reaches the old specialist afterwards.
From then on the old specialist's replies to the client's earlier messages are refused
(the relay checks whose client it is), and a reply from the client never threads under
the old specialist's messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.models import Actor, ActorRole, Client, Direction, Specialist
from bot.logs import EventLog
from bot.services.base import StaffContext, StaffService
from bot.services.lookup import Lookup, Named
from bot.services.notices import Refused
from bot.services.overview import Overview
from bot.services.people import Person
from bot.services.relay import resume_after_urgent
from bot.services.team import Team
from bot.storage.outbox import Priority
from bot.storage.relay import RelayRepository

log = EventLog(__name__)


@dataclass(frozen=True)
class Removal:
    """A specialist removed, and where their clients went."""

    specialist: Specialist
    target: Specialist | None
    moved: int


class Transfers(StaffService):
    """Moves clients between specialists."""

    def __init__(
        self,
        context: StaffContext,
        overview: Overview,
        relay: RelayRepository,
        team: Team | None = None,
        quiet_now: Callable[[Client, datetime], Awaitable[bool]] | None = None,
    ) -> None:
        super().__init__(context)
        self._overview = overview
        self._relay = relay
        self._lookup = Lookup(context.clients, context.specialists)
        self._team = team
        # Whether it is the client's quiet hours (bot.services.checkins): the news of a
        # transfer then arrives without a sound, as a reply does.
        self._quiet_now = quiet_now

    async def transfer(self, person: Person, text: str, client_id: int | None = None) -> None:
        """/transfer <alias> <specialist> [note], by the client's specialist or an admin; in
        a client's team topic (client_id given), /transfer <specialist> [note]."""
        now = self._clock.now()
        async with self._db.transaction():
            if not text.strip():
                raise Refused("transfer.usage")
            if client_id is None:
                named = await self._client(person, text)
            else:
                named = await self._topic_client(person, client_id, text)
            client = named.found
            if not named.rest:
                raise Refused("transfer.usage")
            target = await self._lookup.specialist(named.rest)
            new, note = target.found, target.rest
            old = await self._specialists.by_id(client.specialist_id)
            assert old is not None
            if new.id == old.id:
                raise Refused("transfer.same", alias=client.alias, name=new.display_name)
            theirs = person.specialist is not None and person.specialist.id == old.id
            actor = Actor(ActorRole.SPECIALIST if theirs else ActorRole.ADMIN, person.user_id)
            alias = await self._move(client, old, new, actor, now)
            introduction = self._texts.get(
                "transfer.to_new", new.language, alias=alias, previous=old.display_name
            )
            if note:
                introduction += "\n" + self._texts.get("transfer.note", new.language, note=note)
            await self._introduce(new, introduction, [await self._line(client, new, now)])
            await self._readdress(client, old, new, alias, now)
            done = self._texts.get(
                "transfer.done", person.language, alias=client.alias, name=new.display_name
            )
            await self._outbox.text(person.user_id, done)
            if not theirs:
                await self._outbox.text(
                    old.chat_id,
                    self._texts.get(
                        "transfer.to_old", old.language, alias=client.alias, name=new.display_name
                    ),
                )
        log.info(
            "client.transferred", client=client.id, from_specialist=old.id, to_specialist=new.id
        )

    async def _topic_client(self, person: Person, client_id: int, text: str) -> Named[Client]:
        """The client whose topic this is, if the person is their specialist or an admin (an
        alias is unique only among one specialist's clients: never looked up by it here)."""
        client = await self._clients.by_id(client_id)
        if client is None:
            raise Refused("transfer.usage")
        mine = person.specialist is not None and person.specialist.id == client.specialist_id
        if not mine and not person.is_admin:
            raise Refused("lookup.no_client", alias=client.alias)
        return Named(client, text.strip())

    async def _client(self, person: Person, text: str) -> Named[Client]:
        """A specialist names their own client; an admin may name anyone's."""
        if person.specialist is not None:
            try:
                return await self._lookup.client(text, person.specialist)
            except Refused:
                if not person.is_admin:
                    raise
        return await self._lookup.client(text, None)

    async def remove_specialist(self, actor: Actor, user_id: int, to: str | None) -> Removal:
        """Deactivate a specialist; their clients go to the specialist named by `to`."""
        now = self._clock.now()
        async with self._db.transaction():
            leaving = await self._specialists.by_user(user_id)
            if leaving is None or not leaving.active:
                raise Refused("admin.remove_unknown", user_id=user_id)
            theirs = await self._clients.of_specialist(leaving.id)
            target = None
            if to is not None and to.strip():
                named = await self._lookup.specialist(to)
                if named.rest:
                    raise Refused("admin.remove_usage")
                target = named.found
            if target is not None and target.id == leaving.id:
                raise Refused("admin.remove_same")
            if theirs and target is None:
                raise Refused("admin.remove_needs_target", name=leaving.display_name)
            await self._specialists.deactivate(leaving.id)
            moving = target if theirs else None
            detail = None if moving is None else f"clients to specialist {moving.telegram_user_id}"
            await self._audit.record(
                actor, "specialist_removed", now, specialist_id=leaving.id, detail=detail
            )
            if moving is None:
                await self._outbox.text(
                    leaving.chat_id, self._texts.get("admin.to_removed_alone", leaving.language)
                )
            else:
                await self._hand_over(theirs, leaving, moving, actor, now)
            # Their clients' words kept for them went to `moving` just now; what is left
            # (copies of others' possibly urgent words they had as a supervisor, notes about
            # clients) is not theirs to read any more, even if they are registered again.
            await self._outbox.drop_held(leaving.chat_id)
        log.info("specialist.removed", specialist=leaving.id, moved=len(theirs))
        return Removal(leaving, moving, len(theirs) if moving else 0)

    async def _hand_over(
        self,
        clients: list[Client],
        leaving: Specialist,
        target: Specialist,
        actor: Actor,
        now: datetime,
    ) -> None:
        """Every client of a removed specialist to `target`, who gets one list of them."""
        lines = []
        aliases = []
        for client in clients:
            aliases.append(await self._move(client, leaving, target, actor, now))
            lines.append(await self._line(client, target, now))
        introduction = self._texts.get(
            "admin.handed_over",
            target.language,
            count=len(clients),
            previous=leaving.display_name,
        )
        await self._introduce(target, introduction, lines)
        for client, alias in zip(clients, aliases, strict=True):
            await self._readdress(client, leaving, target, alias, now)
        await self._outbox.text(
            leaving.chat_id,
            self._texts.get("admin.to_removed", leaving.language, name=target.display_name),
        )

    async def _move(
        self, client: Client, old: Specialist, new: Specialist, actor: Actor, now: datetime
    ) -> str:
        """Give the client to `new` and tell them; return the alias `new` knows them by."""
        alias = await self._clients.free_alias(new.id, client.alias)
        await self._clients.move(client.id, new.id, alias)
        if self._team is not None:
            await self._team.renamed(client.id)  # the team topic's title names `new`
        await self._audit.record(
            actor,
            "transfer",
            now,
            client_id=client.id,
            specialist_id=new.id,
            detail=f"from specialist {old.telegram_user_id}",
        )
        await self._outbox.text(
            client.chat_id,
            self._texts.get(
                "transfer.to_client",
                client.language,
                specialist=new.display_name,
                previous=old.display_name,
            ),
            silent=self._quiet_now is not None and await self._quiet_now(client, now),
        )
        return alias

    async def _readdress(
        self, client: Client, old: Specialist, new: Specialist, alias: str, now: datetime
    ) -> None:
        """The client's copies still waiting for `old` go to `new` instead, in their order,
        under a header naming the client as `new` knows them (possibly urgent ones under
        their own header, still first); headers and notes for `old` are dropped."""
        waiting = await self._outbox.take_queued(old.chat_id, client.id)
        copies = [item for item in waiting if item.method == "copy_message"]
        if not copies:
            return
        log.info("client.readdressed", client=client.id, to_specialist=new.id, count=len(copies))
        header_shown = {Priority.URGENT: False, Priority.PERSON: False}
        for item in copies:
            urgent = item.priority is Priority.URGENT
            priority = Priority.URGENT if urgent else Priority.PERSON
            source = (item.payload["from_chat_id"], item.payload["message_id"])
            if urgent or not header_shown[priority]:
                header_shown[priority] = True
                key = "relay.urgent_header" if urgent else "relay.header_to_specialist"
                await self._outbox.text(
                    new.chat_id,
                    self._texts.get(key, new.language, alias=alias),
                    relay_link_id=await self._link(client, new, None, now),
                    priority=priority,
                )
            await self._outbox.copy(
                new.chat_id,
                *source,
                relay_link_id=await self._link(client, new, source, now),
                priority=priority,
            )
        if header_shown[Priority.URGENT]:
            # Ahead of what waits for `new` too: that keeps its own name after them.
            await resume_after_urgent(
                self._outbox,
                self._relay,
                self._clients,
                self._texts,
                new.chat_id,
                now,
                new.language,
            )

    async def _link(
        self, client: Client, new: Specialist, source: tuple[int, int] | None, now: datetime
    ) -> int:
        return await self._relay.add_link(
            client_id=client.id,
            specialist_id=new.id,
            direction=Direction.TO_SPECIALIST,
            source=source,
            dest_chat_id=new.chat_id,
            now=now,
        )

    async def _line(self, client: Client, reader: Specialist, now: datetime) -> str:
        facts = await self._facts.of_client(client.id)
        assert facts is not None
        return self._overview.line(facts, now, reader.language)

    async def _introduce(
        self, specialist: Specialist, introduction: str, lines: list[str]
    ) -> None:
        await self._outbox.text(specialist.chat_id, "\n".join([introduction, *lines]))
