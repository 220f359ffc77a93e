"""aiofiles: files, temporary files and aiofiles.os, with an optional-import fallback."""

import os
import tempfile

import aiofiles
import aiofiles.os
import aiofiles.tempfile

try:
    from aiofiles import open as open_async
except ImportError:  # pragma: no cover - aiofiles is installed
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def open_async(path, mode="r"):
        with open(path, mode) as handle:
            yield handle


def _sample_file() -> str:
    handle, path = tempfile.mkstemp(suffix=".txt")
    os.write(handle, b"alpha\nbeta\n")
    os.close(handle)
    return path


async def case_open_plain_with():
    with aiofiles.open(_sample_file()) as handle:  # expect: APM103
        return handle


async def case_open_async_with():
    async with aiofiles.open(_sample_file()) as handle:
        lines = [line async for line in handle]
    assert lines == ["alpha\n", "beta\n"]


async def case_file_plain_for():
    async with aiofiles.open(_sample_file()) as handle:
        for line in handle:  # expect: APM104
            print(line)


async def case_open_awaited():
    handle = await aiofiles.open(_sample_file(), mode="r")
    try:
        assert await handle.readline() == "alpha\n"
        assert await handle.readlines() == ["beta\n"]
    finally:
        await handle.close()


async def case_tempdir_plain_with():
    with aiofiles.tempfile.TemporaryDirectory() as workdir:  # expect: APM103
        return workdir


async def case_tempdir_async_with():
    async with aiofiles.tempfile.TemporaryDirectory() as workdir:
        async with aiofiles.open(os.path.join(workdir, "out.txt"), "w") as handle:
            await handle.write("x")
        assert await aiofiles.os.listdir(workdir) == ["out.txt"]


async def case_listdir_missing_await():
    async with aiofiles.tempfile.TemporaryDirectory() as workdir:
        for name in aiofiles.os.listdir(workdir):  # expect: APM108
            print(name)


async def case_named_tempfile_async_with():
    async with aiofiles.tempfile.NamedTemporaryFile("w+") as handle:
        await handle.write("data")
        await handle.seek(0)
        assert await handle.read() == "data"


async def case_optional_import_fallback():
    async with open_async(_sample_file()) as handle:
        assert "alpha" in await handle.read()
