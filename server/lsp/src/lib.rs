//! The asyncsense language server: ropes in, protocol-mismatch diagnostics and quick fixes out.
//!
//! This is the only crate that knows LSP and JSON; the engine (`asyncsense_analysis`) works on
//! byte offsets and plain structs, and `convert.rs` translates, once.

// stdout belongs to the protocol (and to the CLI's report); logs go to stderr via tracing.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod convert;
mod document;
mod editor_settings;
mod guard;
mod handlers;
mod position;
mod server;
mod session;
mod transport;

pub use position::PositionEncoding;

/// Serves LSP over stdin/stdout until the client says `exit`. Logs go to stderr.
pub fn run_stdio() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        // Parsing recurses with the source's nesting depth; give every thread room.
        .thread_stack_size(asyncsense_analysis::threads::ANALYSIS_STACK_SIZE)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let stdio = transport::stdio();
        let (service, socket) = tower_lsp_server::LspService::new(server::Server::new);
        tower_lsp_server::Server::new(stdio.input, stdio.output, socket).serve(service).await;
        // tower-lsp's output stream is gone now; let the writer flush what is queued.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), stdio.writer).await;
    });
    // Background tasks (indexing, analyses) must not keep the process alive after `exit`.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(())
}
