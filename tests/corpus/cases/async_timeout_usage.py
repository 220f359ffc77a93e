"""async-timeout 5 next to asyncio.timeout, with the version-dependent import projects use."""

import asyncio
import sys

import async_timeout

if sys.version_info >= (3, 11):
    from asyncio import timeout as compat_timeout
else:  # pragma: no cover - Python 3.12 here
    from async_timeout import timeout as compat_timeout

timeout = asyncio.timeout if sys.version_info >= (3, 11) else async_timeout.timeout


async def case_async_timeout_plain_with():
    with async_timeout.timeout(1):  # expect: APM103
        await asyncio.sleep(0)


async def case_async_timeout_at_plain_with():
    loop = asyncio.get_running_loop()
    with async_timeout.timeout_at(loop.time() + 1):  # expect: APM103
        await asyncio.sleep(0)


async def case_async_timeout_async_with():
    async with async_timeout.timeout(1) as cm:
        await asyncio.sleep(0)
    assert not cm.expired


async def case_version_guarded_import():
    async with compat_timeout(1):
        await asyncio.sleep(0)


async def case_conditional_alias():
    async with timeout(1):
        await asyncio.sleep(0)


async def case_compat_alias_plain_with():
    with compat_timeout(1):  # expect: APM103
        await asyncio.sleep(0)
