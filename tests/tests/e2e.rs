//! End-to-end tests: drive the real `asyncsense` binary over stdio through
//! the harness and check the server contract: capabilities and position
//! encoding negotiation, APM101 diagnostics (single file and across the
//! workspace), code actions, incremental sync under typing and bursts, push
//! and pull diagnostics, and robustness.

use asyncsense_tests::text::apply_changes;
use asyncsense_tests::{find_ranges, pos, proc_status, range, PositionEncoding, Range, TestServer};
use serde_json::{json, Value};

/// The core bug in one file: an async generator used as an async context
/// manager (line 5, `get_session()` at characters 15..28).
const CORE: &str = "\
async def get_session():
    yield 1


async def handler():
    async with get_session() as session:
        print(session)
";

/// [`CORE`] after the preferred quick fix: `get_session` yields once, so it is entered through
/// `asynccontextmanager` (the program its author meant), with the import added.
const CORE_FIXED: &str = "\
import contextlib
async def get_session():
    yield 1


async def handler():
    async with contextlib.asynccontextmanager(get_session)() as session:
        print(session)
";

/// The title the preferred APM101 quick fix starts with.
const QUICK_FIX_TITLE: &str = "Wrap with `asynccontextmanager`";

/// The fix-all code action kind.
const FIX_ALL: &str = "source.fixAll.asyncsense";

const DB: &str = "async def get_session():\n    yield \"session\"\n";

/// The service from the bug report: the generator hidden behind an attribute.
const USERS_ATTRIBUTE: &str = "\
from app.db import get_session


class UserService:
    def __init__(self) -> None:
        self.db_session_factory = get_session

    async def get_user(self, user_id: int):
        async with self.db_session_factory() as session:
            return await session.get(user_id)
";

/// The same, reaching the generator through a module alias.
const USERS_MODULE_ALIAS: &str = "\
import app.db as db


class UserService:
    def __init__(self) -> None:
        self.factory = db.get_session

    async def get_user(self, user_id: int):
        async with self.factory() as session:
            return await session.get(user_id)
";

/// A use site whose expression has multi-byte text before it on its line.
const MULTIBYTE: &str = "\
async def get_session():
    yield 1


async def handler():
    async with open_thing(\"🧪漢字\") as a, get_session() as s:
        print(a, s)
";

/// Appended to negative cases: one genuine APM101, so a test cannot pass
/// merely because analysis had not run yet.
const CONTROL: &str = "


async def _control_gen():
    yield 1


async def _control():
    async with _control_gen() as c:
        print(c)
";

// ----- helpers -----------------------------------------------------------

fn push_server() -> TestServer {
    TestServer::builder().build()
}

fn pull_server() -> TestServer {
    TestServer::builder().pull_diagnostics(true).build()
}

fn server(pull: bool) -> TestServer {
    if pull {
        pull_server()
    } else {
        push_server()
    }
}

/// A workspace laid out like the bug report, with `users` as the service.
fn workspace_server(pull: bool, users: &str) -> TestServer {
    TestServer::builder()
        .pull_diagnostics(pull)
        .file("app/__init__.py", "")
        .file("app/db.py", DB)
        .file("app/services/__init__.py", "")
        .file("app/services/users.py", users)
        .build()
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).expect("fits in u32")
}

/// Line number of the first line of `text` containing `needle`.
fn line_containing(text: &str, needle: &str) -> u32 {
    let index = text
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?} in:\n{text}"));
    u32_of(index)
}

/// The range of the only occurrence of `needle` on `line`, per the harness.
fn range_on_line(text: &str, line: u32, needle: &str, encoding: PositionEncoding) -> Range {
    let found: Vec<Range> = find_ranges(text, needle, encoding).into_iter().filter(|r| r.start.line == line).collect();
    assert_eq!(found.len(), 1, "expected one {needle:?} on line {line} of:\n{text}");
    found[0]
}

/// Start and end columns of `needle` in `line`, counted directly from the
/// string (independently of the harness's position code).
fn columns(line: &str, needle: &str, encoding: PositionEncoding) -> (u32, u32) {
    let at = line.find(needle).unwrap_or_else(|| panic!("{needle:?} not in {line:?}"));
    let units = |s: &str| match encoding {
        PositionEncoding::Utf8 => s.len(),
        PositionEncoding::Utf16 => s.encode_utf16().count(),
        PositionEncoding::Utf32 => s.chars().count(),
    };
    let start = units(&line[..at]);
    (u32_of(start), u32_of(start + units(needle)))
}

fn range_of(diagnostic: &Value) -> Range {
    Range::from_json(&diagnostic["range"])
        .unwrap_or_else(|e| panic!("diagnostic without a valid range ({e}): {diagnostic:#}"))
}

fn message_of(diagnostic: &Value) -> &str {
    diagnostic["message"].as_str().unwrap_or_else(|| panic!("diagnostic without a message: {diagnostic:#}"))
}

fn only_one(diagnostics: &[Value]) -> &Value {
    assert_eq!(diagnostics.len(), 1, "expected exactly one diagnostic, got {diagnostics:#?}");
    &diagnostics[0]
}

fn has_apm101(diagnostics: &[Value]) -> bool {
    diagnostics.iter().any(|d| d["code"] == "APM101")
}

/// Checks code, source, severity and range of an APM101 diagnostic.
fn assert_apm101(diagnostic: &Value, expected: Range) {
    assert_eq!(diagnostic["code"], "APM101", "{diagnostic:#}");
    assert_eq!(diagnostic["source"], "asyncsense", "{diagnostic:#}");
    let severity = diagnostic["severity"].as_u64();
    assert!(matches!(severity, Some(1 | 2)), "severity must be error (1) or warning (2): {diagnostic:#}");
    assert_eq!(range_of(diagnostic), expected, "{diagnostic:#}");
}

