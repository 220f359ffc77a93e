//! Data-driven tests of the Python engine: a small workspace in, rendered findings out.
//!
//! Each test is one concern. Files are given as `(path, source)` pairs under a virtual root; the
//! first file is the one checked. `expect` lists one line per finding:
//! `line:column CODE <start of message>` (1-based, columns in characters).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::apply_edits;
use crate::line_index::LineIndex;
use crate::python::check::{check_module, CheckContext};
use crate::python::index_source;
use crate::workspace::WorkspaceIndex;
use crate::Finding;

const ROOT: &str = "/virtual-ws";

fn analyse(files: &[(&str, &str)]) -> (Vec<Finding>, String) {
    let roots = vec![PathBuf::from(ROOT)];
    let index = WorkspaceIndex::new();
    let mut modules = Vec::new();
    for (path, source) in files {
        let module = Arc::new(index_source(&Path::new(ROOT).join(path), source, &roots));
        index.insert(Arc::clone(&module));
        modules.push(module);
    }
    let context = CheckContext { index: &index, display_root: Some(Path::new(ROOT)) };
    let findings = check_module(&modules[0], files[0].1, &context);
    (findings, files[0].1.to_owned())
}

fn render(findings: &[Finding], source: &str) -> String {
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
fn check(files: &[(&str, &str)], expect: &str) {
    let (findings, source) = analyse(files);
    assert_eq!(render(&findings, &source), expect.trim(), "\nfindings: {findings:#?}");
}

#[track_caller]
fn check_one(source: &str, expect: &str) {
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
    assert!(message.contains("async for s in get_session():"), "{message}");
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
    check_one(
        &format!(
            "{AGEN}\nclass Service:\n    factory = None\n\n    def __init__(self):\n        self.factory = get_session\n\n    async def run(self):\n        async with self.factory():\n            pass\n"
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
    assert!(findings[0].fixes.is_empty(), "no swap for a multi-item with");
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
    check_one(
        &format!("{AGEN}\ndef broken(:\n    pass\n\nasync def f():\n    async with get_session():\n        pass\n"),
        "8:16 APM101 `get_session()`",
    );
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
        &format!("def local_deco(f):\n    return f\n\n@local_deco\n{AGEN}\nasync def f():\n    async with get_session():\n        pass\n"),
        "",
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

#[test]
fn swap_fix_rewrites_the_header_only() {
    let source =
        format!("{AGEN}\nasync def f():\n    async with get_session() as session:\n        await session.commit()\n");
    let after = fixed(&source).expect("a preferred fix");
    assert_eq!(
        after,
        format!("{AGEN}\nasync def f():\n    async for session in get_session():\n        await session.commit()\n")
    );
    let (findings, _) = analyse(&[("main.py", &after)]);
    assert!(findings.is_empty(), "the fixed code is clean: {findings:?}");
}

#[test]
fn swap_fix_without_target_and_with_tuple_target() {
    let source = format!("{AGEN}\nasync def f():\n    async with get_session():\n        pass\n");
    assert!(fixed(&source).expect("fix").contains("    async for _ in get_session():\n"));
    let source = format!("{AGEN}\nasync def f():\n    async with get_session() as (a, b):\n        pass\n");
    assert!(fixed(&source).expect("fix").contains("    async for (a, b) in get_session():\n"));
}

#[test]
fn no_swap_when_the_body_has_loop_control_or_the_header_is_parenthesised() {
    let source =
        format!("{AGEN}\nasync def f(items):\n    for item in items:\n        async with get_session() as s:\n            if s:\n                break\n");
    assert_eq!(fixed(&source), None);
    let source = format!("{AGEN}\nasync def f():\n    async with (get_session() as s):\n        pass\n");
    assert_eq!(fixed(&source), None);
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
