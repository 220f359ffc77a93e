//! The Python front end: parse → facts → resolve → check → fixes.

pub mod check;
pub mod facts;
pub mod fixes;
pub mod resolve;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::workspace::{module_names, IndexedModule};

/// Parses `source` (the text of `path`) and packages its facts for the index.
pub fn index_source(path: &Path, source: &str, roots: &[PathBuf]) -> IndexedModule {
    let (names, is_package) = module_names(path, roots);
    IndexedModule { path: path.to_path_buf(), names, is_package, facts: Arc::new(facts::extract(source)) }
}

#[cfg(test)]
mod tests;
