//! The workspace index: which file is which module, and the facts of each.
//!
//! The index is shared between threads (the CLI fills it in parallel, the server updates it on
//! every edit), so it is a pair of concurrent maps. No guard is ever held while another map is
//! touched.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dashmap::DashMap;
use rustc_hash::FxBuildHasher;

use crate::discovery::FileFilter;
use crate::environment::Environment;
use crate::python::facts::{Mention, ModuleFacts};

/// One Python file in the index.
#[derive(Debug)]
pub struct IndexedModule {
    pub path: PathBuf,
    /// Every dotted name this file can be imported as, most specific first.
    pub names: Vec<String>,
    /// The file is a package's `__init__.py`.
    pub is_package: bool,
    pub facts: Arc<ModuleFacts>,
}

impl IndexedModule {
    /// The package that relative imports in this module start from (`from . import x`).
    pub fn package(&self) -> Option<&str> {
        self.package_of(0)
    }

    /// The package of the module when imported under its `idx`-th name.
    pub fn package_of(&self, idx: usize) -> Option<&str> {
        let name = self.names.get(idx)?;
        if self.is_package {
            Some(name)
        } else {
            Some(name.rsplit_once('.').map_or("", |(package, _)| package))
        }
    }
}

/// Frees the replaced version of an edited module on a background thread: freeing a large
/// module's facts costs about a fifth of re-checking it, and nothing needs to wait for it.
fn retire(module: Arc<IndexedModule>) {
    static RETIRED: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Arc<IndexedModule>>>> =
        std::sync::OnceLock::new();
    let sender = RETIRED.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel::<Arc<IndexedModule>>();
        let spawned = std::thread::Builder::new()
            .name("asyncsense-free".to_owned())
            .spawn(move || receiver.into_iter().for_each(drop));
        spawned.ok().map(|_| sender)
    });
    if let Some(sender) = sender {
        // A closed channel hands the module back in the error, which drops it here.
        let _ = sender.send(module);
    }
}

/// The answer to "which file is module `x`?".
#[derive(Debug, Clone)]
pub enum Lookup {
    Found(Arc<IndexedModule>),
    /// Several files claim the name; we cannot tell which one Python would import.
    Ambiguous,
    /// No file, but workspace modules live under it: a namespace package (no `__init__.py`).
    Namespace,
    /// Not a workspace module: a library, the standard library, or a typo.
    Missing,
}

/// Read access to modules by dotted name; what resolution needs.
pub trait ModuleIndex: Sync {
    fn lookup(&self, module_name: &str) -> Lookup;

    /// Modules that mention `name` in the given way (call it, subclass it, import it under an
    /// alias), for following values into constructors.
    fn mentioning(&self, mention: Mention, name: &str) -> Vec<Arc<IndexedModule>>;

    /// The module of the file at `path`, if indexed (for `conftest.py` lookups).
    fn at_path(&self, path: &Path) -> Option<Arc<IndexedModule>>;

    /// Every indexed module (for opt-in, workspace-wide rules).
    fn modules(&self) -> Vec<Arc<IndexedModule>>;

    /// `(major, minor)` of the Python the workspace targets, when known (its virtual environment).
    fn python_version(&self) -> Option<(u32, u32)> {
        None
    }

    /// The Python the workspace targets and where that comes from, for messages.
    fn python_target(&self) -> Option<PythonTarget> {
        self.python_version().map(|version| PythonTarget { version, source: PythonSource::Environment })
    }

    /// The installed version of a distribution in the workspace's virtual environment.
    fn installed_version(&self, _distribution: &str) -> Option<Vec<u32>> {
        None
    }

    /// Whether `import module_name` surely fails where the workspace runs: no workspace
    /// module, not the standard library's on the target Python, and missing from a known,
    /// closed environment (see [`crate::environment::Environment::surely_lacks`]).
    fn import_fails(&self, _module_name: &str) -> bool {
        false
    }
}

/// The Python version version-dependent knowledge applies to, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythonTarget {
    pub version: (u32, u32),
    pub source: PythonSource,
}

