"""The client's side: consent buttons and messages to their specialist."""

from __future__ import annotations

from telegram import Update

from bot.domain.models import Client, Specialist
from bot.handlers.common import answer_quietly
from bot.handlers.context import Context, services
from bot.handlers.inbox import unscreened_kind
from bot.services.onboarding import parse_consent_data, parse_terms_data
from bot.services.people import Person


async def on_consent_button(update: Update, context: Context, person: Person) -> None:
    """'Yes, let's begin' / 'Not now' under the consent text; yes leads on to the rhythm."""
    query = update.callback_query
    assert query is not None
    found = services(context)
    parsed = parse_consent_data(query.data or "")
    if parsed is None or query.message is None:
        await answer_quietly(query, found.texts.get("consent.button_expired", person.language))
        return
    answer, code, shown = parsed
    client = await found.onboarding.answer_consent(
        person, answer, code, shown, query.message.message_id
    )
    if client is not None:
        prefs = found.preferences
        await prefs.ask(client, prefs.cadence_question(client, languages=True))
    await answer_quietly(query)


async def on_terms_button(
    update: Update, context: Context, client: Client, specialist: Specialist
) -> bool:
    """'Okay' under changed terms; False when the data is not a version in force."""
    query = update.callback_query
    assert query is not None and query.message is not None
    version = parse_terms_data(query.data or "")
    if version is None:
        return False
    onboarding = services(context).onboarding
    return await onboarding.accept_terms(client, specialist, version, query.message.message_id)


async def on_client_message(
    update: Update, context: Context, client: Client, specialist: Specialist
) -> None:
    """Anything a client writes goes to their specialist (unless it is a time they were
    asked to type, like 09:30 or Europe/Madrid)."""
    message = update.message
    assert message is not None
    found = services(context)
    # An earlier message of theirs still waiting (its handling failed) goes first.
    await found.relay.catch_up(client.telegram_user_id, update.update_id)
    # An admin who is also a client, answering an escalated message: to that message's client.
    if await found.relay.admin_answer(
        update.update_id, client, message.message_id, replied_to(update)
    ):
        return
    await found.preferences.unblock(client)
    if message.text and await found.preferences.typed_answer(client, message.text):
        return
    # Screened in memory only; the words are never stored or logged.
    flagged, unread = await found.relay.screened(
        message.text or message.caption, client.language, update.update_id
    )
    # Spoken words are not screened: the specialist's header says so.
    await found.relay.from_client(
        update.update_id,
        client,
        specialist,
        message.message_id,
        replied_to(update),
        flagged,
        forwarded=message.forward_origin is not None,
        unscreened=unscreened_kind(message) or unread,
    )


def replied_to(update: Update) -> int | None:
    """The id of the message the update's message replies to, if any."""
    message = update.message
    if message is None or message.reply_to_message is None:
        return None
    return message.reply_to_message.message_id


async def on_client_edit(
    update: Update, context: Context, client: Client, specialist: Specialist
) -> bool:
    """A client's edit whose words the screen flags: the message as it now reads goes to
    their specialist, marked, as a new message would (edits are otherwise not passed on,
    but a crisis can be written into one); True if it went."""
    message = update.edited_message
    if message is None:
        return False
    relay = services(context).relay
    flagged, _ = await relay.screened(
        message.text or message.caption, client.language, update.update_id
    )
    if flagged is None:
        return False
    reply = message.reply_to_message
    await relay.from_client(
        update.update_id,
        client,
        specialist,
        message.message_id,
        None if reply is None else reply.message_id,
        flagged,
        forwarded=message.forward_origin is not None,
    )
    return True
