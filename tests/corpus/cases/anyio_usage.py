"""anyio 4 on the asyncio backend: task groups, cancel scopes, locks, streams, files, paths."""

import os
import tempfile

import anyio
import anyio.to_thread


async def worker(results: list, n: int) -> None:
    await anyio.sleep(0)
    results.append(n)


async def case_task_group_plain_with():
    with anyio.create_task_group() as tg:  # expect: APM103
        tg.start_soon(worker, [], 1)


async def case_task_group_async_with():
    results: list = []
    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(worker, results, n)
    assert sorted(results) == [0, 1, 2]


async def case_start_soon_coroutine_object():
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker([], 1))  # expect: APM110


async def case_fail_after_async_with():
    async with anyio.fail_after(1):  # expect: APM106
        await anyio.sleep(0)


async def case_move_on_after_async_with():
    async with anyio.move_on_after(0.01) as scope:  # expect: APM106
        await anyio.sleep(1)
    return scope


async def case_cancel_scopes_with():
    with anyio.fail_after(1):
        await anyio.sleep(0)
    with anyio.move_on_after(0.01) as scope:
        await anyio.sleep(1)
    assert scope.cancelled_caught


class Inventory:
    def __init__(self) -> None:
        self._lock = anyio.Lock()
        self.items: list[str] = []

    async def add(self, item: str) -> None:
        with self._lock:  # expect: APM103
            self.items.append(item)

    async def add_safely(self, item: str) -> None:
        async with self._lock:
            self.items.append(item)


async def case_lock_plain_with():
    await Inventory().add("apple")


async def case_lock_async_with():
    inventory = Inventory()
    await inventory.add_safely("apple")
    assert inventory.items == ["apple"]


async def case_capacity_limiter_plain_with():
    limiter = anyio.CapacityLimiter(4)
    with limiter:  # expect: APM103
        pass


async def case_capacity_limiter_to_thread():
    limiter = anyio.CapacityLimiter(4)
    async with limiter:
        pass
    assert await anyio.to_thread.run_sync(sum, [1, 2], limiter=limiter) == 3


async def case_await_event_set():
    event = anyio.Event()
    await event.set()  # expect: APM107


async def case_event_set_wait():
    event = anyio.Event()
    event.set()
    await event.wait()


async def case_open_file_missing_await():
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("data\n")
    async with anyio.open_file(handle.name) as f:  # expect: APM108
        return await f.read()


async def case_open_file_awaited():
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("a\nb\n")
    async with await anyio.open_file(handle.name) as f:
        lines = [line async for line in f]
    assert lines == ["a\n", "b\n"]


async def case_memory_stream_plain_for():
    send, receive = anyio.create_memory_object_stream[int](max_buffer_size=2)
    await send.send(1)
    send.close()
    for item in receive:  # expect: APM104
        print(item)


async def case_memory_stream_producer_consumer():
    send, receive = anyio.create_memory_object_stream[int](max_buffer_size=10)
    received: list[int] = []

    async def produce() -> None:
        async with send:
            for n in range(3):
                await send.send(n)

    async def consume() -> None:
        with receive:
            async for item in receive:
                received.append(item)

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        tg.start_soon(consume)
    assert received == [0, 1, 2]


async def case_path_iterdir_plain_for():
    with tempfile.TemporaryDirectory() as workdir:
        for entry in anyio.Path(workdir).iterdir():  # expect: APM104
            print(entry)


async def case_path_iterdir_async_for():
    with tempfile.TemporaryDirectory() as workdir:
        open(os.path.join(workdir, "a.txt"), "w").close()
        names = [entry.name async for entry in anyio.Path(workdir).iterdir()]
        assert names == ["a.txt"]
        assert await anyio.Path(workdir, "a.txt").read_text() == ""


async def _main() -> str:
    await anyio.sleep(0)
    return "done"


def case_anyio_run_function():
    assert anyio.run(_main) == "done"


def case_anyio_run_coroutine():
    return anyio.run(_main())  # expect: APM110
