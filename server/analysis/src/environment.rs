//! The workspace's virtual environment, read as files: which Python it targets, which
//! distributions are installed (and their versions), and the source of installed modules.
//!
//! Nothing here runs the interpreter, imports a module or processes `.pth` files. Installed
//! modules are parsed lazily, the first time resolution asks for them, and cached by path and
//! modification time; stubs (`<pkg>-stubs/`, `.pyi`) are preferred over sources.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use dashmap::DashMap;
use rustc_hash::FxBuildHasher;

use crate::python::facts;
use crate::workspace::{IndexedModule, Lookup};

/// Installed files larger than this are not analysed (generated tables, vendored bundles).
const MAX_MODULE_BYTES: u64 = 4 * 1024 * 1024;

/// How long a cached answer is trusted before the file is looked at again.
const REVALIDATE_AFTER: Duration = Duration::from_secs(2);

/// A virtual environment found on disk.
#[derive(Debug)]
pub struct Environment {
    /// The environment's folder (the one holding `pyvenv.cfg`).
    pub root: PathBuf,
    pub site_packages: Vec<PathBuf>,
    /// `(major, minor)` from `pyvenv.cfg` or the `lib/pythonX.Y` folder name.
    pub python: Option<(u32, u32)>,
    /// Normalised distribution name → release parts, from `*.dist-info` folder names.
    distributions: HashMap<String, Vec<u32>>,
    /// Whether every module the interpreter can import from outside the standard library is
    /// under `site_packages` (or `path_entries`): no system site-packages, and no `.pth` file
    /// that runs an import hook (an editable install's finder). Only then may a module be
    /// called missing (see [`Environment::surely_lacks`]).
    closed: bool,
    /// The folders `.pth` files add to the search path.
    path_entries: Vec<PathBuf>,
    /// Why this environment was chosen.
    pub source: EnvironmentSource,
    cache: DashMap<String, Cached, FxBuildHasher>,
}

/// Why an environment was chosen, in [`Environment::discover`]'s order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnvironmentSource {
    /// The `venv` key of the configuration.
    Configured,
    /// A `.venv` or `venv` folder in or above the project.
    #[default]
    Project,
    /// `$VIRTUAL_ENV`, the activated environment.
    Active,
}

impl EnvironmentSource {
    pub fn describe(self) -> &'static str {
        match self {
            EnvironmentSource::Configured => "the `venv` setting",
            EnvironmentSource::Project => "found in or above the project",
            EnvironmentSource::Active => "$VIRTUAL_ENV",
        }
    }
}

/// Whether `executable` lies inside the environment `root` (compared after resolving links).
fn is_prefix_of(root: &Path, executable: &Path) -> bool {
    let resolve = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    resolve(executable).starts_with(resolve(root))
}

#[derive(Debug, Clone)]
struct Cached {
    answer: Answer,
    /// The file behind the answer and its modification time, to notice reinstalls.
    file: Option<(PathBuf, Option<SystemTime>)>,
    checked: Instant,
}

#[derive(Debug, Clone)]
enum Answer {
    Found(Arc<IndexedModule>),
    Namespace,
    Missing,
}

impl Environment {
    /// Finds the workspace's environment: the configured folder, then a `.venv` or `venv`
    /// folder in (or above) a workspace root, then `$VIRTUAL_ENV` unless it is the environment
    /// asyncsense itself runs from (`pip install asyncsense` into a tool venv, then activating
    /// it, must not make that venv the project's). Only folders with a `pyvenv.cfg` count.
    pub fn discover(configured: Option<&Path>, roots: &[PathBuf]) -> Option<Environment> {
        let active = std::env::var_os("VIRTUAL_ENV").map(PathBuf::from);
        let running_from = std::env::current_exe().ok();
        Environment::discover_with(configured, roots, active.as_deref(), running_from.as_deref())
    }