/// Checks the single-file core diagnostic of [`CORE`] shifted down by
/// `line_offset` lines.
fn assert_core_diagnostic(diagnostics: &[Value], line_offset: u32) {
    let diagnostic = only_one(diagnostics);
    let line = 5 + line_offset;
    assert_apm101(diagnostic, Range::new(pos(line, 15), pos(line, 28)));
    let message = message_of(diagnostic);
    assert!(
        message.contains("async generator") && message.contains("async with"),
        "message must mention `async generator` and `async with`: {message:?}"
    );
}

fn is_empty_publish(params: &Value) -> bool {
    params["diagnostics"].as_array().is_some_and(Vec::is_empty)
}

// ----- initialize ----------------------------------------------------------

#[test]
fn initialize_advertises_the_contract_capabilities() {
    let server = push_server();
    let result = server.initialize_result().clone();
    let capabilities = &result["capabilities"];

    assert_eq!(capabilities["positionEncoding"], "utf-16", "{result:#}");
    assert_eq!(server.position_encoding(), "utf-16");

    let sync = &capabilities["textDocumentSync"];
    assert_eq!(sync["change"], 2, "incremental sync expected: {sync:#}");
    assert_eq!(sync["openClose"], true, "openClose expected: {sync:#}");

    assert_eq!(capabilities["diagnosticProvider"]["identifier"], "asyncsense", "{result:#}");

    let kinds: Vec<&str> = capabilities["codeActionProvider"]["codeActionKinds"]
        .as_array()
        .unwrap_or_else(|| panic!("codeActionProvider.codeActionKinds missing: {result:#}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for kind in ["quickfix", FIX_ALL] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }

    assert_eq!(result["serverInfo"]["name"], "asyncsense", "{result:#}");
    assert!(server.shutdown().success());
}

#[test]
fn utf8_is_negotiated_when_the_client_offers_it() {
    for offered in [vec!["utf-8", "utf-16"], vec!["utf-16", "utf-8"]] {
        let server = TestServer::builder().position_encodings(offered.clone()).build();
        assert_eq!(server.position_encoding(), "utf-8", "offered {offered:?}");
        assert_eq!(server.encoding(), PositionEncoding::Utf8);
    }
}

#[test]
fn utf16_is_negotiated_when_utf8_is_not_offered() {
    for offered in [vec!["utf-16"], vec!["utf-32", "utf-16"]] {
        let server = TestServer::builder().position_encodings(offered.clone()).build();
        assert_eq!(server.position_encoding(), "utf-16", "offered {offered:?}");
        assert_eq!(server.initialize_result()["capabilities"]["positionEncoding"], "utf-16");
    }
}

// ----- the core bug, one file --------------------------------------------

#[test]
fn core_bug_is_published_with_the_document_version() {
    let server = push_server();
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);

    let publish = server.wait_for_publish(&uri, |p| p["version"] == 1);
    assert_eq!(publish["uri"], uri.as_str());
    let diagnostics = publish["diagnostics"].as_array().expect("publish has diagnostics");
    assert_core_diagnostic(diagnostics, 0);
    // The harness's own view agrees.
    assert_core_diagnostic(&server.diagnostics(&uri), 0);
}

#[test]
fn core_bug_is_reported_on_pull() {
    let server = pull_server();
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 0);
}

#[test]
fn core_bug_range_is_right_with_crlf_line_endings() {
    let server = pull_server();
    let uri = server.uri_for("crlf.py");
    server.open(&uri, "python", &CORE.replace('\n', "\r\n"));
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 0);
}

#[test]
fn every_change_is_republished_with_the_new_version() {
    let server = push_server();
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert_core_diagnostic(&server.diagnostics(&uri), 0);

    // A line above the use site moves the diagnostic down.
    assert_eq!(server.change(&uri, [(range(0, 0, 0, 0), "# header\n")]), 2);
    assert_core_diagnostic(&server.diagnostics(&uri), 1);

    // Back to the original text.
    assert_eq!(server.change_full(&uri, CORE), 3);
    assert_core_diagnostic(&server.diagnostics(&uri), 0);

    // `get_sessions()` is an unresolved name: nothing to report.
    let call = range_on_line(CORE, 5, "get_session", server.encoding());
    assert_eq!(server.change(&uri, [(Range::new(call.end, call.end), "s")]), 4);
    let diagnostics = server.diagnostics(&uri);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");

    let versions: Vec<i64> = server.publishes(&uri).iter().filter_map(|p| p["version"].as_i64()).collect();
    for version in 1..=4 {
        assert!(versions.contains(&version), "no publish for version {version}: {versions:?}");
    }
}

// ----- code actions ------------------------------------------------------

fn check_quick_fix(pull: bool) {
    let server = server(pull);
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    let diagnostics = server.diagnostics(&uri);
    assert_core_diagnostic(&diagnostics, 0);
    let diagnostic = diagnostics[0].clone();

    let actions = server.code_actions(&uri, diagnostic["range"].clone(), vec![diagnostic], None);
    let fix = actions
        .iter()
        .find(|a| {
            a["kind"] == "quickfix"
                && a["isPreferred"] == true
                && a["title"].as_str().is_some_and(|t| t.starts_with(QUICK_FIX_TITLE))
        })
        .unwrap_or_else(|| panic!("no preferred APM101 quick fix among {actions:#?}"));
    let edit = &fix["edit"];
    assert!(edit["changes"].get(&uri).is_some(), "the edit must be `changes` keyed by {uri}: {fix:#}");

    assert_eq!(server.apply_edit(edit), std::slice::from_ref(&uri));
    assert_eq!(server.text(&uri), CORE_FIXED);
    assert_eq!(server.version(&uri), 2);
    let after = server.diagnostics(&uri);
    assert!(after.is_empty(), "fixed text still flagged: {after:#?}");
}

