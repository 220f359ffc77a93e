//! [`TestServerBuilder`]: the client capabilities and workspace a
//! [`TestServer`] starts with, and the startup sequence (spawn, `initialize`,
//! `initialized`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Value};

use crate::binary::server_binary;
use crate::inbox::{spawn_reader, spawn_stderr, Shared, StderrLog, Writer};
use crate::server::TestServer;
use crate::text::PositionEncoding;
use crate::uri::file_uri;

/// Default time limit for every wait on the server.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Environment variable that, when set to anything but `0`, echoes the
/// server's stderr live (prefixed with `[asyncsense]`) in addition to
/// capturing it.
pub const ECHO_STDERR_ENV: &str = "ASYNCSENSE_TEST_ECHO_STDERR";

/// Configures and starts a [`TestServer`]; create it with
/// [`TestServer::builder`].
#[derive(Clone, Debug)]
#[expect(clippy::struct_excessive_bools, reason = "independent client toggles, each with its own builder method")]
pub struct TestServerBuilder {
    pull_diagnostics: bool,
    position_encodings: Option<Vec<String>>,
    root: Option<PathBuf>,
    work_done_progress: bool,
    answer_server_requests: bool,
    timeout: Duration,
    files: Vec<(PathBuf, String)>,
    binary: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    initialization_options: Option<Value>,
    echo_stderr: bool,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        Self {
            pull_diagnostics: false,
            position_encodings: None,
            root: None,
            work_done_progress: false,
            answer_server_requests: true,
            timeout: DEFAULT_TIMEOUT,
            files: Vec::new(),
            binary: None,
            env: Vec::new(),
            initialization_options: None,
            echo_stderr: std::env::var_os(ECHO_STDERR_ENV).is_some_and(|v| v != "0"),
        }
    }
}

impl TestServerBuilder {
    /// Whether the client advertises the `textDocument.diagnostic` capability
    /// (pull diagnostics). Default `false`: the server is expected to push
    /// `textDocument/publishDiagnostics`.
    #[must_use]
    pub fn pull_diagnostics(mut self, enabled: bool) -> Self {
        self.pull_diagnostics = enabled;
        self
    }

    /// Position encodings the client offers, in order of preference, sent as
    /// `general.positionEncodings`. Default: none sent, which means UTF-16.
    #[must_use]
    pub fn position_encodings<S: Into<String>>(mut self, encodings: impl IntoIterator<Item = S>) -> Self {
        self.position_encodings = Some(encodings.into_iter().map(Into::into).collect());
        self
    }

    /// The workspace folder (also sent as `rootUri`). It is created if
    /// missing and is not deleted afterwards. Default: a fresh temporary
    /// directory, deleted when the server is dropped.
    #[must_use]
    pub fn root(mut self, path: impl Into<PathBuf>) -> Self {
        self.root = Some(path.into());
        self
    }

    /// Whether the client advertises `window.workDoneProgress`. Default
    /// `false`.
    #[must_use]
    pub fn work_done_progress(mut self, enabled: bool) -> Self {
        self.work_done_progress = enabled;
        self
    }

    /// Whether the client answers server-to-client requests (with `null`, or
    /// an array of `null`s for `workspace/configuration`). Default `true`;
    /// `false` never answers them, to check that the server stays responsive.
    #[must_use]
    pub fn answer_server_requests(mut self, enabled: bool) -> Self {
        self.answer_server_requests = enabled;
        self
    }

    /// Time limit for startup and for every later wait. Default 20 s.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Writes `contents` to `path` (relative to the root; parent directories
    /// are created) before the server starts.
    #[must_use]
    pub fn file(mut self, path: impl Into<PathBuf>, contents: impl Into<String>) -> Self {
        self.files.push((path.into(), contents.into()));
        self
    }

    /// Runs this binary instead of [`server_binary`].
    #[must_use]
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Sets an environment variable for the server process (for example
    /// `RUST_LOG`).
    #[must_use]
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// `initializationOptions` for the `initialize` request. Default: none.
    #[must_use]
    pub fn initialization_options(mut self, options: Value) -> Self {
        self.initialization_options = Some(options);
        self
    }

    /// Whether to echo the server's stderr live. Default: whether
    /// `ASYNCSENSE_TEST_ECHO_STDERR` is set (and not `0`). It is always
    /// captured either way.
    #[must_use]
    pub fn echo_stderr(mut self, enabled: bool) -> Self {
        self.echo_stderr = enabled;
        self
    }

    /// Starts the server and completes the `initialize` handshake.
    ///
    /// # Panics
    ///
    /// If the server cannot be built or started, or `initialize` fails or
    /// times out; the message includes the server's stderr.
    pub fn build(self) -> TestServer {
        match self.try_build() {
            Ok(server) => server,
            Err(error) => panic!("could not start asyncsense: {error:#}"),
        }
    }

    /// Like [`build`](Self::build), but returns startup failures as errors.
    pub fn try_build(self) -> anyhow::Result<TestServer> {
        let (root, temp) = if let Some(root) = &self.root {
            std::fs::create_dir_all(root).with_context(|| format!("creating root {}", root.display()))?;
            (std::path::absolute(root)?, None)
        } else {
            let temp = TempRoot::create()?;
            (temp.path.clone(), Some(temp))
        };
        for (relative, contents) in &self.files {
            let path = root.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        }

        let binary = self.binary.clone().unwrap_or_else(server_binary);
        let mut command = Command::new(&binary);
        command
            .args(["server", "--stdio"])
            .current_dir(&root)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let mut child = command.spawn().with_context(|| format!("spawning {}", binary.display()))?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin pipe"))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout pipe"))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr pipe"))?;

