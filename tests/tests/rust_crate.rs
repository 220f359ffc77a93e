//! End-to-end tests of the Rust front end across the modules of one crate: `asyncsense check`
//! resolves `use`/`mod` paths through the crate index and `--fix` rewrites a stream bound like
//! a guard into an indented `while let`; the server reads the rest of the package from disk,
//! re-checks importers when a module changes, and keeps the findings of an item mid-edit.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use asyncsense_tests::{server_binary, temp_tree, TestServer};
use serde_json::Value;

const CARGO_TOML: &str = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";

const STREAMS: &str = "\
use futures::stream::BoxStream;

pub fn sessions() -> BoxStream<'static, u32> {
    todo!()
}
";

const LIB: &str = "\
mod streams;
use crate::streams::sessions;

async fn handler() {
    let _session = sessions();
    if ready() {
        work().await;
    }
    done();
}

async fn neighbour() {
    let _other = streams::sessions();
    done();
}
";

/// A crate whose modules define `sessions` twice: nothing may be reported.
const AMBIGUOUS_LIB: &str = "\
mod a;
mod b;
use a::*;
use b::*;

async fn handler() {
    let _session = sessions();
    let _unknown = c::sessions();
    done();
}
";

fn temp_crate(files: &[(&str, &str)]) -> PathBuf {
    temp_tree("rust-crate", files)
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(server_binary()).current_dir(cwd).args(args).output().expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_resolves_calls_into_other_modules_of_the_crate() {
    let dir = temp_crate(&[("Cargo.toml", CARGO_TOML), ("src/lib.rs", LIB), ("src/streams.rs", STREAMS)]);
    let output = run(&dir, &["check", "--output-format", "concise"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().filter(|line| line.contains(": APM")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("src/lib.rs:5:5: APM401 `sessions()` returns a lazy stream"), "{text}");
    assert!(lines[1].starts_with("src/lib.rs:13:5: APM401 `streams::sessions()`"), "{text}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn check_of_one_file_reads_the_rest_of_its_package() {
    let dir = temp_crate(&[("Cargo.toml", CARGO_TOML), ("src/lib.rs", LIB), ("src/streams.rs", STREAMS)]);
    let output = run(&dir, &["check", "--output-format", "concise", "src/lib.rs"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert_eq!(text.lines().filter(|line| line.contains(": APM401")).count(), 2, "{text}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn check_is_silent_when_a_name_is_ambiguous_or_unresolved() {
    let dir = temp_crate(&[
        ("Cargo.toml", CARGO_TOML),
        ("src/lib.rs", AMBIGUOUS_LIB),
        ("src/a.rs", STREAMS),
        ("src/b.rs", "pub fn sessions() -> u32 {\n    1\n}\n"),
    ]);
    let output = run(&dir, &["check", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn check_fix_moves_the_rest_of_the_block_into_an_indented_loop() {
    let dir = temp_crate(&[("Cargo.toml", CARGO_TOML), ("src/lib.rs", LIB), ("src/streams.rs", STREAMS)]);
    // The fix makes the stream run: unsafe, so `--fix` alone leaves it.
    let safe_only = run(&dir, &["check", "--fix", "--output-format", "concise"]);
    assert_eq!(safe_only.status.code(), Some(1), "{}", stdout(&safe_only));
    assert_eq!(fs::read_to_string(dir.join("src/lib.rs")).expect("read"), LIB);
    let output = run(&dir, &["check", "--fix", "--unsafe-fixes", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let fixed = fs::read_to_string(dir.join("src/lib.rs")).expect("read");
    assert!(
        fixed.contains(
            "    let mut session_stream = std::pin::pin!(sessions());
    while let Some(_session) = session_stream.next().await {
        if ready() {
            work().await;
        }
        done();
    }
}"
        ),
        "{fixed}"
    );
    assert_eq!(fixed.matches("use futures::StreamExt;").count(), 2, "{fixed}");
    let _ = fs::remove_dir_all(&dir);
}

fn apm401_count(diagnostics: &[Value]) -> usize {
    diagnostics.iter().filter(|diagnostic| diagnostic["code"] == "APM401").count()
}

fn rust_server() -> TestServer {
    TestServer::builder().file("Cargo.toml", CARGO_TOML).file("src/lib.rs", LIB).file("src/streams.rs", STREAMS).build()
}

#[test]
fn server_reads_the_crate_and_rechecks_importers_when_a_module_changes() {
    let server = rust_server();
    let lib = server.uri_for("src/lib.rs");
    server.open(&lib, "rust", LIB);
    // `streams.rs` is not open: the server read it from disk.
    server.diagnostics_until(&lib, |diagnostics| apm401_count(diagnostics) == 2);
    // Editing the module so that `sessions` is no longer a stream clears the importer.
    let streams = server.uri_for("src/streams.rs");
    server.open(&streams, "rust", STREAMS);
    server.change_full(&streams, "pub fn sessions() -> u32 {\n    1\n}\n");
    let after = if server.pull_mode() {
        server.diagnostics_until(&lib, |diagnostics| apm401_count(diagnostics) == 0)
    } else {
        let publish = server.wait_for_publish(&lib, |params| {
            params["diagnostics"].as_array().is_some_and(|diagnostics| apm401_count(diagnostics) == 0)
        });
        publish["diagnostics"].as_array().cloned().unwrap_or_default()
    };
    assert_eq!(apm401_count(&after), 0);
}

#[test]
fn server_keeps_findings_of_an_item_that_stops_parsing_mid_edit() {
    let server = rust_server();
    let lib = server.uri_for("src/lib.rs");
    server.open(&lib, "rust", LIB);
    server.diagnostics_until(&lib, |diagnostics| apm401_count(diagnostics) == 2);
    // `done();` → `done(;`-like breakage that still tokenises: `let x = ;` in `handler`.
    let broken = LIB.replacen("    done();\n}\n\nasync fn neighbour", "    let x = ;\n}\n\nasync fn neighbour", 1);
    server.change_full(&lib, &broken);
    let diagnostics = server.diagnostics(&lib);
    assert_eq!(apm401_count(&diagnostics), 2, "both findings survive: {diagnostics:?}");
    let lines: Vec<u64> =
        diagnostics.iter().filter_map(|diagnostic| diagnostic["range"]["start"]["line"].as_u64()).collect();
    assert!(lines.contains(&4) && lines.contains(&12), "{lines:?}");
}

/// A module that is not open changes on disk: the watched-files notification updates the crate
/// index and the importer's findings follow.
#[test]
fn server_follows_rust_modules_changed_on_disk() {
    let server = rust_server();
    let lib = server.uri_for("src/lib.rs");
    server.open(&lib, "rust", LIB);
    server.diagnostics_until(&lib, |diagnostics| apm401_count(diagnostics) == 2);
    server.write_file("src/streams.rs", "pub fn sessions() -> u32 {\n    1\n}\n");
    server.notify(
        "workspace/didChangeWatchedFiles",
        serde_json::json!({ "changes": [{ "uri": server.uri_for("src/streams.rs"), "type": 2 }] }),
    );
    server.diagnostics_until(&lib, |diagnostics| apm401_count(diagnostics) == 0);
    // And back to a stream.
    server.write_file("src/streams.rs", STREAMS);
    server.notify(
        "workspace/didChangeWatchedFiles",
        serde_json::json!({ "changes": [{ "uri": server.uri_for("src/streams.rs"), "type": 2 }] }),
    );
    server.diagnostics_until(&lib, |diagnostics| apm401_count(diagnostics) == 2);
    assert!(server.is_running());
}
