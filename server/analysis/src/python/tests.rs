//! Data-driven tests of the Python engine: a small workspace in, rendered findings out.
//!
//! Each test is one concern. Files are given as `(path, source)` pairs under a virtual root; the
//! first file is the one checked. `expect` lists one line per finding:
//! `line:column CODE <start of message>` (1-based, columns in characters).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::apply_edits;
use crate::line_index::LineIndex;
use crate::python::check::{check_module, check_module_with, CheckContext, Source};
use crate::python::index_source;
use crate::rules::{Rule, RuleSet};
use crate::workspace::WorkspaceIndex;
use crate::Finding;

pub(super) const ROOT: &str = "/virtual-ws";

pub(super) fn analyse(files: &[(&str, &str)]) -> (Vec<Finding>, String) {
    analyse_with(files, RuleSet::default())
}

pub(super) fn analyse_with(files: &[(&str, &str)], rules: RuleSet) -> (Vec<Finding>, String) {
    let roots = vec![PathBuf::from(ROOT)];
    let index = WorkspaceIndex::new();
    let mut modules = Vec::new();
    for (path, source) in files {
        let module = Arc::new(index_source(&Path::new(ROOT).join(path), source, &roots));
        index.insert(Arc::clone(&module));
        modules.push(module);
    }
    let context =
        CheckContext { index: &index, display_root: Some(Path::new(ROOT)), rules, workspace_fixes: true, types: None };
    let findings = check_module(&modules[0], files[0].1, &context);
    (findings, files[0].1.to_owned())
}