/// Where a [`PythonTarget`] comes from, in the order that decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PythonSource {
    /// `target-version` in the configuration or `--target-version`.
    Configured,
    /// The virtual environment's `pyvenv.cfg`.
    Environment,
    /// The lowest bound of `requires-python` (or `python_requires`), when no environment says.
    Declared,
}

impl PythonTarget {
    /// How a message names the version: `on Python 3.9, which this project supports`.
    pub fn in_message(self) -> String {
        let (major, minor) = self.version;
        match self.source {
            PythonSource::Configured => format!("on Python {major}.{minor}, the configured target version"),
            PythonSource::Environment => format!("on Python {major}.{minor}, the project environment's"),
            PythonSource::Declared => format!("on Python {major}.{minor}, which this project supports"),
        }
    }

    pub fn describe(self) -> String {
        let (major, minor) = self.version;
        let source = match self.source {
            PythonSource::Configured => "target-version",
            PythonSource::Environment => "the virtual environment",
            PythonSource::Declared => "the lowest bound of requires-python",
        };
        format!("{major}.{minor} ({source})")
    }
}

/// `(major, minor)` from `target-version`, and the project's declared lowest Python.
type PythonVersions = (Option<(u32, u32)>, Option<(u32, u32)>);

/// The concurrent index used by the CLI and the server.
#[derive(Debug, Default)]
pub struct WorkspaceIndex {
    by_path: DashMap<PathBuf, Arc<IndexedModule>, FxBuildHasher>,
    /// Postings share one allocation of each module's path (a path per posting was most of the
    /// index's own memory on large workspaces).
    by_name: DashMap<String, Vec<Arc<Path>>, FxBuildHasher>,
    /// How many indexed module names start with `<key>.`: namespace packages.
    prefixes: DashMap<String, usize, FxBuildHasher>,
    /// Reverse lookups: which files mention a name, and how.
    mentions: DashMap<(Mention, Box<str>), Vec<Arc<Path>>, FxBuildHasher>,
    /// The virtual environment whose installed modules resolve names the workspace lacks.
    environment: std::sync::RwLock<Option<Arc<Environment>>>,
    /// `target-version` (wins over the environment) and the project's declared lowest Python
    /// (used when the environment does not say).
    python_versions: std::sync::RwLock<PythonVersions>,
}

impl WorkspaceIndex {
    pub fn new() -> WorkspaceIndex {
        WorkspaceIndex::default()
    }

    /// Adds or replaces the module at `module.path`. Returns whether what it exports changed
    /// (new file, other names, or different top-level facts): dependents need a re-check then.
    pub fn insert(&self, module: Arc<IndexedModule>) -> bool {
        let previous = self.get(&module.path);
        let changed = match &previous {
            Some(previous) => previous.names != module.names || !previous.facts.same_exports(&module.facts),
            None => true,
        };
        if let Some(previous) = &previous {
            if previous.names != module.names {
                self.unlink_names(&previous.path, &previous.names);
            }
            self.unlink_mentions(&previous.path, &previous.facts);
        }
        // `mentions()` is de-duplicated and the previous version was unlinked above, so each
        // posting gets this path once (a `contains` check here was quadratic on common names).
        let shared: Arc<Path> = Arc::from(module.path.as_path());
        for key in module.facts.mentions() {
            self.mentions.entry(key.clone()).or_default().push(Arc::clone(&shared));
        }
        for name in &module.names {
            let added = {
                let mut paths = self.by_name.entry(name.clone()).or_default();
                let added = !paths.iter().any(|path| **path == *module.path);
                if added {
                    paths.push(Arc::clone(&shared));
                }
                added
            };
            if added {
                for prefix in prefixes_of(name) {
                    *self.prefixes.entry(prefix.to_owned()).or_default() += 1;
                }
            }
        }
        self.by_path.insert(module.path.clone(), module);
        if let Some(previous) = previous {
            retire(previous);
        }
        changed
    }

    /// Forgets the file at `path`; returns whether it was indexed.
    pub fn remove(&self, path: &Path) -> bool {
        let Some((_, previous)) = self.by_path.remove(path) else { return false };
        self.unlink_names(&previous.path, &previous.names);
        self.unlink_mentions(&previous.path, &previous.facts);
        true
    }

