"""asyncio synchronisation primitives, queues, timeouts and task helpers (Python 3.12)."""

import asyncio
import sys


class RateLimiter:
    """Caps concurrent calls, as HTTP client wrappers do."""

    def __init__(self, limit: int) -> None:
        self._semaphore = asyncio.Semaphore(limit)

    async def run(self, job):
        with self._semaphore:  # expect: APM103
            return await job()


class Counter:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self.value = 0

    async def increment(self) -> int:
        async with self._lock:
            self.value += 1
            return self.value


async def _job() -> int:
    await asyncio.sleep(0)
    return 1


async def case_semaphore_with_plain_with():
    limiter = RateLimiter(2)
    return await limiter.run(_job)


async def case_lock_plain_with():
    lock = asyncio.Lock()
    with lock:  # expect: APM103
        pass


async def case_lock_async_with():
    counter = Counter()
    await asyncio.gather(counter.increment(), counter.increment())
    assert counter.value == 2


async def case_condition_plain_with():
    condition = asyncio.Condition()
    with condition:  # expect: APM103
        condition.notify_all()


async def case_condition_async_with():
    condition = asyncio.Condition()
    async with condition:
        condition.notify_all()


async def case_timeout_plain_with():
    with asyncio.timeout(1):  # expect: APM103
        await asyncio.sleep(0)


async def case_timeout_async_with():
    async with asyncio.timeout(1):
        await asyncio.sleep(0)


async def case_taskgroup_plain_with():
    with asyncio.TaskGroup() as tg:  # expect: APM103
        tg.create_task(_job())


async def case_taskgroup_async_with():
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(_job())
    assert task.result() == 1


async def case_await_event_set():
    stopped = asyncio.Event()
    await stopped.set()  # expect: APM107


async def case_event_set_then_wait():
    stopped = asyncio.Event()
    stopped.set()
    await stopped.wait()


async def case_await_put_nowait():
    queue: asyncio.Queue[int] = asyncio.Queue()
    await queue.put_nowait(1)  # expect: APM107


async def case_await_get_nowait():
    queue: asyncio.Queue[int] = asyncio.Queue()
    queue.put_nowait(1)
    item = await queue.get_nowait()  # expect: APM107
    return item


async def case_queue_put_get():
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
    await queue.put(1)
    item = await queue.get()
    queue.task_done()
    await queue.join()
    return item


async def case_as_completed_async_for():
    jobs = [asyncio.sleep(0, result=n) for n in range(3)]
    async for finished in asyncio.as_completed(jobs):  # expect: APM105
        await finished


async def case_as_completed_for():
    jobs = [asyncio.sleep(0, result=n) for n in range(3)]
    results = []
    for finished in asyncio.as_completed(jobs):
        results.append(await finished)
    assert sorted(results) == [0, 1, 2]


async def case_as_completed_version_branch():
    jobs = [asyncio.sleep(0, result=n) for n in range(3)]
    results = []
    if sys.version_info >= (3, 13):
        async for finished in asyncio.as_completed(jobs):
            results.append(await finished)
    else:
        for finished in asyncio.as_completed(jobs):
            results.append(await finished)
    assert len(results) == 3


async def case_await_call_soon_threadsafe():
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    await loop.call_soon_threadsafe(future.set_result, 1)  # expect: APM107


async def case_create_task_uncalled():
    task = asyncio.create_task(_job)  # expect: APM110
    await task


async def case_create_task_called():
    task = asyncio.create_task(_job())
    assert await task == 1


async def case_gather_uncalled():
    await asyncio.gather(_job, _job)  # expect: APM110


async def case_wait_for_uncalled():
    await asyncio.wait_for(_job, timeout=1)  # expect: APM110


async def case_wait_for_called():
    assert await asyncio.wait_for(_job(), timeout=1) == 1


async def _main() -> None:
    await asyncio.sleep(0)


def case_asyncio_run_uncalled():
    asyncio.run(_main)  # expect: APM110


def case_asyncio_run_called():
    asyncio.run(_main())


def case_lock_in_sync_code():
    lock = asyncio.Lock()
    with lock:  # expect: APM103
        return "locked"
