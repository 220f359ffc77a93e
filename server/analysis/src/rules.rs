//! The rule catalogue: stable codes, kebab-case names, defaults and documentation.
//!
//! This mirrors `shared/RULES.md`. Codes and names are a public contract (they appear in
//! suppression comments and configuration), so they never change once released.

use std::fmt;

/// How loudly a rule reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! rules {
    ($($variant:ident => ($code:literal, $name:literal, $enabled:literal, $severity:ident, $summary:literal),)*) => {
        /// Every rule asyncsense knows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $($variant,)*
        }

        impl Rule {
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable code, e.g. `APM101`.
            pub const fn code(self) -> &'static str {
                match self { $(Rule::$variant => $code,)* }
            }

            /// The kebab-case name, e.g. `async-with-on-async-generator`.
            pub const fn name(self) -> &'static str {
                match self { $(Rule::$variant => $name,)* }
            }

            /// Whether the rule runs without being selected explicitly.
            pub const fn enabled_by_default(self) -> bool {
                match self { $(Rule::$variant => $enabled,)* }
            }

            pub const fn severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$severity,)* }
            }

            /// One sentence on what the rule flags.
            pub const fn summary(self) -> &'static str {
                match self { $(Rule::$variant => $summary,)* }
            }
        }
    };
}

use std::fmt::Write as _;

rules! {
    SyntaxError => ("APM000", "syntax-error", true, Error,
        "code the parser cannot read"),
    AsyncWithOnAsyncGenerator => ("APM101", "async-with-on-async-generator", true, Error,
        "`async with` on an async generator (or another object that is only async-iterable)"),
    AsyncForOnAsyncContextManager => ("APM102", "async-for-on-async-context-manager", true, Error,
        "`async for` over an async context manager"),
    WithOnAsyncObject => ("APM103", "with-on-async-object", true, Error,
        "plain `with` on an object that is only an async context manager or an async generator"),
    ForOnAsyncIterable => ("APM104", "for-on-async-iterable", true, Error,
        "plain `for` over an object that is only async-iterable"),
    AsyncForOnSyncIterable => ("APM105", "async-for-on-sync-iterable", true, Error,
        "`async for` over a synchronous generator or iterable"),
    AsyncWithOnSyncContextManager => ("APM106", "async-with-on-sync-context-manager", true, Error,
        "`async with` on a synchronous context manager"),
    AwaitOnNonAwaitable => ("APM107", "await-on-non-awaitable", true, Error,
        "`await` on an async generator or another known non-awaitable"),
    MissingAwait => ("APM108", "missing-await", true, Error,
        "`async with`/`async for` on a coroutine whose awaited result has the protocol"),
    UncalledFactory => ("APM109", "uncalled-factory", true, Error,
        "a function used where its call result was meant"),
    ApiProtocolMismatch => ("APM110", "api-protocol-mismatch", true, Error,
        "a callable or object handed to an API that will use it with a protocol it lacks"),
    TestDoubleProtocolMismatch => ("APM201", "test-double-protocol-mismatch", true, Warning,
        "a test double emulates a different protocol than the real target it replaces"),
    AnnotationContradictsBody => ("APM301", "annotation-contradicts-body", true, Warning,
        "a return annotation that contradicts what the function body makes"),
    AmbiguousFactoryName => ("APM302", "ambiguous-factory-name", false, Warning,
        "an async generator named like a context-manager getter and used as one"),
    StreamAsGuard => ("APM401", "stream-as-guard", true, Error,
        "a lazy stream bound like an RAII scope guard and never polled"),
    DiscardedStream => ("APM402", "discarded-stream", true, Warning,
        "a stream discarded without being polled"),
    DroppedGuard => ("APM403", "dropped-guard", true, Error,
        "a lock or span guard released on the spot by `let _ =`"),
    SpanGuardAcrossAwait => ("APM404", "span-guard-across-await", true, Warning,
        "a tracing span guard held across an `.await`"),
    UnawaitedFutureBinding => ("APM405", "unawaited-future-binding", true, Error,
        "a future bound to a name and never awaited"),
    StreamRecreatedInLoop => ("APM406", "stream-recreated-in-loop", true, Warning,
        "a fresh stream created on every loop iteration"),
    IfLetOnce => ("APM407", "if-let-once", false, Warning,
        "a spawned task that handles one message in an `if let` and ends"),
}

