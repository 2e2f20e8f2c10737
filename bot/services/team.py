"""The team inbox: a staff supergroup (TEAM_CHAT_ID) with one forum topic per client.

The team sees in each client's topic what the client's specialist sees: the Outbox tells
`mirror` of every message linked to a client (a relay header, a copy, a note such as a
check-in tap or a pace change), and what went to the client's own specialist is queued
again for the topic; what a specialist or supervisor sends the client is shown too. A
possibly urgent message also gets one line in the General topic, linked to the topic.

Everything for the group is queued with Priority.TEAM: it goes after every private chat's
messages and, in the limiter, at most about 20 a minute (the group's own Telegram limit).
A topic is asked for once: its row in team_topics is claimed in the same transaction as
the item that makes it, so two messages racing, or a restart in between, never make two;
the sender stores the thread id Telegram gives it. Items for a topic carry the client's id,
not the thread, and find the thread when they go.

A client who has not yet been shown the terms that say the team reads along
(`consent_version(team=True)`) is not posted to the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from telegram.error import Forbidden, TelegramError

from bot import metrics
from bot.delivery.outbox import Linked, Outbox
from bot.domain.clock import Clock
from bot.domain.escalation import Responder
from bot.domain.models import Client, ClientStatus, Direction, Specialist, Terms
from bot.domain.rhythm import zone
from bot.domain.texts import DEFAULT_LANGUAGE, Texts
from bot.logs import EventLog
from bot.services.people import Person
from bot.storage import events
from bot.storage.clients import ClientRepository
from bot.storage.db import Database, fault_text, is_storage_fault
from bot.storage.inbox import InboxRepository, Received
from bot.storage.outbox import OutboxItem, Priority
from bot.storage.relay import RelayRepository
from bot.storage.specialists import SpecialistRepository
from bot.storage.topics import TopicRepository

log = EventLog(__name__)

# The marks of a flag, of an urgent message and of "I'd like to talk" in what a specialist
# reads: in TEAM_MODE=group, the topic mentions the specialist on them.
LOUD_MARKERS = ("⚠️", "❗", "🔔")
# A message in a topic that starts so is a note for the team: it never reaches the client.
NOTE_PREFIXES = ("#", "!note")
# As in the relay: a run of one person's answers reads as one, under one header.
HEADER_GAP = timedelta(minutes=30)
# Telegram's longest topic name.
TITLE_LIMIT = 128
# Clients given a topic per transaction by the start-up catch-up.
CATCH_UP_BATCH = 20


def is_team_note(text: str | None) -> bool:
    """A message for the team only: it starts with # or !note."""
    return text is not None and text.lstrip().lower().startswith(NOTE_PREFIXES)


def consent_version(texts: Texts, *, team: bool) -> Terms:
    """The terms clients must have accepted. Turning the team inbox on changes them (they
    then say the team reads along), so every current client sees the terms once; turning
    it off again asks nothing of those who accepted them with the team (Terms.covers)."""
    return Terms(int(texts.get("consent.version", DEFAULT_LANGUAGE)), team=team)


# The sender's own error for an item whose topic is not there (bot.delivery.sender).
NO_TOPIC = "the client has no team topic"
# What Telegram says when a group item fails, in the words of its error descriptions.
_TOPIC_GONE = ("thread not found", "topic_deleted", "topic_id_invalid", "no team topic")
_NO_RIGHTS = ("not enough rights", "chat_admin_required", "have no rights", "write_forbidden")


def failure_kind(error: TelegramError) -> str:
    """Why the group did not take an item, as a key of team_fallback: topic_gone, closed,
    removed, rights or other."""
    message = error.message.lower()
    if isinstance(error, Forbidden) or "chat not found" in message:
        return "removed"  # kicked, not a member, or the group is gone
    if any(words in message for words in _TOPIC_GONE):
        return "topic_gone"
    if "topic_closed" in message:
        return "closed"
    if any(words in message for words in _NO_RIGHTS):
        return "rights"
    return "other"


def _team_priority(urgent: bool) -> Priority:
    """Possibly urgent words go ahead of the group's other items (still behind every
    private chat's, and within the group's own pace)."""
    return Priority.TEAM_URGENT if urgent else Priority.TEAM


