from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .db import Item, get_session, init_models


@asynccontextmanager
async def lifespan(app: FastAPI):
    await init_models()
    yield


app = FastAPI(lifespan=lifespan)
SessionDep = Annotated[AsyncSession, Depends(get_session)]


@app.get("/items")
async def list_items(session: SessionDep) -> list[str]:
    return list((await session.scalars(select(Item.name).order_by(Item.id))).all())


@app.post("/upload")
async def upload(request: Request) -> dict:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"size": size}


@app.post("/upload-sync-loop")
async def upload_sync_loop(request: Request) -> dict:
    size = 0
    for chunk in request.stream():  # expect: APM104
        size += len(chunk)
    return {"size": size}


@app.post("/form")
async def form(request: Request) -> dict:
    async with request.form() as data:
        return {"fields": sorted(data.keys())}