impl Rule {
    /// Looks a rule up by code (`APM101`, any case) or name (`async-with-on-async-generator`).
    pub fn from_code_or_name(text: &str) -> Option<Rule> {
        let text = text.trim();
        Rule::ALL.iter().copied().find(|rule| rule.code().eq_ignore_ascii_case(text) || rule.name() == text)
    }

    /// The rules a selector names: a code or name, a code prefix (`APM1`, `APM10`, `apm`, as
    /// ruff's selectors), or `ALL`. Empty when it names nothing.
    pub fn selected_by(text: &str) -> Vec<Rule> {
        let text = text.trim();
        if let Some(rule) = Rule::from_code_or_name(text) {
            return vec![rule];
        }
        if text.eq_ignore_ascii_case("ALL") {
            return Rule::ALL.to_vec();
        }
        let digits = match (text.get(..3), text.get(3..)) {
            (Some(letters), Some(digits))
                if letters.eq_ignore_ascii_case("APM") && digits.chars().all(|ch| ch.is_ascii_digit()) =>
            {
                digits
            }
            _ => return Vec::new(),
        };
        Rule::ALL.iter().copied().filter(|rule| rule.code()[3..].starts_with(digits)).collect()
    }

    /// Long-form documentation, printed by `asyncsense rule CODE`.
    pub fn documentation(self) -> String {
        let (why, example, fixes) = match self {
            Rule::SyntaxError => (
                "The parser could not read this code, so the checks see only what it recovered around \
                 it: findings further down may be missing, and `check --fix` cannot be trusted to leave \
                 the file working. Always on; `--ignore`, `# noqa` and configuration do not turn it off.",
                "async def half_written(:  # APM000\n    ...",
                "none: fix the code.",
            ),
            Rule::AsyncWithOnAsyncGenerator => (
                "An `async def` that contains `yield` is an async generator function: calling it gives an \
                 object you iterate with `async for`. It has no `__aenter__`/`__aexit__`, so `async with` \
                 fails at runtime with `TypeError: 'async_generator' object does not support the \
                 asynchronous context manager protocol`. Type checkers miss it when the factory travels \
                 through an untyped attribute or a constructor, and unit tests miss it because `MagicMock` \
                 implements `__aenter__`.",
                "async def get_session():\n    yield Session()\n\nasync with get_session() as session:  # APM101\n    ...",
                "Which fix keeps the program's behaviour depends on the generator's body:\n\
                 - It yields once (a session or resource dependency: set up, `yield`, commit or clean \
                 up). (safe, preferred) wrap it at this use: `async with \
                 contextlib.asynccontextmanager(get_session)() as session:` (the module's own spelling \
                 of `asynccontextmanager` is reused, or `import contextlib` is added). Leaving the block, \
                 by its end, `return`, `break` or an exception, runs the code after `yield`, and an \
                 exception in the body is thrown into the generator at its `yield`, so commit and \
                 rollback run as written. (safe, editor only) decorate the definition with \
                 `@contextlib.asynccontextmanager`, offered only when every use in the workspace enters \
                 it: a use that iterates it or hands it to an API (`Depends(get_session)`) would break.\n\
                 - It yields many values (a stream) and the block only iterates what it enters: (safe) \
                 iterate it directly, `async with open_blob(p) as s: async for chunk in s:` becomes \
                 `async for chunk in open_blob(p):`.\n\
                 - Swap the scope guard for stream iteration, `async with f() as s:` to `async for s in \
                 f():`: unsafe, because a `return`, `break` or exception leaves the loop with the \
                 generator suspended at its `yield`, so its code after `yield` (a commit, a rollback) \
                 does not run, and exceptions in the body never reach it. It is safe only when nothing \
                 of the generator runs after its only `yield` (the `yield` is its last statement, with \
                 no `try`, `with` or `return` around or before it).\n\
                 - The generator's body is not in the workspace (a library, a declared type): every \
                 fix is offered as unsafe.\n\n\
                 Not reported: a use directly inside a block that expects the error, \
                 `with pytest.raises(TypeError):`, `self.assertRaises(AttributeError)`, \
                 `assertRaisesRegex`, trio's `RaisesGroup(TypeError)`, or a `try` whose own handler \
                 names `TypeError` or `AttributeError` (the error before Python 3.11); a broad \
                 `except Exception:` does not count. Tests that check the mismatch fails do this on \
                 purpose, and a fix there would break them. The same holds for every rule from APM101 \
                 to APM109.",
            ),
            Rule::AsyncForOnAsyncContextManager => (
                "An async context manager (from `@asynccontextmanager` or a class with \
                 `__aenter__`/`__aexit__`) is entered, not iterated: `async for` (or `anext()`) fails with \
                 `TypeError: 'async for' requires an object with __aiter__ method`.",
                "@asynccontextmanager\nasync def transaction(): ...\n\nasync for tx in transaction():  # APM102\n    ...",
                "(unsafe) `async with transaction() as tx:`, body unchanged: the body now runs once, \
                 with what entering gives, where the loop meant to run it per item (if the entered \
                 object is itself iterable, iterate that inside the block). Not offered when the loop \
                 has an `else:` or its own `break`/`continue`.",
            ),
            Rule::WithOnAsyncObject => (
                "A plain `with` calls `__enter__`, which async context managers and async generators do \
                 not have (or define only to raise, like aiohttp's `ClientSession`).",
                "with aiohttp.ClientSession() as client:  # APM103\n    ...",
                "(safe, inside an `async def`) `async with`. Outside an async function the code must move \
                 into one first; no fix is offered.",
            ),
            Rule::ForOnAsyncIterable => (
                "A plain `for` (or comprehension) calls `__iter__`; async iterables only have `__aiter__`. \
                 So do the builtins that iterate their argument (`list`, `tuple`, `set`, `sorted`, `sum`, \
                 `min`/`max` of one argument, `any`, `all`, `dict`, `enumerate`, `zip`, `map`, `filter`, \
                 `\"sep\".join`): handed an async generator, or a generator expression with `async for` \
                 or an awaited element (which makes an async generator), they raise `TypeError`.",
                "for row in fetch_rows():  # APM104, fetch_rows is an async generator\n    ...\nids = \",\".join(r.id async for r in fetch_rows())  # APM104",
                "(safe, inside an `async def`) `async for`, also in list, set and dict comprehensions. \
                 Not offered in a generator expression (it would become an async generator, which its \
                 consumer, `sum()` or `list()`, cannot iterate either) or in a comprehension nested in \
                 another (a syntax error before Python 3.11). For a builtin, collect the items first with \
                 an async comprehension, directly in an `async def` (not in a lambda or a comprehension): \
                 `\",\".join([r.id async for r in fetch_rows()])`, `sorted([item async for item in rows()])`; \
                 safe for builtins that consume every item, unsafe for `any`, `all`, `zip`, `map`, `filter` \
                 and `enumerate`, which stop early or are lazy: collected first, an endless generator never \
                 finishes.",
            ),
            Rule::AsyncForOnSyncIterable => (
                "`async for` needs `__aiter__`; a generator or list only has `__iter__`.",
                "def numbers():\n    yield 1\n\nasync for n in numbers():  # APM105\n    ...",
                "(safe) a plain `for`; not offered in a generator expression, whose consumer iterates \
                 it with `async for`.",
            ),
            Rule::AsyncWithOnSyncContextManager => (
                "`async with` needs `__aenter__`; a `@contextmanager` function, `open()` or \
                 `threading.Lock()` only has `__enter__`.",
                "@contextmanager\ndef cd(path): ...\n\nasync with cd('/tmp'):  # APM106\n    ...",
                "(safe) a plain `with`.",
            ),
            Rule::AwaitOnNonAwaitable => (
                "`await` needs `__await__`. Awaiting an async generator (or a plain object) raises \
                 `TypeError: object async_generator can't be used in 'await' expression`.",
                "item = await stream_items()  # APM107, stream_items is an async generator",
                "(unsafe, async generators only) `await anext(stream_items())`, which takes one item; \
                 the rest of the generator never runs (Python 3.10+ for `anext`).",
            ),
            Rule::MissingAwait => (
                "A coroutine must be awaited before its result can be entered or iterated: \
                 `async for row in session.stream(q)` iterates the coroutine, not the result, and \
                 `for name in aiofiles.os.listdir(path)` raises `TypeError: 'coroutine' object is not \
                 iterable` (and warns that the coroutine was never awaited).",
                "async def connect() -> Connection: ...\n\nasync with connect() as conn:  # APM108\n    ...",
                "(safe) insert `await`: `async with await connect() as conn:`.",
            ),
            Rule::UncalledFactory => (
                "The function itself is not the object it makes: `async with get_session:` enters the \
                 function object.",
                "async with get_session as session:  # APM109\n    ...",
                "add the call: `async with get_session() as session:`; safe when the function is known \
                 to take no required argument, unsafe otherwise (the arguments are yours to add).",
            ),
            Rule::ApiProtocolMismatch => (
                "An API that takes a callable or an object uses it with one protocol: a worker thread \
                 or a signal handler calls a function and drops what it returns, so a coroutine \
                 function there makes a coroutine nobody awaits and its work never happens; \
                 `asyncio.run`, `create_task` and `gather` need an awaitable, so a coroutine function \
                 not called fails; anyio's and trio's `start_soon` and `run` call what they get, so a \
                 coroutine object (`f()`) fails. Command-line and task frameworks (click, typer, celery)                  call the function they decorate synchronously: an `async def` command exits 0 having                  done nothing, unless a command class or task base of the caller's own (`cls=`,                  `base=`) or a decorator below awaits it. Type checkers often accept these (`Callable[..., \
                 object]` takes a coroutine function), and the silent ones pass every test that does \
                 not check the work was done. The callee and the argument must both be known (our \
                 resolver, else the type layer); otherwise nothing is said.",
                "threading.Thread(target=refresh_cache).start()  # APM110: refresh_cache is an async def\nasyncio.run(main)  # APM110: main is not called",
                "(safe when the function takes no required argument and is read from source; unsafe \
                 otherwise) add the call: `asyncio.run(main())`. (safe) pass the function and its \
                 arguments separately: `tg.start_soon(worker(a, b))` becomes `tg.start_soon(worker, a, \
                 b)`; the arguments are evaluated in the same order, and the call it replaces always \
                 failed. A coroutine function handed to a sync caller gets no fix: where its work \
                 should run (which loop, which thread) is the author's decision.",
            ),
            Rule::AnnotationContradictsBody => (
                "The body decides what calling the function gives; an annotation that says otherwise \
                 misleads readers and type checkers (an async generator annotated `-> AsyncContextManager[S]` \
                 passes type checks at `async with` sites and fails at runtime). A coroutine stub \
                 annotated `-> AsyncIterator[T]` declares `async for x in await f()`.",
                "async def get_session() -> AsyncContextManager[Session]:  # APM301\n    yield Session()",
                "(safe) an async generator annotated otherwise: `-> AsyncIterator[T]` when the \
                 annotation has one type argument, importing `AsyncIterator` from `collections.abc` when \
                 the target Python is 3.9 or newer and from `typing` otherwise (annotations are \
                 evaluated at definition time, and `collections.abc.AsyncIterator[T]` fails on 3.8). \
                 (unsafe) a coroutine stub annotated as an async iterator becomes an async generator: \
                 a body of `...`/`pass` becomes `return` then `yield` (an empty async generator), a \
                 `raise NotImplementedError` gets a `yield` after it; calling it now gives an async \
                 generator, so code that awaits it (`await super().f()`) stops working.",
            ),
            Rule::AmbiguousFactoryName => (
                "Off by default. A name like `get_session` promises a context manager; when the function \
                 is an async generator and someone enters it with `async with`, the name caused the bug.",
                "async def get_session():  # APM302, entered with `async with` elsewhere\n    yield Session()",
                "none: rename it (`iter_sessions`) with the editor's rename, or decorate it.",
            ),
            Rule::TestDoubleProtocolMismatch => (
                "A test replaces the real object with a double (`patch`, `patch.object`, `mocker.patch`, \
                 `monkeypatch.setattr`) that speaks another protocol: a `MagicMock` configured with \
                 `.return_value.__aenter__`, an `AsyncMock`, or an `@asynccontextmanager` fake over a real \
                 async generator. The test drives the double the way production code drives the real \
                 object, so the test passes while production fails.",
                "async def get_session():\n    yield Session()\n\n@patch(\"app.db.get_session\")\ndef \
                 test_users(factory):\n    factory.return_value.__aenter__.return_value = FakeSession()  # APM201",
                "none: make the double match the real protocol (configure `__aiter__`, or use an async \
                 generator fake), or fix the real object if the double describes the intended API.",
            ),
            Rule::StreamAsGuard => (
                "Streams are lazy: a function returning `impl Stream` (or `BoxStream`, \
                 `Pin<Box<dyn Stream>>`, or whose body is `stream!`, `try_stream!`, \
                 `futures::stream::unfold`/`iter`, `ReceiverStream::new`) does nothing until the stream \
                 is polled. Bound to a name like a scope guard (`let _session = sessions();`) and never \
                 polled, none of its work runs, and it compiles without a warning.",
                "let _session = sessions();  // APM401, sessions() -> impl Stream<Item = Session>\n\
                 do_work().await;",
                "(unsafe) iterate it: `let mut sessions = std::pin::pin!(sessions()); while let \
                 Some(session) = sessions.next().await { <rest of block> }`, adding `use \
                 futures::StreamExt;` when missing. The rest of the block now runs once per item.",
            ),
            Rule::DiscardedStream => (
                "A stream that is dropped without being polled never runs. `let _ = s;`, `_ = s;` or a \
                 bare statement of a stream type that is not `#[must_use]` (`stream! { .. };`, \
                 `ReceiverStream::new(rx);`) throws it away silently.",
                "let _ = ReceiverStream::new(rx);  // APM402",
                "none: poll the stream (`while let Some(x) = s.next().await`) or remove the statement.",
            ),
            Rule::DroppedGuard => (
                "`let _ =` does not bind: the value is dropped at the end of the statement. On an awaited \
                 tokio `lock()`, `read()`, `write()` or `acquire*()` result, or a tracing span's \
                 `enter()`/`entered()` guard, the lock or span is released on the spot and the code \
                 after it runs unguarded. Bare statements of tokio's owned guards are reported too.",
                "let _ = state.lock().await;  // APM403\nstate_changes();",
                "(unsafe) `let _ =` becomes `let _guard =`: the guard is now held to the end of the \
                 scope, which changes what runs under it.",
            ),
            Rule::SpanGuardAcrossAwait => (
                "A tracing `Entered`/`EnteredSpan` guard is thread-local: held across an `.await` in an \
                 async fn or block, the span stays entered while the task is suspended, so whatever else \
                 runs on that thread is recorded inside it, and the span may be exited on another thread.",
                "let _guard = span.enter();\nfetch().await;  // APM404",
                "(unsafe) move the awaited work into `async { … }.instrument(span.clone()).await`.",
            ),
            Rule::UnawaitedFutureBinding => (
                "Futures are lazy: a future bound to a name and never awaited (or dropped) does none of \
                 its work. `let _guard = tokio_mutex.lock();` holds a future, not the lock.",
                "let _guard = mutex.lock();  // APM405\nlet f = work();\ndrop(f);",
                "(unsafe) add `.await`: the future now runs where it is bound.",
            ),
            Rule::StreamRecreatedInLoop => (
                "`while let Some(x) = make_stream().next().await` calls `make_stream()` on every \
                 iteration: each turn of the loop starts a fresh stream and takes its first item, so \
                 the loop never advances (or never ends).",
                "while let Some(event) = events().next().await {  // APM406\n    handle(event);\n}",
                "(unsafe) hoist the stream: `let mut s = std::pin::pin!(make_stream()); while let \
                 Some(x) = s.next().await { … }`.",
            ),
            Rule::IfLetOnce => (
                "Off by default. A spawned task without a loop that handles one `rx.recv().await` or \
                 `s.next().await` in an `if let` ends after the first message; the senders then see \
                 a closed channel. Usually a `while let` was meant.",
                "tokio::spawn(async move {\n    if let Some(job) = rx.recv().await {  // APM407\n        run(job).await;\n    }\n});",
                "(unsafe) `if let` becomes `while let`.",
            ),
        };
        let mut text = format!("{} ({})\n\n{}\n\nWhy it matters:\n{}\n", self.code(), self.name(), self.summary(), why);
        if !example.is_empty() {
            text.push_str("\nExample:\n");
            for line in example.lines() {
                text.push_str("    ");
                text.push_str(line);
                text.push('\n');
            }
        }
        if !fixes.is_empty() {
            text.push_str("\nFixes:\n");
            text.push_str(fixes);
            text.push('\n');
        }
        if self == Rule::ApiProtocolMismatch {
            text.push_str("\nSinks (library: callable, argument: what it needs):\n");
            for sink in crate::python::sinks::SINKS {
                let argument = match (sink.position, sink.keyword) {
                    (Some(position), Some(keyword)) => format!("argument {} (`{keyword}`)", position + 1),
                    (Some(position), None) if sink.variadic => format!("arguments {} on", position + 1),
                    (Some(position), None) => format!("argument {}", position + 1),
                    (None, Some(keyword)) => format!("`{keyword}`"),
                    (None, None) => "the function it decorates".to_owned(),
                };
                let needs = match sink.expects {
                    crate::python::sinks::Expects::SyncFunction => "a synchronous function",
                    crate::python::sinks::Expects::AsyncFunction => "an async function (not a coroutine object)",
                    crate::python::sinks::Expects::Awaitable => "an awaitable (not a coroutine function)",
                    crate::python::sinks::Expects::AsyncContextManagerFactory => {
                        "a factory of an async context manager (not a plain coroutine function)"
                    }
                    crate::python::sinks::Expects::Dependency => {
                        "a function or a generator function (not a context-manager factory)"
                    }
                };
                let mut conditions = String::new();
                for keyword in sink.silent_with {
                    let _ = write!(conditions, "; silent with `{keyword}=`");
                }
                for distribution in sink.unless_installed {
                    let _ = write!(conditions, "; silent where `{distribution}` is installed");
                }
                if let Some(distribution) = sink.needs_installed {
                    let _ = write!(conditions, "; only where the environment shows `{distribution}` installed");
                }
                // A decorator entry covers several decorators (`command` and `group`): all shown.
                let shown = if sink.decorates {
                    sink.names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
                } else {
                    format!("`{}`", sink.shown_name())
                };
                let _ = writeln!(text, "- {}: {shown}, {argument}: {needs}{conditions}", sink.library);
            }
        }
        if !self.enabled_by_default() {
            text.push_str("\nOff by default: enable with `--extend-select` or `extend-select` in the configuration.\n");
        }
        text
    }
}

