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
        engine.elements_at(path, ranges).into_iter().map(|elements| inferred(&elements?)).collect()
    }

    /// The file's text changed: queries that read it recompute on the next ask.
    pub fn file_changed(&mut self, path: &Path) {
        self.engine.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).file_changed(path);
    }
}

fn inferred(elements: &[ty::Element]) -> Option<Inferred> {
    let alternatives: Vec<&ty::Element> = elements.iter().filter(|element| !element.is_none).collect();
    if alternatives.iter().any(|element| element.unknown) || elements.is_empty() {
        return None;
    }
    let only_none = alternatives.is_empty();
    let capabilities =
        alternatives.iter().fold(CapabilitySet::EMPTY, |union, element| union.union(element.capabilities));
    let mut provided = Provided::known(ValueKind::Inferred, capabilities);
    // What awaiting it gives is known when it is known for every alternative.
    if capabilities.contains(Capability::Await) && !alternatives.is_empty() {
        let results: Option<Vec<CapabilitySet>> = alternatives.iter().map(|element| element.awaits_to).collect();
        if let Some(results) = results {
            provided = provided.awaiting_to(results.into_iter().fold(CapabilitySet::EMPTY, CapabilitySet::union));
        }
    }
    let display = elements.iter().map(|element| element.display.as_str()).collect::<Vec<_>>().join(" | ");
    Some(Inferred { display, provided, only_none })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use super::TypeLayer;
    use crate::python::check::{check_module, CheckContext};
    use crate::python::index_source;
    use crate::rules::RuleSet;
    use crate::workspace::WorkspaceIndex;

    /// Findings (`line:column CODE`) of `main.py` in a fresh folder holding `files`, with the
    /// type layer on, for Python 3.12.
    fn check_typed(files: &[(&str, &str)]) -> Vec<String> {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "asyncsense-types-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
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
        let main = root.join("main.py");
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
        let _ = std::fs::remove_dir_all(Path::new(&root));
        rendered
    }

    fn typed(source: &str) -> Vec<String> {
        check_typed(&[("main.py", source)])
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
    fn alternatives_and_unknowns_stay_silent_unless_all_lack_the_protocol() {
        let classes =
            "import asyncio, threading\n\ndef pick(c: bool):\n    return asyncio.Lock() if c else threading.Lock()\n\n";
        // One alternative is an async context manager: not every one lacks the protocol.
        assert!(typed(&format!("{classes}async def f(c: bool):\n    x = asyncio.Lock() if c else threading.Lock()\n    async with x:\n        pass\n")).is_empty());
        // Every alternative is sync.
        assert_eq!(
            typed("import threading\n\nasync def f(c: bool):\n    x = threading.Lock() if c else threading.RLock()\n    async with x:\n        pass\n"),
            ["5:16 APM106"]
        );
        // An optional import that failed: unknown.
        assert!(typed(
            "try:\n    import aiohttp\nexcept ImportError:\n    aiohttp = None\n\nasync def f():\n    async with aiohttp.ClientSession() as s:\n        pass\n"
        )
        .is_empty());
        // An object with neither protocol has no rule yet (an `int` in `async with`).
        assert!(typed("def g():\n    return 1\n\nasync def f():\n    async with g():\n        pass\n").is_empty());
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
        // One `return` is an async context manager.
        assert!(typed("import asyncio, threading\n\ndef pick(c):\n    if c:\n        return asyncio.Lock()\n    return threading.Lock()\n\nasync def f():\n    async with pick(1):\n        pass\n").is_empty());
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
        // Assigned an async lock on another path.
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
        assert!(typed(&format!("{lock}from somewhere import Base\n\ndef build():\n    return C()\n\nclass C(Base):\n    def __init__(self):\n        self.lock = threading.Lock()\n\nasync def f():\n    async with build().lock:\n        pass\n")).is_empty());
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
