"""Project code: async generators (the core bug), sync generators, and their consumers."""

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


class Session:
    def __init__(self, url: str = "sqlite://") -> None:
        self.url = url
        self.committed = False
        self.closed = False

    async def commit(self) -> None:
        self.committed = True

    async def close(self) -> None:
        self.closed = True


async def get_session():
    """A FastAPI-style dependency: set up, yield, commit, clean up."""
    session = Session()
    try:
        yield session
        await session.commit()
    finally:
        await session.close()


async def fetch_pages(count: int):
    for page in range(count):
        yield [page * 10 + i for i in range(3)]


async def iter_chunks(text: str):
    for char in text:
        yield char


def numbers(limit: int):
    yield from range(limit)


def load_ids() -> Iterator[int]:
    return iter([3, 1, 2])


class Paginator:
    """A sync iterator class, as SDKs return for paged listings."""

    def __init__(self, pages):
        self._pages = list(pages)

    def __iter__(self):
        return iter(self._pages)


async def case_async_with_on_async_generator():
    async with get_session() as session:  # expect: APM101
        session.url = "postgresql://"


async def case_async_for_on_async_generator():
    async for session in get_session():
        assert not session.closed


async def case_asynccontextmanager_wrapper():
    async with contextlib.asynccontextmanager(get_session)() as session:
        pass
    assert session.committed and session.closed


class UserService:
    """The README's example: the factory travels through an attribute."""

    def __init__(self) -> None:
        self.db_session_factory = get_session

    async def get_user(self, user_id: int):
        async with self.db_session_factory() as session:  # expect: APM101
            return {"id": user_id, "db": session.url}


async def case_factory_in_attribute():
    return await UserService().get_user(1)


async def case_partial_factory():
    factory = functools.partial(fetch_pages, 2)
    async with factory() as pages:  # expect: APM101
        return pages


FACTORIES = {"default": get_session}


async def case_factory_table():
    async with FACTORIES["default"]() as session:  # expect: APM101
        return session


@dataclass
class Dependencies:
    session_factory: object = get_session


async def case_dataclass_field_factory():
    deps = Dependencies()
    async with deps.session_factory() as session:  # expect: APM101
        return session


async def case_await_async_generator():
    first_page = await fetch_pages(1)  # expect: APM107
    return first_page


async def case_anext_async_generator():
    pages = fetch_pages(2)
    assert await anext(pages) == [0, 1, 2]
    await pages.aclose()


async def case_for_on_async_generator():
    for page in fetch_pages(2):  # expect: APM104
        print(page)


async def case_list_comprehension_on_async_generator():
    pages = [page for page in fetch_pages(2)]  # expect: APM104
    return pages


async def case_async_comprehension():
    pages = [page async for page in fetch_pages(2)]
    assert len(pages) == 2


async def case_sum_of_generator_expression():
    total = sum(len(page) for page in fetch_pages(2))  # expect: APM104
    return total


async def case_list_of_async_generator_expression():
    pages = list(page async for page in fetch_pages(2))  # expect: APM104
    return pages


async def case_join_async_generator_expression():
    text = "".join(char async for char in iter_chunks("abc"))  # expect: APM104
    return text


async def case_sorted_async_generator():
    return sorted(fetch_pages(2))  # expect: APM104


async def case_sorted_async_comprehension():
    assert len(sorted([page async for page in fetch_pages(2)])) == 2


async def case_any_over_awaited_generator_expression():
    checks = [asyncio.sleep(0, True)]
    return any(await check for check in checks)  # expect: APM104


async def case_any_over_awaited_list_comprehension():
    assert any([await check for check in [asyncio.sleep(0, True)]])


async def case_join_async_comprehension():
    text = "".join([char async for char in iter_chunks("abc")])
    assert text == "abc"


async def case_async_for_on_sync_generator():
    async for n in numbers(3):  # expect: APM105
        print(n)


async def case_async_for_on_annotated_iterator():
    async for user_id in load_ids():  # expect: APM105
        print(user_id)


async def case_async_for_on_iterable_class():
    async for page in Paginator([[1], [2]]):  # expect: APM105
        print(page)


async def case_for_on_sync_generator():
    assert sum(numbers(4)) == 6
    assert sorted(load_ids()) == [1, 2, 3]


def case_sync_script_iterates_async_generator():
    for page in fetch_pages(1):  # expect: APM104
        print(page)


def case_sync_list_of_async_generator():
    return list(fetch_pages(1))  # expect: APM104


async def case_expected_failure_in_test():
    with pytest.raises(TypeError):
        async with get_session():
            pass


async def case_try_async_with_then_fallback():
    async def enter(resource):
        try:
            async with resource as value:
                return value
        except TypeError:
            with resource as value:
                return value

    assert await enter(contextlib.nullcontext(1)) == 1
    assert await enter(open(__file__)) is not None


async def enter_any(manager):
    if hasattr(manager, "__aenter__"):
        async with manager as value:
            return value
    with manager as value:
        return value


async def case_hasattr_narrowing():
    assert await enter_any(contextlib.suppress(KeyError)) is None
    assert (await enter_any(contextlib.asynccontextmanager(get_session)())).url == "sqlite://"


async def case_isinstance_narrowing():
    for manager in (contextlib.suppress(KeyError), contextlib.asynccontextmanager(get_session)()):
        if isinstance(manager, contextlib.AbstractAsyncContextManager):
            async with manager:
                pass
        else:
            with manager:
                pass


async def case_inspect_narrowing():
    for factory in (get_session, contextlib.asynccontextmanager(get_session)):
        if inspect.isasyncgenfunction(factory):
            async for session in factory():
                assert session.url
        else:
            async with factory() as session:
                assert session.url
