//! Scratch folders for tests that need files on disk.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh, empty folder under the system's temporary folder, unique to this process and call.
pub fn fresh_dir(prefix: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "asyncsense-{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// A fresh folder holding `files`, given as (relative path, contents).
pub fn temp_tree(prefix: &str, files: &[(&str, &str)]) -> PathBuf {
    let root = fresh_dir(prefix);
    for (relative, contents) in files {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().expect("a parent folder")).expect("mkdir");
        fs::write(path, contents).expect("write");
    }
    root
}
