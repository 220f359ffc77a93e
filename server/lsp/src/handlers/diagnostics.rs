//! Diagnostics: analysis scheduled on every change and pushed (`publishDiagnostics`), or
//! computed on request (`textDocument/diagnostic`). Results for an older version are dropped.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    Diagnostic, DocumentDiagnosticParams, DocumentDiagnosticReport, DocumentDiagnosticReportResult,
    FullDocumentDiagnosticReport, RelatedFullDocumentDiagnosticReport, Uri,
};

use crate::convert;
use crate::handlers::blocking;
use crate::handlers::INDEX_WAIT;
use crate::server::Server;
use crate::session::Analysis;

fn to_diagnostics(server: &Server, analysis: &Analysis) -> Vec<Diagnostic> {
    let encoding = server.session.encoding();
    let mut related_texts = convert::RelatedTexts::default();
    analysis
        .findings
        .iter()
        .map(|finding| {
            convert::diagnostic(&server.session, &mut related_texts, finding, &analysis.snapshot.rope, encoding)
        })
        .collect()
}

/// Analyses the current version of `uri` in the background; publishes when the client does not
/// pull; re-checks other open documents when this one's exports changed.
pub fn schedule(server: &Server, uri: Uri) {
    let server = server.clone();
    tokio::spawn(async move {
        // Let a burst of queued edits land first: only the newest version is worth analysing.
        tokio::task::yield_now().await;
        let Some(snapshot) = server.session.snapshot(&uri) else { return };
        let session = server.session.clone();
        let what = format!("analysis of {}", uri.as_str());
        let Ok(analysis) = blocking(&what, move || session.analyze(snapshot)).await else { return };
        if server.session.current_version(&uri) != Some(analysis.snapshot.version) {
            return;
        }
        if !server.session.settings().pull_diagnostics {
            let diagnostics = to_diagnostics(&server, &analysis);
            server.client.publish_diagnostics(uri.clone(), diagnostics, Some(analysis.snapshot.version)).await;
        }
        if analysis.exports_changed {
            recheck_open_documents(&server, Some(&uri));
        }
    });
}

/// Re-analyses every open document except `except` (their imports may resolve differently).
/// Pull clients are asked to pull again.
pub fn recheck_open_documents(server: &Server, except: Option<&Uri>) {
    let settings = server.session.settings();
    if settings.pull_diagnostics {
        if settings.diagnostic_refresh {
            // A request to the client: on its own task, never awaited by a handler.
            let client = server.client.clone();
            tokio::spawn(async move {
                if let Err(error) = client.workspace_diagnostic_refresh().await {
                    tracing::debug!("diagnostic refresh refused: {error}");
                }
            });
        }
        return;
    }
    for uri in server.session.open_uris() {
        if Some(&uri) != except {
            schedule(server, uri);
        }
    }
}

/// Clears pushed diagnostics of a closed document.
pub fn clear(server: &Server, uri: Uri) {
    if server.session.settings().pull_diagnostics {
        return;
    }
    let client = server.client.clone();
    tokio::spawn(async move { client.publish_diagnostics(uri, Vec::new(), None).await });
}

pub async fn pull(server: &Server, params: DocumentDiagnosticParams) -> Result<DocumentDiagnosticReportResult> {
    server.session.wait_until_indexed(INDEX_WAIT).await;
    let uri = params.text_document.uri;
    let items = match server.session.snapshot(&uri) {
        Some(snapshot) => {
            let session = server.session.clone();
            let what = format!("analysis of {}", uri.as_str());
            let analysis = blocking(&what, move || session.analyze(snapshot)).await?;
            if analysis.exports_changed {
                recheck_open_documents(server, Some(&uri));
            }
            to_diagnostics(server, &analysis)
        }
        None => Vec::new(),
    };
    Ok(DocumentDiagnosticReportResult::Report(DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
        related_documents: None,
        full_document_diagnostic_report: FullDocumentDiagnosticReport { result_id: None, items },
    })))
}
