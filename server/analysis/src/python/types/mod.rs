//! The type layer: what a use site's operand may be, from ty's inference (typeshed for the
//! standard library, installed packages read as files, declared and inferred types of workspace
//! code), as a set of alternatives with the protocols they provide.
//!
//! This first step is asked only where our own resolver does not know the operand (it keeps
//! the roads type checkers lose: untyped callable attributes, constructor injection, fixtures),
//! and its answer counts only when every alternative is known: an `Unknown` element, or no
//! element but `None`, is silence.

mod follow;
mod ty;

pub use ty::{CallPart, Made};

use std::path::{Path, PathBuf};

use crate::protocol::{Capability, CapabilitySet, Provided, ValueKind};

/// What the type layer knows of one operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inferred {
    /// The type as ty writes it (`TemporaryDirectory[str]`, `Lock | None`).
    pub display: String,
    /// The protocols of the union of its alternatives other than `None`: a capability is
    /// missing only when every such alternative lacks it.
    pub provided: Provided,
    /// Every alternative is `None` (`event.set()`): it provides nothing. Only an `await` of a
    /// call asks this; a name or an attribute that is `None` here is usually a placeholder set
    /// elsewhere.
    pub only_none: bool,
    /// The operand's code paths, when it has several and every one is known (a branch of
    /// `a if c else b`, an operand of `or`, a `return` of the function called): a use that one
    /// of them cannot serve fails whenever that path is taken. Paths that are only `None` are
    /// left out. A declared union (`Awaitable[T] | T` of an API that serves both kinds of
    /// client) is one path: which alternative arrives is not the code's choice.
    pub alternatives: Vec<Alternative>,
    /// Every alternative is a class object: the protocols the class objects have (from their
    /// metaclasses) and those every one of their instances has. `provided` is then unknown.
    pub classes: Option<(CapabilitySet, CapabilitySet)>,
}

/// One code path of an [`Inferred`] operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alternative {
    /// "`threading.Lock()` at line 5", "the `return lock` at line 9".
    pub label: String,
    /// Its type as ty writes it.
    pub display: String,
    pub provided: Provided,
}

/// ty's database over one workspace, shared by the checks of every module (on any thread:
/// each query runs on its own clone of the database, which shares the caches).
pub struct TypeLayer {
    engine: std::sync::Mutex<ty::TypeEngine>,
}

impl TypeLayer {
    /// A type layer over `roots` and the installed packages in `site_packages`, for the target
    /// `python` when known.
    pub fn new(roots: &[PathBuf], site_packages: &[PathBuf], python: Option<(u32, u32)>) -> Result<TypeLayer, String> {
        // A root that holds `typing.py` or `types.py` (the standard library itself, a vendored
        // copy) would shadow typeshed: leave it out, its modules are still checked by us.
        let roots: Vec<PathBuf> = roots
            .iter()
            .filter(|root| !root.join("typing.py").exists() && !root.join("types.py").exists())
            .cloned()
            .collect();
        // Setting up ty's search paths runs its code too: a panic there turns the layer off
        // instead of ending the run.
        let engine = std::panic::catch_unwind(|| ty::TypeEngine::new(&roots, site_packages, python))
            .map_err(|_| "ty panicked while reading the search paths".to_owned())??;
        Ok(TypeLayer { engine: std::sync::Mutex::new(engine) })
    }

    /// For each operand range (byte offsets) in the file at `path`, what it may be, when every
    /// alternative is known.
    pub fn inferred_at(&self, path: &Path, ranges: &[(u32, u32)]) -> Vec<Option<Inferred>> {
        // The lock is held only to clone the handle; a poisoned lock still holds a usable one.
        let engine = self.engine.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        engine.elements_at(path, ranges).into_iter().map(|answer| inferred(&answer?)).collect()
    }

    /// For each byte range of a callee or an argument of a call in the file at `path`: the
    /// function, method or class it is, what it is and what calling it makes (the sinks of
    /// APM110 ask this).
    pub fn call_parts_at(&self, path: &Path, ranges: &[(u32, u32)]) -> Vec<Option<CallPart>> {
        let engine = self.engine.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        engine.call_parts_at(path, ranges)
    }

    /// The file's text changed: queries that read it recompute on the next ask.
    pub fn file_changed(&mut self, path: &Path) {
        self.engine.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).file_changed(path);
    }
}

