//! Fixes proven by running the code: each case under `tests/fixtures/runtime/` is a program
//! with a protocol mismatch (`program.py`) and the same program written correctly by hand
//! (`correct.py`), both driving instrumented fakes (`_trace.py`: a session that records
//! `commit`/`rollback`/`close`, a stream that records what is read) and printing the recorded
//! trace. The test runs the program under `CPython` before the fix, applies the fix through the
//! real binary (`check --fix`, `check --fix --unsafe-fixes`, or an editor's code action over
//! LSP), and runs it again: before, the protocol error; after, no error and, for every fix
//! offered as safe, the same trace as the hand-written version. Every Python from 3.7 found
//! under `pyenv` runs every case; the version-dependent parts (the error type, whether the
//! added import works on 3.7/3.8) are checked on each.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use asyncsense_tests::{fresh_dir, server_binary, workspace_root, TestServer};
use serde_json::Value;

/// How the fix is applied.
#[derive(Clone, Copy, Debug)]
enum Apply {
    /// `check --fix`: the preferred fix, which must be safe. The editor's fix-all on the same
    /// file must give the same text.
    SafeFix,
    /// `check --fix --unsafe-fixes`: the first fix, which is unsafe.
    UnsafeFix,
    /// The editor's quick fix whose title starts with this, with its safety as offered.
    Action { title: &'static str, safe: bool },
}

/// What the fixed program's trace must be.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// The trace of `correct.py`: the fix keeps what the author meant.
    SameAsCorrect,
    /// Another trace than `correct.py`'s: why the fix is offered as unsafe only.
    DiffersFromCorrect,
    /// Nothing to fix (a deliberate mismatch): the file stays as it is and keeps passing.
    Untouched,
}

struct Case {
    name: &'static str,
    /// The folder under `tests/fixtures/runtime/` (several cases may apply different fixes to
    /// one program).
    fixture: &'static str,
    apply: Apply,
    expect: Expect,
    /// Whether the program fails with the protocol error before the fix (an annotation is
    /// wrong without failing).
    fails_before: bool,
    /// The oldest Python the program runs on (`anext` is 3.10+).
    min_python: (u32, u32),
}

const fn case(name: &'static str, apply: Apply, expect: Expect) -> Case {
    Case { name, fixture: name, apply, expect, fails_before: true, min_python: (3, 7) }
}

const SWAP: &str = "Swap the scope guard for stream iteration";

const CASES: &[Case] = &[
    // APM101 on a dependency that yields once: the preferred fix wraps it with
    // `asynccontextmanager`, so commit (after `return`) and rollback (after an exception) run.
    case("dependency_commit", Apply::SafeFix, Expect::SameAsCorrect),
    case("dependency_rollback", Apply::SafeFix, Expect::SameAsCorrect),
    case("readme_service", Apply::SafeFix, Expect::SameAsCorrect),
    // The swap to `async for` on the same dependency: the `return` leaves the loop at the
    // `yield`, and the commit never runs. Offered, as unsafe.
    Case {
        fixture: "dependency_commit",
        ..case("dependency_swap_loses_commit", Apply::Action { title: SWAP, safe: false }, Expect::DiffersFromCorrect)
    },
    // Nothing runs after the generator's only `yield`: the swap is the same program.
    case("once_last_swap", Apply::Action { title: SWAP, safe: true }, Expect::SameAsCorrect),
    // APM101 on a stream that is only iterated inside the block: iterate it directly.
    case("stream_flatten", Apply::SafeFix, Expect::SameAsCorrect),
    // A test that the mismatch fails: no finding, no fix, still passing.
    Case { fails_before: false, ..case("raises_block", Apply::UnsafeFix, Expect::Untouched) },
    // APM103-106, 108, 109: the keyword or call the protocol needs.
    case("with_to_async_with", Apply::SafeFix, Expect::SameAsCorrect),
    case("for_to_async_for", Apply::SafeFix, Expect::SameAsCorrect),
    case("async_for_to_for", Apply::SafeFix, Expect::SameAsCorrect),
    case("async_with_to_with", Apply::SafeFix, Expect::SameAsCorrect),
    case("missing_await", Apply::SafeFix, Expect::SameAsCorrect),
    case("uncalled_factory", Apply::SafeFix, Expect::SameAsCorrect),
    // APM110: a coroutine function handed uncalled to `asyncio.gather`: add the call.
    case("sink_add_call", Apply::SafeFix, Expect::SameAsCorrect),
    // APM104: a builtin handed async items: collect them first with an async comprehension.
    case("collect_async_items", Apply::SafeFix, Expect::SameAsCorrect),
    case("collect_async_generator", Apply::SafeFix, Expect::SameAsCorrect),
    // APM102: entering the manager runs the body once with the list it yields, where the
    // author meant to loop over its items: unsafe.
    case("loop_over_manager", Apply::UnsafeFix, Expect::DiffersFromCorrect),
    // APM107: taking one item is what this program meant; unsafe in general (the rest of the
    // generator never runs).
    Case { min_python: (3, 10), ..case("await_generator", Apply::UnsafeFix, Expect::SameAsCorrect) },
    // APM301: a wrong annotation does not fail; the fix must not make it fail on 3.7/3.8
    // (where `collections.abc.AsyncIterator[int]` raises at definition time).
    Case { fails_before: false, ..case("annotation_fix", Apply::SafeFix, Expect::SameAsCorrect) },
    // APM301 on a coroutine stub: an empty async generator, as written by hand.
    case("stub_generator", Apply::UnsafeFix, Expect::SameAsCorrect),
];

