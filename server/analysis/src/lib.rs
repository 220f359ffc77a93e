//! asyncsense's analysis engine: finds async protocol mismatches (an async generator entered
//! with `async with`, and its siblings) from source text alone.
//!
//! The engine speaks byte offsets and plain structs. It knows nothing of LSP, JSON or async
//! runtimes; the server and the CLI convert at their edges.

// stdout belongs to the protocol (and to the CLI's report); logs go to stderr via tracing.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod config;
pub mod diagnostic;
pub mod discovery;
pub mod environment;
pub mod line_index;
pub mod protocol;
pub mod python;
pub mod rules;
pub mod rust;
pub mod suppress;
pub mod threads;
pub mod workspace;

pub use diagnostic::{apply_edits, compatible_fix_edits, Applicability, Edit, Finding, Fix, RelatedLocation};
pub use line_index::LineIndex;
pub use rules::{Rule, Severity};
pub use workspace::{IndexedModule, Lookup, ModuleIndex, WorkspaceIndex};
