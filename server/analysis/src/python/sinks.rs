//! The sinks of APM110: API parameters that take a callable or an object and will use it with a
//! protocol, kept as data. Each entry names the callable as it is imported and as it is defined
//! (typeshed or the installed package's source, where the type layer finds it), which argument,
//! what the API does with it, and what happens when the argument is of the wrong kind.
//!
//! The checker (`check.rs`) identifies the callee (our resolver, else the type layer), finds the
//! entry, and reports only when it knows the argument is of the kind that fails (a coroutine
//! function where a sync function is wanted, a coroutine object where a function is wanted, an
//! uncalled coroutine function or an async generator where an awaitable is wanted).

/// What the API needs the argument to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expects {
    /// A function it calls from synchronous code: a coroutine function (or an async generator
    /// function) there makes an object nobody awaits or iterates.
    SyncFunction,
    /// An async function it calls and awaits: a coroutine object is not callable.
    AsyncFunction,
    /// An awaitable it awaits or schedules: a coroutine function not called, or an async
    /// generator, is not one.
    Awaitable,
    /// A dependency: `FastAPI` calls it and injects what the call gives, entering it only when
    /// the function is a (sync or async) generator function. A function decorated to make a
    /// context manager is not entered.
    Dependency,
    /// A factory of an async context manager it enters (an app's `lifespan`): a plain coroutine
    /// function makes a coroutine, which has no `__aenter__`.
    AsyncContextManagerFactory,
}

/// What a wrong argument leads to, as checked by running it (tests/corpus).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing is raised: the coroutine is made and never awaited, so its body never runs.
    Silent,
    /// The API raises this at the call (or when it runs the argument).
    Raises(&'static str),
}

#[derive(Debug)]
pub struct Sink {
    /// The names the callable is known by: as imported (`asyncio.run`) and as defined
    /// (`asyncio.runners.run`; a method as `module.Class.method`).
    pub names: &'static [&'static str],
    /// The argument's position among the positional arguments.
    pub position: Option<u32>,
    /// The argument's keyword.
    pub keyword: Option<&'static str>,
    /// Every positional argument from `position` on (`asyncio.gather(*aws)`).
    pub variadic: bool,
    pub expects: Expects,
    /// What the API does with the argument, for the message ("calls it in a new thread").
    pub does: &'static str,
    pub outcome: Outcome,
    /// The library, as `asyncsense rule APM110` lists it.
    pub library: &'static str,
    /// A decorator: the argument is the function it decorates (`@click.command()` or
    /// `@click.command` above `def`).
    pub decorates: bool,
    /// Keywords that hand the API a class of the caller's own (`cls=`, `base=`), which may well
    /// run the argument another way: given one, the call is silent.
    pub silent_with: &'static [&'static str],
    /// The distribution whose installed version must be known for the entry to apply, because
    /// what the API does depends on the environment (`None`: always applies).
    pub needs_installed: Option<&'static str>,
    /// Distributions that, installed, change what the API does with the argument (a worker
    /// pool that runs coroutines): installed, the entry does not apply.
    pub unless_installed: &'static [&'static str],
}

const fn sink(
    names: &'static [&'static str],
    position: Option<u32>,
    keyword: Option<&'static str>,
    expects: Expects,
    does: &'static str,
    outcome: Outcome,
    library: &'static str,
) -> Sink {
    Sink {
        names,
        position,
        keyword,
        variadic: false,
        expects,
        does,
        outcome,
        library,
        decorates: false,
        silent_with: &[],
        needs_installed: None,
        unless_installed: &[],
    }
}

/// A decorator that takes a synchronous function and calls it itself, dropping what it returns.
const fn sync_decorator(
    names: &'static [&'static str],
    does: &'static str,
    library: &'static str,
    silent_with: &'static [&'static str],
) -> Sink {
    Sink {
        names,
        position: None,
        keyword: None,
        variadic: false,
        expects: SyncFunction,
        does,
        outcome: Silent,
        library,
        decorates: true,
        silent_with,
        needs_installed: None,
        unless_installed: &[],
    }
}

const THREAD: &str = "calls it in a worker thread and hands back what it returns";
/// Only debug mode (`PYTHONASYNCIODEBUG=1`) checks and raises `TypeError`.
const CALLBACK: &str = "calls it as a plain callback on the loop and drops what it returns";
const TYPE_ERROR: Outcome = Outcome::Raises("TypeError");
const AWAITS: &str = "awaits it (it needs an awaitable, such as a coroutine object)";
const CALLS_AND_AWAITS: &str = "calls it and awaits what the call returns (it needs an async function)";