fn inferred(answer: &ty::Answer) -> Option<Inferred> {
    let elements = &answer.elements;
    let alternatives: Vec<&ty::Element> = elements.iter().filter(|element| !element.is_none).collect();
    let classes: Option<Vec<(CapabilitySet, CapabilitySet)>> =
        alternatives.iter().map(|element| element.class_object).collect();
    if let (Some(classes), false) = (classes, alternatives.is_empty()) {
        let own = classes.iter().fold(CapabilitySet::EMPTY, |union, (own, _)| union.union(*own));
        let instances = classes.iter().map(|(_, instances)| *instances).reduce(CapabilitySet::intersection);
        return Some(Inferred {
            display: elements.iter().map(shown).collect::<Vec<_>>().join(" | "),
            provided: Provided::Unknown,
            only_none: false,
            alternatives: Vec::new(),
            classes: Some((own, instances.unwrap_or(CapabilitySet::EMPTY))),
        });
    }
    if alternatives.iter().any(|element| element.unknown) || elements.is_empty() {
        return None;
    }
    let only_none = alternatives.is_empty();
    let provided = provided_by(&alternatives);
    let display = elements.iter().map(shown).collect::<Vec<_>>().join(" | ");
    Some(Inferred { display, provided, only_none, alternatives: code_paths(&answer.arms), classes: None })
}

/// The known code paths, or none when one of them is not known.
fn code_paths(arms: &[ty::Arm]) -> Vec<Alternative> {
    let mut paths = Vec::new();
    for arm in arms {
        let elements: Vec<&ty::Element> = arm.elements.iter().filter(|element| !element.is_none).collect();
        if arm.elements.is_empty() || elements.iter().any(|element| element.unknown) {
            return Vec::new();
        }
        if elements.is_empty() {
            continue;
        }
        let display = elements.iter().copied().map(shown).collect::<Vec<_>>().join(" | ");
        paths.push(Alternative { label: arm.label.clone(), display, provided: provided_by(&elements) });
    }
    if paths.len() < 2 {
        paths.clear();
    }
    paths
}

fn shown(element: &ty::Element) -> String {
    element.qualified.clone().unwrap_or_else(|| element.display.clone())
}

