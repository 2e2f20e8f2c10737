"""The specialist's side: invites, the overview, direct messages, away mode, transfers,
the daily summary, and replies that go back to a client."""

from __future__ import annotations

from telegram import Update

from bot.domain.escalation import Responder
from bot.domain.models import Specialist
from bot.handlers.client import replied_to
from bot.handlers.common import answer_quietly, command_text, refusing
from bot.handlers.context import Context, services
from bot.services.notices import Refused
from bot.services.people import Person
from bot.services.relay import Outcome


async def cmd_invite(update: Update, context: Context, specialist: Specialist) -> None:
    """/invite <alias>: a single-use invite link for a new client."""
    found = services(context)
    alias = " ".join(context.args or [])
    if not alias:
        await found.notices.say(specialist.chat_id, "invite.usage", specialist.language)
        return
    await found.onboarding.send_invite_link(specialist, alias, context.bot_data.bot_username)


async def cmd_checkin(update: Update, context: Context, specialist: Specialist) -> None:
    """/checkin <alias>: a check-in to that client now (or when their quiet hours end)."""
    await services(context).checkins.request(specialist, " ".join(context.args or []))


async def cmd_clients(update: Update, context: Context, specialist: Specialist) -> None:
    """/clients: every client, those who may need the specialist first."""
    await services(context).overview.send(specialist)


async def cmd_to(update: Update, context: Context, specialist: Specialist) -> None:
    """/to <alias> <message>: write to a client without a message to reply to."""
    message = update.message
    assert message is not None
    relay = services(context).relay
    await refusing(
        context,
        specialist.chat_id,
        relay.write_to(update.update_id, specialist, message.message_id, command_text(update)),
        specialist.language,
    )


async def cmd_away(update: Update, context: Context, specialist: Specialist) -> None:
    """/away [until <date or weekday>] [note]."""
    away = services(context).away.away(specialist, command_text(update))
    await refusing(context, specialist.chat_id, away, specialist.language)


async def cmd_back(update: Update, context: Context, specialist: Specialist) -> None:
    """/back: away mode off."""
    await services(context).away.back(specialist)


async def cmd_digest(update: Update, context: Context, specialist: Specialist) -> None:
    """/digest HH:MM or /digest off."""
    digest = services(context).digests.set(specialist, command_text(update))
    await refusing(context, specialist.chat_id, digest, specialist.language)


async def cmd_transfer(update: Update, context: Context, person: Person) -> None:
    """/transfer <alias> <specialist> [note], by the client's specialist or an admin."""
    transfer = services(context).transfers.transfer(person, command_text(update))
    await refusing(context, person.user_id, transfer, person.language)


async def cmd_oncall(update: Update, context: Context, person: Person) -> None:
    """/oncall on, /oncall off, or /oncall alone: who is on call (specialists and admins)."""
    escalations = services(context).escalations
    on_call = escalations.on_call(
        person.specialist, person.user_id, command_text(update), person.language
    )
    await refusing(context, person.user_id, on_call, person.language)


async def on_clients_page(update: Update, context: Context, person: Person) -> None:
    """◀ ▶ under /clients: that page in place, or a kind answer if the button is not theirs."""
    query = update.callback_query
    assert query is not None
    found = services(context)
    if query.message is None:
        await answer_quietly(query, found.texts.get("clients.page_gone", person.language))
        return
    try:
        await found.overview.turn(person.specialist, query.data or "", query.message.message_id)
    except Refused as refused:
        text = found.texts.get(refused.key, person.language, **refused.params)
        await answer_quietly(query, text)
        return
    await answer_quietly(query)


async def on_admin_message(update: Update, context: Context, person: Person) -> None:
    """An admin who is not a specialist: a reply to an escalated message goes to that client;
    anything else gets the admin's greeting (there is nobody else to relay to)."""
    message = update.message
    assert message is not None
    found = services(context)
    admin = Responder(person.user_id, person.user_id, None, is_admin=True)
    outcome = await found.relay.from_supervisor(
        update.update_id, admin, message.message_id, replied_to(update)
    )
    if outcome is Outcome.NOT_A_REPLY:
        await found.notices.say(person.user_id, "admin.greeting", person.language)


async def on_specialist_message(update: Update, context: Context, specialist: Specialist) -> None:
    """A specialist's message: a reply to a relayed message goes to that client."""
    message = update.message
    assert message is not None
    relay = services(context).relay
    await relay.catch_up(specialist.telegram_user_id, update.update_id)
    await relay.from_specialist(
        update.update_id, specialist, message.message_id, replied_to(update)
    )
