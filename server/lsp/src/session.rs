//! Server state shared by all handlers, and the analysis of one document snapshot.
//!
//! Locking discipline: dashmap guards and the `RwLock`s here are held only inside synchronous
//! code, never across an `.await`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use asyncsense_analysis::python::check::{check_module, CheckContext};
use asyncsense_analysis::python::index_source;
use asyncsense_analysis::{Finding, WorkspaceIndex};
use dashmap::DashMap;
use ropey::Rope;
use tower_lsp_server::ls_types::Uri;

use crate::document::{Document, Language};
use crate::position::PositionEncoding;

/// What the client told us at `initialize`.
#[derive(Clone, Debug, Default)]
#[expect(clippy::struct_excessive_bools, reason = "independent client capability flags")]
pub struct ClientSettings {
    pub encoding: PositionEncoding,
    /// The client pulls diagnostics (`textDocument/diagnostic`); otherwise we push.
    pub pull_diagnostics: bool,
    pub work_done_progress: bool,
    pub watch_files_dynamically: bool,
    /// The client accepts `workspace/diagnostic/refresh` (pull clients re-pull on it).
    pub diagnostic_refresh: bool,
}

#[derive(Default)]
pub struct Session {
    pub documents: DashMap<Uri, Document>,
    pub index: WorkspaceIndex,
    /// The newest document version whose facts are in the index, per path: an analysis that
    /// finishes late must not overwrite newer facts.
    indexed_versions: DashMap<PathBuf, i32>,
    settings: RwLock<ClientSettings>,
    roots: RwLock<Vec<PathBuf>>,
    /// The project configuration (the valid part of it, when the file has errors).
    config: RwLock<asyncsense_analysis::config::Config>,
    /// The walk rules compiled from `config` (set with it).
    file_filter: RwLock<Option<asyncsense_analysis::discovery::FileFilter>>,
    editor_settings: RwLock<crate::editor_settings::EditorSettings>,
    /// Set once the start-up index of the workspace is complete (or there is none).
    indexed: std::sync::atomic::AtomicBool,
    index_ready: tokio::sync::Notify,
    /// Per Rust document: the version, text and findings of the last text that tokenised.
    last_good_rust: DashMap<Uri, (i32, String, Vec<Finding>)>,
    /// The Rust crates around the open documents (their text, the rest of the package from disk).
    rust_index: asyncsense_analysis::rust::RustIndex,
    /// The newest document version whose text is in `rust_index`, per path.
    rust_versions: DashMap<PathBuf, i32>,
}

/// An immutable view of a document to analyse off the executor (cloning a rope is O(1)).
#[derive(Clone)]
pub struct Snapshot {
    pub uri: Uri,
    pub version: i32,
    pub rope: Rope,
    pub language: Language,
    pub path: Option<PathBuf>,
}

pub struct Analysis {
    pub snapshot: Snapshot,
    pub findings: Vec<Finding>,
    /// The text analysed and its suppression comments (for "Disable … for this line").
    pub text: String,
    pub suppressions: asyncsense_analysis::suppress::Suppressions,
    /// The module as analysed (for hover); `None` for non-Python documents.
    pub module: Option<Arc<asyncsense_analysis::IndexedModule>>,
    /// The document's exported facts changed: other open documents may need a re-check.
    pub exports_changed: bool,
}

pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    if uri.scheme().as_str() != "file" {
        return None;
    }
    uri.to_file_path().map(std::borrow::Cow::into_owned)
}

impl Session {
    pub fn settings(&self) -> ClientSettings {
        self.settings.read().map(|settings| settings.clone()).unwrap_or_default()
    }

    pub fn set_settings(&self, settings: ClientSettings) {
        if let Ok(mut current) = self.settings.write() {
            *current = settings;
        }
    }

    pub fn encoding(&self) -> PositionEncoding {
        self.settings().encoding
    }

    pub fn roots(&self) -> Vec<PathBuf> {
        self.roots.read().map(|roots| roots.clone()).unwrap_or_default()
    }

    pub fn set_roots(&self, roots: Vec<PathBuf>) {
        if let Ok(mut current) = self.roots.write() {
            *current = roots;
        }
    }

    /// Records that the workspace index is complete and wakes requests waiting for it.
    pub fn mark_indexed(&self) {
        self.indexed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.index_ready.notify_waiters();
    }

    /// Waits (at most `limit`) for the start-up index, so that a pull right after opening a
    /// file sees the imports it resolves against. Clients that cannot be asked to re-pull
    /// (`workspace/diagnostic/refresh`, Neovim 0.11) would otherwise keep an empty answer.
    pub async fn wait_until_indexed(&self, limit: std::time::Duration) {
        let notified = self.index_ready.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.indexed.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if tokio::time::timeout(limit, notified).await.is_err() {
            tracing::warn!("workspace index not ready after {limit:?}; answering with what is indexed");
        }
    }

    pub fn set_editor_settings(&self, settings: crate::editor_settings::EditorSettings) {
        if let Ok(mut current) = self.editor_settings.write() {
            *current = settings;
        }
    }

