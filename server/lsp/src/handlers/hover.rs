//! `textDocument/hover`: the protocol of the callee or definition under the cursor, or the
//! explanation of the finding there.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::handlers::blocking;
use crate::handlers::INDEX_WAIT;
use crate::position::position_to_offset;
use crate::server::Server;

pub async fn hover(server: &Server, params: HoverParams) -> Result<Option<Hover>> {
    server.session.wait_until_indexed(INDEX_WAIT).await;
    let uri = params.text_document_position_params.text_document.uri;
    let Some(snapshot) = server.session.snapshot(&uri) else { return Ok(None) };
    let offset =
        position_to_offset(&snapshot.rope, params.text_document_position_params.position, server.session.encoding());
    let session = server.session.clone();
    let text = blocking("hover", move || {
        let analysis = session.analyze(snapshot);
        session.hover(&analysis, offset)
    })
    .await?;
    Ok(text.map(|value| Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
        range: None,
    }))
}
