//! The Python front end: parse → facts → resolve → check → fixes.

pub mod check;
pub mod doubles;
pub mod expr;
pub mod facts;
pub mod fixes;
pub mod flow;
pub mod library;
pub mod resolve;
pub mod sinks;
pub mod types;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::workspace::{module_names, IndexedModule};

/// Environment variable naming a path fragment: analysing a matching file panics. A fail point
/// for testing that one file's failure is isolated (CLI and server); never set it otherwise.
pub const FAILPOINT_PANIC_ENV: &str = "ASYNCSENSE_FAILPOINT_PANIC";

/// Gives a vector's spare capacity back for real. `shrink_to_fit` asks the allocator to
/// shrink the block in place, and mimalloc keeps a block that would shrink by less than half:
/// facts, kept for the whole session, would hold up to twice their size.
pub(crate) fn shrink<T>(vec: &mut Vec<T>) {
    if vec.capacity() > vec.len() {
        let mut exact = Vec::with_capacity(vec.len());
        exact.append(vec);
        *vec = exact;
    }
}

/// [`shrink`] for a string.
pub(crate) fn shrink_string(text: &mut String) {
    if text.capacity() > text.len() {
        *text = text.as_str().to_owned();
    }
}

/// Parses `source` (the text of `path`) and packages its facts for the index.
pub fn index_source(path: &Path, source: &str, roots: &[PathBuf]) -> IndexedModule {
    if let Some(fragment) = std::env::var_os(FAILPOINT_PANIC_ENV) {
        assert!(
            !path.as_os_str().to_string_lossy().contains(&*fragment.to_string_lossy()),
            "fail point {FAILPOINT_PANIC_ENV} hit for {}",
            path.display()
        );
    }
    let (names, is_package) = module_names(path, roots);
    IndexedModule { path: path.to_path_buf(), names, is_package, facts: Arc::new(facts::extract(source)) }
}

#[cfg(test)]
mod doubles_tests;
#[cfg(test)]
mod library_tests;
#[cfg(test)]
mod tests;