    /// The rules that run, from the project file and the editor's settings.
    pub fn rules(&self) -> asyncsense_analysis::rules::RuleSet {
        let config = self.config();
        self.editor_settings.read().map_or_else(|_| config.rules(), |editor| editor.effective_rules(&config))
    }

    /// Which files the workspace holds: the CLI's walk rules for the current configuration.
    pub fn file_filter(&self) -> asyncsense_analysis::discovery::FileFilter {
        if let Some(filter) = self.file_filter.read().ok().and_then(|filter| filter.clone()) {
            return filter;
        }
        let roots = self.roots();
        self.config().file_filter(roots.first().map_or(Path::new("/"), PathBuf::as_path))
    }

    /// Whether the workspace walk would skip `path` (a file outside the roots is not skipped).
    pub fn is_ignored(&self, path: &Path) -> bool {
        self.file_filter().matcher(&self.roots()).is_ignored(path)
    }

    pub fn config(&self) -> asyncsense_analysis::config::Config {
        self.config.read().map(|config| config.clone()).unwrap_or_default()
    }

    /// Finds and reads the project configuration above the first root. Returns the problems
    /// (already logged) so the caller can show them; the valid part is used regardless.
    pub fn reload_config(&self) -> Vec<asyncsense_analysis::config::ConfigError> {
        let Some(root) = self.roots().first().cloned() else { return Vec::new() };
        let (config, errors) = match asyncsense_analysis::config::find_config(&root) {
            Some(path) => {
                tracing::info!("using configuration {}", path.display());
                asyncsense_analysis::config::load(&path)
            }
            None => (asyncsense_analysis::config::Config::default(), Vec::new()),
        };
        for error in &errors {
            tracing::warn!("configuration: {error}");
        }
        let roots = self.roots();
        self.index
            .set_environment(asyncsense_analysis::environment::Environment::discover(config.venv.as_deref(), &roots));
        // As the CLI: `target-version`, else the environment's Python, else `requires-python`.
        let declared = roots
            .iter()
            .find_map(|root| asyncsense_analysis::config::declared_python(root))
            .map(|(version, _)| version);
        self.index.set_python_versions(config.target_version, declared);
        let filter = config.file_filter(roots.first().map_or(Path::new("/"), PathBuf::as_path));
        if let Ok(mut current) = self.file_filter.write() {
            *current = Some(filter);
        }
        if let Ok(mut current) = self.config.write() {
            *current = config;
        }
        errors
    }

    pub fn snapshot(&self, uri: &Uri) -> Option<Snapshot> {
        let document = self.documents.get(uri)?;
        Some(Snapshot {
            uri: uri.clone(),
            version: document.version,
            rope: document.rope.clone(),
            language: document.language,
            path: document.path.clone(),
        })
    }

    pub fn current_version(&self, uri: &Uri) -> Option<i32> {
        self.documents.get(uri).map(|document| document.version)
    }

    pub fn open_uris(&self) -> Vec<Uri> {
        self.documents.iter().map(|entry| entry.key().clone()).collect()
    }

    pub fn is_open_path(&self, path: &Path) -> bool {
        self.documents.iter().any(|entry| entry.value().path.as_deref() == Some(path))
    }

    /// Puts facts for `path` into the index unless newer ones are already there.
    fn index_versioned(&self, path: &Path, version: i32, module: Arc<asyncsense_analysis::IndexedModule>) -> bool {
        let mut newest = self.indexed_versions.entry(path.to_path_buf()).or_insert(i32::MIN);
        if version < *newest {
            return false;
        }
        *newest = version;
        self.index.insert(module)
    }

    /// Puts facts read from disk into the index, unless the editor has the file open (its text
    /// wins while it is open). Returns whether the exports changed.
    pub fn index_from_disk(&self, module: Arc<asyncsense_analysis::IndexedModule>) -> bool {
        // Holding the entry makes the check and the insert atomic with `index_versioned`.
        match self.indexed_versions.entry(module.path.clone()) {
            dashmap::Entry::Occupied(_) => false,
            dashmap::Entry::Vacant(_) => self.index.insert(module),
        }
    }

    /// Forgets the editor's version of `path` (on close): the file on disk is the truth again.
    pub fn forget_versions(&self, path: &Path) {
        self.indexed_versions.remove(path);
    }

    /// The hover text at byte `offset` of an analysed document.
    pub fn hover(&self, analysis: &Analysis, offset: usize) -> Option<String> {
        let module = analysis.module.as_ref()?;
        let roots = self.roots();
        let context = CheckContext {
            index: &self.index,
            display_root: roots.first().map(PathBuf::as_path),
            rules: self.rules(),
            workspace_fixes: false,
            types: None,
        };
        asyncsense_analysis::python::check::hover(module, &analysis.text, offset, &analysis.findings, &context)
    }

    /// Parses, indexes and checks a snapshot. CPU-bound: call it off the async executor.
    pub fn analyze(&self, snapshot: Snapshot) -> Analysis {
        self.analyze_with(snapshot, false)
    }

