"""Every service, built in order over one database; opened at start, closed at stop."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from telegram import Bot

from bot.config import CONFIG_DIR, Settings
from bot.delivery.limiter import RateLimiter
from bot.delivery.outbox import Outbox
from bot.delivery.sender import Sender
from bot.domain.clock import Clock
from bot.domain.safety import SafetyScreen
from bot.domain.texts import Texts
from bot.services.admin import Admin
from bot.services.away import Away
from bot.services.base import ScheduleContext, StaffContext
from bot.services.checkins import CheckIns
from bot.services.delivery_reports import DeliveryReports
from bot.services.digest import Digests
from bot.services.erasure import Erasure
from bot.services.escalation import Escalations
from bot.services.export import DataExport
from bot.services.languages import Languages, StaffLanguages
from bot.services.notices import Notices
from bot.services.onboarding import Onboarding
from bot.services.overview import Overview
from bot.services.people import People
from bot.services.preferences import Preferences
from bot.services.relay import Relay
from bot.services.report import Reports
from bot.services.team import Team, consent_version
from bot.services.transfers import Transfers
from bot.services.unreachable import Unreachable
from bot.storage.audit import AuditRepository
from bot.storage.checkpoint import LogCopier
from bot.storage.clients import ClientRepository
from bot.storage.db import Database
from bot.storage.escalations import EscalationRepository
from bot.storage.export import ExportRepository
from bot.storage.inbox import InboxRepository
from bot.storage.invites import InviteRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.overview import OverviewRepository
from bot.storage.people import PeopleRepository
from bot.storage.relay import RelayRepository
from bot.storage.schedules import ScheduleRepository
from bot.storage.specialists import SpecialistRepository
from bot.storage.staff_languages import StaffLanguageRepository
from bot.storage.topics import TopicRepository


@dataclass
class Services:
    """The running bot's services; handlers reach them through the context."""

    db: Database
    texts: Texts
    safety: SafetyScreen
    clock: Clock
    people: People
    notices: Notices
    onboarding: Onboarding
    relay: Relay
    checkins: CheckIns
    preferences: Preferences
    languages: Languages
    staff_languages: StaffLanguages
    outbox: Outbox
    retention: timedelta
    reports: DeliveryReports
    unreachable: Unreachable
    erasure: Erasure
    export: DataExport
    away: Away
    overview: Overview
    transfers: Transfers
    digests: Digests
    admin: Admin
    escalations: Escalations
    sender: Sender | None
    report: Reports
    team: Team
    log_copier: LogCopier

    @classmethod
    async def open(cls, settings: Settings, clock: Clock, bot: Bot | None = None) -> Services:
        """Open the database and wire the services; with a bot, the sender too."""
        texts = Texts.load(CONFIG_DIR / "messages")
        # A running bot reads the phrases and the model once it serves (bot.app warms it).
        safety = SafetyScreen.load(CONFIG_DIR / "safety", lazy=bot is not None)
        db = await Database.open(
            settings.database_path, busy_timeout_seconds=settings.database_busy_timeout_seconds
        )
        specialists = SpecialistRepository(db)
        clients = ClientRepository(db)
        invites = InviteRepository(db)
        relay_repo = RelayRepository(db)
        outbox_repo = OutboxRepository(db)
        schedules = ScheduleRepository(db)
        audit = AuditRepository(db)
        facts = OverviewRepository(db)
        outbox = Outbox(db, outbox_repo, relay_repo, clock)
        topics = TopicRepository(db)
        team = Team(
            db,
            topics,
            clients,
            specialists,
            relay_repo,
            outbox,
            texts,
            clock,
            chat_id=settings.team_chat_id,
            consent_version=consent_version(texts, team=settings.team_chat_id is not None),
            group_only=settings.team_mode == "group",
            staff_timezone=settings.default_timezone,
            inbox=InboxRepository(db),
        )
        if team.enabled:
            outbox.mirror_with(team.mirror)
        schedule_context = ScheduleContext(db, clients, schedules, outbox, texts, clock)
        checkins = CheckIns(
            schedule_context,
            patience_after=settings.patience_after,
            staff_timezone=settings.default_timezone,
        )
        notices = Notices(
            db,
            outbox,
            texts,
            answer_strangers_every=settings.stranger_reply_minutes * 60,
            resources=safety.resources,
        )
        staff_languages = StaffLanguageRepository(db)
        people = People(
            db,
            PeopleRepository(db),
            specialists,
            clients,
            audit,
            settings.admin_ids,
            clock,
            staff_languages,
        )
        staff = StaffContext(
            db,
            specialists,
            clients,
            audit,
            facts,
            outbox,
            notices,
            texts,
            clock,
            staff_timezone=settings.default_timezone,
        )
        away = Away(staff, safety)
        checkins.away = away
        escalations = Escalations(
            staff,
            EscalationRepository(db),
            relay_repo,
            safety,
            admin_ids=settings.admin_ids,
            escalate_after=timedelta(minutes=settings.escalate_after_minutes),
            remind_after=timedelta(hours=settings.remind_after_hours),
        )
        overview = Overview(staff, waiting_after=escalations.remind_after)
        unreachable = Unreachable(
            db,
            specialists,
            clients,
            relay_repo,
            outbox_repo,
            outbox,
            texts,
            settings.admin_ids,
            clock,
        )
        reports = DeliveryReports(
            db, specialists, clients, relay_repo, outbox, texts, settings.admin_ids, unreachable
        )
        sender = None
        if bot is not None:
            # The team group has Telegram's group limit (about 20 a minute) as its own gap.
            team_gap = (
                {} if team.chat_id is None else {team.chat_id: 60 / settings.team_send_per_minute}
            )
            limiter = RateLimiter(
                settings.send_per_second, settings.send_per_chat_interval, chat_gaps=team_gap
            )
            sender = Sender(
                db,
                outbox_repo,
                bot,
                limiter,
                clock,
                events=reports,
                # About a quarter second's worth of check-ins (at least 30) waits for its
                # pacing slot at a time: the dispatcher refills well before they run out,
                # and each waits for its slot in a nap or two (a second's worth took four).
                scheduled_in_flight=max(30, math.ceil(settings.send_per_second / 4) + 1),
                topics=topics,
                team=team,
                team_chat_id=team.chat_id,
            )
            outbox.connect(sender.wake, sender.offer, sender.withdraw)
        team.connect(checkins.quiet_now, escalations.answered)
        if team.enabled:
            escalations.on_escalated = team.escalated
        return cls(
            db=db,
            texts=texts,
            safety=safety,
            clock=clock,
            people=people,
            notices=notices,
            onboarding=Onboarding(
                db,
                specialists,
                clients,
                invites,
                audit,
                outbox,
                notices,
                texts,
                clock,
                invite_ttl=timedelta(days=settings.invite_ttl_days),
                default_timezone=settings.default_timezone,
                team_terms=team.enabled,
            ),
            relay=Relay(
                db,
                specialists,
                clients,
                relay_repo,
                InboxRepository(db),
                people,
                outbox,
                checkins,
                away,
                safety,
                texts,
                clock,
                escalations,
                unreachable=unreachable,
                team=team,
            ),
            checkins=checkins,
            preferences=Preferences(schedule_context, default_timezone=settings.default_timezone),
            languages=Languages(db, clients, outbox, texts),
            staff_languages=StaffLanguages(db, staff_languages, outbox, texts, clock),
            outbox=outbox,
            retention=timedelta(days=settings.retention_days),
            reports=reports,
            unreachable=unreachable,
            erasure=Erasure(db, clients, audit, outbox, texts, clock, team),
            export=DataExport(db, ExportRepository(db), audit, outbox, texts, clock, team),
            away=away,
            overview=overview,
            transfers=Transfers(staff, overview, relay_repo, team, checkins.quiet_now),
            digests=Digests(staff, overview),
            admin=Admin(staff),
            escalations=escalations,
            sender=sender,
            report=Reports(
                db,
                outbox,
                texts,
                clock,
                timezone=settings.default_timezone,
                admin_ids=settings.admin_ids,
                weekly=settings.report_weekly,
            ),
            team=team,
            log_copier=LogCopier(settings.database_path),
        )

    async def start(self) -> None:
        """Start copying the write-ahead log aside (bot.storage.checkpoint), and sending."""
        await self.log_copier.start(self.db)
        if self.sender is not None:
            await self.sender.start()
            self.team.start()

    async def stop(self) -> None:
        """Finish what is being sent."""
        await self.team.stop()
        if self.sender is not None:
            await self.sender.stop()

    async def close(self) -> None:
        """Close the database."""
        await self.log_copier.close()
        await self.db.close()
