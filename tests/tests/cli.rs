//! End-to-end tests of `asyncsense check` (and the small subcommands) against the real binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use asyncsense_tests::{fresh_dir, server_binary, temp_tree, workspace_root};
use serde_json::Value;

fn fixture() -> PathBuf {
    workspace_root().join("tests/fixtures/fastapi_app")
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(server_binary()).current_dir(cwd).args(args).output().expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A fresh copy of a directory tree in a temporary folder.
fn copy_tree(from: &Path) -> PathBuf {
    let to = fresh_dir("cli");
    copy_dir(from, &to);
    to
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn reports_the_core_bug_with_its_fix_and_exit_status_one() {
    let output = run(&fixture(), &["check"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let first = text.lines().next().expect("a finding line");
    assert!(
        first.starts_with("app/services/users.py:16:20: APM101 `self.db_session_factory()` is an async generator"),
        "{text}"
    );
    assert!(first.contains("`async def get_session` at app/db.py:11"), "{text}");
    // `get_session` yields once (a session dependency): the preferred fix keeps it a context
    // manager, so its code after `yield` still runs when the block ends.
    assert!(text.contains("  help: Wrap with `asynccontextmanager` at this use"), "{text}");
    assert!(text.contains("Found 1 finding (1 fixable with `--fix`)."), "{text}");
    // The correct use of the generator (FastAPI `Depends(get_session)`) and the generator's own
    // `async with SessionLocal()` (an unresolved library call) are not findings.
    assert_eq!(text.lines().filter(|line| line.contains(": APM")).count(), 1, "{text}");
}

#[test]
fn a_single_file_resolves_its_imports_from_the_project_root() {
    let output = run(&fixture(), &["check", "app/services/users.py"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("app/services/users.py:16:20: APM101"));
    let clean = run(&fixture(), &["check", "app/main.py"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    assert!(stdout(&clean).contains("All checks passed!"));
}

#[test]
fn json_output_has_the_documented_shape() {
    let output = run(&fixture(), &["check", "--output-format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let findings: Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let findings = findings.as_array().expect("an array");
    assert_eq!(findings.len(), 1);
    let finding = &findings[0];
    assert_eq!(finding["code"], "APM101");
    assert_eq!(finding["name"], "async-with-on-async-generator");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["filename"], "app/services/users.py");
    assert_eq!(finding["location"], serde_json::json!({"row": 16, "column": 20}));
    assert_eq!(finding["end_location"], serde_json::json!({"row": 16, "column": 45}));
    let fix = &finding["fix"];
    assert_eq!(fix["applicability"], "safe");
    assert_eq!(fix["edits"][0]["content"], "import contextlib\n");
    assert_eq!(fix["edits"][1]["content"], "contextlib.asynccontextmanager(self.db_session_factory)");
    assert_eq!(fix["edits"][1]["location"], serde_json::json!({"row": 16, "column": 20}));
}

#[test]
fn fix_rewrites_the_file_and_is_idempotent() {
    let project = copy_tree(&fixture());
    let output = run(&project, &["check", "--fix"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("Fixed 1 finding."), "{text}");
    let fixed = fs::read_to_string(project.join("app/services/users.py")).expect("read");
    assert!(
        fixed.contains("        async with contextlib.asynccontextmanager(self.db_session_factory)() as session:\n"),
        "{fixed}"
    );
    assert_eq!(fixed.matches("import contextlib\n").count(), 1, "{fixed}");
    assert!(fixed.contains("            return await session.get(User, user_id)\n"), "body unchanged: {fixed}");
    let again = run(&project, &["check", "--fix"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(fs::read_to_string(project.join("app/services/users.py")).expect("read"), fixed);
    let _ = fs::remove_dir_all(project);
}

#[test]
fn unreadable_sources_are_skipped_with_a_warning() {
    let project = copy_tree(&fixture());
    fs::write(project.join("app/latin1.py"), b"name = '\xe9t\xe9'\n").expect("write");
    let output = run(&project, &["check"]);
    assert_eq!(output.status.code(), Some(1), "the other files are still checked");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("latin1.py is not valid UTF-8"), "{stderr}");
    let _ = fs::remove_dir_all(project);
}

#[test]
fn usage_errors_exit_two() {
    let missing = run(&fixture(), &["check", "no/such/path"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such/path does not exist"));
    let bad_flag = run(&fixture(), &["check", "--output-format", "xml"]);
    assert_eq!(bad_flag.status.code(), Some(2));
    let unknown_rule = run(&fixture(), &["rule", "APM999"]);
    assert_eq!(unknown_rule.status.code(), Some(2));
}

#[test]
fn version_and_rule_documentation() {
    let version = run(&fixture(), &["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(stdout(&version).starts_with("asyncsense "));
    let rule = run(&fixture(), &["rule", "async-with-on-async-generator"]);
    assert_eq!(rule.status.code(), Some(0));
    assert!(stdout(&rule).starts_with("APM101 (async-with-on-async-generator)"));
}

#[test]
fn rule_selection_flags() {
    let ignored = run(&fixture(), &["check", "--ignore", "APM101"]);
    assert_eq!(ignored.status.code(), Some(0), "{}", stdout(&ignored));
    let extended = run(&fixture(), &["check", "--extend-select", "ambiguous-factory-name"]);
    let text = stdout(&extended);
    assert_eq!(extended.status.code(), Some(1));
    assert!(text.contains("app/db.py:11:11: APM302 `get_session` is an async generator"), "{text}");
    assert!(text.contains("app/services/users.py:16:20: APM101"), "{text}");
    let only = run(&fixture(), &["check", "--select", "APM302"]);
    assert_eq!(stdout(&only).matches(": APM").count(), 1, "{}", stdout(&only));
    let unknown = run(&fixture(), &["check", "--select", "APM999"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn output_formats_diff_and_exit_zero() {
    let text = stdout(&run(&fixture(), &["check"]));
    assert!(text.contains("16 |         async with self.db_session_factory() as session:\n   |                    ^^^^^^^^^^^^^^^^^^^^^^^^^ APM101\n"), "{text}");

    let concise = stdout(&run(&fixture(), &["check", "--output-format", "concise"]));
    assert_eq!(concise.lines().filter(|line| line.starts_with("app/")).count(), 1, "{concise}");
    assert!(!concise.contains("help:") && !concise.contains(" | "), "{concise}");

    let github = stdout(&run(&fixture(), &["check", "--output-format", "github"]));
    assert!(
        github.starts_with("::error title=asyncsense (APM101),file=app/services/users.py,line=16,col=20,endLine=16,endColumn=45::APM101 "),
        "{github}"
    );

    let sarif_output = run(&fixture(), &["check", "--output-format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&sarif_output.stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let run_object = &sarif["runs"][0];
    assert_eq!(run_object["tool"]["driver"]["name"], "asyncsense");
    assert!(run_object["tool"]["driver"]["rules"]
        .as_array()
        .is_some_and(|rules| rules.iter().any(|rule| rule["id"] == "APM101")));
    let result = &run_object["results"][0];
    assert_eq!(result["ruleId"], "APM101");
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 16);
    assert_eq!(
        result["fixes"][0]["artifactChanges"][0]["replacements"][1]["insertedContent"]["text"],
        "contextlib.asynccontextmanager(self.db_session_factory)"
    );

    let project = copy_tree(&fixture());
    let before = fs::read_to_string(project.join("app/services/users.py")).expect("read");
    let diff = run(&project, &["check", "--diff"]);
    assert_eq!(diff.status.code(), Some(1));
    assert_eq!(
        stdout(&diff),
        "--- app/services/users.py\n+++ app/services/users.py\n@@ -5,1 +5,2 @@\n-\n+import contextlib\n+\n@@ -16,1 +17,1 @@\n-        async with self.db_session_factory() as session:\n+        async with contextlib.asynccontextmanager(self.db_session_factory)() as session:\n"
    );
    assert_eq!(
        fs::read_to_string(project.join("app/services/users.py")).expect("read"),
        before,
        "--diff writes nothing"
    );
    let _ = fs::remove_dir_all(project);

    assert_eq!(run(&fixture(), &["check", "--exit-zero"]).status.code(), Some(0));
    let all = stdout(&run(&fixture(), &["rule", "--all"]));
    assert!(all.lines().any(|line| line.starts_with("APM302") && line.ends_with("(off by default)")), "{all}");
}

#[test]
fn configuration_in_pyproject_and_its_errors() {
    let project = copy_tree(&fixture());
    let pyproject = project.join("pyproject.toml");
    let base = fs::read_to_string(&pyproject).expect("read");

    fs::write(&pyproject, format!("{base}\n[tool.asyncsense]\nignore = [\"async-with-on-async-generator\"]\n"))
        .expect("write");
    assert_eq!(run(&project, &["check"]).status.code(), Some(0));
    // The command line adds to the file.
    assert_eq!(run(&project, &["check", "--select", "APM101"]).status.code(), Some(1));

    fs::write(&pyproject, format!("{base}\n[tool.asyncsense.per-file-ignores]\n\"app/services/*\" = [\"APM101\"]\n"))
        .expect("write");
    assert_eq!(run(&project, &["check"]).status.code(), Some(0));

    fs::write(&pyproject, format!("{base}\n[tool.asyncsense]\nexclude = [\"services\"]\n")).expect("write");
    assert_eq!(run(&project, &["check"]).status.code(), Some(0), "excluded folder");
    assert_eq!(run(&project, &["check", "app/services/users.py"]).status.code(), Some(1), "named files are checked");

    fs::write(&pyproject, format!("{base}\n[tool.asyncsense]\nselect = [\"APM101\", \"APM777\"]\ncolour = 1\n"))
        .expect("write");
    let invalid = run(&project, &["check"]);
    assert_eq!(invalid.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&invalid.stderr);
    assert!(stderr.contains("pyproject.toml:8: `select`: unknown rule `APM777`"), "{stderr}");
    assert!(stderr.contains("pyproject.toml:9: `colour`: unknown key"), "{stderr}");
    let _ = fs::remove_dir_all(project);
}

#[test]
fn unsafe_fixes_only_when_asked() {
    let project = copy_tree(&fixture());
    let file = project.join("app/await_gen.py");
    fs::write(&file, "async def items():\n    yield 1\n\n\nasync def first():\n    return await items()\n")
        .expect("write");
    assert_eq!(run(&project, &["check", "--fix", "app/await_gen.py"]).status.code(), Some(1));
    assert!(
        fs::read_to_string(&file).expect("read").contains("return await items()"),
        "unsafe fix not applied by default"
    );
    assert_eq!(run(&project, &["check", "--fix", "--unsafe-fixes", "app/await_gen.py"]).status.code(), Some(0));
    assert!(fs::read_to_string(&file).expect("read").contains("return await anext(items())"));
    let _ = fs::remove_dir_all(project);
}

#[test]
fn one_file_failing_does_not_stop_the_run() {
    let project = copy_tree(&fixture());
    fs::write(
        project.join("app/other.py"),
        "async def rows():\n    yield 1\n\n\nasync def use():\n    async with rows():\n        pass\n",
    )
    .expect("write");
    let output = Command::new(server_binary())
        .current_dir(&project)
        .env("ASYNCSENSE_FAILPOINT_PANIC", "services/users.py")
        .args(["check", "--output-format", "concise"])
        .output()
        .expect("runs");
    let text = stdout(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{text}{stderr}");
    assert!(text.contains("app/other.py:6:16: APM101"), "{text}");
    assert!(!text.contains("users.py"), "{text}");
    assert!(stderr.contains("internal error while analysing") && stderr.contains("users.py"), "{stderr}");
    let _ = fs::remove_dir_all(project);
}

#[cfg(unix)]
#[test]
fn symlinks_never_lead_outside_the_workspace_and_loops_do_not_hang() {
    use std::os::unix::fs::symlink;
    let project = copy_tree(&fixture());
    let outside = std::env::temp_dir().join(format!("asyncsense-outside-{}", std::process::id()));
    fs::create_dir_all(&outside).expect("mkdir");
    fs::write(
        outside.join("secret.py"),
        "async def rows():\n    yield 1\n\n\nasync def use():\n    async with rows():\n        pass\n",
    )
    .expect("write");
    symlink(outside.join("secret.py"), project.join("app/linked_secret.py")).expect("symlink");
    symlink(&project, project.join("app/loop")).expect("symlink");
    symlink(project.join("app/missing.py"), project.join("app/dangling.py")).expect("symlink");
    symlink(project.join("app/db.py"), project.join("app/db_alias.py")).expect("symlink");
    let output = run(&project, &["check", "--output-format", "concise"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(!text.contains("linked_secret"), "followed a link out of the workspace: {text}");
    assert!(text.contains("app/services/users.py:16:20: APM101"), "{text}");
    let _ = fs::remove_dir_all(project);
    let _ = fs::remove_dir_all(outside);
}

#[test]
fn binary_files_named_py_are_skipped_or_survived() {
    let project = copy_tree(&fixture());
    fs::write(project.join("app/blob.py"), [0xff_u8, 0xfe, 0x00, 0x89, b'P', b'N', b'G', 0x00, 0x01]).expect("write");
    fs::write(project.join("app/nuls.py"), "x = 1\0\0\0 async with ((( \0").expect("write");
    fs::create_dir_all(project.join("app/folder.py")).expect("mkdir");
    let output = run(&project, &["check", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout(&output).contains("app/services/users.py:16:20: APM101"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("blob.py is not valid UTF-8"));
    let _ = fs::remove_dir_all(project);
}

/// A fresh temporary folder holding `files`.
fn temp_project(files: &[(&str, &str)]) -> PathBuf {
    temp_tree("cli-rust", files)
}

const RUST_HANDLER: &str = "\
fn sessions() -> impl futures::Stream<Item = u32> {
    futures::stream::iter(vec![1])
}

async fn handler(m: &tokio::sync::Mutex<u8>) {
    let _session = sessions();
    let _ = m.lock().await;
}
";

#[test]
fn rust_files_are_checked_and_target_is_skipped() {
    let project = temp_project(&[
        ("src/lib.rs", RUST_HANDLER),
        ("target/debug/build/generated.rs", RUST_HANDLER),
        ("app.py", "x = 1\n"),
    ]);
    let output = run(&project, &["check", "--output-format", "concise"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("src/lib.rs:6:5: APM401"), "{text}");
    assert!(text.contains("src/lib.rs:7:5: APM403"), "{text}");
    assert!(!text.contains("target"), "{text}");

    let ignored = run(&project, &["check", "--ignore", "APM401"]);
    let ignored_text = stdout(&ignored);
    assert!(!ignored_text.contains("APM401") && ignored_text.contains("APM403"), "{ignored_text}");

    let single = run(&project, &["check", "src/lib.rs", "--output-format", "concise"]);
    assert_eq!(single.status.code(), Some(1), "{}", stdout(&single));

    // Rust fixes change what runs (the guard is now held): applied only when asked.
    let safe_only = run(&project, &["check", "--fix", "--select", "APM403"]);
    assert_eq!(safe_only.status.code(), Some(1), "{}", stdout(&safe_only));
    let fixed = run(&project, &["check", "--fix", "--unsafe-fixes", "--select", "APM403"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", stdout(&fixed));
    let source = fs::read_to_string(project.join("src/lib.rs")).expect("read");
    assert!(source.contains("    let _guard = m.lock().await;\n"), "{source}");
    let _ = fs::remove_dir_all(project);
}

/// The protocol of an installed library comes from its installed source: a fake agent
/// framework in the workspace's `.venv` whose `stream_events()` became a context manager.
#[test]
fn installed_package_source_decides_the_protocol() {
    let workspace = copy_tree(&workspace_root().join("tests/fixtures/venv_app"));
    let agent = workspace.join(".venv/lib/python3.12/site-packages/agentlib/agent.py");
    let main = workspace.join("app/main.py");

    let output = run(&workspace, &["check", "--output-format", "concise"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.starts_with("app/main.py:6:24: APM102"), "{text}");
    assert!(text.contains("agentlib/agent.py:10"), "the message points at the installed definition: {text}");

    // The (unsafe: the body now runs once) fix enters it instead, and the result is clean.
    let fixed = run(&workspace, &["check", "--fix", "--unsafe-fixes"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", stdout(&fixed));
    let source = fs::read_to_string(&main).expect("main.py");
    assert!(source.contains("async with agent.stream_events() as event:"), "{source}");

    // Back to the 1.x API (an async generator): the original code is right, and says nothing.
    fs::write(&main, "from agentlib import Agent\n\n\nasync def run(agent: Agent):\n    async for event in agent.stream_events():\n        print(event)\n").expect("write");
    let old_api = fs::read_to_string(&agent).expect("agent.py").replace("    @asynccontextmanager\n", "");
    fs::write(&agent, old_api).expect("write");
    let output = run(&workspace, &["check"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));

    // Without an environment the name is unresolved: silence, never a guess.
    fs::remove_dir_all(workspace.join(".venv")).expect("rm .venv");
    fs::write(&main, "from agentlib import Agent\n\n\nasync def run(agent: Agent):\n    async with agent.stream_events() as event:\n        print(event)\n").expect("write");
    let output = run(&workspace, &["check"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let _ = fs::remove_dir_all(&workspace);
}

/// A `venv` configured in `pyproject.toml` is used even when it is not named `.venv`.
#[test]
fn configured_venv_is_read() {
    let workspace = copy_tree(&workspace_root().join("tests/fixtures/venv_app"));
    fs::rename(workspace.join(".venv"), workspace.join("env-elsewhere")).expect("rename");
    let output = run(&workspace, &["check"]);
    assert_eq!(output.status.code(), Some(0), "not found without configuration: {}", stdout(&output));
    let pyproject = workspace.join("pyproject.toml");
    let mut text = fs::read_to_string(&pyproject).expect("pyproject");
    text.push_str("\n[tool.asyncsense]\nvenv = \"env-elsewhere\"\n");
    fs::write(&pyproject, text).expect("write");
    let output = run(&workspace, &["check", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("APM102"), "{}", stdout(&output));
    let _ = fs::remove_dir_all(&workspace);
}

/// A parse error is a finding of its own (APM000) in every output format, the rest of the file
/// is still checked, and `--fix` does not end with "All checks passed!".
#[test]
fn syntax_errors_are_reported_in_every_format_with_exit_one() {
    let project = temp_tree(
        "cli-syntax",
        &[(
            "app.py",
            "async def get_session():\n    yield 1\n\nasync def half_written(:\n    pass\n\nasync def use():\n    async with get_session() as s:\n        pass\n",
        )],
    );
    let text = run(&project, &["check", "--output-format", "concise"]);
    let concise = stdout(&text);
    assert_eq!(text.status.code(), Some(1), "{concise}");
    assert!(concise.contains("app.py:4:24: APM000 syntax error: "), "{concise}");
    assert!(concise.contains("app.py:8:16: APM101"), "the rest is still checked: {concise}");
    for format in ["text", "json", "sarif", "github"] {
        let output = run(&project, &["check", "--output-format", format]);
        assert_eq!(output.status.code(), Some(1), "{format}");
        assert!(stdout(&output).contains("APM000"), "{format}: {}", stdout(&output));
    }
    let ignored = run(&project, &["check", "--ignore", "APM000,APM101", "--output-format", "concise"]);
    assert_eq!(ignored.status.code(), Some(1), "syntax errors cannot be ignored: {}", stdout(&ignored));
    let fixed = run(&project, &["check", "--fix"]);
    assert_eq!(fixed.status.code(), Some(1), "{}", stdout(&fixed));
    assert!(!stdout(&fixed).contains("All checks passed!"), "{}", stdout(&fixed));
    let _ = fs::remove_dir_all(project);
}

/// A folder argument finds its project as a file argument does, from any working directory:
/// the whole project is indexed (imports resolve), only the given paths are reported.
#[test]
fn folder_arguments_index_their_whole_project() {
    let project = fixture();
    let services = project.join("app/services");
    for (cwd, argument) in [
        (project.clone(), "app/services"),
        (services.clone(), "."),
        (workspace_root(), "tests/fixtures/fastapi_app/app/services"),
        (project.join("app"), "services"),
    ] {
        let output = run(&cwd, &["check", "--output-format", "concise", argument]);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(1), "{} {argument}: {text}", cwd.display());
        assert!(text.contains("users.py:16:20: APM101"), "{} {argument}: {text}", cwd.display());
        assert_eq!(text.matches(": APM").count(), 1, "only the given folder is reported: {text}");
    }
    // A folder of the project without findings reports nothing, though it is indexed with the rest.
    let models = run(&project, &["check", "app/models.py"]);
    assert_eq!(models.status.code(), Some(0), "{}", stdout(&models));
}

/// `--type-inference` asks ty's inference about operands our resolver does not know: the
/// standard library from typeshed, declared return types. Its fixes are never safe (a type is
/// a declaration), and without the flag nothing changes.
#[test]
fn type_inference_finds_what_only_types_know() {
    let project = temp_tree(
        "cli-types",
        &[(
            "app.py",
            "import tempfile\n\n\ndef rows() -> list[int]:\n    return [1]\n\n\nasync def use():\n    async with tempfile.TemporaryDirectory() as folder:\n        print(folder)\n    await rows()\n",
        )],
    );
    let plain = run(&project, &["check", "--output-format", "concise"]);
    assert_eq!(plain.status.code(), Some(0), "{}", stdout(&plain));
    let typed = run(&project, &["check", "--type-inference", "--output-format", "concise"]);
    let text = stdout(&typed);
    assert_eq!(typed.status.code(), Some(1), "{text}");
    assert!(
        text.contains("app.py:9:16: APM106 `tempfile.TemporaryDirectory()` is of type `TemporaryDirectory[str]`"),
        "{text}"
    );
    assert!(text.contains("app.py:11:11: APM107 `rows()` is of type `list[int]`"), "{text}");
    let fixed = run(&project, &["check", "--type-inference", "--fix"]);
    assert_eq!(fixed.status.code(), Some(1), "no safe fix: {}", stdout(&fixed));
    let unsafe_fixed = run(&project, &["check", "--type-inference", "--fix", "--unsafe-fixes"]);
    let source = fs::read_to_string(project.join("app.py")).expect("read");
    assert!(
        source.contains("    with tempfile.TemporaryDirectory() as folder:\n"),
        "{}\n{source}",
        stdout(&unsafe_fixed)
    );
    let _ = fs::remove_dir_all(project);
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs the binary with `input` on standard input.
fn run_with_stdin(cwd: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(server_binary())
        .current_dir(cwd)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("the binary ends")
}

const ASYNC_GENERATOR_MISUSE: &str =
    "async def rows():\n    yield 1\n\n\nasync def main():\n    async with rows() as row:\n        print(row)\n";

/// Point 4: `exclude` applies to files named on the command line only with `--force-exclude`
/// (or `force-exclude = true`), as pre-commit passes every staged file by name.
#[test]
fn force_exclude_applies_exclude_to_named_files_as_pre_commit_passes_them() {
    let project = temp_tree(
        "force-exclude",
        &[
            ("pyproject.toml", "[project]\nname = 'x'\n\n[tool.asyncsense]\nexclude = ['generated']\n"),
            ("generated/models.py", ASYNC_GENERATOR_MISUSE),
            ("app.py", ASYNC_GENERATOR_MISUSE),
        ],
    );
    // The pre-commit hook's invocation: `entry` plus the staged file names.
    let hook = run(&project, &["check", "--force-exclude", "generated/models.py", "app.py"]);
    let text = stdout(&hook);
    assert_eq!(hook.status.code(), Some(1), "{text}");
    assert!(text.contains("app.py:6:16: APM101") && !text.contains("generated"), "{text}");
    let excluded_only = run(&project, &["check", "--force-exclude", "generated/models.py"]);
    assert_eq!(excluded_only.status.code(), Some(0), "{}", stdout(&excluded_only));
    // Without it, a named file is checked even when excluded (ruff's default).
    let named = run(&project, &["check", "generated/models.py"]);
    assert_eq!(named.status.code(), Some(1), "{}", stdout(&named));
    // The configuration key does the same.
    let pyproject = project.join("pyproject.toml");
    let text = fs::read_to_string(&pyproject).expect("read");
    fs::write(&pyproject, format!("{text}force-exclude = true\n")).expect("write");
    let configured = run(&project, &["check", "generated/models.py"]);
    assert_eq!(configured.status.code(), Some(0), "{}", stdout(&configured));
    // The hooks pass it.
    let hooks = fs::read_to_string(workspace_root().join(".pre-commit-hooks.yaml")).expect("hooks");
    assert_eq!(hooks.matches("entry: asyncsense check --force-exclude").count(), 2, "{hooks}");
    let _ = fs::remove_dir_all(project);
}

/// `--extend-exclude` adds to `exclude`.
#[test]
fn extend_exclude_adds_patterns() {
    let project = temp_tree(
        "extend-exclude",
        &[("pyproject.toml", "[project]\nname = 'x'\n"), ("gen/a.py", ASYNC_GENERATOR_MISUSE)],
    );
    assert_eq!(run(&project, &["check"]).status.code(), Some(1));
    let output = run(&project, &["check", "--extend-exclude", "gen"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let _ = fs::remove_dir_all(project);
}

/// Point 5: with the environment asyncsense runs from activated (`pip install asyncsense` into
/// a tool venv), `$VIRTUAL_ENV` is not read as the project's; a project `.venv` wins over it.
#[test]
fn the_tools_own_venv_is_not_the_projects() {
    let scratch = fresh_dir("own-venv");
    let project = scratch.join("project");
    copy_dir(&workspace_root().join("tests/fixtures/venv_app"), &project);
    let tool_venv = scratch.join("tool-venv");
    fs::rename(project.join(".venv"), &tool_venv).expect("move the venv out of the project");
    fs::create_dir_all(tool_venv.join("bin")).expect("mkdir");
    let installed = tool_venv.join("bin/asyncsense");
    if fs::hard_link(server_binary(), &installed).is_err() {
        fs::copy(server_binary(), &installed).expect("copy the binary into the venv");
    }
    let with_env = |binary: &Path, args: &[&str]| {
        Command::new(binary)
            .current_dir(&project)
            .env("VIRTUAL_ENV", &tool_venv)
            .args(args)
            .output()
            .expect("the binary runs")
    };
    // The tool's own venv activated: not read (the agentlib it holds would give APM102).
    let own = with_env(&installed, &["check", "-v"]);
    assert_eq!(own.status.code(), Some(0), "{}", stdout(&own));
    assert!(stderr(&own).contains("it is the environment asyncsense runs from"), "{}", stderr(&own));
    let settings = stdout(&with_env(&installed, &["check", "--show-settings"]));
    assert!(settings.contains("venv: none found"), "{settings}");
    // Any other binary with that venv activated reads it.
    let other = with_env(&server_binary(), &["check", "--output-format", "concise"]);
    assert_eq!(other.status.code(), Some(1), "{}", stdout(&other));
    assert!(stdout(&other).contains("APM102"), "{}", stdout(&other));
    let settings = stdout(&with_env(&server_binary(), &["check", "--show-settings"]));
    assert!(settings.contains(&format!("venv: {} ($VIRTUAL_ENV)", tool_venv.display())), "{settings}");
    // A `.venv` in the project comes before `$VIRTUAL_ENV`.
    fs::create_dir_all(project.join(".venv")).expect("mkdir");
    fs::write(project.join(".venv/pyvenv.cfg"), "version = 3.12.1\n").expect("write");
    let verbose = with_env(&server_binary(), &["check", "-v", "--show-settings"]);
    let settings = stdout(&verbose);
    assert!(settings.contains("/project/.venv (found in or above the project)"), "{settings}");
    assert!(stderr(&verbose).contains("INFO using the virtual environment"), "{}", stderr(&verbose));
    let _ = fs::remove_dir_all(scratch);
}

/// Point 6: without an environment, `requires-python`'s lowest bound is the target Python; the
/// version-dependent finding names it, and `--target-version`/`target-version` override it.
#[test]
fn requires_python_drives_a_version_dependent_finding() {
    let source = "import contextlib\n\n\nasync def main():\n    async with contextlib.nullcontext():\n        pass\n";
    let project = temp_tree(
        "requires-python",
        &[("pyproject.toml", "[project]\nname = 'x'\nrequires-python = '>=3.9'\n"), ("app.py", source)],
    );
    let output = run(&project, &["check", "--output-format", "concise"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("app.py:5:16: APM106"), "{text}");
    assert!(text.contains("on Python 3.9, which this project supports"), "{text}");
    assert!(stdout(&run(&project, &["check", "--show-settings"]))
        .contains("target Python: 3.9 (the lowest bound of requires-python)"));
    // `nullcontext` is an async context manager from 3.10 on.
    let newer = run(&project, &["check", "--target-version", "py310"]);
    assert_eq!(newer.status.code(), Some(0), "{}", stdout(&newer));
    fs::write(project.join("asyncsense.toml"), "target-version = \"py312\"\n").expect("write");
    assert_eq!(run(&project, &["check"]).status.code(), Some(0));
    let bad = run(&project, &["check", "--target-version", "3.9"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    // setup.cfg's `python_requires` counts too, and nothing known means nothing said.
    let setup_cfg =
        temp_tree("python-requires", &[("setup.cfg", "[options]\npython_requires = >=3.8\n"), ("app.py", source)]);
    let output = run(&setup_cfg, &["check", "--output-format", "concise"]);
    assert!(stdout(&output).contains("on Python 3.8, which this project supports"), "{}", stdout(&output));
    let unknown = temp_tree("no-python", &[("pyproject.toml", "[project]\nname = 'x'\n"), ("app.py", source)]);
    assert_eq!(run(&unknown, &["check"]).status.code(), Some(0));
    for dir in [project, setup_cfg, unknown] {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Point 7: selectors take any code prefix, every rule has its documentation, `check --help`
/// describes every format, and the docs say only what is true.
#[test]
fn rule_prefixes_rule_docs_and_help_are_true() {
    let project =
        temp_tree("prefixes", &[("pyproject.toml", "[project]\nname = 'x'\n"), ("app.py", ASYNC_GENERATOR_MISUSE)]);
    for (selector, status) in [("APM1", 1), ("APM10", 1), ("APM101", 1), ("APM2", 0), ("APM4", 0)] {
        let output = run(&project, &["check", "--select", selector]);
        assert_eq!(output.status.code(), Some(status), "--select {selector}: {}", stdout(&output));
    }
    assert_eq!(run(&project, &["check", "--ignore", "APM10"]).status.code(), Some(0));
    fs::write(project.join("asyncsense.toml"), "ignore = [\"APM1\"]\n").expect("write");
    assert_eq!(run(&project, &["check"]).status.code(), Some(0));
    assert_eq!(run(&project, &["check", "--select", "APM9"]).status.code(), Some(2));
    for code in ["APM401", "APM402", "APM403", "APM404", "APM405", "APM406", "APM407"] {
        let output = run(&project, &["rule", code]);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert!(!text.contains("Not implemented") && text.contains("Example:"), "{code}: {text}");
    }
    let help = stdout(&run(&project, &["check", "--help"]));
    for described in ["json", "An array of findings", "--force-exclude", "--stdin-filename", "--statistics"] {
        assert!(help.contains(described), "{described}: {help}");
    }
    let about = stdout(&run(&project, &["--help"]));
    assert!(about.contains("Python and Rust"), "{about}");
    let root = workspace_root();
    let readme = fs::read_to_string(root.join("README.md")).expect("README");
    assert!(!readme.contains("(to come)") && readme.contains("in Python and Rust"), "README");
    assert!(readme.contains("cargo install --locked --path server/cli"), "README");
    let neovim = fs::read_to_string(root.join("editors/neovim/README.md")).expect("neovim README");
    assert!(!neovim.contains("pip install asyncsense`"), "not published: {neovim}");
    let hooks = fs::read_to_string(root.join(".pre-commit-hooks.yaml")).expect("hooks");
    assert!(!hooks.contains("rev: v0.1.0"), "no such tag: {hooks}");
    let license = fs::read_to_string(root.join("LICENSE")).expect("LICENSE");
    assert!(license.starts_with("MIT License"), "{license}");
    let ignore = fs::read_to_string(root.join("editors/vscode/.vscodeignore")).expect(".vscodeignore");
    assert!(ignore.contains("!LICENSE"), "{ignore}");
    let bundle = fs::read_to_string(root.join("editors/vscode/scripts/bundle-server.js")).expect("bundle script");
    assert!(bundle.contains("\"LICENSE\""), "the package script copies LICENSE in: {bundle}");
    let _ = fs::remove_dir_all(project);
}

/// Point 8: `-` reads the source from standard input, named by `--stdin-filename`, in its
/// project; `--fix` on standard input prints the fixed source.
#[test]
fn stdin_source_is_checked_as_the_named_file() {
    let project = copy_tree(&fixture());
    let users = fs::read_to_string(project.join("app/services/users.py")).expect("read");
    let output = run_with_stdin(
        &project,
        &["check", "-", "--stdin-filename", "app/services/users.py", "--output-format", "concise"],
        &users,
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}{}", stderr(&output));
    assert!(text.starts_with("app/services/users.py:16:20: APM101"), "the import resolves in the project: {text}");
    let bare = run_with_stdin(&project, &["check", "-", "--output-format", "concise"], ASYNC_GENERATOR_MISUSE);
    assert!(stdout(&bare).starts_with("-:6:16: APM101"), "{}", stdout(&bare));
    let clean = run_with_stdin(&project, &["check", "-"], "async def f():\n    pass\n");
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    let fixed = run_with_stdin(&project, &["check", "-", "--stdin-filename", "app/services/users.py", "--fix"], &users);
    let text = stdout(&fixed);
    assert_eq!(fixed.status.code(), Some(0), "{text}");
    assert!(text.contains("contextlib.asynccontextmanager(self.db_session_factory)()"), "{text}");
    assert_eq!(fs::read_to_string(project.join("app/services/users.py")).expect("read"), users, "not written");
    let misuse = run(&project, &["check", "--stdin-filename", "x.py", "app"]);
    assert_eq!(misuse.status.code(), Some(2), "{}", stderr(&misuse));
    let _ = fs::remove_dir_all(project);
}

/// Point 8: colour only on a terminal (or `--color always`), never in a pipe.
#[test]
fn colour_only_on_a_terminal() {
    let piped = stdout(&run(&fixture(), &["check"]));
    assert!(!piped.contains('\u{1b}'), "{piped}");
    let forced = stdout(&run(&fixture(), &["check", "--color", "always"]));
    assert!(forced.contains("\u{1b}[1;31mAPM101\u{1b}[0m"), "{forced}");
    let never = stdout(&run(&fixture(), &["check", "--color", "never"]));
    assert!(!never.contains('\u{1b}'), "{never}");
    // A pseudo-terminal through `script`, where it is installed: coloured by default.
    let script = Command::new("script").arg("--version").output();
    if script.is_ok_and(|output| output.status.success()) {
        let command = format!("{} check", server_binary().display());
        let output = Command::new("script")
            .current_dir(fixture())
            .args(["-qec", &command, "/dev/null"])
            .env_remove("NO_COLOR")
            .output()
            .expect("script runs");
        assert!(stdout(&output).contains("\u{1b}[1;31mAPM101"), "{}", stdout(&output));
        let no_color = Command::new("script")
            .current_dir(fixture())
            .args(["-qec", &command, "/dev/null"])
            .env("NO_COLOR", "1")
            .output()
            .expect("script runs");
        assert!(!stdout(&no_color).contains("\u{1b}[1;31m"), "{}", stdout(&no_color));
    }
}

/// Point 8: the other flags a ruff user reaches for.
#[test]
fn statistics_settings_files_quiet_verbose_config_and_output_file() {
    let statistics = run(&fixture(), &["check", "--statistics"]);
    assert_eq!(statistics.status.code(), Some(1));
    assert_eq!(stdout(&statistics), "1\tAPM101\t[*] async-with-on-async-generator\nFound 1 finding.\n");

    let settings = run(&fixture(), &["check", "--show-settings"]);
    let text = stdout(&settings);
    assert_eq!(settings.status.code(), Some(0), "{text}");
    for line in [
        "configuration: none (defaults)",
        "rules: [APM000, APM101",
        "force-exclude: false",
        "venv: ",
        "target Python: ",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }

    let files = stdout(&run(&fixture(), &["check", "--show-files"]));
    assert!(files.lines().any(|line| line == "app/services/users.py"), "{files}");
    assert!(files.lines().all(|line| Path::new(line).extension().is_some_and(|ext| ext == "py")), "{files}");

    let quiet = stdout(&run(&fixture(), &["check", "-q", "--output-format", "concise"]));
    assert_eq!(quiet.lines().count(), 1, "only the finding: {quiet}");
    let verbose = run(&fixture(), &["check", "--verbose"]);
    assert!(stderr(&verbose).contains("INFO"), "{}", stderr(&verbose));
    assert!(!stdout(&verbose).contains("INFO"), "logs stay off stdout");

    let elsewhere = temp_tree("config-flag", &[("strict.toml", "ignore = [\"APM101\"]\n")]);
    let configured = run(&fixture(), &["check", "--config", elsewhere.join("strict.toml").to_str().expect("utf-8")]);
    assert_eq!(configured.status.code(), Some(0), "{}", stdout(&configured));
    let missing = run(&fixture(), &["check", "--config", "/nonexistent/asyncsense.toml"]);
    assert_eq!(missing.status.code(), Some(2));

    let report = elsewhere.join("out/report.json");
    let written =
        run(&fixture(), &["check", "--output-format", "json", "--output-file", report.to_str().expect("utf-8")]);
    assert_eq!(written.status.code(), Some(1));
    assert!(written.stdout.is_empty(), "{}", stdout(&written));
    let findings: Value = serde_json::from_str(&fs::read_to_string(&report).expect("report")).expect("JSON");
    assert_eq!(findings[0]["code"], "APM101");
    assert!(findings[0]["help"].is_string(), "{findings}");

    let not_source = run(&fixture(), &["check", "pyproject.toml"]);
    assert_eq!(not_source.status.code(), Some(0));
    assert!(
        stderr(&not_source).contains("pyproject.toml is not a source file asyncsense checks"),
        "{}",
        stderr(&not_source)
    );
    let _ = fs::remove_dir_all(elsewhere);
}

/// Point 8: `--fix --diff` shows the diff and writes nothing; `--exit-non-zero-on-fix` makes
/// a run that fixed everything exit 1.
#[test]
fn fix_with_diff_and_exit_non_zero_on_fix() {
    let project = copy_tree(&fixture());
    let users = project.join("app/services/users.py");
    let before = fs::read_to_string(&users).expect("read");
    let diff = run(&project, &["check", "--fix", "--diff"]);
    assert_eq!(diff.status.code(), Some(1), "{}", stderr(&diff));
    assert!(stdout(&diff).starts_with("--- app/services/users.py\n+++ app/services/users.py\n"), "{}", stdout(&diff));
    assert_eq!(fs::read_to_string(&users).expect("read"), before, "--diff writes nothing");
    let fixed = run(&project, &["check", "--fix", "--exit-non-zero-on-fix"]);
    assert_eq!(fixed.status.code(), Some(1), "{}", stdout(&fixed));
    assert!(stdout(&fixed).contains("Fixed 1 finding."), "{}", stdout(&fixed));
    let again = run(&project, &["check", "--fix", "--exit-non-zero-on-fix"]);
    assert_eq!(again.status.code(), Some(0), "nothing left to fix: {}", stdout(&again));
    let _ = fs::remove_dir_all(project);
}

/// Point 9: the message says what the object is and what the use needs; the remedy is said
/// once, on the `help:` line, and `concise` is one short line.
#[test]
fn the_remedy_is_said_once() {
    let text = stdout(&run(&fixture(), &["check"]));
    let first = text.lines().next().expect("a finding");
    assert!(first.ends_with("which it does not have"), "{first}");
    assert!(!first.contains("asynccontextmanager"), "the remedy is not in the message: {first}");
    assert_eq!(text.matches("asynccontextmanager").count(), 2, "once, in help: {text}");
    let concise = stdout(&run(&fixture(), &["check", "--output-format", "concise"]));
    let line = concise.lines().next().expect("a finding");
    // 240 characters, where message and remedy together made 590.
    assert!(line.chars().count() <= 250, "{} characters: {line}", line.chars().count());
    // Without a fix the help carries the remedy in words.
    let project = temp_tree(
        "help-words",
        &[
            ("pyproject.toml", "[project]\nname = 'x'\n"),
            ("app.py", "async def rows():\n    yield 1\n\n\ndef main():\n    for row in rows():\n        print(row)\n"),
        ],
    );
    let output = stdout(&run(&project, &["check"]));
    assert!(output.contains("  help: Use `async for row in rows():` (inside an `async def`"), "{output}");
    let _ = fs::remove_dir_all(project);
}

/// Point 10: the `dist` profile that the wheel and the `.vsix` are built with.
#[test]
fn the_dist_profile_is_what_gets_shipped() {
    let root = workspace_root();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let dist = manifest.split("[profile.dist]\n").nth(1).expect("a [profile.dist] table");
    let dist = dist.split("\n[").next().unwrap_or_default();
    for line in ["inherits = \"release\"", "strip = true", "lto = \"thin\"", "codegen-units = 1", "debug = false"] {
        assert!(dist.lines().any(|setting| setting == line), "{line}: {dist}");
    }
    let pyproject = fs::read_to_string(root.join("pyproject.toml")).expect("pyproject");
    assert!(pyproject.contains("profile = \"dist\""), "{pyproject}");
    let package = fs::read_to_string(root.join("editors/vscode/package.json")).expect("package.json");
    assert!(package.contains("vsce package --target linux-x64"), "{package}");
    let bundle = fs::read_to_string(root.join("editors/vscode/scripts/bundle-server.js")).expect("bundle script");
    assert!(bundle.contains("\"target\", \"dist\""), "the .vsix bundles the dist binary: {bundle}");
    let readme = fs::read_to_string(root.join("README.md")).expect("README");
    assert!(readme.contains("compiles asyncsense from its Rust") && readme.contains("takes several minutes"), "README");
    // Built when the profile has been (`cargo build --profile dist`): no debug sections.
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir));
    let binary = target.join("dist/asyncsense");
    if binary.is_file() {
        let output = Command::new(&binary).arg("--version").output().expect("the dist binary runs");
        assert!(output.status.success());
        let bytes = fs::read(&binary).expect("read");
        assert!(!bytes.windows(12).any(|window| window == b".debug_line\0"), "stripped");
    }
}

/// Issue 21: in a git repository whose `.gitignore` lists `build/`, the copy `pip wheel .` leaves
/// in `build/lib` is not walked, so the finding is reported once, in `app/`;
/// `--no-respect-gitignore` walks it again, and `--threads` does not change the report.
#[test]
fn gitignored_build_copies_are_not_checked_twice() {
    let project = copy_tree(&fixture());
    copy_dir(&project.join("app"), &project.join("build/lib/app"));
    fs::write(project.join(".gitignore"), "build/\n").expect("write");
    let status = Command::new("git").args(["init", "-q"]).current_dir(&project).status().expect("git runs");
    assert!(status.success());
    let output = run(&project, &["check", "--output-format", "concise", "."]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert_eq!(text.lines().filter(|line| line.contains(": APM101")).count(), 1, "{text}");
    assert!(!text.contains("build/"), "{text}");
    let files = stdout(&run(&project, &["check", "--show-files"]));
    assert!(!files.contains("build/"), "{files}");
    // Walked, the copy makes `app.db` name two files, and an ambiguous import resolves to
    // nothing: before this change the finding was lost, not doubled.
    let walked = stdout(&run(&project, &["check", "--show-files", "--no-respect-gitignore", "--threads", "1"]));
    assert!(walked.contains("build/lib/app/services/users.py"), "{walked}");
    // The configuration key does the same as the flag; a file named on the command line is
    // checked even when ignored.
    let pyproject = project.join("pyproject.toml");
    let base = fs::read_to_string(&pyproject).expect("read");
    fs::write(&pyproject, format!("{base}\n[tool.asyncsense]\nrespect-gitignore = false\n")).expect("write");
    let configured = stdout(&run(&project, &["check", "--show-files"]));
    assert!(configured.contains("build/lib/app/services/users.py"), "{configured}");
    fs::write(&pyproject, base).expect("write");
    let named = run(&project, &["check", "build/lib/app/services/users.py"]);
    assert_eq!(named.status.code(), Some(1), "{}", stdout(&named));
    let threads = run(&project, &["check", "--threads", "0"]);
    assert_eq!(threads.status.code(), Some(1), "{}", stdout(&threads));
    let _ = fs::remove_dir_all(project);
}