pub(super) fn render(findings: &[Finding], source: &str) -> String {
    let lines = LineIndex::new(source);
    findings
        .iter()
        .map(|finding| {
            let (row, column) = lines.row_column(source, finding.range.start);
            format!("{row}:{column} {} `{}`", finding.rule.code(), &source[finding.range.clone()])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[track_caller]
pub(super) fn check(files: &[(&str, &str)], expect: &str) {
    let (findings, source) = analyse(files);
    assert_eq!(render(&findings, &source), expect.trim(), "\nfindings: {findings:#?}");
}

#[track_caller]
pub(super) fn check_one(source: &str, expect: &str) {
    check(&[("main.py", source)], expect);
}

const AGEN: &str = "async def get_session():\n    yield 1\n";

// ---------------------------------------------------------------- positives

#[test]
fn same_module_async_generator() {
    check_one(
        &format!("{AGEN}\nasync def handler():\n    async with get_session() as session:\n        print(session)\n"),
        "5:16 APM101 `get_session()`",
    );
}

#[test]
fn core_shape_callable_attribute_from_another_module() {
    check(
        &[
            (
                "app/services/users.py",
                "from app.db import get_session\n\nclass UserService:\n    def __init__(self) -> None:\n        self.db_session_factory = get_session\n\n    async def get_user(self, user_id):\n        async with self.db_session_factory() as session:\n            return await session.get(user_id)\n",
            ),
            ("app/db.py", AGEN),
            ("app/__init__.py", ""),
            ("app/services/__init__.py", ""),
        ],
        "8:20 APM101 `self.db_session_factory()`",
    );
}

#[test]
fn message_names_the_callee_and_its_definition() {
    let (findings, _) = analyse(&[
        (
            "svc.py",
            "from app.db import get_session\n\nasync def f():\n    async with get_session() as s:\n        pass\n",
        ),
        ("app/db.py", AGEN),
    ]);
    let message = &findings[0].message;
    assert!(message.contains("`get_session()` is an async generator"), "{message}");
    assert!(message.contains("`async def get_session` at app/db.py:1"), "{message}");
    assert!(message.contains("`async with` needs an async context manager"), "{message}");
    // What to write instead is the help, said once.
    let help = findings[0].help.as_deref().unwrap_or_default();
    assert!(help.contains("`get_session` yields once"), "{help}");
    assert!(help.contains("`async with asynccontextmanager(get_session)() as s:`"), "{help}");
    assert!(!message.contains("asynccontextmanager"), "{message}");
    assert_eq!(findings[0].related[0].path, Path::new(ROOT).join("app/db.py"));
}

#[test]
fn module_alias_import() {
    check(
        &[
            ("svc.py", "import app.db as db\n\nasync def f():\n    async with db.get_session() as s:\n        pass\n"),
            ("app/db.py", AGEN),
        ],
        "4:16 APM101 `db.get_session()`",
    );
}

#[test]
fn dotted_import() {
    check(
        &[
            ("svc.py", "import app.db\n\nasync def f():\n    async with app.db.get_session():\n        pass\n"),
            ("app/db.py", AGEN),
        ],
        "4:16 APM101 `app.db.get_session()`",
    );
}

#[test]
fn relative_import_and_reexport_through_package_init() {
    check(
        &[
            (
                "pkg/sub/svc.py",
                "from .. import get_session\n\nasync def f():\n    async with get_session():\n        pass\n",
            ),
            ("pkg/__init__.py", "from .db import get_session\n"),
            ("pkg/db.py", AGEN),
        ],
        "4:16 APM101 `get_session()`",
    );
}

#[test]
fn class_level_alias_and_own_method() {
    check_one(
        &format!(
            "{AGEN}\nclass Repo:\n    factory = get_session\n\n    async def rows(self):\n        yield 1\n\n    async def run(self):\n        async with self.factory() as a:\n            pass\n        async with self.rows() as b:\n            pass\n"
        ),
        "11:20 APM101 `self.factory()`\n13:20 APM101 `self.rows()`",
    );
}

#[test]
fn attribute_assigned_in_a_workspace_base_class() {
    check_one(
        &format!(
            "{AGEN}\nclass Base:\n    def __init__(self):\n        self.factory = get_session\n\nclass Child(Base):\n    async def run(self):\n        async with self.factory():\n            pass\n"
        ),
        "10:20 APM101 `self.factory()`",
    );
}

#[test]
fn annotated_attribute_declarations_are_not_sources() {
    check_one(
        &format!(
            "from typing import Callable\n{AGEN}\nclass Service:\n    factory: Callable\n\n    def __init__(self):\n        self.other: Callable\n        self.factory = get_session\n\n    async def run(self):\n        async with self.factory():\n            pass\n"
        ),
        "13:20 APM101 `self.factory()`",
    );
}

#[test]
fn class_level_default_and_instance_assignment_disagree() {
    // A `None` placeholder is no source of a call: calling it raises before any use.
    check_one(
        &format!(
            "{AGEN}\nclass Service:\n    factory = None\n\n    def __init__(self):\n        self.factory = get_session\n\n    async def run(self):\n        async with self.factory():\n            pass\n"
        ),
        "11:20 APM101 `self.factory()`",
    );
    // A `None` placeholder is no source of a use either: the other sources decide.
    check_one(
        &format!(
            "{AGEN}\nclass Service:\n    session = None\n\n    def __init__(self):\n        self.session = get_session()\n\n    async def run(self):\n        async with self.session:\n            pass\n"
        ),
        "11:20 APM101 `self.session`",
    );
    check_one(
        &format!(
            "{AGEN}\nasync def run(flag):\n    rows = None\n    if flag:\n        rows = get_session()\n    async with rows:\n        pass\n    async for row in rows:\n        pass\n"
        ),
        "8:16 APM101 `rows`",
    );
    // `None` alone, or beside a source that fits or is unknown: silent.
    check_one(
        &format!(
            "import contextlib\n{AGEN}\nasync def run(flag, other):\n    a = None\n    async with a:\n        pass\n    b = None if flag else contextlib.nullcontext()\n    with b:\n        pass\n    c = other if flag else None\n    async with c:\n        pass\n"
        ),
        "",
    );
    // A real default that fits: silent.
    check_one(
        &format!(
            "import contextlib\n{AGEN}\nclass Service:\n    factory = contextlib.nullcontext\n\n    def __init__(self):\n        self.factory = get_session\n\n    async def run(self):\n        async with self.factory():\n            pass\n"
        ),
        "",
    );
}

#[test]
fn instance_of_an_async_iterable_class() {
    check_one(
        "class Rows:\n    def __aiter__(self):\n        return self\n\n    async def __anext__(self):\n        raise StopAsyncIteration\n\nasync def f():\n    async with Rows() as rows:\n        pass\n",
        "9:16 APM101 `Rows()`",
    );
}

#[test]
fn only_the_offending_item_of_a_multi_item_with() {
    let source = format!("{AGEN}\nasync def f(lock):\n    async with lock, get_session() as s:\n        pass\n");
    check_one(&source, "5:22 APM101 `get_session()`");
    let (findings, _) = analyse(&[("main.py", &source)]);
    assert!(findings[0].fixes.iter().all(|fix| !fix.title.starts_with("Swap")), "{:?}", findings[0].fixes);
    // Wrapping one item keeps the other items as they are.
    let preferred = findings[0].preferred_fix().expect("the wrap");
    assert!(preferred.title.starts_with("Wrap with `asynccontextmanager`"), "{preferred:?}");
}

#[test]
fn agreeing_conditional_definitions_still_report() {
    check_one(
        "import sys\nif sys.version_info >= (3, 11):\n    async def rows():\n        yield 1\nelse:\n    async def rows():\n        yield 2\n\nasync def f():\n    async with rows():\n        pass\n",
        "10:16 APM101 `rows()`",
    );
}

#[test]
fn nested_generator_and_closure() {
    check_one(
        "async def outer():\n    async def gen():\n        yield 1\n\n    async def inner():\n        async with gen():\n            pass\n",
        "6:20 APM101 `gen()`",
    );
}

#[test]
fn static_method_generator() {
    check_one(
        "class Q:\n    @staticmethod\n    async def stream():\n        yield 1\n\n    async def run(self):\n        async with self.stream():\n            pass\n        async with Q.stream():\n            pass\n",
        "7:20 APM101 `self.stream()`\n9:20 APM101 `Q.stream()`",
    );
}

#[test]
fn class_body_names_are_not_visible_in_methods() {
    check_one(
        &format!(
            "{AGEN}\nclass C:\n    get_session = None\n\n    async def m(self):\n        async with get_session():\n            pass\n"
        ),
        "8:20 APM101 `get_session()`",
    );
}

#[test]
fn syntax_error_elsewhere_does_not_hide_the_finding() {
    // The parse errors are findings of their own (APM000), and the rest is still checked.
    check_one(
        &format!("{AGEN}\ndef broken(:\n    pass\n\nasync def f():\n    async with get_session():\n        pass\n"),
        "4:12 APM000 `:`\n4:13 APM000 `\n`\n8:16 APM101 `get_session()`",
    );
    // No selection or comment turns them off.
    let source = "def broken(:  # noqa: APM000\n    pass\n";
    let (findings, _) = analyse_with(&[("main.py", source)], RuleSet::EMPTY);
    assert!(findings.iter().all(|finding| finding.rule == Rule::SyntaxError) && !findings.is_empty(), "{findings:?}");
    assert!(findings[0].message.starts_with("syntax error: "), "{findings:?}");
}

// ---------------------------------------------------------------- negatives

#[test]
fn asynccontextmanager_under_every_spelling_is_fine() {
    for header in [
        "import contextlib\n\n@contextlib.asynccontextmanager\n",
        "from contextlib import asynccontextmanager\n\n@asynccontextmanager\n",
        "from contextlib import asynccontextmanager as acm\n\n@acm\n",
        "import contextlib as cl\n\n@cl.asynccontextmanager\n",
    ] {
        check_one(&format!("{header}{AGEN}\nasync def f():\n    async with get_session() as s:\n        pass\n"), "");
    }
}

#[test]
fn unknown_decorators_are_silent() {
    check_one(
        &format!("from somewhere import wrap\n\n@wrap\n{AGEN}\nasync def f():\n    async with get_session():\n        pass\n"),
        "",
    );
    check_one(
        &format!(
            "import functools\n\ndef wrapping(f):\n    @functools.wraps(f)\n    def inner(*a):\n        return f(*a)\n    return inner\n\n@wrapping\n{AGEN}\nasync def f():\n    async with get_session():\n        pass\n"
        ),
        "",
    );
}

#[test]
fn workspace_decorators_that_hand_the_function_back_are_transparent() {
    check_one(
        &format!(
            "REGISTRY = []\n\ndef register(f):\n    \"\"\"Remember f.\"\"\"\n    return f\n\n@register\n{AGEN}\nasync def f():\n    async with get_session():\n        pass\n"
        ),
        "12:16 APM101 `get_session()`",
    );
}

#[test]
fn workspace_decorators_are_judged_by_what_their_body_returns() {
    // A decorator that hands the function to `asynccontextmanager`, directly or through
    // another project decorator, makes a context-manager factory.
    let applies = r#"import contextlib

def scoped(func):
    return contextlib.asynccontextmanager(func)

def twice(func):
    """Scoped, by another name."""
    return scoped(func)

@scoped
async def one():
    yield 1

@twice
async def two():
    yield 2

async def f():
    async for x in one():
        pass
    async with one():
        pass
    async for y in two():
        pass
"#;
    check_one(applies, "19:20 APM102 `one()`\n23:20 APM102 `two()`");
    // A decorator that returns a wrapper it defines: a call runs the wrapper, whatever the
    // decorated function is.
    let wraps = r"import functools

def traced(func):
    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        async for item in func(*args, **kwargs):
            yield item

    return wrapper

@traced
async def events():
    yield 1

def awaiting(func):
    async def wrapper(*args):
        return await func(*args)
    return wrapper

@awaiting
async def rows():
    yield 1

async def f():
    async with events():
        pass
    async for e in events():
        pass
    await rows()
    await events()
";
    check_one(wraps, "25:16 APM101 `events()`\n30:11 APM107 `events()`");
}

#[test]
fn workspace_decorators_whose_body_branches_or_wraps_unknown_things_are_silent() {
    // A wrapper chosen at run time, a class-based wrapper, a decorator that rebinds its
    // argument, and a wrapper decorated with something unknown: nothing is known.
    let source = r"import contextlib
from elsewhere import instrument

def either(func):
    if contextlib:
        return contextlib.asynccontextmanager(func)
    return func

class Wrapper:
    def __init__(self, func):
        self.func = func

def by_class(func):
    return Wrapper(func)

def rebinding(func):
    func = contextlib.asynccontextmanager(func)
    return func

def instrumented(func):
    @instrument
    async def wrapper():
        yield 1
    return wrapper

@either
async def a():
    yield 1

@by_class
async def b():
    yield 1

@rebinding
async def c():
    yield 1

@instrumented
async def d():
    yield 1

async def f():
    async for x in a():
        pass
    async for x in b():
        pass
    async with c():
        pass
    async with d():
        pass
";
    check_one(source, "");
}

#[test]
fn what_type_checking_blocks_bind_is_not_the_run_time_value() {
    // Under `if TYPE_CHECKING:` the name is the stub's; at run time, the `else` branch's.
    let source = r"from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stubs import session_scope
else:
    from db import session_scope
    from db import helper

if TYPE_CHECKING:
    from db import rows

async def f():
    async with session_scope():
        pass
    async with rows():
        pass
";
    let db = "async def session_scope():\n    yield 1\n\nasync def rows():\n    yield 2\n\ndef helper():\n    pass\n";
    // The name bound only for type checkers keeps that binding (annotations read it).
    check(&[("main.py", source), ("db.py", db)], "13:16 APM101 `session_scope()`\n15:16 APM101 `rows()`");
}

#[test]
fn an_import_that_fails_in_the_environment_is_not_a_source() {
    let dir = std::env::temp_dir().join(format!("asyncsense-import-fails-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let venv = dir.join(".venv");
    let site = venv.join("lib/python3.12/site-packages");
    std::fs::create_dir_all(site.join("fastdb")).expect("mkdir");
    std::fs::write(venv.join("pyvenv.cfg"), "version = 3.12.1\n").expect("write");
    std::fs::write(site.join("fastdb/__init__.py"), "async def session_scope():\n    yield 1\n").expect("write");
    let source = r"try:
    from speedups import session_scope
except ImportError:
    from db import session_scope

try:
    import fastdb as backend
except ModuleNotFoundError:
    import db as backend

try:
    import tomllib as toml
except ImportError:
    import db as toml

async def f():
    async with session_scope():
        pass
    async with backend.session_scope():
        pass
    async with toml.session_scope():
        pass
";
    let db = "async def session_scope():\n    yield 1\n";
    let render_with_root = |root: &Path, environment: Option<crate::environment::Environment>| {
        let roots = vec![root.to_path_buf()];
        let index = WorkspaceIndex::new();
        index.set_environment(environment);
        let mut modules = Vec::new();
        for (path, text) in [("main.py", source), ("db.py", db)] {
            let module = Arc::new(index_source(&root.join(path), text, &roots));
            index.insert(Arc::clone(&module));
            modules.push(module);
        }
        let context = CheckContext {
            index: &index,
            display_root: Some(root),
            rules: RuleSet::default(),
            workspace_fixes: true,
            types: None,
        };
        render(&check_module(&modules[0], source, &context), source)
    };
    let render_with = |environment| render_with_root(Path::new(ROOT), environment);
    // `speedups` is nowhere: `db`'s generator. `fastdb` is installed: its own, the same kind
    // (both paths agree). `tomllib` is the standard library's on 3.12: not `db`, and not known.
    assert_eq!(
        render_with(crate::environment::Environment::open(&venv)),
        "17:16 APM101 `session_scope()`\n19:16 APM101 `backend.session_scope()`"
    );
    // Without an environment nothing is known missing, and the installed module is not read:
    // every name has an unknown source.
    assert_eq!(render_with(None), "");
    // A `speedups.py` beside the module that the index leaves out (excluded by the
    // configuration) is importable all the same: not known missing.
    let project = dir.join("project");
    std::fs::create_dir_all(&project).expect("mkdir");
    std::fs::write(project.join("speedups.py"), "session_scope = None\n").expect("write");
    assert_eq!(
        render_with_root(&project, crate::environment::Environment::open(&venv)),
        "19:16 APM101 `backend.session_scope()`"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unannotated_functions_make_what_their_returns_hand_out() {
    let source = r"import contextlib

async def get_session():
    yield 1

@contextlib.asynccontextmanager
async def transaction():
    yield 2

def make():
    return get_session()

class Database:
    def __init__(self, factory=get_session):
        self._factory = factory

    def session(self):
        return self._factory()

class Container:
    def __init__(self):
        self.db = Database()

def either(flag):
    if flag:
        return get_session()
    return transaction()

def from_parameter(factory):
    return factory()

async def f(flag):
    async with make():
        pass
    async with Container().db.session():
        pass
    async with either(flag):
        pass
    async with from_parameter(get_session):
        pass
";
    // Paths that disagree: not known (the type layer names the path). A parameter holds what
    // every call passes: here the one call's `get_session`.
    check_one(
        source,
        "33:16 APM101 `make()`\n35:16 APM101 `Container().db.session()`\n39:16 APM101 `from_parameter(get_session)`",
    );
}

#[test]
fn unresolved_import_is_silent() {
    check_one(
        "from somewhere_else import get_session\n\nasync def f():\n    async with get_session():\n        pass\n",
        "",
    );
}

#[test]
fn parameter_shadowing_is_silent() {
    check_one(&format!("{AGEN}\nasync def f(get_session):\n    async with get_session() as s:\n        pass\n"), "");
}

#[test]
fn local_rebinding_is_silent() {
    check_one(
        &format!("{AGEN}\nasync def f(other):\n    factory = get_session\n    factory = other\n    async with factory():\n        pass\n"),
        "",
    );
}

#[test]
fn iterating_is_the_right_use() {
    check_one(&format!("{AGEN}\nasync def f():\n    async for s in get_session():\n        pass\n"), "");
}

#[test]
fn disagreeing_conditional_definitions_are_silent() {
    check_one(
        "try:\n    from aiofiles import open as aopen\nexcept ImportError:\n    async def aopen(path):\n        yield path\n\nasync def f():\n    async with aopen('x'):\n        pass\n",
        "",
    );
}

#[test]
fn self_attribute_with_disagreeing_or_unknown_sources_is_silent() {
    check_one(
        &format!(
            "{AGEN}\nclass S:\n    def __init__(self, factory=None):\n        self.a = get_session\n        self.b = factory\n\n    def swap(self, other):\n        self.a = other\n\n    async def run(self):\n        async with self.a():\n            pass\n        async with self.b():\n            pass\n"
        ),
        "",
    );
}

#[test]
fn attribute_missing_behind_an_unknown_base_is_silent() {
    check_one(
        "from lib import Base\n\nclass C(Base):\n    async def run(self):\n        async with self.factory():\n            pass\n",
        "",
    );
}

#[test]
fn yield_in_nested_function_makes_a_coroutine_not_a_generator() {
    check_one(
        "async def get():\n    def inner():\n        yield 1\n    return inner\n\nasync def f():\n    async with get():\n        pass\n",
        "",
    );
}

#[test]
fn unresolved_star_import_makes_names_unknown() {
    check_one("from elsewhere import *\n\nasync def f():\n    async with get_session():\n        pass\n", "");
}

#[test]
fn ambiguous_module_names_are_silent() {
    check(
        &[
            ("svc.py", "from dup import get_session\n\nasync def f():\n    async with get_session():\n        pass\n"),
            ("one/dup.py", AGEN),
            ("two/dup.py", AGEN),
            ("dup.py", AGEN),
            ("src/dup.py", "def get_session():\n    pass\n"),
        ],
        "",
    );
}

#[test]
fn class_with_async_context_protocol_is_fine() {
    check_one(
        "class Both:\n    def __aiter__(self):\n        return self\n    async def __aenter__(self):\n        return self\n    async def __aexit__(self, *args):\n        return None\n\nasync def f():\n    async with Both():\n        pass\n",
        "",
    );
}

#[test]
fn class_with_metaclass_or_decorator_or_unknown_base_is_silent() {
    for header in ["class Rows(metaclass=Meta):\n", "@decorate\nclass Rows:\n", "class Rows(Unknown):\n"] {
        check_one(
            &format!("{header}    def __aiter__(self):\n        return self\n\nasync def f():\n    async with Rows():\n        pass\n"),
            "",
        );
    }
}

#[test]
fn manual_protocol_calls_are_not_findings() {
    check_one(&format!("{AGEN}\nasync def f():\n    gen = get_session()\n    await gen.__anext__()\n"), "");
}

// ---------------------------------------------------------------- fixes

fn fixed(source: &str) -> Option<String> {
    let (findings, _) = analyse(&[("main.py", source)]);
    let fix = findings.first()?.preferred_fix()?;
    Some(apply_edits(source, &fix.edits).0)
}

/// The first finding's fix whose title starts with `title`: the fixed text and whether the fix
/// is safe.
fn fixed_by(source: &str, title: &str) -> Option<(String, crate::Applicability)> {
    let (findings, _) = analyse(&[("main.py", source)]);
    let fix = findings.first()?.fixes.iter().find(|fix| fix.title.starts_with(title))?;
    Some((apply_edits(source, &fix.edits).0, fix.applicability))
}

const SWAP: &str = "Swap the scope guard for stream iteration";

#[test]
fn swap_fix_rewrites_the_header_only() {
    let source =
        format!("{AGEN}\nasync def f():\n    async with get_session() as session:\n        await session.commit()\n");
    let (after, applicability) = fixed_by(&source, SWAP).expect("a swap");
    // `yield 1` is the generator's last statement: nothing of it runs after, so the swap is
    // the same program.
    assert_eq!(applicability, crate::Applicability::Safe);
    assert_eq!(
        after,
        format!("{AGEN}\nasync def f():\n    async for session in get_session():\n        await session.commit()\n")
    );
    let (findings, _) = analyse(&[("main.py", &after)]);
    assert!(findings.is_empty(), "the fixed code is clean: {findings:?}");
}

#[test]
fn the_swap_is_unsafe_when_the_generator_runs_code_after_its_yield() {
    for generator in [
        "async def get_session():\n    s = S()\n    try:\n        yield s\n        await s.commit()\n    finally:\n        await s.close()\n",
        "async def get_session():\n    async with S() as s:\n        yield s\n",
        "async def get_session():\n    if not ready:\n        return\n    yield 1\n",
    ] {
        let source = format!("{generator}\nasync def f():\n    async with get_session() as s:\n        return s\n");
        let (findings, _) = analyse(&[("main.py", &source)]);
        let fixes = &findings[0].fixes;
        let swap = fixes.iter().find(|fix| fix.title.starts_with(SWAP)).expect("a swap");
        assert_eq!(swap.applicability, crate::Applicability::Unsafe, "{generator}");
        assert!(swap.title.contains("the code after `yield` runs only if the loop runs to its end"), "{swap:?}");
        // It yields once: wrapping it is the program that was meant, and it is preferred.
        let preferred = findings[0].preferred_fix().expect("a safe fix");
        assert!(preferred.title.starts_with("Wrap with `asynccontextmanager`"), "{fixes:?}");
    }
}

#[test]
fn a_stream_entered_and_iterated_is_flattened() {
    let stream = "async def open_blob(path):\n    for chunk in range(3):\n        yield chunk\n";
    let source = format!(
        "{stream}\nasync def f(p):\n    total = 0\n    async with open_blob(p) as stream:\n        async for chunk in stream:\n            total += chunk\n\n            # note\n        else:\n            print('done')\n    return total\n"
    );
    let after = fixed(&source).expect("a preferred fix");
    assert_eq!(
        after,
        format!(
            "{stream}\nasync def f(p):\n    total = 0\n    async for chunk in open_blob(p):\n        total += chunk\n\n        # note\n    else:\n        print('done')\n    return total\n"
        )
    );
    check(&[("main.py", &after)], "");
    // No wrap for a stream: it would enter the first item and fail at exit.
    let (findings, _) = analyse(&[("main.py", &source)]);
    assert!(findings[0].fixes.iter().all(|fix| !fix.title.starts_with("Wrap")), "{:?}", findings[0].fixes);
    for not_only_iterated in [
        // The entered object is used after the loop.
        "    async with open_blob(p) as stream:\n        async for chunk in stream:\n            pass\n    return stream\n",
        // Something else happens in the block.
        "    async with open_blob(p) as stream:\n        print(1)\n        async for chunk in stream:\n            pass\n",
        // A multi-line string would change if dedented.
        "    async with open_blob(p) as stream:\n        async for chunk in stream:\n            print('''a\nb''')\n",
        // A comment between the headers would be lost.
        "    async with open_blob(p) as stream:  # the blob\n        async for chunk in stream:\n            pass\n",
    ] {
        let source = format!("{stream}\nasync def f(p):\n{not_only_iterated}");
        let (findings, _) = analyse(&[("main.py", &source)]);
        assert!(findings[0].preferred_fix().is_none(), "{not_only_iterated}: {:?}", findings[0].fixes);
    }
}

#[test]
fn swap_fix_without_target_and_with_tuple_target() {
    let source = format!("{AGEN}\nasync def f():\n    async with get_session():\n        pass\n");
    let (after, applicability) = fixed_by(&source, SWAP).expect("fix");
    assert!(after.contains("    async for _ in get_session():\n"));
    // It binds `_`, which the code may use (gettext): never safe.
    assert_eq!(applicability, crate::Applicability::Unsafe);
    let source = format!("{AGEN}\nasync def f():\n    async with get_session() as (a, b):\n        pass\n");
    assert!(fixed_by(&source, SWAP).expect("fix").0.contains("    async for (a, b) in get_session():\n"));
}

#[test]
fn no_swap_when_the_body_has_loop_control_or_the_header_is_parenthesised() {
    let source =
        format!("{AGEN}\nasync def f(items):\n    for item in items:\n        async with get_session() as s:\n            if s:\n                break\n");
    assert_eq!(fixed_by(&source, SWAP), None);
    let source = format!("{AGEN}\nasync def f():\n    async with (get_session() as s):\n        pass\n");
    assert_eq!(fixed_by(&source, SWAP), None);
}

#[test]
fn the_real_package_shapes_behind_wrong_fixes_are_handled() {
    // aioredis's tests: `@contextmanager` over an async generator fails under `with` and under
    // `async with`; swapping the keyword is no fix, so there is nothing to offer.
    check_one(
        "import contextlib\n\n@contextlib.contextmanager\nasync def pool():\n    yield 1\n\nasync def f():\n    async with pool() as p:\n        pass\n",
        "",
    );
    // redis's tests: a parameter annotated with the sync client receives the async one from a
    // fixture. The finding rests on the annotation, so its fix is never safe.
    let source = "from collections.abc import Iterator\n\nasync def test_scan(keys: Iterator[str]):\n    return [k async for k in keys]\n";
    let (findings, _) = analyse(&[("main.py", source)]);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].preferred_fix().is_none(), "{:?}", findings[0].fixes);
    assert!(
        findings[0].fixes[0].title.contains("changes behaviour if the annotation is wrong"),
        "{:?}",
        findings[0].fixes
    );
    // The same through a workspace class the parameter is annotated with, directly or through a
    // local name.
    for body in [
        "    return [k async for k in r.scan_iter()]\n",
        "    keys = r.scan_iter()\n    return [k async for k in keys]\n",
    ] {
        let source = format!(
            "class Redis:\n    def scan_iter(self):\n        yield 'k'\n\nasync def test_scan(r: Redis):\n{body}"
        );
        let (findings, _) = analyse(&[("main.py", &source)]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].preferred_fix().is_none(), "{body}: {:?}", findings[0].fixes);
    }
    // Without the annotation the generator is what runs: the fix is safe.
    let source =
        "def scan_iter():\n    yield 'k'\n\nasync def test_scan():\n    return [k async for k in scan_iter()]\n";
    assert!(analyse(&[("main.py", source)]).0[0].preferred_fix().is_some());
    // quart: `__aenter__`'s annotation describes what awaiting it gives.
    check_one(
        "from typing import AsyncIterable\n\nclass Body:\n    async def __aenter__(self) -> AsyncIterable:\n        pass\n",
        "",
    );
    // trio's tests: an async generator function handed to a parameter that wants an awaitable
    // factory, inside `pytest.raises(TypeError)`.
    let runner =
        "from typing import Awaitable, Callable\n\ndef run(fn: Callable[..., Awaitable[object]]) -> None:\n    pass\n";
    let test = format!("import pytest\nfrom app.runner import run\n\n{AGEN}\ndef test_run():\n    with pytest.raises(TypeError, match='async generator'):\n        run(get_session)\n    with RaisesGroup(Matcher(TypeError, 'expecting an async function')):\n        run(get_session)\n    run(get_session)\n");
    check(&[("app/test_run.py", &test), ("app/runner.py", runner)], "12:9 APM107 `get_session`");
    let (findings, _) = analyse(&[("app/test_run.py", &test), ("app/runner.py", runner)]);
    let message = &findings.iter().find(|finding| finding.rule == Rule::AwaitOnNonAwaitable).expect("APM107").message;
    assert!(!message.contains("asynccontextmanager"), "{message}");
}

#[test]
fn deliberate_misuse_is_not_reported() {
    for block in [
        "    with pytest.raises(TypeError):\n        async with get_session() as s:\n            pass\n",
        "    with pytest.raises((TypeError, AttributeError), match='context manager'):\n        async with get_session():\n            pass\n",
        "    with self.assertRaises(AttributeError):\n        async with get_session():\n            pass\n",
        "    with RaisesGroup(TypeError):\n        await get_session()\n",
        "    try:\n        async with get_session():\n            pass\n    except TypeError:\n        pass\n",
    ] {
        check_one(&format!("{AGEN}\nasync def test_misuse(self):\n{block}"), "");
    }
    for block in [
        // Another error, a broad handler, a handler's own body, a function defined inside.
        "    with pytest.raises(ValueError):\n        async with get_session():\n            pass\n",
        "    try:\n        async with get_session():\n            pass\n    except Exception:\n        raise\n",
        "    try:\n        pass\n    except TypeError:\n        async with get_session():\n            pass\n",
        "    with pytest.raises(TypeError):\n        async def later():\n            async with get_session():\n                pass\n",
    ] {
        let (findings, _) = analyse(&[("main.py", &format!("{AGEN}\nasync def test_misuse(self):\n{block}"))]);
        assert_eq!(findings.len(), 1, "{block}");
    }
}

#[test]
fn fixes_are_idempotent_on_the_fixture_shapes() {
    let sources = [
        format!("{AGEN}\nasync def f():\n    async with get_session() as s:\n        pass\n    async with get_session() as t:\n        pass\n"),
        format!("{AGEN}\nclass C:\n    def __init__(self):\n        self.f = get_session\n    async def g(self):\n        async with self.f() as s:\n            return s\n"),
    ];
    for source in sources {
        let (findings, _) = analyse(&[("main.py", &source)]);
        let edits: Vec<_> =
            findings.iter().filter_map(Finding::preferred_fix).flat_map(|fix| fix.edits.clone()).collect();
        let (once, _) = apply_edits(&source, &edits);
        let parsed = ruff_python_parser::parse_module(&once);
        assert!(parsed.is_ok(), "fixed code parses: {once}");
        let (again, _) = analyse(&[("main.py", &once)]);
        assert!(again.is_empty(), "no finding left: {again:?}");
    }
}

// ---------------------------------------------------------------- the rest of the catalogue

const ACM: &str = "from contextlib import asynccontextmanager, contextmanager\n\n@asynccontextmanager\nasync def acm():\n    yield 1\n\n@contextmanager\ndef cm():\n    yield 1\n\nasync def agen():\n    yield 1\n\ndef gen():\n    yield 1\n";

/// `ACM` plus a body under `async def use():`; the body starts on line 19.
fn in_async(body: &str) -> String {
    format!("{ACM}\n# the use sites\nasync def use():\n{body}")
}

#[test]
fn apm102_async_for_over_an_async_context_manager() {
    check_one(&in_async("    async for x in acm():\n        print(x)\n"), "19:20 APM102 `acm()`");
    // The body runs once instead of per item: what was meant is a guess, so unsafe.
    assert_eq!(
        fixed_by(&in_async("    async for x in acm():\n        print(x)\n"), "Use `async with"),
        Some((in_async("    async with acm() as x:\n        print(x)\n"), crate::Applicability::Unsafe))
    );
    // A loop with `else:` or `break` cannot become a `with`.
    assert_eq!(fixed(&in_async("    async for x in acm():\n        pass\n    else:\n        pass\n")), None);
}

#[test]
fn apm103_with_on_async_objects() {
    check_one(
        &in_async("    with acm() as x:\n        pass\n    with agen():\n        pass\n"),
        "19:10 APM103 `acm()`\n21:10 APM103 `agen()`",
    );
    assert_eq!(
        fixed(&in_async("    with acm() as x:\n        pass\n")).as_deref(),
        Some(in_async("    async with acm() as x:\n        pass\n").as_str())
    );
    // `async with` over an async generator would be APM101 again: no keyword fix.
    assert_eq!(fixed(&in_async("    with agen():\n        pass\n")), None);
    // Outside an async function there is nothing to type: the message says so.
    let source = format!("{ACM}\ndef sync_use():\n    with acm():\n        pass\n");
    let (findings, _) = analyse(&[("main.py", &source)]);
    assert_eq!(findings.len(), 1);
    let help = findings[0].help.as_deref().unwrap_or_default();
    assert!(help.contains("must move into an async function"), "{help}");
    assert!(findings[0].fixes.is_empty());
}

#[test]
fn apm104_for_over_async_iterables_in_statements_and_comprehensions() {
    check_one(
        &in_async("    for x in agen():\n        pass\n    return [y for y in agen()]\n"),
        "19:14 APM104 `agen()`\n21:24 APM104 `agen()`",
    );
    assert_eq!(
        fixed(&in_async("    return [y for y in agen()]\n")).as_deref(),
        Some(in_async("    return [y async for y in agen()]\n").as_str())
    );
}

#[test]
fn apm105_async_for_over_sync_iterables() {
    check_one(&in_async("    async for x in gen():\n        pass\n"), "19:20 APM105 `gen()`");
    assert_eq!(
        fixed(&in_async("    async for x in gen():\n        pass\n")).as_deref(),
        Some(in_async("    for x in gen():\n        pass\n").as_str())
    );
}

#[test]
fn apm106_async_with_on_sync_context_managers() {
    check_one(&in_async("    async with cm() as c:\n        pass\n"), "19:16 APM106 `cm()`");
    assert_eq!(
        fixed(&in_async("    async with cm() as c:\n        pass\n")).as_deref(),
        Some(in_async("    with cm() as c:\n        pass\n").as_str())
    );
}

#[test]
fn apm107_await_on_non_awaitables() {
    check_one(
        &in_async("    await agen()\n    await gen()\n    await Plain()\n\nclass Plain:\n    pass\n"),
        "19:11 APM107 `agen()`\n20:11 APM107 `gen()`\n21:11 APM107 `Plain()`",
    );
    let source = in_async("    item = await agen()\n");
    let (findings, _) = analyse(&[("main.py", &source)]);
    assert_eq!(findings[0].fixes[0].applicability, crate::Applicability::Unsafe);
    assert_eq!(apply_edits(&source, &findings[0].fixes[0].edits).0, in_async("    item = await anext(agen())\n"));
    // Awaiting coroutines and awaitable classes is the right use.
    check_one(
        "async def coro():\n    return 1\n\nclass Aw:\n    def __await__(self):\n        yield\n\nasync def use():\n    await coro()\n    await Aw()\n",
        "",
    );
}

#[test]
fn apm108_missing_await_from_return_annotations() {
    let source = "from collections.abc import AsyncIterator\n\nclass Connection:\n    async def __aenter__(self):\n        return self\n    async def __aexit__(self, *exc):\n        return None\n\nasync def connect() -> Connection:\n    return Connection()\n\nasync def rows() -> AsyncIterator[int]:\n    return source()\n\nasync def use():\n    async with connect() as conn:\n        pass\n    async for row in rows():\n        pass\n";
    check_one(source, "16:16 APM108 `connect()`\n18:22 APM108 `rows()`");
    let (findings, _) = analyse(&[("main.py", source)]);
    let once = apply_edits(source, &findings.iter().flat_map(|f| f.fixes[0].edits.clone()).collect::<Vec<_>>()).0;
    assert!(
        once.contains("async with await connect() as conn:") && once.contains("async for row in await rows():"),
        "{once}"
    );
    check(&[("main.py", &once)], "");
    // Without an annotation the awaited result is unknown: silence.
    check_one("async def connect():\n    return 1\n\nasync def use():\n    async with connect():\n        pass\n", "");
}

#[test]
fn apm109_uncalled_factories() {
    check_one(
        &in_async("    async with acm as x:\n        pass\n    async for y in agen:\n        pass\n"),
        "19:16 APM109 `acm`\n21:20 APM109 `agen`",
    );
    assert_eq!(
        fixed(&in_async("    async with acm as x:\n        pass\n")).as_deref(),
        Some(in_async("    async with acm() as x:\n        pass\n").as_str())
    );
    // A property is read, not called; an unknown object may well be the product already.
    check_one(
        "from contextlib import asynccontextmanager\n\nclass S:\n    @property\n    @asynccontextmanager\n    async def session(self):\n        yield 1\n\n    async def use(self, other):\n        async with self.session:\n            pass\n        async with other:\n            pass\n",
        "",
    );
}

#[test]
fn apm301_annotation_contradicts_body() {
    check_one(
        "from typing import AsyncContextManager, AsyncIterator, Protocol\n\nasync def get_session() -> AsyncContextManager[int]:\n    yield 1\n\nclass Repo(Protocol):\n    async def stream(self) -> AsyncIterator[int]:\n        ...\n",
        "3:28 APM301 `AsyncContextManager[int]`\n7:31 APM301 `AsyncIterator[int]`",
    );
    // Correct spellings: a decorated generator annotated as an iterator, a coroutine that
    // returns an iterator, a plain `def` interface.
    check_one(
        "from contextlib import asynccontextmanager\nfrom typing import AsyncIterator\n\n@asynccontextmanager\nasync def scope() -> AsyncIterator[int]:\n    yield 1\n\nasync def make() -> AsyncIterator[int]:\n    return source()\n\nclass Repo:\n    def stream(self) -> AsyncIterator[int]:\n        ...\n\nasync def agen() -> 'AsyncIterator[int]':\n    yield 1\n",
        "",
    );
}

#[test]
fn protocol_apis_anext_and_exit_stacks() {
    check_one(
        &in_async("    await anext(acm())\n    await anext(agen())\n    async with contextlib.AsyncExitStack() as stack:\n        await stack.enter_async_context(agen())\n        await stack.enter_async_context(acm())\n        stack.enter_context(agen())\n"),
        "19:17 APM102 `acm()`\n22:41 APM101 `agen()`\n24:29 APM103 `agen()`",
    );
    // A local `anext` is not the builtin.
    check_one(&format!("{ACM}\ndef anext(x):\n    return x\n\nasync def use():\n    anext(acm())\n"), "");
}

#[test]
fn annotations_declare_protocols() {
    check_one(
        "from typing import Callable, Optional\nfrom collections.abc import AsyncIterator\n\ndef make() -> AsyncIterator[int]:\n    return source()\n\nasync def use(factory: Callable[[], AsyncIterator[int]], maybe: Optional[Callable[..., AsyncIterator[int]]], stream: 'AsyncIterator[int]', other: AsyncIterator[int] | None):\n    async with make():\n        pass\n    async with factory() as a:\n        pass\n    async with maybe() as b:\n        pass\n    async with stream:\n        pass\n    async with other:\n        pass\n",
        "8:16 APM101 `make()`\n10:16 APM101 `factory()`\n12:16 APM101 `maybe()`\n14:16 APM101 `stream`\n16:16 APM101 `other`",
    );
    // Untyped and unknown annotations say nothing.
    check_one("from lib import Session\n\nasync def use(a, b: Session, c: 'Unknown[int]'):\n    async with a:\n        pass\n    async with b:\n        pass\n    async with c:\n        pass\n", "");
}

#[test]
fn call_form_decorators_and_partial() {
    check_one(
        &format!(
            "import functools\nfrom contextlib import asynccontextmanager\n{AGEN}\nsession_scope = asynccontextmanager(get_session)\nbound = functools.partial(get_session)\n\nasync def use():\n    async with session_scope() as a:\n        pass\n    async with asynccontextmanager(get_session)() as b:\n        pass\n    async with bound() as c:\n        pass\n"
        ),
        "14:16 APM101 `bound()`",
    );
}

#[test]
fn pytest_fixtures_keep_the_function_kind() {
    check_one(
        &format!(
            "import pytest\n\n@pytest.fixture(scope='session')\n{AGEN}\nasync def use():\n    async with get_session():\n        pass\n"
        ),
        "8:16 APM101 `get_session()`",
    );
}

#[test]
fn methods_through_instances_and_known_bases() {
    check_one(
        "from collections.abc import AsyncIterator\nfrom contextlib import AbstractAsyncContextManager\n\nclass Database:\n    async def sessions(self):\n        yield 1\n\nclass Rows(AsyncIterator[int]):\n    async def __anext__(self):\n        raise StopAsyncIteration\n\nclass Scope(AbstractAsyncContextManager):\n    async def __aexit__(self, *exc):\n        return None\n\nasync def use():\n    db = Database()\n    async with db.sessions() as s:\n        pass\n    async with Rows():\n        pass\n    async for x in Scope():\n        pass\n    async with Scope():\n        pass\n    async for r in Rows():\n        pass\n",
        "18:16 APM101 `db.sessions()`\n20:16 APM101 `Rows()`\n22:20 APM102 `Scope()`",
    );
}

#[test]
fn interface_stubs_say_nothing_at_use_sites() {
    check_one(
        "from typing import Protocol\n\nclass Source(Protocol):\n    def rows(self):\n        ...\n\n    async def stream(self):\n        raise NotImplementedError\n\nasync def use(source: Source):\n    async with source.rows():\n        pass\n    async for x in source.stream():\n        pass\n",
        "",
    );
}

// ---------------------------------------------------------------- constructor injection

const REPOSITORY: &str = "class UserRepository:\n    def __init__(self, session_factory, *, label=None):\n        self.session_factory = session_factory\n\n    async def get(self):\n        async with self.session_factory() as session:\n            return session\n";

#[test]
fn constructor_parameters_follow_every_call_of_the_class() {
    check(
        &[
            ("app/repo.py", REPOSITORY),
            ("app/db.py", AGEN),
            ("app/wiring.py", "from app.db import get_session\nfrom app.repo import UserRepository\nfrom app.repo import UserRepository as Users\n\nrepo = UserRepository(session_factory=get_session)\nother = Users(get_session, label='x')\n"),
        ],
        "6:20 APM101 `self.session_factory()`",
    );
}

#[test]
fn constructor_parameters_disagreeing_or_unseen_are_silent() {
    let acm = "from contextlib import asynccontextmanager\n\n@asynccontextmanager\nasync def scope():\n    yield 1\n";
    // One call passes a real context manager, under an alias.
    check(
        &[
            ("app/repo.py", REPOSITORY),
            ("app/db.py", AGEN),
            ("app/acm.py", acm),
            (
                "app/a.py",
                "from app.db import get_session\nfrom app.repo import UserRepository\nUserRepository(get_session)\n",
            ),
            ("app/b.py", "from app.acm import scope\nfrom app.repo import UserRepository as R\nR(scope)\n"),
        ],
        "",
    );
    // Nobody constructs it here (a framework does), or a call unpacks arguments.
    check(&[("app/repo.py", REPOSITORY), ("app/db.py", AGEN)], "");
    check(
        &[
            ("app/repo.py", REPOSITORY),
            ("app/db.py", AGEN),
            ("app/a.py", "from app.db import get_session\nfrom app.repo import UserRepository\nUserRepository(get_session)\nUserRepository(**settings)\n"),
        ],
        "",
    );
    // Handed on as a value, constructed by a classmethod, or called through a lowercase alias:
    // calls we cannot see may pass anything.
    for wiring in [
        "from app.db import get_session\nfrom app.repo import UserRepository\nUserRepository(get_session)\nPROVIDERS = [UserRepository]\n",
        "from app.db import get_session\nfrom app.repo import UserRepository as repo_class\nrepo_class(get_session)\n",
    ] {
        check(&[("app/repo.py", REPOSITORY), ("app/db.py", AGEN), ("app/a.py", wiring)], "");
    }
    check(
        &[
            (
                "app/repo.py",
                &format!("{REPOSITORY}\n    @classmethod\n    def default(cls):\n        return cls(other_factory)\n"),
            ),
            ("app/db.py", AGEN),
            (
                "app/a.py",
                "from app.db import get_session\nfrom app.repo import UserRepository\nUserRepository(get_session)\n",
            ),
        ],
        "",
    );
    // Type positions are not escapes: the one visible call decides.
    check(
        &[
            ("app/repo.py", REPOSITORY),
            ("app/db.py", AGEN),
            ("app/a.py", "from app.db import get_session\nfrom app.repo import UserRepository\n\ndef build() -> UserRepository:\n    repo: UserRepository = UserRepository(get_session)\n    assert isinstance(repo, UserRepository)\n    return repo\n"),
        ],
        "6:20 APM101 `self.session_factory()`",
    );
    // A subclass may pass anything to `super().__init__`.
    check(
        &[
            ("app/repo.py", REPOSITORY),
            ("app/db.py", AGEN),
            ("app/a.py", "from app.db import get_session\nfrom app.repo import UserRepository\nUserRepository(get_session)\n\nclass Cached(UserRepository):\n    pass\n"),
        ],
        "",
    );
}

// ---------------------------------------------------------------- parameters of plain functions

const RUNNER: &str =
    "async def run(factory, retries=0):\n    async with factory() as session:\n        return session\n";

#[test]
fn function_parameters_follow_every_call_of_the_function() {
    // By position, by keyword, through a module attribute and under an alias.
    for wiring in [
        "from app.db import get_session\nfrom app.runner import run\n\nasync def main():\n    await run(get_session)\n",
        "from app.db import get_session\nfrom app import runner\n\nasync def main():\n    await runner.run(factory=get_session, retries=2)\n",
        "import app.runner\nfrom app.db import get_session\nfrom app.runner import run as go\n\nasync def main():\n    await go(get_session)\n    await go(get_session, 1)\n",
    ] {
        check(
            &[("app/runner.py", RUNNER), ("app/db.py", AGEN), ("app/main.py", wiring)],
            "2:16 APM101 `factory()`",
        );
    }
    // A module global set from a setter's parameter (its `None` placeholder is no source).
    check(
        &[
            (
                "app/runner.py",
                "DRIVER = None\n\ndef configure(driver):\n    global DRIVER\n    DRIVER = driver\n\nasync def query():\n    async with DRIVER() as rows:\n        return rows\n",
            ),
            ("app/db.py", AGEN),
            ("app/main.py", "from app.db import get_session\nfrom app.runner import configure\n\nconfigure(get_session)\n"),
        ],
        "8:16 APM101 `DRIVER()`",
    );
}

#[test]
fn function_parameters_disagreeing_unseen_or_handed_on_are_silent() {
    let acm = "from contextlib import asynccontextmanager\n\n@asynccontextmanager\nasync def scope():\n    yield 1\n";
    for wiring in [
        // Nobody calls it here (its users do).
        "",
        // One call passes a real context manager.
        "from app.db import get_session\nfrom app.acm import scope\nfrom app.runner import run\n\nasync def main():\n    await run(get_session)\n    await run(scope)\n",
        // A call unpacks, or passes something unknown.
        "from app.db import get_session\nfrom app.runner import run\n\nasync def main(options):\n    await run(get_session)\n    await run(**options)\n",
        "from app.db import get_session\nfrom app.runner import run\n\nasync def main(factory):\n    await run(get_session)\n    await run(factory)\n",
        // Handed on as a value, by name or as a module attribute: calls we cannot see.
        "from app.db import get_session\nfrom app.runner import run\n\nJOBS = [run]\n\nasync def main():\n    await run(get_session)\n",
        "from app.db import get_session\nfrom app import runner\n\nasync def main(schedule):\n    schedule(runner.run)\n    await runner.run(get_session)\n",
        // Called through a name that may or may not be it.
        "from app.db import get_session\nfrom app.runner import run\n\ndef other(factory):\n    return factory\n\nasync def main(flag):\n    if flag:\n        run = other\n    await run(get_session)\n",
    ] {
        check(&[("app/runner.py", RUNNER), ("app/db.py", AGEN), ("app/acm.py", acm), ("app/main.py", wiring)], "");
    }
    // Decorated functions and methods are called by what wraps or binds them.
    let wiring = "from app.db import get_session\nfrom app.runner import run, Runner\n\nasync def main():\n    await run(get_session)\n    await Runner().go(get_session)\n";
    let decorated = "import functools\n\n@functools.lru_cache\nasync def run(factory):\n    async with factory() as session:\n        return session\n\nclass Runner:\n    async def go(self, factory):\n        async with factory() as session:\n            return session\n";
    check(&[("app/runner.py", decorated), ("app/db.py", AGEN), ("app/main.py", wiring)], "");
}

#[test]
fn constructor_defaults_and_or_fallbacks() {
    check_one(
        &format!(
            "{AGEN}\nclass Service:\n    def __init__(self, factory=None, other=get_session):\n        self.factory = factory or get_session\n        self.other = other\n\n    async def run(self):\n        async with self.factory():\n            pass\n        async with self.other():\n            pass\n\nservice = Service()\n"
        ),
        "10:20 APM101 `self.factory()`\n12:20 APM101 `self.other()`",
    );
}

#[test]
fn dataclass_fields_follow_constructions() {
    let service = "from dataclasses import dataclass\nfrom typing import Callable, ClassVar\n\n@dataclass\nclass Service:\n    name: str\n    factory: Callable = get_session\n    registry: ClassVar[dict] = {}\n\n    async def run(self):\n        async with self.factory():\n            pass\n";
    let module = format!("{AGEN}{service}");
    // Every construction leaves the default: it is the value.
    check_one(&format!("{module}\nsvc = Service('a')\n"), "13:20 APM101 `self.factory()`");
    // One construction passes a real context manager (by keyword or position): silence.
    for construction in ["Service('a', factory=scope)", "Service('a', scope)"] {
        check_one(
            &format!("from contextlib import asynccontextmanager\n\n@asynccontextmanager\nasync def scope():\n    yield 1\n{module}\nsvc = Service('a')\nother = {construction}\n"),
            "",
        );
    }
    // From outside the class, on an instance a construction makes: the same sources.
    let outside = "\nasync def use():\n    svc = Service('a')\n    async with svc.factory():\n        pass\n";
    check_one(&format!("{module}{outside}"), "13:20 APM101 `self.factory()`\n18:16 APM101 `svc.factory()`");
    check_one(
        &format!("from contextlib import asynccontextmanager\n\n@asynccontextmanager\nasync def scope():\n    yield 1\n{module}{outside}\nother = Service('b', scope)\n"),
        "",
    );
}

#[test]
fn model_fields_with_unknown_machinery_are_silent() {
    check_one(
        &format!("from pydantic import BaseModel\nfrom typing import Callable\n{AGEN}\nclass Settings(BaseModel):\n    factory: Callable = get_session\n\n    async def run(self):\n        async with self.factory():\n            pass\n"),
        "",
    );
}

#[test]
fn staticmethod_wrapped_class_attributes_through_subclasses() {
    check_one(
        &format!("{AGEN}\nclass Base:\n    factory = staticmethod(get_session)\n\nclass Child(Base):\n    async def run(self):\n        async with self.factory() as s:\n            pass\n"),
        "9:20 APM101 `self.factory()`",
    );
}

#[test]
fn tables_of_factories_indexed_by_any_key() {
    let acm = "from contextlib import asynccontextmanager\n\n@asynccontextmanager\nasync def scope():\n    yield 1\n";
    check_one(
        &format!("{AGEN}\nFACTORIES = {{'main': get_session, 'replica': get_session}}\nORDER = [get_session]\n\nasync def use(name):\n    async with FACTORIES[name]() as s:\n        pass\n    async with ORDER[0]():\n        pass\n"),
        "8:16 APM101 `FACTORIES[name]()`\n10:16 APM101 `ORDER[0]()`",
    );
    // Mixed tables, and tables changed after their display, say nothing.
    check_one(
        &format!("{acm}{AGEN}\nMIXED = {{'a': get_session, 'b': scope}}\nLATER = {{'a': get_session}}\n\ndef register(name, factory):\n    LATER[name] = factory\n\nAPPENDED = [get_session]\nAPPENDED.append(scope)\n\nasync def use(name):\n    async with MIXED[name]():\n        pass\n    async with LATER[name]():\n        pass\n    async with APPENDED[0]():\n        pass\n"),
        "",
    );
}

#[test]
fn pytest_fixtures_inject_their_values_into_tests() {
    let fixtures = "import pytest\nfrom app.db import get_session\n\n@pytest.fixture\ndef session_factory():\n    return get_session\n\n@pytest.fixture(name='renamed')\ndef _renamed():\n    yield get_session\n";
    let tests = "import pytest\n\nasync def test_reads(session_factory, renamed):\n    async with session_factory() as s:\n        pass\n    async with renamed() as t:\n        pass\n\n@pytest.mark.parametrize('session_factory', [1])\nasync def test_param(session_factory):\n    async with session_factory() as s:\n        pass\n\nasync def helper(session_factory):\n    async with session_factory() as s:\n        pass\n";
    check(
        &[("tests/test_service.py", tests), ("tests/conftest.py", fixtures), ("app/db.py", AGEN)],
        "4:16 APM101 `session_factory()`\n6:16 APM101 `renamed()`",
    );
    // A nearer fixture of the same name overrides the conftest one.
    let overriding = format!("import pytest\nfrom contextlib import asynccontextmanager\n\n@asynccontextmanager\nasync def scope():\n    yield 1\n\n@pytest.fixture\ndef session_factory():\n    return scope\n\n{tests}");
    check(
        &[("tests/test_service.py", &overriding), ("tests/conftest.py", fixtures), ("app/db.py", AGEN)],
        "17:16 APM101 `renamed()`",
    );
    // Outside test files, or with no visible fixture (a plugin's), nothing is injected.
    check(&[("app/service.py", tests), ("tests/conftest.py", fixtures), ("app/db.py", AGEN)], "");
    check(&[("tests/test_service.py", tests), ("app/db.py", AGEN)], "");
}

#[test]
fn functions_passed_to_factory_parameters() {
    let runner = "from collections.abc import Callable\nfrom contextlib import AbstractAsyncContextManager\n\nasync def run(factory: Callable[[], AbstractAsyncContextManager[int]], retries: int = 1) -> None:\n    async with factory() as session:\n        pass\n";
    check(
        &[
            ("app/main.py", "from app.db import get_session\nfrom app.runner import run\n\nasync def main():\n    await run(get_session)\n    await run(factory=get_session)\n"),
            ("app/runner.py", runner),
            ("app/db.py", AGEN),
        ],
        "5:15 APM101 `get_session`\n6:23 APM101 `get_session`",
    );
    // The right kind of factory, an unannotated parameter, or a variable: nothing to say.
    check(
        &[
            (
                "app/main.py",
                "from contextlib import asynccontextmanager\nfrom app.runner import run, loose\n\n@asynccontextmanager\nasync def scope():\n    yield 1\n\nasync def main(get_session):\n    await run(scope)\n    await loose(scope)\n    await run(get_session)\n",
            ),
            ("app/runner.py", &format!("{runner}\nasync def loose(factory):\n    pass\n")),
        ],
        "",
    );
}

#[test]
fn application_state_is_read_back_where_it_was_stored() {
    let startup = "from fastapi import FastAPI\nfrom app.db import get_session\n\napp = FastAPI()\napp.state.session_factory = get_session\n";
    let route = "from fastapi import Request\n\nasync def handler(request: Request):\n    async with request.app.state.session_factory() as s:\n        pass\n    async with request.app.state.other() as t:\n        pass\n";
    check(
        &[("app/routes.py", route), ("app/main.py", startup), ("app/db.py", AGEN)],
        "4:16 APM101 `request.app.state.session_factory()`",
    );
    // Two assignments that disagree: silence.
    check(
        &[
            ("app/routes.py", route),
            ("app/main.py", &format!("{startup}\ndef configure(factory):\n    app.state.session_factory = factory\n")),
            ("app/db.py", AGEN),
        ],
        "",
    );
}

#[test]
fn options_dicts_with_function_defaults() {
    check_one(
        &format!("{AGEN}\nclass Service:\n    def __init__(self, options):\n        self.factory = options.get('factory', get_session)\n\n    async def run(self):\n        async with self.factory():\n            pass\n\nService({{'factory': get_session}})\nService({{}})\n"),
        "9:20 APM101 `self.factory()`",
    );
    // Options we cannot see into: silence.
    check_one(
        &format!("import json\n{AGEN}\nclass Service:\n    def __init__(self, options):\n        self.factory = options.get('factory', get_session)\n\n    async def run(self):\n        async with self.factory():\n            pass\n\nService(json.loads('{{}}'))\n"),
        "",
    );
}

#[test]
fn apm302_getter_names_on_async_generators_entered_somewhere() {
    let files = [
        ("app/db.py", "async def get_session():\n    yield 1\n\nasync def session_scope():\n    yield 2\n\nasync def get_rows():\n    yield 3\n\nasync def iter_sessions():\n    yield 4\n"),
        ("app/use.py", "from app.db import get_session, session_scope, get_rows, iter_sessions\n\nasync def use():\n    async with get_session() as s:\n        pass\n    async for x in session_scope():\n        pass\n    async with get_rows() as r:\n        pass\n    async with iter_sessions() as t:\n        pass\n"),
    ];
    let rules = RuleSet::default().with(Rule::AmbiguousFactoryName);
    let (findings, source) = analyse_with(&files, rules);
    // Off by default; when selected: `get_session` (a getter name, entered). `session_scope` is
    // only iterated, `get_rows` has no lifecycle word, `iter_sessions` is named for its items.
    assert_eq!(render(&findings, &source), "1:11 APM302 `get_session`");
    let (default_findings, _) = analyse(&files);
    assert!(default_findings.is_empty());
    // Decorated (under any spelling) it is a context-manager factory: the name is right. An
    // unknown decorator says nothing either.
    for decorator in ["@asynccontextmanager", "@contextlib.asynccontextmanager", "@acm", "@unknown_decorator"] {
        let db = format!(
            "import contextlib\nfrom contextlib import asynccontextmanager\nacm = asynccontextmanager\n\n{decorator}\nasync def get_session():\n    yield 1\n"
        );
        let use_site =
            "from app.db import get_session\n\nasync def use():\n    async with get_session() as s:\n        pass\n";
        let (findings, _) = analyse_with(&[("app/db.py", &db), ("app/use.py", use_site)], rules);
        assert!(findings.is_empty(), "{decorator}: {findings:?}");
    }
}

#[test]
fn noqa_comments_silence_findings() {
    check_one(
        &format!("{AGEN}\nasync def f():\n    async with get_session():  # noqa: APM101\n        pass\n    async with get_session():  # noqa: apm102\n        pass\n    async with get_session():  # type: ignore\n        pass\n    async with get_session():  # noqa\n        pass\n"),
        "7:16 APM101 `get_session()`\n9:16 APM101 `get_session()`\n11:16 APM101 `get_session()`",
    );
    check_one(
        &format!("# asyncsense: noqa: APM101\n{AGEN}\nasync def f():\n    async with get_session():\n        pass\n"),
        "",
    );
}

#[test]
fn apm101_wrap_fix_reuses_or_adds_the_import() {
    let body = "\nasync def f():\n    async with get_session() as s:\n        pass\n";
    for (header, expected_call, adds_import) in [
        ("\"\"\"Docs.\"\"\"\nimport os\n", "contextlib.asynccontextmanager(get_session)()", true),
        ("import contextlib as cl\n", "cl.asynccontextmanager(get_session)()", false),
        ("from contextlib import asynccontextmanager as acm\n", "acm(get_session)()", false),
    ] {
        let source = format!("{header}{AGEN}{body}");
        let (findings, _) = analyse(&[("main.py", &source)]);
        let wrap = findings[0].preferred_fix().expect("a wrap fix");
        assert!(wrap.title.starts_with("Wrap with"), "{wrap:?}");
        let (after, _) = apply_edits(&source, &wrap.edits);
        assert!(after.contains(&format!("    async with {expected_call} as s:\n")), "{after}");
        assert_eq!(after.contains("import contextlib\n"), adds_import, "{after}");
        if adds_import {
            assert!(after.starts_with("\"\"\"Docs.\"\"\"\nimport os\nimport contextlib\n"), "{after}");
        }
        assert!(ruff_python_parser::parse_module(&after).is_ok(), "{after}");
        let (again, _) = analyse(&[("main.py", &after)]);
        assert!(again.is_empty(), "{again:?}");
    }
}

/// A workspace index holding `source` as `main.py`, and that module.
fn index_main(source: &str) -> (WorkspaceIndex, Arc<crate::IndexedModule>) {
    let index = WorkspaceIndex::new();
    let module = Arc::new(index_source(&Path::new(ROOT).join("main.py"), source, &[PathBuf::from(ROOT)]));
    index.insert(Arc::clone(&module));
    (index, module)
}

#[test]
fn hover_explains_definitions_use_sites_and_findings() {
    let source = format!("{AGEN}\nasync def f():\n    async for s in get_session():\n        pass\n    async with get_session():\n        pass\n");
    let (index, module) = index_main(&source);
    let context = CheckContext {
        index: &index,
        display_root: Some(Path::new(ROOT)),
        rules: RuleSet::default(),
        workspace_fixes: true,
        types: None,
    };
    let findings = check_module(&module, &source, &context);
    let at = |needle: &str, nth: usize| source.match_indices(needle).nth(nth).expect("needle").0 + 1;

    let definition =
        crate::python::check::hover(&module, &source, at("get_session", 0), &findings, &context).expect("hover");
    assert!(definition.contains("`get_session` is an async generator function"), "{definition}");
    assert!(
        definition.contains("iterate it with `async for`")
            && definition.contains("cannot be entered with `async with`"),
        "{definition}"
    );

    let use_site =
        crate::python::check::hover(&module, &source, at("get_session", 1), &findings, &context).expect("hover");
    assert!(use_site.starts_with("`get_session()` is an async generator"), "{use_site}");

    let finding =
        crate::python::check::hover(&module, &source, at("get_session", 2), &findings, &context).expect("hover");
    assert!(finding.starts_with("**APM101 async-with-on-async-generator**"), "{finding}");

    assert_eq!(crate::python::check::hover(&module, &source, at("pass", 0), &findings, &context), None);
}

// ---------------------------------------------------------------- fix properties over fixtures

/// Every fix of every finding in the fixture projects under `tests/fixtures`: the fixed file
/// parses, re-checking no longer reports that finding, and applying all preferred fixes a
/// second time changes nothing.
#[test]
fn fixes_on_every_fixture_parse_remove_their_finding_and_are_idempotent() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut projects: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("tests/fixtures exists")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir())
        .collect();
    projects.sort();
    let mut fixes_checked = 0;
    for project in projects {
        let roots = vec![project.clone()];
        let files = crate::workspace::discover_python_files(&roots);
        let index = WorkspaceIndex::new();
        let sources: Vec<(PathBuf, String)> = files
            .iter()
            .map(|path| (path.clone(), crate::workspace::read_source(path).expect("fixture is UTF-8")))
            .collect();
        for (path, source) in &sources {
            index.insert(Arc::new(index_source(path, source, &roots)));
        }
        let context = CheckContext {
            index: &index,
            display_root: None,
            rules: RuleSet::default(),
            workspace_fixes: true,
            types: None,
        };
        let findings_in = |path: &Path, source: &str| {
            let module = Arc::new(index_source(path, source, &roots));
            index.insert(Arc::clone(&module));
            check_module(&module, source, &context)
        };
        for (path, source) in &sources {
            let findings = findings_in(path, source);
            for finding in &findings {
                for fix in &finding.fixes {
                    // An unsafe fix says in its title what it changes; a safe one changes nothing.
                    assert_eq!(
                        fix.title.contains("changes behaviour"),
                        fix.applicability == crate::Applicability::Unsafe,
                        "{}: {}",
                        path.display(),
                        fix.title
                    );
                    let (fixed, applied) = apply_edits(source, &fix.edits);
                    assert_eq!(applied, fix.edits.len(), "{}: {}", path.display(), fix.title);
                    assert!(
                        ruff_python_parser::parse_module(&fixed).is_ok(),
                        "{} breaks the code:\n{fixed}",
                        fix.title
                    );
                    let after = findings_in(path, &fixed);
                    let before_count = findings.iter().filter(|other| other.rule == finding.rule).count();
                    let after_count = after.iter().filter(|other| other.rule == finding.rule).count();
                    assert!(after_count < before_count, "{} left its {} finding:\n{fixed}", fix.title, finding.rule);
                    fixes_checked += 1;
                }
            }
            // All preferred fixes at once, then once more: the second round finds nothing to fix.
            let edits: Vec<_> =
                findings.iter().filter_map(Finding::preferred_fix).flat_map(|fix| fix.edits.clone()).collect();
            let (once, _) = apply_edits(source, &edits);
            assert!(ruff_python_parser::parse_module(&once).is_ok(), "{once}");
            let again = findings_in(path, &once);
            assert!(again.iter().all(|finding| finding.preferred_fix().is_none()), "{again:?}");
            findings_in(path, source);
        }
    }
    assert!(fixes_checked >= 12, "the fixtures exercise the fixes ({fixes_checked})");
}

#[test]
fn the_text_is_read_only_when_a_finding_needs_it() {
    let entered = format!("{AGEN}\nasync def use():\n    async with get_session() as s:\n        pass\n");
    let iterated = format!("{AGEN}\nasync def use():\n    async for s in get_session():\n        pass\n");
    for (source, has_finding) in [(entered.as_str(), true), (iterated.as_str(), false)] {
        let (index, module) = index_main(source);
        let context = CheckContext {
            index: &index,
            display_root: Some(Path::new(ROOT)),
            rules: RuleSet::default(),
            workspace_fixes: false,
            types: None,
        };
        let reads = std::cell::Cell::new(0);
        let read = || {
            reads.set(reads.get() + 1);
            Some(source.to_owned())
        };
        let lazy = Source::lazy(&read);
        let findings = check_module_with(&module, &lazy, &context);
        assert_eq!(findings, check_module(&module, source, &context), "the same findings either way");
        assert_eq!(findings.is_empty(), !has_finding);
        assert_eq!(reads.get(), usize::from(has_finding), "read once, and only for a finding");
        assert_eq!(lazy.into_read().is_some(), has_finding);
        // A text that cannot be read (or changed) drops the findings that need it.
        let unreadable = || None;
        assert!(check_module_with(&module, &Source::lazy(&unreadable), &context).is_empty());
    }
}

#[test]
fn apm101_decorate_fix_only_when_every_use_enters() {
    let service =
        "from app.db import get_session\n\nasync def use():\n    async with get_session() as s:\n        pass\n";
    let decorate = |files: &[(&str, &str)]| {
        let (findings, _) = analyse(files);
        findings[0].fixes.iter().find(|fix| fix.title.starts_with("Decorate")).cloned()
    };
    let fix = decorate(&[("app/service.py", service), ("app/db.py", AGEN)]).expect("offered");
    assert!(fix.edits.is_empty());
    let (path, edits) = &fix.other_files[0];
    assert!(path.ends_with("app/db.py"));
    assert_eq!(apply_edits(AGEN, edits).0, format!("import contextlib\n@contextlib.asynccontextmanager\n{AGEN}"));
    // Iterated, or handed to FastAPI's Depends, elsewhere: the generator must stay a generator.
    for other in [
        "from app.db import get_session\n\nasync def rows():\n    async for s in get_session():\n        pass\n",
        "from fastapi import Depends\nfrom app.db import get_session\n\nasync def route(session=Depends(get_session)):\n    pass\n",
    ] {
        assert!(decorate(&[("app/service.py", service), ("app/db.py", AGEN), ("app/other.py", other)]).is_none());
    }
    // The definition's decorators are read in its own module's facts, not the user's.
    let decorated = "import abc\n\n\n@abc.abstractmethod\nasync def get_session():\n    yield 1\n";
    let fix = decorate(&[("app/service.py", service), ("app/db.py", decorated)]).expect("offered");
    let (_, edits) = &fix.other_files[0];
    assert_eq!(
        apply_edits(decorated, edits).0,
        "import abc\nimport contextlib\n\n\n@abc.abstractmethod\n@contextlib.asynccontextmanager\nasync def get_session():\n    yield 1\n"
    );
}

#[test]
fn apm301_fix_rewrites_the_annotation() {
    for (header, annotation, expected) in [
        (
            "from typing import AsyncContextManager\n",
            "AsyncContextManager[int]",
            // The target Python is unknown: `typing` works on every version.
            "from typing import AsyncContextManager\nfrom typing import AsyncIterator\n",
        ),
        ("import typing\n", "typing.AsyncContextManager[int]", "import typing\n"),
        (
            "from typing import AsyncContextManager, AsyncIterator as AI\n",
            "'AsyncContextManager[int]'",
            "from typing import AsyncContextManager, AsyncIterator as AI\n",
        ),
    ] {
        let source = format!("{header}\nasync def get_session() -> {annotation}:\n    yield 1\n");
        let (findings, _) = analyse(&[("main.py", &source)]);
        assert_eq!(findings.len(), 1, "{findings:?}");
        let fix = findings[0].preferred_fix().expect("a safe fix");
        let (after, _) = apply_edits(&source, &fix.edits);
        assert!(after.starts_with(expected), "{after}");
        assert!(ruff_python_parser::parse_module(&after).is_ok(), "{after}");
        check(&[("main.py", &after)], "");
    }
}

// ---------------------------------------------------------------- bounded fuzzing

/// Arbitrary bytes and Python-ish token soup through parse → facts → check → fixes: nothing
/// panics, and on inputs without syntax errors every fix still parses.
#[test]
fn fuzz_parse_facts_check_fix() {
    struct Random(u64);
    impl Random {
        fn below(&mut self, bound: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % (bound.max(1) as u64)).unwrap_or(0)
        }
    }
    const TOKENS: &[&str] = &[
        "async ",
        "def ",
        "with ",
        "for ",
        "in ",
        "as ",
        "await ",
        "yield ",
        "class ",
        "return ",
        "import ",
        "from ",
        "@",
        "(",
        ")",
        "[",
        "]",
        ":",
        ",",
        ".",
        "=",
        " or ",
        "\n",
        "\n    ",
        "\n        ",
        "get_session",
        "self",
        "f",
        "x",
        "contextlib",
        "asynccontextmanager",
        "AsyncIterator",
        "Callable",
        "# noqa: APM101",
        "'s'",
        "1",
        "*",
        "**",
        "lambda ",
        "if ",
        "else ",
        "__aenter__",
        "__aiter__",
        "🧪",
        "\r\n",
        "\\",
    ];
    let mut random = Random(0xDEAD_BEEF_CAFE_F00D);
    let mut executions = 0;
    let mut with_findings = 0;
    for round in 0..30_000 {
        let source = if round % 3 == 2 {
            // A use site with random surroundings, so the rules fire often.
            let mut text = format!("{AGEN}\nasync def use():\n    async with get_session() as s:\n        ");
            for _ in 0..random.below(12) {
                text.push_str(TOKENS[random.below(TOKENS.len())]);
            }
            text
        } else if round % 3 == 0 {
            let bytes: Vec<u8> = (0..random.below(200)).map(|_| u8::try_from(random.below(256)).unwrap_or(0)).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let mut text = String::from(AGEN);
            for _ in 0..random.below(60) {
                text.push_str(TOKENS[random.below(TOKENS.len())]);
            }
            text
        };
        let (findings, _) = analyse(&[("fuzz.py", &source), ("other.py", AGEN)]);
        let parses = ruff_python_parser::parse_module(&source).is_ok();
        for finding in &findings {
            assert!(finding.range.end <= source.len() && source.is_char_boundary(finding.range.start));
            for fix in &finding.fixes {
                let (fixed, _) = apply_edits(&source, &fix.edits);
                if parses {
                    assert!(ruff_python_parser::parse_module(&fixed).is_ok(), "{}:\n{source}\n---\n{fixed}", fix.title);
                }
            }
        }
        with_findings += usize::from(!findings.is_empty());
        executions += 1;
    }
    assert_eq!(executions, 30_000);
    assert!(with_findings > 1_000, "the soup reaches the rules ({with_findings})");
}

// ---------------------------------------------------------------- APM110 (our resolver alone)

const JOBS: &str = "import asyncio, threading\n\nasync def refresh():\n    await asyncio.sleep(0)\n\nasync def rows():\n    yield 1\n\ndef refresh_now():\n    pass\n\n";

#[test]
fn sinks_handed_the_wrong_kind_without_the_type_layer() {
    // Coroutine function to a sync caller, uncalled where an awaitable is wanted, an async
    // generator where an awaitable is wanted, a coroutine object where anyio wants a function.
    check_one(
        &format!("{JOBS}threading.Thread(target=refresh).start()\nasyncio.run(refresh)\nasyncio.run(rows())\n\nasync def main(tg):\n    import anyio\n    anyio.run(refresh())\n"),
        "12:25 APM110 `refresh`\n13:13 APM110 `refresh`\n14:13 APM110 `rows()`\n18:15 APM110 `refresh()`",
    );
    // The right kinds, and keywords that are not the sink's argument.
    check_one(
        &format!("{JOBS}threading.Thread(target=refresh_now).start()\nasyncio.run(refresh())\nthreading.Thread(None, refresh_now, name='refresh')\nasyncio.gather(refresh(), return_exceptions=True)\n"),
        "",
    );
    // An unknown decorator may make anything of the function; an unresolved callee is not a sink.
    check_one(
        &format!("{JOBS}from somewhere import wrap, Thread\n\n@wrap\nasync def wrapped():\n    pass\n\nthreading.Thread(target=wrapped)\nThread(target=refresh)\n"),
        "",
    );
}

#[test]
fn sink_fixes_add_the_call_or_pass_the_function_and_its_arguments() {
    let source =
        format!("{JOBS}asyncio.run(refresh)\n\nasync def spawn(n):\n    import anyio\n    anyio.run(refresh())\n");
    let (findings, source) = analyse(&[("main.py", &source)]);
    let fixed: Vec<(String, String)> = findings
        .iter()
        .map(|finding| {
            let fix = finding.fixes.first().expect("a fix");
            (format!("{:?} {}", fix.applicability, &source[finding.range.clone()]), apply_edits(&source, &fix.edits).0)
        })
        .collect();
    assert_eq!(fixed.len(), 2, "{fixed:?}");
    assert_eq!(fixed[0].0, "Safe refresh");
    assert!(fixed[0].1.contains("\nasyncio.run(refresh())\n"));
    assert_eq!(fixed[1].0, "Safe refresh()");
    assert!(fixed[1].1.contains("\n    anyio.run(refresh)\n"));
}

#[test]
fn fastapi_depends_on_a_context_manager_factory() {
    let app = "from contextlib import asynccontextmanager, contextmanager\nfrom fastapi import Depends, FastAPI\n\napp = FastAPI()\n\n@asynccontextmanager\nasync def get_session():\n    yield 1\n\n@contextmanager\ndef get_conn():\n    yield 2\n\nasync def get_db():\n    yield 3\n\n";
    let source = format!("{app}@app.get('/')\nasync def home(s=Depends(get_session), c=Depends(get_conn), d=Depends(get_db)):\n    return s\n");
    let (findings, source) = analyse(&[("main.py", &source)]);
    assert_eq!(render(&findings, &source), "18:26 APM110 `get_session`\n18:50 APM110 `get_conn`");
    let fixed = apply_edits(&source, &findings[0].fixes[0].edits).0;
    assert!(fixed.contains("async def get_session_dependency():\n    \"\"\"FastAPI enters only generator dependencies: enter `get_session` for the request.\"\"\"\n    async with get_session() as value:\n        yield value\n\n\n@app.get('/')\nasync def home(s=Depends(get_session_dependency), "), "{fixed}");
    let fixed = apply_edits(&source, &findings[1].fixes[0].edits).0;
    assert!(fixed.contains("def get_conn_dependency():\n    \"\"\"FastAPI enters only generator dependencies: enter `get_conn` for the request.\"\"\"\n    with get_conn() as value:\n        yield value\n"), "{fixed}");
    // A factory with parameters (FastAPI would read them as inputs) gets no fix; entered
    // elsewhere, the factory itself is right.
    let source = format!("{app}@asynccontextmanager\nasync def scoped(user: str):\n    yield user\n\nasync def job():\n    async with get_session() as s:\n        pass\n\n@app.get('/')\nasync def home(s=Depends(scoped)):\n    return s\n");
    let (findings, source) = analyse(&[("main.py", &source)]);
    assert_eq!(render(&findings, &source), "26:26 APM110 `scoped`");
    assert!(findings[0].fixes.is_empty());
}

#[test]
fn partials_and_lambdas_are_of_the_kind_of_the_function_they_call() {
    check_one(
        &format!("{JOBS}import functools\nfrom functools import partial\n\nthreading.Thread(target=functools.partial(refresh, 1)).start()\nthreading.Thread(target=lambda: refresh(2)).start()\nasyncio.run(partial(refresh))\nthreading.Thread(target=partial(rows)).start()\n"),
        "15:25 APM110 `functools.partial(refresh, 1)`\n16:25 APM110 `lambda: refresh(2)`\n17:13 APM110 `partial(refresh)`\n18:25 APM110 `partial(rows)`",
    );
    // The right kinds; a lambda that runs the coroutine; a lambda calling its own parameter;
    // a `partial` that is not functools'; anyio's `start_soon` takes a partial of an async def.
    check_one(
        &format!("{JOBS}import functools\nimport anyio\nfrom mytools import partial\n\nthreading.Thread(target=functools.partial(refresh_now)).start()\nthreading.Thread(target=lambda: asyncio.run(refresh())).start()\nthreading.Thread(target=lambda refresh: refresh()).start()\nthreading.Thread(target=partial(refresh)).start()\nanyio.run(functools.partial(refresh))\n"),
        "",
    );
    // FastAPI unwraps a partial (and fails as on the factory) but injects what a lambda returns.
    let app = "from contextlib import asynccontextmanager\nfrom functools import partial\nfrom fastapi import Depends\n\n@asynccontextmanager\nasync def get_session():\n    yield 1\n\nasync def route(s=Depends(partial(get_session)), t=Depends(lambda: get_session())):\n    pass\n";
    let (findings, source) = analyse(&[("main.py", app)]);
    assert_eq!(render(&findings, &source), "9:27 APM110 `partial(get_session)`");
    assert!(findings[0].fixes.is_empty());
}

#[test]
fn builtins_that_iterate_their_argument_at_once() {
    // An async generator expression, or an async generator, handed to a builtin that iterates.
    check_one(
        &format!("{AGEN}\nasync def f(pages):\n    a = list(s async for s in get_session())\n    b = ''.join(s async for s in get_session())\n    c = sorted(get_session())\n    d = dict(zip(pages, get_session()))\n    e = list(map(str, get_session()))\n    g = any(await p for p in pages)\n"),
        "5:14 APM104 `s async for s in get_session()`\n6:17 APM104 `s async for s in get_session()`\n7:16 APM104 `get_session()`\n8:25 APM104 `get_session()`\n9:23 APM104 `get_session()`\n10:13 APM104 `await p for p in pages`",
    );
    // An async comprehension builds a list first; `min(a, b)` compares; a `list` of our own;
    // a separator that may be anything; a starred argument.
    check_one(
        &format!("{AGEN}\ndef list(xs):\n    return xs\n\nasync def f(sep, rest):\n    a = ''.join([s async for s in get_session()])\n    b = min(get_session(), get_session())\n    c = list(get_session())\n    d = sep.join(get_session())\n    e = zip(*rest, get_session())\n    g = sorted(s for s in [1, 2])\n"),
        "",
    );
}

#[test]
fn builtins_handed_async_items_collect_them_first() {
    let source = format!("{AGEN}\nasync def f(checks):\n    a = sorted(get_session())\n    b = ''.join(s async for s in get_session())\n    c = any(await c for c in checks)\n    d = sorted((s async for s in get_session()), key=str)\n    e = (lambda: list(get_session()))\n\ndef g():\n    return list(get_session())\n");
    let (findings, source) = analyse(&[("main.py", &source)]);
    let fixed: Vec<String> = findings
        .iter()
        .map(|finding| {
            format!("{} {:?}", &source[finding.range.clone()], finding.fixes.first().map(|fix| fix.applicability))
        })
        .collect();
    assert_eq!(findings.len(), 6, "{fixed:?}");
    let line = |idx: usize| {
        let fix = findings[idx].fixes.first()?;
        let edited = apply_edits(&source, &fix.edits).0;
        Some((format!("{:?}", fix.applicability), edited.lines().nth(4 + idx)?.trim().to_owned()))
    };
    assert_eq!(line(0), Some(("Safe".to_owned(), "a = sorted([item async for item in get_session()])".to_owned())));
    assert_eq!(line(1), Some(("Safe".to_owned(), "b = ''.join([s async for s in get_session()])".to_owned())));
    assert_eq!(line(2), Some(("Unsafe".to_owned(), "c = any([await c for c in checks])".to_owned())));
    // Parenthesised, in a lambda, outside `async def`: no fix.
    assert!(findings[3..].iter().all(|finding| finding.fixes.is_empty()), "{fixed:?}");
}

#[test]
fn command_decorators_on_coroutine_functions() {
    // Click calls the command's function and drops what it returns: each form of the decorator,
    // with parameter decorators below it.
    check_one(
        "import click\n\n@click.command()\n@click.option('--n', default=1)\n@click.pass_context\nasync def sync_db(ctx, n):\n    pass\n\n@click.command\nasync def bare():\n    pass\n\n@click.group(name='tools')\nasync def tools():\n    yield\n",
        "6:11 APM110 `sync_db`\n10:11 APM110 `bare`\n14:11 APM110 `tools`",
    );
    // A plain function; a command class of the caller's own; a decorator below that may run the
    // coroutine itself; a library we have no entry for; a name that is only spelled alike.
    check_one(
        "import asyncio\nimport click\nimport asyncclick\nfrom tasks import coro, AsyncCommand\n\n@click.command()\ndef sync_db():\n    asyncio.run(work())\n\nasync def work():\n    pass\n\n@click.command(cls=AsyncCommand)\nasync def custom():\n    pass\n\n@click.command()\n@coro\nasync def wrapped():\n    pass\n\n@asyncclick.command()\nasync def native():\n    pass\n\nclass Registry:\n    def command(self, f):\n        return f\n\nregistry = Registry()\n\n@registry.command\nasync def registered():\n    pass\n",
        "",
    );
}

#[test]
fn an_app_lifespan_that_is_a_plain_coroutine_function() {
    let source = "from contextlib import asynccontextmanager\nfrom fastapi import FastAPI\n\nasync def startup(app):\n    app.state.ready = True\n\n@asynccontextmanager\nasync def lifespan(app):\n    yield\n\nasync def bare(app):\n    yield\n\na = FastAPI(lifespan=startup)\nb = FastAPI(lifespan=lifespan)\nc = FastAPI(lifespan=bare)\nd = FastAPI(startup)\n";
    check_one(source, "14:22 APM110 `startup`");
}

#[test]
fn sinks_in_branches_that_tell_the_kinds_apart_stay_silent() {
    let source = format!("{JOBS}import inspect\n\nasync def run(job):\n    if inspect.iscoroutinefunction(job):\n        await job()\n    else:\n        await asyncio.to_thread(refresh)\n    x = refresh() if asyncio.iscoroutinefunction(refresh) else asyncio.to_thread(refresh)\n    await asyncio.to_thread(refresh)\n");
    check_one(&source, "20:29 APM110 `refresh`");
}
