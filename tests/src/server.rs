//! [`TestServer`]: a running `asyncsense server --stdio` process and the
//! client half of the conversation with it (requests, notifications, the
//! client's copies of open documents, diagnostics and code actions).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Map, Value};

use crate::builder::{TempRoot, TestServerBuilder};
use crate::inbox::{lock, send, Shared, State, StderrLog, Writer};
use crate::text::{apply_changes, apply_text_edits, PositionEncoding, Range};
use crate::uri::file_uri;

/// How many stderr lines failure messages include.
const STDERR_TAIL_LINES: usize = 50;

/// How long [`Drop`] lets the server take to shut down before killing it.
const DROP_GRACE: Duration = Duration::from_secs(2);

/// How often [`TestServer::diagnostics_until`] pulls again in pull mode.
const PULL_INTERVAL: Duration = Duration::from_millis(100);

/// The client's copy of an open document.
#[derive(Clone, Debug)]
struct Doc {
    version: i32,
    text: String,
}

#[derive(Debug, Default)]
struct Documents {
    open: HashMap<String, Doc>,
    /// For each closed document, how many publishes for it had arrived when
    /// it was closed.
    closed: HashMap<String, usize>,
}

/// Which publish answers "the diagnostics of this document now".
enum Expect {
    /// An open document: a publish carrying its current version.
    Version(i32),
    /// A closed document: any publish after the close.
    After(usize),
    /// A document the client never opened: any publish.
    Any,
}

/// Everything [`TestServerBuilder`] hands over once the process is running.
pub(crate) struct Parts {
    pub child: Child,
    pub writer: Writer,
    pub shared: Arc<Shared>,
    pub stderr: Arc<StderrLog>,
    pub root: PathBuf,
    pub temp: Option<TempRoot>,
    pub timeout: Duration,
    pub pull: bool,
    pub answer_server_requests: bool,
}

/// A running `asyncsense` language server driven over stdio.
///
/// Every wait is bounded by the builder's timeout; on a timeout, or if the
/// server goes away, the method panics with a message that includes the last
/// 50 lines of the server's stderr. Methods take `&self`, so a server can be
/// shared between threads.
///
/// Dropping the server sends `shutdown` and `exit` (best effort) and kills
/// the process if it has not exited within 2 seconds.
#[derive(Debug)]
pub struct TestServer {
    child: Mutex<Option<Child>>,
    writer: Writer,
    shared: Arc<Shared>,
    stderr: Arc<StderrLog>,
    next_id: AtomicI64,
    docs: Mutex<Documents>,
    root: PathBuf,
    timeout: Duration,
    pull: bool,
    answer_server_requests: bool,
    encoding: PositionEncoding,
    initialize_result: Value,
    /// Set once a failure message has already shown the server's stderr.
    reported: AtomicBool,
    // Declared last so the directory outlives the process.
    _temp: Option<TempRoot>,
}

impl TestServer {
    /// A builder with the default configuration (push diagnostics, UTF-16,
    /// fresh temporary root, 20 s timeout).
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// Starts a server with the default configuration.
    pub fn start() -> Self {
        Self::builder().build()
    }

    pub(crate) fn new(parts: Parts) -> Self {
        Self {
            child: Mutex::new(Some(parts.child)),
            writer: parts.writer,
            shared: parts.shared,
            stderr: parts.stderr,
            next_id: AtomicI64::new(1),
            docs: Mutex::new(Documents::default()),
            root: parts.root,
            timeout: parts.timeout,
            pull: parts.pull,
            answer_server_requests: parts.answer_server_requests,
            encoding: PositionEncoding::Utf16,
            initialize_result: Value::Null,
            reported: AtomicBool::new(false),
            _temp: parts.temp,
        }
    }

    pub(crate) fn set_initialized(&mut self, result: Value, encoding: PositionEncoding) {
        self.initialize_result = result;
        self.encoding = encoding;
    }

    // ----- configuration -------------------------------------------------

    /// The server's `InitializeResult`.
    pub fn initialize_result(&self) -> &Value {
        &self.initialize_result
    }

    /// The negotiated `capabilities.positionEncoding` (`"utf-16"` when the
    /// server did not say).
    pub fn position_encoding(&self) -> String {
        self.encoding.as_lsp().to_owned()
    }

