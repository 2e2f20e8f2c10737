"""`run`'s first contact with Telegram: a refused token stops it, a missing network does not.

A token Telegram refuses will not work later either: `run` says so in one line and exits 2
(systemd and Docker then show the line, rather than restarting into the same refusal
without end). A network that is not there yet (a service that starts before it) is
waited for: one log line per attempt, the pause doubling up to a minute. A URL that cannot
be used at all (a malformed proxy URL) is no network problem: one line, exit 1.
"""

from __future__ import annotations

import asyncio

import aiohttp
from telegram import Bot
from telegram.error import InvalidToken, NetworkError

from bot.config import Settings
from bot.delivery.transport import AiohttpRequest
from bot.logs import EventLog

log = EventLog(__name__)

FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 60.0


def api_bot(settings: Settings) -> Bot:
    """A Bot for one-off calls (`run`'s first getMe, `check`, `invite`) that calls Telegram
    as `run` does: through its transport (bot.delivery.transport), which reads a proxy the
    same way and names a malformed one in one line without its password."""
    root = settings.telegram_api_base_url
    timeout = settings.api_timeout_seconds
    request = AiohttpRequest(
        connection_pool_size=1,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
        pool_timeout=timeout,
    )
    return Bot(
        settings.token(),
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=request,
        get_updates_request=request,
    )


async def reach_telegram(settings: Settings, *, first_pause: float = FIRST_PAUSE_SECONDS) -> str:
    """Ask getMe until the Bot API answers; the bot's username. InvalidToken if refused."""
    pause = first_pause
    attempt = 1
    while True:
        try:
            async with api_bot(settings) as bot:  # getMe; closes the session whatever happens
                return bot.username
        except InvalidToken:
            raise
        except NetworkError as error:
            if isinstance(error.__cause__, aiohttp.InvalidURL):
                raise  # a URL that cannot be used (a malformed HTTPS_PROXY) never will be
            log.warning(
                "bot.waiting_for_telegram",
                attempt=attempt,
                error=type(error).__name__,
                retry_in_seconds=pause,
            )
        await asyncio.sleep(pause)
        pause = min(LONGEST_PAUSE_SECONDS, pause * 2)
        attempt += 1
