"""The composition root: builds the Application and wires everything in order.

Services are opened in post_init (after PTB has initialised the bot, so the sender
can use it), the sender is stopped in post_stop (while the bot can still send what
is in flight), and the database is closed in post_shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from telegram import Update
from telegram.ext import ApplicationBuilder
from telegram.warnings import PTBDeprecationWarning

from bot import metrics
from bot.config import CONFIG_DIR, EXIT_CONFIG, Settings, Webhook, configuration_error
from bot.delivery.transport import AiohttpRequest
from bot.domain.clock import Clock, SystemClock
from bot.domain.safety import SafetyConfigError
from bot.handlers.context import CONTEXT_TYPES, PorchlightApp, Runtime
from bot.handlers.inbox import InboxQueue
from bot.handlers.menus import set_menus
from bot.handlers.polling import PollingBot
from bot.handlers.routing import register
from bot.handlers.webhook import WebhookUpdater
from bot.health import Pulse, Watch
from bot.logs import EventLog, hold_back_libraries, say_last, settle_logs
from bot.scheduling import keep_on_time, start_tick
from bot.services.container import Services
from bot.storage.db import StorageError, fault_text, is_storage_fault, unusable
from bot.watch import StorageWatch

log = EventLog(__name__)

# PTB's own defaults for the long-poll request, and for waiting on a pooled connection.
GET_UPDATES_TIMEOUT_SECONDS = 5.0
POOL_TIMEOUT_SECONDS = 1.0
# How long `run` may take to stop (a supervisor's SIGTERM, or the storage watch) before it
# exits anyway: a database call stuck on a lock or a hung disk must not hold it up, and
# Docker kills after 10 s. SQLite's journal makes an exit mid-write safe.
STOP_GRACE_SECONDS = 8.0
# The menus wait for the first tick at most this long (a first tick stuck on the database).
MENUS_WAIT_SECONDS = 60.0


def build_application(
    settings: Settings, clock: Clock | None = None, *, stop_grace: float | None = None
) -> PorchlightApp:
    """The Application that `run` serves and the end-to-end tests drive; with stop_grace,
    the process exits at the latest that many seconds after it starts stopping."""
    hold_back_libraries()
    # PTB warns on every 429 that retry_after will become a timedelta; the sender reads
    # it either way, so the warning says nothing to whoever runs the bot.
    warnings.filterwarnings("ignore", message=".*retry_after.*", category=PTBDeprecationWarning)
    the_clock = clock or SystemClock()
    root = settings.telegram_api_base_url
    # The transports report each answer; the tick writes the heartbeat (bot.health).
    watch = Watch(Pulse(), gauges=settings.metrics_port is not None)
    lag_watcher: list[asyncio.Task[None]] = []
    setting_menus: list[asyncio.Task[None]] = []

    async def post_init(application: PorchlightApp) -> None:
        runtime: Runtime = application.bot_data
        runtime.bot_username = application.bot.username
        runtime.services = await Services.open(settings, the_clock, application.bot)
        db = runtime.services.db
        log.info("bot.using", database=str(db.path), config=str(CONFIG_DIR))
        if db.created:
            # A wrong DATABASE_PATH would make every client a stranger: say it loudly.
            log.warning("storage.created_new", database=str(db.path))
        storage_watch = StorageWatch(db, settings.storage_failure_exit_minutes * 60, _stop)
        watching.add(asyncio.create_task(storage_watch.run(), name="storage-watch"))
        if stop_grace is not None:
            watching.add(asyncio.create_task(_exit_if_stop_hangs(stop_grace), name="stop-grace"))
        await runtime.services.start()
        # What a crash left unhandled goes first; from now on every message is kept.
        await runtime.services.relay.replay()
        inbox.keep_with(runtime.services.relay.keep, runtime.services.team.chat_id)
        # Everything built so far lives as long as the bot: keep the collector from
        # walking it again and again (full collections paused the loop for 30-50 ms).
        gc.freeze()
        start_tick(application, settings.checkin_tick_seconds, watch)
        watching.add(asyncio.create_task(keep_on_time(application), name="clock-watch"))
        # Menus are settings, not messages, and Telegram keeps them between starts: they
        # are set after the first tick (one call per specialist, 300 calls at 100,000
        # clients), so that the check-ins that came due while the bot was down go first.
        setting_menus.append(asyncio.create_task(_menus_after_first_tick(application)))
        if settings.metrics_port is not None:  # `run` serves them (bot.metrics.serve)
            lag_watcher.append(asyncio.create_task(metrics.watch_loop_lag()))
        if await runtime.services.escalations.nowhere_to_go():
            # No admin and nobody on call: urgent messages can only remind their specialist.
            log.warning("escalation.nowhere_to_go")
        log.info("bot.started", username=runtime.bot_username)
        watching.add(asyncio.create_task(_warm_safety(), name="safety-warm"))

    async def _warm_safety() -> None:
        """Read the safety phrases and model (half a second of CPU) in a worker thread once
        the bot serves; a message screened before that waits for it. Files that cannot be
        read stop the bot with one line (`check` reads them before a deploy)."""
        runtime: Runtime = application.bot_data
        safety = runtime.services.safety
        try:
            await asyncio.to_thread(safety.warm)
        except SafetyConfigError as error:
            log.error("safety.unreadable", error=str(error))
            runtime.config_error = error
            runtime.stop_requested.set()
            if stop_grace is not None:
                _exit_after(stop_grace)
            return
        if unfilled := safety.unfilled():
            log.warning("safety.resources_placeholder", languages=",".join(unfilled))
        gc.freeze()  # as at start: what was just built lives as long as the bot

    async def _exit_if_stop_hangs(grace: float) -> None:
        """Once the bot starts stopping, give it `grace` seconds, then end the process."""
        started = False
        while not (started and not application.running):
            started = started or application.running
            await asyncio.sleep(0.1)
        _exit_after(grace)

    def _exit_after(grace: float) -> None:
        """End the process in `grace` seconds unless it has ended by then (once)."""
        if grace_timers:
            return
        timer = threading.Timer(grace, _exit_now, args=(grace,))
        timer.daemon = True
        grace_timers.append(timer)
        timer.start()

    def _exit_now(grace: float) -> None:
        log.error("bot.stop_forced", after_seconds=grace)
        settle_logs()  # written from a thread of their own (bot.logs): before os._exit
        runtime = application.bot_data
        if runtime.config_error is not None:
            say_last(configuration_error(runtime.config_error))
            os._exit(EXIT_CONFIG)
        fatal = runtime.fatal
        if fatal is not None:
            say_last(stopped(settings.database_path, fatal))
        os._exit(0 if fatal is None else 1)

    def _stop(reason: str) -> None:
        """The storage watch found the database unusable: stop, for `run` to exit 1."""
        application.bot_data.fatal = reason
        application.bot_data.stop_requested.set()
        if stop_grace is not None:
            # As for a stop signal: a start still waiting on the database must not keep the
            # process alive past the grace (the line and exit 1 come from _exit_now then).
            _exit_after(stop_grace)

    async def post_stop(application: PorchlightApp) -> None:
        for task in setting_menus:  # before the bot's session closes under it
            task.cancel()
        await application.bot_data.services.stop()

    async def post_shutdown(application: PorchlightApp) -> None:
        if stop_grace is not None:
            # Stopped while starting (a SIGTERM while opening a locked database): the
            # database call still waiting must not keep the process alive either.
            _exit_after(stop_grace)
        # When starting failed after post_init (a webhook port in use), PTB skips post_stop:
        # stop sending before the database closes (stopping twice is harmless).
        for task in [*lag_watcher, *setting_menus]:
            task.cancel()
        for task in watching:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        watching.clear()
        services = getattr(application.bot_data, "services", None)
        if services is not None:
            await services.stop()
            await services.close()
        log.info("bot.stopped")

    # The builder's inferred type loses the context's generics; this is the same object.
    inbox = InboxQueue(wait_for_storage=settings.webhook() is None)
    watching: set[asyncio.Task[None]] = set()
    grace_timers: list[threading.Timer] = []
    application = cast(
        PorchlightApp,
        ApplicationBuilder()
        .updater(
            WebhookUpdater(
                PollingBot(
                    settings.token(),
                    request=_transport(
                        settings.api_timeout_seconds,
                        pool_size=256,
                        on_success=watch.pulse.answered,
                    ),
                    get_updates_request=_transport(
                        GET_UPDATES_TIMEOUT_SECONDS, pool_size=1, on_success=watch.pulse.answered
                    ),
                    handled=inbox.handled,
                    base_url=f"{root}/bot",
                    base_file_url=f"{root}/file/bot",
                ),
                inbox,
            )
        )
        .context_types(CONTEXT_TYPES)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build(),
    )
    if stop_grace is not None:
        application.bot_data.exit_after = _exit_after
    register(application)
    return application


async def _menus_after_first_tick(application: PorchlightApp) -> None:
    """Set everyone's menu once the first tick has ended (or after MENUS_WAIT_SECONDS);
    a refusal or a failing database never stops the bot."""
    runtime: Runtime = application.bot_data
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(runtime.ticked.wait(), MENUS_WAIT_SECONDS)
    # Before the staff's languages are read: whoever is first heard from after this point
    # gets their menu from bot.handlers.common.identify (no menu call before the first tick).
    runtime.menus_started.set()
    try:
        await set_menus(application.bot, runtime.services)
    except Exception as error:  # without menus the bot still works; the next start retries
        reason = fault_text(error) if is_storage_fault(error) else type(error).__name__
        log.warning("menu.not_set", error=reason)


def _transport(
    timeout: float, pool_size: int, on_success: Callable[[], None] | None = None
) -> AiohttpRequest:
    """The HTTP transport for Bot API calls (see bot.delivery.transport for why not httpx)."""
    return AiohttpRequest(
        connection_pool_size=pool_size,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        on_success=on_success,
    )


def webhook_options(webhook: Webhook) -> dict[str, Any]:
    """What run_webhook and Updater.start_webhook need: where to listen, what to check.

    The server (bot.handlers.webhook) answers 403 to any request without the secret header
    and 413 to a body over 1 MiB, and puts every other update into the InboxQueue, which
    stores a message's ids before the 200 goes back.
    """
    return {
        "listen": webhook.listen,
        "port": webhook.port,
        "url_path": webhook.path,
        "webhook_url": webhook.url,
        "secret_token": webhook.secret.get_secret_value(),
        "allowed_updates": Update.ALL_TYPES,
        "drop_pending_updates": False,
    }


def run(settings: Settings) -> None:
    """Serve until Ctrl-C or SIGTERM: a webhook with WEBHOOK_URL, else long polling.

    Updates that waited while we were down count, either way. A database that cannot be
    used, at start or later (see bot.watch), is a StorageError saying why.
    """
    application = build_application(settings, stop_grace=STOP_GRACE_SECONDS)
    try:
        asyncio.run(_serve(application, settings.webhook()))
    except Exception as error:
        # Opened, but failing before the first poll (locked by then, say): the same one line.
        if not is_storage_fault(error):
            raise
        raise unusable(settings.database_path, fault_text(error)) from None
    if application.bot_data.config_error is not None:
        raise application.bot_data.config_error
    fatal = application.bot_data.fatal
    if fatal is not None:
        raise StorageError(stopped(settings.database_path, fatal))


async def _serve(application: PorchlightApp, webhook: Webhook | None) -> None:
    """Run until a stop signal or the storage watch's stop; one that comes while the bot is
    starting stops it once started (and the stop grace ends a start stuck on the database).

    Not PTB's run_polling/run_webhook: their handlers raise SystemExit wherever the loop is,
    and in the middle of starting that stopped the loop again while the bot was stopping:
    the database stayed open, and the process hung after a traceback instead of exiting.
    """
    runtime = application.bot_data

    def on_signal() -> None:
        runtime.stop_requested.set()
        runtime.exit_after(STOP_GRACE_SECONDS)

    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, on_signal)
    async with running(application, webhook=webhook):
        await runtime.stop_requested.wait()


def stopped(database: Path, reason: str) -> str:
    """The one line for a bot the storage watch stopped."""
    return f"Stopped: the database {database} {reason}."


@asynccontextmanager
async def running(
    application: PorchlightApp,
    poll_timeout: timedelta = timedelta(seconds=10),
    webhook: Webhook | None = None,
) -> AsyncIterator[PorchlightApp]:
    """Start and stop the application inside an event loop that is already running.

    The same steps, in the same order, as Application.run_polling or run_webhook (which
    own their loop): for the end-to-end tests and the demo.
    """
    await application.initialize()
    assert application.updater is not None
    try:
        if application.post_init:
            await application.post_init(application)
        if webhook is None:
            await application.updater.start_polling(
                poll_interval=0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES
            )
        else:
            await application.updater.start_webhook(**webhook_options(webhook))
        await application.start()
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
