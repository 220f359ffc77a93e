"""contextlib: exit stacks, aclosing, nullcontext, (async)contextmanager, manual protocol calls."""

import asyncio
import contextlib
import tempfile
from contextlib import asynccontextmanager, contextmanager


class Connection:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.closed = False

    async def close(self) -> None:
        self.closed = True


async def open_connection(dsn: str):
    conn = Connection(dsn)
    try:
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def connection_scope(dsn: str):
    conn = Connection(dsn)
    try:
        yield conn
    finally:
        await conn.close()


@contextmanager
def working_directory(path: str):
    with contextlib.chdir(path):
        yield path


async def ticker(n: int):
    for i in range(n):
        yield i
        await asyncio.sleep(0)


async def case_exit_stack_enter_async_generator():
    async with contextlib.AsyncExitStack() as stack:
        conn = await stack.enter_async_context(open_connection("sqlite://"))  # expect: APM101
        return conn


async def case_exit_stack_enter_async_cm():
    async with contextlib.AsyncExitStack() as stack:
        conns = [await stack.enter_async_context(connection_scope(dsn)) for dsn in ("a", "b")]
    assert all(conn.closed for conn in conns)


async def case_exit_stack_wrapped_generator():
    async with contextlib.AsyncExitStack() as stack:
        conn = await stack.enter_async_context(asynccontextmanager(open_connection)("sqlite://"))
    assert conn.closed


async def case_exit_stack_enter_sync_in_async():
    async with contextlib.AsyncExitStack() as stack:
        workdir = await stack.enter_async_context(tempfile.TemporaryDirectory())  # expect: APM106
        return workdir


async def case_exit_stack_enter_context():
    async with contextlib.AsyncExitStack() as stack:
        workdir = stack.enter_context(tempfile.TemporaryDirectory())
        conn = await stack.enter_async_context(connection_scope(workdir))
        stack.push_async_callback(conn.close)


def case_sync_exit_stack_enter_async_lock():
    with contextlib.ExitStack() as stack:
        stack.enter_context(asyncio.Lock())  # expect: APM103


async def case_async_exit_stack_plain_with():
    with contextlib.AsyncExitStack() as stack:  # expect: APM103
        stack.callback(print, "done")


async def case_aclosing_plain_with():
    with contextlib.aclosing(ticker(3)) as ticks:  # expect: APM103
        return ticks


async def case_aclosing_async_with():
    async with contextlib.aclosing(ticker(10)) as ticks:
        async for tick in ticks:
            if tick == 2:
                break


async def case_asynccontextmanager_plain_with():
    with connection_scope("sqlite://") as conn:  # expect: APM103
        return conn


async def case_contextmanager_async_with():
    with tempfile.TemporaryDirectory() as workdir:
        async with working_directory(workdir):  # expect: APM106
            pass


async def case_contextmanager_with():
    with tempfile.TemporaryDirectory() as workdir:
        with working_directory(workdir) as path:
            assert path == workdir


async def case_closing_async_with():
    async with contextlib.closing(Connection("sqlite://")) as conn:  # expect: APM106
        return conn


async def case_nullcontext_async_with():
    async with contextlib.nullcontext(Connection("sqlite://")) as conn:
        assert conn.dsn == "sqlite://"


async def case_anext_on_context_manager():
    conn = await anext(connection_scope("sqlite://"))  # expect: APM102
    return conn


async def case_async_for_on_context_manager():
    async for conn in connection_scope("sqlite://"):  # expect: APM102
        return conn


async def case_anext_on_generator():
    stream = open_connection("sqlite://")
    conn = await anext(stream)
    await stream.aclose()
    assert conn.closed


async def case_manual_protocol_calls():
    manager = connection_scope("sqlite://")
    conn = await manager.__aenter__()
    await manager.__aexit__(None, None, None)
    assert conn.closed
    stream = ticker(2)
    assert await stream.__anext__() == 0
    await stream.aclose()