    fn unlink_mentions(&self, path: &Path, facts: &ModuleFacts) {
        for key in facts.mentions() {
            let now_empty = match self.mentions.get_mut(key) {
                Some(mut paths) => {
                    paths.retain(|candidate| **candidate != *path);
                    paths.is_empty()
                }
                None => false,
            };
            if now_empty {
                self.mentions.remove_if(key, |_, paths| paths.is_empty());
            }
        }
    }

    fn unlink_names(&self, path: &Path, names: &[String]) {
        for name in names {
            let (removed, now_empty) = match self.by_name.get_mut(name) {
                Some(mut paths) => {
                    let before = paths.len();
                    paths.retain(|candidate| **candidate != *path);
                    (paths.len() < before, paths.is_empty())
                }
                None => (false, false),
            };
            if removed {
                for prefix in prefixes_of(name) {
                    let gone = self.prefixes.get_mut(prefix).is_some_and(|mut count| {
                        *count = count.saturating_sub(1);
                        *count == 0
                    });
                    if gone {
                        self.prefixes.remove_if(prefix, |_, count| *count == 0);
                    }
                }
            }
            if now_empty {
                self.by_name.remove_if(name, |_, paths| paths.is_empty());
            }
        }
    }

    /// Sets (or clears) the virtual environment that installed modules are read from.
    pub fn set_environment(&self, environment: Option<Environment>) {
        let mut slot = self.environment.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = environment.map(Arc::new);
    }

    /// Sets the configured target version and the project's declared lowest Python; see
    /// [`ModuleIndex::python_target`] for which one applies.
    pub fn set_python_versions(&self, configured: Option<(u32, u32)>, declared: Option<(u32, u32)>) {
        *self.python_versions.write().unwrap_or_else(std::sync::PoisonError::into_inner) = (configured, declared);
    }

    pub fn environment(&self) -> Option<Arc<Environment>> {
        self.environment.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn get(&self, path: &Path) -> Option<Arc<IndexedModule>> {
        self.by_path.get(path).map(|entry| Arc::clone(entry.value()))
    }

    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }
}

impl ModuleIndex for WorkspaceIndex {
    fn lookup(&self, module_name: &str) -> Lookup {
        // Read under the name's shard lock (no copy of the paths): `insert` never holds a lock
        // of `by_name` while it takes one of `by_path`, so the two cannot wait on each other.
        let found = self.by_name.get(module_name).and_then(|paths| match paths.as_slice() {
            [] => None,
            [path] => Some(self.get(path).map_or(Lookup::Missing, Lookup::Found)),
            _ => Some(Lookup::Ambiguous),
        });
        match found {
            Some(lookup) => lookup,
            None if self.prefixes.contains_key(module_name) => Lookup::Namespace,
            None => self.environment().map_or(Lookup::Missing, |environment| environment.lookup(module_name)),
        }
    }

    fn at_path(&self, path: &Path) -> Option<Arc<IndexedModule>> {
        self.get(path)
    }

    fn modules(&self) -> Vec<Arc<IndexedModule>> {
        self.by_path.iter().map(|entry| Arc::clone(entry.value())).collect()
    }

    fn python_version(&self) -> Option<(u32, u32)> {
        self.python_target().map(|target| target.version)
    }

    fn python_target(&self) -> Option<PythonTarget> {
        let (configured, declared) = *self.python_versions.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let from = |version: Option<(u32, u32)>, source| version.map(|version| PythonTarget { version, source });
        from(configured, PythonSource::Configured)
            .or_else(|| from(self.environment().and_then(|environment| environment.python), PythonSource::Environment))
            .or_else(|| from(declared, PythonSource::Declared))
    }

    fn installed_version(&self, distribution: &str) -> Option<Vec<u32>> {
        self.environment()?.installed_version(distribution)
    }

    fn import_fails(&self, module_name: &str) -> bool {
        let Some(environment) = self.environment() else { return false };
        let in_workspace = self.by_name.contains_key(module_name) || self.prefixes.contains_key(module_name);
        !in_workspace
            && !crate::environment::in_standard_library(module_name, environment.python)
            && environment.surely_lacks(module_name)
    }

