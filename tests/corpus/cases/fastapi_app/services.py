from sqlalchemy import select

from .db import Item, get_session


class ItemService:
    def __init__(self) -> None:
        self.db_session_factory = get_session

    async def names(self) -> list[str]:
        async with self.db_session_factory() as session:  # expect: APM101
            return list((await session.scalars(select(Item.name))).all())