/// Which rules run: a bit set over [`Rule::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleSet(u64);

impl Default for RuleSet {
    /// The rules that are on by default.
    fn default() -> RuleSet {
        Rule::ALL.iter().filter(|rule| rule.enabled_by_default()).fold(RuleSet(0), |set, rule| set.with(*rule))
    }
}

impl RuleSet {
    pub const EMPTY: RuleSet = RuleSet(0);

    fn bit(rule: Rule) -> u64 {
        1 << (rule as u64)
    }

    #[must_use]
    pub fn with(self, rule: Rule) -> RuleSet {
        RuleSet(self.0 | Self::bit(rule))
    }

    #[must_use]
    pub fn without(self, rule: Rule) -> RuleSet {
        RuleSet(self.0 & !Self::bit(rule))
    }

    /// Syntax errors are always reported: no selection turns them off.
    pub fn contains(self, rule: Rule) -> bool {
        rule == Rule::SyntaxError || self.0 & Self::bit(rule) != 0
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes: Vec<_> = Rule::ALL.iter().map(|rule| rule.code()).collect();
        let mut names: Vec<_> = Rule::ALL.iter().map(|rule| rule.name()).collect();
        codes.sort_unstable();
        codes.dedup();
        names.sort_unstable();
        names.dedup();
        assert_eq!(codes.len(), Rule::ALL.len());
        assert_eq!(names.len(), Rule::ALL.len());
        for rule in Rule::ALL {
            assert!(rule.code().starts_with("APM") && rule.code().len() == 6, "{rule:?}");
            assert!(rule.name().chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'), "{rule:?}");
        }
    }

    #[test]
    fn lookup_by_code_or_name() {
        assert_eq!(Rule::from_code_or_name("apm101"), Some(Rule::AsyncWithOnAsyncGenerator));
        assert_eq!(Rule::from_code_or_name("async-with-on-async-generator"), Some(Rule::AsyncWithOnAsyncGenerator));
        assert_eq!(Rule::from_code_or_name("APM999"), None);
    }

    #[test]
    fn selectors_take_any_code_prefix() {
        assert_eq!(Rule::selected_by("APM10").len(), 9);
        assert!(Rule::selected_by("apm1").contains(&Rule::UncalledFactory));
        assert!(!Rule::selected_by("APM1").contains(&Rule::TestDoubleProtocolMismatch));
        assert_eq!(Rule::selected_by("APM4").len(), 7);
        assert_eq!(Rule::selected_by("APM").len(), Rule::ALL.len());
        assert_eq!(Rule::selected_by("ALL").len(), Rule::ALL.len());
        assert!(Rule::selected_by("APM9").is_empty());
        assert!(Rule::selected_by("APMX").is_empty());
        assert_eq!(Rule::selected_by("missing-await"), vec![Rule::MissingAwait]);
    }

    #[test]
    fn every_rule_is_documented() {
        for rule in Rule::ALL {
            let text = rule.documentation();
            assert!(!text.contains("Not implemented"), "{rule:?}");
            assert!(text.contains("Example:"), "{rule:?}");
        }
    }
}