/// The protocols of the union of `alternatives`, and what awaiting it gives when that is known
/// for every one.
fn provided_by(alternatives: &[&ty::Element]) -> Provided {
    let capabilities =
        alternatives.iter().fold(CapabilitySet::EMPTY, |union, element| union.union(element.capabilities));
    let provided = Provided::known(ValueKind::Inferred, capabilities);
    if !capabilities.contains(Capability::Await) || alternatives.is_empty() {
        return provided;
    }
    match alternatives.iter().map(|element| element.awaits_to).collect::<Option<Vec<CapabilitySet>>>() {
        Some(results) => provided.awaiting_to(results.into_iter().fold(CapabilitySet::EMPTY, CapabilitySet::union)),
        None => provided,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::TypeLayer;
    use crate::python::check::{check_module, CheckContext};
    use crate::python::index_source;
    use crate::rules::RuleSet;
    use crate::workspace::WorkspaceIndex;

    /// Findings (`line:column CODE`) of `main.py` in a fresh folder holding `files`, with the
    /// type layer on, for Python 3.12.
    fn check_typed(files: &[(&str, &str)]) -> Vec<String> {
        check_typed_in("project", files)
    }

    /// [`check_typed`] with the workspace in a folder named `folder`, and the first file
    /// checked wherever it is.
    fn check_typed_in(folder: &str, files: &[(&str, &str)]) -> Vec<String> {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let scratch = std::env::temp_dir().join(format!(
            "asyncsense-types-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&scratch);
        let root = scratch.join(folder);
        let roots = vec![root.clone()];
        let index = WorkspaceIndex::new();
        for (path, source) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
            std::fs::write(&path, source).expect("write");
            index.insert(Arc::new(index_source(&path, source, &roots)));
        }
        let types = TypeLayer::new(&roots, &[], Some((3, 12))).expect("a type layer");
        let context = CheckContext {
            index: &index,
            display_root: Some(&root),
            rules: RuleSet::default(),
            workspace_fixes: false,
            types: Some(&types),
        };
        let main = root.join(files[0].0);
        let module = Arc::new(index_source(&main, files[0].1, &roots));
        let findings = check_module(&module, files[0].1, &context);
        let lines = crate::LineIndex::new(files[0].1);
        let rendered = findings
            .iter()
            .map(|finding| {
                let (row, column) = lines.row_column(files[0].1, finding.range.start);
                format!("{row}:{column} {}", finding.rule.code())
            })
            .collect();
        let _ = std::fs::remove_dir_all(&scratch);
        rendered
    }

    fn typed(source: &str) -> Vec<String> {
        check_typed(&[("main.py", source)])
    }

    #[test]
    fn apis_handed_the_wrong_kind_of_callable_or_object() {
        let prelude = "import asyncio, threading, signal, concurrent.futures\n\nclass Jobs:\n    async def refresh(self) -> None: ...\n    def refresh_now(self) -> None: ...\n\n";
        let check = |body: &str| typed(&format!("{prelude}{body}"));
        // A bound coroutine method handed to a thread, an executor, a signal handler: only the
        // type layer knows `loop` and `pool`.
        assert_eq!(check("def f(jobs: Jobs):\n    threading.Thread(target=jobs.refresh).start()\n"), ["8:29 APM110"]);
        assert_eq!(
            check("async def f(jobs: Jobs):\n    loop = asyncio.get_running_loop()\n    await loop.run_in_executor(None, jobs.refresh)\n"),
            ["9:38 APM110"]
        );
        assert_eq!(
            check("def f(jobs: Jobs, pool: concurrent.futures.ThreadPoolExecutor):\n    pool.submit(jobs.refresh)\n"),
            ["8:17 APM110"]
        );
        assert_eq!(check("def f(jobs: Jobs):\n    signal.signal(signal.SIGTERM, jobs.refresh)\n"), ["8:35 APM110"]);
        // The same APIs handed sync functions, or a lambda whose call is unknown: silent.
        assert!(check("def f(jobs: Jobs):\n    threading.Thread(target=jobs.refresh_now).start()\n").is_empty());
        assert!(check("async def f(jobs: Jobs):\n    loop = asyncio.get_running_loop()\n    await loop.run_in_executor(None, jobs.refresh_now)\n").is_empty());
        assert!(check("def f(jobs: Jobs, g):\n    threading.Thread(target=g).start()\n").is_empty());
        // An uncalled coroutine function where an awaitable is wanted; called, it is right.
        assert_eq!(check("async def f(jobs: Jobs):\n    await asyncio.wait_for(jobs.refresh, 1)\n"), ["8:28 APM110"]);
        assert!(check("async def f(jobs: Jobs):\n    await asyncio.wait_for(jobs.refresh(), 1)\n").is_empty());
        assert_eq!(
            check("async def f(jobs: Jobs):\n    async with asyncio.TaskGroup() as tg:\n        tg.create_task(jobs.refresh)\n"),
            ["9:24 APM110"]
        );
        // An instance of a class with an unresolved base may be anything (ty makes it
        // assignable to every class): its `async def __call__` makes it an async function here.
        assert!(check("from missing_module import Base\nimport anyio\n\nclass Tasks(Base):\n    async def __call__(self) -> None: ...\n\ndef f():\n    anyio.run(Tasks())\n").is_empty());
        // A workspace function that shadows a sink's name is not the sink.
        assert!(check("def gather(*fs): ...\n\nasync def f(jobs: Jobs):\n    gather(jobs.refresh)\n").is_empty());
        // Inside `with pytest.raises(TypeError)`: the mismatch is the point of the test.
        assert!(check("import pytest\n\nasync def test_f(jobs: Jobs):\n    with pytest.raises(TypeError):\n        asyncio.create_task(jobs.refresh)\n").is_empty());
    }

    #[test]
    fn sink_names_are_those_typeshed_defines() {
        // Each standard-library sink's defined name is one ty gives the callee (a renamed or
        // moved stub would silence the entry): ask for the callee of a call of each.
        let source = "import asyncio, threading, signal, atexit, weakref, concurrent.futures\n\nasync def f(pool: concurrent.futures.ThreadPoolExecutor, tg: asyncio.TaskGroup):\n    loop = asyncio.get_running_loop()\n    (asyncio.run, asyncio.create_task, asyncio.ensure_future, asyncio.wait_for, asyncio.shield, asyncio.gather, asyncio.to_thread, asyncio.run_coroutine_threadsafe, threading.Thread, threading.Timer, signal.signal, atexit.register, weakref.finalize, pool.submit, pool.map, tg.create_task, loop.run_in_executor, loop.call_soon, loop.call_soon_threadsafe, loop.call_later, loop.call_at, loop.add_signal_handler, loop.create_task, loop.run_until_complete)\n";
        let root = std::env::temp_dir().join(format!("asyncsense-sink-names-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("mkdir");
        let main = root.join("main.py");
        std::fs::write(&main, source).expect("write");
        let types = TypeLayer::new(std::slice::from_ref(&root), &[], Some((3, 12))).expect("a type layer");
        let tuple_start = source.find("(asyncio.run").expect("tuple") + 1;
        let tuple_end = source.rfind(')').expect("end");
        let mut ranges = Vec::new();
        let mut offset = tuple_start;
        for item in source[tuple_start..tuple_end].split(", ") {
            ranges.push((u32::try_from(offset).expect("u32"), u32::try_from(offset + item.len()).expect("u32")));
            offset += item.len() + 2;
        }
        let parts = types.call_parts_at(&main, &ranges);
        let _ = std::fs::remove_dir_all(&root);
        for ((start, end), part) in ranges.iter().zip(parts) {
            let written = &source[*start as usize..*end as usize];
            let name = part.and_then(|part| part.callee).unwrap_or_else(|| panic!("no callee name for {written}"));
            assert!(crate::python::sinks::sink_named(&name).is_some(), "{written} is `{name}`, which no sink names");
        }
    }

    #[test]
    fn a_callable_object_used_where_what_it_makes_was_meant() {
        let prelude = "class Session:\n    async def __aenter__(self) -> 'Session': ...\n    async def __aexit__(self, *exc: object) -> None: ...\n\n\
                       class Maker:\n    def __call__(self) -> Session: ...\n\n\
                       class Counter:\n    def __call__(self) -> int: ...\n\n\
                       def make() -> Maker: ...\n\ndef count() -> Counter: ...\n\n";
        let check = |body: &str| typed(&format!("{prelude}{body}"));
        // The maker is callable and no manager; its call is one (our resolver cannot say what
        // `__call__` makes in general: the type layer can).
        assert_eq!(
            check("async def f():\n    maker = make()\n    async with maker as s:\n        pass\n"),
            ["17:16 APM109"]
        );
        // Called; a callable whose call has no protocol either; a call expression: silent.
        assert!(check("async def f():\n    maker = make()\n    async with maker() as s:\n        pass\n").is_empty());
        assert!(check("async def f():\n    counter = count()\n    async with counter:\n        pass\n").is_empty());
        assert!(check("async def f():\n    async with make() as s:\n        pass\n").is_empty());
    }

    #[test]
    fn what_an_exit_stack_is_handed() {
        let check = |body: &str| {
            typed(&format!(
                "import contextlib, tempfile, threading, asyncio\n\nclass Stack:\n    async def enter_async_context(self, cm):\n        return cm\n\n{body}"
            ))
        };
        // A sync manager handed to `enter_async_context`, an async one to `enter_context`:
        // only typeshed knows `TemporaryDirectory` and `asyncio.Lock`.
        assert_eq!(
            check("async def f(stack: contextlib.AsyncExitStack):\n    await stack.enter_async_context(tempfile.TemporaryDirectory())\n"),
            ["8:37 APM106"]
        );
        assert_eq!(
            check("def f(stack: contextlib.ExitStack):\n    stack.enter_context(asyncio.Lock())\n"),
            ["8:25 APM103"]
        );
        // Each handed what it enters; a project's stack with a method of the same name; an
        // unknown stack: silent.
        assert!(check("async def f(stack: contextlib.AsyncExitStack):\n    await stack.enter_async_context(asyncio.Lock())\n    stack.enter_context(tempfile.TemporaryDirectory())\n    stack.enter_context(threading.Lock())\n").is_empty());
        assert!(
            check("async def f():\n    await Stack().enter_async_context(tempfile.TemporaryDirectory())\n").is_empty()
        );
        assert!(check("async def f(stack):\n    await stack.enter_async_context(tempfile.TemporaryDirectory())\n")
            .is_empty());
    }

    #[test]
    fn standard_library_values_from_typeshed() {
        // `tempfile.TemporaryDirectory` is a sync context manager in typeshed.
        assert_eq!(
            typed(
                "import tempfile\n\nasync def f():\n    async with tempfile.TemporaryDirectory() as d:\n        pass\n"
            ),
            ["4:16 APM106"]
        );
        // `asyncio.TaskGroup` (3.11+) is only an async context manager.
        assert_eq!(
            typed("import asyncio\n\nasync def f():\n    with asyncio.TaskGroup() as tg:\n        pass\n"),
            ["4:10 APM103"]
        );
        // `Path.iterdir()` is a sync generator.
        assert_eq!(
            typed("import pathlib\n\nasync def f():\n    async for p in pathlib.Path('.').iterdir():\n        pass\n"),
            ["4:20 APM105"]
        );
        // ty models `range(3)` as a special instance, which this layer does not read: silence.
        assert!(typed("async def f():\n    async for i in range(3):\n        pass\n").is_empty());
        // A right use says nothing.
        assert!(typed("import asyncio\n\nasync def f():\n    async with asyncio.Lock():\n        pass\n").is_empty());
    }

    #[test]
    fn declared_return_types_of_plain_functions() {
        assert_eq!(
            typed("def rows() -> list[int]:\n    return [1]\n\nasync def f():\n    await rows()\n"),
            ["5:11 APM107"]
        );
        // `None` alternatives are not reported; the awaitable one is fine.
        assert!(typed(
            "from collections.abc import Awaitable\n\ndef maybe() -> Awaitable[int] | None:\n    return None\n\nasync def f():\n    await maybe()\n"
        )
        .is_empty());
    }

    #[test]
    fn an_alternative_that_lacks_the_protocol_is_reported() {
        // One alternative is a thread lock: `async with` fails whenever it is the one.
        assert_eq!(
            typed("import asyncio, threading\n\nasync def f(c: bool):\n    x = asyncio.Lock() if c else threading.Lock()\n    async with x:\n        pass\n"),
            ["5:16 APM106"]
        );
        // `self._lock or nullcontext()`: the lock alternative is async only.
        let store = "import asyncio, contextlib\n\nclass Store:\n    def __init__(self, lock: asyncio.Lock | None = None) -> None:\n        self._lock = lock\n\n";
        assert_eq!(
            typed(&format!("{store}    async def put(self):\n        with self._lock or contextlib.nullcontext():\n            pass\n")),
            ["8:14 APM103"]
        );
        // Both alternatives are async context managers (`nullcontext` is one since 3.10): right.
        assert!(typed(&format!("{store}    async def put(self):\n        async with self._lock or contextlib.nullcontext():\n            pass\n")).is_empty());
        // Narrowed by `isinstance`, each branch has one alternative left: right.
        assert!(typed(
            "import asyncio, threading\n\nasync def f(x: asyncio.Lock | threading.Lock):\n    if isinstance(x, asyncio.Lock):\n        async with x:\n            pass\n    else:\n        with x:\n            pass\n"
        )
        .is_empty());
        // Every alternative is sync: reported as before, with the fix.
        assert_eq!(
            typed("import threading\n\nasync def f(c: bool):\n    x = threading.Lock() if c else threading.RLock()\n    async with x:\n        pass\n"),
            ["5:16 APM106"]
        );
        // A declared union is one path: a client that serves sync and async callers.
        assert!(typed("import asyncio, threading\nfrom collections.abc import Awaitable\n\ndef ping() -> Awaitable[bool] | bool: ...\n\nasync def f():\n    await ping()\n").is_empty());
        assert!(typed("import asyncio, threading\n\ndef lock() -> asyncio.Lock | threading.Lock: ...\n\nasync def f():\n    async with lock():\n        pass\n").is_empty());
        // A name bound on several paths: which binding reaches the use is not asked of ty.
        assert!(typed("import asyncio, threading\n\nasync def f(c: bool):\n    x = threading.Lock()\n    if c:\n        x = asyncio.Lock()\n    else:\n        x = asyncio.Semaphore()\n    async with x:\n        pass\n").is_empty());
        // `None` alternatives are not reported.
        assert!(typed("import asyncio\n\nasync def f(x: asyncio.Lock | None):\n    async with x:\n        pass\n")
            .is_empty());
        // An unknown alternative makes the use silent, even beside one that fails.
        assert!(typed(
            "import threading\n\nasync def f(c: bool, other):\n    x = threading.Lock() if c else other\n    async with x:\n        pass\n"
        )
        .is_empty());
        // An optional import that failed: unknown.
        assert!(typed(
            "try:\n    import aiohttp\nexcept ImportError:\n    aiohttp = None\n\nasync def f():\n    async with aiohttp.ClientSession() as s:\n        pass\n"
        )
        .is_empty());
        // An object with neither protocol has no rule yet (an `int` in `async with`).
        assert!(typed("def g():\n    return 1\n\nasync def f():\n    async with g():\n        pass\n").is_empty());
    }

    #[test]
    fn a_class_used_where_its_instance_was_meant() {
        let client = "import asyncio, enum\n\nclass Client:\n    async def __aenter__(self):\n        return self\n    async def __aexit__(self, *a):\n        pass\n\nclass Sub(Client):\n    pass\n\n";
        assert_eq!(
            typed(&format!("{client}async def f():\n    async with Client as c:\n        pass\n")),
            ["13:16 APM109"]
        );
        // Through a base class, and from typeshed.
        assert_eq!(typed(&format!("{client}async def f():\n    async with Sub:\n        pass\n")), ["13:16 APM109"]);
        assert_eq!(
            typed("import asyncio\n\nasync def f():\n    async with asyncio.Lock:\n        pass\n"),
            ["4:16 APM109"]
        );
        // Called, right.
        assert!(typed(&format!("{client}async def f():\n    async with Client() as c:\n        pass\n")).is_empty());
        // A class object that has the protocol itself (an enum is iterable through its metaclass).
        assert!(typed("import enum\n\nclass Color(enum.Enum):\n    RED = 1\n\nasync def f():\n    for c in Color:\n        pass\n").is_empty());
        // Instances without the protocol: no rule says what it is.
        assert!(typed("class Plain:\n    pass\n\nasync def f():\n    async with Plain:\n        pass\n").is_empty());
        // A base ty cannot name: unknown.
        assert!(typed("from nowhere import Base\n\nclass C(Base):\n    async def __aenter__(self):\n        return self\n\nasync def f():\n    async with C:\n        pass\n").is_empty());
    }

    #[test]
    fn iterating_or_entering_a_coroutine_with_plain_for_or_with() {
        let listing = "async def names() -> list[str]:\n    return ['a']\n\n";
        assert_eq!(typed(&format!("{listing}async def f():\n    for n in names():\n        pass\n")), ["5:14 APM108"]);
        assert!(typed(&format!("{listing}async def f():\n    for n in await names():\n        pass\n")).is_empty());
        let opening = "import threading\n\nasync def lock() -> threading.Lock:\n    return threading.Lock()\n\n";
        assert_eq!(typed(&format!("{opening}async def f():\n    with lock():\n        pass\n")), ["7:10 APM108"]);
        // Awaiting gives no iterable: `for` is wrong either way, and no rule says how yet.
        assert!(typed(
            "async def count() -> int:\n    return 1\n\nasync def f():\n    for r in count():\n        pass\n"
        )
        .is_empty());
    }

    #[test]
    fn awaiting_a_call_that_returns_none() {
        // `Event.set()` returns `None` (typeshed): awaiting it raises TypeError.
        assert_eq!(typed("import asyncio\n\nasync def f(e: asyncio.Event):\n    await e.set()\n"), ["4:11 APM107"]);
        // A name or attribute that is `None` here is usually a placeholder set elsewhere: silent.
        assert!(typed("import asyncio\n\nasync def f():\n    task = None\n    await task\n").is_empty());
        // `wait()` is a coroutine: right.
        assert!(typed("import asyncio\n\nasync def f(e: asyncio.Event):\n    await e.wait()\n").is_empty());
    }

    #[test]
    fn what_awaiting_a_coroutine_gives() {
        let pool = "class Pool:\n    async def __aenter__(self):\n        return self\n    async def __aexit__(self, *a):\n        pass\n\n";
        // Declared: `async def connect() -> Pool`, entered without `await`.
        assert_eq!(
            typed(&format!("{pool}async def connect() -> Pool:\n    return Pool()\n\nasync def f():\n    async with connect() as p:\n        pass\n")),
            ["11:16 APM108"]
        );
        // Unannotated: what awaiting it gives comes from its `return`s.
        assert_eq!(
            typed(&format!("{pool}async def connect():\n    return Pool()\n\nasync def f():\n    async with connect() as p:\n        pass\n")),
            ["11:16 APM108"]
        );
        // Awaited, it is right; and an unannotated `await` result is followed too.
        assert!(typed(&format!("{pool}async def connect():\n    return Pool()\n\nasync def f():\n    async with await connect() as p:\n        pass\n")).is_empty());
        assert_eq!(
            typed("import threading\n\nasync def make():\n    return threading.Lock()\n\nasync def f():\n    lock = await make()\n    async with lock:\n        pass\n"),
            ["8:16 APM106"]
        );
        // What awaiting it gives is unknown: silent.
        assert!(typed(
            "async def connect(x):\n    return x\n\nasync def f(y):\n    async with connect(y):\n        pass\n"
        )
        .is_empty());
    }

    #[test]
    fn plain_for_inside_async_functions() {
        let stream = "from collections.abc import AsyncIterator\n\ndef rows() -> AsyncIterator[int]: ...\n\n";
        assert_eq!(typed(&format!("{stream}async def f():\n    for r in rows():\n        pass\n")), ["6:14 APM104"]);
        // A plain `for` over a list is right.
        assert!(
            typed("def rows() -> list[int]: ...\n\nasync def f():\n    for r in rows():\n        pass\n").is_empty()
        );
        // Outside `async def` the type layer is not asked (cost; see `ask_types_about`).
        assert!(typed(&format!("{stream}def f():\n    for r in rows():\n        pass\n")).is_empty());
    }

    #[test]
    fn annotations_of_parameters_in_test_modules_are_not_taken_at_their_word() {
        let source = "import tempfile\n\nasync def use(folder: tempfile.TemporaryDirectory) -> None:\n    async with folder:\n        pass\n";
        assert_eq!(typed(source), ["4:16 APM106"]);
        // pytest hands fixtures to tests whatever their annotation says.
        assert!(check_typed(&[("tests/test_use.py", source)]).is_empty());
        assert!(check_typed(&[("test_use.py", source)]).is_empty());
        // A project that lives in a folder called `tests` is not a test suite.
        assert_eq!(check_typed_in("tests", &[("use.py", source)]), ["4:16 APM106"]);
        assert!(check_typed_in("tests", &[("tests/use.py", source)]).is_empty());
    }

    #[test]
    fn what_says_too_little_stays_silent() {
        // `callable()` narrows to `object`, which says nothing of the object.
        assert!(typed(
            "from typing import Callable, Coroutine\n\nasync def f(cb: Callable[[], Coroutine] | Coroutine):\n    await (cb() if callable(cb) else cb)\n"
        )
        .is_empty());
        // A `def` rebound by an assignment: ty keeps the `def`'s type, the runtime has a Task.
        assert!(typed(
            "import asyncio\n\nasync def f():\n    async def task():\n        pass\n    task = asyncio.create_task(task())\n    await task\n"
        )
        .is_empty());
    }

    #[test]
    fn unannotated_calls_are_followed_to_their_returns() {
        let lock = "import asyncio, threading\n\ndef make_lock():\n    return threading.Lock()\n\n";
        // The call, and a name bound to it.
        assert_eq!(
            typed(&format!("{lock}async def f():\n    async with make_lock():\n        pass\n")),
            ["7:16 APM106"]
        );
        assert_eq!(
            typed(&format!("{lock}async def f():\n    x = make_lock()\n    async with x:\n        pass\n")),
            ["8:16 APM106"]
        );
        // Through another unannotated function, and a method.
        assert_eq!(
            typed(&format!(
                "{lock}def wrapper():\n    lock = make_lock()\n    return lock\n\nasync def f():\n    async with wrapper():\n        pass\n"
            )),
            ["11:16 APM106"]
        );
        assert_eq!(
            typed("class Repo:\n    def rows(self):\n        return [1, 2]\n\nasync def f():\n    async for r in Repo().rows():\n        pass\n    await Repo().rows()\n"),
            ["6:20 APM105", "8:11 APM107"]
        );
        // A value from another module, imported.
        assert_eq!(
            check_typed(&[
                ("main.py", "from helpers import LOCK\n\nasync def f():\n    async with LOCK:\n        pass\n"),
                ("helpers.py", "import threading\n\ndef _make():\n    return threading.Lock()\n\nLOCK = _make()\n"),
            ]),
            ["4:16 APM106"]
        );
        // Returns `None` on one path: the `None` arm is not reported, the lock is.
        assert_eq!(
            typed("import threading\n\ndef maybe(c):\n    if c:\n        return threading.Lock()\n\nasync def f():\n    async with maybe(1):\n        pass\n"),
            ["8:16 APM106"]
        );
    }

    #[test]
    fn followed_values_stay_silent_when_any_source_is_unknown_or_fits() {
        // Every `return` is an async context manager.
        assert!(typed("import asyncio\n\ndef pick(c):\n    if c:\n        return asyncio.Lock()\n    return asyncio.Semaphore()\n\nasync def f():\n    async with pick(1):\n        pass\n").is_empty());
        // One `return` is a thread lock: reported (the other alternative is right).
        assert_eq!(typed("import asyncio, threading\n\ndef pick(c):\n    if c:\n        return asyncio.Lock()\n    return threading.Lock()\n\nasync def f():\n    async with pick(1):\n        pass\n"), ["9:16 APM106"]);
        // A parameter is unknown.
        assert!(typed("def ident(x):\n    return x\n\nasync def f(y):\n    async with ident(y):\n        pass\n")
            .is_empty());
        // An unknown decorator may return anything.
        assert!(typed("import threading\nfrom somewhere import deco\n\n@deco\ndef make():\n    return threading.Lock()\n\nasync def f():\n    async with make():\n        pass\n").is_empty());
        // A placeholder method on `self` is meant to be overridden.
        assert!(typed("class Base:\n    def rows(self):\n        return []\n\n    async def run(self):\n        async for r in self.rows():\n            pass\n").is_empty());
        // A module global rebound through `global` elsewhere.
        assert!(typed("import asyncio, threading\n\ndef _make():\n    return threading.Lock()\n\ndef _make_async():\n    return asyncio.Lock()\n\nLOCK = _make()\n\ndef init():\n    global LOCK\n    LOCK = _make_async()\n\nasync def f():\n    async with LOCK:\n        pass\n").is_empty());
        // Narrowed by `isinstance`.
        assert!(typed("from collections.abc import AsyncIterable\n\ndef source(x):\n    return x\n\nasync def f(y):\n    s = source(y)\n    if isinstance(s, AsyncIterable):\n        async for i in s:\n            pass\n").is_empty());
        // A loop target is not followed; recursion ends.
        assert!(typed("async def f(items):\n    for x in items:\n        async with x:\n            pass\n").is_empty());
        assert!(typed(
            "def loop(n):\n    return loop(n - 1)\n\nasync def f():\n    async with loop(3):\n        pass\n"
        )
        .is_empty());
    }

    #[test]
    fn attributes_and_with_targets_of_followed_values() {
        let client = "class Client:\n    async def __aenter__(self):\n        return self\n    async def __aexit__(self, *a):\n        pass\n    async def lines(self):\n        yield 'a'\n    async def fetch(self):\n        return self\n\n";
        // The `as` target of `async with` is what `__aenter__` returns (`self`); its method is an
        // async generator function, called as written.
        assert_eq!(
            typed(&format!("{client}async def f():\n    async with Client() as api:\n        async with api.lines() as lines:\n            pass\n")),
            ["13:20 APM101"]
        );
        // A coroutine method of it, not awaited, entered: awaiting it gives the receiver back.
        assert_eq!(
            typed(&format!("{client}async def f():\n    async with Client() as api:\n        async with api.fetch():\n            pass\n")),
            ["13:20 APM108"]
        );
        // Right uses say nothing.
        assert!(typed(&format!("{client}async def f():\n    async with Client() as api:\n        async for line in api.lines():\n            pass\n        await api.fetch()\n")).is_empty());
        // A method declared in typeshed, on a value followed to `Process`.
        assert_eq!(
            typed("import asyncio\n\nasync def spawn():\n    return await asyncio.create_subprocess_exec('true')\n\nasync def f():\n    proc = await spawn()\n    await proc.kill()\n    await proc.wait()\n"),
            ["8:11 APM107"]
        );
        // An attribute assigned in `__init__`, through a chain, and a method of what it holds.
        assert_eq!(
            typed("import threading\n\nclass Db:\n    def session(self):\n        return threading.Lock()\n\nclass Container:\n    def __init__(self):\n        self.db = Db()\n\nasync def f():\n    c = Container()\n    async with c.db.session():\n        pass\n"),
            ["13:16 APM106"]
        );
        // `self.<name>` in a method: the values its class assigns (ty adds `Unknown` to them).
        assert_eq!(
            typed("import threading\n\nclass Cache:\n    def __init__(self):\n        self._lock = threading.Lock()\n\n    async def get(self):\n        async with self._lock:\n            pass\n"),
            ["8:20 APM106"]
        );
        // `StreamWriter | None`: the attributes are the writer's.
        assert_eq!(
            typed("import asyncio\n\nasync def f():\n    proc = await asyncio.create_subprocess_exec('cat', stdin=asyncio.subprocess.PIPE)\n    await proc.stdin.write(b'x')\n"),
            ["5:11 APM107"]
        );
    }

    #[test]
    fn attributes_stay_silent_when_a_source_is_unknown_or_fits() {
        let lock = "import asyncio, threading\n\n";
        // Assigned an async lock on every path.
        assert!(typed(&format!("{lock}class C:\n    def __init__(self):\n        self._lock = asyncio.Semaphore()\n    def reset(self):\n        self._lock = asyncio.Lock()\n    async def f(self):\n        async with self._lock:\n            pass\n")).is_empty());
        // A thread lock in one method: which assignment reaches the use is not known (an
        // attribute's assignments are not code paths of the use): silent.
        assert!(typed(&format!("{lock}class C:\n    def __init__(self):\n        self._lock = threading.Lock()\n    def reset(self):\n        self._lock = asyncio.Lock()\n    async def f(self):\n        async with self._lock:\n            pass\n")).is_empty());
        // Injected through a parameter, unpacked, or bound nowhere in the class.
        assert!(typed(&format!("{lock}class C:\n    def __init__(self, lock):\n        self._lock = lock\n    async def f(self):\n        async with self._lock:\n            pass\n")).is_empty());
        assert!(typed(&format!(
            "{lock}class C:\n    async def f(self):\n        async with self._lock:\n            pass\n"
        ))
        .is_empty());
        // A base ty cannot name may bind an attribute (a method the class defines itself still
        // comes first, as ty says).
        assert_eq!(
            typed(&format!("{lock}from somewhere import Base\n\nclass C(Base):\n    def make(self):\n        return threading.Lock()\n\nasync def f():\n    async with C().make():\n        pass\n")),
            ["10:16 APM106"]
        );
        // Our resolver, which follows `build()` to its `return`, reads an attribute the class's
        // own `__init__` assigns whatever its bases are (as it does for `C().lock`).
        assert_eq!(
            typed(&format!("{lock}from somewhere import Base\n\ndef build():\n    return C()\n\nclass C(Base):\n    def __init__(self):\n        self.lock = threading.Lock()\n\nasync def f():\n    async with build().lock:\n        pass\n")),
            ["13:16 APM106"]
        );
        // `__getattribute__` decides what every attribute is.
        assert!(typed(&format!("{lock}class C:\n    def __getattribute__(self, name):\n        return asyncio.Lock()\n    def make(self) -> threading.Lock:\n        return threading.Lock()\n\nasync def f(c: C):\n    async with c.make():\n        pass\n")).is_empty());
        // An unknown decorator on the method; a placeholder method called on `self`.
        assert!(typed(&format!("{lock}from somewhere import deco\n\nclass C:\n    @deco\n    def make(self):\n        return threading.Lock()\n\ndef build():\n    return C()\n\nasync def f():\n    async with build().make():\n        pass\n")).is_empty());
        // `__aenter__` returns something unknown: the target is unknown.
        assert!(typed("class M:\n    def __init__(self, x):\n        self.x = x\n    async def __aenter__(self):\n        return self.x\n    async def __aexit__(self, *a):\n        pass\n\nasync def f(y):\n    async with M(y) as v:\n        async with v:\n            pass\n").is_empty());
    }

    #[test]
    fn a_root_holding_typing_py_is_left_out() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        // No typing.py there: the root is kept, and the layer builds.
        assert!(TypeLayer::new(&[root], &[], None).is_ok());
    }
}
