"""The Bot API's HTTP transport: PTB's request interface over an aiohttp session.

PTB's default transport is httpx. Measured against a local server, an httpx request
costs about 0.85 ms of CPU and an aiohttp one about 0.1 ms; every relay makes two
requests (the getUpdates that brings it and the copy that sends it) and a storm of
check-ins one each, all on the one event loop, so the transport was most of the bot's
own time per message (bench/RESULTS.md). Errors map to PTB's as its httpx transport
maps them: a timeout is TimedOut, anything else on the network is NetworkError.

A proxy named by the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), which PTB's httpx
transport and so `python -m bot check` honour, is read once per server. aiohttp's own
`trust_env` reads it again for every request, on a thread of the default executor,
together with ~/.netrc: two thread hops per message, which in a storm of check-ins
made relays wait on the event loop (bench/RESULTS.md).

Parameters without files go as a form the transport encodes itself: aiohttp's FormData,
given a dict, first builds a multipart writer (a random boundary read from the system)
only to encode it as the same form, a third of a request's own CPU time.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import SplitResult, urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.logs import redact_urls


def _proxy_from_environment(server: SplitResult) -> str | None:
    """The proxy the environment names for a server (None: go direct). Credentials in
    the proxy's URL are sent to the proxy alone, as aiohttp does with them."""
    if server.hostname is None or proxy_bypass(server.hostname):
        return None
    return getproxies().get(server.scheme) or None


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a connection pool, created in initialize()."""

    def __init__(
        self,
        *,
        connection_pool_size: int,
        read_timeout: float | None,
        write_timeout: float | None,
        connect_timeout: float | None,
        pool_timeout: float | None,
        on_success: Callable[[], None] | None = None,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}
        # Told of each 200 the Bot API answers (the heartbeat's "last successful call").
        self._on_success = on_success

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds the long-poll timeout to it for getUpdates)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (again, after a shutdown)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )
            self._proxies.clear()

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make one request; the status and the body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, self._write_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        # aiohttp has no write timeout of its own: writing counts toward the read's clock,
        # which starts once the request is sent, so the two together bound the whole call.
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=_sum(pool, connect),
            sock_connect=connect,
            sock_read=_sum(read, write),
        )
        proxy = self._proxy_for(url)
        data = _body(request_data)
        try:
            async with self._session.request(
                method,
                url,
                data=data,
                headers=_FORM_HEADERS if isinstance(data, bytes) else None,
                timeout=timeout,
                proxy=proxy,
            ) as response:
                body = await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # An invalid proxy URL is quoted whole, password and all.
            raise NetworkError(
                f"aiohttp.{type(error).__name__}: {redact_urls(str(error))}"
            ) from error
        if response.status == 200 and self._on_success is not None:
            self._on_success()
        return response.status, body

    def _proxy_for(self, url: str) -> str | None:
        """The environment's proxy for this URL's server, read at its first request."""
        parts = urlsplit(url)
        server = (parts.scheme, parts.netloc)
        if server not in self._proxies:
            self._proxies[server] = _proxy_from_environment(parts)
        return self._proxies[server]


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """A timeout passed for one call, or this transport's own."""
    return default if value is BaseRequest.DEFAULT_NONE else value  # type: ignore[return-value]


def _sum(first: float | None, second: float | None) -> float | None:
    """Two timeouts in a row; None (no limit) if either has none."""
    if first is None or second is None:
        return None
    return first + second


_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def _body(request_data: RequestData | None) -> aiohttp.FormData | bytes | None:
    """The parameters as a form, multipart when there are files (as PTB's httpx sends them)."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    files = request_data.multipart_data
    if not files:
        return urlencode(fields).encode()
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