        let shared = Arc::new(Shared::default());
        let writer: Writer = Arc::new(std::sync::Mutex::new(Some(stdin)));
        let stderr_log = Arc::new(StderrLog::default());
        // The server owns these pipes: the threads end when it exits.
        spawn_stderr(stderr, Arc::clone(&stderr_log), self.echo_stderr)?;
        spawn_reader(stdout, Arc::clone(&shared), Arc::clone(&writer), self.answer_server_requests)?;

        let mut server = TestServer::new(crate::server::Parts {
            child,
            writer,
            shared,
            stderr: stderr_log,
            root,
            temp,
            timeout: self.timeout,
            pull: self.pull_diagnostics,
            answer_server_requests: self.answer_server_requests,
        });

        let params = self.initialize_params(server.root());
        let deadline = Instant::now() + self.timeout;
        let result = match server.exchange("initialize", params, deadline) {
            Ok(Ok(result)) => result,
            Ok(Err(error)) => bail!("`initialize` returned an error: {error}\n{}", server.debug_report()),
            Err(why) => bail!("{why}\n{}", server.debug_report()),
        };
        let encoding = match result.pointer("/capabilities/positionEncoding") {
            None | Some(Value::Null) => PositionEncoding::Utf16,
            Some(value) => value
                .as_str()
                .and_then(PositionEncoding::from_lsp)
                .ok_or_else(|| anyhow!("unknown positionEncoding {value} in {result}"))?,
        };
        server.set_initialized(result, encoding);
        server
            .send_notification("initialized", json!({}))
            .with_context(|| format!("sending `initialized`\n{}", server.debug_report()))?;
        Ok(server)
    }

    fn initialize_params(&self, root: &Path) -> Value {
        let root_uri = file_uri(root);
        let name = root.file_name().map_or_else(|| "root".to_owned(), |n| n.to_string_lossy().into_owned());
        let mut text_document = json!({
            "synchronization": {
                "dynamicRegistration": false,
                "willSave": false,
                "willSaveWaitUntil": false,
                "didSave": true,
            },
            "publishDiagnostics": {
                "relatedInformation": true,
                "versionSupport": true,
                "codeDescriptionSupport": true,
                "dataSupport": true,
            },
            "codeAction": {
                "dynamicRegistration": false,
                "isPreferredSupport": true,
                "disabledSupport": true,
                "codeActionLiteralSupport": {
                    "codeActionKind": {
                        "valueSet": [
                            "", "quickfix", "refactor", "refactor.extract",
                            "refactor.inline", "refactor.rewrite", "source",
                            "source.organizeImports", "source.fixAll",
                        ],
                    },
                },
            },
        });
        if self.pull_diagnostics {
            text_document["diagnostic"] = json!({
                "dynamicRegistration": false,
                "relatedDocumentSupport": false,
            });
        }
        let mut capabilities = json!({
            "workspace": {
                "applyEdit": true,
                "workspaceFolders": true,
                "configuration": true,
                "didChangeConfiguration": { "dynamicRegistration": false },
                "didChangeWatchedFiles": { "dynamicRegistration": true },
            },
            "textDocument": text_document,
            "window": {
                "workDoneProgress": self.work_done_progress,
                "showMessage": {},
            },
        });
        if let Some(encodings) = &self.position_encodings {
            capabilities["general"] = json!({ "positionEncodings": encodings });
        }
        let mut params = json!({
            "processId": std::process::id(),
            "clientInfo": { "name": "asyncsense-tests", "version": env!("CARGO_PKG_VERSION") },
            "locale": "en",
            "rootPath": root.to_string_lossy(),
            "rootUri": root_uri,
            "workspaceFolders": [{ "uri": root_uri, "name": name }],
            "capabilities": capabilities,
            "trace": "off",
        });
        if let Some(options) = &self.initialization_options {
            params["initializationOptions"] = options.clone();
        }
        params
    }
}

/// A temporary workspace directory, removed (best effort) when dropped.
#[derive(Debug)]
pub(crate) struct TempRoot {
    pub path: PathBuf,
}

impl TempRoot {
    fn create() -> anyhow::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name =
            format!("asyncsense-tests-{}-{}-{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).with_context(|| format!("creating temporary root {}", path.display()))?;
        // Resolve symlinks (e.g. macOS /var -> /private/var) so the URIs we
        // send match the paths the server sees when it walks the workspace.
        let path = path.canonicalize().unwrap_or(path);
        Ok(Self { path })
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