#[test]
fn disable_for_this_line_adds_a_noqa_comment_and_is_never_preferred() {
    let server = pull_server();
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    let diagnostics = server.diagnostics(&uri);
    assert_core_diagnostic(&diagnostics, 0);
    let actions = server.code_actions(&uri, diagnostics[0]["range"].clone(), diagnostics.clone(), None);
    let disable = actions
        .iter()
        .find(|a| a["title"] == "Disable APM101 for this line")
        .unwrap_or_else(|| panic!("no suppression action among {actions:#?}"));
    assert_eq!(disable["isPreferred"], false, "{disable:#}");
    server.apply_edit(&disable["edit"]);
    assert!(
        server.text(&uri).contains("    async with get_session() as session:  # noqa: APM101\n"),
        "{}",
        server.text(&uri)
    );
    assert!(server.diagnostics(&uri).is_empty());
    // Fix-all never adds suppressions.
    let fix_all = server.code_actions(&uri, range(0, 0, 7, 0), Vec::new(), Some(vec![FIX_ALL]));
    assert!(fix_all.is_empty(), "{fix_all:#?}");
}

#[test]
fn preferred_quick_fix_wraps_the_generator_push() {
    check_quick_fix(false);
}

#[test]
fn preferred_quick_fix_wraps_the_generator_pull() {
    check_quick_fix(true);
}

fn check_fix_all(pull: bool) {
    let server = server(pull);
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    let diagnostics = server.diagnostics(&uri);
    assert_core_diagnostic(&diagnostics, 0);

    let actions = server.code_actions(&uri, diagnostics[0]["range"].clone(), diagnostics.clone(), Some(vec![FIX_ALL]));
    assert_eq!(actions.len(), 1, "expected one fix-all action: {actions:#?}");
    let action = &actions[0];
    assert_eq!(action["kind"], FIX_ALL, "{action:#}");

    server.apply_edit(&action["edit"]);
    assert_eq!(server.text(&uri), CORE_FIXED);
    let after = server.diagnostics(&uri);
    assert!(after.is_empty(), "fixed text still flagged: {after:#?}");
}

#[test]
fn fix_all_source_action_gives_the_same_text_push() {
    check_fix_all(false);
}

#[test]
fn fix_all_source_action_gives_the_same_text_pull() {
    check_fix_all(true);
}

// ----- negative cases ----------------------------------------------------

/// Opens `source` plus [`CONTROL`] and checks that only the control use site
/// is flagged.
fn assert_only_control_flagged(source: &str) {
    let text = format!("{source}{CONTROL}");
    let server = pull_server();
    let uri = server.uri_for("negative.py");
    server.open(&uri, "python", &text);
    let diagnostics = server.diagnostics_until(&uri, |d| !d.is_empty());
    let line = line_containing(&text, "async with _control_gen()");
    let expected = range_on_line(&text, line, "_control_gen()", server.encoding());
    assert_eq!(diagnostics.len(), 1, "only the control use site may be flagged in:\n{text}\ngot {diagnostics:#?}");
    assert_apm101(&diagnostics[0], expected);
}

#[test]
fn no_diagnostic_for_contextlib_asynccontextmanager() {
    assert_only_control_flagged(
        "\
import contextlib


@contextlib.asynccontextmanager
async def get_session():
    yield 1


async def handler():
    async with get_session() as session:
        print(session)
",
    );
}

#[test]
fn no_diagnostic_for_aliased_asynccontextmanager_import() {
    assert_only_control_flagged(
        "\
from contextlib import asynccontextmanager as acm


@acm
async def get_session():
    yield 1


async def handler():
    async with get_session() as session:
        print(session)
",
    );
}

#[test]
fn no_diagnostic_for_async_for_over_the_generator() {
    assert_only_control_flagged(
        "\
async def get_session():
    yield 1


async def handler():
    async for s in get_session():
        print(s)
",
    );
}

#[test]
fn no_diagnostic_for_unknown_decorator() {
    assert_only_control_flagged(
        "\
@something_unknown
async def get_session():
    yield 1


async def handler():
    async with get_session() as session:
        print(session)
",
    );
}

#[test]
fn no_diagnostic_for_name_from_unresolvable_module() {
    assert_only_control_flagged(
        "\
from somewhere_else import get_session


async def handler():
    async with get_session() as session:
        print(session)
",
    );
}

#[test]
fn no_diagnostic_when_a_parameter_shadows_the_generator() {
    assert_only_control_flagged(
        "\
async def get_session():
    yield 1


async def handler(get_session):
    async with get_session() as s:
        print(s)
",
    );
}

// ----- across files ------------------------------------------------------

/// Opens only the service file and waits (indexing is asynchronous) for the
/// APM101 on line 8's `use_site`.
fn check_cross_file(pull: bool, users: &str, use_site: &str) {
    let server = workspace_server(pull, users);
    let uri = server.uri_for("app/services/users.py");
    server.open(&uri, "python", users);
    let diagnostics = server.diagnostics_until(&uri, has_apm101);
    let diagnostic = only_one(&diagnostics);
    assert_eq!(line_containing(users, use_site), 8, "fixture layout");
    assert_apm101(diagnostic, range_on_line(users, 8, use_site, server.encoding()));
    let message = message_of(diagnostic);
    assert!(message.contains("get_session"), "message must name the generator: {message:?}");
}

#[test]
fn cross_file_attribute_factory_pull() {
    check_cross_file(true, USERS_ATTRIBUTE, "self.db_session_factory()");
}

#[test]
fn cross_file_attribute_factory_push() {
    check_cross_file(false, USERS_ATTRIBUTE, "self.db_session_factory()");
}

#[test]
fn cross_file_module_alias_pull() {
    check_cross_file(true, USERS_MODULE_ALIAS, "self.factory()");
}

#[test]
fn cross_file_module_alias_push() {
    check_cross_file(false, USERS_MODULE_ALIAS, "self.factory()");
}

// ----- positions with multi-byte text ------------------------------------

fn multibyte_server(utf8: bool) -> TestServer {
    let builder = TestServer::builder().pull_diagnostics(true);
    let builder = if utf8 { builder.position_encodings(["utf-8", "utf-16"]) } else { builder };
    let server = builder.build();
    let expected = if utf8 { "utf-8" } else { "utf-16" };
    assert_eq!(server.position_encoding(), expected);
    server
}

/// The expected APM101 range in `text`: `get_session()` on the line that
/// also calls `open_thing`, in columns counted from the string.
fn multibyte_expected(text: &str, encoding: PositionEncoding) -> Range {
    let line = line_containing(text, "open_thing(");
    let line_text = text.lines().nth(line as usize).expect("line exists");
    let (start, end) = columns(line_text, "get_session()", encoding);
    Range::new(pos(line, start), pos(line, end))
}