const DEPENDENCY: &str =
    "calls it for each request and injects what it returns, entering it only when it is a generator function";
/// Checked with `FastAPI` 0.165.0 (tests/corpus): it unwraps the decorator and then fails on every
/// request; older releases inject the context-manager object itself.
const DEPENDENCY_OUTCOME: Outcome = Outcome::Raises("TypeError on every request (FastAPI 0.165)");

use Expects::{AsyncContextManagerFactory, AsyncFunction, Awaitable, Dependency, SyncFunction};
use Outcome::Silent;

/// The sinks, by library. A method is named on the class that defines it in the stubs, and on
/// the classes that override it there.
pub static SINKS: &[Sink] = &[
    // --- standard library: sync callers of a function ---
    sink(
        &["asyncio.events.AbstractEventLoop.run_in_executor", "asyncio.base_events.BaseEventLoop.run_in_executor"],
        Some(1),
        Some("func"),
        SyncFunction,
        THREAD,
        Silent,
        "asyncio",
    ),
    sink(
        &["asyncio.to_thread", "asyncio.threads.to_thread"],
        Some(0),
        Some("func"),
        SyncFunction,
        THREAD,
        Silent,
        "asyncio",
    ),
    sink(
        &["concurrent.futures._base.Executor.submit", "concurrent.futures.thread.ThreadPoolExecutor.submit"],
        Some(0),
        Some("fn"),
        SyncFunction,
        THREAD,
        Silent,
        "concurrent.futures",
    ),
    sink(
        &["concurrent.futures._base.Executor.map"],
        Some(0),
        Some("fn"),
        SyncFunction,
        "calls it in worker threads and hands back what each call returns",
        Silent,
        "concurrent.futures",
    ),
    sink(
        &["threading.Thread"],
        Some(1),
        Some("target"),
        SyncFunction,
        "calls it in a new thread and drops what it returns",
        Silent,
        "threading",
    ),
    sink(
        &["threading.Timer"],
        Some(1),
        Some("function"),
        SyncFunction,
        "calls it in a new thread when the timer fires and drops what it returns",
        Silent,
        "threading",
    ),
    sink(
        &["asyncio.events.AbstractEventLoop.call_soon", "asyncio.base_events.BaseEventLoop.call_soon"],
        Some(0),
        Some("callback"),
        SyncFunction,
        CALLBACK,
        Silent,
        "asyncio",
    ),
    sink(
        &[
            "asyncio.events.AbstractEventLoop.call_soon_threadsafe",
            "asyncio.base_events.BaseEventLoop.call_soon_threadsafe",
        ],
        Some(0),
        Some("callback"),
        SyncFunction,
        CALLBACK,
        Silent,
        "asyncio",
    ),
    sink(
        &["asyncio.events.AbstractEventLoop.call_later", "asyncio.base_events.BaseEventLoop.call_later"],
        Some(1),
        Some("callback"),
        SyncFunction,
        CALLBACK,
        Silent,
        "asyncio",
    ),
    sink(
        &["asyncio.events.AbstractEventLoop.call_at", "asyncio.base_events.BaseEventLoop.call_at"],
        Some(1),
        Some("callback"),
        SyncFunction,
        CALLBACK,
        Silent,
        "asyncio",
    ),
    sink(
        &[
            "asyncio.events.AbstractEventLoop.add_signal_handler",
            "asyncio.unix_events._UnixSelectorEventLoop.add_signal_handler",
        ],
        Some(1),
        Some("callback"),
        SyncFunction,
        "rejects a coroutine function (it calls callbacks as plain functions)",
        TYPE_ERROR,
        "asyncio",
    ),
    sink(
        &["signal.signal"],
        Some(1),
        Some("handler"),
        SyncFunction,
        "calls it when the signal arrives and drops what it returns",
        Silent,
        "signal",
    ),
    sink(
        &["atexit.register"],
        Some(0),
        Some("func"),
        SyncFunction,
        "calls it when the interpreter exits and drops what it returns",
        Silent,
        "atexit",
    ),
    sink(
        &["weakref.finalize"],
        Some(1),
        Some("func"),
        SyncFunction,
        "calls it when the object is collected and drops what it returns",
        Silent,
        "weakref",
    ),
    // --- standard library: async callers of an awaitable ---
    sink(
        &["asyncio.run", "asyncio.runners.run"],
        Some(0),
        Some("main"),
        Awaitable,
        "runs it on a new event loop (it needs a coroutine object)",
        Outcome::Raises("ValueError"),
        "asyncio",
    ),
    sink(
        &["asyncio.create_task", "asyncio.tasks.create_task"],
        Some(0),
        Some("coro"),
        Awaitable,
        "schedules it as a task (it needs a coroutine object)",
        TYPE_ERROR,
        "asyncio",
    ),
    sink(
        &["asyncio.events.AbstractEventLoop.create_task", "asyncio.base_events.BaseEventLoop.create_task"],
        Some(0),
        Some("coro"),
        Awaitable,
        "schedules it as a task (it needs a coroutine object)",
        TYPE_ERROR,
        "asyncio",
    ),
    sink(
        &["asyncio.taskgroups.TaskGroup.create_task"],
        Some(0),
        Some("coro"),
        Awaitable,
        "schedules it as a task (it needs a coroutine object)",
        TYPE_ERROR,
        "asyncio",
    ),
    sink(
        &["asyncio.ensure_future", "asyncio.tasks.ensure_future"],
        Some(0),
        None,
        Awaitable,
        AWAITS,
        TYPE_ERROR,
        "asyncio",
    ),
    sink(
        &["asyncio.wait_for", "asyncio.tasks.wait_for"],
        Some(0),
        Some("fut"),
        Awaitable,
        AWAITS,
        TYPE_ERROR,
        "asyncio",
    ),
    sink(&["asyncio.shield", "asyncio.tasks.shield"], Some(0), Some("arg"), Awaitable, AWAITS, TYPE_ERROR, "asyncio"),
    Sink {
        names: &["asyncio.gather", "asyncio.tasks.gather"],
        position: Some(0),
        keyword: None,
        variadic: true,
        expects: Awaitable,
        does: AWAITS,
        outcome: TYPE_ERROR,
        library: "asyncio",
        decorates: false,
        silent_with: &[],
        needs_installed: None,
        unless_installed: &[],
    },
    sink(
        &[
            "asyncio.events.AbstractEventLoop.run_until_complete",
            "asyncio.base_events.BaseEventLoop.run_until_complete",
        ],
        Some(0),
        Some("future"),
        Awaitable,
        AWAITS,
        TYPE_ERROR,
        "asyncio",
    ),
    sink(
        &["asyncio.run_coroutine_threadsafe", "asyncio.tasks.run_coroutine_threadsafe"],
        Some(0),
        Some("coro"),
        Awaitable,
        "schedules it on the loop of another thread (it needs a coroutine object)",
        TYPE_ERROR,
        "asyncio",
    ),
    // --- anyio and trio: async callers of an async function ---
    sink(
        &["anyio.abc._tasks.TaskGroup.start_soon", "anyio._backends._asyncio.TaskGroup.start_soon"],
        Some(0),
        Some("func"),
        AsyncFunction,
        CALLS_AND_AWAITS,
        TYPE_ERROR,
        "anyio",
    ),
    sink(
        &["anyio.abc._tasks.TaskGroup.start", "anyio._backends._asyncio.TaskGroup.start"],
        Some(0),
        Some("func"),
        AsyncFunction,
        CALLS_AND_AWAITS,
        TYPE_ERROR,
        "anyio",
    ),
    sink(
        &["anyio.run", "anyio._core._eventloop.run"],
        Some(0),
        Some("func"),
        AsyncFunction,
        CALLS_AND_AWAITS,
        TYPE_ERROR,
        "anyio",
    ),
    sink(
        &["trio.run", "trio._core._run.run"],
        Some(0),
        Some("async_fn"),
        AsyncFunction,
        CALLS_AND_AWAITS,
        TYPE_ERROR,
        "trio",
    ),
    sink(
        &["trio._core._run.Nursery.start_soon", "trio.Nursery.start_soon"],
        Some(0),
        Some("async_fn"),
        AsyncFunction,
        CALLS_AND_AWAITS,
        TYPE_ERROR,
        "trio",
    ),
    // --- FastAPI: dependencies ---
    sink(
        &["fastapi.Depends", "fastapi.param_functions.Depends"],
        Some(0),
        Some("dependency"),
        Dependency,
        DEPENDENCY,
        DEPENDENCY_OUTCOME,
        "fastapi",
    ),
    sink(
        &["fastapi.Security", "fastapi.param_functions.Security"],
        Some(0),
        Some("dependency"),
        Dependency,
        DEPENDENCY,
        DEPENDENCY_OUTCOME,
        "fastapi",
    ),
    sink(
        &[
            "fastapi.FastAPI",
            "fastapi.applications.FastAPI",
            "fastapi.APIRouter",
            "fastapi.routing.APIRouter",
            "starlette.applications.Starlette",
            "starlette.routing.Router",
        ],
        None,
        Some("lifespan"),
        AsyncContextManagerFactory,
        "calls it with the app when the app starts and enters what it returns with `async with`",
        Outcome::Raises("TypeError when the app starts"),
        "fastapi, starlette",
    ),
    // --- anyio: a sync caller ---
    sink(&["anyio.to_thread.run_sync"], Some(0), Some("func"), SyncFunction, THREAD, Silent, "anyio"),
    // --- command-line and task frameworks: decorators that call the function synchronously ---
    // Checked with click 8.5.1, typer 0.29.2 and celery 5.7.0 (tests/corpus): none of them awaits
    // what the function returns, and the command (or task) succeeds having done nothing.
    sync_decorator(
        &[
            "click.command",
            "click.decorators.command",
            "click.group",
            "click.decorators.group",
            "click.core.Group.command",
            "click.core.Group.group",
        ],
        COMMAND,
        "click",
        &["cls"],
    ),
    sync_decorator(&["typer.main.Typer.command", "typer.main.Typer.callback"], COMMAND, "typer", &["cls"]),
    // `celery-aio-pool` runs `async def` tasks, configured outside the code (`--pool=custom`):
    // where it is installed, or where the environment is not known, the entry does not apply.
    Sink {
        needs_installed: Some("celery"),
        unless_installed: &["celery-aio-pool"],
        ..sync_decorator(
            &["celery.app.base.Celery.task", "celery.app.shared_task", "celery.shared_task"],
            "makes a task that a worker runs by calling the function and storing what it returns as the result",
            "celery",
            &["base"],
        )
    },
];