    /// [`Environment::discover`] with `$VIRTUAL_ENV` and the running executable given.
    pub fn discover_with(
        configured: Option<&Path>,
        roots: &[PathBuf],
        active: Option<&Path>,
        running_from: Option<&Path>,
    ) -> Option<Environment> {
        let chosen = |mut environment: Environment, source: EnvironmentSource| {
            tracing::info!("using the virtual environment {} ({})", environment.root.display(), source.describe());
            environment.source = source;
            environment
        };
        if let Some(configured) = configured {
            // A configured path that is not an environment is a mistake worth a log line; we do
            // not guess another one behind the user's back.
            let found = Environment::open(configured);
            if found.is_none() {
                tracing::warn!("configured venv {} has no pyvenv.cfg; library sources not read", configured.display());
            }
            return found.map(|found| chosen(found, EnvironmentSource::Configured));
        }
        for root in roots {
            for dir in root.ancestors().take(4) {
                for name in [".venv", "venv"] {
                    if let Some(found) = Environment::open(&dir.join(name)) {
                        return Some(chosen(found, EnvironmentSource::Project));
                    }
                }
            }
        }
        let active = active?;
        if running_from.is_some_and(|executable| is_prefix_of(active, executable)) {
            tracing::info!(
                "not reading $VIRTUAL_ENV {}: it is the environment asyncsense runs from, not the project's",
                active.display()
            );
            return None;
        }
        Environment::open(active).map(|found| chosen(found, EnvironmentSource::Active))
    }