#[derive(Debug, PartialEq)]
struct Trace {
    error: Option<String>,
    events: Vec<String>,
}

struct Python {
    path: PathBuf,
    version: (u32, u32),
}

/// The Pythons to run: every `~/.pyenv/versions/3.x` from 3.7 on, else `python3`.
fn pythons() -> Vec<Python> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
    let mut found: Vec<Python> = root
        .and_then(|root| fs::read_dir(root.join("versions")).ok())
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let mut parts = name.split('.');
            let version = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
            let path = entry.path().join("bin/python3");
            (version >= (3, 7) && path.exists()).then_some(Python { path, version })
        })
        .collect();
    found.sort_by_key(|python| python.version);
    found.dedup_by_key(|python| python.version);
    if found.is_empty() {
        let output = Command::new("python3")
            .args(["-c", "import sys; print(sys.version_info[0], sys.version_info[1])"])
            .output()
            .expect("the runtime suite needs python3 (3.7 or newer) on PATH or under pyenv");
        let text = String::from_utf8_lossy(&output.stdout);
        let mut parts = text.split_whitespace().filter_map(|part| part.parse().ok());
        let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        assert!(version >= (3, 7), "python3 is {version:?}; the runtime suite needs 3.7 or newer");
        found.push(Python { path: PathBuf::from("python3"), version });
    }
    found
}

