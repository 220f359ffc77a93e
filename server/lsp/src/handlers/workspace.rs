//! The workspace index on the server side: initial indexing with `$/progress`, re-indexing on
//! `didChangeWatchedFiles` and on close. Files open in the editor are never overwritten from
//! disk: the editor's text is the truth while a document is open.

use std::path::PathBuf;
use std::sync::Arc;

use asyncsense_analysis::python::index_source;
use asyncsense_analysis::workspace::{discover_python_files, is_python_file, read_source};
use tower_lsp_server::ls_types::{DidChangeWatchedFilesParams, FileChangeType, ProgressToken};

use crate::handlers::diagnostics::recheck_open_documents;
use crate::server::Server;
use crate::session::{uri_to_path, Session};

/// Files per batch between two progress reports.
const BATCH: usize = 256;

/// Indexes `paths` from disk (skipping open documents); returns whether any exports changed.
fn index_paths(session: &Session, paths: &[PathBuf]) -> bool {
    let roots = session.roots();
    let changed = asyncsense_analysis::parallel::map(paths, 2, |path| {
        if session.is_open_path(path) {
            return false;
        }
        match read_source(path) {
            Ok(source) => session.index.insert(Arc::new(index_source(path, &source, &roots))),
            Err(error) => {
                tracing::warn!("{error}");
                session.index.remove(path)
            }
        }
    });
    changed.into_iter().any(|changed| changed)
}

pub fn start_indexing(server: &Server) {
    let server = server.clone();
    tokio::spawn(async move {
        let roots = server.session.roots();
        if roots.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let Ok(files) = tokio::task::spawn_blocking(move || discover_python_files(&roots)).await else { return };
        let progress = if server.session.settings().work_done_progress {
            let token = ProgressToken::String("asyncsense/indexing".to_owned());
            match server.client.create_work_done_progress(token.clone()).await {
                Ok(()) => Some(server.client.progress(token, "asyncsense: indexing").with_percentage(0).begin().await),
                Err(error) => {
                    tracing::warn!("client refused a progress token: {error}");
                    None
                }
            }
        } else {
            None
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
    for change in params.changes {
        let Some(path) = uri_to_path(&change.uri) else { continue };
        if !is_python_file(&path) {
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
    if removed {
        recheck_open_documents(server, None);
    }
    if !to_read.is_empty() {
        reindex_from_disk(server, to_read);
    }
}
