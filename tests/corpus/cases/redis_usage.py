"""redis.asyncio: pipelines, locks, pub/sub and scans (no command reaches a server)."""

import redis.asyncio as redis

REDIS_URL = "redis://localhost:6379/0"


def make_client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.1)


async def case_pipeline_plain_with():
    client = make_client()
    with client.pipeline(transaction=True) as pipe:  # expect: APM103
        pipe.incr("hits")


async def case_pipeline_async_with_queues_commands():
    client = make_client()
    async with client.pipeline(transaction=True) as pipe:
        pipe.set("user:1", "ada").expire("user:1", 60)
        pipe.incr("hits")
        assert len(pipe) == 3
    await client.aclose()


async def case_pipeline_awaited():
    client = make_client()
    pipe = await client.pipeline()
    await pipe.set("user:1", "ada")
    assert len(pipe) == 1
    await pipe.reset()
    await client.aclose()


async def case_lock_plain_with():
    client = make_client()
    with client.lock("reports", timeout=5):  # expect: APM103
        pass


async def case_pubsub_plain_with():
    client = make_client()
    with client.pubsub() as pubsub:  # expect: APM103
        return pubsub


async def case_pubsub_listen_plain_for():
    client = make_client()
    async with client.pubsub() as pubsub:
        for message in pubsub.listen():  # expect: APM104
            print(message)


async def case_pubsub_listen_not_subscribed():
    client = make_client()
    async with client.pubsub() as pubsub:
        messages = [message async for message in pubsub.listen()]
    assert messages == []
    await client.aclose()


async def case_scan_iter_plain_for():
    client = make_client()
    for key in client.scan_iter(match="session:*"):  # expect: APM104
        print(key)


async def case_await_scan_iter():
    client = make_client()
    keys = await client.scan_iter(match="session:*")  # expect: APM107
    return keys


async def case_client_plain_with():
    with redis.from_url(REDIS_URL) as client:  # expect: APM103
        return client


async def case_client_async_with():
    async with redis.from_url(REDIS_URL) as client:
        assert client.connection_pool is not None