const COMMAND: &str = "makes a command that calls the function when it runs and drops what it returns";

/// Decorators that keep the kind of the function they decorate (they register a parameter, or
/// wrap it in a sync function that returns what it returns): below a decorator sink they leave
/// what it receives known.
pub static KIND_KEEPING_DECORATORS: &[&str] = &[
    "click.option",
    "click.decorators.option",
    "click.argument",
    "click.decorators.argument",
    "click.pass_context",
    "click.decorators.pass_context",
    "click.pass_obj",
    "click.decorators.pass_obj",
    "click.version_option",
    "click.decorators.version_option",
    "click.help_option",
    "click.decorators.help_option",
    "click.confirmation_option",
    "click.decorators.confirmation_option",
    "click.password_option",
    "click.decorators.password_option",
];

/// The entry for the callable of this name (as imported or as defined).
pub fn sink_named(name: &str) -> Option<&'static Sink> {
    SINKS.iter().find(|sink| sink.names.contains(&name))
}

/// Whether a call whose callee's last name is `name` may be a sink: the facts keep only those.
pub fn may_be_sink(last_name: &str) -> bool {
    // Asked for every call of every module on every keystroke: the last names are gathered once.
    static LAST_NAMES: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    LAST_NAMES
        .get_or_init(|| SINKS.iter().flat_map(|sink| sink.names).filter_map(|name| name.rsplit('.').next()).collect())
        .contains(last_name)
}

