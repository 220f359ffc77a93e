//! Built-in knowledge of well-known library APIs: what calling them makes, and which protocols
//! that object provides.
//!
//! The table answers for names the workspace index cannot see into: the standard library,
//! packages that are not installed in a virtual environment we found, C extensions, and
//! definitions made at run time. When a package's source *is* installed, resolution reads the
//! source and the table only fills what the source leaves unknown.
//!
//! Entries whose protocol changed between releases are keyed by version (of the package, read
//! from its `.dist-info` folder, or of Python, read from `pyvenv.cfg`); when the version is not
//! known, such an entry is unknown and produces no finding.

use crate::protocol::Capability::{self, AsyncCm, AsyncIter, Await, Call, Cm, Iter};
use crate::protocol::{CapabilitySet, Provided, ValueKind};

/// Versions the table may depend on.
pub trait Versions {
    /// `(major, minor)` of the target Python, when known.
    fn python_version(&self) -> Option<(u32, u32)>;
    /// The installed version of a distribution (`aiohttp`), as numeric release parts.
    fn installed_version(&self, distribution: &str) -> Option<Vec<u32>>;
}

/// An object a library API makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Object {
    /// The library class of the object, for its methods and attributes.
    pub class: Option<&'static str>,
    pub capabilities: CapabilitySet,
    pub kind: ValueKind,
    /// For an awaitable: the class of what awaiting it gives.
    pub awaits_to: Option<&'static str>,
    /// For a context manager: the class of what `async with … as x` / `with … as x` binds.
    pub enters: Option<&'static str>,
}

impl Object {
    /// What this object provides, as the protocol model sees it.
    pub fn provided(&self, versions: &dyn Versions) -> Provided {
        let provided = Provided::known(self.kind, self.capabilities);
        match self.awaits_to.and_then(|class| instance(class, versions)) {
            Some(awaited) => provided.awaiting_to(awaited.capabilities),
            None => provided,
        }
    }
}

/// What a qualified name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Known {
    /// A callable: calling it makes this object.
    Callable(Object),
    /// A plain attribute of an instance: the object it holds (`ClientResponse.content`).
    Attribute(Object),
}

const fn object(class: Option<&'static str>, kind: ValueKind, capabilities: &[Capability]) -> Object {
    Object { class, capabilities: CapabilitySet::of(capabilities), kind, awaits_to: None, enters: None }
}

/// An instance of `class` providing `capabilities`.
const fn of(class: &'static str, capabilities: &[Capability]) -> Object {
    object(Some(class), ValueKind::Library, capabilities)
}

/// Entering it binds the object itself (`async with httpx.AsyncClient() as client`).
const fn entered_self(class: &'static str, capabilities: &[Capability]) -> Object {
    Object { enters: Some(class), ..of(class, capabilities) }
}

/// What calling a coroutine function gives: awaitable, awaiting gives an instance of `class`
/// (or something we know nothing about, with `None`).
const fn coroutine(awaits_to: Option<&'static str>) -> Object {
    Object { awaits_to, ..object(None, ValueKind::Coroutine, &[Await]) }
}

const fn async_generator() -> Object {
    object(None, ValueKind::AsyncGenerator, &[AsyncIter])
}

const fn generator() -> Object {
    object(None, ValueKind::Generator, &[Iter])
}

/// The protocols of an instance of a library class, when the class is known.
pub fn instance(class: &str, versions: &dyn Versions) -> Option<Object> {
    let class = alias(class);
    match lookup(class, versions)? {
        Known::Callable(made) if made.class == Some(canonical_static(class)?) => Some(made),
        _ => None,
    }
}

/// The classes of the elements of a tuple a library call returns, in order.
pub fn tuple_elements(name: &str, versions: &dyn Versions) -> Option<&'static [&'static str]> {
    match alias(name) {
        // anyio 3.2 made memory object streams sync context managers too; the protocol depends
        // on the version, so it must be known (see `lookup`).
        "anyio.create_memory_object_stream" => {
            versions.installed_version("anyio")?;
            Some(&["anyio.streams.memory.MemoryObjectSendStream", "anyio.streams.memory.MemoryObjectReceiveStream"])
        }
        _ => None,
    }
}