/// Runs `script` (in `dir`, beside `_trace.py`) and reads the trace it prints last.
fn run_python(python: &Python, dir: &Path, script: &str) -> Trace {
    let output = Command::new(&python.path)
        .current_dir(dir)
        .arg(script)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", python.path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find_map(|line| line.strip_prefix("TRACE ")).unwrap_or_else(|| {
        panic!(
            "{script} under Python {:?} printed no trace\nstdout:\n{stdout}\nstderr:\n{}",
            python.version,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let trace: Value = serde_json::from_str(line).expect("the trace is JSON");
    Trace {
        error: trace["error"].as_str().map(str::to_owned),
        events: trace["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|event| event.as_str().unwrap_or_default().to_owned())
            .collect(),
    }
}

fn check(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(server_binary()).current_dir(dir).args(args).output().expect("the binary runs");
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Applies an editor code action to `program.py` over LSP: the quick fix whose title starts
/// with `title`, or fix-all when `title` is `None`. Returns the new text and the action.
fn apply_in_editor(dir: &Path, title: Option<&str>) -> (String, Value) {
    let server = TestServer::builder().root(dir).pull_diagnostics(true).build();
    let uri = server.uri_for("program.py");
    let text = fs::read_to_string(dir.join("program.py")).expect("program.py");
    server.open(&uri, "python", &text);
    let diagnostics = server.diagnostics_until(&uri, |diagnostics| !diagnostics.is_empty());
    let actions = match title {
        Some(_) => server.code_actions(&uri, diagnostics[0]["range"].clone(), vec![diagnostics[0].clone()], None),
        None => {
            let whole =
                serde_json::json!({"start": {"line": 0, "character": 0}, "end": {"line": 9999, "character": 0}});
            server.code_actions(&uri, whole, diagnostics.clone(), Some(vec!["source.fixAll.asyncsense"]))
        }
    };
    let action = actions
        .iter()
        .find(|action| title.is_none_or(|title| action["title"].as_str().is_some_and(|t| t.starts_with(title))))
        .unwrap_or_else(|| panic!("no action {title:?} among {actions:#?}"))
        .clone();
    server.apply_edit(&action["edit"]);
    (server.text(&uri), action)
}

/// A fresh folder with the case's program, its hand-written version and the fakes.
fn case_dir(name: &str) -> PathBuf {
    let fixtures = workspace_root().join("tests/fixtures/runtime");
    let dir = fresh_dir(&format!("runtime-{name}"));
    fs::create_dir_all(&dir).expect("mkdir");
    fs::copy(fixtures.join("_trace.py"), dir.join("_trace.py")).expect("copy _trace.py");
    for entry in fs::read_dir(fixtures.join(name)).unwrap_or_else(|error| panic!("case {name}: {error}")) {
        let entry = entry.expect("entry");
        if entry.path().extension().is_some_and(|extension| extension == "py") {
            fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
        }
    }
    dir
}

fn run_case(case: &Case, pythons: &[Python]) {
    let dir = case_dir(case.fixture);
    let pythons: Vec<&Python> = pythons.iter().filter(|python| python.version >= case.min_python).collect();
    assert!(!pythons.is_empty(), "{}: no Python from {:?} on this machine", case.name, case.min_python);
    let correct = dir.join("correct.py").exists();
    for python in &pythons {
        let before = run_python(python, &dir, "program.py");
        if case.fails_before {
            // `async with` on an async generator raises AttributeError before 3.11.
            let error = before.error.as_deref();
            assert!(
                matches!(error, Some("TypeError" | "AttributeError")),
                "{} under {:?}: expected the protocol error before the fix, got {before:?}",
                case.name,
                python.version
            );
        } else {
            assert_eq!(before.error, None, "{} under {:?} fails before the fix", case.name, python.version);
        }
        if correct {
            let reference = run_python(python, &dir, "correct.py");
            assert_eq!(reference.error, None, "{}: correct.py fails under {:?}", case.name, python.version);
        }
    }

    let original = fs::read_to_string(dir.join("program.py")).expect("program.py");
    let fixed = match case.apply {
        Apply::SafeFix => {
            let (status, output) = check(&dir, &["check", "--fix", "program.py"]);
            assert_eq!(status, Some(0), "{}: findings left after --fix:\n{output}", case.name);
            let fixed = fs::read_to_string(dir.join("program.py")).expect("program.py");
            // The editor's fix-all on save applies the same safe fixes.
            fs::write(dir.join("program.py"), &original).expect("restore");
            let (in_editor, _) = apply_in_editor(&dir, None);
            assert_eq!(in_editor, fixed, "{}: fix-all in the editor differs from `check --fix`", case.name);
            fs::write(dir.join("program.py"), &fixed).expect("write the fixed text");
            fixed
        }
        Apply::UnsafeFix => {
            let (_, safe_only) = check(&dir, &["check", "--fix", "program.py"]);
            assert_eq!(
                fs::read_to_string(dir.join("program.py")).expect("program.py"),
                original,
                "{}: `--fix` alone must not apply an unsafe fix:\n{safe_only}",
                case.name
            );
            let (status, output) = check(&dir, &["check", "--fix", "--unsafe-fixes", "program.py"]);
            assert_eq!(status, Some(0), "{}: findings left after --fix --unsafe-fixes:\n{output}", case.name);
            fs::read_to_string(dir.join("program.py")).expect("program.py")
        }
        Apply::Action { title, safe } => {
            let (text, action) = apply_in_editor(&dir, Some(title));
            let action_title = action["title"].as_str().unwrap_or_default();
            assert_eq!(!action_title.contains("changes behaviour"), safe, "{}: {action:#}", case.name);
            fs::write(dir.join("program.py"), &text).expect("write the fixed text");
            let (status, output) = check(&dir, &["check", "program.py"]);
            assert_eq!(status, Some(0), "{}: the fixed file still has findings:\n{output}", case.name);
            text
        }
    };
    if case.expect == Expect::Untouched {
        assert_eq!(fixed, original, "{}: a deliberate mismatch was rewritten", case.name);
    } else {
        assert_ne!(fixed, original, "{}: nothing was fixed", case.name);
    }

    for python in &pythons {
        let after = run_python(python, &dir, "program.py");
        assert_eq!(after.error, None, "{} under {:?} fails after the fix:\n{fixed}", case.name, python.version);
        if !correct {
            continue;
        }
        let reference = run_python(python, &dir, "correct.py");
        match case.expect {
            Expect::SameAsCorrect => assert_eq!(
                after, reference,
                "{} under {:?}: the fixed program does not do what the hand-written one does:\n{fixed}",
                case.name, python.version
            ),
            Expect::DiffersFromCorrect => assert_ne!(
                after.events, reference.events,
                "{} under {:?}: the unsafe fix turned out to keep behaviour; is it safe after all?",
                case.name, python.version
            ),
            Expect::Untouched => {}
        }
    }
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn every_fix_keeps_or_says_it_changes_what_the_program_does() {
    let pythons = pythons();
    eprintln!("runtime suite on Python {:?}", pythons.iter().map(|python| python.version).collect::<Vec<_>>());
    for case in CASES {
        run_case(case, &pythons);
    }
}

/// Every fixture folder is used by a case, so none is silently skipped.
#[test]
fn every_runtime_fixture_is_a_case() {
    let fixtures = workspace_root().join("tests/fixtures/runtime");
    let mut folders: Vec<String> = fs::read_dir(&fixtures)
        .expect("tests/fixtures/runtime")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    folders.sort();
    let mut used: Vec<String> = CASES.iter().map(|case| case.fixture.to_owned()).collect();
    used.sort();
    used.dedup();
    assert_eq!(folders, used);
}