def topic_title(alias: str, specialist_name: str) -> str:
    """ "Alex · Sam Rivera", cut to Telegram's limit."""
    return f"{alias} · {specialist_name}"[:TITLE_LIMIT]


class Team:
    """Topics in the team group, and what goes into them."""

    def __init__(
        self,
        db: Database,
        topics: TopicRepository,
        clients: ClientRepository,
        specialists: SpecialistRepository,
        relay: RelayRepository,
        outbox: Outbox,
        texts: Texts,
        clock: Clock,
        *,
        chat_id: int | None,
        consent_version: Terms,
        group_only: bool = False,
        staff_timezone: str = "UTC",
        inbox: InboxRepository | None = None,
    ) -> None:
        self._inbox = inbox
        self._db = db
        self._topics = topics
        self._clients = clients
        self._specialists = specialists
        self._relay = relay
        self._outbox = outbox
        self._texts = texts
        self._clock = clock
        self.chat_id = chat_id
        self.consent_version = consent_version
        self.group_only = group_only
        self._staff_zone = zone(staff_timezone)
        self._catch_up: asyncio.Task[None] | None = None
        # Why a client's topic could not be made, for the line over what then falls back
        # (wording only: nothing depends on it surviving a restart).
        self._not_made: dict[int, str] = {}
        self._quiet_now: Callable[[Client, datetime], Awaitable[bool]] | None = None
        self._answered: Callable[[Client, Responder, datetime], Awaitable[None]] | None = None

    def connect(
        self,
        quiet_now: Callable[[Client, datetime], Awaitable[bool]],
        answered: Callable[[Client, Responder, datetime], Awaitable[None]],
    ) -> None:
        """Whether a client is in their quiet hours (an answer then arrives silently), and
        whom to tell that someone answered a client (escalations close)."""
        self._quiet_now = quiet_now
        self._answered = answered

    @property
    def enabled(self) -> bool:
        return self.chat_id is not None

    def may_post(self, client: Client) -> bool:
        """The client has been shown the terms that say the team reads their messages."""
        return self.enabled and client.has_accepted(self.consent_version)

    # --- topics -----------------------------------------------------------------------------

    async def ensure_topic(
        self, client: Client, specialist: Specialist, *, urgent: bool = False
    ) -> bool:
        """Inside a transaction: ask for the client's topic unless they have one; True if
        they have (or will have) one the group may see. For a possibly urgent message the
        request goes ahead of the group's ordinary items, as the message does."""
        if not self.may_post(client):
            return False
        assert self.chat_id is not None
        title = topic_title(client.alias, specialist.display_name)
        if await self._topics.claim(client.id, title, self.chat_id, self._clock.now()):
            self._not_made.pop(client.id, None)
            priority = Priority.TEAM_URGENT if urgent else Priority.TEAM
            create = {"topic": client.id, "name": title}
            await self._queue("create_topic", create, priority=priority)
            intro = self._texts.get(
                "team.topic_intro",
                specialist.language,
                alias=client.alias,
                specialist=specialist.display_name,
            )
            await self._queue(
                "send_message", {"topic": client.id, "text": intro}, silent=True, priority=priority
            )
            log.info("team.topic_asked", client=client.id)
        return True

    async def renamed(self, client_id: int) -> None:
        """Inside a transaction: the client's topic follows their alias and specialist."""
        if not self.enabled:
            return
        client = await self._clients.by_id(client_id)
        if client is None:
            return
        specialist = await self._specialists.by_id(client.specialist_id)
        if specialist is None:
            return
        title = topic_title(client.alias, specialist.display_name)
        if await self._topics.set_title(client.id, title):
            await self._queue("edit_topic", {"topic": client.id, "name": title})

    async def _follow_status(self, client: Client) -> None:
        """A client who stopped has their topic closed; one who came back, reopened. (The
        client's stop and return each send their specialist a note, mirrored here.)"""
        stopped = client.status is ClientStatus.STOPPED
        if await self._topics.set_closed(client.id, stopped):
            await self._queue("close_topic" if stopped else "reopen_topic", {"topic": client.id})

    async def erased(self, client: Client) -> bool:
        """Inside /forget's transaction: the topic goes, with what still waits for it, also
        after the team inbox was turned off (in the group it was made in). True if a topic
        is to be deleted in Telegram: if that fails, the client is told (`failed`)."""
        topic = await self._topics.get(client.id)
        if topic is None:
            return False
        chat_id = self.chat_id if topic.chat_id is None else topic.chat_id
        _, gone, lines = await self._topics.forget(client.id)
        self._outbox.withdrawn(gone)
        if lines:
            # Its lines in General ("Possibly urgent, from Alex ...") lose the alias, in the
            # language they were written in: the bot may edit its own messages at any age
            # (deleting them it may not, after 48 h).
            specialist = await self._specialists.by_id(client.specialist_id)
            language = client.language if specialist is None else specialist.language
            text = self._texts.get("team_erasure.general_line", language)
            for line_chat, message_id in lines:
                payload = {"message_id": message_id, "text": text}
                await self._outbox.queue(
                    line_chat, "edit_message_text", payload, priority=Priority.TEAM
                )
        if topic.thread_id is None:
            return False
        if chat_id is None:
            # Made before m021 and the team inbox since turned off: the group is unknown.
            await self._not_deleted({"tell": client.chat_id, "lang": client.language}, "other")
            return False
        # Whom to tell if it cannot be deleted: the chat the goodbye goes to (in the outbox
        # anyway until it is sent), nothing about them beyond it.
        payload = {"thread_id": topic.thread_id, "tell": client.chat_id, "lang": client.language}
        await self._outbox.queue(chat_id, "delete_topic", payload, priority=Priority.TEAM)
        return True

    async def export(self, client: Client) -> dict[str, object] | None:
        """For /mydata: the team group as a place the client's messages were copied to
        (also after the team inbox was turned off)."""
        topic = await self._topics.get(client.id)
        if topic is None:
            return None
        return {
            "about": self._texts.get("team_consent.mydata", client.language),
            "topic_title": topic.title,
            "topic_closed": topic.closed,
        }

    async def client_of(self, thread_id: int) -> tuple[Client, Specialist] | None:
        """The client whose topic this is, and their specialist."""
        async with self._db.autocommit():
            topic = await self._topics.by_thread(thread_id)
            client = None if topic is None else await self._clients.by_id(topic.client_id)
            specialist = None
            if client is not None:
                specialist = await self._specialists.by_id(client.specialist_id)
        return None if client is None or specialist is None else (client, specialist)

    # --- answers from the topic --------------------------------------------------------------

    async def from_topic(
        self, update_id: int, thread_id: int, person: Person, message_id: int, text: str | None
    ) -> None:
        """Someone wrote in a client's topic. A registered specialist or an admin reaches
        the client, under their own name (the client's specialist hears who answered);
        a note (# or !note) stays in the team; anyone else is told once, in the topic, that
        their messages do not reach the client."""
        now = self._clock.now()
        async with self._db.transaction():
            if self._inbox is not None:
                # Kept when it arrived (bot.handlers.inbox): handled once this commits.
                await self._inbox.forget(update_id)
            if not await self._relay.first_time(update_id, now):
                return
            topic = await self._topics.by_thread(thread_id)
            client = None if topic is None else await self._clients.by_id(topic.client_id)
            specialist = None
            if client is not None:
                specialist = await self._specialists.by_id(client.specialist_id)
            if client is None or specialist is None:
                return  # a topic people made themselves, or one on its way out
            if person.specialist is None and not person.is_admin:
                if await self._topics.first_notice(client.id, person.user_id):
                    notice = self._texts.get(
                        "team.not_staff", specialist.language, alias=client.alias
                    )
                    await self._queue(
                        "send_message",
                        {"topic": client.id, "text": notice},
                        priority=Priority.PERSON,
                    )
                log.info("team.not_staff", client=client.id)
                return
            if is_team_note(text):
                return
            if client.status is ClientStatus.BLOCKED:
                # Telegram would refuse it (and the block was told once, when it happened):
                # the topic hears that it did not go, rather than nothing.
                notice = self._texts.get("to.blocked", specialist.language, alias=client.alias)
                await self._queue(
                    "send_message", {"topic": client.id, "text": notice}, priority=Priority.PERSON
                )
                return
            await self._to_client(client, specialist, person, message_id, now)
        log.info("relay.to_client", client=client.id, from_team=person.user_id)
        metrics.relayed("to_client")

    async def replay(self, message: Received, person: Person) -> None:
        """An answer written in a topic that a crash or a failure left unhandled."""
        if message.thread_id is None or message.chat_id != self.chat_id:
            return  # the team inbox was turned off (or moved) since: nowhere to answer from
        await self.from_topic(
            message.update_id, message.thread_id, person, message.message_id, None
        )

    async def _to_client(
        self,
        client: Client,
        specialist: Specialist,
        person: Person,
        message_id: int,
        now: datetime,
    ) -> None:
        assert self.chat_id is not None
        own = person.specialist is not None and person.specialist.id == specialist.id
        name = person.specialist.display_name if person.specialist is not None else None
        language = client.language
        if own:
            header = self._texts.get(
                "relay.header_to_client", language, specialist=specialist.display_name
            )
        elif name is None:
            header = self._texts.get(
                "escalation.header_from_team", language, specialist=specialist.display_name
            )
        else:
            header = self._texts.get(
                "escalation.header_from_colleague",
                language,
                name=name,
                specialist=specialist.display_name,
            )
        silent = self._quiet_now is not None and await self._quiet_now(client, now)
        source = (self.chat_id, message_id)
        source_key = f"to_client:{client.id}:team:{person.user_id}"
        last = await self._relay.last_source(client.chat_id)
        if last is None or last[0] != source_key or now - last[1] > HEADER_GAP:
            await self._outbox.linked_text(
                client.chat_id,
                header,
                client_id=client.id,
                specialist_id=specialist.id,
                now=now,
                direction=Direction.TO_CLIENT,
                silent=silent,
            )
        await self._copy_to(client.chat_id, client, specialist, source, now, silent=silent)
        await self._relay.set_last_source(client.chat_id, source_key, now)
        await events.about(self._db, events.SPECIALIST_MESSAGE, now, client)
        if self._answered is not None:
            chat = person.specialist.chat_id if person.specialist else person.user_id
            await self._answered(
                client, Responder(person.user_id, chat, name, is_admin=person.is_admin), now
            )
        if own or self.group_only:
            return
        # The client's specialist reads, in their own chat, what a colleague answered (a
        # reply to it reaches the client, as to any of their copies).
        theirs = specialist.language
        answered = self._texts.get(
            "team.answered",
            theirs,
            name=name or self._texts.get("team.admin", theirs),
            alias=client.alias,
        )
        quiet = specialist.away
        await self._outbox.linked_text(
            specialist.chat_id,
            answered,
            client_id=client.id,
            specialist_id=specialist.id,
            now=now,
            direction=Direction.TO_CLIENT,
            silent=quiet,
        )
        await self._copy_to(specialist.chat_id, client, specialist, source, now, silent=quiet)

    async def _copy_to(
        self,
        chat_id: int,
        client: Client,
        specialist: Specialist,
        source: tuple[int, int],
        now: datetime,
        *,
        silent: bool,
    ) -> None:
        link = await self._relay.add_link(
            client_id=client.id,
            specialist_id=specialist.id,
            direction=Direction.TO_CLIENT,
            source=source,
            dest_chat_id=chat_id,
            now=now,
        )
        await self._outbox.copy(chat_id, *source, relay_link_id=link, silent=silent)

    async def list_clients(self, language: str) -> None:
        """/clients in the General topic: every client's topic, with a link to it (in the
        language of whoever asked)."""
        assert self.chat_id is not None
        internal = str(self.chat_id).removeprefix("-100").removeprefix("-")
        async with self._db.transaction():
            topics = [t for t in await self._topics.all() if t.thread_id is not None]
            lines = [
                self._texts.get(
                    "team.clients_line",
                    language,
                    title=t.title,
                    link=f"https://t.me/c/{internal}/{t.thread_id}",
                )
                for t in sorted(topics, key=lambda t: t.title.lower())
            ]
            text = "\n".join([self._texts.get("team.clients_header", language), *lines])
            if not lines:
                text = self._texts.get("team.clients_none", language)
            await self._queue("send_message", {"text": text}, priority=Priority.PERSON)

    # --- what the specialist sees, in the topic ----------------------------------------------

    async def mirror(self, linked: Linked) -> bool:
        """Inside the transaction that queues it: a message linked to a client goes to the
        client's topic too, if it is for their own specialist (or to the client). True if
        it goes there instead (TEAM_MODE=group: what is for the specialist)."""
        if not self.enabled or linked.chat_id == self.chat_id:
            return False
        link = await self._relay.by_id(linked.relay_link_id)
        client = None if link is None else await self._clients.by_id(link.client_id)
        if link is None or client is None or not self.may_post(client):
            return False
        specialist = await self._specialists.by_id(client.specialist_id)
        if specialist is None:
            return False
        if link.direction is Direction.TO_SPECIALIST:
            if linked.chat_id != specialist.chat_id:
                return False  # a supervisor's copy, or what a transfer left for another
        elif linked.chat_id != client.chat_id or link.source_chat_id is None:
            return False  # a header over an answer, in the client's language
        elif link.source_chat_id == self.chat_id:
            return False  # written in the topic: the team saw it there
        urgent = linked.priority is Priority.URGENT
        await self.ensure_topic(client, specialist, urgent=urgent)
        instead: dict[str, object] | None = None
        if self.group_only and link.direction is Direction.TO_SPECIALIST:
            # What the group gets instead of the specialist's own copy: if the group cannot
            # take it, it goes to their private chat after all (`failed`).
            instead = {
                "client": client.id,
                "chat": linked.chat_id,
                "link": linked.relay_link_id,
                "urgent": urgent,
                "text": linked.text,
            }
        await self._post(linked, link.direction, link.source_chat_id, client, specialist, instead)
        return instead is not None

    async def _post(
        self,
        linked: Linked,
        direction: Direction,
        source_chat_id: int | None,
        client: Client,
        specialist: Specialist,
        instead: dict[str, object] | None,
    ) -> None:
        await self._follow_status(client)
        if direction is Direction.TO_CLIENT and source_chat_id is not None:
            speaker = await self._specialists.by_user(source_chat_id)
            theirs = specialist.language  # the topic reads as their chat does
            name = (
                speaker.display_name
                if speaker is not None
                else self._texts.get("team.admin", theirs)
            )
            await self._text(
                client, self._texts.get("team.to_client", theirs, name=name, alias=client.alias)
            )
        urgent = linked.priority is Priority.URGENT
        header = self._texts.get(
            "relay.header_to_specialist", specialist.language, alias=client.alias
        )
        if linked.text == header:
            return  # "From Alex:" says nothing in Alex's own topic (other headers do)
        if linked.text is not None:
            if self.group_only and (urgent or linked.text.startswith(LOUD_MARKERS)):
                # Only in the group: the specialist is mentioned on flags and on "I'd like
                # to talk", as their own chat would have rung.
                await self._mention(client, specialist, linked.text, urgent, instead)
            else:
                await self._text(client, linked.text, loud=urgent, instead=instead)
        elif linked.source is not None:
            await self._copy(client, linked.source, loud=urgent, instead=instead)
            await self._away_note(client, specialist)
            if urgent:
                await self._urgent_line(client, specialist, linked.source)

    async def _away_note(self, client: Client, specialist: Specialist) -> None:
        """While the specialist is away, the topic says so once a day: the client has
        their away note (bot.services.away), and whoever covers knows to answer."""
        today = self._clock.now().astimezone(self._staff_zone).date()
        if not specialist.is_away(today):
            return
        if specialist.away_note:
            text = self._texts.get(
                "team.away_with_note",
                specialist.language,
                specialist=specialist.display_name,
                alias=client.alias,
                note=specialist.away_note,
            )
        else:
            text = self._texts.get(
                "team.away",
                specialist.language,
                specialist=specialist.display_name,
                alias=client.alias,
            )
        payload = {"topic": client.id, "text": text}
        await self._queue("send_message", payload, key=f"team-away:{client.id}:{today}")

    async def _mention(
        self,
        client: Client,
        specialist: Specialist,
        text: str,
        urgent: bool,
        instead: dict[str, object] | None,
    ) -> None:
        name = html.escape(specialist.display_name)
        mention = f'<a href="tg://user?id={specialist.telegram_user_id}">{name}</a>'
        payload: dict[str, object] = {"topic": client.id, "text": f"{mention} {html.escape(text)}"}
        if instead is not None:
            payload["instead"] = instead
        await self._queue(
            "send_message", {**payload, "parse_mode": "HTML"}, priority=_team_priority(urgent)
        )

    async def escalated(
        self, client: Client, specialist: Specialist, source: tuple[int, int]
    ) -> None:
        """Inside the escalation's transaction: an urgent message nobody answered went to
        the supervisors; the topic and the General topic hear it too."""
        if not self.may_post(client):
            return
        await self.ensure_topic(client, specialist)
        text = self._texts.get(
            "team.escalated",
            specialist.language,
            alias=client.alias,
            specialist=specialist.display_name,
        )
        await self._text(client, text, loud=True)
        line = self._texts.get(
            "team.escalated_general",
            specialist.language,
            alias=client.alias,
            specialist=specialist.display_name,
            topic_link="{topic_link}",
        )
        # Keyed like the other lines about the client, so /forget finds it (erased_lines).
        key = f"team-escalated:{client.id}:{source[0]}:{source[1]}"
        await self._queue(
            "send_message",
            {"text": line, "link_topic": client.id},
            key=key,
            priority=Priority.TEAM_URGENT,
        )

    async def _text(
        self,
        client: Client,
        text: str,
        *,
        loud: bool = False,
        instead: dict[str, object] | None = None,
    ) -> None:
        payload: dict[str, object] = {"topic": client.id, "text": text}
        if instead is not None:
            payload["instead"] = instead
        await self._queue("send_message", payload, silent=not loud, priority=_team_priority(loud))

    async def _copy(
        self,
        client: Client,
        source: tuple[int, int],
        *,
        loud: bool,
        instead: dict[str, object] | None = None,
    ) -> None:
        payload: dict[str, object] = {
            "topic": client.id,
            "from_chat_id": source[0],
            "message_id": source[1],
        }
        if instead is not None:
            payload["instead"] = instead
        # Once per message, also when a transfer queues it again for the new specialist.
        key = f"team:{client.id}:{source[0]}:{source[1]}"
        await self._queue(
            "copy_message", payload, key=key, silent=not loud, priority=_team_priority(loud)
        )

    async def _urgent_line(
        self, client: Client, specialist: Specialist, source: tuple[int, int]
    ) -> None:
        """One line in the General topic, linked to the client's topic."""
        text = self._texts.get(
            "team.urgent_general",
            specialist.language,
            alias=client.alias,
            specialist=specialist.display_name,
            topic_link="{topic_link}",  # the sender makes it a link once the topic exists
        )
        payload = {"text": text, "link_topic": client.id}
        key = f"team-urgent:{client.id}:{source[0]}:{source[1]}"
        await self._queue("send_message", payload, key=key, priority=Priority.TEAM_URGENT)

    async def _queue(
        self,
        method: str,
        payload: Mapping[str, object],
        *,
        key: str | None = None,
        silent: bool = False,
        priority: Priority = Priority.TEAM,
    ) -> None:
        assert self.chat_id is not None
        await self._outbox.queue(
            self.chat_id,
            method,
            dict(payload),
            priority=priority,
            idempotency_key=key,
            silent=silent,
        )

    # --- what the group would not take ------------------------------------------------------

    async def failed(self, item: OutboxItem, error: TelegramError) -> None:
        """Inside the transaction that gives up an item for the group: a topic Telegram
        says is gone is forgotten (the client's next message asks for a new one: one row,
        so still never two); what stood in for the specialist's own copy (TEAM_MODE=group)
        goes to their private chat, with one line saying why; anything else is logged."""
        why = failure_kind(error)
        payload = item.payload
        client_id = payload.get("topic")
        if item.method == "delete_topic":
            await self._not_deleted(payload, why)
            return
        if isinstance(client_id, int):
            if item.method == "create_topic":
                # What follows for the topic fails for want of it: it says this reason.
                self._not_made[client_id] = why
            elif NO_TOPIC in error.message and client_id in self._not_made:
                why = self._not_made[client_id]
            if item.method == "create_topic" or why == "topic_gone":
                if await self._topics.lost(client_id, payload.get("thread_id")):
                    log.warning("team.topic_lost", client=client_id, item=item.id, why=why)
            elif why == "closed" and payload.get("thread_id") is not None:
                # Closed in Telegram (or we may no longer write in a closed one): the
                # client's next message reopens it unless they stopped.
                await self._topics.set_closed(client_id, True)
        instead = payload.get("instead")
        if isinstance(instead, dict):
            await self._instead(item, instead, why)
        elif item.method in ("send_message", "copy_message"):
            # TEAM_MODE=copy: the specialist's own chat has it; the team's copy is lost.
            log.warning("team.copy_lost", item=item.id, client=client_id, why=why)

    async def _instead(self, item: OutboxItem, instead: dict[str, Any], why: str) -> None:
        client = await self._clients.by_id(instead["client"])
        specialist = (
            None if client is None else await self._specialists.by_id(client.specialist_id)
        )
        if client is None or specialist is None:
            return  # erased meanwhile (/forget)
        chat, link = int(instead["chat"]), int(instead["link"])
        source = None
        if "from_chat_id" in item.payload:
            source = (int(item.payload["from_chat_id"]), int(item.payload["message_id"]))
        now = self._clock.now()
        if chat != specialist.chat_id:
            # Transferred since: to their specialist now, linked so a reply reaches them.
            chat = specialist.chat_id
            link = await self._relay.add_link(
                client_id=client.id,
                specialist_id=specialist.id,
                direction=Direction.TO_SPECIALIST,
                source=source,
                dest_chat_id=chat,
                now=now,
            )
        priority = Priority.URGENT if instead.get("urgent") else Priority.PERSON
        language = specialist.language
        reason = self._texts.get(f"team_fallback.{why}", language, alias=client.alias)
        text = instead.get("text")
        if isinstance(text, str):
            line = self._texts.get("team_fallback.text", language, reason=reason)
            await self._outbox.text(
                chat, f"{line}\n{text}", relay_link_id=link, priority=priority, private=True
            )
        elif source is not None:
            line = self._texts.get(
                "team_fallback.copy", language, reason=reason, alias=client.alias
            )
            header = await self._relay.add_link(
                client_id=client.id,
                specialist_id=specialist.id,
                direction=Direction.TO_SPECIALIST,
                source=None,
                dest_chat_id=chat,
                now=now,
            )
            await self._outbox.text(
                chat, line, relay_link_id=header, priority=priority, private=True
            )
            await self._outbox.copy(
                chat, *source, relay_link_id=link, priority=priority, private=True
            )
        log.warning("team.fell_back", item=item.id, client=client.id, why=why)

    async def _not_deleted(self, payload: Mapping[str, Any], why: str) -> None:
        """/forget's topic could not be deleted in Telegram: the person is told (their data
        here is erased already)."""
        tell = payload.get("tell")
        if why == "topic_gone" or not isinstance(tell, int):
            return  # deleted in Telegram already: nothing is left there
        language = str(payload.get("lang") or "en")
        reason = self._texts.get(f"team_fallback.{why}_forget", language)
        await self._outbox.text(
            tell,
            self._texts.get("team_fallback.not_deleted", language, reason=reason),
            ephemeral=True,
        )
        log.warning("team.topic_not_deleted", why=why)

    # --- start-up ----------------------------------------------------------------------------

    def start(self) -> None:
        """Give every client who has none a topic, in the background."""
        if self.enabled and self._catch_up is None:
            self._catch_up = asyncio.create_task(self._give_topics(), name="team-topics")

    async def stop(self) -> None:
        if self._catch_up is not None:
            self._catch_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catch_up
            self._catch_up = None

    async def _give_topics(self) -> None:
        after = 0
        try:
            assert self.chat_id is not None
            async with self._db.transaction(background=True):
                await self._topics.in_group(self.chat_id)
            while True:
                async with self._db.transaction(background=True):
                    waiting = await self._topics.clients_without(
                        self.consent_version.version, after, CATCH_UP_BATCH
                    )
                    for client_id in waiting:
                        client = await self._clients.by_id(client_id)
                        specialist = None
                        if client is not None:
                            specialist = await self._specialists.by_id(client.specialist_id)
                        if client is not None and specialist is not None:
                            await self.ensure_topic(client, specialist)
                if len(waiting) < CATCH_UP_BATCH:
                    return
                after = waiting[-1]
        except Exception as error:
            # The next start tries again; meanwhile every client's next message makes one.
            if is_storage_fault(error):
                log.warning("team.catch_up_failed", error=fault_text(error))
            else:
                log.exception("team.catch_up_error")
