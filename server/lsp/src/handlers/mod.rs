//! One module per LSP method family.

pub mod code_action;
pub mod diagnostics;
pub mod hover;
pub mod lifecycle;
pub mod sync;
pub mod workspace;

use tower_lsp_server::jsonrpc;

/// How long a request waits for the start-up workspace index before answering anyway.
pub const INDEX_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs CPU work on the blocking pool; a panic in it becomes an error, not a dead server.
pub async fn blocking<T, F>(what: &str, work: F) -> jsonrpc::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => Ok(value),
        Err(error) => {
            let message = if error.is_panic() {
                crate::guard::panic_message(&*error.into_panic())
            } else {
                "cancelled".to_owned()
            };
            tracing::error!("{what} failed: {message}");
            Err(jsonrpc::Error {
                code: jsonrpc::ErrorCode::InternalError,
                message: format!("asyncsense: {what} failed: {message}").into(),
                data: None,
            })
        }
    }
}
