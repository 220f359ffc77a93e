//! Document synchronisation. Every handler here mutates state *synchronously*, before any
//! `.await`: tower-lsp runs handlers concurrently, and this is what keeps edits in order.

use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams,
};

use crate::document::{Document, Language};
use crate::handlers::diagnostics;
use crate::server::Server;
use crate::session::uri_to_path;

pub fn did_open(server: &Server, params: DidOpenTextDocumentParams) {
    let document = params.text_document;
    let path = uri_to_path(&document.uri);
    let language = Language::from_language_id(&document.language_id, path.as_deref());
    if server.session.documents.contains_key(&document.uri) {
        tracing::warn!("{} opened twice; keeping the newer text", document.uri.as_str());
    }
    server
        .session
        .documents
        .insert(document.uri.clone(), Document::new(&document.text, document.version, language, path));
    diagnostics::schedule(server, document.uri);
}

pub fn did_change(server: &Server, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let encoding = server.session.encoding();
    {
        let Some(mut document) = server.session.documents.get_mut(&uri) else {
            tracing::warn!("change to {} which is not open; ignored", uri.as_str());
            return;
        };
        document.apply_changes(params.content_changes, params.text_document.version, encoding);
    }
    diagnostics::schedule(server, uri);
}

pub fn did_save(server: &Server, params: &DidSaveTextDocumentParams) {
    tracing::debug!("saved {}", params.text_document.uri.as_str());
    let _ = server;
}

pub fn did_close(server: &Server, params: &DidCloseTextDocumentParams) {
    let uri = &params.text_document.uri;
    let Some((_, document)) = server.session.documents.remove(uri) else { return };
    diagnostics::clear(server, uri.clone());
    server.session.forget(uri);
    if let Some(path) = document.path {
        // The editor's unsaved text no longer counts: index what is on disk.
        server.session.forget_versions(&path);
        crate::handlers::workspace::reindex_from_disk(server, vec![path]);
    }
}