fn check_multibyte_columns(utf8: bool) {
    let server = multibyte_server(utf8);
    let uri = server.uri_for("multibyte.py");
    server.open(&uri, "python", MULTIBYTE);
    let expected = multibyte_expected(MULTIBYTE, server.encoding());

    // Sanity check of the expectation itself: 🧪 is 4 bytes but 2 UTF-16
    // units, and each of 漢字 is 3 bytes but 1 unit.
    let utf8_start = multibyte_expected(MULTIBYTE, PositionEncoding::Utf8).start;
    let utf16_start = multibyte_expected(MULTIBYTE, PositionEncoding::Utf16).start;
    assert_eq!(utf8_start.character, utf16_start.character + 2 + 2 * 2);

    let diagnostics = server.diagnostics(&uri);
    assert_apm101(only_one(&diagnostics), expected);
}

#[test]
fn multibyte_prefix_columns_utf16() {
    check_multibyte_columns(false);
}

#[test]
fn multibyte_prefix_columns_utf8() {
    check_multibyte_columns(true);
}

/// Edits next to multi-byte characters, with positions in the negotiated
/// encoding; a server that counted columns differently would end up with
/// different text and report a different range (or none).
fn check_multibyte_incremental_edit(utf8: bool) {
    let server = multibyte_server(utf8);
    let encoding = server.encoding();
    let uri = server.uri_for("multibyte.py");
    server.open(&uri, "python", MULTIBYTE);

    // Two changes in one notification; the second is positioned in the text
    // produced by the first.
    let cjk = range_on_line(MULTIBYTE, 5, "漢字", encoding);
    let first = (cjk, "字🧪漢🧪".to_owned());
    let intermediate = apply_changes(MULTIBYTE, std::slice::from_ref(&first), encoding).expect("first change");
    let name = range_on_line(&intermediate, 5, " as a,", encoding);
    let after_a = pos(name.end.line, name.end.character - 1);
    let second = (Range::new(after_a, after_a), "é".to_owned());
    server.change(&uri, [first, second]);

    let text = server.text(&uri);
    assert!(text.contains("    async with open_thing(\"🧪字🧪漢🧪\") as aé, get_session() as s:\n"), "{text}");
    let diagnostics = server.diagnostics(&uri);
    assert_apm101(only_one(&diagnostics), multibyte_expected(&text, encoding));
}

#[test]
fn multibyte_incremental_edit_utf16() {
    check_multibyte_incremental_edit(false);
}

#[test]
fn multibyte_incremental_edit_utf8() {
    check_multibyte_incremental_edit(true);
}

// ----- typing and bursts -------------------------------------------------

/// The core file with an empty use site (`()` is a valid expression).
const TYPING_START: &str = "\
async def get_session():
    yield 1


async def handler():
    async with () as s:
        print(s)
";
const TYPING_FINAL: &str = "\
async def get_session():
    yield 1


async def handler():
    async with get_session() as s: # typed by hand
        print(s)
";
const TYPED_COMMENT: &str = " # typed by hand";
const TYPED_NAME: &str = "get_session";

/// Types a trailing comment, then `get_session` into the empty use site, one
/// character per `didChange` (27 in all, without waiting), so only the final
/// text has the bug.
fn type_27_characters(server: &TestServer, uri: &str) {
    assert_eq!(TYPED_COMMENT.len() + TYPED_NAME.len(), 27);
    let line_end = u32_of("    async with () as s:".len());
    for (i, c) in TYPED_COMMENT.chars().enumerate() {
        let at = line_end + u32_of(i);
        server.change(uri, [(range(5, at, 5, at), c.to_string())]);
    }
    for (i, c) in TYPED_NAME.chars().enumerate() {
        let at = 15 + u32_of(i);
        server.change(uri, [(range(5, at, 5, at), c.to_string())]);
    }
    assert_eq!(server.text(uri), TYPING_FINAL);
    assert_eq!(server.version(uri), 28);
}

fn typing_expected() -> Range {
    range_on_line(TYPING_FINAL, 5, "get_session()", PositionEncoding::Utf16)
}

#[test]
fn typing_27_characters_then_pull_sees_the_final_text() {
    let server = pull_server();
    let uri = server.uri_for("typing.py");
    server.open(&uri, "python", TYPING_START);
    // Warm up: the unfinished use site is not flagged.
    assert!(!has_apm101(&server.pull_diagnostics(&uri)));
    type_27_characters(&server, &uri);
    let diagnostics = server.pull_diagnostics(&uri);
    assert_apm101(only_one(&diagnostics), typing_expected());
}

#[test]
fn typing_27_characters_then_push_publishes_the_final_version() {
    let server = push_server();
    let uri = server.uri_for("typing.py");
    server.open(&uri, "python", TYPING_START);
    type_27_characters(&server, &uri);
    let diagnostics = server.diagnostics(&uri);
    assert_apm101(only_one(&diagnostics), typing_expected());
}

/// 300 `didChange`s, each adding a comment line at the top, so the final
/// diagnostic line (5 + 300) shows that every change was applied in order.
fn burst_300_changes(server: &TestServer, uri: &str) {
    server.open(uri, "python", CORE);
    for i in 0..300 {
        server.change(uri, [(range(0, 0, 0, 0), format!("# {i}\n"))]);
    }
    assert_eq!(server.version(uri), 301);
}

#[test]
fn burst_of_300_changes_then_pull_reflects_the_last_version() {
    let server = pull_server();
    let uri = server.uri_for("burst.py");
    burst_300_changes(&server, &uri);
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 300);
}

#[test]
fn burst_of_300_changes_then_push_publishes_the_last_version() {
    let server = push_server();
    let uri = server.uri_for("burst.py");
    burst_300_changes(&server, &uri);
    assert_core_diagnostic(&server.diagnostics(&uri), 300);
}

// ----- document lifecycle and robustness ---------------------------------

