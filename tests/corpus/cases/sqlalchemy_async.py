"""SQLAlchemy 2.x asyncio with aiosqlite, in memory."""

from sqlalchemy import ForeignKey, String, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

DATABASE_URL = "sqlite+aiosqlite:///:memory:"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Address(Base):
    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    email: Mapped[str] = mapped_column(String(100))


engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def setup() -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with SessionLocal.begin() as session:
        session.add_all([User(name="ada"), User(name="bob")])


async def get_db():
    async with SessionLocal() as session:
        yield session


async def case_engine_begin_async_with():
    await setup()
    async with engine.begin() as conn:
        result = await conn.execute(text("select count(*) from users"))
        assert result.scalar_one() == 2
    await engine.dispose()


async def case_engine_begin_plain_with():
    with engine.begin() as conn:  # expect: APM103
        conn.execute(text("select 1"))


async def case_await_engine_begin():
    conn = await engine.begin()  # expect: APM107
    return conn


async def case_engine_connect_plain_with():
    with engine.connect() as conn:  # expect: APM103
        conn.execute(text("select 1"))


async def case_engine_connect_awaited():
    conn = await engine.connect()
    try:
        assert (await conn.execute(text("select 1"))).scalar() == 1
    finally:
        await conn.close()
        await engine.dispose()


async def case_connection_stream_missing_await():
    await setup()
    async with engine.connect() as conn:
        async for row in conn.stream(select(User)):  # expect: APM108
            print(row)


async def case_connection_stream_awaited():
    await setup()
    async with engine.connect() as conn:
        result = await conn.stream(select(User.name).order_by(User.name))
        names = [row.name async for row in result]
    assert names == ["ada", "bob"]
    await engine.dispose()


async def case_connection_stream_as_context_manager():
    await setup()
    async with engine.connect() as conn:
        async with conn.stream(select(User.id)) as result:
            ids = [row.id async for row in result]
    assert len(ids) == 2
    await engine.dispose()


async def case_session_stream_scalars_missing_await():
    await setup()
    async with SessionLocal() as session:
        async for user in session.stream_scalars(select(User)):  # expect: APM108
            print(user.name)


async def case_session_stream_scalars_awaited():
    await setup()
    async with SessionLocal() as session:
        users = await session.stream_scalars(select(User).order_by(User.id))
        names = [user.name async for user in users]
    assert names == ["ada", "bob"]
    await engine.dispose()


async def case_session_stream_plain_for():
    await setup()
    async with SessionLocal() as session:
        for row in await session.stream(select(User)):  # expect: APM104
            print(row)


async def case_session_execute_async_for():
    await setup()
    async with SessionLocal() as session:
        result = await session.execute(select(User))
        async for row in result:  # expect: APM105
            print(row)


async def case_session_execute_for():
    await setup()
    async with SessionLocal() as session:
        result = await session.execute(select(User).order_by(User.id))
        names = [user.name for user in result.scalars()]
    assert names == ["ada", "bob"]
    await engine.dispose()


async def case_session_scalars_missing_await():
    await setup()
    async with SessionLocal() as session:
        for user in session.scalars(select(User)):  # expect: APM108
            print(user.name)


async def case_await_result_all():
    await setup()
    async with SessionLocal() as session:
        result = await session.execute(select(User))
        users = await result.all()  # expect: APM107
        return users


async def case_await_session_add():
    async with SessionLocal() as session:
        await session.add(User(name="eve"))  # expect: APM107


async def case_session_add_commit():
    await setup()
    async with SessionLocal() as session:
        session.add(User(name="eve"))
        await session.commit()
        user = await session.get(User, 3)
        await session.delete(user)
        await session.flush()
        await session.refresh(await session.get(User, 1))
    await engine.dispose()


async def case_uncalled_sessionmaker():
    async with SessionLocal as session:  # expect: APM109
        await session.execute(text("select 1"))


async def case_sessionmaker_plain_with():
    with SessionLocal() as session:  # expect: APM103
        session.add(User(name="eve"))


async def case_session_begin_plain_with():
    async with SessionLocal() as session:
        with session.begin():  # expect: APM103
            session.add(User(name="eve"))


async def case_session_begin_forms():
    await setup()
    async with SessionLocal() as session, session.begin():
        session.add(User(name="eve"))
    async with SessionLocal() as session:
        await session.begin()
        async with session.begin_nested():
            session.add(User(name="mallory"))
        await session.commit()
    async with AsyncSession(engine) as session:
        count = (await session.execute(text("select count(*) from users"))).scalar_one()
    assert count == 4
    await engine.dispose()


async def case_sessionmaker_with_async_class():
    LegacySession = sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    async with LegacySession() as session:
        assert (await session.execute(text("select 1"))).scalar() == 1
    await engine.dispose()


async def case_dependency_entered():
    await setup()
    async with get_db() as session:  # expect: APM101
        await session.execute(select(User))


async def case_dependency_iterated():
    await setup()
    async for session in get_db():
        users = (await session.scalars(select(User))).all()
        assert len(users) == 2
    await engine.dispose()


async def case_await_expire_all():
    async with SessionLocal() as session:
        await session.expire_all()  # expect: APM107
