"""httpx clients over a MockTransport: real client code, no network."""

import httpx


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="line 1\nline 2\n")


def mock_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="https://api.example.invalid")


async def case_async_client_plain_with():
    with httpx.AsyncClient() as client:  # expect: APM103
        return client


async def case_sync_client_async_with():
    async with httpx.Client() as client:  # expect: APM106
        return client


async def case_async_client_get():
    async with mock_client() as client:
        response = await client.get("/items")
        response.raise_for_status()
    assert response.text.startswith("line 1")


async def case_stream_async_for():
    async with mock_client() as client:
        async for chunk in client.stream("GET", "/items"):  # expect: APM102
            print(chunk)


async def case_await_stream():
    async with mock_client() as client:
        response = await client.stream("GET", "/items")  # expect: APM107
        return response


async def case_stream_async_with():
    async with mock_client() as client:
        async with client.stream("GET", "/items") as response:
            lines = [line async for line in response.aiter_lines()]
    assert lines == ["line 1", "line 2"]


async def case_aiter_bytes_plain_for():
    async with mock_client() as client:
        async with client.stream("GET", "/items") as response:
            for chunk in response.aiter_bytes():  # expect: APM104
                print(chunk)


async def case_iter_lines_async_for():
    async with mock_client() as client:
        async with client.stream("GET", "/items") as response:
            async for line in response.iter_lines():  # expect: APM105
                print(line)


async def case_stream_aread():
    async with mock_client() as client:
        async with client.stream("GET", "/items") as response:
            body = await response.aread()
    assert body.endswith(b"\n")


def case_sync_client_stream():
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        with client.stream("GET", "https://api.example.invalid/items") as response:
            lines = list(response.iter_lines())
    assert lines == ["line 1", "line 2"]


class GitHubClient:
    """A small API wrapper that keeps one client."""

    def __init__(self) -> None:
        self._client = mock_client()

    async def __aenter__(self):
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc_info):
        await self._client.__aexit__(*exc_info)

    async def lines(self):
        async with self._client.stream("GET", "/items") as response:
            async for line in response.aiter_lines():
                yield line


async def case_wrapper_lines():
    async with GitHubClient() as api:
        lines = [line async for line in api.lines()]
    assert len(lines) == 2


async def case_wrapper_lines_entered():
    async with GitHubClient() as api:
        async with api.lines() as lines:  # expect: APM101
            return lines