    /// [`Session::analyze`], also building the fixes that scan the workspace (code actions).
    pub fn analyze_with(&self, snapshot: Snapshot, workspace_fixes: bool) -> Analysis {
        // A file the workspace walk skips (`.gitignore`, `exclude`) is not reported, even open.
        let ignored = snapshot.path.as_deref().is_some_and(|path| self.is_ignored(path));
        if snapshot.language == Language::Rust && !ignored {
            return self.analyze_rust(snapshot);
        }
        if snapshot.language != Language::Python || ignored {
            return Analysis {
                snapshot,
                findings: Vec::new(),
                text: String::new(),
                suppressions: asyncsense_analysis::suppress::Suppressions::default(),
                module: None,
                exports_changed: false,
            };
        }
        let text = snapshot.rope.to_string();
        let roots = self.roots();
        let path =
            snapshot.path.clone().unwrap_or_else(|| PathBuf::from(format!("/untitled/{}.py", snapshot.uri.path())));
        let module = Arc::new(index_source(&path, &text, &roots));
        // Untitled buffers are checked but not importable, so they stay out of the index.
        let exports_changed =
            snapshot.path.is_some() && self.index_versioned(&path, snapshot.version, Arc::clone(&module));
        let display_root = roots.first().cloned();
        let config = self.config();
        let rules = config.rules_for(self.rules(), &path);
        let context = CheckContext {
            index: &self.index,
            display_root: display_root.as_deref(),
            rules,
            workspace_fixes,
            types: None,
        };
        let findings = check_module(&module, &text, &context);
        let suppressions = module.facts.suppressions.clone();
        Analysis { snapshot, findings, text, suppressions, module: Some(module), exports_changed }
    }

    /// Forgets what was kept for a closed document. A Rust file's entry in the crate index goes
    /// back to the text on disk, read by the next analysis of its package (not here: this runs
    /// on the executor).
    pub fn forget(&self, uri: &Uri) {
        self.last_good_rust.remove(uri);
        let Some(path) = uri_to_path(uri).filter(|path| asyncsense_analysis::workspace::is_rust_file(path)) else {
            return;
        };
        self.rust_versions.remove(&path);
        self.rust_index.reload_later(&path);
    }

    /// A Rust file changed on disk (not open in the editor): its crate index entry follows the
    /// disk. Returns whether what it offers other files changed.
    pub fn rust_file_changed_on_disk(&self, path: &Path, deleted: bool) -> bool {
        if deleted {
            return self.rust_index.remove(path);
        }
        match asyncsense_analysis::workspace::read_source(path) {
            Ok(text) => self.rust_index.update(path, &text),
            Err(error) => {
                tracing::debug!("{error}");
                self.rust_index.remove(path)
            }
        }
    }

    /// Rust documents are checked against the crate index: the document's text replaces its
    /// entry, the rest of its package is read from disk the first time one of its files is
    /// analysed. When the text does not tokenise, the last good findings are carried over; when
    /// some items did not parse, the last good findings inside those items are kept.
    fn analyze_rust(&self, snapshot: Snapshot) -> Analysis {
        let text = snapshot.rope.to_string();
        let path =
            snapshot.path.clone().unwrap_or_else(|| PathBuf::from(format!("/untitled/{}.rs", snapshot.uri.path())));
        let rules = self.config().rules_for(self.rules(), &path);
        let mut exports_changed = false;
        if let Some(file) = &snapshot.path {
            self.rust_index.load_package_of(file);
            // Holding the entry orders concurrent updates: an older version never wins.
            let mut newest = self.rust_versions.entry(file.clone()).or_insert(i32::MIN);
            if snapshot.version >= *newest {
                *newest = snapshot.version;
                exports_changed = self.rust_index.update(file, &text);
            }
        }
        let checked =
            asyncsense_analysis::rust::check_rust_parsed_in(&text, snapshot.path.as_deref(), &self.rust_index);
        let findings = match checked {
            Some(check) => {
                let findings = if check.skipped.is_empty() {
                    check.findings
                } else {
                    // The guard is released at the end of this block, before the insert below.
                    match self.last_good_rust.get(&snapshot.uri) {
                        Some(last) => check.with_last_good(&last.1, &last.2, &text),
                        None => check.findings,
                    }
                };
                let newer = self.last_good_rust.get(&snapshot.uri).is_none_or(|last| last.0 <= snapshot.version);
                if newer {
                    self.last_good_rust
                        .insert(snapshot.uri.clone(), (snapshot.version, text.clone(), findings.clone()));
                }
                findings
            }
            None => {
                tracing::info!("{} does not tokenise; keeping the last good findings", path.display());
                self.last_good_rust
                    .get(&snapshot.uri)
                    .map(|last| asyncsense_analysis::rust::carry_findings(&last.1, &text, &last.2))
                    .unwrap_or_default()
            }
        };
        let findings = findings.into_iter().filter(|finding| rules.contains(finding.rule)).collect();
        Analysis {
            snapshot,
            findings,
            text,
            suppressions: asyncsense_analysis::suppress::Suppressions::default(),
            module: None,
            exports_changed,
        }
    }
}