/// Whether what the table says of `api` depends on the target Python's version (such findings
/// name the version they assume).
pub fn depends_on_python_version(api: &str) -> bool {
    matches!(api.trim_end_matches("()"), "contextlib.nullcontext" | "asyncio.as_completed")
}

/// A class the table lists, even when the protocol of its instances depends on a version we do
/// not know: its methods are still known (`session: aiohttp.ClientSession` → `session.get()`).
/// The object's own protocol is then unknown ([`Provided::Unknown`]).
pub fn class_only(name: &str) -> Option<Object> {
    let class = canonical_static(alias(name))?;
    Some(object(Some(class), ValueKind::Library, &[]))
}

/// The `'static` spelling of a class name the table knows (classes are their own constructors).
fn canonical_static(class: &str) -> Option<&'static str> {
    CLASSES.iter().copied().find(|known| *known == class)
}

/// Classes whose instances the table describes (each is also a callable entry of [`lookup`]).
static CLASSES: &[&str] = &[
    "asyncio.Lock",
    "asyncio.Semaphore",
    "asyncio.BoundedSemaphore",
    "asyncio.Condition",
    "asyncio.Event",
    "asyncio.Queue",
    "asyncio.TaskGroup",
    "asyncio.Timeout",
    "contextlib.aclosing",
    "contextlib.closing",
    "contextlib.AsyncExitStack",
    "contextlib.ExitStack",
    "contextlib.nullcontext",
    "contextlib.suppress",
    "threading.Lock",
    "threading.RLock",
    "threading.Semaphore",
    "threading.Condition",
    "anyio.Lock",
    "anyio.Semaphore",
    "anyio.Condition",
    "anyio.CapacityLimiter",
    "anyio.Event",
    "anyio.CancelScope",
    "anyio.abc.TaskGroup",
    "anyio.AsyncFile",
    "anyio.streams.memory.MemoryObjectSendStream",
    "anyio.streams.memory.MemoryObjectReceiveStream",
    "httpx.AsyncClient",
    "httpx.Client",
    "httpx.Response",
    "aiohttp.ClientSession",
    "aiohttp.ClientResponse",
    "aiohttp.StreamReader",
    "aiohttp.client._RequestContextManager",
    "sqlalchemy.ext.asyncio.AsyncEngine",
    "sqlalchemy.ext.asyncio.AsyncConnection",
    "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.AsyncSessionTransaction",
    "sqlalchemy.ext.asyncio.AsyncResult",
    "sqlalchemy.ext.asyncio.AsyncScalarResult",
    "sqlalchemy.ext.asyncio.async_sessionmaker",
    "sqlalchemy.orm.Session",
    "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.orm.sessionmaker[AsyncSession]",
    "sqlalchemy.engine.Engine",
    "sqlalchemy.engine.Connection",
    "redis.asyncio.Redis",
    "redis.asyncio.client.Pipeline",
    "redis.asyncio.client.PubSub",
    "redis.Redis",
    "redis.client.Pipeline",
    "redis.client.PubSub",
    "asyncpg.pool.Pool",
    "asyncpg.pool.PoolAcquireContext",
    "asyncpg.connection.Connection",
    "asyncpg.transaction.Transaction",
    "asyncpg.cursor.CursorFactory",
    "aiofiles.threadpool.AiofilesContextManager",
    "websockets.Connect",
    "websockets.ClientConnection",
    "websockets.Serve",
    "starlette.testclient.TestClient",
];

