//! Locating (and if needed building) the `asyncsense` server binary that the
//! harness spawns.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Environment variable naming a prebuilt server binary; when set, nothing is
/// built.
pub const BIN_ENV: &str = "ASYNCSENSE_BIN";

/// The workspace root: the parent of this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// The path of the `asyncsense` binary to test.
///
/// If `ASYNCSENSE_BIN` is set, that path is used as is. Otherwise, once per
/// process, runs `$CARGO build --release --workspace --bins` (`cargo` when
/// `CARGO` is unset) on the workspace manifest and returns
/// `<target dir>/release/asyncsense`, where the target directory is
/// `CARGO_TARGET_DIR` when set and `<workspace>/target` otherwise.
///
/// # Panics
///
/// If the build fails (the panic message carries cargo's output) or the built
/// binary is missing.
pub fn server_binary() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    if let Some(path) = std::env::var_os(BIN_ENV) {
        return PathBuf::from(path);
    }
    match BUILT.get_or_init(build_server) {
        Ok(path) => path.clone(),
        Err(message) => panic!("{message}"),
    }
}

fn build_server() -> Result<PathBuf, String> {
    let root = workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = root.join("Cargo.toml");
    let output = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "--release", "--workspace", "--bins", "--manifest-path"])
        .arg(&manifest)
        .output()
        .map_err(|e| format!("could not run `{} build` for {}: {e}", cargo.to_string_lossy(), manifest.display()))?;
    if !output.status.success() {
        return Err(format!(
            "building the asyncsense server failed ({}); set {BIN_ENV} to use a prebuilt \
             binary.\n--- cargo stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir));
    let binary = target_dir.join("release").join(format!("asyncsense{}", std::env::consts::EXE_SUFFIX));
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!("cargo build succeeded but {} does not exist", binary.display()))
    }
}
