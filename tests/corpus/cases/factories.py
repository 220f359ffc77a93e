"""Project code: client classes, `Self` factories, values with several sources, uncalled factories."""

import asyncio
import contextlib
import threading
from contextlib import asynccontextmanager
from typing import Optional, Self


class ApiClient:
    """An SDK-style client: an async context manager with classmethod constructors."""

    def __init__(self, base_url: str = "https://api.example.invalid") -> None:
        self.base_url = base_url
        self.open = False

    @classmethod
    def from_env(cls) -> Self:
        return cls()

    @classmethod
    async def connect(cls, base_url: str = "https://api.example.invalid") -> Self:
        client = cls(base_url)
        client.open = True
        return client

    async def __aenter__(self) -> Self:
        self.open = True
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.open = False


class ReplicaClient(ApiClient):
    pass


class Pool:
    """A connection pool that is an async context manager (like asyncpg's)."""

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        return None


async def connect_pool(dsn: str) -> Pool:
    await asyncio.sleep(0)
    return Pool()


async def open_pool(dsn):
    await asyncio.sleep(0)
    return Pool()


@asynccontextmanager
async def get_client():
    client = ApiClient()
    yield client


async def stream_rows():
    yield {"id": 1}


async def case_self_factory_plain_with():
    with ApiClient.from_env() as client:  # expect: APM103
        return client


async def case_self_factory_async_with():
    async with ApiClient.from_env() as client:
        assert client.open


async def case_async_classmethod_missing_await():
    async with ApiClient.connect() as client:  # expect: APM108
        return client


async def case_async_classmethod_awaited():
    async with await ApiClient.connect() as client:
        assert client.open


async def case_annotated_coroutine_missing_await():
    async with connect_pool("postgresql://") as pool:  # expect: APM108
        return pool


async def case_unannotated_coroutine_missing_await():
    async with open_pool("postgresql://") as pool:  # expect: APM108
        return pool


async def case_coroutine_awaited_then_entered():
    pool = await open_pool("postgresql://")
    async with pool:
        pass


async def case_conditional_clients_plain_with(use_replica: bool = True):
    client = ReplicaClient() if use_replica else ApiClient()
    with client:  # expect: APM103
        pass


async def case_conditional_clients_async_with(use_replica: bool = True):
    client = ReplicaClient() if use_replica else ApiClient()
    async with client:
        assert client.open


async def case_mixed_locks_async_with(use_threads: bool = True):
    lock = threading.Lock() if use_threads else asyncio.Lock()
    async with lock:  # expect: APM106
        pass


class Cache:
    _lock = None

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._data: dict[str, str] = {}

    async def get(self, key: str) -> Optional[str]:
        with self._lock:  # expect: APM103
            return self._data.get(key)


async def case_placeholder_attribute():
    return await Cache().get("k")


class Store:
    def __init__(self, lock: Optional[asyncio.Lock] = None) -> None:
        self._lock = lock

    async def put(self, value: str) -> str:
        async with self._lock or contextlib.nullcontext():
            return value

    async def put_locked(self, value: str) -> str:
        with self._lock or contextlib.nullcontext():  # expect: APM103
            return value


async def case_optional_lock_or_nullcontext():
    assert await Store().put("a") == "a"
    assert await Store(asyncio.Lock()).put("b") == "b"


async def case_optional_lock_plain_with():
    return await Store(asyncio.Lock()).put_locked("c")


async def case_optional_checked_for_none():
    lock: Optional[asyncio.Lock] = None
    for candidate in (None, asyncio.Lock()):
        lock = candidate
        if lock is not None:
            async with lock:
                pass


async def case_uncalled_asynccontextmanager():
    async with get_client as client:  # expect: APM109
        return client


async def case_uncalled_client_class():
    async with ApiClient as client:  # expect: APM109
        return client


async def case_uncalled_async_generator():
    async for row in stream_rows:  # expect: APM109
        print(row)


async def case_called_factories():
    async with get_client() as client:
        assert isinstance(client, ApiClient)
    rows = [row async for row in stream_rows()]
    assert rows == [{"id": 1}]


class Worker:
    """Constructor injection: the factory comes from the caller."""

    def __init__(self, rows_factory) -> None:
        self.rows_factory = rows_factory

    async def run(self):
        async with self.rows_factory() as rows:  # expect: APM101
            return rows


async def case_injected_factory():
    return await Worker(stream_rows).run()


DRIVER = None


def configure(driver) -> None:
    global DRIVER
    DRIVER = driver


async def query_with_driver():
    async with DRIVER() as rows:  # expect: APM101
        return rows


async def case_module_global_driver():
    configure(stream_rows)
    return await query_with_driver()


async def first_row(open_rows, retries=0):
    """A helper handed the factory by its callers: its parameter holds what every call passes."""
    async with open_rows() as rows:  # expect: APM101
        return rows


async def case_helper_parameter():
    return await first_row(stream_rows, retries=1)


async def first_client(open_client):
    async with open_client() as client:
        return client


async def case_helper_parameter_context_manager():
    # Every call passes a context-manager factory: nothing to report.
    assert isinstance(await first_client(get_client), ApiClient)
    assert isinstance(await first_client(open_client=ApiClient), ApiClient)