/// Public spellings of the same API (re-exports), mapped to the name the table uses.
fn alias(name: &str) -> &str {
    match name {
        "sqlalchemy.ext.asyncio.engine.create_async_engine" => "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlalchemy.ext.asyncio.engine.AsyncEngine" => "sqlalchemy.ext.asyncio.AsyncEngine",
        "sqlalchemy.ext.asyncio.engine.AsyncConnection" => "sqlalchemy.ext.asyncio.AsyncConnection",
        "sqlalchemy.ext.asyncio.session.AsyncSession" => "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.async_sessionmaker" => "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.result.AsyncResult" => "sqlalchemy.ext.asyncio.AsyncResult",
        "sqlalchemy.ext.asyncio.result.AsyncScalarResult" => "sqlalchemy.ext.asyncio.AsyncScalarResult",
        "sqlalchemy.orm.session.Session" => "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.sessionmaker" | "sqlalchemy.orm.sessionmaker" => "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.engine.create_engine" => "sqlalchemy.create_engine",
        "sqlalchemy.Engine" => "sqlalchemy.engine.Engine",
        "sqlalchemy.Connection" => "sqlalchemy.engine.Connection",
        "redis.asyncio.StrictRedis" | "redis.asyncio.client.Redis" => "redis.asyncio.Redis",
        "redis.StrictRedis" | "redis.client.Redis" => "redis.Redis",
        "redis.asyncio.client.Redis.from_url" => "redis.asyncio.from_url",
        "asyncpg.Connection" => "asyncpg.connection.Connection",
        "asyncpg.Pool" => "asyncpg.pool.Pool",
        "asyncpg.pool.create_pool" => "asyncpg.create_pool",
        "asyncpg.connection.connect" => "asyncpg.connect",
        "anyio.abc.CancelScope" => "anyio.CancelScope",
        "fastapi.testclient.TestClient" | "starlette.testclient" => "starlette.testclient.TestClient",
        "websockets.connect" | "websockets.asyncio.client.connect" | "websockets.client.connect" => {
            "websockets.Connect"
        }
        "websockets.serve" | "websockets.asyncio.server.serve" | "websockets.server.serve" => "websockets.Serve",
        "asyncio.locks.Lock" => "asyncio.Lock",
        "asyncio.locks.Semaphore" => "asyncio.Semaphore",
        "asyncio.locks.Event" => "asyncio.Event",
        "asyncio.locks.Condition" => "asyncio.Condition",
        "asyncio.queues.Queue" | "asyncio.PriorityQueue" | "asyncio.LifoQueue" => "asyncio.Queue",
        "asyncio.taskgroups.TaskGroup" => "asyncio.TaskGroup",
        "asyncio.timeouts.timeout" => "asyncio.timeout",
        "asyncio.timeouts.timeout_at" => "asyncio.timeout_at",
        other => other,
    }
}

/// Whether `version` (release parts) is at least `minimum`.
fn at_least(version: &[u32], minimum: &[u32]) -> bool {
    for (idx, wanted) in minimum.iter().enumerate() {
        let have = version.get(idx).copied().unwrap_or(0);
        if have != *wanted {
            return have > *wanted;
        }
    }
    true
}

