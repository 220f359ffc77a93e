"""aiohttp client sessions and server-side request bodies (no request is ever sent)."""

from unittest import mock

import aiohttp
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

AIOHTTP_VERSION = tuple(int(part) for part in aiohttp.__version__.split(".")[:2])
URL = "http://service.invalid/items"


def _request_with_body(body: bytes) -> web.Request:
    protocol = mock.Mock(_reading_paused=False)
    payload = aiohttp.StreamReader(protocol, 2**16, loop=mock.Mock())
    payload.feed_data(body)
    payload.feed_eof()
    return make_mocked_request("POST", "/upload", payload=payload)


async def case_client_session_plain_with():
    with aiohttp.ClientSession() as session:  # expect: APM103
        return session


async def case_client_session_async_with():
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        assert not session.closed
    assert session.closed


async def case_client_session_closed_in_finally():
    session = aiohttp.ClientSession()
    try:
        assert session.connector is not None
    finally:
        await session.close()


async def case_await_uncalled_close():
    session = aiohttp.ClientSession()
    await session.close  # expect: APM107


async def case_request_plain_with():
    async with aiohttp.ClientSession() as session:
        with session.get(URL) as response:  # expect: APM103
            return await response.text()


async def case_websocket_plain_with():
    async with aiohttp.ClientSession() as session:
        with session.ws_connect("ws://service.invalid/feed") as ws:  # expect: APM103
            return ws


async def case_version_guarded_session():
    if AIOHTTP_VERSION >= (3, 0):
        async with aiohttp.ClientSession() as session:
            return session.closed
    else:
        with aiohttp.ClientSession() as session:
            return session.closed


async def upload_lines(request: web.Request) -> web.Response:
    count = 0
    async for _line in request.content:
        count += 1
    return web.Response(text=str(count))


async def upload_lines_sync_loop(request: web.Request) -> web.Response:
    count = 0
    for _line in request.content:  # expect: APM104
        count += 1
    return web.Response(text=str(count))


async def upload_chunks(request: web.Request) -> web.Response:
    size = 0
    for chunk in request.content.iter_chunked(4):  # expect: APM104
        size += len(chunk)
    return web.Response(text=str(size))


async def case_handler_async_for_body():
    response = await upload_lines(_request_with_body(b"a\nb\n"))
    assert response.text == "2"


async def case_handler_for_over_body():
    await upload_lines_sync_loop(_request_with_body(b"a\nb\n"))


async def case_handler_for_over_chunks():
    await upload_chunks(_request_with_body(b"abcdefgh"))


async def case_handler_reads_chunks():
    request = _request_with_body(b"abcdefgh")
    chunks = [chunk async for chunk in request.content.iter_chunked(4)]
    assert chunks == [b"abcd", b"efgh"]