#[test]
fn close_publishes_empty_diagnostics() {
    let server = push_server();
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert_core_diagnostic(&server.diagnostics(&uri), 0);

    let seen = server.publish_count(&uri);
    server.close(&uri);
    server.wait_for_publish_since(&uri, seen, is_empty_publish);
}

#[test]
fn pull_for_a_never_opened_document_is_empty_and_the_server_survives() {
    let server = pull_server();
    let never = server.uri_for("never_opened.py");
    let report = server
        .request("textDocument/diagnostic", json!({ "textDocument": { "uri": never } }))
        .unwrap_or_else(|e| panic!("pull for an unopened document failed: {e}"));
    assert_eq!(report["kind"], "full", "{report:#}");
    assert_eq!(report["items"], json!([]), "{report:#}");

    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 0);
    assert!(server.shutdown().success());
}

#[test]
fn unknown_request_method_is_answered_with_method_not_found() {
    let server = pull_server();
    let error = server
        .request("asyncsense/noSuchMethod", json!({}))
        .expect_err("an unknown request must be answered with an error");
    assert_eq!(error["code"], -32601, "MethodNotFound expected: {error:#}");

    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 0);
}

/// Beyond the written contract: a well-framed body that is not JSON should be
/// answered with a parse error (JSON-RPC 2.0), not end the session.
/// tower-lsp-server alone stops reading after a frame it cannot decode (tokio-util's
/// `FramedRead` ends after a decoder error); the server's transport gate answers such frames
/// itself and keeps the session going.
#[test]
fn malformed_json_body_does_not_kill_the_server() {
    let server = pull_server();
    let body = b"{not json!!}";
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    server.send_raw(&frame);

    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 0);
    assert!(server.is_running());
    let parse_errors: Vec<Value> =
        server.orphan_responses().into_iter().filter(|r| r["error"]["code"] == -32700).collect();
    assert_eq!(parse_errors.len(), 1, "{:#?}", server.orphan_responses());
}

/// A client may advertise `window.workDoneProgress` and still never answer
/// `window/workDoneProgress/create` (or `client/registerCapability`): the
/// server must keep serving, and workspace indexing must still happen.
#[test]
fn server_stays_responsive_when_the_client_never_answers_its_requests() {
    let server = TestServer::builder()
        .pull_diagnostics(true)
        .work_done_progress(true)
        .answer_server_requests(false)
        .file("app/__init__.py", "")
        .file("app/db.py", DB)
        .file("app/services/__init__.py", "")
        .file("app/services/users.py", USERS_ATTRIBUTE)
        .build();
    let core = server.uri_for("core.py");
    server.open(&core, "python", CORE);
    assert_core_diagnostic(&server.pull_diagnostics(&core), 0);

    let users = server.uri_for("app/services/users.py");
    server.open(&users, "python", USERS_ATTRIBUTE);
    let diagnostics = server.diagnostics_until(&users, has_apm101);
    assert_apm101(
        only_one(&diagnostics),
        range_on_line(USERS_ATTRIBUTE, 8, "self.db_session_factory()", server.encoding()),
    );
}

#[test]
fn shutdown_then_exit_ends_the_process_successfully() {
    let server = push_server();
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    let status = server.shutdown();
    assert!(status.success(), "exit status {status}");
}

// ----- configuration -------------------------------------------------------

#[test]
fn project_configuration_selects_rules() {
    let server = TestServer::builder()
        .pull_diagnostics(true)
        .file("pyproject.toml", "[project]\nname = 'x'\n\n[tool.asyncsense]\nignore = ['APM101']\n")
        .build();
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert!(server.pull_diagnostics(&uri).is_empty());
}

#[test]
fn configuration_errors_are_shown_and_the_valid_part_applies() {
    let server =
        TestServer::builder().pull_diagnostics(true).file("asyncsense.toml", "select = ['APM101', 'APM999']\n").build();
    let message = server.wait_for_notification("window/showMessage", |params| {
        params["message"].as_str().is_some_and(|text| text.contains("unknown rule `APM999`"))
    });
    assert!(message["message"].as_str().is_some_and(|text| text.contains("asyncsense.toml:1")), "{message:#}");
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 0);
}

#[test]
fn hover_shows_the_protocol_in_plain_words() {
    let server = pull_server();
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    let hover = server
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 12 } }),
        )
        .expect("hover answers");
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(text.contains("async generator function") && text.contains("`async for`"), "{hover:#}");
    let on_finding = server
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": 5, "character": 20 } }),
        )
        .expect("hover answers");
    assert!(
        on_finding["contents"]["value"].as_str().is_some_and(|text| text.starts_with("**APM101")),
        "{on_finding:#}"
    );
}

#[test]
fn decorate_the_definition_is_a_workspace_edit_in_the_defining_file() {
    let server = TestServer::builder()
        .pull_diagnostics(true)
        .file("app/__init__.py", "")
        .file("app/db.py", "async def get_session():\n    yield 1\n")
        .file(
            "app/service.py",
            "from app.db import get_session\n\nasync def use():\n    async with get_session() as s:\n        pass\n",
        )
        .build();
    let uri = server.uri_for("app/service.py");
    let db_uri = server.uri_for("app/db.py");
    server.open(&uri, "python", &std::fs::read_to_string(server.root().join("app/service.py")).expect("read"));
    let diagnostics = server.diagnostics_until(&uri, |diagnostics| !diagnostics.is_empty());
    let actions = server.code_actions(&uri, diagnostics[0]["range"].clone(), diagnostics.clone(), None);
    let decorate = actions
        .iter()
        .find(|action| action["title"].as_str().is_some_and(|title| title.starts_with("Decorate `get_session`")))
        .unwrap_or_else(|| panic!("no decorate action among {actions:#?}"));
    assert_eq!(decorate["isPreferred"], false);
    let edits = &decorate["edit"]["changes"][db_uri.as_str()];
    let inserted: Vec<&str> =
        edits.as_array().expect("edits for app/db.py").iter().filter_map(|edit| edit["newText"].as_str()).collect();
    assert_eq!(inserted, vec!["import contextlib\n", "@contextlib.asynccontextmanager\n"], "{decorate:#}");
}

