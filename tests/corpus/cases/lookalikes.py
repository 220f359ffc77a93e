"""Correct code that looks like a mismatch: properties, __call__, decorators, base classes,
dunders written as generators, parameters annotated with protocols. Most cases here are
negatives; the few marks are the same shapes used wrongly."""

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterable, AsyncIterator

import httpx


class Session:
    def __init__(self) -> None:
        self.closed = False

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        self.closed = True


def scoped_dependency(func):
    """A project decorator that turns a generator dependency into a context manager."""
    return contextlib.asynccontextmanager(func)


def traced(func):
    """A pass-through decorator around an async generator: the result is still a generator."""

    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        async for item in func(*args, **kwargs):
            yield item

    return wrapper


@scoped_dependency
async def session_scope():
    async with Session() as session:
        yield session


@traced
async def stream_events(n: int):
    for i in range(n):
        yield {"seq": i}


class Repository:
    @property
    def session(self) -> Session:
        return Session()

    @functools.cached_property
    def shared_session(self) -> Session:
        return Session()


class SessionFactory:
    def __call__(self) -> Session:
        return Session()


class Feed:
    """`__aiter__` written as an async generator method: valid, each loop gets a fresh generator."""

    def __init__(self, items) -> None:
        self._items = list(items)

    async def __aiter__(self):
        for item in self._items:
            yield item


class TracingLock(asyncio.Lock):
    def __init__(self) -> None:
        super().__init__()
        self.acquisitions = 0

    async def acquire(self) -> bool:
        self.acquisitions += 1
        return await super().acquire()


class ServiceClient(httpx.AsyncClient):
    """A subclass of a library client, as API SDKs write."""

    def __init__(self) -> None:
        super().__init__(transport=httpx.MockTransport(lambda request: httpx.Response(204)))


async def case_decorator_made_context_manager():
    async with session_scope() as session:
        assert not session.closed
    assert session.closed


async def case_decorator_made_context_manager_iterated():
    async for session in session_scope():  # expect: APM102
        return session


async def case_pass_through_decorator_iterated():
    events = [event async for event in stream_events(2)]
    assert events == [{"seq": 0}, {"seq": 1}]


async def case_pass_through_decorator_entered():
    async with stream_events(2) as events:  # expect: APM101
        return events


async def case_property_is_a_value():
    repo = Repository()
    async with repo.session as session:
        pass
    async with repo.shared_session:
        pass
    assert session.closed


async def case_callable_instance_factory():
    make_session = SessionFactory()
    async with make_session() as session:
        pass
    assert session.closed


async def case_aiter_written_as_generator():
    items = [item async for item in Feed([1, 2])]
    assert items == [1, 2]


async def case_aiter_class_plain_for():
    for item in Feed([1, 2]):  # expect: APM104
        print(item)


async def case_lock_subclass():
    lock = TracingLock()
    async with lock:
        pass
    assert lock.acquisitions == 1


async def case_library_client_subclass():
    async with ServiceClient() as client:
        assert (await client.get("https://svc.invalid/")).status_code == 204


async def case_library_client_subclass_plain_with():
    with ServiceClient() as client:  # expect: APM103
        return client


async def consume(source: AsyncIterable[int]) -> int:
    return sum([item async for item in source])


async def numbers() -> AsyncIterator[int]:
    for n in (1, 2, 3):
        yield n


async def case_annotated_parameter():
    assert await consume(numbers()) == 6
    assert await consume(Feed([4])) == 4


async def case_bounded_semaphore_and_shield():
    semaphore = asyncio.BoundedSemaphore(2)
    async with semaphore:
        assert await asyncio.shield(asyncio.sleep(0, result=5)) == 5


async def case_await_uncalled_sleep():
    await asyncio.sleep  # expect: APM107


def case_run_until_complete_uncalled():
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(numbers)  # expect: APM110
    finally:
        loop.close()


try:
    from contextlib import aclosing
except ImportError:  # pragma: no cover - Python 3.10+
    from async_generator import aclosing


async def case_compat_import_aclosing():
    async with aclosing(numbers()) as stream:
        assert await anext(stream) == 1
