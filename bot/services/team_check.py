"""Whether the team inbox's chat (TEAM_CHAT_ID) can hold one topic per client.

Three things must hold: the chat is a supergroup, Topics are on, and the bot is an
administrator allowed to manage topics. `check` prints what to change for each that does not.
"""

from __future__ import annotations

from telegram import Bot, ChatMemberAdministrator
from telegram.constants import ChatType
from telegram.error import TelegramError


async def team_chat_problems(bot: Bot, chat_id: int) -> list[str]:
    """What to change so that the bot can use the team chat (empty: nothing)."""
    try:
        chat = await bot.get_chat(chat_id)
    except TelegramError as error:
        return [
            f"TEAM_CHAT_ID {chat_id}: Telegram does not show the bot this chat ({error.message});"
            " add the bot to the team group, then copy the group's id into TEAM_CHAT_ID."
        ]
    problems = []
    if chat.type != ChatType.SUPERGROUP:
        problems.append(
            f"TEAM_CHAT_ID {chat_id} is a {chat.type}, not a supergroup: in the group's"
            " settings turn Topics on (Telegram makes it a supergroup), then set TEAM_CHAT_ID"
            " to the new id (it starts with -100)."
        )
    elif not chat.is_forum:
        problems.append(
            f"Topics are off in the team group {chat_id}: in the group's settings, turn Topics on."
        )
    try:
        me = await bot.get_chat_member(chat_id, bot.id)
    except TelegramError as error:
        problems.append(f"Cannot see the bot's rights in the team group ({error.message}).")
        return problems
    if not isinstance(me, ChatMemberAdministrator):
        problems.append(
            "The bot is not an administrator of the team group: in the group, make it an"
            " administrator with the right to manage topics."
        )
    elif not me.can_manage_topics:
        problems.append(
            "The bot may not manage topics in the team group: in the group's administrators,"
            " give the bot the right Manage Topics."
        )
    return problems