#[test]
fn editor_settings_select_rules_when_the_project_has_no_file() {
    let server =
        TestServer::builder().pull_diagnostics(true).initialization_options(json!({ "ignore": ["APM101"] })).build();
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert!(server.pull_diagnostics(&uri).is_empty());
    server.notify("workspace/didChangeConfiguration", json!({ "settings": { "asyncsense": { "ignore": [] } } }));
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 0);
}

// ----- robustness ------------------------------------------------------------

#[test]
fn a_panic_in_one_files_analysis_is_an_error_for_that_request_only() {
    let server = TestServer::builder().pull_diagnostics(true).env("ASYNCSENSE_FAILPOINT_PANIC", "broken.py").build();
    let broken = server.uri_for("broken.py");
    server.open(&broken, "python", CORE);
    let error = server
        .request("textDocument/diagnostic", json!({ "textDocument": { "uri": broken } }))
        .expect_err("the failing analysis answers an error");
    assert_eq!(error["code"], -32603, "{error:#}");
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 0);
    assert!(server.is_running());
}

#[test]
fn bad_input_keeps_the_server_alive() {
    let server = pull_server();
    // Versions going backwards, changes to unopened documents, double opens.
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    server.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": server.uri_for("never.py"), "version": 3 },
            "contentChanges": [{ "text": "x" }],
        }),
    );
    server.notify(
        "textDocument/didOpen",
        json!({
            "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": CORE },
        }),
    );
    server.notify("textDocument/didChange", json!({
        "textDocument": { "uri": uri, "version": 0 },
        "contentChanges": [{ "range": { "start": { "line": 99, "character": 99 }, "end": { "line": 0, "character": 0 } }, "text": "" }],
    }));
    assert!(server.is_running());
    // A 20 MB document and 20,000-deep nesting.
    let big = server.uri_for("big.py");
    let mut text = String::from(CORE);
    while text.len() < 20 * 1024 * 1024 {
        text.push_str("value = [1, 2, 3]  # padding padding padding padding padding padding\n");
    }
    server.open(&big, "python", &text);
    assert_eq!(server.pull_diagnostics(&big).len(), 1);
    let deep = server.uri_for("deep.py");
    server.open(&deep, "python", &format!("x = {}1{}\n{CORE}", "(".repeat(20_000), ")".repeat(20_000)));
    server.pull_diagnostics(&deep);
    assert!(server.is_running());
}

#[test]
fn never_runs_workspace_code() {
    let marker = std::env::temp_dir().join(format!("asyncsense-marker-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let payload = format!("open({:?}, 'w').write('ran')\n", marker.display().to_string());
    let server = TestServer::builder()
        .pull_diagnostics(true)
        .file("conftest.py", &payload)
        .file("setup.py", &payload)
        .file("pkg/__init__.py", &payload)
        .file("sitecustomize.py", &payload)
        .file("x.pth", format!("import os; {payload}"))
        .build();
    let uri = server.uri_for("pkg/use.py");
    server.open(&uri, "python", &format!("import pkg\n{CORE}"));
    server.diagnostics_until(&uri, |diagnostics| !diagnostics.is_empty());
    assert!(!marker.exists(), "workspace code ran");
}

/// xorshift for deterministic random edits in tests.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % (bound.max(1) as u64)).unwrap_or(0)
    }
}

#[test]
fn random_edit_sequences_through_the_real_binary_match_a_fresh_open() {
    let server = TestServer::builder().pull_diagnostics(true).position_encodings(["utf-16"]).build();
    let mut random = Random(0x5EED_1234_ABCD_0001);
    let pieces = ["a", "🧪", "漢", "\r\n", "\n", "\r", "    ", "async with get_session() as s:\n        pass\n", "x"];
    for sequence in 0..200 {
        let uri = server.uri_for(format!("edits/seq{sequence}.py"));
        server.open(&uri, "python", CORE);
        for _ in 0..=random.below(8) {
            let text = server.text(&uri);
            // LSP lines: split at \r\n, \r and \n.
            let lines: Vec<&str> = text.split("\r\n").flat_map(|part| part.split(['\r', '\n'])).collect();
            let line = random.below(lines.len());
            // Columns at character boundaries, in UTF-16 units.
            let columns: Vec<usize> = std::iter::once(0)
                .chain(lines[line].chars().scan(0, |units, ch| {
                    *units += ch.len_utf16();
                    Some(*units)
                }))
                .collect();
            let (start, end) = (columns[random.below(columns.len())], columns[random.below(columns.len())]);
            let (start, end) = (start.min(end), start.max(end));
            let insert = pieces[random.below(pieces.len())];
            let (Ok(line), Ok(start), Ok(end)) = (u32::try_from(line), u32::try_from(start), u32::try_from(end)) else {
                continue;
            };
            server.change(&uri, [(range(line, start, line, end), insert.to_owned())]);
        }
        let edited = server.pull_diagnostics(&uri);
        let fresh = server.uri_for(format!("edits/fresh{sequence}.py"));
        server.open(&fresh, "python", &server.text(&uri));
        let reopened = server.pull_diagnostics(&fresh);
        let strip = |diagnostics: &[Value]| -> Vec<(Value, Value)> {
            diagnostics.iter().map(|diagnostic| (diagnostic["range"].clone(), diagnostic["code"].clone())).collect()
        };
        assert_eq!(strip(&edited), strip(&reopened), "sequence {sequence}:\n{}", server.text(&uri));
        server.close(&uri);
        server.close(&fresh);
    }
}

#[test]
fn typing_then_pulling_at_once_sees_the_last_text_every_time() {
    for _ in 0..20 {
        typing_27_characters_then_pull_sees_the_final_text();
    }
}

#[test]
fn a_burst_of_1000_notifications_is_answered() {
    let server = pull_server();
    let uri = server.uri_for("burst.py");
    server.open(&uri, "python", CORE);
    for i in 0..1_000 {
        server.change(&uri, [(range(0, 0, 0, 0), format!("# {i}\n"))]);
    }
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 1_000);
}

