//! A headless LSP client for testing `asyncsense`.
//!
//! [`TestServer`] spawns the real server binary (`asyncsense server --stdio`,
//! see [`server_binary`]) and speaks JSON-RPC 2.0 to it with `Content-Length`
//! framing, the way an editor would: it performs the `initialize` handshake
//! with configurable client capabilities, keeps client-side copies of open
//! documents (applying incremental edits in the negotiated position
//! encoding), records every notification and diagnostics publish, answers
//! server-to-client requests, and applies `WorkspaceEdit`s from code actions.
//!
//! Every wait is bounded by a timeout; on failure the panic message carries
//! the tail of the server's stderr.
//!
//! ```no_run
//! use asyncsense_tests::TestServer;
//!
//! let server = TestServer::builder()
//!     .pull_diagnostics(true)
//!     .position_encodings(["utf-8", "utf-16"])
//!     .file("app/db.py", "async def get_session():\n    yield 1\n")
//!     .build();
//! let uri = server.uri_for("app/main.py");
//! server.open(&uri, "python", "from app.db import get_session\n");
//! for diagnostic in server.diagnostics(&uri) {
//!     println!("{}", diagnostic["message"]);
//! }
//! let status = server.shutdown();
//! assert!(status.success());
//! ```
//!
//! Modules: [`text`] (positions, encodings, edit application), [`framing`]
//! (the wire format), [`uri`] (file URIs), [`binary`] (finding or building the
//! server).

pub mod binary;
mod builder;
pub mod framing;
mod inbox;
pub mod scratch;
mod server;
pub mod text;
pub mod uri;

pub use binary::{server_binary, workspace_root};
pub use builder::{TestServerBuilder, DEFAULT_TIMEOUT, ECHO_STDERR_ENV};
pub use scratch::{fresh_dir, temp_tree};
pub use server::{proc_status, TestServer};
pub use text::{find_ranges, pos, range, Pos, PositionEncoding, Range};
pub use uri::file_uri;
