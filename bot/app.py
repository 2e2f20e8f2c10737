"""The composition root: builds the Application and wires everything in order.

Services are opened in post_init (after PTB has initialised the bot, so the sender
can use it), the sender is stopped in post_stop (while the bot can still send what
is in flight), and the database is closed in post_shutdown.
"""

from __future__ import annotations

import gc
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import cast

from telegram import Update
from telegram.ext import ApplicationBuilder
from telegram.warnings import PTBDeprecationWarning

from bot.config import Settings
from bot.domain.clock import Clock, SystemClock
from bot.handlers.context import CONTEXT_TYPES, PorchlightApp, Runtime
from bot.handlers.inbox import InboxQueue
from bot.handlers.menus import set_menus
from bot.handlers.routing import register
from bot.logs import hold_back_libraries
from bot.scheduling import start_tick
from bot.services.container import Services

log = logging.getLogger(__name__)


def build_application(settings: Settings, clock: Clock | None = None) -> PorchlightApp:
    """The Application that `run` serves and the end-to-end tests drive."""
    hold_back_libraries()
    # PTB warns on every 429 that retry_after will become a timedelta; the sender reads
    # it either way, so the warning says nothing to whoever runs the bot.
    warnings.filterwarnings("ignore", message=".*retry_after.*", category=PTBDeprecationWarning)
    the_clock = clock or SystemClock()
    root = settings.telegram_api_base_url

    async def post_init(application: PorchlightApp) -> None:
        runtime: Runtime = application.bot_data
        runtime.bot_username = application.bot.username
        runtime.services = await Services.open(settings, the_clock, application.bot)
        await runtime.services.start()
        # What a crash left unhandled goes first; from now on every message is kept.
        await runtime.services.relay.replay()
        inbox.keep_with(runtime.services.relay.keep)
        # Menus are settings, not messages: set directly; a refusal never stops the start.
        await set_menus(application.bot, runtime.services)
        # Everything built so far lives as long as the bot: keep the collector from
        # walking it again and again (full collections paused the loop for 30-50 ms).
        gc.freeze()
        start_tick(application, settings.checkin_tick_seconds)
        log.info("bot.started username=%s", runtime.bot_username)

    async def post_stop(application: PorchlightApp) -> None:
        await application.bot_data.services.stop()

    async def post_shutdown(application: PorchlightApp) -> None:
        await application.bot_data.services.close()
        log.info("bot.stopped")

    # The builder's inferred type loses the context's generics; this is the same object.
    inbox = InboxQueue()
    application = cast(
        PorchlightApp,
        ApplicationBuilder()
        .token(settings.token())
        .update_queue(inbox)
        .read_timeout(settings.api_timeout_seconds)
        .write_timeout(settings.api_timeout_seconds)
        .connect_timeout(settings.api_timeout_seconds)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .context_types(CONTEXT_TYPES)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build(),
    )
    register(application)
    return application


def run(settings: Settings) -> None:
    """Long polling until Ctrl-C or SIGTERM; updates that waited while we were down count."""
    application = build_application(settings)
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)


@asynccontextmanager
async def running(
    application: PorchlightApp, poll_timeout: timedelta = timedelta(seconds=10)
) -> AsyncIterator[PorchlightApp]:
    """Start and stop the application inside an event loop that is already running.

    The same steps, in the same order, as Application.run_polling (which owns its loop):
    for the end-to-end tests and the demo.
    """
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES
    )
    await application.start()
    try:
        yield application
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
            if application.post_stop:
                await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
