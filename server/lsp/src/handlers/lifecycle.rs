//! `initialize` / `initialized`: negotiate capabilities, remember roots, start indexing.

use tower_lsp_server::ls_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, DiagnosticOptions, DiagnosticServerCapabilities,
    InitializeParams, InitializeResult, Registration, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, WorkDoneProgressOptions,
};

use crate::convert::{FIX_ALL_KIND, SOURCE};
use crate::position::PositionEncoding;
use crate::server::Server;
use crate::session::{uri_to_path, ClientSettings};

pub fn initialize(server: &Server, params: &InitializeParams) -> InitializeResult {
    let capabilities = &params.capabilities;
    let encoding = PositionEncoding::negotiate(
        capabilities.general.as_ref().and_then(|general| general.position_encodings.as_deref()),
    );
    let text_document = capabilities.text_document.as_ref();
    let settings = ClientSettings {
        encoding,
        pull_diagnostics: text_document.and_then(|text| text.diagnostic.as_ref()).is_some(),
        work_done_progress: capabilities.window.as_ref().and_then(|window| window.work_done_progress).unwrap_or(false),
        watch_files_dynamically: capabilities
            .workspace
            .as_ref()
            .and_then(|workspace| workspace.did_change_watched_files.as_ref())
            .and_then(|watched| watched.dynamic_registration)
            .unwrap_or(false),
        diagnostic_refresh: false,
    };
    let settings = ClientSettings {
        diagnostic_refresh: capabilities
            .workspace
            .as_ref()
            .and_then(|workspace| workspace.diagnostics.as_ref())
            .and_then(|diagnostics| diagnostics.refresh_support)
            .unwrap_or(false),
        ..settings
    };
    tracing::info!(
        "client {:?}: encoding {encoding:?}, {} diagnostics",
        params.client_info.as_ref().map(|info| info.name.as_str()),
        if settings.pull_diagnostics { "pull" } else { "push" }
    );
    server.session.set_settings(settings);
    let (editor, problems) = crate::editor_settings::EditorSettings::from_json(params.initialization_options.clone());
    for problem in &problems {
        tracing::warn!("editor settings: {problem}");
    }
    server.session.set_editor_settings(editor);

    let mut roots: Vec<_> =
        params.workspace_folders.iter().flatten().filter_map(|folder| uri_to_path(&folder.uri)).collect();
    #[expect(deprecated, reason = "older clients send only rootUri")]
    if roots.is_empty() {
        roots.extend(params.root_uri.as_ref().and_then(uri_to_path));
    }
    server.session.set_roots(roots);

    InitializeResult {
        capabilities: ServerCapabilities {
            position_encoding: Some(encoding.kind()),
            text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                will_save: None,
                will_save_wait_until: None,
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
            })),
            diagnostic_provider: Some(DiagnosticServerCapabilities::Options(DiagnosticOptions {
                identifier: Some(SOURCE.to_owned()),
                inter_file_dependencies: true,
                workspace_diagnostics: false,
                work_done_progress_options: WorkDoneProgressOptions::default(),
            })),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![CodeActionKind::QUICKFIX, CodeActionKind::new(FIX_ALL_KIND)]),
                work_done_progress_options: WorkDoneProgressOptions::default(),
                resolve_provider: Some(false),
            })),
            hover_provider: Some(tower_lsp_server::ls_types::HoverProviderCapability::Simple(true)),
            ..ServerCapabilities::default()
        },
        server_info: Some(ServerInfo { name: SOURCE.to_owned(), version: Some(env!("CARGO_PKG_VERSION").to_owned()) }),
        offset_encoding: None,
    }
}

/// Shows configuration problems to the user without waiting on the client.
pub fn report_config_errors(server: &Server, errors: &[asyncsense_analysis::config::ConfigError]) {
    if errors.is_empty() {
        return;
    }
    let client = server.client.clone();
    let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    tokio::spawn(async move {
        client
            .show_message(
                tower_lsp_server::ls_types::MessageType::WARNING,
                format!("asyncsense: configuration problems (the rest still applies): {}", listed.join("; ")),
            )
            .await;
    });
}

pub fn initialized(server: &Server) {
    let errors = server.session.reload_config();
    report_config_errors(server, &errors);
    if server.session.settings().watch_files_dynamically {
        // A request to the client: never awaited inside a handler (it would wedge the
        // transport while the client waits for us), so it runs on its own task.
        let client = server.client.clone();
        tokio::spawn(async move {
            let registration = Registration {
                id: "asyncsense-watch-python".to_owned(),
                method: "workspace/didChangeWatchedFiles".to_owned(),
                register_options: Some(serde_json::json!({ "watchers": [
                    { "globPattern": "**/*.py" },
                    { "globPattern": "**/*.rs" },
                    { "globPattern": "**/pyproject.toml" },
                    { "globPattern": "**/asyncsense.toml" },
                ] })),
            };
            if let Err(error) = client.register_capability(vec![registration]).await {
                tracing::warn!("client refused the file watcher registration: {error}");
            }
        });
    }
    crate::handlers::workspace::start_indexing(server);
}