impl Sink {
    /// Whether the argument at `position` (positional) or `keyword` is the one this sink uses.
    pub fn takes(&self, position: Option<u32>, keyword: Option<&str>) -> bool {
        match (position, keyword) {
            (Some(position), None) => {
                self.position == Some(position)
                    || (self.variadic && self.position.is_some_and(|first| position >= first))
            }
            (None, Some(keyword)) => self.keyword == Some(keyword),
            (None, None) => self.decorates,
            _ => false,
        }
    }

    /// The callable's shortest name, for documentation.
    pub fn shown_name(&self) -> &'static str {
        self.names.iter().copied().min_by_key(|name| name.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sink_names_one_argument_and_is_found_by_each_of_its_names() {
        for sink in SINKS {
            assert!((sink.position.is_some() || sink.keyword.is_some()) != sink.decorates, "{sink:?}");
            for name in sink.names {
                assert!(std::ptr::eq(sink_named(name).expect("found"), sink), "{name} names two sinks");
                assert!(may_be_sink(name.rsplit('.').next().expect("a last name")));
            }
        }
        assert!(!may_be_sink("open"));
        let gather = sink_named("asyncio.gather").expect("gather");
        assert!(
            gather.takes(Some(0), None)
                && gather.takes(Some(3), None)
                && !gather.takes(None, Some("return_exceptions"))
        );
        let thread = sink_named("threading.Thread").expect("Thread");
        assert!(thread.takes(Some(1), None) && thread.takes(None, Some("target")) && !thread.takes(Some(0), None));
    }
}
