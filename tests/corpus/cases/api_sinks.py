"""Callables and objects handed to APIs that use them with another protocol (APM110), Python 3.12.

Each API here takes a function or an awaitable: a worker thread, a timer, a signal handler, a
finaliser or an exit hook calls a function and drops what it returns; asyncio's schedulers need
an awaitable; anyio's task group calls an async function itself.
"""

import asyncio
import atexit
import concurrent.futures
import functools
import gc
import os
import signal
import threading
import weakref

import anyio
from contextlib import asynccontextmanager
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient


class Mailer:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def flush(self) -> None:
        await asyncio.sleep(0)
        self.sent.append("flushed")

    def flush_now(self) -> None:
        self.sent.append("flushed")


async def send_digest(mailer: Mailer, to: str) -> str:
    await asyncio.sleep(0)
    mailer.sent.append(to)
    return to


def send_digest_now(mailer: Mailer, to: str) -> str:
    mailer.sent.append(to)
    return to


async def stream_rows():
    yield 1
    yield 2


# --- sync callers handed a coroutine function ---


async def case_to_thread_coroutine_function():
    mailer = Mailer()
    result = await asyncio.to_thread(send_digest, mailer, "ops@example.com")  # expect: APM110 silent: the thread calls send_digest() and hands back its coroutine, never run
    assert asyncio.iscoroutine(result) and mailer.sent == []
    result.close()


async def case_to_thread_sync_function():
    mailer = Mailer()
    assert await asyncio.to_thread(send_digest_now, mailer, "ops@example.com") == "ops@example.com"


def case_executor_submit_coroutine_function():
    mailer = Mailer()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(send_digest, mailer, "a@example.com")  # expect: APM110 silent: the worker returns the coroutine object; nothing is sent
        coroutine = future.result()
    assert asyncio.iscoroutine(coroutine) and mailer.sent == []
    coroutine.close()


def case_executor_submit_sync_function():
    mailer = Mailer()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(send_digest_now, mailer, "a@example.com").result() == "a@example.com"


def case_executor_map_coroutine_function():
    mailer = Mailer()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        results = list(pool.map(functools.partial(send_digest, mailer), ["a", "b"]))  # expect: APM110 silent: each call makes a coroutine the pool hands back unrun
    assert all(asyncio.iscoroutine(result) for result in results) and mailer.sent == []
    for result in results:
        result.close()


def case_executor_map_sync_function():
    mailer = Mailer()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        assert list(pool.map(functools.partial(send_digest_now, mailer), ["a", "b"])) == ["a", "b"]


def case_timer_coroutine_function():
    mailer = Mailer()
    timer = threading.Timer(0.01, mailer.flush)  # expect: APM110 silent: the timer thread calls flush() and drops the coroutine; nothing is flushed
    timer.start()
    timer.join()
    assert mailer.sent == []


def case_timer_sync_function():
    mailer = Mailer()
    timer = threading.Timer(0.01, mailer.flush_now)
    timer.start()
    timer.join()
    assert mailer.sent == ["flushed"]


def case_thread_target_async_generator_function():
    thread = threading.Thread(target=stream_rows)  # expect: APM110 silent: the thread makes an async generator nobody iterates
    thread.start()
    thread.join()


async def case_call_soon_coroutine_function():
    loop = asyncio.get_running_loop()
    mailer = Mailer()
    loop.call_soon(mailer.flush)  # expect: APM110 silent: the loop calls flush() as a callback and drops the coroutine (only debug mode raises TypeError)
    await asyncio.sleep(0.01)
    assert mailer.sent == []


async def case_call_later_coroutine_function():
    loop = asyncio.get_running_loop()
    mailer = Mailer()
    loop.call_later(0.001, mailer.flush)  # expect: APM110 silent: the callback's coroutine is dropped; nothing is flushed
    await asyncio.sleep(0.05)
    assert mailer.sent == []


async def case_add_signal_handler_coroutine_function():
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR2, Mailer().flush)  # expect: APM110


async def case_add_signal_handler_sync_function():
    loop = asyncio.get_running_loop()
    mailer = Mailer()
    loop.add_signal_handler(signal.SIGUSR2, mailer.flush_now)
    try:
        os.kill(os.getpid(), signal.SIGUSR2)
        await asyncio.sleep(0.05)
    finally:
        loop.remove_signal_handler(signal.SIGUSR2)
    assert mailer.sent == ["flushed"]


async def case_call_soon_sync_function():
    loop = asyncio.get_running_loop()
    mailer = Mailer()
    loop.call_soon(mailer.flush_now)
    await asyncio.sleep(0)
    assert mailer.sent == ["flushed"]


def case_signal_handler_coroutine_function():
    mailer = Mailer()

    async def on_usr1(signum, frame):
        mailer.sent.append("reloaded")

    previous = signal.signal(signal.SIGUSR1, on_usr1)  # expect: APM110 silent: the handler call makes a coroutine that is dropped; nothing reloads
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert mailer.sent == []


def case_signal_handler_sync_function():
    mailer = Mailer()

    def on_usr1(signum, frame):
        mailer.sent.append("reloaded")

    previous = signal.signal(signal.SIGUSR1, on_usr1)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert mailer.sent == ["reloaded"]


class Connection:
    pass


def case_finalize_coroutine_function():
    mailer = Mailer()
    connection = Connection()
    weakref.finalize(connection, mailer.flush)  # expect: APM110 silent: the finaliser calls flush() and drops the coroutine
    del connection
    gc.collect()
    assert mailer.sent == []


