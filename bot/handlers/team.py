"""The team inbox's group (TEAM_CHAT_ID): what staff write in a client's topic, and the
commands that work there without naming the client.

In a client's topic: a registered specialist or an admin reaches the client by writing
(bot.services.team); "#" or "!note" keeps a note in the team; /checkin and /transfer <name>
are about the topic's client. In the General topic: /clients lists every client's topic.
Answers to commands go to the person's private chat, as anywhere else. Anything in another
group is ignored (the bot leaves it, bot.handlers.common).
"""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import identify, refusing
from bot.handlers.context import Context, services
from bot.handlers.inbox import is_live_location
from bot.services.people import Person
from bot.services.team import is_team_note


def _command(text: str, bot_username: str) -> tuple[str, str] | None:
    """("checkin", "the rest") for "/checkin@porchlight_bot the rest"; None for words."""
    if not text.startswith("/"):
        return None
    head, _, rest = text.partition(" ")
    name, _, addressed = head[1:].partition("@")
    if addressed and addressed.lower() != bot_username.lower():
        return None  # another bot's command
    return name.lower(), rest.strip()


async def on_team_message(update: Update, context: Context) -> None:
    """A message in the team group: an answer to a client, a note, or a command."""
    message = update.message
    found = services(context)
    if message is None or message.chat.id != found.team.chat_id or message.from_user is None:
        return
    if message.from_user.is_bot:
        return
    person = await identify(update, context)
    if person is None:
        return
    text = message.text or message.caption
    thread = message.message_thread_id if message.is_topic_message else None
    command = _command(message.text or "", context.bot_data.bot_username or "")
    if command is not None:
        await _team_command(context, person, thread, *command)
    elif thread is not None:
        # Their earlier answers still waiting (a failed handling) go first, in order.
        await found.relay.catch_up(person.user_id, update.update_id)
        await found.team.from_topic(update.update_id, thread, person, message.message_id, text)


async def on_team_edit(update: Update, context: Context) -> None:
    """Staff edited what they wrote in a client's topic: the client keeps the first version
    (copies cannot follow an edit), so the one who edited hears so, in their private chat,
    as in it (a note, which never reached the client, changes nothing)."""
    message = update.edited_message
    found = services(context)
    if message is None or message.chat.id != found.team.chat_id or message.from_user is None:
        return
    if is_live_location(update):
        return  # a live location moving, not an edit anyone made
    thread = message.message_thread_id if message.is_topic_message else None
    text = message.text or message.caption
    if message.from_user.is_bot or thread is None or is_team_note(text):
        return
    if text is not None and _command(text, context.bot_data.bot_username or "") is not None:
        return
    person = await identify(update, context)
    if person is None or not person.is_staff:
        return
    if await found.team.client_of(thread) is None:
        return  # a topic that is nobody's: nothing went anywhere
    await found.notices.say(person.user_id, "specialist.edit_not_relayed", person.language)


async def _team_command(
    context: Context, person: Person, thread: int | None, name: str, rest: str
) -> None:
    """/checkin, /transfer in a topic; /clients in General; staff only, others ignored."""
    found = services(context)
    if person.specialist is None and not person.is_admin:
        return
    if thread is None:
        if name == "clients":
            await found.team.list_clients(person.language)
        return
    about = await found.team.client_of(thread)
    if about is None:
        return
    client, specialist = about
    if name == "checkin":
        # Asked in the client's topic: for their specialist, whoever of the staff asks.
        await found.checkins.request(specialist, client.alias)
    elif name == "transfer":
        transfer = found.transfers.transfer(person, rest, client_id=client.id)
        await refusing(context, person.user_id, transfer, person.language)
