"""Synchronous standard-library objects used from async code: files, temp dirs, subprocesses,
executors, thread locks, and the async subprocess streams next to them."""

import asyncio
import concurrent.futures
import contextlib
import os
import subprocess
import sys
import tempfile
import threading


def _blocking_sum(numbers):
    return sum(numbers)


async def case_tempdir_async_with():
    async with tempfile.TemporaryDirectory() as workdir:  # expect: APM106
        return os.listdir(workdir)


async def case_tempdir_with():
    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, "data.txt")
        with open(path, "w") as handle:
            handle.write("x")
        assert os.path.exists(path)


async def case_named_tempfile_async_with():
    async with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:  # expect: APM106
        handle.write("{}")


async def case_open_async_with():
    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, "config.ini")
        with open(path, "w") as handle:
            handle.write("[main]\n")
        async with open(path) as handle:  # expect: APM106
            return handle.read()


async def case_popen_async_with():
    async with subprocess.Popen([sys.executable, "-c", "pass"]) as proc:  # expect: APM106
        proc.wait()


async def case_popen_with():
    with subprocess.Popen([sys.executable, "-c", "print(1)"], stdout=subprocess.PIPE) as proc:
        out, _ = proc.communicate()
    assert out.strip() == b"1"


async def case_chdir_async_with():
    with tempfile.TemporaryDirectory() as workdir:
        async with contextlib.chdir(workdir):  # expect: APM106
            pass


async def case_chdir_with():
    with tempfile.TemporaryDirectory() as workdir:
        with contextlib.chdir(workdir):
            assert os.path.samefile(os.getcwd(), workdir)


async def case_suppress_async_with():
    async with contextlib.suppress(FileNotFoundError):  # expect: APM106
        os.remove("/nonexistent/asyncsense-corpus")


async def case_executor_async_with():
    async with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:  # expect: APM106
        pool.submit(_blocking_sum, [1, 2])


async def case_executor_run_in_executor():
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        total = await loop.run_in_executor(pool, _blocking_sum, [1, 2])
    assert total == 3


async def case_await_executor_future():
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        total = await pool.submit(_blocking_sum, [1, 2])  # expect: APM107
    return total


async def case_wrap_executor_future():
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        total = await asyncio.wrap_future(pool.submit(_blocking_sum, [1, 2]))
    assert total == 3


async def case_to_thread():
    assert await asyncio.to_thread(_blocking_sum, [1, 2]) == 3


class MetricsRegistry:
    """Shared between worker threads and the event loop, so it uses a thread lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    async def record(self, name: str) -> None:
        async with self._lock:  # expect: APM106
            self._counts[name] = self._counts.get(name, 0) + 1

    def record_sync(self, name: str) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1


async def case_thread_lock_async_with():
    await MetricsRegistry().record("requests")


async def case_thread_lock_with():
    registry = MetricsRegistry()
    await asyncio.to_thread(registry.record_sync, "requests")


async def _spawn_cat():
    return await asyncio.create_subprocess_exec(
        "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )


async def case_subprocess_stdout_for():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "print('a'); print('b')", stdout=asyncio.subprocess.PIPE
    )
    try:
        for line in proc.stdout:  # expect: APM104
            print(line)
    finally:
        await proc.wait()


async def case_subprocess_stdout_async_for():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "print('a'); print('b')", stdout=asyncio.subprocess.PIPE
    )
    lines = [line async for line in proc.stdout]
    await proc.wait()
    assert lines == [b"a\n", b"b\n"]


async def case_subprocess_await_write():
    proc = await _spawn_cat()
    try:
        await proc.stdin.write(b"hello\n")  # expect: APM107
    finally:
        proc.kill()
        await proc.wait()


async def case_subprocess_write_drain():
    proc = await _spawn_cat()
    proc.stdin.write(b"hello\n")
    await proc.stdin.drain()
    out, _ = await proc.communicate()
    assert out == b"hello\n"


async def case_subprocess_await_kill():
    proc = await _spawn_cat()
    try:
        await proc.kill()  # expect: APM107
    finally:
        await proc.wait()


async def case_subprocess_shell_communicate():
    proc = await asyncio.create_subprocess_shell("echo hi", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert proc.returncode == 0 and out == b"hi\n"


class CacheRefresher:
    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    async def refresh(self) -> None:
        await asyncio.sleep(0)
        self.entries["config"] = "loaded"


async def build_report() -> str:
    await asyncio.sleep(0)
    return "report"


def case_thread_target_coroutine_function():
    refresher = CacheRefresher()
    thread = threading.Thread(target=refresher.refresh, daemon=True)  # expect: APM110 silent: the thread calls refresh() and drops the coroutine ("never awaited"); nothing is refreshed
    thread.start()
    thread.join()
    assert refresher.entries == {}


async def case_run_in_executor_coroutine_function():
    loop = asyncio.get_running_loop()
    report = await loop.run_in_executor(None, build_report)  # expect: APM110 silent: the executor hands back the coroutine object, never run
    assert asyncio.iscoroutine(report)
    report.close()


async def case_run_in_executor_sync_function():
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, _blocking_sum, [1, 2]) == 3
