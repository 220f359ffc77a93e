"""A nightly job that reuses the request dependency outside a request."""

from sqlalchemy import func, select

from fastapi_app import db


async def count_items() -> int:
    async with db.get_session() as session:  # expect: APM101
        return (await session.execute(select(func.count(db.Item.id)))).scalar_one()


async def count_items_iterating() -> int:
    async for session in db.get_session():
        return (await session.execute(select(func.count(db.Item.id)))).scalar_one()
    raise RuntimeError("no session")
