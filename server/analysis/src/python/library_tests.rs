//! Built-in library knowledge, end to end: each API of the table with a use that breaks its
//! protocol (a finding) and the right use (none). Libraries are not installed here: names
//! resolve to the table, as they do for the standard library or a workspace without a venv.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::line_index::LineIndex;
use crate::python::check::{check_module, CheckContext};
use crate::python::facts::Mention;
use crate::python::index_source;
use crate::rules::RuleSet;
use crate::workspace::{IndexedModule, Lookup, ModuleIndex, WorkspaceIndex};
use crate::Finding;

/// The workspace index, plus the versions a virtual environment would tell.
struct WithVersions {
    index: WorkspaceIndex,
    python: Option<(u32, u32)>,
    installed: Vec<(&'static str, Vec<u32>)>,
}

impl ModuleIndex for WithVersions {
    fn lookup(&self, module_name: &str) -> Lookup {
        self.index.lookup(module_name)
    }
    fn mentioning(&self, mention: Mention, name: &str) -> Vec<Arc<IndexedModule>> {
        self.index.mentioning(mention, name)
    }
    fn at_path(&self, path: &Path) -> Option<Arc<IndexedModule>> {
        self.index.at_path(path)
    }
    fn modules(&self) -> Vec<Arc<IndexedModule>> {
        self.index.modules()
    }
    fn python_version(&self) -> Option<(u32, u32)> {
        self.python
    }
    fn installed_version(&self, distribution: &str) -> Option<Vec<u32>> {
        self.installed.iter().find(|(name, _)| *name == distribution).map(|(_, version)| version.clone())
    }
}

/// Checks `source` as the only module of a workspace whose environment has these versions.
fn check_with(source: &str, python: Option<(u32, u32)>, installed: &[(&'static str, &[u32])]) -> Vec<Finding> {
    let root = PathBuf::from("/virtual-ws");
    let index = WorkspaceIndex::new();
    let module = Arc::new(index_source(&root.join("main.py"), source, std::slice::from_ref(&root)));
    index.insert(Arc::clone(&module));
    let index = WithVersions {
        index,
        python,
        installed: installed.iter().map(|(name, version)| (*name, version.to_vec())).collect(),
    };
    let context = CheckContext {
        index: &index,
        display_root: Some(&root),
        rules: RuleSet::default(),
        workspace_fixes: false,
        types: None,
    };
    check_module(&module, source, &context)
}

/// The findings as `line CODE`, space-separated.
fn findings_with(source: &str, python: Option<(u32, u32)>, installed: &[(&'static str, &[u32])]) -> String {
    let lines = LineIndex::new(source);
    check_with(source, python, installed)
        .iter()
        .map(|finding| {
            let (row, _) = lines.row_column(source, finding.range.start);
            format!("{row} {}", finding.rule.code())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[track_caller]
fn expect(source: &str, expected: &str) {
    assert_eq!(findings_with(source, None, &[]), expected, "\n{source}");
}

/// `(wrong use → expected finding, right use → nothing)` for each API.
const CASES: &[(&str, &str, &str)] = &[
    // asyncio
    (
        "import asyncio\nasync def f():\n    with asyncio.Lock():\n        pass\n",
        "3 APM103",
        "import asyncio\nasync def f():\n    async with asyncio.Lock():\n        pass\n",
    ),
    (
        "from asyncio import Semaphore\nsem = Semaphore(3)\nasync def f():\n    with sem:\n        pass\n",
        "4 APM103",
        "from asyncio import Semaphore\nsem = Semaphore(3)\nasync def f():\n    async with sem:\n        pass\n",
    ),
    (
        "import asyncio\nclass W:\n    def __init__(self):\n        self.cond = asyncio.Condition()\n    async def run(self):\n        with self.cond:\n            pass\n",
        "6 APM103",
        "import asyncio\nclass W:\n    def __init__(self):\n        self.cond = asyncio.Condition()\n    async def run(self):\n        async with self.cond:\n            pass\n",
    ),
    (
        "import asyncio\nasync def f():\n    with asyncio.timeout(1):\n        pass\n",
        "3 APM103",
        "import asyncio\nasync def f():\n    async with asyncio.timeout(1):\n        pass\n",
    ),
    (
        "import asyncio\nasync def f():\n    with asyncio.TaskGroup() as tg:\n        pass\n",
        "3 APM103",
        "import asyncio\nasync def f():\n    async with asyncio.TaskGroup() as tg:\n        pass\n",
    ),
    (
        "import asyncio\nasync def f():\n    async for x in asyncio.sleep(1):\n        pass\n",
        "",
        "import asyncio\nasync def f():\n    await asyncio.sleep(1)\n",
    ),
    (
        "import asyncio\nq = asyncio.Queue()\nasync def f():\n    await q\n",
        "4 APM107",
        "import asyncio\nq = asyncio.Queue()\nasync def f():\n    await q.get()\n",
    ),
    (
        "import asyncio\nasync def f():\n    await asyncio.Event()\n",
        "3 APM107",
        "import asyncio\nasync def f():\n    await asyncio.Event().wait()\n",
    ),
    // contextlib
    (
        "import contextlib\nasync def f(gen):\n    with contextlib.aclosing(gen):\n        pass\n",
        "3 APM103",
        "import contextlib\nasync def f(gen):\n    async with contextlib.aclosing(gen):\n        pass\n",
    ),
    (
        "from contextlib import AsyncExitStack\nasync def f():\n    with AsyncExitStack() as stack:\n        pass\n",
        "3 APM103",
        "from contextlib import AsyncExitStack\nasync def f():\n    async with AsyncExitStack() as stack:\n        pass\n",
    ),
    (
        "from contextlib import ExitStack\nasync def f():\n    async with ExitStack() as stack:\n        pass\n",
        "3 APM106",
        "from contextlib import ExitStack\nasync def f():\n    with ExitStack() as stack:\n        pass\n",
    ),
    (
        "import contextlib\nasync def f():\n    async with contextlib.suppress(KeyError):\n        pass\n",
        "3 APM106",
        "import contextlib\nasync def f():\n    with contextlib.suppress(KeyError):\n        pass\n",
    ),
    (
        "import contextlib\nasync def f(conn):\n    async with contextlib.closing(conn):\n        pass\n",
        "3 APM106",
        "import contextlib\nasync def f(conn):\n    with contextlib.closing(conn):\n        pass\n",
    ),
    // threading and builtins
    (
        "import threading\nlock = threading.Lock()\nasync def f():\n    async with lock:\n        pass\n",
        "4 APM106",
        "import threading\nlock = threading.Lock()\ndef f():\n    with lock:\n        pass\n",
    ),
    (
        "async def f():\n    async with open('x') as fh:\n        pass\n",
        "2 APM106",
        "async def f():\n    with open('x') as fh:\n        for line in fh:\n            pass\n",
    ),
    // anyio
    (
        "import anyio\nasync def f():\n    with anyio.create_task_group() as tg:\n        pass\n",
        "3 APM103",
        "import anyio\nasync def f():\n    async with anyio.create_task_group() as tg:\n        pass\n",
    ),
    (
        "import anyio\nasync def f():\n    async with anyio.fail_after(1):\n        pass\n",
        "3 APM106",
        "import anyio\nasync def f():\n    with anyio.fail_after(1):\n        pass\n",
    ),
    (
        "from anyio import move_on_after\nasync def f():\n    async with move_on_after(1) as scope:\n        pass\n",
        "3 APM106",
        "from anyio import move_on_after\nasync def f():\n    with move_on_after(1) as scope:\n        pass\n",
    ),
    (
        "import anyio\nlock = anyio.Lock()\nasync def f():\n    with lock:\n        pass\n",
        "4 APM103",
        "import anyio\nlock = anyio.Lock()\nasync def f():\n    async with lock:\n        pass\n",
    ),
    (
        "import anyio\nasync def f():\n    async with anyio.open_file('x') as fh:\n        pass\n",
        "3 APM108",
        "import anyio\nasync def f():\n    async with await anyio.open_file('x') as fh:\n        pass\n",
    ),
    // httpx
    (
        "import httpx\nasync def f():\n    with httpx.AsyncClient() as client:\n        pass\n",
        "3 APM103",
        "import httpx\nasync def f():\n    async with httpx.AsyncClient() as client:\n        pass\n",
    ),
    (
        "import httpx\nasync def f():\n    async with httpx.AsyncClient() as client:\n        async for chunk in client.stream('GET', '/'):\n            pass\n",
        "4 APM102",
        "import httpx\nasync def f():\n    async with httpx.AsyncClient() as client:\n        async with client.stream('GET', '/') as response:\n            async for chunk in response.aiter_bytes():\n                pass\n",
    ),
    (
        "import httpx\nasync def f():\n    async with httpx.AsyncClient() as client:\n        async with client.stream('GET', '/') as response:\n            for line in response.aiter_lines():\n                pass\n",
        "5 APM104",
        "import httpx\nasync def f():\n    async with httpx.AsyncClient() as client:\n        async with client.stream('GET', '/') as response:\n            async for line in response.aiter_lines():\n                pass\n",
    ),
    (
        "import httpx\nasync def f():\n    with httpx.Client() as client:\n        response = await client.get('/')\n",
        "4 APM107",
        "import httpx\nasync def f():\n    async with httpx.AsyncClient() as client:\n        response = await client.get('/')\n",
    ),
    (
        "import httpx\nasync def f(client: httpx.AsyncClient):\n    response = await client.get('/')\n    async for b in response.iter_bytes():\n        pass\n",
        "4 APM105",
        "import httpx\nasync def f(client: httpx.AsyncClient):\n    response = await client.get('/')\n    async for b in response.aiter_bytes():\n        pass\n",
    ),
    (
        "import httpx\nasync def f():\n    async with httpx.stream('GET', '/') as r:\n        pass\n",
        "3 APM106",
        "import httpx\ndef f():\n    with httpx.stream('GET', '/') as r:\n        pass\n",
    ),
    // aiohttp needs its installed version: see `version_keyed_entries`.
    (
        "import aiohttp\nasync def f(session: aiohttp.ClientSession):\n    async for part in session.get('/'):\n        pass\n",
        "3 APM102",
        "import aiohttp\nasync def f(session: aiohttp.ClientSession):\n    async with session.get('/') as response:\n        async for line in response.content:\n            pass\n",
    ),
    (
        "import aiohttp\nasync def f(session: aiohttp.ClientSession):\n    async with session.get('/') as response:\n        for line in response.content:\n            pass\n",
        "4 APM104",
        "import aiohttp\nasync def f(session: aiohttp.ClientSession):\n    response = await session.get('/')\n    text = await response.text()\n",
    ),
    // SQLAlchemy asyncio
    (
        "from sqlalchemy.ext.asyncio import AsyncSession\nasync def f(session: AsyncSession, q):\n    async for row in session.stream(q):\n        pass\n",
        "3 APM108",
        "from sqlalchemy.ext.asyncio import AsyncSession\nasync def f(session: AsyncSession, q):\n    async for row in await session.stream(q):\n        pass\n",
    ),
    (
        "from sqlalchemy.ext.asyncio import AsyncSession\nasync def f(session: AsyncSession, q):\n    async for row in session.stream_scalars(q):\n        pass\n",
        "3 APM108",
        "from sqlalchemy.ext.asyncio import AsyncSession\nasync def f(session: AsyncSession, q):\n    result = await session.stream_scalars(q)\n    async for row in result:\n        pass\n",
    ),
    (
        "from sqlalchemy.ext.asyncio import create_async_engine\nengine = create_async_engine('x')\nasync def f():\n    with engine.connect() as conn:\n        pass\n",
        "4 APM103",
        "from sqlalchemy.ext.asyncio import create_async_engine\nengine = create_async_engine('x')\nasync def f():\n    async with engine.connect() as conn:\n        conn2 = await engine.connect()\n",
    ),
    (
        "from sqlalchemy.ext.asyncio import create_async_engine\nengine = create_async_engine('x')\nasync def f():\n    await engine.begin()\n",
        "4 APM107",
        "from sqlalchemy.ext.asyncio import create_async_engine\nengine = create_async_engine('x')\nasync def f():\n    async with engine.begin() as conn:\n        pass\n",
    ),
    (
        "from sqlalchemy.ext.asyncio import async_sessionmaker\nSession = async_sessionmaker()\nasync def f():\n    with Session() as session:\n        pass\n",
        "4 APM103",
        "from sqlalchemy.ext.asyncio import async_sessionmaker\nSession = async_sessionmaker()\nasync def f():\n    async with Session() as session:\n        async with session.begin():\n            pass\n",
    ),
    (
        "from sqlalchemy.ext.asyncio import AsyncSession\nfrom sqlalchemy.orm import sessionmaker\nSession = sessionmaker(class_=AsyncSession)\nasync def f():\n    with Session() as session:\n        pass\n",
        "5 APM103",
        "from sqlalchemy.ext.asyncio import AsyncSession\nfrom sqlalchemy.orm import sessionmaker\nSession = sessionmaker(class_=AsyncSession)\nasync def f():\n    async with Session() as session:\n        pass\n",
    ),
    (
        "from sqlalchemy.orm import sessionmaker\nSession = sessionmaker()\nasync def f():\n    async with Session() as session:\n        pass\n",
        "4 APM106",
        "from sqlalchemy.orm import sessionmaker\nSession = sessionmaker(bind=engine)\ndef f():\n    with Session() as session:\n        pass\n",
    ),
    (
        "from sqlalchemy.ext.asyncio import AsyncSession\nasync def f(session: AsyncSession):\n    with session.begin():\n        pass\n",
        "3 APM103",
        "from sqlalchemy.ext.asyncio import AsyncSession\nasync def f(session: AsyncSession):\n    async with session.begin():\n        pass\n",
    ),
    // redis.asyncio
    (
        "import redis.asyncio as redis\nasync def f(r: redis.Redis):\n    with r.pipeline() as pipe:\n        pass\n",
        "3 APM103",
        "import redis.asyncio as redis\nasync def f(r: redis.Redis):\n    async with r.pipeline() as pipe:\n        await pipe.execute()\n",
    ),
    (
        "from redis.asyncio import Redis\nasync def f():\n    r = Redis()\n    async with r.pubsub() as ps:\n        for message in ps.listen():\n            pass\n",
        "5 APM104",
        "from redis.asyncio import Redis\nasync def f():\n    r = Redis()\n    async with r.pubsub() as ps:\n        async for message in ps.listen():\n            pass\n",
    ),
    // asyncpg
    (
        "import asyncpg\nasync def f(pool: asyncpg.Pool):\n    with pool.acquire() as conn:\n        pass\n",
        "3 APM103",
        "import asyncpg\nasync def f(pool: asyncpg.Pool):\n    async with pool.acquire() as conn:\n        async with conn.transaction():\n            pass\n",
    ),
    (
        "import asyncpg\nasync def f(pool: asyncpg.Pool):\n    async with pool.acquire() as conn:\n        await conn.transaction()\n",
        "4 APM107",
        "import asyncpg\nasync def f(pool: asyncpg.Pool):\n    async with pool.acquire() as conn:\n        async for record in conn.cursor('SELECT 1'):\n            pass\n",
    ),
    (
        "import asyncpg\nasync def f():\n    conn = await asyncpg.connect()\n    with conn.transaction():\n        pass\n",
        "4 APM103",
        "import asyncpg\nasync def f():\n    conn = await asyncpg.connect()\n    async with conn.transaction():\n        await conn.close()\n",
    ),
    // aiofiles
    (
        "import aiofiles\nasync def f():\n    with aiofiles.open('x') as fh:\n        pass\n",
        "3 APM103",
        "import aiofiles\nasync def f():\n    async with aiofiles.open('x') as fh:\n        async for line in fh:\n            pass\n",
    ),
    (
        "import aiofiles\nasync def f():\n    async for line in aiofiles.open('x'):\n        pass\n",
        "3 APM102",
        "import aiofiles\nasync def f():\n    fh = await aiofiles.open('x')\n    async for line in fh:\n        pass\n",
    ),
    // more asyncio, anyio and sync counterparts
    (
        "import asyncio\nasync def f(a, b):\n    async for r in asyncio.gather(a, b):\n        pass\n",
        "",
        "import asyncio\nasync def f(a, b):\n    results = await asyncio.gather(a, b)\n",
    ),
    (
        "import asyncio\nasync def f(coro):\n    with asyncio.create_task(coro):\n        pass\n",
        "",
        "import asyncio\nasync def f(coro):\n    task = asyncio.create_task(coro)\n    await task\n",
    ),
    (
        "import anyio\nlimiter = anyio.CapacityLimiter(4)\nasync def f():\n    with limiter:\n        pass\n",
        "4 APM103",
        "import anyio\nlimiter = anyio.CapacityLimiter(4)\nasync def f():\n    async with limiter:\n        await anyio.sleep(0)\n",
    ),
    (
        "from sqlalchemy import create_engine\nengine = create_engine('x')\nasync def f():\n    async with engine.connect() as conn:\n        pass\n",
        "4 APM106",
        "from sqlalchemy import create_engine\nengine = create_engine('x')\ndef f():\n    with engine.begin() as conn:\n        pass\n",
    ),
    (
        "from sqlalchemy.orm import Session\nasync def f(engine):\n    async with Session(engine) as session:\n        pass\n",
        "3 APM106",
        "from sqlalchemy.orm import Session\ndef f(engine):\n    with Session(engine) as session:\n        with session.begin():\n            pass\n",
    ),
    (
        "import redis\nasync def f(r: redis.Redis):\n    async with r.pipeline() as pipe:\n        pass\n",
        "3 APM106",
        "import redis\ndef f(r: redis.Redis):\n    with r.pubsub() as ps:\n        for message in ps.listen():\n            pass\n",
    ),
    (
        "import asyncpg\nasync def f():\n    with asyncpg.create_pool() as pool:\n        pass\n",
        "3 APM103",
        "import asyncpg\nasync def f():\n    async with asyncpg.create_pool() as pool:\n        async with pool.acquire() as conn:\n            pass\n    pool = await asyncpg.create_pool()\n",
    ),
    (
        "import redis.asyncio as redis\nasync def f():\n    r = await redis.Redis()\n    with r.pubsub() as ps:\n        pass\n",
        "4 APM103",
        "import redis.asyncio as redis\nasync def f():\n    r = await redis.from_url('redis://')\n    async with r.pubsub() as ps:\n        pass\n",
    ),
    (
        "from sqlalchemy.ext.asyncio import AsyncSession\nasync def f(session: AsyncSession):\n    async for obj in session:\n        pass\n",
        "3 APM102",
        "from sqlalchemy.ext.asyncio import AsyncSession\nasync def f(session: AsyncSession):\n    for obj in session:\n        pass\n",
    ),
    // starlette / FastAPI
    (
        "from fastapi.testclient import TestClient\nasync def test_app(app):\n    async with TestClient(app) as client:\n        pass\n",
        "3 APM106",
        "from starlette.testclient import TestClient\ndef test_app(app):\n    with TestClient(app) as client:\n        pass\n",
    ),
];

/// Versions for the entries of [`CASES`] that are keyed by version (see `version_keyed_entries`
/// for what happens without them).
const INSTALLED: &[(&str, &[u32])] = &[("anyio", &[4, 6]), ("sqlalchemy", &[2, 0, 30])];

#[test]
fn each_library_api_has_a_wrong_and_a_right_use() {
    for (wrong, finding, right) in CASES {
        assert_eq!(findings_with(wrong, None, INSTALLED), *finding, "\n{wrong}");
        assert_eq!(findings_with(right, None, INSTALLED), "", "\n{right}");
    }
}

#[test]
fn messages_name_the_library_api() {
    let source = "import httpx\nasync def f():\n    async with httpx.AsyncClient() as client:\n        async for chunk in client.stream('GET', '/'):\n            pass\n";
    let findings = check_with(source, None, &[]);
    assert_eq!(findings.len(), 1);
    let message = &findings[0].message;
    assert!(message.contains("httpx.AsyncClient.stream()"), "{message}");
    assert!(message.contains("async context manager"), "{message}");
    assert!(findings[0].related.is_empty(), "a library has no definition site to point at");
}

#[test]
fn version_keyed_entries() {
    let with_session = "import aiohttp\nasync def f():\n    with aiohttp.ClientSession() as s:\n        pass\n";
    // Unknown version: silent. aiohttp 3: `__enter__` raises. aiohttp 2: it worked.
    assert_eq!(findings_with(with_session, None, &[]), "");
    assert_eq!(findings_with(with_session, None, &[("aiohttp", &[3, 9, 1])]), "3 APM103");
    assert_eq!(findings_with(with_session, None, &[("aiohttp", &[2, 3, 10])]), "");
    let right = "import aiohttp\nasync def f():\n    async with aiohttp.ClientSession() as s:\n        pass\n";
    assert_eq!(findings_with(right, None, &[("aiohttp", &[3, 9, 1])]), "");

    let timeout = "import async_timeout\nasync def f():\n    with async_timeout.timeout(1):\n        pass\n";
    assert_eq!(findings_with(timeout, None, &[]), "");
    assert_eq!(findings_with(timeout, None, &[("async_timeout", &[4, 0, 3])]), "");
    assert_eq!(findings_with(timeout, None, &[("async_timeout", &[5, 0, 1])]), "3 APM103");

    let completed =
        "import asyncio\nasync def f(aws):\n    async for done in asyncio.as_completed(aws):\n        pass\n";
    assert_eq!(findings_with(completed, None, &[]), "");
    assert_eq!(findings_with(completed, Some((3, 12)), &[]), "3 APM105");
    assert_eq!(findings_with(completed, Some((3, 13)), &[]), "");

    let nullcontext = "import contextlib\nasync def f():\n    async with contextlib.nullcontext():\n        pass\n";
    assert_eq!(findings_with(nullcontext, None, &[]), "");
    assert_eq!(findings_with(nullcontext, Some((3, 9)), &[]), "3 APM106");
    assert_eq!(findings_with(nullcontext, Some((3, 10)), &[]), "");

    let websocket = "import websockets\nasync def f():\n    with websockets.connect('ws://x') as ws:\n        pass\n";
    assert_eq!(findings_with(websocket, None, &[]), "");
    assert_eq!(findings_with(websocket, None, &[("websockets", &[12, 0])]), "3 APM103");
    // anyio's cancel scopes became sync context managers in 3.0.
    let fail_after = "import anyio\nasync def f():\n    async with anyio.fail_after(1):\n        pass\n";
    assert_eq!(findings_with(fail_after, None, &[]), "");
    assert_eq!(findings_with(fail_after, None, &[("anyio", &[2, 2])]), "");
    assert_eq!(findings_with(fail_after, None, &[("anyio", &[3, 0])]), "3 APM106");

    // `AsyncEngine.begin()` could be awaited in SQLAlchemy 1.4, not since 2.0.
    let begin = "from sqlalchemy.ext.asyncio import create_async_engine\nengine = create_async_engine('x')\nasync def f():\n    conn = await engine.begin()\n";
    assert_eq!(findings_with(begin, None, &[]), "");
    assert_eq!(findings_with(begin, None, &[("sqlalchemy", &[1, 4, 54])]), "");
    assert_eq!(findings_with(begin, None, &[("sqlalchemy", &[2, 0, 0])]), "4 APM107");

    let serve = "import websockets\nasync def f(handler):\n    with websockets.serve(handler, 'localhost', 8765):\n        pass\n";
    assert_eq!(findings_with(serve, None, &[]), "3 APM103", "serve() is version-independent");
    let reconnect =
        "import websockets\nasync def f():\n    async for ws in websockets.connect('ws://x'):\n        pass\n";
    assert_eq!(findings_with(reconnect, None, &[("websockets", &[12, 0])]), "");
}

#[test]
fn sessionmaker_makes_what_class_says() {
    // A class the table does not know, or keywords it cannot see: silent.
    expect(
        "from sqlalchemy.orm import sessionmaker\nfrom app import MySession\nSession = sessionmaker(class_=MySession)\nasync def f():\n    async with Session() as s:\n        pass\n",
        "",
    );
    expect(
        "from sqlalchemy.orm import sessionmaker\nSession = sessionmaker(**options)\nasync def f():\n    async with Session() as s:\n        pass\n",
        "",
    );
    expect(
        "from sqlalchemy.orm import sessionmaker\nfrom sqlalchemy.ext.asyncio import AsyncSession\nSession = sessionmaker(engine, AsyncSession)\nasync def f():\n    async with Session() as s:\n        pass\n",
        "",
    );
}

#[test]
fn unknown_names_and_shadowing_are_silent() {
    // A workspace definition shadows the library name.
    expect("import asyncio\nasync def f():\n    class Lock: pass\n    with Lock():\n        pass\n", "");
    // A method the table does not list.
    expect(
        "import httpx\nasync def f(client: httpx.AsyncClient):\n    async for x in client.unknown_method():\n        pass\n",
        "",
    );
    // The object bound by entering a context manager whose `__aenter__` result is not listed.
    expect(
        "import asyncio\nasync def f():\n    async with asyncio.Lock() as held:\n        async for x in held:\n            pass\n",
        "",
    );
    // A `with` target that is reassigned: two sources disagree.
    expect(
        "import httpx\nasync def f(other):\n    async with httpx.AsyncClient() as client:\n        if other:\n            client = other\n        async for x in client.stream('GET', '/'):\n            pass\n",
        "",
    );
}

/// Code behind a version guard is checked only when the environment is known to run it.
#[test]
fn version_guards_check_only_the_live_branch() {
    let source = "import sys\nasync def agen():\n    yield 1\nasync def f(flag):\n    if sys.version_info >= (3, 11):\n        async with agen() as x:\n            pass\n    else:\n        async with agen() as x:\n            pass\n    if flag:\n        async with agen() as x:\n            pass\n";
    assert_eq!(findings_with(source, None, &[]), "12 APM101", "unknown Python: neither guarded branch");
    assert_eq!(findings_with(source, Some((3, 12)), &[]), "6 APM101 12 APM101");
    assert_eq!(findings_with(source, Some((3, 9)), &[]), "9 APM101 12 APM101");

    let chain = "import sys\nasync def agen():\n    yield 1\nasync def f():\n    if sys.version_info >= (3, 12):\n        async with agen() as a:\n            pass\n    elif sys.version_info >= (3, 10):\n        async with agen() as b:\n            pass\n    else:\n        async with agen() as c:\n            pass\n";
    assert_eq!(findings_with(chain, Some((3, 13)), &[]), "6 APM101");
    assert_eq!(findings_with(chain, Some((3, 11)), &[]), "9 APM101");
    assert_eq!(findings_with(chain, Some((3, 8)), &[]), "12 APM101");

    // A two-field slice compares differently at the boundary.
    let sliced = "import sys\nasync def agen():\n    yield 1\nasync def f():\n    if sys.version_info[:2] > (3, 10):\n        async with agen() as x:\n            pass\n";
    assert_eq!(findings_with(sliced, Some((3, 10)), &[]), "");
    assert_eq!(findings_with(sliced, Some((3, 11)), &[]), "6 APM101");
    let full = sliced.replace("[:2]", "");
    assert_eq!(findings_with(&full, Some((3, 10)), &[]), "6 APM101");

    // A library version constant or a `PY311` flag cannot be evaluated: both branches are silent.
    for test in ["AIOHTTP_VERSION >= (3,)", "PY311", "not aiohttp.__version__.startswith('2')"] {
        let guarded = format!(
            "async def agen():\n    yield 1\nasync def f():\n    if {test}:\n        async with agen() as x:\n            pass\n    else:\n        async with agen() as y:\n            pass\n"
        );
        assert_eq!(findings_with(&guarded, Some((3, 12)), &[]), "", "{test}");
    }
}

/// `send, receive = anyio.create_memory_object_stream()`: each end is known, with the installed
/// anyio's version (3.2.0 made both ends sync context managers too).
#[test]
fn memory_object_streams_are_unpacked_by_position() {
    let iterate_sync = "import anyio\nasync def f():\n    send, receive = anyio.create_memory_object_stream[int](10)\n    for item in receive:\n        pass\n";
    assert_eq!(findings_with(iterate_sync, None, &[]), "", "unknown anyio version");
    assert_eq!(findings_with(iterate_sync, None, &[("anyio", &[4, 6])]), "4 APM104");
    let iterate = iterate_sync.replace("    for item", "    async for item");
    assert_eq!(findings_with(&iterate, None, &[("anyio", &[4, 6])]), "");

    // The sending end is not iterable; a plain `with` closes it only since anyio 3.2.
    let send_side = "from anyio import create_memory_object_stream\nasync def f():\n    send, receive = create_memory_object_stream(5)\n    with send:\n        async for x in send:\n            pass\n";
    assert_eq!(findings_with(send_side, None, &[("anyio", &[3, 2, 0])]), "5 APM102");
    assert_eq!(findings_with(send_side, None, &[("anyio", &[3, 1, 0])]), "4 APM103 5 APM102");

    // Positions matter, a starred target shifts them, and only calls are unpacked.
    let starred = "import anyio\nasync def f():\n    *rest, receive = anyio.create_memory_object_stream()\n    for item in receive:\n        pass\n";
    assert_eq!(findings_with(starred, None, &[("anyio", &[4, 6])]), "");
    let swapped =
        "import anyio\nasync def f(pair):\n    receive, send = pair\n    for item in receive:\n        pass\n";
    assert_eq!(findings_with(swapped, None, &[("anyio", &[4, 6])]), "");
}

/// Celery runs `async def` tasks only under a worker pool installed for it (`celery-aio-pool`),
/// configured outside the code: the entry applies where the environment shows celery without it.
#[test]
fn celery_tasks_that_are_coroutine_functions_by_environment() {
    let source = "from celery import Celery, shared_task\n\napp = Celery('jobs')\n\n@shared_task\nasync def refresh():\n    pass\n\n@shared_task(bind=True)\nasync def bound(self):\n    pass\n\n@shared_task(base=object)\nasync def based():\n    pass\n\n@shared_task\ndef plain():\n    pass\n";
    assert_eq!(findings_with(source, None, &[]), "", "environment not known");
    assert_eq!(findings_with(source, None, &[("celery", &[5, 7, 0])]), "6 APM110 10 APM110");
    assert_eq!(findings_with(source, None, &[("celery", &[5, 7, 0]), ("celery-aio-pool", &[0, 1])]), "");
}