    /// The negotiated position encoding, which the harness uses to interpret
    /// every position it applies.
    pub fn encoding(&self) -> PositionEncoding {
        self.encoding
    }

    /// The workspace root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The time limit for each wait.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether the client advertised pull diagnostics.
    pub fn pull_mode(&self) -> bool {
        self.pull
    }

    /// The `file://` URI of `path`; a relative path is taken relative to the
    /// workspace root. See [`file_uri`] for the encoding.
    pub fn uri_for(&self, path: impl AsRef<Path>) -> String {
        file_uri(&self.root.join(path))
    }

    /// Writes `contents` to `path` (relative to the root; parent directories
    /// are created) and returns the absolute path. The server is not told.
    pub fn write_file(&self, path: impl AsRef<Path>, contents: &str) -> PathBuf {
        let path = self.root.join(path);
        let written =
            path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, contents));
        if let Err(e) = written {
            panic!("could not write {}: {e}", path.display());
        }
        path
    }

    // ----- raw JSON-RPC --------------------------------------------------

    /// Sends a request and waits for its response: `Ok(result)`, or
    /// `Err(error object)`. A `Value::Null` `params` is omitted from the
    /// message.
    pub fn request(&self, method: &str, params: Value) -> Result<Value, Value> {
        let deadline = Instant::now() + self.timeout;
        match self.exchange(method, params, deadline) {
            Ok(outcome) => outcome,
            Err(why) => self.fail(&why),
        }
    }

    /// Sends a notification. A `Value::Null` `params` is omitted.
    pub fn notify(&self, method: &str, params: Value) {
        if let Err(e) = self.send_notification(method, params) {
            self.fail(&format!("could not send `{method}`: {e:#}"));
        }
    }

    /// Writes `bytes` to the server's stdin as they are, without framing.
    pub fn send_raw(&self, bytes: &[u8]) {
        let written = match lock(&self.writer).as_mut() {
            Some(stdin) => std::io::Write::write_all(stdin, bytes).and_then(|()| std::io::Write::flush(stdin)),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        if let Err(e) = written {
            self.fail(&format!("could not write raw bytes: {e}"));
        }
    }

    /// Sends an arbitrary JSON value as one framed message.
    pub fn send_json(&self, message: &Value) {
        if let Err(e) = send(&self.writer, message) {
            self.fail(&format!("could not send {message}: {e}"));
        }
    }

    pub(crate) fn exchange(
        &self,
        method: &str,
        params: Value,
        deadline: Instant,
    ) -> Result<Result<Value, Value>, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let message = envelope(Some(id), method, params);
        send(&self.writer, &message).map_err(|e| format!("could not send `{method}`: {e}"))?;
        let response = self
            .wait(deadline, |st| st.responses.remove(&id))
            .map_err(|why| format!("no response to `{method}` (id {id}): {why}"))?;
        Ok(match response.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(response.get("result").cloned().unwrap_or_default()),
        })
    }

    pub(crate) fn send_notification(&self, method: &str, params: Value) -> anyhow::Result<()> {
        send(&self.writer, &envelope(None, method, params)).with_context(|| format!("writing `{method}`"))
    }

    /// Waits until `check` finds something in the received state.
    fn wait<T>(&self, deadline: Instant, mut check: impl FnMut(&mut State) -> Option<T>) -> Result<T, String> {
        let mut state = lock(&self.shared.state);
        loop {
            if let Some(found) = check(&mut state) {
                return Ok(found);
            }
            if let Some(reason) = &state.disconnected {
                return Err(format!("the server closed its output ({reason})"));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("timed out (limit {:?})", self.timeout));
            }
            state = match self.shared.changed.wait_timeout(state, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    // ----- received messages ---------------------------------------------

    /// Every notification received so far, as `{"method", "params"}`.
    pub fn notifications(&self) -> Vec<Value> {
        lock(&self.shared.state).notifications.clone()
    }

    /// Waits for a notification with this method whose params satisfy
    /// `predicate` (already received ones count) and returns its params.
    pub fn wait_for_notification(&self, method: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + self.timeout;
        let found = self.wait(deadline, |st| {
            st.notifications
                .iter()
                .filter(|n| n.get("method").and_then(Value::as_str) == Some(method))
                .filter_map(|n| n.get("params"))
                .find(|params| predicate(params))
                .cloned()
        });
        found.unwrap_or_else(|why| self.fail(&format!("waiting for `{method}`: {why}")))
    }

    /// The params of every `$/progress` notification received so far.
    pub fn progress(&self) -> Vec<Value> {
        lock(&self.shared.state).progress.clone()
    }

    /// Every server-to-client request received so far (whole messages).
    pub fn server_requests(&self) -> Vec<Value> {
        lock(&self.shared.state).server_requests.clone()
    }

    /// Responses that did not carry one of our numeric ids (for example a
    /// parse error answered with `"id": null`).
    pub fn orphan_responses(&self) -> Vec<Value> {
        lock(&self.shared.state).orphan_responses.clone()
    }

    /// Problems with what the server wrote (bodies that are not JSON,
    /// messages with neither method nor id, failed answers).
    pub fn protocol_errors(&self) -> Vec<String> {
        lock(&self.shared.state).protocol_errors.clone()
    }

    /// The last `lines` lines the server wrote to stderr.
    pub fn stderr_tail(&self, lines: usize) -> String {
        self.stderr.tail(lines)
    }

    /// The server's process id (for reading its memory use from `/proc`).
    pub fn pid(&self) -> Option<u32> {
        lock(&self.child).as_ref().map(Child::id)
    }

    /// Resident memory of the server process in KiB (Linux `/proc/<pid>/status`).
    pub fn resident_kib(&self) -> Option<u64> {
        self.proc_status("VmRSS")?.parse().ok()
    }

    /// The first word of a field of the server's `/proc/<pid>/status` (Linux).
    pub fn proc_status(&self, field: &str) -> Option<String> {
        proc_status(&self.pid()?.to_string(), field)
    }

    /// Whether the server process is still running.
    pub fn is_running(&self) -> bool {
        lock(&self.child).as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    // ----- documents -----------------------------------------------------

    /// Sends `textDocument/didOpen` with version 1 and keeps a client-side
    /// copy of the text.
    pub fn open(&self, uri: &str, language_id: &str, text: &str) {
        let sent = {
            let mut docs = lock(&self.docs);
            docs.closed.remove(uri);
            docs.open.insert(uri.to_owned(), Doc { version: 1, text: text.to_owned() });
            self.send_notification(
                "textDocument/didOpen",
                json!({ "textDocument": {
                    "uri": uri, "languageId": language_id, "version": 1, "text": text,
                }}),
            )
        };
        if let Err(e) = sent {
            self.fail(&format!("{e:#}"));
        }
    }

    /// Sends one `textDocument/didChange` with these incremental content
    /// changes, in order, and returns the new version.
    ///
    /// Ranges are `Range`s or LSP range JSON (see [`crate::range`]) in the
    /// negotiated encoding; each change applies to the result of the previous
    /// one, and the harness applies them to its own copy the same way.
    ///
    /// # Panics
    ///
    /// If the document is not open or a range is invalid for the client's
    /// copy (a bug in the test).
    pub fn change<R, T>(&self, uri: &str, edits: impl IntoIterator<Item = (R, T)>) -> i32
    where
        R: Into<Value>,
        T: Into<String>,
    {
        let mut changes = Vec::new();
        let mut parsed = Vec::new();
        for (range, text) in edits {
            let range: Value = range.into();
            let text: String = text.into();
            match Range::from_json(&range) {
                Ok(r) => parsed.push((r, text.clone())),
                Err(e) => panic!("change({uri}): invalid range: {e:#}"),
            }
            changes.push(json!({ "range": range, "text": text }));
        }
        let encoding = self.encoding;
        self.update_doc(uri, |doc| apply_changes(&doc.text, &parsed, encoding).map(|text| (text, changes)))
    }

    /// Sends a `textDocument/didChange` replacing the whole text and returns
    /// the new version.
    pub fn change_full(&self, uri: &str, text: &str) -> i32 {
        self.update_doc(uri, |_| Ok((text.to_owned(), vec![json!({ "text": text })])))
    }

    /// Updates the client copy of `uri` with `edit` (new text plus the
    /// content changes to send), bumps its version and sends `didChange`.
    fn update_doc(&self, uri: &str, edit: impl FnOnce(&Doc) -> anyhow::Result<(String, Vec<Value>)>) -> i32 {
        let outcome = {
            let mut docs = lock(&self.docs);
            match docs.open.get_mut(uri) {
                None => Err(anyhow!("document {uri} is not open")),
                Some(doc) => match edit(doc) {
                    Err(e) => Err(e.context(format!("applying a change to {uri}"))),
                    Ok((text, content_changes)) => {
                        doc.text = text;
                        doc.version += 1;
                        let version = doc.version;
                        self.send_notification(
                            "textDocument/didChange",
                            json!({
                                "textDocument": { "uri": uri, "version": version },
                                "contentChanges": content_changes,
                            }),
                        )
                        .map(|()| version)
                    }
                },
            }
        };
        outcome.unwrap_or_else(|e| self.fail(&format!("{e:#}")))
    }

    /// Sends `textDocument/didClose` and forgets the client copy.
    pub fn close(&self, uri: &str) {
        let sent = {
            let mut docs = lock(&self.docs);
            docs.open.remove(uri);
            let seen = self.publish_count(uri);
            docs.closed.insert(uri.to_owned(), seen);
            self.send_notification("textDocument/didClose", json!({ "textDocument": { "uri": uri } }))
        };
        if let Err(e) = sent {
            self.fail(&format!("{e:#}"));
        }
    }

    /// The client's copy of an open document.
    ///
    /// # Panics
    ///
    /// If the document is not open.
    pub fn text(&self, uri: &str) -> String {
        match lock(&self.docs).open.get(uri) {
            Some(doc) => doc.text.clone(),
            None => panic!("text({uri}): the document is not open"),
        }
    }

    /// The current version of an open document.
    ///
    /// # Panics
    ///
    /// If the document is not open.
    pub fn version(&self, uri: &str) -> i32 {
        match lock(&self.docs).open.get(uri) {
            Some(doc) => doc.version,
            None => panic!("version({uri}): the document is not open"),
        }
    }

    /// Whether the client has `uri` open.
    pub fn is_open(&self, uri: &str) -> bool {
        lock(&self.docs).open.contains_key(uri)
    }

    // ----- diagnostics ---------------------------------------------------

    /// The diagnostics the server reports for `uri` now.
    ///
    /// Pull mode: sends `textDocument/diagnostic` and returns the `items` of
    /// the full report. Push mode: waits for a `publishDiagnostics` for `uri`
    /// whose `version` is the client's current version of the document (for
    /// a closed document, any publish after the close; for a document never
    /// opened, any publish) and returns its diagnostics.
    pub fn diagnostics(&self, uri: &str) -> Vec<Value> {
        if self.pull {
            self.pull_diagnostics(uri)
        } else {
            diagnostics_of(&self.current_publish(uri, |_| true))
        }
    }

    /// Like [`diagnostics`](Self::diagnostics), but waits until `predicate`
    /// holds: pull mode pulls again every 100 ms; push mode waits for a
    /// publish for the current version that satisfies it. Use this when the
    /// answer depends on background work such as workspace indexing.
    pub fn diagnostics_until(&self, uri: &str, predicate: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        if !self.pull {
            return diagnostics_of(&self.current_publish(uri, predicate));
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            let items = self.pull_diagnostics(uri);
            if predicate(&items) {
                return items;
            }
            if Instant::now() + PULL_INTERVAL >= deadline {
                self.fail(&format!(
                    "diagnostics for {uri} never satisfied the condition within {:?}; last \
                     pulled: {}",
                    self.timeout,
                    Value::Array(items)
                ));
            }
            thread::sleep(PULL_INTERVAL);
        }
    }

    /// Sends `textDocument/diagnostic` for `uri` and returns the `items` of
    /// the full report.
    ///
    /// # Panics
    ///
    /// On an error response or a report that is not a full report.
    pub fn pull_diagnostics(&self, uri: &str) -> Vec<Value> {
        let report = self.pull_report(uri);
        if report.get("kind").and_then(Value::as_str) != Some("full") {
            self.fail(&format!("expected a full diagnostic report for {uri}, got {report}"));
        }
        match report.get("items").and_then(Value::as_array) {
            Some(items) => items.clone(),
            None => self.fail(&format!("diagnostic report for {uri} has no items: {report}")),
        }
    }

    /// Sends `textDocument/diagnostic` for `uri` and returns the raw report.
    pub fn pull_report(&self, uri: &str) -> Value {
        match self.request("textDocument/diagnostic", json!({ "textDocument": { "uri": uri } })) {
            Ok(report) => report,
            Err(error) => self.fail(&format!("textDocument/diagnostic for {uri} failed: {error}")),
        }
    }

    /// Waits for a `publishDiagnostics` for `uri` whose params satisfy
    /// `predicate` and returns those params (`uri`, `version`,
    /// `diagnostics`). Publishes that already arrived count; of several
    /// matches the newest is returned.
    pub fn wait_for_publish(&self, uri: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_publish_since(uri, 0, predicate)
    }

    /// Like [`wait_for_publish`](Self::wait_for_publish), considering only
    /// publishes after the first `since` ones for `uri` (see
    /// [`publish_count`](Self::publish_count)).
    pub fn wait_for_publish_since(&self, uri: &str, since: usize, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + self.timeout;
        let found = self.wait(deadline, |st| {
            st.publishes
                .get(uri)
                .and_then(|list| list.iter().skip(since).rev().find(|p| predicate(&p.params)).map(|p| p.params.clone()))
        });
        found.unwrap_or_else(|why| {
            let last = self.publishes(uri).last().map_or_else(|| "none".to_owned(), Value::to_string);
            let expected = match lock(&self.docs).open.get(uri) {
                Some(doc) => format!("client version {}", doc.version),
                None => "document not open".to_owned(),
            };
            self.fail(&format!(
                "waiting for a matching publishDiagnostics for {uri} ({expected}; {} received, \
                 considering those after the first {since}): {why}\nlast publish: {last}",
                self.publish_count(uri)
            ))
        })
    }

    /// How many `publishDiagnostics` for `uri` have arrived.
    pub fn publish_count(&self, uri: &str) -> usize {
        lock(&self.shared.state).publishes.get(uri).map_or(0, Vec::len)
    }

    /// The params of every `publishDiagnostics` for `uri`, oldest first.
    pub fn publishes(&self, uri: &str) -> Vec<Value> {
        lock(&self.shared.state)
            .publishes
            .get(uri)
            .map(|list| list.iter().map(|p| p.params.clone()).collect())
            .unwrap_or_default()
    }

    /// The publish describing the current state of `uri` that satisfies
    /// `predicate` (see [`diagnostics`](Self::diagnostics)).
    fn current_publish(&self, uri: &str, predicate: impl Fn(&[Value]) -> bool) -> Value {
        let expect = {
            let docs = lock(&self.docs);
            if let Some(doc) = docs.open.get(uri) {
                Expect::Version(doc.version)
            } else if let Some(&seen) = docs.closed.get(uri) {
                Expect::After(seen)
            } else {
                Expect::Any
            }
        };
        let matches = |params: &Value| predicate(&diagnostics_of(params));
        match expect {
            Expect::Version(version) => self.wait_for_publish(uri, |params| {
                params.get("version").and_then(Value::as_i64) == Some(i64::from(version)) && matches(params)
            }),
            Expect::After(seen) => self.wait_for_publish_since(uri, seen, matches),
            Expect::Any => self.wait_for_publish(uri, matches),
        }
    }

    // ----- code actions and edits ----------------------------------------

    /// Sends `textDocument/codeAction` for `range` with these diagnostics in
    /// the context (and `only`, when given) and returns the actions (a `null`
    /// result is an empty list).
    pub fn code_actions(
        &self,
        uri: &str,
        range: impl Into<Value>,
        diagnostics: Vec<Value>,
        only: Option<Vec<&str>>,
    ) -> Vec<Value> {
        let mut context = json!({ "diagnostics": Value::Array(diagnostics), "triggerKind": 1 });
        if let Some(only) = only {
            context["only"] = json!(only);
        }
        let params = json!({
            "textDocument": { "uri": uri },
            "range": range.into(),
            "context": context,
        });
        match self.request("textDocument/codeAction", params) {
            Ok(Value::Null) => Vec::new(),
            Ok(Value::Array(actions)) => actions,
            Ok(other) => self.fail(&format!("codeAction result is not an array: {other}")),
            Err(error) => self.fail(&format!("textDocument/codeAction failed: {error}")),
        }
    }

    /// Applies a `WorkspaceEdit` (its `documentChanges` text edits if
    /// present, else its `changes`) to the client copies, then sends each
    /// changed document's new text as a full-text `didChange` with a bumped
    /// version. Returns the changed URIs.
    ///
    /// The edits of one document apply simultaneously (ranges refer to the
    /// text before the edit and must not overlap); a `TextDocumentEdit` with
    /// a version must match the client's version.
    ///
    /// # Panics
    ///
    /// If the edit is malformed, targets a document that is not open, uses
    /// resource operations or snippets, or does not apply.
    pub fn apply_edit(&self, edit: &Value) -> Vec<String> {
        let encoding = self.encoding;
        let outcome = (|| -> anyhow::Result<Vec<String>> {
            let planned = parse_workspace_edit(edit)?;
            let mut docs = lock(&self.docs);
            let mut updated: Vec<(String, String)> = Vec::new();
            for DocEdit { uri, version, edits } in planned {
                let doc = docs.open.get(&uri).ok_or_else(|| anyhow!("the edit targets {uri}, which is not open"))?;
                if let Some(version) = version {
                    if version != i64::from(doc.version) {
                        bail!("the edit for {uri} is for version {version}, the client has {}", doc.version);
                    }
                }
                let slot = updated.iter().position(|(u, _)| *u == uri);
                let base = slot.and_then(|i| updated.get(i)).map_or(doc.text.as_str(), |(_, text)| text.as_str());
                let text =
                    apply_text_edits(base, &edits, encoding).with_context(|| format!("applying the edit to {uri}"))?;
                match slot.and_then(|i| updated.get_mut(i)) {
                    Some(entry) => entry.1 = text,
                    None => updated.push((uri, text)),
                }
            }
            let mut uris = Vec::with_capacity(updated.len());
            for (uri, text) in updated {
                let Some(doc) = docs.open.get_mut(&uri) else {
                    continue;
                };
                doc.version += 1;
                doc.text.clone_from(&text);
                self.send_notification(
                    "textDocument/didChange",
                    json!({
                        "textDocument": { "uri": uri, "version": doc.version },
                        "contentChanges": [{ "text": text }],
                    }),
                )?;
                uris.push(uri);
            }
            Ok(uris)
        })();
        outcome.unwrap_or_else(|e| self.fail(&format!("apply_edit({edit}): {e:#}")))
    }

    // ----- lifecycle -----------------------------------------------------

    /// Sends `shutdown` and `exit`, closes stdin and waits for the process
    /// to exit; returns its exit status.
    ///
    /// # Panics
    ///
    /// If `shutdown` fails or times out, or the process does not exit in
    /// time (it is then killed).
    pub fn shutdown(self) -> ExitStatus {
        let deadline = Instant::now() + self.timeout;
        match self.exchange("shutdown", Value::Null, deadline) {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => self.fail(&format!("`shutdown` returned an error: {error}")),
            Err(why) => self.fail(&why),
        }
        if let Err(e) = self.send_notification("exit", Value::Null) {
            self.fail(&format!("{e:#}"));
        }
        lock(&self.writer).take();
        let status = {
            let mut child = lock(&self.child);
            let status = child.as_mut().and_then(|c| wait_exit(c, deadline));
            if status.is_some() {
                child.take();
            }
            status
        };
        status.unwrap_or_else(|| self.fail("the server did not exit after `shutdown` and `exit`"))
    }

    /// A debugging summary: exit status, protocol errors, server requests
    /// left unanswered (when answering is off) and the stderr tail.
    pub fn debug_report(&self) -> String {
        if lock(&self.shared.state).disconnected.is_some() {
            // Give a dying server's last words time to arrive.
            self.stderr.wait_closed(Duration::from_millis(500));
        }
        let mut report = String::new();
        let status = lock(&self.child).as_mut().and_then(|child| child.try_wait().ok().flatten());
        // Writing to a String cannot fail.
        if let Some(status) = status {
            let _ = writeln!(report, "server exited: {status}");
        }
        let errors = self.protocol_errors();
        if !errors.is_empty() {
            let _ = writeln!(report, "protocol errors: {errors:#?}");
        }
        if !self.answer_server_requests {
            let unanswered: Vec<String> = self
                .server_requests()
                .iter()
                .map(|r| r.get("method").and_then(Value::as_str).unwrap_or("?").to_owned())
                .collect();
            let _ = writeln!(report, "server requests left unanswered (answer_server_requests is off): {unanswered:?}");
        }
        let _ = write!(
            report,
            "--- asyncsense stderr (last {STDERR_TAIL_LINES} lines) ---\n{}\n--- end of stderr ---",
            self.stderr.tail(STDERR_TAIL_LINES)
        );
        report
    }

    /// Panics with `message` and the debugging summary.
    fn fail(&self, message: &str) -> ! {
        let report = self.debug_report();
        self.reported.store(true, Ordering::Relaxed);
        panic!("{message}\n{report}");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if thread::panicking() && !self.reported.load(Ordering::Relaxed) {
            eprintln!(
                "--- asyncsense stderr (last {STDERR_TAIL_LINES} lines) ---\n{}\n--- end of stderr ---",
                self.stderr.tail(STDERR_TAIL_LINES)
            );
        }
        let Some(mut child) = lock(&self.child).take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        let deadline = Instant::now() + DROP_GRACE;
        if lock(&self.shared.state).disconnected.is_none() {
            let _ = self.exchange("shutdown", Value::Null, deadline);
            let _ = self.send_notification("exit", Value::Null);
        }
        lock(&self.writer).take();
        if wait_exit(&mut child, deadline).is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `child` until it exits or `deadline` passes.
fn wait_exit(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => return None,
        }
    }
}

/// A JSON-RPC request (with `id`) or notification; `null` params are omitted.
fn envelope(id: Option<i64>, method: &str, params: Value) -> Value {
    let mut message = Map::new();
    message.insert("jsonrpc".into(), json!("2.0"));
    if let Some(id) = id {
        message.insert("id".into(), json!(id));
    }
    message.insert("method".into(), json!(method));
    if !params.is_null() {
        message.insert("params".into(), params);
    }
    Value::Object(message)
}

/// The `diagnostics` array of publish params (empty if missing).
fn diagnostics_of(params: &Value) -> Vec<Value> {
    params.get("diagnostics").and_then(Value::as_array).cloned().unwrap_or_default()
}

/// The text edits a `WorkspaceEdit` makes to one document.
struct DocEdit {
    uri: String,
    version: Option<i64>,
    edits: Vec<(Range, String)>,
}

fn parse_workspace_edit(edit: &Value) -> anyhow::Result<Vec<DocEdit>> {
    if let Some(document_changes) = edit.get("documentChanges") {
        let entries = document_changes.as_array().ok_or_else(|| anyhow!("`documentChanges` is not an array"))?;
        return entries
            .iter()
            .map(|entry| {
                if let Some(kind) = entry.get("kind") {
                    bail!("resource operation {kind} is not supported");
                }
                let document = entry
                    .get("textDocument")
                    .ok_or_else(|| anyhow!("TextDocumentEdit without textDocument: {entry}"))?;
                let uri = document
                    .get("uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("TextDocumentEdit without uri: {entry}"))?;
                let version = match document.get("version") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_i64().ok_or_else(|| anyhow!("bad version in {entry}"))?),
                };
                let edits = entry.get("edits").ok_or_else(|| anyhow!("TextDocumentEdit without edits: {entry}"))?;
                Ok(DocEdit { uri: uri.to_owned(), version, edits: parse_text_edits(edits)? })
            })
            .collect();
    }
    match edit.get("changes") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(changes)) => changes
            .iter()
            .map(|(uri, edits)| Ok(DocEdit { uri: uri.clone(), version: None, edits: parse_text_edits(edits)? }))
            .collect(),
        Some(other) => bail!("`changes` is not an object: {other}"),
    }
}

fn parse_text_edits(edits: &Value) -> anyhow::Result<Vec<(Range, String)>> {
    let list = edits.as_array().ok_or_else(|| anyhow!("text edits are not an array: {edits}"))?;
    list.iter()
        .map(|edit| {
            if edit.get("snippet").is_some() {
                bail!("snippet text edits are not supported: {edit}");
            }
            let range = edit.get("range").ok_or_else(|| anyhow!("text edit without range: {edit}"))?;
            let new_text = edit
                .get("newText")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("text edit without newText: {edit}"))?;
            Ok((Range::from_json(range)?, new_text.to_owned()))
        })
        .collect()
}

/// The first word of `field` in `/proc/<pid>/status` (`pid` may be `self`), on Linux.
pub fn proc_status(pid: &str, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let value = status.lines().find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?;
    value.split_whitespace().next().map(str::to_owned)
}
