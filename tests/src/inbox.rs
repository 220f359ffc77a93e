//! The client's receiving side: a reader thread that parses everything the
//! server writes to stdout, answers server-to-client requests, and records
//! responses and notifications in shared state guarded by a mutex and a
//! condition variable; plus a thread capturing the server's stderr.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::process::ChildStdin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use serde_json::{json, Value};

use crate::framing;

/// Most stderr lines kept in memory.
const STDERR_LINES_KEPT: usize = 10_000;

/// Locks `mutex`, ignoring poisoning (a panicking test must not hide the
/// state it was looking at).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The server's stdin, shared by the test thread and the reader thread (which
/// answers server requests). `None` once closed.
pub(crate) type Writer = Arc<Mutex<Option<ChildStdin>>>;

/// Writes one framed message to the server.
pub(crate) fn send(writer: &Writer, message: &Value) -> std::io::Result<()> {
    match lock(writer).as_mut() {
        Some(stdin) => framing::write_message(stdin, message),
        None => Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the server's stdin is already closed")),
    }
}

/// One `textDocument/publishDiagnostics` notification.
#[derive(Clone, Debug)]
pub(crate) struct Publish {
    /// The notification's `params` (`uri`, optional `version`, `diagnostics`).
    pub params: Value,
}

/// Everything received from the server so far.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Responses by numeric id, removed when claimed.
    pub responses: HashMap<i64, Value>,
    /// Responses whose id is not a number we sent (e.g. `null` for a parse
    /// error).
    pub orphan_responses: Vec<Value>,
    /// Every publish, per uri, in arrival order.
    pub publishes: HashMap<String, Vec<Publish>>,
    /// Every notification (`{"method", "params"}`), in arrival order.
    pub notifications: Vec<Value>,
    /// The `params` of every `$/progress` notification.
    pub progress: Vec<Value>,
    /// Every server-to-client request message, in arrival order.
    pub server_requests: Vec<Value>,
    /// Messages that could not be understood.
    pub protocol_errors: Vec<String>,
    /// Why the server's stdout ended, once it has.
    pub disconnected: Option<String>,
}

/// State plus the condition variable signalled on every change.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub changed: Condvar,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut lock(&self.state));
        self.changed.notify_all();
    }
}

/// Spawns the stdout reader thread.
pub(crate) fn spawn_reader(
    stdout: impl Read + Send + 'static,
    shared: Arc<Shared>,
    writer: Writer,
    answer_server_requests: bool,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new().name("asyncsense-lsp-reader".into()).spawn(move || {
        let mut input = BufReader::new(stdout);
        let reason = loop {
            match framing::read_frame(&mut input) {
                Ok(None) => break "end of stream".to_owned(),
                Err(e) => break format!("unreadable frame: {e}"),
                Ok(Some(body)) => match serde_json::from_slice::<Value>(&body) {
                    Ok(message) => {
                        dispatch(&shared, &writer, answer_server_requests, message);
                    }
                    Err(e) => shared.update(|st| {
                        st.protocol_errors.push(format!("body is not JSON ({e}): {}", String::from_utf8_lossy(&body)));
                    }),
                },
            }
        };
        shared.update(|st| st.disconnected = Some(reason));
    })
}

fn dispatch(shared: &Shared, writer: &Writer, answer: bool, message: Value) {
    let method = message.get("method").and_then(Value::as_str).map(str::to_owned);
    let id = message.get("id").cloned();
    match (method, id) {
        (Some(method), Some(id)) => {
            if answer {
                let result = if method == "workspace/configuration" {
                    let items = message.pointer("/params/items").and_then(Value::as_array).map_or(0, Vec::len);
                    Value::Array(vec![Value::Null; items])
                } else {
                    Value::Null
                };
                let reply = json!({ "jsonrpc": "2.0", "id": id, "result": result });
                if let Err(e) = send(writer, &reply) {
                    shared.update(|st| {
                        st.protocol_errors.push(format!("could not answer `{method}`: {e}"));
                    });
                }
            }
            shared.update(|st| st.server_requests.push(message));
        }
        (Some(method), None) => {
            let params = message.get("params").cloned().unwrap_or_default();
            shared.update(|st| {
                match method.as_str() {
                    "textDocument/publishDiagnostics" => {
                        let uri = params.get("uri").and_then(Value::as_str).unwrap_or_default().to_owned();
                        st.publishes.entry(uri).or_default().push(Publish { params: params.clone() });
                    }
                    "$/progress" => st.progress.push(params.clone()),
                    _ => {}
                }
                st.notifications.push(json!({ "method": method, "params": params }));
            });
        }
        (None, Some(id)) => shared.update(|st| match id.as_i64() {
            Some(id) => {
                st.responses.insert(id, message);
            }
            None => st.orphan_responses.push(message),
        }),
        (None, None) => shared.update(|st| {
            st.protocol_errors.push(format!("message with neither method nor id: {message}"));
        }),
    }
}

/// The server's stderr, captured line by line.
#[derive(Debug, Default)]
pub(crate) struct StderrLog {
    lines: Mutex<(VecDeque<String>, bool)>,
    changed: Condvar,
}

impl StderrLog {
    /// The last `n` lines, newline-joined.
    pub fn tail(&self, n: usize) -> String {
        let guard = lock(&self.lines);
        let lines = &guard.0;
        let skip = lines.len().saturating_sub(n);
        lines.iter().skip(skip).map(String::as_str).collect::<Vec<_>>().join("\n")
    }

    /// Waits (at most `limit`) until the stderr stream has ended.
    pub fn wait_closed(&self, limit: std::time::Duration) {
        let guard = lock(&self.lines);
        let _ = self.changed.wait_timeout_while(guard, limit, |(_, closed)| !*closed);
    }
}

/// Spawns the thread copying the server's stderr into `log` (and, when
/// `echo` is set, to the test's own stderr as it arrives).
pub(crate) fn spawn_stderr(
    stderr: impl Read + Send + 'static,
    log: Arc<StderrLog>,
    echo: bool,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new().name("asyncsense-stderr".into()).spawn(move || {
        let mut input = BufReader::new(stderr);
        let mut raw = Vec::new();
        loop {
            raw.clear();
            match input.read_until(b'\n', &mut raw) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&raw).trim_end_matches(['\r', '\n']).to_owned();
                    if echo {
                        eprintln!("[asyncsense] {line}");
                    }
                    let mut guard = lock(&log.lines);
                    if guard.0.len() == STDERR_LINES_KEPT {
                        guard.0.pop_front();
                    }
                    guard.0.push_back(line);
                }
            }
        }
        lock(&log.lines).1 = true;
        log.changed.notify_all();
    })
}
