"""The two-way relay: a client's words to their specialist, the specialist's answers back.

Messages are copied by id (copy_message), never forwarded, so the specialist's own
account stays hidden and clients who hide forwards still work. Every copy is paired
with its client in relay_links, so a specialist answers simply by replying. A header
naming the sender goes before a copy when the chat last heard from someone else, or
not for a while; a run of messages from one person reads as one conversation.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot import metrics
from bot.delivery.outbox import Outbox
from bot.domain.clock import Clock
from bot.domain.escalation import Escalation, Responder
from bot.domain.models import Client, ClientStatus, Direction, RelayLink, Specialist
from bot.domain.safety import SafetyConfigError, SafetyMatch, SafetyScreen
from bot.domain.texts import DEFAULT_LANGUAGE, Texts
from bot.logs import EventLog
from bot.services.away import Away
from bot.services.checkins import CheckIns
from bot.services.escalation import Escalations
from bot.services.lookup import Lookup
from bot.services.notices import Refused
from bot.services.people import People
from bot.services.phrasing import category_name
from bot.services.retention import Purge
from bot.services.team import Team
from bot.services.unreachable import Unreachable
from bot.storage import events
from bot.storage.clients import ClientRepository
from bot.storage.db import Database, fault_text, is_storage_fault
from bot.storage.inbox import InboxRepository, Received
from bot.storage.outbox import Priority
from bot.storage.relay import RelayRepository
from bot.storage.retention import Kept
from bot.storage.specialists import SpecialistRepository
from bot.storage.staff_languages import StaffLanguageRepository

log = EventLog(__name__)

HEADER_GAP = timedelta(minutes=30)
SAFETY_REPLY_EVERY = timedelta(hours=1)
UPDATE_MEMORY = timedelta(days=3)
# The `unscreened` kind of words that could not be screened (safety_levels.kind_text).
UNSCREENED_TEXT = "text"
SCREENINGS_KEPT = 1000

# What `keep` found in a message's words: the languages it read them in, the match, and
# UNSCREENED_TEXT if it could not read them. Never the words.
Screening = tuple[tuple[str, ...], SafetyMatch | None, str | None]


def kept_for(retention: timedelta) -> dict[Kept, timedelta]:
    """How long each kind of row is kept: update ids only as long as Telegram may resend."""
    return {
        Kept.OUTBOX: retention,
        Kept.RELAY_LINKS: retention,
        Kept.CHECKINS: retention,
        Kept.PROCESSED_UPDATES: UPDATE_MEMORY,
        Kept.EVENTS: retention,
        Kept.ESCALATIONS: retention,
    }


class Outcome(StrEnum):
    """What became of a message someone sent."""

    RELAYED = "relayed"
    DUPLICATE = "duplicate"
    NOT_A_REPLY = "not_a_reply"
    UNTRACED = "untraced"  # a reply to a message the relay has no link for (any more)
    CLIENT_GONE = "client_gone"
    NOT_YOUR_CLIENT = "not_your_client"
    ANSWERED_ALREADY = "answered_already"
    CLIENT_BLOCKED = "client_blocked"


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
        escalations: Escalations,
        *,
        unreachable: Unreachable,
        team: Team | None = None,
    ) -> None:
        self._db = db
        self._team = team
        self._escalations = escalations
        self._unreachable = unreachable
        self._checkins = checkins
        self._away = away
        self._lookup = Lookup(clients, specialists)
        self._specialists = specialists
        self._inbox = inbox
        self._people = people
        self._safety = safety
        self._clients = clients
        self._relay = relay
        self._outbox = outbox
        self._texts = texts
        self._clock = clock
        self._purge = Purge(db, clock)
        self._staff_languages = StaffLanguageRepository(db)
        # Updates whose inbox row a relay transaction removed: forget() has nothing to do.
        self._settled: set[int] = set()
        # What `keep` found in a message (a category, never words), by update id, for its
        # handler: each message is screened once. Updates no client handler asks about
        # (staff, commands) are forgotten past SCREENINGS_KEPT.
        self._screenings: dict[int, Screening] = {}
        # How many times the screen has read a message's words (tests and benchmarks watch
        # that each message is read once).
        self.screens = 0
        # People with a message whose handling failed: its inbox row waits for a retry.
        self._waiting: set[int] = set()

    async def from_client(
        self,
        update_id: int,
        client: Client,
        specialist: Specialist,
        message_id: int,
        reply_to: int | None,
        flagged: SafetyMatch | None = None,
        *,
        forwarded: bool = False,
        unscreened: str | None = None,
    ) -> Outcome:
        """Copy a client's message to their specialist (once per update, whatever happens).

        A message the safety screen flagged goes first all the same, under a loud header:
        `urgent` marks it possibly urgent, goes ahead of the chat's queue, starts the
        escalation clock (bot.services.escalation), and the client gets the resources (at
        most once an hour); `concern` says it may need attention and why, and the client
        sees nothing unusual. A message the client forwarded (someone else's words) goes
        under a header that says so, a run of forwards under one such header. A voice note,
        video or audio (`unscreened`, its kind) says in its header that it was not screened.
        While the specialist is away the copy arrives silently (unless flagged), and the
        client gets the away note once a day. Every message starts the wait for an answer
        (a reminder after REMIND_AFTER_HOURS).
        """
        now = self._clock.now()

        async def relay() -> Outcome | None:
            await self._settle(update_id)
            if not await self._relay.first_time(update_id, now):
                return Outcome.DUPLICATE
            answered = await self._checkins.answered_by_message(client, now)
            # A client replying to a specialist's message: thread the copy under the original.
            original = await self._linked(client.chat_id, reply_to, specialist.id)
            # (Not under a supervisor's answer: that original is in the supervisor's chat.)
            thread_to = (
                original.source_message_id
                if original
                and original.direction is Direction.TO_CLIENT
                and original.source_chat_id == specialist.chat_id
                else None
            )
            away = specialist.is_away(self._away.today(now))
            urgent = flagged is not None and flagged.level == "urgent"
            # Headers are the specialist's, in their language; the client's words are a copy.
            theirs = specialist.language
            if flagged is not None:
                await self._clients.mark_flagged(client.id, now, flagged.level)
                await events.about(self._db, events.FLAGGED, now, client, flagged.level)
                header = self._flagged_header(client, flagged, theirs)
            elif forwarded:
                header = self._texts.get("forwarded.header", theirs, alias=client.alias)
            elif unscreened is not None:
                header = self._texts.get(
                    "safety_levels.unscreened_header",
                    theirs,
                    alias=client.alias,
                    kind=self._texts.get(f"safety_levels.kind_{unscreened}", theirs),
                )
            elif answered is None:
                header = self._texts.get("relay.header_to_specialist", theirs, alias=client.alias)
            else:
                header = self._texts.get(
                    "to_specialist.answering",
                    theirs,
                    alias=client.alias,
                    when=self._checkins.label(answered, theirs),
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
                forwarded=forwarded,
                priority=Priority.URGENT if urgent else Priority.PERSON,
            )
            if urgent:
                # Possibly urgent words went ahead of whatever waits for the specialist.
                await resume_after_urgent(
                    self._outbox,
                    self._relay,
                    self._clients,
                    self._texts,
                    specialist.chat_id,
                    now,
                    specialist.language,
                )
            await self._escalations.waiting(client, now)
            if flagged is not None and urgent:
                # After the specialist's own copy: while they are away it goes on at once.
                # While the specialist is away, or cannot receive anything (they blocked the
                # bot), the escalation goes on at once: nobody else would read it meanwhile.
                await self._escalations.flagged(
                    client,
                    specialist,
                    (client.chat_id, message_id),
                    flagged.category,
                    now,
                    away=away or specialist.blocked,
                )
            resources_sent = urgent and await self._safety_reply(client, specialist, now)
            noted = away and await self._away.note(
                client, specialist, now, with_resources=not resources_sent
            )
            if specialist.blocked:
                # Kept for them, not passed on: the client hears so (bot.services.unreachable).
                # Urgent words went to the supervisors at once (above): not again to the admins.
                await self._unreachable.announce(specialist, urgent_now=urgent, escalated=urgent)
            elif not urgent and new_thread and not noted:
                await self._outbox.text(
                    client.chat_id,
                    self._texts.get(
                        "client.passed_on", client.language, specialist=specialist.display_name
                    ),
                )
            return None

        # Every wait in it is the database's: the whole transaction in one trip to its thread.
        refused = await self._db.in_one_trip(relay)
        if refused is not None:
            return refused
        log.info(
            "relay.to_specialist",
            client=client.id,
            specialist=specialist.id,
            flagged=flagged.category if flagged else None,
            level=flagged.level if flagged else None,
        )
        metrics.relayed("to_specialist", flagged=flagged is not None)
        return Outcome.RELAYED

    async def from_specialist(
        self, update_id: int, specialist: Specialist, message_id: int, reply_to: int | None
    ) -> Outcome:
        """Copy a specialist's reply to the client whose message it answers."""
        now = self._clock.now()

        async def relay() -> Outcome | Client:
            await self._settle(update_id)
            if not await self._relay.first_time(update_id, now):
                return Outcome.DUPLICATE
            link = await self._linked(specialist.chat_id, reply_to, None)
            if link is None:
                # A reply to what cannot be traced (past retention, or nobody's) is told
                # plainly that it did not go; anything else gets the hint how to answer.
                untraced = reply_to is not None
                return await self._explain(
                    specialist, Outcome.UNTRACED if untraced else Outcome.NOT_A_REPLY
                )
            client = await self._clients.by_id(link.client_id)
            if client is None:
                return await self._explain(specialist, Outcome.CLIENT_GONE)
            escalation = await self._escalations.copy_of(link.id)
            escalated = escalation is not None
            if escalation is not None and client.specialist_id != specialist.id:
                # A specialist on call answering another specialist's client.
                responder = Responder(
                    specialist.telegram_user_id, specialist.chat_id, specialist.display_name
                )
                return await self._as_supervisor(client, responder, message_id, escalation)
            # (A supervisor's copy of a client since handed to them is theirs to answer.)
            moved = client.specialist_id != specialist.id or link.specialist_id != specialist.id
            if moved and not escalated:
                return await self._explain(specialist, Outcome.NOT_YOUR_CLIENT)
            if client.status is ClientStatus.BLOCKED:
                # Telegram would refuse it, and the specialist was told of the block only
                # once, when it happened: say so again rather than let it vanish.
                text = self._texts.get("to.blocked", specialist.language, alias=client.alias)
                await self._outbox.text(specialist.chat_id, text)
                return Outcome.CLIENT_BLOCKED
            # Answering a client's message: thread the copy under the client's original.
            thread_to = (
                link.source_message_id if link.direction is Direction.TO_SPECIALIST else None
            )
            await self._to_client(client, specialist, message_id, reply_to=thread_to)
            return client

        # Every wait in it is the database's: the whole transaction in one trip to its thread.
        client = await self._db.in_one_trip(relay)
        if not isinstance(client, Client):
            return client
        log.info("relay.to_client", client=client.id, specialist=specialist.id)
        metrics.relayed("to_client")
        return Outcome.RELAYED

    async def from_supervisor(
        self, update_id: int, responder: Responder, message_id: int, reply_to: int | None
    ) -> Outcome:
        """An admin's reply to an escalated message: copied to that client (anything else
        an admin writes is not a reply to relay; the caller says what they can do)."""
        now = self._clock.now()
        async with self._db.transaction():
            link = await self._linked(responder.chat_id, reply_to, None)
            escalation = None if link is None else await self._escalations.copy_of(link.id)
            if link is None or escalation is None:
                return Outcome.NOT_A_REPLY
            await self._settle(update_id)
            if not await self._relay.first_time(update_id, now):
                return Outcome.DUPLICATE
            client = await self._clients.by_id(link.client_id)
            if client is None:
                language = await self._staff_languages.language_of(responder.user_id)
                await self._outbox.text(
                    responder.chat_id, self._texts.get("specialist.client_gone", language)
                )
                return Outcome.CLIENT_GONE
            return await self._as_supervisor(client, responder, message_id, escalation)

    async def admin_answer(
        self, update_id: int, client: Client, message_id: int, reply_to: int | None
    ) -> bool:
        """A client who is also an admin, replying to a copy of an escalated message they
        received as a supervisor: the answer goes to that copy's client, as any admin's
        does (True). Anything else they write is theirs, as a client, for their own
        specialist (False): before, such an answer went there too, under their alias, and
        never reached the client whose words the copy showed."""
        if reply_to is None or client.telegram_user_id not in self._people.admin_ids:
            return False
        admin = Responder(client.telegram_user_id, client.chat_id, None, is_admin=True)
        outcome = await self.from_supervisor(update_id, admin, message_id, reply_to)
        if outcome is not Outcome.NOT_A_REPLY:
            return True
        async with self._db.transaction():
            link = await self._relay.by_dest(client.chat_id, reply_to)
            if link is None or link.client_id == client.id:
                return False
            # A copy of another client's message they had as an admin (their specialist
            # blocked the bot: its header says a reply does not reach them): it reaches
            # nobody, as from any admin, and is not theirs to pass on as a client either.
            language = await self._staff_languages.language_of(client.telegram_user_id)
            await self._outbox.text(client.chat_id, self._texts.get("admin.greeting", language))
        return True

    async def _as_supervisor(
        self, client: Client, responder: Responder, message_id: int, escalation: Escalation
    ) -> Outcome:
        """A supervisor's answer to the client, under their name (or the team's), routed like
        the specialist's: the client's answer to it reaches their own specialist. Only while
        the escalation is open, or from the one who answered it, for a while (see
        Escalations.may_reply); otherwise it does not go, and the supervisor hears why."""
        if client.status is ClientStatus.BLOCKED:
            # Telegram would refuse it, and only the specialist was told of the block.
            language = await self._staff_languages.language_of(responder.user_id)
            text = self._texts.get("to.blocked", language, alias=client.alias)
            await self._outbox.text(responder.chat_id, text)
            return Outcome.CLIENT_BLOCKED
        if not await self._escalations.may_reply(escalation, client, responder, self._clock.now()):
            return Outcome.ANSWERED_ALREADY
        specialist = await self._specialists.by_id(client.specialist_id)
        assert specialist is not None
        if responder.name is None:
            header = self._texts.get(
                "escalation.header_from_team", client.language, specialist=specialist.display_name
            )
        else:
            header = self._texts.get(
                "escalation.header_from_colleague",
                client.language,
                name=responder.name,
                specialist=specialist.display_name,
            )
        await self._copy(
            client=client,
            specialist=specialist,
            direction=Direction.TO_CLIENT,
            source=(responder.chat_id, message_id),
            dest_chat_id=client.chat_id,
            header=header,
            reply_to=None,
            speaker=f"u{responder.user_id}",
            silent=await self._checkins.quiet_now(client, self._clock.now()),
        )
        await self._escalations.answered(client, responder, self._clock.now())
        log.info("relay.to_client", client=client.id, supervisor=responder.user_id)
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
        metrics.relayed("to_client")

    async def _to_client(
        self,
        client: Client,
        specialist: Specialist,
        message_id: int,
        *,
        reply_to: int | None,
        text: str | None = None,
    ) -> None:
        """A specialist's message (or the words of their /to) to their client, silent in the
        client's quiet hours (delivered, not held back); it answers whatever was waiting."""
        now = self._clock.now()
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
            silent=await self._checkins.quiet_now(client, now),
        )
        responder = Responder(
            specialist.telegram_user_id, specialist.chat_id, specialist.display_name
        )
        await self._escalations.answered(client, responder, now)

    def _flagged_header(self, client: Client, flagged: SafetyMatch, language: str) -> str:
        """The loud header over a flagged message: possibly urgent, or may need attention."""
        if flagged.level == "urgent":
            return self._texts.get("relay.urgent_header", language, alias=client.alias)
        return self._texts.get(
            "safety_levels.concern_header",
            language,
            alias=client.alias,
            category=category_name(self._texts, flagged.category, language),
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
        await self._purge.run(kept_for(retention))

    @property
    def purge(self) -> Purge:
        """The daily purge (benchmarks watch it)."""
        return self._purge

    async def screened(
        self, words: str | None, language: str, update_id: int | None = None, every: bool = False
    ) -> tuple[SafetyMatch | None, str | None]:
        """What the safety screen finds in a message's words (in memory only), read in this
        language and English, or `every` language; and UNSCREENED_TEXT when the words could
        not be screened: the safety files cannot be read, and the bot is stopping to say so
        (bot.app), or the screen failed on them. The message still goes, its header saying it
        was not screened.

        With the update's id, what `keep` found is used when it answers for this reading
        (`_answers`).
        """
        if not words:
            return None, None
        safety = self._safety
        reading = safety.reading(language, every)
        kept = self._screenings.pop(update_id, None) if update_id is not None else None
        if kept is not None and self._answers(kept, reading):
            return kept[1], kept[2]
        self.screens += 1
        try:
            if not safety.ready:  # the first messages after a start wait for its reading
                await asyncio.to_thread(safety.warm)
            return safety.screen_all(words, language) if every else safety.screen(
                words, language
            ), None
        except SafetyConfigError:
            return None, UNSCREENED_TEXT
        except Exception as error:
            # A fault of the screen's on these words: the message still goes, its header
            # saying it was not screened. Only the kind of fault is logged (never the words).
            log.error("safety.screen_failed", error=type(error).__name__)
            return None, UNSCREENED_TEXT

    def _answers(self, kept: Screening, reading: tuple[str, ...]) -> bool:
        """Whether what `keep` found answers for this reading: it read the same languages;
        or it read these and more, starting with the same one, and found nothing there (an
        English client's words, kept in every language, are read in English alone).

        Nothing in more languages is nothing in fewer: the model reads the words alike
        whatever the languages after the first; a phrase found in fewer languages is found
        in more, or more found an urgent one where fewer find a concern; and the model
        quiets a concern at least as readily as an urgent phrase while its floor is not
        below its urgent floor (checked: a model the other way round has the words read
        again, as is a match, which is rare).
        """
        languages, flagged, unread = kept
        if languages == reading:
            return True
        if flagged is not None or unread is not None or languages[0] != reading[0]:
            return False
        if not set(reading) <= set(languages):
            return False
        model = self._safety.model
        return model is None or model.urgent_floor <= model.floor

    async def keep(self, received: Received, words: str | None, language: str | None) -> None:
        """Store a message's ids until it is handled (see bot.handlers.inbox), with what the
        safety screen finds in its words, so a message relayed after a crash is still
        marked possibly urgent. The words themselves are not kept."""
        # Every language the screen knows: the app's language need not be the one the
        # client chose to write in, and a replay after a crash has only this mark. The client
        # handler uses this reading when it answers for the handler's own (`_answers`). Staff
        # writing in a client's topic are not screened: the screen is for clients.
        words = words if received.thread_id is None else None
        language = language or DEFAULT_LANGUAGE
        flagged, unread = await self.screened(words, language, every=True)
        if words:
            screenings = self._screenings
            screenings[received.update_id] = (
                self._safety.reading(language, every=True),
                flagged,
                unread,
            )
            while len(screenings) > SCREENINGS_KEPT:
                del screenings[next(iter(screenings))]
        if received.edited and (flagged is None or not await self._a_client(received.user_id)):
            return  # only a client's edit the screen flags is relayed (bot.handlers.client)
        if flagged is not None:
            received = replace(received, safety_category=flagged.category)
        if unread is not None:
            received = replace(received, unscreened=unread)
        async with self._db.autocommit():
            await self._inbox.keep(received, self._clock.now())

    async def _a_client(self, user_id: int) -> bool:
        """Whether this person writes as a client (as bot.handlers.routing tells)."""
        person = await self._people.identify(user_id)
        return (
            person.specialist is None
            and person.client is not None
            and person.their_specialist is not None
        )

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
        """Relay what a crash left unhandled; return how many messages there were.

        The database failing stops the start (one line, see bot.app); a message that fails
        for another reason (see _retried) stays for the next start, and the bot starts.
        """
        async with self._db.transaction():
            left = await self._inbox.unhandled()
        for message in left:
            await self._retried(message)
        if left:
            log.warning("inbox.replayed", count=len(left))
        return len(left)

    def left_waiting(self, user_id: int) -> None:
        """Handling this person's message failed: its inbox row waits (see retry_waiting)."""
        self._waiting.add(user_id)

    async def retry_waiting(self) -> int:
        """The tick: relay the messages whose handling failed, oldest first; return how many.

        A failure then is usually brief (the database locked for a moment): the message is
        a few seconds late instead of waiting for the next start. One that fails again stops
        its person's turn, so their later messages never overtake it.
        """
        if not self._waiting:
            return 0
        people = set(self._waiting)
        async with self._db.transaction(background=True):
            left = [m for m in await self._inbox.unhandled() if m.user_id in people]
        relayed = 0
        behind: set[int] = set()  # people whose turn stopped at a message that failed again
        for message in left:
            if message.user_id in behind:
                continue
            try:
                relayed += await self._retried(message)
            except Exception as error:  # the database failing again (see _retried)
                behind.add(message.user_id)
                log.warning(
                    "inbox.retry_failed", update=message.update_id, error=fault_text(error)
                )
        self._waiting -= people - behind
        if relayed:
            log.info("inbox.retried", count=relayed)
        return relayed

    async def catch_up(self, user_id: int, update_id: int) -> None:
        """Before a person's new message: relay their earlier ones still waiting, in order.

        The database failing again fails the new message too, so it waits behind the old
        one (both go at a later tick).
        """
        if user_id not in self._waiting:
            return
        async with self._db.transaction():
            left = [
                m
                for m in await self._inbox.unhandled()
                if m.user_id == user_id and m.update_id < update_id
            ]
        for message in left:
            await self._retried(message)

    async def _retried(self, message: Received) -> bool:
        """Relay a waiting message again; True if it went.

        The database failing again is raised: the person's later messages wait behind this
        one. Any other failure, a fault of ours that may well repeat for ever, is logged and
        the message left in the inbox for the next start, so that it holds nobody up.
        """
        try:
            await self._replay_one(message)
        except Exception as error:
            if is_storage_fault(error):
                raise
            log.exception("inbox.retry_error", update=message.update_id)
            return False
        return True

    async def _replay_one(self, message: Received) -> None:
        """Relay one stored message as its handler would have, then forget it."""
        person = await self._people.identify(message.user_id)
        if message.thread_id is not None:
            # Written in a client's topic in the team group (Team.from_topic).
            if self._team is not None:
                await self._team.replay(message, person)
            await self.forget(message.update_id)
            return
        # In the order the live handler asks (bot.handlers.routing): an admin who is also
        # someone's client writes as that client, but for an answer to an escalation.
        if person.specialist is not None:
            await self.from_specialist(
                message.update_id,
                person.specialist,
                message.message_id,
                message.reply_to_message_id,
            )
        elif person.client is not None and person.their_specialist is not None:
            category = message.safety_category
            if await self.admin_answer(
                message.update_id,
                person.client,
                message.message_id,
                message.reply_to_message_id,
            ):
                await self.forget(message.update_id)
                return
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
                forwarded=message.forwarded,
                unscreened=message.unscreened,
            )
        elif person.is_admin:
            admin = Responder(person.user_id, person.user_id, None, is_admin=True)
            await self.from_supervisor(
                message.update_id, admin, message.message_id, message.reply_to_message_id
            )
        await self.forget(message.update_id)

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
        forwarded: bool = False,
        speaker: str | None = None,
        priority: Priority = Priority.PERSON,
    ) -> bool:
        """Queue the header (when needed) and the copy; return True if a header went.

        With `text`, the bot sends those words in place of a copy (a specialist's /to).
        """
        now = self._clock.now()
        # The specialist is part of the key: after a transfer the client hears a new name.
        # A supervisor speaks in their own name: their copies get their own header.
        # Forwards are a source of their own: their header says whose words they are not.
        source_key = f"{direction.value}:{client.id}:{speaker or specialist.id}"
        if forwarded:
            source_key += ":forwarded"
        last = await self._relay.last_source(dest_chat_id)
        needs_header = (
            force_header or last is None or last[0] != source_key or now - last[1] > HEADER_GAP
        )
        if needs_header:
            await self._outbox.linked_text(
                dest_chat_id,
                header,
                client_id=client.id,
                specialist_id=specialist.id,
                now=now,
                direction=direction,
                priority=priority,
                silent=silent,
            )
        link = await self._relay.add_link(
            client_id=client.id,
            specialist_id=specialist.id,
            direction=direction,
            source=source,
            dest_chat_id=dest_chat_id,
            now=now,
        )
        if text is not None:
            await self._outbox.text(dest_chat_id, text, relay_link_id=link, silent=silent)
        else:
            await self._outbox.copy(
                dest_chat_id,
                source[0],
                source[1],
                relay_link_id=link,
                reply_to=reply_to,
                silent=silent,
                priority=priority,
            )
        await self._relay.set_last_source(dest_chat_id, source_key, now)
        kind = (
            events.CLIENT_MESSAGE
            if direction is Direction.TO_SPECIALIST
            else events.SPECIALIST_MESSAGE
        )
        await events.about(self._db, kind, now, client)
        return needs_header

    async def _explain(self, specialist: Specialist, outcome: Outcome) -> Outcome:
        key = {
            Outcome.NOT_A_REPLY: "specialist.reply_hint",
            Outcome.UNTRACED: "untraced.reply",
            Outcome.CLIENT_GONE: "specialist.client_gone",
            Outcome.NOT_YOUR_CLIENT: "specialist.not_your_client",
        }[outcome]
        await self._outbox.text(specialist.chat_id, self._texts.get(key, specialist.language))
        return outcome


