from contextlib import asynccontextmanager


class OrderSession:
    def __init__(self) -> None:
        self.orders: list[dict] = []
        self.closed = False


async def order_session():
    session = OrderSession()
    try:
        yield session
    finally:
        session.closed = True


@asynccontextmanager
async def transaction():
    session = OrderSession()
    yield session


def iter_orders():
    yield {"id": 1}
    yield {"id": 2}


class Database:
    def __init__(self, factory=order_session) -> None:
        self._factory = factory

    def session(self):
        return self._factory()


class Container:
    def __init__(self) -> None:
        self.db = Database()


get_db = order_session