/// The process opts out of transparent huge pages (2 MiB pages that count whole in RSS), unless
/// `MIMALLOC_ALLOW_THP=1` asks to keep them. Skipped where this test process itself cannot use
/// them (a kernel without THP, or one that does not report the setting).
#[test]
fn server_opts_out_of_transparent_huge_pages() {
    if proc_status("self", "THP_enabled").as_deref() != Some("1") {
        eprintln!("huge pages are not available to this process; nothing to check");
        return;
    }
    let server = TestServer::start();
    assert_eq!(
        server.proc_status("THP_enabled").as_deref(),
        Some("0"),
        "huge pages should be off for the server process"
    );
    let kept = TestServer::builder().env("MIMALLOC_ALLOW_THP", "1").build();
    assert_eq!(kept.proc_status("THP_enabled").as_deref(), Some("1"), "MIMALLOC_ALLOW_THP=1 should keep them");
}

#[test]
fn memory_stays_flat_over_edits_and_open_close_cycles() {
    // Allocators keep freed memory for a while: mimalloc (the binary's allocator) returns pages
    // to the OS 10 ms after they are freed, so RSS sampled mid-burst swung by 10 MiB between runs.
    // Purging at once keeps the measurement about the data. (For glibc, two arenas do the same:
    // each new blocking-pool thread would otherwise get its own.)
    let server = TestServer::builder()
        .pull_diagnostics(true)
        .env("MIMALLOC_PURGE_DELAY", "0")
        .env("MALLOC_ARENA_MAX", "2")
        .build();
    let uri = server.uri_for("memory.py");
    server.open(&uri, "python", CORE);
    // One round: 5,000 edits (pulling now and then) and 500 open/close cycles.
    let round = |server: &TestServer| {
        for i in 0..5_000 {
            let line = u32::try_from(i % 50).unwrap_or(0);
            server.change(&uri, [(range(line, 0, line, 0), "x".to_owned())]);
            if i % 1_000 == 999 {
                server.pull_diagnostics(&uri);
            }
        }
        for i in 0..500 {
            let other = server.uri_for(format!("cycle{}.py", i % 10));
            server.open(&other, "python", CORE);
            server.pull_diagnostics(&other);
            server.close(&other);
        }
        server.pull_diagnostics(&uri);
        server.resident_kib().expect("rss")
    };
    // Two rounds warm up allocator arenas and the blocking pool's threads; the next two (10,000
    // edits, 1,000 open/close cycles) must not grow.
    let first = round(&server);
    let warmed = round(&server);
    round(&server);
    let after = round(&server);
    eprintln!("server RSS: {first} KiB after the first round, {warmed} KiB warmed up, {after} KiB two rounds later");
    // New blocking-pool threads can add a few MiB in steps; a leak of even 1 KiB per edit would
    // add 10 MiB here.
    assert!(
        after < warmed + 8 * 1024,
        "memory grew from {warmed} KiB to {after} KiB over 10,000 edits and 1,000 cycles"
    );
}

#[test]
fn files_deleted_or_renamed_while_open_keep_the_editor_text() {
    let server = TestServer::builder().pull_diagnostics(true).file("core.py", CORE).build();
    let uri = server.uri_for("core.py");
    server.open(&uri, "python", CORE);
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 0);
    std::fs::rename(server.root().join("core.py"), server.root().join("moved.py")).expect("rename");
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [
        { "uri": uri, "type": 3 },
        { "uri": server.uri_for("moved.py"), "type": 1 },
    ] }),
    );
    // The open document is still the editor's text; the new file is indexed from disk.
    assert_core_diagnostic(&server.pull_diagnostics(&uri), 0);
    assert!(server.is_running());
}

// ----- Rust documents --------------------------------------------------------

const RUST_SOURCE: &str = "\
fn sessions() -> impl futures::Stream<Item = u32> {
    futures::stream::iter(vec![1])
}

async fn handler(m: &tokio::sync::Mutex<u8>) {
    let _session = sessions();
    let _ = m.lock().await;
    work().await;
}
";

#[test]
fn rust_documents_get_stream_and_guard_diagnostics_with_quick_fixes() {
    let server = pull_server();
    let uri = server.uri_for("handler.rs");
    server.open(&uri, "rust", RUST_SOURCE);
    let diagnostics = server.pull_diagnostics(&uri);
    let codes: Vec<&str> = diagnostics.iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["APM401", "APM403"], "{diagnostics:#?}");
    assert_eq!(range_of(&diagnostics[0]), Range::new(pos(5, 4), pos(5, 30)));
    assert_eq!(range_of(&diagnostics[1]), Range::new(pos(6, 4), pos(6, 27)));
    // What the code does; the remedy (`let _guard =`) is the quick fix's title, said once.
    assert!(message_of(&diagnostics[1]).contains("drops it on the spot"), "{diagnostics:#?}");
    assert!(!message_of(&diagnostics[1]).contains("let _guard"), "{diagnostics:#?}");

    let actions = server.code_actions(&uri, diagnostics[1]["range"].clone(), vec![diagnostics[1].clone()], None);
    // Every Rust fix changes what runs: offered, never preferred.
    assert!(actions.iter().all(|a| a["isPreferred"] != true), "{actions:#?}");
    let fix = actions
        .iter()
        .find(|a| a["title"].as_str().is_some_and(|title| title.starts_with("Keep the guard alive")))
        .unwrap_or_else(|| panic!("no APM403 quick fix among {actions:#?}"));
    server.apply_edit(&fix["edit"]);
    assert!(server.text(&uri).contains("    let _guard = m.lock().await;\n"), "{}", server.text(&uri));
    let after = server.pull_diagnostics(&uri);
    let codes: Vec<&str> = after.iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["APM401"], "{after:#?}");

    // The suppression action writes a Rust comment, not a Python one.
    let actions = server.code_actions(&uri, after[0]["range"].clone(), after.clone(), None);
    let disable = actions
        .iter()
        .find(|a| a["title"] == "Disable APM401 for this line")
        .unwrap_or_else(|| panic!("no suppression action among {actions:#?}"));
    server.apply_edit(&disable["edit"]);
    assert!(server.text(&uri).contains("    // asyncsense: ignore[APM401]\n    let _session"), "{}", server.text(&uri));
    assert!(server.pull_diagnostics(&uri).is_empty());
}