async def resume_after_urgent(
    outbox: Outbox,
    relay: RelayRepository,
    clients: ClientRepository,
    texts: Texts,
    chat_id: int,
    now: datetime,
    language: str,
) -> None:
    """Possibly urgent words go ahead of the chat's ordinary queue (bot.delivery.sender):
    a queued copy they land in front of gets its header again after them, and the next
    copy queued behind the backlog gets one too, so that the specialist never reads
    anyone's words under another client's name."""
    waiting = await outbox.first_ordinary_waiting(chat_id)
    if waiting is not None:
        # The urgent words are not the last the chat will show before the next ordinary
        # copy (the backlog is): that copy needs its own header, whoever sends it.
        await relay.forget_last_source(chat_id)
    if waiting is None or waiting.method != "copy_message" or waiting.relay_link_id is None:
        return  # nothing waits, or what follows opens with its own header or note
    link = await relay.by_id(waiting.relay_link_id)
    client = None if link is None else await clients.by_id(link.client_id)
    if link is None or client is None or link.direction is not Direction.TO_SPECIALIST:
        return
    await outbox.linked_text(
        chat_id,
        texts.get("relay.header_to_specialist", language, alias=client.alias),
        client_id=client.id,
        specialist_id=link.specialist_id,
        now=now,
        priority=Priority.URGENT,
    )