    fn mentioning(&self, mention: Mention, name: &str) -> Vec<Arc<IndexedModule>> {
        self.mentions
            .get(&(mention, name.into()))
            .map(|paths| paths.iter().filter_map(|path| self.get(path)).collect())
            .unwrap_or_default()
    }
}

/// `a.b.c` → `a`, `a.b`.
fn prefixes_of(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('.').map(move |(idx, _)| &name[..idx])
}

fn is_identifier(part: &str) -> bool {
    let mut chars = part.chars();
    chars.next().is_some_and(|first| first == '_' || first.is_alphabetic())
        && chars.all(|ch| ch == '_' || ch.is_alphanumeric())
}

/// The dotted names a Python file can be imported as, and whether it is a package
/// (`__init__.py`).
///
/// Two views are combined: walking up through directories that contain `__init__.py` (how a
/// regular package is imported, independent of where the tool runs), and the path relative to
/// each workspace root, with and without a leading `src/` (namespace packages, `src` layouts).
pub fn module_names(path: &Path, roots: &[PathBuf]) -> (Vec<String>, bool) {
    let stem = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default();
    let is_package = stem == "__init__";
    let mut names = Vec::new();

    let mut parts: Vec<&str> = Vec::new();
    if !is_package {
        parts.push(stem);
    }
    let mut directory = path.parent();
    while let Some(dir) = directory {
        if !dir.join("__init__.py").is_file() {
            break;
        }
        match dir.file_name().and_then(|name| name.to_str()) {
            Some(name) => parts.push(name),
            None => break,
        }
        directory = dir.parent();
    }
    parts.reverse();
    if !parts.is_empty() && parts.iter().all(|part| is_identifier(part)) {
        names.push(parts.join("."));
    }

    for root in roots {
        let Ok(relative) = path.strip_prefix(root) else { continue };
        let mut parts: Vec<&str> = relative
            .parent()
            .into_iter()
            .flat_map(|parent| parent.components())
            .filter_map(|component| component.as_os_str().to_str())
            .collect();
        if !is_package {
            parts.push(stem);
        }
        let mut candidates = vec![parts.clone()];
        if parts.first() == Some(&"src") {
            candidates.push(parts[1..].to_vec());
        }
        for candidate in candidates {
            if !candidate.is_empty() && candidate.iter().all(|part| is_identifier(part)) {
                let name = candidate.join(".");
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    (names, is_package)
}

/// Whether a path names a Python source file we analyse.
pub fn is_python_file(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "py")
}

/// Every Python file under `roots` by the default rules (see [`crate::discovery`]; files given
/// directly are kept as they are), sorted and de-duplicated.
pub fn discover_python_files(roots: &[PathBuf]) -> Vec<PathBuf> {
    FileFilter::default().walk(roots, is_python_file, true)
}

/// Whether a path names a Rust source file we analyse.
pub fn is_rust_file(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "rs")
}

/// Every Rust file under `roots` by the default rules (`target/` skipped), sorted and
/// de-duplicated; a root that is a file is kept only when it is a Rust file.
pub fn discover_rust_files(roots: &[PathBuf]) -> Vec<PathBuf> {
    FileFilter::default().walk(roots, is_rust_file, false)
}

/// `site-packages`/`dist-packages`, or a standard library (`os.py` beside `typing.py`).
fn is_import_root(dir: &Path) -> bool {
    matches!(dir.file_name().and_then(|name| name.to_str()), Some("site-packages" | "dist-packages"))
        || (dir.join("os.py").is_file() && dir.join("typing.py").is_file())
}

/// Why a source file could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is not valid UTF-8 (byte {valid_up_to}); skipped")]
    InvalidUtf8 { path: PathBuf, valid_up_to: usize },
}

/// Reads a source file as UTF-8.
pub fn read_source(path: &Path) -> Result<String, SourceError> {
    let bytes = fs::read(path).map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
    String::from_utf8(bytes).map_err(|error| SourceError::InvalidUtf8 {
        path: path.to_path_buf(),
        valid_up_to: error.utf8_error().valid_up_to(),
    })
}