/// What the table knows about a qualified name, for the versions at hand. `None`: nothing
/// (including "it depends on a version we do not know").
#[allow(clippy::too_many_lines, clippy::match_same_arms)] // One arm per API, grouped by library.
pub fn lookup(name: &str, versions: &dyn Versions) -> Option<Known> {
    let name = alias(name);
    let callable = |made: Object| Some(Known::Callable(made));
    match name {
        // asyncio: locks are async context managers only (their `__enter__` raised, then was
        // removed in 3.9); events and queues are no protocol at all.
        "asyncio.Lock" | "asyncio.Semaphore" | "asyncio.BoundedSemaphore" | "asyncio.Condition" => {
            callable(of(canonical_static(name).unwrap_or("asyncio.Lock"), &[AsyncCm]))
        }
        "asyncio.Event" => callable(of("asyncio.Event", &[])),
        "asyncio.Queue" => callable(of("asyncio.Queue", &[])),
        "asyncio.Queue.get"
        | "asyncio.Queue.put"
        | "asyncio.Queue.join"
        | "asyncio.Event.wait"
        | "asyncio.Lock.acquire"
        | "asyncio.Semaphore.acquire"
        | "asyncio.Condition.wait" => callable(coroutine(None)),
        "asyncio.TaskGroup" => callable(entered_self("asyncio.TaskGroup", &[AsyncCm])),
        "asyncio.timeout" | "asyncio.timeout_at" | "asyncio.Timeout" => callable(of("asyncio.Timeout", &[AsyncCm])),
        "asyncio.sleep" | "asyncio.wait_for" | "asyncio.wait" | "asyncio.to_thread" => callable(coroutine(None)),
        "asyncio.gather" | "asyncio.create_task" | "asyncio.ensure_future" => {
            callable(object(None, ValueKind::Library, &[Await]))
        }
        // An iterator of futures; since 3.13 also an async iterator.
        "asyncio.as_completed" => match versions.python_version()? {
            version if version >= (3, 13) => callable(object(None, ValueKind::Library, &[Iter, AsyncIter])),
            _ => callable(object(None, ValueKind::Library, &[Iter])),
        },
        // contextlib
        "contextlib.aclosing" => callable(of("contextlib.aclosing", &[AsyncCm])),
        "contextlib.closing" => callable(of("contextlib.closing", &[Cm])),
        "contextlib.AsyncExitStack" => callable(entered_self("contextlib.AsyncExitStack", &[AsyncCm])),
        "contextlib.ExitStack" => callable(entered_self("contextlib.ExitStack", &[Cm])),
        "contextlib.suppress" => callable(of("contextlib.suppress", &[Cm])),
        // `nullcontext` became an async context manager too in 3.10.
        "contextlib.nullcontext" => match versions.python_version()? {
            version if version >= (3, 10) => callable(of("contextlib.nullcontext", &[Cm, AsyncCm])),
            _ => callable(of("contextlib.nullcontext", &[Cm])),
        },
        // threading: sync only.
        "threading.Lock" | "threading.RLock" | "threading.Semaphore" | "threading.Condition" => {
            callable(of(canonical_static(name).unwrap_or("threading.Lock"), &[Cm]))
        }
        // anyio: primitives are async context managers; cancel scopes are sync ones.
        "anyio.create_task_group" | "anyio.abc.TaskGroup" => callable(entered_self("anyio.abc.TaskGroup", &[AsyncCm])),
        "anyio.Lock" | "anyio.Semaphore" | "anyio.Condition" | "anyio.CapacityLimiter" => {
            callable(of(canonical_static(name).unwrap_or("anyio.Lock"), &[AsyncCm]))
        }
        "anyio.Event" => callable(of("anyio.Event", &[])),
        // Sync context managers since anyio 3.0 (in 2.x they were entered with `async with`).
        "anyio.fail_after" | "anyio.move_on_after" | "anyio.CancelScope" => {
            if !at_least(&versions.installed_version("anyio")?, &[3]) {
                return None;
            }
            callable(entered_self("anyio.CancelScope", &[Cm]))
        }
        "anyio.sleep" | "anyio.to_thread.run_sync" | "anyio.Event.wait" => callable(coroutine(None)),
        // Memory object streams: the receiving end is iterated; both ends are closed by `async
        // with`, and since anyio 3.2.0 by a plain `with` too (checked in the 3.1.0 and 3.2.0
        // wheels).
        "anyio.streams.memory.MemoryObjectReceiveStream" => {
            let sync_too = at_least(&versions.installed_version("anyio")?, &[3, 2]);
            let capabilities: &[Capability] = if sync_too { &[AsyncIter, AsyncCm, Cm] } else { &[AsyncIter, AsyncCm] };
            callable(entered_self("anyio.streams.memory.MemoryObjectReceiveStream", capabilities))
        }
        "anyio.streams.memory.MemoryObjectSendStream" => {
            let sync_too = at_least(&versions.installed_version("anyio")?, &[3, 2]);
            let capabilities: &[Capability] = if sync_too { &[AsyncCm, Cm] } else { &[AsyncCm] };
            callable(entered_self("anyio.streams.memory.MemoryObjectSendStream", capabilities))
        }
        "anyio.streams.memory.MemoryObjectReceiveStream.receive"
        | "anyio.streams.memory.MemoryObjectSendStream.send" => callable(coroutine(None)),
        "anyio.open_file" => callable(coroutine(Some("anyio.AsyncFile"))),
        "anyio.AsyncFile" => callable(entered_self("anyio.AsyncFile", &[AsyncCm, AsyncIter])),
        // httpx
        "httpx.AsyncClient" => callable(entered_self("httpx.AsyncClient", &[AsyncCm])),
        "httpx.Client" => callable(entered_self("httpx.Client", &[Cm])),
        "httpx.AsyncClient.stream" => {
            callable(Object { enters: Some("httpx.Response"), ..object(None, ValueKind::Library, &[AsyncCm]) })
        }
        "httpx.Client.stream" | "httpx.stream" => {
            callable(Object { enters: Some("httpx.Response"), ..object(None, ValueKind::Library, &[Cm]) })
        }
        "httpx.AsyncClient.get"
        | "httpx.AsyncClient.post"
        | "httpx.AsyncClient.put"
        | "httpx.AsyncClient.patch"
        | "httpx.AsyncClient.delete"
        | "httpx.AsyncClient.head"
        | "httpx.AsyncClient.options"
        | "httpx.AsyncClient.request"
        | "httpx.AsyncClient.send" => callable(coroutine(Some("httpx.Response"))),
        "httpx.Client.get"
        | "httpx.Client.post"
        | "httpx.Client.put"
        | "httpx.Client.patch"
        | "httpx.Client.delete"
        | "httpx.Client.head"
        | "httpx.Client.options"
        | "httpx.Client.request"
        | "httpx.Client.send"
        | "httpx.get"
        | "httpx.post"
        | "httpx.put"
        | "httpx.patch"
        | "httpx.delete"
        | "httpx.head"
        | "httpx.options"
        | "httpx.request" => callable(of("httpx.Response", &[])),
        "httpx.Response" => callable(of("httpx.Response", &[])),
        "httpx.Response.aiter_bytes"
        | "httpx.Response.aiter_text"
        | "httpx.Response.aiter_lines"
        | "httpx.Response.aiter_raw" => callable(async_generator()),
        "httpx.Response.iter_bytes"
        | "httpx.Response.iter_text"
        | "httpx.Response.iter_lines"
        | "httpx.Response.iter_raw" => callable(generator()),
        "httpx.Response.aread" | "httpx.Response.aclose" => callable(coroutine(None)),
        // aiohttp: since 3.0 `ClientSession.__enter__` raises ("Use async with instead").
        "aiohttp.ClientSession" => {
            let version = versions.installed_version("aiohttp")?;
            if at_least(&version, &[3]) {
                callable(entered_self("aiohttp.ClientSession", &[AsyncCm]))
            } else {
                callable(entered_self("aiohttp.ClientSession", &[AsyncCm, Cm]))
            }
        }
        "aiohttp.ClientSession.get"
        | "aiohttp.ClientSession.post"
        | "aiohttp.ClientSession.put"
        | "aiohttp.ClientSession.patch"
        | "aiohttp.ClientSession.delete"
        | "aiohttp.ClientSession.head"
        | "aiohttp.ClientSession.options"
        | "aiohttp.ClientSession.request"
        | "aiohttp.request" => callable(Object {
            enters: Some("aiohttp.ClientResponse"),
            awaits_to: Some("aiohttp.ClientResponse"),
            ..of("aiohttp.client._RequestContextManager", &[Await, AsyncCm])
        }),
        "aiohttp.client._RequestContextManager" => callable(Object {
            enters: Some("aiohttp.ClientResponse"),
            awaits_to: Some("aiohttp.ClientResponse"),
            ..of("aiohttp.client._RequestContextManager", &[Await, AsyncCm])
        }),
        "aiohttp.ClientResponse" => callable(entered_self("aiohttp.ClientResponse", &[AsyncCm])),
        "aiohttp.ClientResponse.json" | "aiohttp.ClientResponse.text" | "aiohttp.ClientResponse.read" => {
            callable(coroutine(None))
        }
        "aiohttp.ClientResponse.content" => Some(Known::Attribute(of("aiohttp.StreamReader", &[AsyncIter]))),
        "aiohttp.StreamReader" => callable(of("aiohttp.StreamReader", &[AsyncIter])),
        "aiohttp.StreamReader.iter_chunked" | "aiohttp.StreamReader.iter_any" | "aiohttp.StreamReader.iter_chunks" => {
            callable(object(None, ValueKind::Library, &[AsyncIter]))
        }
        // SQLAlchemy asyncio
        "sqlalchemy.ext.asyncio.create_async_engine" => callable(of("sqlalchemy.ext.asyncio.AsyncEngine", &[])),
        "sqlalchemy.ext.asyncio.AsyncEngine" => callable(of("sqlalchemy.ext.asyncio.AsyncEngine", &[])),
        // `connect()` is a startable context: `await engine.connect()` or `async with`.
        "sqlalchemy.ext.asyncio.AsyncEngine.connect" => callable(Object {
            enters: Some("sqlalchemy.ext.asyncio.AsyncConnection"),
            awaits_to: Some("sqlalchemy.ext.asyncio.AsyncConnection"),
            ..of("sqlalchemy.ext.asyncio.AsyncConnection", &[AsyncCm, Await])
        }),
        // An `@asynccontextmanager` since 2.0.0; in 1.4 a startable context that could also be
        // awaited (checked in both sources).
        "sqlalchemy.ext.asyncio.AsyncEngine.begin" => {
            let capabilities: &[Capability] =
                if at_least(&versions.installed_version("sqlalchemy")?, &[2]) { &[AsyncCm] } else { &[AsyncCm, Await] };
            callable(Object {
                enters: Some("sqlalchemy.ext.asyncio.AsyncConnection"),
                ..object(None, ValueKind::Library, capabilities)
            })
        }
        "sqlalchemy.ext.asyncio.AsyncEngine.dispose" => callable(coroutine(None)),
        "sqlalchemy.ext.asyncio.AsyncConnection" => callable(Object {
            enters: Some("sqlalchemy.ext.asyncio.AsyncConnection"),
            awaits_to: Some("sqlalchemy.ext.asyncio.AsyncConnection"),
            ..of("sqlalchemy.ext.asyncio.AsyncConnection", &[AsyncCm, Await])
        }),
        "sqlalchemy.ext.asyncio.AsyncConnection.execute" | "sqlalchemy.ext.asyncio.AsyncConnection.commit" => {
            callable(coroutine(None))
        }
        "sqlalchemy.ext.asyncio.async_sessionmaker" => {
            callable(of("sqlalchemy.ext.asyncio.async_sessionmaker", &[Call]))
        }
        "sqlalchemy.ext.asyncio.async_sessionmaker.begin" => callable(Object {
            enters: Some("sqlalchemy.ext.asyncio.AsyncSession"),
            ..object(None, ValueKind::Library, &[AsyncCm])
        }),
        // Calling a session maker (`async_sessionmaker()`, or `sessionmaker(class_=AsyncSession)`)
        // makes a session.
        "sqlalchemy.ext.asyncio.AsyncSession"
        | "sqlalchemy.ext.asyncio.async_sessionmaker.__call__"
        | "sqlalchemy.orm.sessionmaker[AsyncSession].__call__" => {
            callable(entered_self("sqlalchemy.ext.asyncio.AsyncSession", &[AsyncCm, Iter]))
        }
        "sqlalchemy.ext.asyncio.AsyncSession.begin" | "sqlalchemy.ext.asyncio.AsyncSession.begin_nested" => {
            callable(Object {
                enters: Some("sqlalchemy.ext.asyncio.AsyncSessionTransaction"),
                awaits_to: Some("sqlalchemy.ext.asyncio.AsyncSessionTransaction"),
                ..of("sqlalchemy.ext.asyncio.AsyncSessionTransaction", &[AsyncCm, Await])
            })
        }
        "sqlalchemy.ext.asyncio.AsyncSessionTransaction" => callable(Object {
            awaits_to: Some("sqlalchemy.ext.asyncio.AsyncSessionTransaction"),
            ..entered_self("sqlalchemy.ext.asyncio.AsyncSessionTransaction", &[AsyncCm, Await])
        }),
        // `session.stream(q)` is a coroutine: `async for row in await session.stream(q)`.
        "sqlalchemy.ext.asyncio.AsyncSession.stream" => callable(coroutine(Some("sqlalchemy.ext.asyncio.AsyncResult"))),
        "sqlalchemy.ext.asyncio.AsyncSession.stream_scalars" => {
            callable(coroutine(Some("sqlalchemy.ext.asyncio.AsyncScalarResult")))
        }
        "sqlalchemy.ext.asyncio.AsyncResult" => callable(of("sqlalchemy.ext.asyncio.AsyncResult", &[AsyncIter])),
        "sqlalchemy.ext.asyncio.AsyncScalarResult" => {
            callable(of("sqlalchemy.ext.asyncio.AsyncScalarResult", &[AsyncIter]))
        }
        "sqlalchemy.ext.asyncio.AsyncResult.scalars" => {
            callable(of("sqlalchemy.ext.asyncio.AsyncScalarResult", &[AsyncIter]))
        }
        "sqlalchemy.ext.asyncio.AsyncSession.execute"
        | "sqlalchemy.ext.asyncio.AsyncSession.scalars"
        | "sqlalchemy.ext.asyncio.AsyncSession.scalar"
        | "sqlalchemy.ext.asyncio.AsyncSession.get"
        | "sqlalchemy.ext.asyncio.AsyncSession.commit"
        | "sqlalchemy.ext.asyncio.AsyncSession.rollback"
        | "sqlalchemy.ext.asyncio.AsyncSession.close"
        | "sqlalchemy.ext.asyncio.AsyncSession.flush"
        | "sqlalchemy.ext.asyncio.AsyncSession.refresh"
        | "sqlalchemy.ext.asyncio.AsyncSession.delete" => callable(coroutine(None)),
        "sqlalchemy.orm.Session" | "sqlalchemy.orm.sessionmaker.__call__" => {
            callable(entered_self("sqlalchemy.orm.Session", &[Cm, Iter]))
        }
        "sqlalchemy.orm.Session.begin" => callable(object(None, ValueKind::Library, &[Cm])),
        // `sessionmaker()` makes whatever `class_=` says (see the resolver, which reads the
        // keyword); the table only describes the default.
        "sqlalchemy.orm.sessionmaker" => callable(of("sqlalchemy.orm.sessionmaker", &[Call])),
        "sqlalchemy.orm.sessionmaker[AsyncSession]" => {
            callable(of("sqlalchemy.orm.sessionmaker[AsyncSession]", &[Call]))
        }
        "sqlalchemy.create_engine" | "sqlalchemy.engine.Engine" => callable(of("sqlalchemy.engine.Engine", &[])),
        "sqlalchemy.engine.Engine.connect" | "sqlalchemy.engine.Connection" => {
            callable(entered_self("sqlalchemy.engine.Connection", &[Cm]))
        }
        "sqlalchemy.engine.Engine.begin" => {
            callable(Object { enters: Some("sqlalchemy.engine.Connection"), ..object(None, ValueKind::Library, &[Cm]) })
        }
        // redis.asyncio: pipelines are entered and awaited; pub/sub is entered, `listen()` iterated.
        // `Redis` is awaitable too (`await Redis(...)` initialises it).
        "redis.asyncio.Redis" | "redis.asyncio.from_url" => callable(Object {
            awaits_to: Some("redis.asyncio.Redis"),
            ..entered_self("redis.asyncio.Redis", &[AsyncCm, Await])
        }),
        "redis.asyncio.Redis.pipeline" | "redis.asyncio.client.Pipeline" => {
            callable(entered_self("redis.asyncio.client.Pipeline", &[AsyncCm, Await]))
        }
        "redis.asyncio.Redis.pubsub" | "redis.asyncio.client.PubSub" => {
            callable(entered_self("redis.asyncio.client.PubSub", &[AsyncCm]))
        }
        "redis.asyncio.client.PubSub.listen" => callable(async_generator()),
        "redis.asyncio.client.Pipeline.execute" => callable(coroutine(None)),
        "redis.Redis" | "redis.from_url" => callable(entered_self("redis.Redis", &[Cm])),
        "redis.Redis.pipeline" | "redis.client.Pipeline" => callable(entered_self("redis.client.Pipeline", &[Cm])),
        "redis.Redis.pubsub" | "redis.client.PubSub" => callable(entered_self("redis.client.PubSub", &[Cm])),
        "redis.client.PubSub.listen" => callable(generator()),
        // asyncpg
        "asyncpg.connect" => callable(coroutine(Some("asyncpg.connection.Connection"))),
        "asyncpg.create_pool" | "asyncpg.pool.Pool" => callable(Object {
            awaits_to: Some("asyncpg.pool.Pool"),
            ..entered_self("asyncpg.pool.Pool", &[Await, AsyncCm])
        }),
        "asyncpg.pool.Pool.acquire" | "asyncpg.pool.PoolAcquireContext" => callable(Object {
            enters: Some("asyncpg.connection.Connection"),
            awaits_to: Some("asyncpg.connection.Connection"),
            ..of("asyncpg.pool.PoolAcquireContext", &[Await, AsyncCm])
        }),
        "asyncpg.connection.Connection" => callable(of("asyncpg.connection.Connection", &[])),
        "asyncpg.connection.Connection.transaction" | "asyncpg.transaction.Transaction" => {
            callable(entered_self("asyncpg.transaction.Transaction", &[AsyncCm]))
        }
        "asyncpg.connection.Connection.cursor" | "asyncpg.cursor.CursorFactory" => {
            callable(of("asyncpg.cursor.CursorFactory", &[Await, AsyncIter]))
        }
        "asyncpg.connection.Connection.fetch"
        | "asyncpg.connection.Connection.fetchrow"
        | "asyncpg.connection.Connection.fetchval"
        | "asyncpg.connection.Connection.execute"
        | "asyncpg.connection.Connection.close"
        | "asyncpg.pool.Pool.close" => callable(coroutine(None)),
        // aiofiles: the file object iterates asynchronously but is not a context manager of its
        // own (only `aiofiles.open()` is), so a `with` on it would get a wrong fix; what it binds
        // stays unknown.
        "aiofiles.open" | "aiofiles.threadpool.AiofilesContextManager" => {
            callable(of("aiofiles.threadpool.AiofilesContextManager", &[Await, AsyncCm]))
        }
        // websockets: `connect()` is also an async iterator (reconnecting) since 10.0.
        "websockets.Connect" => {
            let version = versions.installed_version("websockets")?;
            if !at_least(&version, &[10]) {
                return None;
            }
            callable(Object {
                enters: Some("websockets.ClientConnection"),
                awaits_to: Some("websockets.ClientConnection"),
                ..of("websockets.Connect", &[Await, AsyncCm, AsyncIter])
            })
        }
        "websockets.ClientConnection" => callable(entered_self("websockets.ClientConnection", &[AsyncCm, AsyncIter])),
        "websockets.Serve" => callable(of("websockets.Serve", &[Await, AsyncCm])),
        // starlette / FastAPI: the test client is a sync context manager.
        "starlette.testclient.TestClient" => callable(entered_self("starlette.testclient.TestClient", &[Cm])),
        // async-timeout 5 dropped the sync `with` (4.x only warned).
        "async_timeout.timeout" | "async_timeout.timeout_at" => {
            let version = versions.installed_version("async_timeout")?;
            if at_least(&version, &[5]) {
                callable(object(None, ValueKind::Library, &[AsyncCm]))
            } else {
                callable(object(None, ValueKind::Library, &[AsyncCm, Cm]))
            }
        }
        // builtins
        "builtins.open" => callable(entered_self("builtins.TextIOWrapper", &[Cm, Iter])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoVersions;
    impl Versions for NoVersions {
        fn python_version(&self) -> Option<(u32, u32)> {
            None
        }
        fn installed_version(&self, _: &str) -> Option<Vec<u32>> {
            None
        }
    }

    #[test]
    fn every_listed_class_is_its_own_constructor() {
        struct All;
        impl Versions for All {
            fn python_version(&self) -> Option<(u32, u32)> {
                Some((3, 13))
            }
            fn installed_version(&self, _: &str) -> Option<Vec<u32>> {
                Some(vec![99])
            }
        }
        for class in CLASSES {
            let Some(Known::Callable(made)) = lookup(class, &All) else { panic!("{class} is not in the table") };
            assert_eq!(made.class, Some(*class), "{class}");
            assert!(instance(class, &All).is_some(), "{class}");
        }
    }

    #[test]
    fn versions_compare_by_release_parts() {
        assert!(at_least(&[3, 9, 1], &[3]));
        assert!(at_least(&[5], &[5, 0]));
        assert!(!at_least(&[4, 2, 9], &[5]));
        assert!(at_least(&[10, 0], &[10]));
    }

    #[test]
    fn version_keyed_entries_say_nothing_without_the_version() {
        for name in ["aiohttp.ClientSession", "async_timeout.timeout", "websockets.connect", "asyncio.as_completed"] {
            assert_eq!(lookup(name, &NoVersions), None, "{name}");
        }
    }
}
