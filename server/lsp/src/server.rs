//! The `LanguageServer` implementation: a thin dispatcher. Each method hands over to a handler
//! under panic isolation.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CodeActionParams, CodeActionResponse, DidChangeConfigurationParams, DidChangeTextDocumentParams,
    DidChangeWatchedFilesParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams,
    DocumentDiagnosticParams, DocumentDiagnosticReportResult, Hover, HoverParams, InitializeParams, InitializeResult,
    InitializedParams,
};
use tower_lsp_server::{Client, LanguageServer};

use crate::guard;
use crate::handlers;
use crate::session::Session;

#[derive(Clone)]
pub struct Server {
    pub client: Client,
    pub session: Arc<Session>,
}

impl Server {
    pub fn new(client: Client) -> Server {
        Server { client, session: Arc::new(Session::default()) }
    }
}

impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        guard::request("initialize", async { Ok(handlers::lifecycle::initialize(self, &params)) }).await
    }

    async fn initialized(&self, _: InitializedParams) {
        guard::notification("initialized", async { handlers::lifecycle::initialized(self) }).await;
    }

    async fn shutdown(&self) -> Result<()> {
        tracing::info!("shutdown requested");
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        guard::notification("textDocument/didOpen", async { handlers::sync::did_open(self, params) }).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        guard::notification("textDocument/didChange", async { handlers::sync::did_change(self, params) }).await;
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        guard::notification("textDocument/didSave", async { handlers::sync::did_save(self, &params) }).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        guard::notification("textDocument/didClose", async { handlers::sync::did_close(self, &params) }).await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        guard::notification("workspace/didChangeConfiguration", async {
            handlers::workspace::did_change_configuration(self, params);
        })
        .await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        guard::notification("workspace/didChangeWatchedFiles", async {
            handlers::workspace::did_change_watched_files(self, params);
        })
        .await;
    }

    async fn diagnostic(&self, params: DocumentDiagnosticParams) -> Result<DocumentDiagnosticReportResult> {
        guard::request("textDocument/diagnostic", handlers::diagnostics::pull(self, params)).await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        guard::request("textDocument/hover", handlers::hover::hover(self, params)).await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        guard::request("textDocument/codeAction", handlers::code_action::code_action(self, params)).await
    }
}
