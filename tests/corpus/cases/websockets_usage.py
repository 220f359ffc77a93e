"""websockets 17 (the asyncio implementation): clients and servers, over a Unix socket."""

import os
import tempfile

import websockets
from websockets.asyncio.client import unix_connect
from websockets.asyncio.server import unix_serve

URI = "ws://feed.invalid/updates"


async def echo(websocket) -> None:
    async for message in websocket:
        await websocket.send(message)


async def case_connect_plain_with():
    with websockets.connect(URI) as ws:  # expect: APM103
        await ws.send("hello")


async def case_reconnect_plain_for():
    for ws in websockets.connect(URI):  # expect: APM104
        await ws.send("hello")


async def case_serve_plain_with():
    with websockets.serve(echo, "127.0.0.1", 0) as server:  # expect: APM103
        await server.serve_forever()


async def case_unix_echo_round_trip():
    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, "ws.sock")
        async with unix_serve(echo, path):
            async with unix_connect(path) as ws:
                await ws.send("ping")
                assert await ws.recv() == "ping"


async def case_unix_client_iterates_messages():
    async def publish(websocket) -> None:
        for n in range(3):
            await websocket.send(str(n))

    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, "ws.sock")
        async with unix_serve(publish, path):
            async with unix_connect(path) as ws:
                messages = [message async for message in ws]
    assert messages == ["0", "1", "2"]


async def case_unix_recv_awaited_in_loop():
    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, "ws.sock")
        async with unix_serve(echo, path):
            ws = await unix_connect(path)
            try:
                await ws.send("a")
                assert await ws.recv() == "a"
            finally:
                await ws.close()
