import shop
import shop.db as database
from shop import order_session
from shop.db import Container, get_db
from shop.settings import settings


async def case_reexported_generator_entered():
    async with order_session() as session:  # expect: APM101
        session.orders.append({"id": 1})


async def case_package_attribute_generator_entered():
    async with shop.order_session() as session:  # expect: APM101
        return session


async def case_module_alias_plain_with():
    with database.transaction() as session:  # expect: APM103
        return session


async def case_module_alias_async_with():
    async with database.transaction() as session:
        assert session.orders == []


async def case_reexported_sync_generator_async_for():
    async for order in shop.iter_orders():  # expect: APM105
        print(order)


async def case_staticmethod_factory_entered():
    async with settings.session_factory() as session:  # expect: APM101
        return session


async def case_staticmethod_transaction():
    async with settings.transaction_factory() as session:
        assert not session.closed


async def case_alias_through_attribute_chain():
    container = Container()
    async with container.db.session() as session:  # expect: APM101
        return session


async def case_module_level_alias():
    async with get_db() as session:  # expect: APM101
        return session


async def case_alias_iterated():
    async for session in get_db():
        assert not session.closed
    orders = [order for order in shop.iter_orders()]
    assert len(orders) == 2
