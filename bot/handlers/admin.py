"""The admins' commands: /specialists, /addspecialist, /removespecialist, /audit, /report.

Admins are the Telegram user ids in ADMIN_IDS; routing lets nobody else through.
Every command here is logged in the audit log by the service it calls.
"""

from __future__ import annotations

from telegram import Update

from bot.domain.commands import telegram_id, whole_number
from bot.domain.models import Actor, ActorRole
from bot.handlers.common import command_text
from bot.handlers.context import Context, services
from bot.handlers.menus import role_of, set_menu
from bot.report.charts import ChartsUnavailable
from bot.report.figures import DEFAULT_WEEKS, parse_weeks
from bot.services.admin import AUDIT_DEFAULT, AUDIT_MAX
from bot.services.notices import Refused
from bot.services.people import Person, SpecialistError


def _actor(person: Person) -> Actor:
    return Actor(ActorRole.ADMIN, person.user_id)


async def cmd_specialists(update: Update, context: Context, person: Person) -> None:
    """/specialists: who is registered, with their clients and whether away."""
    await services(context).admin.show_specialists(person.user_id, _actor(person), person.language)


async def cmd_addspecialist(update: Update, context: Context, person: Person) -> None:
    """/addspecialist <telegram_user_id> <display name>."""
    found = services(context)
    typed_id, _, name = command_text(update).partition(" ")
    user_id = telegram_id(typed_id)
    if user_id is None or not name.strip():
        await found.notices.say(person.user_id, "admin.add_usage", person.language)
        return
    try:
        specialist = await found.people.add_specialist(user_id, name, _actor(person))
    except SpecialistError as error:
        reason = found.texts.get(error.key, person.language)
        await found.notices.say(
            person.user_id, "admin.add_refused", person.language, reason=reason
        )
        return
    await found.notices.say(
        person.user_id,
        "admin.added",
        person.language,
        name=specialist.display_name,
        user_id=specialist.telegram_user_id,
    )
    is_admin = specialist.telegram_user_id in found.people.admin_ids
    role = role_of(True, is_admin)
    await set_menu(context.bot, found.texts, specialist.chat_id, role, specialist.language)


async def cmd_removespecialist(update: Update, context: Context, person: Person) -> None:
    """/removespecialist <telegram_user_id> to <other specialist>: their clients move."""
    found = services(context)
    words = command_text(update).split(maxsplit=2)
    user_id = telegram_id(words[0]) if words else None
    if user_id is None or (len(words) > 1 and words[1].casefold() != "to"):
        await found.notices.say(person.user_id, "admin.remove_usage", person.language)
        return
    target = words[2] if len(words) == 3 else None
    try:
        removal = await found.transfers.remove_specialist(_actor(person), user_id, target)
    except Refused as refused:
        await found.notices.refuse(person.user_id, refused, person.language)
        return
    leaving = removal.specialist
    if removal.target is None:
        await found.notices.say(
            person.user_id, "admin.removed_alone", person.language, name=leaving.display_name
        )
    else:
        await found.notices.say(
            person.user_id,
            "admin.removed",
            person.language,
            name=leaving.display_name,
            count=removal.moved,
            target=removal.target.display_name,
        )
    if found.team.enabled:
        # Nothing the bot sends reaches them now, but the group still shows them every topic.
        await found.notices.say(
            person.user_id, "team_removal.in_group", person.language, name=leaving.display_name
        )
    is_admin = leaving.telegram_user_id in found.people.admin_ids
    role = role_of(False, is_admin)
    await set_menu(context.bot, found.texts, leaving.chat_id, role, leaving.language)


async def cmd_audit(update: Update, context: Context, person: Person) -> None:
    """/audit [n]: the newest n entries of the audit log (20 unless given)."""
    found = services(context)
    given = command_text(update).strip()
    count = whole_number(given) if given else AUDIT_DEFAULT
    if count is None or not 1 <= count <= AUDIT_MAX:
        await found.notices.say(
            person.user_id, "admin.audit_usage", person.language, most=AUDIT_MAX
        )
        return
    await found.admin.show_audit(person.user_id, count, _actor(person), person.language)


async def cmd_report(update: Update, context: Context, person: Person) -> None:
    """/report [4w]: the programme report (the last 12 weeks unless given) as a document."""
    found = services(context)
    given = command_text(update).strip()
    weeks = parse_weeks(given) if given else DEFAULT_WEEKS
    if weeks is None:
        await found.notices.say(person.user_id, "report.usage", person.language)
        return
    try:
        await found.report.send(person.user_id, weeks, person.language)
    except ChartsUnavailable:
        await found.notices.say(person.user_id, "report.unavailable", person.language)
