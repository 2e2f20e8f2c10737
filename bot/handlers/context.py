"""The typed context every handler receives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.domain.safety import SafetyConfigError
from bot.services.container import Services


class Runtime:
    """What the application carries between handlers (PTB's bot_data, typed)."""

    services: Services
    bot_username: str

    def __init__(self) -> None:
        # Updates whose handling failed: their inbox rows stay for the tick to retry.
        self.failed_updates: set[int] = set()
        # Why the bot stopped itself (the storage watch), for `run` to say and exit 1.
        self.fatal: str | None = None
        # Configuration found unusable after the start (the safety files, read once the
        # bot serves): `run` says it in one line and exits 2.
        self.config_error: SafetyConfigError | None = None
        # Set by a stop signal or the storage watch: `run` stops the bot (bot.app._serve).
        self.stop_requested = asyncio.Event()
        # `run` ends the process this long after a stop began, stuck or not (bot.app).
        self.exit_after: Callable[[float], None] = _no_forced_exit
        # Set once the first tick has ended (bot.scheduling): the menus wait for it (bot.app).
        self.ticked = asyncio.Event()
        # A drain of due check-ins is under way (bot.scheduling): ticks leave them to it.
        self.draining = False
        # Set as the start-up menus begin (bot.app): from then on a staff member first heard
        # from gets their own menu at once; before, the start-up's reads their language.
        self.menus_started = asyncio.Event()


def _no_forced_exit(grace: float) -> None:
    """In-process bots (tests, the demo) are never ended from inside."""


Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Runtime]
CONTEXT_TYPES = ContextTypes(bot_data=Runtime)
PorchlightApp = Application[
    ExtBot[None], Context, dict[Any, Any], dict[Any, Any], Runtime, JobQueue[Context]
]


def services(context: Context) -> Services:
    """The services of the running bot."""
    return context.bot_data.services
