"""Invites and consent: how a client arrives.

A client row is created only when the person says yes; declining stores nothing,
and the invite stays usable. The consent buttons carry the invite code itself, so
a forged button can never claim someone else's invite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.delivery.outbox import Outbox
from bot.domain.clock import Clock
from bot.domain.invites import AliasError, clean_alias, hash_code, looks_like_code, new_code
from bot.domain.models import Actor, ActorRole, Client, Invite, Specialist, Terms
from bot.domain.texts import Texts
from bot.services.notices import Notices, Refused
from bot.services.people import Person
from bot.services.phrasing import Phrasing
from bot.services.team import consent_version
from bot.storage import events
from bot.storage.audit import AuditRepository
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.invites import InviteRepository
from bot.storage.specialists import SpecialistRepository


class InviteRefused(Refused):
    """An invite that cannot be made; `key` names the text that says why."""


@dataclass(frozen=True)
class NewInvite:
    """A freshly made invite and its link (the code exists only here)."""

    alias: str
    link: str
    expires_at: datetime


def consent_data(answer: str, code: str, terms: Terms) -> str:
    """Callback data of a consent button: the invite's code and the terms the text showed
    ("consent:yes:<code>:3", "consent:yes:<code>:3t" with the team inbox)."""
    return f"consent:{answer}:{code}:{terms.version}" + ("t" if terms.team else "")


def terms_data(terms: Terms) -> str:
    """Callback data of the Okay under changed terms ("terms:ok:3", "terms:ok:3:team")."""
    return f"terms:ok:{terms.version}" + (":team" if terms.team else "")


def parse_terms_data(data: str) -> Terms | None:
    """The terms an Okay accepts, or None if the data is not one of ours. A button from
    before m021 says N * 1000 + 1 for version N with the team inbox."""
    parts = data.split(":")
    if not 3 <= len(parts) <= 4 or parts[:2] != ["terms", "ok"] or not parts[2].isdigit():
        return None
    if len(parts) == 4:
        return Terms(int(parts[2]), team=True) if parts[3] == "team" else None
    number = int(parts[2])
    return Terms((number - 1) // 1000, team=True) if number > 1000 else Terms(number)


def parse_consent_data(data: str) -> tuple[str, str, Terms | None] | None:
    """The (answer, code, terms shown) of a consent button, or None if it was not one of
    ours. A button from before the terms were in its data shows None: what it showed is
    not known."""
    parts = data.split(":")
    if not 3 <= len(parts) <= 4 or parts[0] != "consent" or parts[1] not in {"yes", "no"}:
        return None
    if not looks_like_code(parts[2]):
        return None
    if len(parts) == 3:
        return parts[1], parts[2], None
    number = parts[3].removesuffix("t")
    if not number.isdigit() or not number.isascii():
        return None
    return parts[1], parts[2], Terms(int(number), team=parts[3].endswith("t"))


class Onboarding:
    """Makes invites, offers consent, and turns a yes into a client."""

    def __init__(
        self,
        db: Database,
        specialists: SpecialistRepository,
        clients: ClientRepository,
        invites: InviteRepository,
        audit: AuditRepository,
        outbox: Outbox,
        notices: Notices,
        texts: Texts,
        clock: Clock,
        *,
        invite_ttl: timedelta,
        default_timezone: str,
        team_terms: bool = False,
    ) -> None:
        self._db = db
        self._specialists = specialists
        self._clients = clients
        self._invites = invites
        self._audit = audit
        self._outbox = outbox
        self._notices = notices
        self._texts = texts
        self._clock = clock
        self._invite_ttl = invite_ttl
        self._default_timezone = default_timezone
        self._team_terms = team_terms
        # Clients the store says were shown these terms (at most once each, by its own
        # account): their every message need not take the write lock to ask again.
        self._shown: set[tuple[int, Terms]] = set()

    async def create_invite(
        self, specialist: Specialist, raw_alias: str, bot_username: str, actor: Actor
    ) -> NewInvite:
        """Make a single-use invite for a new client of this specialist."""
        try:
            alias = clean_alias(raw_alias)
        except AliasError as error:
            raise InviteRefused(str(error)) from None
        now = self._clock.now()
        code = new_code()
        async with self._db.transaction():
            if await self._clients.alias_taken(
                specialist.id, alias
            ) or await self._invites.open_alias_taken(specialist.id, alias, now):
                raise InviteRefused("invite.alias_taken", alias=alias)
            invite = await self._invites.add(
                hash_code(code), specialist.id, alias, now, now + self._invite_ttl
            )
            # No alias in the log: it may be the only name a client is known by.
            await self._audit.record(actor, "invite", now, specialist_id=specialist.id)
            await events.record(self._db, events.INVITED, now, specialist_id=specialist.id)
        link = f"https://t.me/{bot_username}?start={code}"
        return NewInvite(alias, link, invite.expires_at)

    async def create_invite_for_user(
        self, specialist_user_id: int, raw_alias: str, bot_username: str
    ) -> NewInvite:
        """The command line's way in: look the specialist up by Telegram user id."""
        async with self._db.transaction():
            specialist = await self._specialists.by_user(specialist_user_id)
        if specialist is None or not specialist.active:
            raise InviteRefused("invite.not_available")
        return await self.create_invite(specialist, raw_alias, bot_username, Actor(ActorRole.CLI))

    async def send_invite_link(
        self, specialist: Specialist, raw_alias: str, username: str
    ) -> None:
        """Answer a specialist's /invite in their chat."""
        try:
            invite = await self.create_invite(
                specialist,
                raw_alias,
                username,
                Actor(ActorRole.SPECIALIST, specialist.telegram_user_id),
            )
        except InviteRefused as refused:
            await self._notices.refuse(specialist.chat_id, refused, specialist.language)
            return
        language = specialist.language
        expires = Phrasing(self._texts).date(invite.expires_at.astimezone(UTC).date(), language)
        await self._notices.say(
            specialist.chat_id,
            "invite.created",
            language,
            alias=invite.alias,
            link=invite.link,
            expires=f"{expires}, {invite.expires_at.astimezone(UTC):%H:%M} UTC",
        )

    async def _usable_invite(self, code: str, now: datetime) -> Invite | None:
        if not looks_like_code(code):
            return None
        invite = await self._invites.by_hash(hash_code(code))
        return invite if invite is not None and invite.is_usable(now) else None

    async def _refusal(self, person: Person) -> tuple[str, dict[str, str]] | None:
        """Why this person cannot take an invite, if they cannot."""
        if person.specialist is not None:
            return "consent.not_for_specialists", {}
        if person.client is not None:
            specialist = await self._specialists.by_id(person.client.specialist_id)
            name = specialist.display_name if specialist else ""
            return "consent.already_client", {"specialist": name}
        return None

    async def open_invite(self, person: Person, code: str) -> None:
        """Someone opened an invite link: show the consent text, or explain kindly."""
        now = self._clock.now()
        async with self._db.transaction():
            language = person.language
            refusal = await self._refusal(person)
            if refusal is not None:
                await self._notices.say_now(person.user_id, refusal[0], language, **refusal[1])
                return
            invite = await self._usable_invite(code, now)
            if invite is None:
                await self._notices.say_to_stranger_now(person.user_id, language=language)
                return
            specialist = await self._specialists.by_id(invite.specialist_id)
            if specialist is None or not specialist.active:
                await self._notices.say_to_stranger_now(person.user_id, language=language)
                return
            await self._offer(person.user_id, code, specialist, language)

    async def _offer(self, chat_id: int, code: str, specialist: Specialist, language: str) -> None:
        """The consent text, with the terms in force, and its two buttons."""
        # Not yet a client: the consent is in the language of their Telegram app.
        terms = self._consent_version()
        await self._outbox.text(
            chat_id,
            self._texts.get(
                "consent.text",
                language,
                specialist=specialist.display_name,
                terms=self._terms(specialist, language),
            ),
            buttons=[
                [
                    (self._texts.get("consent.yes", language), consent_data("yes", code, terms)),
                    (self._texts.get("consent.no", language), consent_data("no", code, terms)),
                ]
            ],
            ephemeral=True,
        )

    async def answer_consent(
        self, person: Person, answer: str, code: str, shown: Terms | None, message_id: int
    ) -> Client | None:
        """A consent button was tapped: yes makes a client, no leaves nothing behind.

        A yes under terms that are no longer those in force (the team inbox was turned on
        meanwhile: more people would read the client's words than the text said) makes
        nobody a client: the consent is shown again, with the terms in force.

        The new client's language is their Telegram app's, when there is a file for it
        (the consent they just read was in it); they can change it at once, or later with
        /language.
        """
        now = self._clock.now()
        language = person.language
        async with self._db.transaction():
            refusal = await self._refusal(person)
            if refusal is not None:
                await self._outbox.remove_buttons(person.user_id, message_id)
                await self._notices.say_now(person.user_id, refusal[0], language, **refusal[1])
                return None
            invite = await self._usable_invite(code, now)
            if invite is None:
                await self._outbox.remove_buttons(person.user_id, message_id)
                await self._notices.say_to_stranger_now(
                    person.user_id, "consent.button_expired", language
                )
                return None
            if answer == "no":
                await self._outbox.remove_buttons(person.user_id, message_id)
                await self._notices.say_to_stranger_now(
                    person.user_id, "consent.declined", language
                )
                return None
            specialist = await self._specialists.by_id(invite.specialist_id)
            if specialist is not None and specialist.active and shown != self._consent_version():
                await self._outbox.remove_buttons(person.user_id, message_id)
                await self._offer(person.user_id, code, specialist, language)
                return None
            if (
                specialist is None
                or not specialist.active
                or not await self._invites.use(invite.id)
            ):
                await self._notices.say_to_stranger_now(
                    person.user_id, "consent.button_expired", language
                )
                return None
            alias = await self._clients.free_alias(specialist.id, invite.alias)
            client = await self._clients.add(
                telegram_user_id=person.user_id,
                alias=alias,
                specialist_id=specialist.id,
                language=language,
                timezone=self._default_timezone,
                consent_version=self._consent_version(),
                now=now,
            )
            await self._audit_consent("join", client, specialist, client.accepted, now)
            await events.about(self._db, events.JOINED, now, client)
            await self._outbox.remove_buttons(person.user_id, message_id)
            await self._notices.say_now(
                person.user_id, "consent.welcome", language, specialist=specialist.display_name
            )
            joined = self._texts.get("specialist.joined", specialist.language, alias=alias)
            await self._outbox.note_about(specialist, client, joined)
        return client

    async def show_changed_terms(self, client: Client, specialist: Specialist) -> None:
        """At a client's first contact after the terms changed: what changed, once, with an
        Okay to tap. Until they tap it nothing new applies to them (Client.has_accepted)."""
        version = self._consent_version()
        shown = (client.id, version)
        if client.has_accepted(version) or shown in self._shown:
            return
        async with self._db.transaction():
            now = self._clock.now()
            first = await self._clients.note_terms_shown(client.id, version)
            self._db.after_commit(lambda: self._shown.add(shown))
            if not first:
                return  # shown before (or a moment ago, for another of their updates)
            await self._audit_consent("terms_shown", client, specialist, version, now)
            name = specialist.display_name
            language = client.language
            await self._outbox.text(
                client.chat_id,
                self._texts.get(
                    "consent.changed",
                    language,
                    specialist=name,
                    change=self._texts.get(
                        # Turning the team inbox on is the change they are told of then.
                        "team_consent.change" if self._team_terms else "consent.change",
                        language,
                        specialist=name,
                    ),
                ),
                buttons=[[(self._texts.get("consent.okay", language), terms_data(version))]],
            )

    async def send_privacy(self, client: Client, specialist: Specialist, days: int) -> None:
        """/privacy; a client who has not yet accepted the terms in force finds the Okay
        under it too (the note about them may be long gone up the chat)."""
        version = self._consent_version()
        language = client.language
        okay = [[(self._texts.get("consent.okay", language), terms_data(version))]]
        async with self._db.transaction():
            await self._outbox.text(
                client.chat_id,
                self._texts.get(
                    # With the team inbox on, the team's group reads the client's messages too.
                    "team_consent.privacy" if self._team_terms else "privacy.text",
                    language,
                    specialist=specialist.display_name,
                    days=days,
                ),
                buttons=None if client.has_accepted(version) else okay,
            )

    async def accept_terms(
        self, client: Client, specialist: Specialist, version: Terms, message_id: int
    ) -> bool:
        """'Okay' under changed terms: the client accepts that version; False if the
        button is not for the terms in force (a forged or outdated version)."""
        if version != self._consent_version():
            return False
        async with self._db.transaction():
            now = self._clock.now()
            await self._outbox.remove_buttons(client.chat_id, message_id)
            if await self._clients.accept_terms(client.id, version, now):
                await self._audit_consent("terms_accepted", client, specialist, version, now)
                await self._notices.say_now(client.chat_id, "consent.accepted", client.language)
        return True

    async def _audit_consent(
        self, action: str, client: Client, specialist: Specialist, version: Terms, now: datetime
    ) -> None:
        await self._audit.record(
            Actor(ActorRole.CLIENT),
            action,
            now,
            client_id=client.id,
            specialist_id=specialist.id,
            detail=f"consent version {version}",
        )

    def _consent_version(self) -> Terms:
        return consent_version(self._texts, team=self._team_terms)

    def _terms(self, specialist: Specialist, language: str) -> str:
        # With the team inbox on, the terms say the team reads along (bot.services.team).
        key = "team_consent.terms" if self._team_terms else "consent.terms"
        return self._texts.get(key, language, specialist=specialist.display_name)
