"""The aiohttp transport: what reaches the server, and PTB's errors for what goes wrong."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from io import BytesIO

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.delivery.transport import AiohttpRequest


class Server:
    """A local server that records each request's form and can hold one answer back."""

    def __init__(self) -> None:
        self.forms: list[dict[str, object]] = []
        # Each request's Host and Proxy-Authorization: what a proxy would see.
        self.heard: list[tuple[str | None, str | None]] = []
        self.release = asyncio.Event()
        self.hold = False
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.heard.append((request.host, request.headers.get("Proxy-Authorization")))
        form = await request.post()
        self.forms.append(
            {
                name: (value.filename, value.file.read())
                if isinstance(value, web.FileField)
                else value
                for name, value in form.items()
            }
        )
        if self.hold:
            await self.release.wait()
        return web.json_response({"ok": True, "result": True})


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    found = Server()
    app = web.Application()
    app.router.add_post("/{method}", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    found.url = f"http://127.0.0.1:{port}"
    yield found
    found.release.set()
    await runner.cleanup()


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpRequest]:
    request = _transport(0.2)
    await request.initialize()
    yield request
    await request.shutdown()


def _transport(timeout: float) -> AiohttpRequest:
    return AiohttpRequest(
        connection_pool_size=4,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
        pool_timeout=timeout,
    )


def _data(**values: object) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in values.items()])


async def test_parameters_arrive_as_a_form(server: Server, transport: AiohttpRequest) -> None:
    status, body = await transport.do_request(
        f"{server.url}/sendMessage", "POST", _data(chat_id=5, text="¿Qué tal? 🌿 1+1=2 & 100%\nok")
    )
    assert status == 200 and b'"ok": true' in body
    assert server.forms == [{"chat_id": "5", "text": "¿Qué tal? 🌿 1+1=2 & 100%\nok"}]


async def test_a_file_arrives_as_multipart(server: Server, transport: AiohttpRequest) -> None:
    document = InputFile(BytesIO(b'{"alias": "Alex"}'), filename="my-data.json")
    await transport.do_request(
        f"{server.url}/sendDocument", "POST", _data(chat_id=5, document=document)
    )
    [form] = server.forms
    assert form["chat_id"] == "5"
    assert form["document"] == ("my-data.json", b'{"alias": "Alex"}')


async def test_a_late_answer_is_timed_out(server: Server, transport: AiohttpRequest) -> None:
    server.hold = True
    with pytest.raises(TimedOut):
        await transport.do_request(f"{server.url}/sendMessage", "POST", _data(chat_id=5))


async def test_a_refused_connection_is_a_network_error(transport: AiohttpRequest) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(NetworkError):
        await transport.do_request(f"http://127.0.0.1:{port}/getMe", "POST")


async def test_a_call_before_initialize_is_refused() -> None:
    transport = _transport(1.0)
    with pytest.raises(RuntimeError):
        await transport.do_request("http://127.0.0.1:9/getMe", "POST")


def _environment(monkeypatch: pytest.MonkeyPatch, proxy: str, exempt: str = "") -> None:
    """Only this proxy and these exemptions in the environment (either spelling)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("http_proxy", proxy)
    if exempt:
        monkeypatch.setenv("no_proxy", exempt)


async def test_a_proxy_named_by_the_environment_carries_the_requests(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server plays the proxy: a request for another host arrives there, with the
    # credentials of the proxy's URL as a header, and with none in the URL it is sent to.
    _environment(monkeypatch, proxy=server.url.replace("http://", "http://porch:light@"))
    transport = _transport(1.0)
    await transport.initialize()
    try:
        for _ in range(2):
            await transport.do_request("http://api.telegram.test/sendMessage", "POST", _data(x=1))
    finally:
        await transport.shutdown()
    expected = "Basic " + base64.b64encode(b"porch:light").decode()
    assert server.heard == [("api.telegram.test", expected)] * 2


async def test_a_server_the_environment_exempts_is_reached_directly(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{unused.getsockname()[1]}"
    _environment(monkeypatch, proxy=nowhere, exempt="127.0.0.1")
    transport = _transport(1.0)
    await transport.initialize()
    try:
        status, _ = await transport.do_request(f"{server.url}/getMe", "POST")
    finally:
        await transport.shutdown()
    assert status == 200
    assert server.heard == [(server.url.removeprefix("http://"), None)]