/// The project a file or folder belongs to, whose files its imports resolve against: the
/// nearest folder (from the folder itself, or the file's folder) with project markers, else the
/// folder of its top-level package (the first one upward without `__init__.py`).
pub fn project_root_of(path: &Path) -> PathBuf {
    // A folder is searched from itself, a file from its folder: `check app/api` and
    // `check app/api/routes.py` index the same project.
    let start = if path.is_dir() { path } else { path.parent().unwrap_or(path) };
    for dir in start.ancestors() {
        // A folder Python imports from directly (a `site-packages`, a standard library) is a
        // project of its own, whatever repository holds it (pyenv is a git checkout).
        if is_import_root(dir) {
            return dir.to_path_buf();
        }
        if ["pyproject.toml", "asyncsense.toml", "setup.py", "setup.cfg", ".git"]
            .iter()
            .any(|marker| dir.join(marker).exists())
        {
            return dir.to_path_buf();
        }
    }
    let mut dir = start;
    while dir.join("__init__.py").is_file() {
        match dir.parent() {
            Some(parent) => dir = parent,
            None => break,
        }
    }
    dir.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_tree(files: &[&str]) -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "asyncsense-ws-{}-{}",
            std::process::id(),
            files.join("").len() + files.len() * 7919
        ));
        let _ = fs::remove_dir_all(&root);
        for file in files {
            let path = root.join(file);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(&path, "").expect("write");
        }
        root
    }

    #[test]
    fn project_roots_for_files_and_folders() {
        let root = temp_tree(&[
            ".git/HEAD",
            "app/pyproject.toml",
            "app/pkg/__init__.py",
            "app/pkg/sub/mod.py",
            "lib/python3.11/os.py",
            "lib/python3.11/typing.py",
            "lib/python3.11/asyncio/tasks.py",
            "lib/python3.11/site-packages/aiohttp/client.py",
            "loose/__init__.py",
            "loose/inner/x.py",
        ]);
        // A folder searches from itself, a file from its folder: both find the same project.
        assert_eq!(project_root_of(&root.join("app/pkg/sub")), root.join("app"));
        assert_eq!(project_root_of(&root.join("app/pkg/sub/mod.py")), root.join("app"));
        // Without a marker of its own, the repository around it.
        assert_eq!(project_root_of(&root.join("loose/inner/x.py")), root);
        // A standard library or site-packages is its own root, even inside a repository.
        assert_eq!(project_root_of(&root.join("lib/python3.11/asyncio")), root.join("lib/python3.11"));
        assert_eq!(
            project_root_of(&root.join("lib/python3.11/site-packages/aiohttp/client.py")),
            root.join("lib/python3.11/site-packages")
        );
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn package_names_come_from_init_files_and_roots() {
        let root = temp_tree(&["app/__init__.py", "app/db.py", "src/lib/core.py", "script.py"]);
        let roots = vec![root.clone()];
        assert_eq!(module_names(&root.join("app/db.py"), &roots), (vec!["app.db".to_owned()], false));
        assert_eq!(module_names(&root.join("app/__init__.py"), &roots), (vec!["app".to_owned()], true));
        let (names, _) = module_names(&root.join("src/lib/core.py"), &roots);
        assert!(names.contains(&"lib.core".to_owned()), "{names:?}");
        assert_eq!(module_names(&root.join("script.py"), &roots).0, vec!["script".to_owned()]);
        let files = discover_python_files(&roots);
        assert_eq!(files.len(), 4);
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn two_files_with_one_name_are_ambiguous() {
        let index = WorkspaceIndex::new();
        for path in ["/a/x.py", "/b/x.py"] {
            index.insert(Arc::new(IndexedModule {
                path: PathBuf::from(path),
                names: vec!["x".to_owned()],
                is_package: false,
                facts: Arc::default(),
            }));
        }
        assert!(matches!(index.lookup("x"), Lookup::Ambiguous));
        index.remove(Path::new("/b/x.py"));
        assert!(matches!(index.lookup("x"), Lookup::Found(_)));
        index.remove(Path::new("/a/x.py"));
        assert!(matches!(index.lookup("x"), Lookup::Missing));
    }
}
