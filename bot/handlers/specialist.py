"""The specialist's side: /invite, and replies that go back to a client."""

from __future__ import annotations

from telegram import Update

from bot.domain.models import Specialist
from bot.handlers.client import replied_to
from bot.handlers.context import Context, services


async def cmd_invite(update: Update, context: Context, specialist: Specialist) -> None:
    """/invite <alias>: a single-use invite link for a new client."""
    found = services(context)
    alias = " ".join(context.args or [])
    if not alias:
        await found.notices.say(specialist.chat_id, "invite.usage")
        return
    await found.onboarding.send_invite_link(specialist, alias, context.bot_data.bot_username)


async def cmd_checkin(update: Update, context: Context, specialist: Specialist) -> None:
    """/checkin <alias>: a check-in to that client now (or when their quiet hours end)."""
    await services(context).checkins.request(specialist, " ".join(context.args or []))


async def on_specialist_message(update: Update, context: Context, specialist: Specialist) -> None:
    """A specialist's message: a reply to a relayed message goes to that client."""
    message = update.message
    assert message is not None
    await services(context).relay.from_specialist(
        update.update_id, specialist, message.message_id, replied_to(update)
    )
