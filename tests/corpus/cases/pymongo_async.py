"""PyMongo's asyncio client (the successor of Motor); `connect=False`, so nothing connects."""

from pymongo import AsyncMongoClient

MONGO_URL = "mongodb://localhost:27017"


def make_client() -> AsyncMongoClient:
    return AsyncMongoClient(MONGO_URL, connect=False, serverSelectionTimeoutMS=100)


async def case_client_plain_with():
    with make_client() as client:  # expect: APM103
        return client


async def case_client_async_with():
    async with make_client() as client:
        orders = client.shop.orders
        cursor = orders.find({"status": "open"}).sort("created", -1).limit(10)
        assert cursor is not None


async def case_find_awaited():
    async with make_client() as client:
        docs = await client.shop.orders.find({"status": "open"})  # expect: APM107
        return docs


async def case_find_plain_for():
    async with make_client() as client:
        seen = []
        for doc in client.shop.orders.find({}):  # expect: APM104 silent: AsyncCursor.__getitem__ raises IndexError, so the loop ends at once
            seen.append(doc)
    assert seen == []  # whatever the collection holds


async def case_aggregate_missing_await():
    async with make_client() as client:
        pipeline = [{"$match": {"status": "open"}}, {"$group": {"_id": "$customer", "n": {"$sum": 1}}}]
        async for row in client.shop.orders.aggregate(pipeline):  # expect: APM108
            print(row)


async def case_watch_missing_await():
    async with make_client() as client:
        async with client.shop.orders.watch() as stream:  # expect: APM108
            return stream


async def case_start_session_plain_with():
    async with make_client() as client:
        with client.start_session() as session:  # expect: APM103
            return session
