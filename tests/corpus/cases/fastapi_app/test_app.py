"""The service's tests, written the way FastAPI's documentation shows (run here as cases)."""

import httpx
from fastapi.testclient import TestClient

from .db import init_models
from .jobs import count_items, count_items_iterating
from .main import app
from .services import ItemService


def case_endpoint_with_session_dependency():
    with TestClient(app) as client:
        response = client.get("/items")
    assert response.status_code == 200 and response.json() == ["widget", "gadget"]


async def case_test_client_async_with():
    async with TestClient(app) as client:  # expect: APM106
        client.get("/items")


async def case_asgi_transport_client():
    await init_models()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/upload", content=b"abcdef")
        form = await client.post("/form", data={"b": "2", "a": "1"})
    assert response.json() == {"size": 6}
    assert form.json() == {"fields": ["a", "b"]}


def case_upload_with_sync_loop():
    with TestClient(app) as client:
        client.post("/upload-sync-loop", content=b"abcdef")


async def case_service_uses_dependency_as_context_manager():
    await init_models()
    return await ItemService().names()


async def case_job_uses_dependency_as_context_manager():
    await init_models()
    return await count_items()


async def case_job_iterates_dependency():
    await init_models()
    assert await count_items_iterating() == 2