    /// Reads the environment at `root`, if it is one.
    pub fn open(root: &Path) -> Option<Environment> {
        let config = fs::read_to_string(root.join("pyvenv.cfg")).ok()?;
        let mut python = config.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            matches!(key.trim(), "version" | "version_info").then(|| major_minor(value.trim())).flatten()
        });
        let mut site_packages = Vec::new();
        let mut lib_versions: Vec<((u32, u32), PathBuf)> = Vec::new();
        for lib in ["lib", "lib64"] {
            let Ok(entries) = fs::read_dir(root.join(lib)) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(version) = name.to_str().and_then(|name| name.strip_prefix("python")) else { continue };
                let candidate = entry.path().join("site-packages");
                if let (Some(version), true) = (major_minor(version), candidate.is_dir()) {
                    lib_versions.push((version, candidate));
                }
            }
        }
        // Several `pythonX.Y` folders: the one `pyvenv.cfg` names, else the newest.
        lib_versions.sort();
        lib_versions.dedup();
        let chosen = python
            .and_then(|wanted| lib_versions.iter().find(|(version, _)| *version == wanted))
            .or(lib_versions.last())
            .cloned();
        if let Some((version, path)) = chosen {
            python.get_or_insert(version);
            site_packages.push(path);
        }
        let windows = root.join("Lib").join("site-packages");
        if windows.is_dir() {
            site_packages.push(windows);
        }
        let mut distributions = HashMap::new();
        for directory in &site_packages {
            let Ok(entries) = fs::read_dir(directory) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(stem) = name.to_str().and_then(|name| name.strip_suffix(".dist-info")) else { continue };
                let Some((distribution, version)) = stem.split_once('-') else { continue };
                distributions.insert(normalise(distribution), release_parts(version));
            }
        }
        tracing::info!(
            "virtual environment {} (Python {}): {} site-packages folder(s), {} distributions",
            root.display(),
            python.map_or_else(|| "unknown".to_owned(), |(major, minor)| format!("{major}.{minor}")),
            site_packages.len(),
            distributions.len()
        );
        let system_site = config.lines().any(|line| {
            line.split_once('=').is_some_and(|(key, value)| {
                key.trim() == "include-system-site-packages" && value.trim().eq_ignore_ascii_case("true")
            })
        });
        let (path_entries, hooks) = path_configuration(&site_packages);
        Some(Environment {
            root: root.to_path_buf(),
            site_packages,
            python,
            distributions,
            closed: !system_site && !hooks,
            path_entries,
            source: EnvironmentSource::default(),
            cache: DashMap::default(),
        })
    }

    /// The installed version of a distribution (`aiohttp`, `async-timeout`, `async_timeout`).
    pub fn installed_version(&self, distribution: &str) -> Option<Vec<u32>> {
        self.distributions.get(&normalise(distribution)).filter(|version| !version.is_empty()).cloned()
    }

    /// Whether a distribution is installed at all.
    pub fn is_installed(&self, distribution: &str) -> bool {
        self.distributions.contains_key(&normalise(distribution))
    }

    /// Whether importing `module_name` surely fails in this environment: no file or folder of
    /// that name (source, stub, compiled extension, namespace package) in site-packages or a
    /// `.pth` folder, and nothing else that could provide it. The standard library and the
    /// workspace are the caller's to rule out.
    pub fn surely_lacks(&self, module_name: &str) -> bool {
        if !self.closed || self.locate(module_name).is_some() {
            return false;
        }
        let parts: Vec<&str> = module_name.split('.').collect();
        let Some((last, parents)) = parts.split_last() else { return false };
        let compiled_prefix = format!("{last}.");
        self.site_packages.iter().chain(&self.path_entries).all(|site| {
            let folder = parents.iter().fold(site.clone(), |folder, part| folder.join(part));
            let Ok(entries) = fs::read_dir(&folder) else { return true };
            // `ujson.cpython-312-x86_64-linux-gnu.so`, `_speedups.pyd`, `mod.pyc`, an egg.
            !entries.flatten().any(|entry| {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                name == *last || (name.starts_with(&compiled_prefix) && !name.ends_with(".dist-info"))
            })
        })
    }

    /// The installed module of that dotted name, parsed on first use.
    pub fn lookup(&self, module_name: &str) -> Lookup {
        if let Some(cached) = self.cache.get(module_name) {
            if cached.checked.elapsed() < REVALIDATE_AFTER {
                return cached.answer.to_lookup();
            }
        }
        let located = self.locate(module_name);
        let file = located.as_ref().map(|(path, _)| (path.clone(), modified(path)));
        // The same file with the same modification time (or still nothing): keep the answer.
        let unchanged =
            self.cache.get(module_name).filter(|cached| cached.file == file).map(|cached| cached.answer.clone());
        let answer = match (unchanged, located) {
            (Some(answer), _) => answer,
            (None, Some((_, Located::Namespace))) => Answer::Namespace,
            (None, Some((path, Located::File { is_package }))) => {
                Environment::parse(module_name, &path, is_package).map_or(Answer::Missing, Answer::Found)
            }
            (None, None) => Answer::Missing,
        };
        let lookup = answer.to_lookup();
        self.cache.insert(module_name.to_owned(), Cached { answer, file, checked: Instant::now() });
        lookup
    }

    fn parse(module_name: &str, path: &Path, is_package: bool) -> Option<Arc<IndexedModule>> {
        let size = fs::metadata(path).ok()?.len();
        if size > MAX_MODULE_BYTES {
            tracing::info!("{} is {size} bytes; not analysed", path.display());
            return None;
        }
        let bytes = fs::read(path).ok()?;
        let Ok(source) = String::from_utf8(bytes) else {
            tracing::info!("{} is not valid UTF-8; not analysed", path.display());
            return None;
        };
        tracing::debug!("reading installed module {module_name} from {}", path.display());
        Some(Arc::new(IndexedModule {
            path: path.to_path_buf(),
            names: vec![module_name.to_owned()],
            is_package,
            facts: Arc::new(facts::extract(&source)),
        }))
    }

    /// The file (or namespace folder) Python's import system would find, stubs first.
    fn locate(&self, module_name: &str) -> Option<(PathBuf, Located)> {
        let parts: Vec<&str> = module_name.split('.').collect();
        if parts.iter().any(|part| part.is_empty() || *part == ".." || part.contains(['/', '\\'])) {
            return None;
        }
        let stub_top = format!("{}-stubs", parts[0]);
        for site in &self.site_packages {
            let mut stubs = site.join(&stub_top);
            let mut sources = site.clone();
            for (idx, part) in parts.iter().enumerate() {
                if idx > 0 {
                    stubs.push(part);
                }
                sources.push(part);
            }
            let candidates = [
                (stubs.with_extension("pyi"), false),
                (stubs.join("__init__.pyi"), true),
                (sources.with_extension("pyi"), false),
                (sources.join("__init__.pyi"), true),
                (sources.with_extension("py"), false),
                (sources.join("__init__.py"), true),
            ];
            for (path, is_package) in candidates {
                if path.is_file() {
                    return Some((path, Located::File { is_package }));
                }
            }
            if sources.is_dir() {
                return Some((sources, Located::Namespace));
            }
        }
        None
    }
}

#[derive(Debug, Clone, Copy)]
enum Located {
    File { is_package: bool },
    Namespace,
}

impl Answer {
    fn to_lookup(&self) -> Lookup {
        match self {
            Answer::Found(module) => Lookup::Found(Arc::clone(module)),
            Answer::Namespace => Lookup::Namespace,
            Answer::Missing => Lookup::Missing,
        }
    }
}