def case_atexit_coroutine_function():
    mailer = Mailer()
    atexit.register(mailer.flush)  # expect: APM110 silent: at exit the hook makes a coroutine nobody awaits
    atexit._run_exitfuncs()
    assert mailer.sent == []


def case_atexit_sync_function():
    mailer = Mailer()
    atexit.register(mailer.flush_now)
    atexit._run_exitfuncs()
    assert mailer.sent == ["flushed"]


# --- async callers handed a coroutine function or an async generator ---


async def case_ensure_future_uncalled():
    mailer = Mailer()
    await asyncio.ensure_future(mailer.flush)  # expect: APM110


async def case_shield_async_generator():
    await asyncio.shield(stream_rows())  # expect: APM110


async def case_task_group_create_task_uncalled():
    mailer = Mailer()
    async with asyncio.TaskGroup() as group:
        group.create_task(mailer.flush)  # expect: APM110


async def case_task_group_create_task_called():
    mailer = Mailer()
    async with asyncio.TaskGroup() as group:
        group.create_task(mailer.flush())
    assert mailer.sent == ["flushed"]


async def case_gather_called_and_partial():
    mailer = Mailer()
    await asyncio.gather(mailer.flush(), functools.partial(send_digest, mailer, "x")())
    assert mailer.sent == ["flushed", "x"]


def case_run_coroutine_threadsafe_uncalled():
    loop = asyncio.new_event_loop()
    try:
        asyncio.run_coroutine_threadsafe(Mailer().flush, loop)  # expect: APM110
    finally:
        loop.close()


# --- a partial or a lambda is of the kind of the function it calls ---


async def case_to_thread_partial_of_coroutine_function():
    mailer = Mailer()
    result = await asyncio.to_thread(functools.partial(send_digest, mailer, to="ops@example.com"))  # expect: APM110 silent: the thread calls the partial, which makes send_digest's coroutine, never run
    assert asyncio.iscoroutine(result) and mailer.sent == []
    result.close()


def case_thread_target_lambda_calling_coroutine_function():
    mailer = Mailer()
    thread = threading.Thread(target=lambda: send_digest(mailer, "ops@example.com"))  # expect: APM110 silent: the thread makes the coroutine and drops it; nothing is sent
    thread.start()
    thread.join()
    assert mailer.sent == []


def case_thread_target_lambda_running_coroutine():
    mailer = Mailer()
    thread = threading.Thread(target=lambda: asyncio.run(send_digest(mailer, "ops@example.com")))
    thread.start()
    thread.join()
    assert mailer.sent == ["ops@example.com"]


async def case_to_thread_partial_of_sync_function():
    mailer = Mailer()
    assert await asyncio.to_thread(functools.partial(send_digest_now, mailer, to="x")) == "x"


def case_asyncio_run_partial_not_called():
    mailer = Mailer()
    asyncio.run(functools.partial(send_digest, mailer, "x"))  # expect: APM110


async def case_task_group_start_soon_partial():
    mailer = Mailer()
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(send_digest, mailer, to="ops@example.com"))
    assert mailer.sent == ["ops@example.com"]


# --- anyio: an async function wanted, a coroutine object given ---


async def case_task_group_start_soon_coroutine_with_arguments():
    mailer = Mailer()
    async with anyio.create_task_group() as tg:
        tg.start_soon(send_digest(mailer, "ops@example.com"))  # expect: APM110


async def case_task_group_start_soon_function_and_arguments():
    mailer = Mailer()
    async with anyio.create_task_group() as tg:
        tg.start_soon(send_digest, mailer, "ops@example.com")
    assert mailer.sent == ["ops@example.com"]


async def case_anyio_to_thread_coroutine_function():
    mailer = Mailer()
    result = await anyio.to_thread.run_sync(send_digest, mailer, "x")  # expect: APM110 silent: the worker thread hands back the coroutine, never run
    assert asyncio.iscoroutine(result) and mailer.sent == []
    result.close()


def case_anyio_to_thread_sync_function():
    mailer = Mailer()

    async def main():
        return await anyio.to_thread.run_sync(send_digest_now, mailer, "x")

    assert anyio.run(main) == "x"


# --- FastAPI: a dependency that is a context-manager factory ---


@asynccontextmanager
async def open_account_session():
    yield {"user": "ada"}


async def account_session():
    async with open_account_session() as session:
        yield session


def case_depends_on_async_context_manager_factory():
    app = FastAPI()

    @app.get("/me")
    async def me(session=Depends(open_account_session)):  # expect: APM110 silent: FastAPI 0.165 fails every request to /me with TypeError (the server answers 500)
        return session

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/me").status_code == 500


def case_depends_on_generator_dependency():
    app = FastAPI()

    @app.get("/me")
    async def me(session=Depends(account_session)):
        return session

    with TestClient(app) as client:
        assert client.get("/me").json() == {"user": "ada"}


async def case_context_manager_factory_entered():
    async with open_account_session() as session:
        assert session == {"user": "ada"}


async def _start_without_yield(app):
    app.state.ready = True


@asynccontextmanager
async def _lifespan(app):
    app.state.ready = True
    yield


def case_lifespan_coroutine_function():
    app = FastAPI(lifespan=_start_without_yield)  # expect: APM110 silent: entering the lifespan fails when the app starts (TypeError: 'coroutine' object does not support the asynchronous context manager protocol)
    try:
        with TestClient(app):
            raise AssertionError("the app started")
    except TypeError as error:
        assert "asynchronous context manager" in str(error)


def case_lifespan_context_manager_factory():
    app = FastAPI(lifespan=_lifespan)
    with TestClient(app):
        assert app.state.ready
