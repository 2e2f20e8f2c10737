"""The webhook's HTTP endpoint: the secret and the size first, then the update.

PTB's webhook server reads a request's whole body (tornado allows 100 MiB) before its
handler looks at the secret, compares the secret with `!=`, and answers 400 to an update
PTB cannot parse, which Telegram then sends again and again while the client's words
never arrive. `UpdateHandler` stands in for PTB's handler:

- the secret header is compared in constant time (`hmac.compare_digest`) before anything
  else, and a request without it is answered 403 before its body is read;
- a body over MAX_BODY_BYTES is refused with 413: by its Content-Length before any of it
  is read, or, sent in chunks, as soon as what arrived passes the limit; the connection
  is then closed, so the rest is never read (Telegram's updates are a few KiB);
- the update is read as long polling reads each of a batch's (bot.handlers.polling):
  a new message PTB cannot parse is reduced to the ids that copy it and relayed, anything
  else it cannot parse is handed on empty (no handler matches it) and answered 200, which
  confirms it to Telegram.

`WebhookUpdater` is PTB's Updater with this handler in its server: PTB's `start_webhook`
(the running state, the lock, the ready signal) and `stop` (closing the server) are used
as they are; only `_start_webhook`, the step that builds the server, is ours. It sets the
webhook once, as PTB does with its default `bootstrap_retries=0`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Sequence
from http import HTTPStatus
from pathlib import Path
from socket import socket
from types import TracebackType

import tornado.web
from telegram import Bot
from telegram.ext import ExtBot, Updater
from telegram.ext._utils.webhookhandler import WebhookAppClass, WebhookServer

from bot.handlers.polling import read_updates
from bot.logs import EventLog

log = EventLog(__name__)

# Telegram's updates are a few KiB; a message's text is at most 4,096 characters.
MAX_BODY_BYTES = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """One POST from Telegram: checked, read within the limit, and queued."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot: Bot, update_queue: asyncio.Queue[object], secret: str) -> None:
        """Tornado's per-request set-up."""
        self._bot = bot
        self._queue = update_queue
        self._secret = secret.encode("utf-8")
        self._body = bytearray()

    def prepare(self) -> None:
        """Headers only, before any of the body is read: the secret, the type, the size."""
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, self._secret):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        if self.request.headers.get("Content-Type") != "application/json":
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        length = self.request.headers.get("Content-Length")
        if length is not None and not (length.isdigit() and int(length) <= MAX_BODY_BYTES):
            raise tornado.web.HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)

    def data_received(self, chunk: bytes) -> None:
        """A piece of the body: kept while the whole stays within the limit."""
        if self._finished:
            return
        if len(self._body) + len(chunk) > MAX_BODY_BYTES:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)  # and the connection closes
            return
        self._body += chunk

    async def post(self) -> None:
        """Read the update (reduced if PTB cannot parse it) and queue it; 200 once queued."""
        if self._finished:
            return  # refused while its body arrived
        try:
            element = json.loads(self._body)
        except ValueError:
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from None
        updates, _ = read_updates([element], self._bot)
        if not updates:
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST)  # no update_id: not an update
        [update] = updates
        if isinstance(self._bot, ExtBot):
            self._bot.insert_callback_data(update)
        # The InboxQueue stores a message's ids here: an error answers 500, and Telegram
        # sends the update again.
        await self._queue.put(update)
        self.set_status(HTTPStatus.OK)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """A refusal is not an error; anything else is logged by its class alone."""
        if isinstance(value, tornado.web.HTTPError):
            return
        log.error("webhook.update_failed", error=typ.__name__ if typ else None)


class _WebhookApp(WebhookAppClass):
    """PTB's tornado application (it logs no request lines), routing to UpdateHandler."""

    def __init__(self, path: str, bot: Bot, update_queue: asyncio.Queue[object], secret: str):
        shared = {"bot": bot, "update_queue": update_queue, "secret": secret}
        tornado.web.Application.__init__(self, [(rf"{path}/?", UpdateHandler, shared)])


class WebhookUpdater(Updater):
    """PTB's Updater, serving the webhook with UpdateHandler (see the module)."""

    async def _start_webhook(
        self,
        listen: str,
        port: int,
        url_path: str,
        bootstrap_retries: int,
        allowed_updates: Sequence[str] | None,
        cert: str | Path | None = None,
        key: str | Path | None = None,
        drop_pending_updates: bool | None = None,
        webhook_url: str | None = None,
        ready: asyncio.Event | None = None,
        ip_address: str | None = None,
        max_connections: int = 40,
        secret_token: str | None = None,
        unix: str | Path | socket | None = None,
    ) -> None:
        if not secret_token or not webhook_url or cert or key or unix:
            raise RuntimeError("the webhook needs its URL and secret, and takes no TLS files")
        path = url_path if url_path.startswith("/") else f"/{url_path}"
        app = _WebhookApp(path, self.bot, self.update_queue, secret_token)
        self._httpd = WebhookServer(listen, port, app, None)
        await self.bot.set_webhook(
            url=webhook_url,
            allowed_updates=allowed_updates,
            ip_address=ip_address,
            drop_pending_updates=drop_pending_updates,
            max_connections=max_connections,
            secret_token=secret_token,
        )
        await self._httpd.serve_forever(ready=ready)