/// Whether `module_name` may be a standard-library module on `python` (any version when
/// unknown), from typeshed's `stdlib/VERSIONS` (which lists every module with the versions
/// that have it). The longest listed prefix decides: `asyncio.taskgroups` is 3.11+.
pub fn in_standard_library(module_name: &str, python: Option<(u32, u32)>) -> bool {
    /// The first version that has the module, and the last, if it was removed.
    type Range = ((u32, u32), Option<(u32, u32)>);
    static VERSIONS: std::sync::LazyLock<HashMap<String, Range>> = std::sync::LazyLock::new(|| {
        let text = ty_vendored::file_system().read_to_string("stdlib/VERSIONS").unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let line = line.split('#').next()?.trim();
                let (module, range) = line.split_once(':')?;
                let (low, high) = range.trim().split_once('-')?;
                let high = if high.trim().is_empty() { None } else { Some(major_minor(high)?) };
                Some((module.trim().to_owned(), (major_minor(low)?, high)))
            })
            .collect()
    });
    // Without the table (it cannot be read), everything may be standard.
    if VERSIONS.is_empty() {
        return true;
    }
    let mut name = module_name;
    loop {
        if let Some((low, high)) = VERSIONS.get(name) {
            return python.is_none_or(|python| *low <= python && high.is_none_or(|high| python <= high));
        }
        match name.rsplit_once('.') {
            Some((parent, _)) => name = parent,
            None => return false,
        }
    }
}

/// The folders the `.pth` files in `site_packages` add to the search path, and whether any of
/// them runs an import (other than setuptools' and virtualenv's own, which add no module).
fn path_configuration(site_packages: &[PathBuf]) -> (Vec<PathBuf>, bool) {
    let mut folders = Vec::new();
    let mut hooks = false;
    for site in site_packages {
        let Ok(entries) = fs::read_dir(site) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|extension| extension != "pth") {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(text) = fs::read_to_string(&path) else {
                hooks = true;
                continue;
            };
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if line.starts_with("import ") || line.starts_with("import\t") {
                    hooks |= !matches!(name.as_str(), "distutils-precedence.pth" | "_virtualenv.pth");
                    continue;
                }
                let folder = site.join(line);
                if folder.is_dir() {
                    folders.push(folder);
                }
            }
        }
    }
    (folders, hooks)
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|metadata| metadata.modified()).ok()
}

/// `3.12.3`, `3.12.3.final.0`, `3.12` → `(3, 12)`.
fn major_minor(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts.next()?.trim().parse().ok()?;
    Some((major, minor))
}

/// The numeric release parts of a version: `3.9.1` → `[3, 9, 1]`, `2.0.0rc1` → `[2, 0, 0]`.
fn release_parts(version: &str) -> Vec<u32> {
    let mut parts = Vec::new();
    for part in version.split('.') {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        let Ok(number) = digits.parse() else { break };
        parts.push(number);
        if digits.len() != part.len() {
            break;
        }
    }
    parts
}