#[test]
fn rust_documents_without_findings_or_mid_edit_are_quiet() {
    let server = pull_server();
    let uri = server.uri_for("quiet.rs");
    server.open(
        &uri,
        "rust",
        "async fn f(r: &mut R) {\n    let mut buf = [0; 4];\n    let _ = r.read(&mut buf).await;\n}\n",
    );
    assert!(server.pull_diagnostics(&uri).is_empty());
    let broken = server.uri_for("broken.rs");
    server.open(&broken, "rust", "async fn f( {\n");
    assert!(server.pull_diagnostics(&broken).is_empty());
}

#[test]
fn rust_findings_survive_a_transient_syntax_error_elsewhere() {
    let server = pull_server();
    let uri = server.uri_for("typing.rs");
    server.open(&uri, "rust", RUST_SOURCE);
    assert_eq!(server.pull_diagnostics(&uri).len(), 2);
    // An unclosed `(` typed at the top: the file no longer tokenises; both findings stay, one line down.
    server.change(&uri, [(range(0, 0, 0, 0), "fn broken( \n")]);
    let diagnostics = server.pull_diagnostics(&uri);
    let lines: Vec<u32> = diagnostics.iter().map(|d| range_of(d).start.line).collect();
    assert_eq!(lines, [6, 7], "{diagnostics:#?}");
}

// ----- installed packages ------------------------------------------------

const AGENT_APP: &str = "\
from agentlib import Agent


async def run(agent: Agent):
    async for event in agent.stream_events():
        print(event)
";

/// The editor reads the workspace's `.venv`: the protocol of an installed library's method comes
/// from its installed source, and the diagnostic offers the fix.
#[test]
fn installed_package_decides_the_protocol_in_the_editor() {
    let site = ".venv/lib/python3.12/site-packages";
    let server = TestServer::builder()
        .file(".venv/pyvenv.cfg", "home = /usr/bin\nversion = 3.12.3\n")
        .file(format!("{site}/agentlib/__init__.py"), "from .agent import Agent\n")
        .file(
            format!("{site}/agentlib/agent.py"),
            "from contextlib import asynccontextmanager\n\n\nclass Agent:\n    @asynccontextmanager\n    async def stream_events(self):\n        yield []\n",
        )
        .file("app/main.py", AGENT_APP)
        .build();
    let uri = server.uri_for("app/main.py");
    server.open(&uri, "python", AGENT_APP);
    let diagnostics = server
        .diagnostics_until(&uri, |diagnostics| diagnostics.iter().any(|diagnostic| diagnostic["code"] == "APM102"));
    let diagnostic = only_one(&diagnostics);
    assert!(message_of(diagnostic).contains("agentlib/agent.py"), "{diagnostic}");
}

/// A syntax error mid-edit is a diagnostic of its own (APM000), with no "Disable" action, and
/// the rest of the file is still checked.
#[test]
fn syntax_errors_are_diagnostics_without_a_disable_action() {
    let server = pull_server();
    let uri = server.uri_for("half.py");
    server.open(&uri, "python", &format!("{CORE}\nasync def half_written(:\n    pass\n"));
    let diagnostics = server.diagnostics(&uri);
    let codes: Vec<&str> = diagnostics.iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(codes.contains(&"APM000") && codes.contains(&"APM101"), "{diagnostics:#?}");
    let syntax = diagnostics.iter().find(|d| d["code"] == "APM000").expect("APM000").clone();
    assert!(message_of(&syntax).starts_with("syntax error: "), "{syntax:#}");
    let actions = server.code_actions(&uri, syntax["range"].clone(), vec![syntax.clone()], None);
    assert!(actions.iter().all(|a| !a["title"].as_str().unwrap_or_default().contains("APM000")), "{actions:#?}");
    // Fixing the text clears it.
    server.change_full(&uri, CORE);
    let after = server.diagnostics_until(&uri, |diagnostics| diagnostics.iter().all(|d| d["code"] != "APM000"));
    assert_eq!(after.len(), 1, "{after:#?}");
}

// ----- Workspace files -------------------------------------------------------

const ROWS: &str = "async def rows():\n    yield 1\n";

/// Issue 21: the server's indexing and its file watcher follow the CLI's rules, so a file that
/// `.gitignore` lists is not indexed (its definitions resolve nothing) when the workspace is
/// first read, nor when it appears later.
#[test]
fn gitignored_files_are_neither_indexed_nor_watched() {
    let main = "\
from build.early import rows as early_rows
from late import rows as late_rows
from later import rows as later_rows


async def handler():
    async with early_rows() as a:
        print(a)
    async with late_rows() as b:
        print(b)
    async with later_rows() as c:
        print(c)
";
    let server = TestServer::builder()
        .pull_diagnostics(true)
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .file(".gitignore", "build/\nlate.py\n")
        .file("build/early.py", ROWS)
        .file("main.py", main)
        .build();
    let uri = server.uri_for("main.py");
    server.open(&uri, "python", main);
    assert_eq!(server.pull_diagnostics(&uri), Vec::<Value>::new(), "build/ is not indexed");
    std::fs::write(server.root().join("late.py"), ROWS).expect("write");
    std::fs::write(server.root().join("later.py"), ROWS).expect("write");
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [
        { "uri": server.uri_for("late.py"), "type": 1 },
        { "uri": server.uri_for("later.py"), "type": 1 },
    ] }),
    );
    // Both files arrive in one notification, so once `later.py` is indexed, `late.py` would be.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let diagnostics = loop {
        let diagnostics = server.pull_diagnostics(&uri);
        if !diagnostics.is_empty() || std::time::Instant::now() > deadline {
            break diagnostics;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let diagnostic = only_one(&diagnostics);
    assert_eq!(range_of(diagnostic).start.line, 10, "{diagnostics:#?}");
}
