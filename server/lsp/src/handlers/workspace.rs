//! The workspace index on the server side: initial indexing with `$/progress`, re-indexing on
//! `didChangeWatchedFiles` and on close. Files open in the editor are never overwritten from
//! disk: the editor's text is the truth while a document is open.

use std::path::PathBuf;
use std::sync::Arc;

use asyncsense_analysis::python::index_source;
use asyncsense_analysis::workspace::{is_python_file, read_source};
use rayon::prelude::*;
use tower_lsp_server::ls_types::{DidChangeWatchedFilesParams, FileChangeType, ProgressToken};

use crate::handlers::diagnostics::recheck_open_documents;
use crate::server::Server;
use crate::session::{uri_to_path, Session};

/// Files per batch between two progress reports.
const BATCH: usize = 256;

/// How long indexing waits for the client to accept a progress token.
const PROGRESS_TOKEN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Indexes `paths` from disk (skipping open documents); returns whether any exports changed.
fn index_paths(session: &Session, paths: &[PathBuf]) -> bool {
    let roots = session.roots();
    let changed: Vec<bool> = paths
        .par_iter()
        .map(|path| {
            if session.is_open_path(path) {
                return false;
            }
            match read_source(path) {
                Ok(source) => {
                    let analysed =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| index_source(path, &source, &roots)));
                    match analysed {
                        Ok(module) => session.index_from_disk(Arc::new(module)),
                        Err(payload) => {
                            let message = crate::guard::panic_message(&*payload);
                            tracing::error!("internal error while indexing {}: {message}; skipped", path.display());
                            false
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!("{error}");
                    session.index.remove(path)
                }
            }
        })
        .collect();
    changed.into_iter().any(|changed| changed)
}

pub fn start_indexing(server: &Server) {
    let server = server.clone();
    tokio::spawn(async move {
        let roots = server.session.roots();
        if roots.is_empty() {
            server.session.mark_indexed();
            return;
        }
        let started = std::time::Instant::now();
        // The CLI's rules: ignore files, `exclude`, virtual environments.
        let filter = server.session.file_filter();
        let discovery = tokio::task::spawn_blocking(move || filter.walk(&roots, is_python_file, true));
        // Progress needs a token the client has accepted. Ask while the files are being found,
        // and never let a client that does not answer hold up indexing.
        let token = server.session.settings().work_done_progress.then(|| {
            let token = ProgressToken::String("asyncsense/indexing".to_owned());
            let client = server.client.clone();
            let request_token = token.clone();
            let created = tokio::time::timeout(PROGRESS_TOKEN_WAIT, async move {
                client.create_work_done_progress(request_token).await
            });
            (token, created)
        });
        let (files, token) = match token {
            Some((token, created)) => {
                let (files, created) = tokio::join!(discovery, created);
                let token = match created {
                    Ok(Ok(())) => Some(token),
                    Ok(Err(error)) => {
                        tracing::warn!("client refused a progress token: {error}");
                        None
                    }
                    Err(_) => {
                        tracing::warn!(
                            "client did not answer window/workDoneProgress/create; indexing without progress"
                        );
                        None
                    }
                };
                (files, token)
            }
            None => (discovery.await, None),
        };
        let Ok(files) = files else {
            server.session.mark_indexed();
            return;
        };
        let progress = match token {
            Some(token) => Some(server.client.progress(token, "asyncsense: indexing").with_percentage(0).begin().await),
            None => None,
        };
        let total = files.len().max(1);
        let mut done = 0;
        for batch in files.chunks(BATCH) {
            let session = server.session.clone();
            let batch = batch.to_vec();
            let count = batch.len();
            if tokio::task::spawn_blocking(move || index_paths(&session, &batch)).await.is_err() {
                tracing::error!("indexing a batch of files panicked; continuing");
            }
            done += count;
            if let Some(progress) = &progress {
                let percentage = u32::try_from(done * 100 / total).unwrap_or(100);
                progress.report_with_message(format!("{done}/{} files", files.len()), percentage).await;
            }
        }
        if let Some(progress) = progress {
            progress.finish_with_message(format!("{} files indexed", files.len())).await;
        }
        tracing::info!("indexed {} Python files in {:?}", files.len(), started.elapsed());
        server.session.mark_indexed();
        recheck_open_documents(&server, None);
    });
}

pub fn reindex_from_disk(server: &Server, paths: Vec<PathBuf>) {
    let server = server.clone();
    tokio::spawn(async move {
        let session = server.session.clone();
        let changed = tokio::task::spawn_blocking(move || index_paths(&session, &paths)).await.unwrap_or(false);
        if changed {
            recheck_open_documents(&server, None);
        }
    });
}

pub fn did_change_watched_files(server: &Server, params: DidChangeWatchedFilesParams) {
    let mut to_read = Vec::new();
    let mut removed = false;
    // A file the workspace walk would skip is neither indexed nor reported when it changes.
    let mut matcher = server.session.file_filter().matcher(&server.session.roots());
    let mut config_changed = false;
    let mut rust_changed = false;
    for change in params.changes {
        let Some(path) = uri_to_path(&change.uri) else { continue };
        if path.file_name().is_some_and(|name| name == "pyproject.toml" || name == "asyncsense.toml") {
            config_changed = true;
            continue;
        }
        if asyncsense_analysis::workspace::is_rust_file(&path) {
            // An open document's text is newer than the disk; closing it reloads the disk.
            if !server.session.is_open_path(&path) {
                rust_changed |= server.session.rust_file_changed_on_disk(&path, change.typ == FileChangeType::DELETED);
            }
            continue;
        }
        if !is_python_file(&path) || (change.typ != FileChangeType::DELETED && matcher.is_ignored(&path)) {
            continue;
        }
        if change.typ == FileChangeType::DELETED {
            if !server.session.is_open_path(&path) {
                removed |= server.session.index.remove(&path);
            }
        } else {
            to_read.push(path);
        }
    }
    if config_changed {
        let errors = server.session.reload_config();
        crate::handlers::lifecycle::report_config_errors(server, &errors);
    }
    if removed || config_changed || rust_changed {
        recheck_open_documents(server, None);
    }
    if !to_read.is_empty() {
        reindex_from_disk(server, to_read);
    }
}

/// New editor settings: pushed in the notification (`settings`), or, when the client sends
/// none, pulled with `workspace/configuration` on a task of its own (never awaited here).
pub fn did_change_configuration(server: &Server, params: tower_lsp_server::ls_types::DidChangeConfigurationParams) {
    if !params.settings.is_null() {
        apply_editor_settings(server, Some(params.settings));
        return;
    }
    let server = server.clone();
    tokio::spawn(async move {
        let item =
            tower_lsp_server::ls_types::ConfigurationItem { scope_uri: None, section: Some("asyncsense".to_owned()) };
        match server.client.configuration(vec![item]).await {
            Ok(mut values) => apply_editor_settings(&server, values.pop()),
            Err(error) => tracing::debug!("workspace/configuration failed: {error}"),
        }
    });
}

fn apply_editor_settings(server: &Server, value: Option<serde_json::Value>) {
    let (settings, problems) = crate::editor_settings::EditorSettings::from_json(value);
    for problem in &problems {
        tracing::warn!("editor settings: {problem}");
    }
    server.session.set_editor_settings(settings);
    recheck_open_documents(server, None);
}