/// PEP 503 normalisation, with `_` as the separator (dist-info folders use it).
fn normalise(name: &str) -> String {
    name.chars().map(|c| if matches!(c, '-' | '.') { '_' } else { c.to_ascii_lowercase() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("asyncsense-env-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn what_surely_cannot_be_imported() {
        let dir = scratch("lacks");
        let venv = dir.join(".venv");
        let site = venv.join("lib/python3.12/site-packages");
        write(&venv.join("pyvenv.cfg"), "version = 3.12.3\ninclude-system-site-packages = false\n");
        write(&site.join("present/__init__.py"), "");
        write(&site.join("present/sub.py"), "");
        write(&site.join("ujson.cpython-312-x86_64-linux-gnu.so"), "");
        write(&site.join("present/_speedups.cpython-312-x86_64-linux-gnu.so"), "");
        write(&site.join("distutils-precedence.pth"), "import os; var = 'SETUPTOOLS_USE_DISTUTILS'\n");
        write(&site.join("extra.pth"), "../../../../elsewhere\n");
        write(&dir.join("elsewhere/from_pth.py"), "");
        let env = Environment::open(&venv).unwrap();
        for lacking in ["httpx2", "present.missing", "absent.sub"] {
            assert!(env.surely_lacks(lacking), "{lacking}");
        }
        for there in ["present", "present.sub", "ujson", "present._speedups", "from_pth"] {
            assert!(!env.surely_lacks(there), "{there}");
        }
        // An editable install's finder, or the system's site-packages: anything may be there.
        write(
            &site.join("__editable___project_finder.pth"),
            "import __editable___project_finder; __editable___project_finder.install()\n",
        );
        assert!(!Environment::open(&venv).unwrap().surely_lacks("httpx2"));
        fs::remove_file(site.join("__editable___project_finder.pth")).unwrap();
        write(&venv.join("pyvenv.cfg"), "version = 3.12.3\ninclude-system-site-packages = true\n");
        assert!(!Environment::open(&venv).unwrap().surely_lacks("httpx2"));
        // The standard library, by version, from typeshed.
        assert!(in_standard_library("tomllib", Some((3, 11))));
        assert!(!in_standard_library("tomllib", Some((3, 10))));
        assert!(in_standard_library("tomllib", None));
        assert!(in_standard_library("os.path", Some((3, 12))));
        assert!(!in_standard_library("distutils", Some((3, 12))));
        assert!(!in_standard_library("httpx", None));
    }

    #[test]
    fn reads_versions_and_prefers_stubs() {
        let dir = scratch("versions");
        let venv = dir.join(".venv");
        let site = venv.join("lib/python3.12/site-packages");
        write(&venv.join("pyvenv.cfg"), "home = /usr/bin\nversion = 3.12.3\n");
        write(&site.join("aiohttp-3.9.1.dist-info/METADATA"), "");
        write(&site.join("Async_Timeout-5.0.1.dist-info/METADATA"), "");
        write(&site.join("lib/__init__.py"), "");
        write(&site.join("lib/api.py"), "def f(): pass\n");
        write(&site.join("lib/api.pyi"), "def f() -> int: ...\n");
        write(&site.join("typed-stubs/__init__.pyi"), "");
        write(&site.join("typed/__init__.py"), "");
        write(&site.join("nsroot/inner/mod.py"), "");

        let env = Environment::discover(None, &[dir.join("project")]).or_else(|| Environment::open(&venv)).unwrap();
        assert_eq!(env.python, Some((3, 12)));
        assert_eq!(env.installed_version("aiohttp"), Some(vec![3, 9, 1]));
        assert_eq!(env.installed_version("async-timeout"), Some(vec![5, 0, 1]));
        assert_eq!(env.installed_version("httpx"), None);
        let Lookup::Found(api) = env.lookup("lib.api") else { panic!("lib.api not found") };
        assert!(api.path.ends_with("lib/api.pyi"), "{}", api.path.display());
        let Lookup::Found(typed) = env.lookup("typed") else { panic!("typed not found") };
        assert!(typed.path.ends_with("typed-stubs/__init__.pyi"), "{}", typed.path.display());
        assert!(matches!(env.lookup("nsroot.inner"), Lookup::Namespace));
        assert!(matches!(env.lookup("nsroot.inner.mod"), Lookup::Found(_)));
        assert!(matches!(env.lookup("missing"), Lookup::Missing));
        assert!(matches!(env.lookup("lib..api"), Lookup::Missing));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_project_venv_wins_and_our_own_venv_is_never_the_projects() {
        let dir = scratch("order");
        for venv in [".venv", "tool-venv", "active"] {
            write(&dir.join(venv).join("pyvenv.cfg"), "version = 3.12.1\n");
        }
        let project = dir.join("project");
        let tool_binary = dir.join("tool-venv/bin/asyncsense");
        write(&tool_binary, "");
        let root = [project.clone()];
        let found = Environment::discover_with(None, &root, Some(&dir.join("active")), Some(&tool_binary)).unwrap();
        assert_eq!((found.root.clone(), found.source), (dir.join(".venv"), EnvironmentSource::Project));
        fs::remove_dir_all(dir.join(".venv")).unwrap();
        let found = Environment::discover_with(None, &root, Some(&dir.join("active")), Some(&tool_binary)).unwrap();
        assert_eq!(found.source, EnvironmentSource::Active);
        assert!(Environment::discover_with(None, &root, Some(&dir.join("tool-venv")), Some(&tool_binary)).is_none());
        let configured = dir.join("tool-venv");
        let found = Environment::discover_with(Some(&configured), &root, None, Some(&tool_binary)).unwrap();
        assert_eq!(found.source, EnvironmentSource::Configured);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_without_pyvenv_cfg_is_not_an_environment() {
        let dir = scratch("nocfg");
        write(&dir.join(".venv/lib/python3.12/site-packages/x.py"), "");
        assert!(Environment::open(&dir.join(".venv")).is_none());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn versions_parse_leniently() {
        assert_eq!(release_parts("2.0.0rc1"), vec![2, 0, 0]);
        assert_eq!(release_parts("10"), vec![10]);
        assert_eq!(release_parts("dev"), Vec::<u32>::new());
        assert_eq!(major_minor("3.12.3.final.0"), Some((3, 12)));
        assert_eq!(normalise("Async.Timeout"), "async_timeout");
    }
}
