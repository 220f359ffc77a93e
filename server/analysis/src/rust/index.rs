//! The crate-level index: per Rust file, where it sits in its crate (derived from its path), the
//! functions each of its modules defines, the modules it declares and the names it imports. With
//! it a call such as `streams::sessions()` or `crate::streams::sessions()` in one file resolves to
//! the function another file of the same crate defines.
//!
//! Resolution is deliberately partial: globs, macros, `#[path]`, extern crates and anything
//! ambiguous (two files claiming one module, definitions that disagree) resolve to nothing, and
//! the checker then says nothing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use rayon::prelude::*;
use syn::visit::Visit;
use syn::{Item, UseTree};

use super::facts::{produces, record, Produces};

/// One compilation target of a package: `lib`, `main`, `bin/NAME`, `tests/NAME`, …, `src` for
/// the modules under `src/` shared by `lib.rs` and `main.rs`, or `file:PATH` for a file that is
/// its own crate as far as we can tell.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CrateId {
    package: PathBuf,
    target: String,
}

/// A module: its crate and its path inside it (`[]` is the crate root).
pub type ModulePosition = (CrateId, Vec<String>);

/// Where a file sits: its crate and the module path derived from its file path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub krate: CrateId,
    pub module: Vec<String>,
}

/// What one module (a file, or an inline `mod x { … }` in it) defines, declares and imports.
#[derive(Debug, Default, PartialEq, Eq)]
struct ModuleData {
    /// Free functions defined directly in the module (`None` when definitions disagree).
    functions: HashMap<String, Option<Produces>>,
    /// Child modules declared with `mod x;` or `mod x { … }`.
    children: HashSet<String>,
    /// `use` items: the name brought into scope → the path it names (`None` when two disagree).
    imports: HashMap<String, Option<Vec<String>>>,
}

impl ModuleData {
    fn merge(&mut self, other: ModuleData) {
        for (name, produces) in other.functions {
            record(&mut self.functions, name, produces);
        }
        self.children.extend(other.children);
        for (name, path) in other.imports {
            add_import(&mut self.imports, name, path);
        }
    }
}

fn add_import(imports: &mut HashMap<String, Option<Vec<String>>>, name: String, path: Option<Vec<String>>) {
    imports
        .entry(name)
        .and_modify(|known| {
            if *known != path {
                *known = None;
            }
        })
        .or_insert(path);
}

/// The index's view of one file.
#[derive(Debug)]
pub struct FileSummary {
    pub location: Location,
    /// The file's modules by path relative to the file's own module (`[]` is the file).
    modules: HashMap<Vec<String>, ModuleData>,
    /// Names that may shadow a module-level name somewhere in the file, so a bare call of one is
    /// never resolved through the index: those imported by `use` items inside function bodies
    /// and other nested scopes (`*` for a glob there), and local bindings (parameters, `let`
    /// variables, closure parameters: `let sessions = || …; sessions()`).
    pub shadowing: HashSet<String>,
}

impl FileSummary {
    /// Summarises parsed `items` of the file at `location`.
    pub fn new(location: Location, items: &[Item]) -> FileSummary {
        let mut summary = FileSummary { location, modules: HashMap::new(), shadowing: HashSet::new() };
        summarize(items, Vec::new(), &mut summary);
        summary
    }

    /// Whether other files see the same thing in both (the shadowing names matter only to the
    /// file itself, so a new local variable is not a change for its importers).
    fn offers_the_same(&self, other: &FileSummary) -> bool {
        self.location == other.location && self.modules == other.modules
    }

    /// Every module of the file under its index key.
    fn registrations(&self) -> impl Iterator<Item = (ModulePosition, &Vec<String>)> + '_ {
        self.modules.keys().map(|relative| {
            let mut module = self.location.module.clone();
            module.extend(relative.iter().cloned());
            (canonical(&self.location.krate, module), relative)
        })
    }
}

fn summarize(items: &[Item], relative: Vec<String>, summary: &mut FileSummary) {
    let mut data = ModuleData::default();
    for item in items {
        match item {
            Item::Fn(function) => {
                let produced = produces(&function.sig, Some(&function.block));
                record(&mut data.functions, function.sig.ident.to_string(), Some(produced));
                Shadowing(&mut summary.shadowing).visit_item_fn(function);
            }
            Item::Mod(module) => {
                let name = module.ident.to_string();
                data.children.insert(name.clone());
                if let Some((_, content)) = &module.content {
                    let mut child = relative.clone();
                    child.push(name);
                    summarize(content, child, summary);
                }
            }
            Item::Use(import) => {
                if import.leading_colon.is_none() {
                    flatten_use(&import.tree, &mut Vec::new(), &mut data.imports);
                }
            }
            other => Shadowing(&mut summary.shadowing).visit_item(other),
        }
    }
    match summary.modules.entry(relative) {
        std::collections::hash_map::Entry::Occupied(mut known) => known.get_mut().merge(data),
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(data);
        }
    }
}

/// Collects the names that may shadow module-level names: those that `use` items inside nested
/// scopes (function bodies, impls, …) import, and local bindings.
struct Shadowing<'a>(&'a mut HashSet<String>);

impl<'ast> Visit<'ast> for Shadowing<'_> {
    fn visit_pat_ident(&mut self, node: &'ast syn::PatIdent) {
        self.0.insert(node.ident.to_string());
        syn::visit::visit_pat_ident(self, node);
    }

    fn visit_item_use(&mut self, node: &'ast syn::ItemUse) {
        let mut imports = HashMap::new();
        flatten_use(&node.tree, &mut Vec::new(), &mut imports);
        self.0.extend(imports.into_keys());
        // A glob in a nested scope may bring in anything: it cannot be accounted for by name.
        if has_glob(&node.tree) {
            self.0.insert("*".to_owned());
        }
    }
}

fn has_glob(tree: &UseTree) -> bool {
    match tree {
        UseTree::Path(path) => has_glob(&path.tree),
        UseTree::Glob(_) => true,
        UseTree::Group(group) => group.items.iter().any(has_glob),
        UseTree::Name(_) | UseTree::Rename(_) => false,
    }
}

/// `use a::{b, c::{d as e}, self as f}` → `b → a::b`, `e → a::c::d`, `f → a`. Globs are skipped
/// (the names they bring in are unknown, which resolves to nothing).
fn flatten_use(tree: &UseTree, prefix: &mut Vec<String>, imports: &mut HashMap<String, Option<Vec<String>>>) {
    match tree {
        UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            flatten_use(&path.tree, prefix, imports);
            prefix.pop();
        }
        UseTree::Name(name) => {
            let name = name.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    add_import(imports, last.clone(), Some(prefix.clone()));
                }
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                add_import(imports, name, Some(path));
            }
        }
        UseTree::Rename(rename) => {
            let alias = rename.rename.to_string();
            if alias == "_" {
                return;
            }
            let mut path = prefix.clone();
            if rename.ident != "self" {
                path.push(rename.ident.to_string());
            }
            add_import(imports, alias, Some(path));
        }
        UseTree::Glob(_) => {}
        UseTree::Group(group) => {
            for item in &group.items {
                flatten_use(item, prefix, imports);
            }
        }
    }
}

/// The location of a text without a file (an untitled buffer, a test): a crate of its own.
pub fn detached() -> Location {
    Location { krate: CrateId { package: PathBuf::new(), target: "file:".to_owned() }, module: Vec::new() }
}

/// Where the file at `path` sits in its crate: the package is the nearest ancestor folder with a
/// `Cargo.toml`; the target and module path follow Cargo's layout. A file outside that layout
/// (or without a package) is a crate of its own.
pub fn locate(path: &Path) -> Location {
    let alone = |package: PathBuf, relative: &Path| Location {
        krate: CrateId { package, target: format!("file:{}", relative.display()) },
        module: Vec::new(),
    };
    let Some(package) = path.ancestors().skip(1).find(|dir| dir.join("Cargo.toml").is_file()) else {
        return alone(PathBuf::new(), path);
    };
    let Ok(relative) = path.strip_prefix(package) else { return alone(package.to_path_buf(), path) };
    let parts: Vec<String> = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let located = |target: String, module: Vec<String>| Location {
        krate: CrateId { package: package.to_path_buf(), target },
        module,
    };
    let derived = match parts.as_slice() {
        ["src", "lib.rs"] => Some(located("lib".to_owned(), Vec::new())),
        ["src", "main.rs"] => Some(located("main".to_owned(), Vec::new())),
        ["src", "bin", file] => file.strip_suffix(".rs").map(|name| located(format!("bin/{name}"), Vec::new())),
        ["src", "bin", name, rest @ ..] => {
            if rest == ["main.rs"] {
                Some(located(format!("bin/{name}"), Vec::new()))
            } else {
                module_path(rest).map(|module| located(format!("bin/{name}"), module))
            }
        }
        ["src", rest @ ..] => module_path(rest).map(|module| located("src".to_owned(), module)),
        [kind @ ("tests" | "examples" | "benches"), file] => {
            file.strip_suffix(".rs").map(|name| located(format!("{kind}/{name}"), Vec::new()))
        }
        [kind @ ("tests" | "examples" | "benches"), name, rest @ ..] => {
            if rest == ["main.rs"] {
                Some(located(format!("{kind}/{name}"), Vec::new()))
            } else {
                module_path(rest).map(|module| located(format!("{kind}/{name}"), module))
            }
        }
        _ => None,
    };
    derived.unwrap_or_else(|| alone(package.to_path_buf(), relative))
}

/// `a/b.rs` → `[a, b]`, `a/mod.rs` → `[a]`; `None` when a part is not an identifier.
fn module_path(parts: &[&str]) -> Option<Vec<String>> {
    let (file, folders) = parts.split_last()?;
    let stem = file.strip_suffix(".rs")?;
    let mut module: Vec<String> = folders.iter().map(|part| (*part).to_owned()).collect();
    if stem != "mod" {
        module.push(stem.to_owned());
    }
    let is_identifier = |name: &String| {
        name.chars().next().is_some_and(|first| first.is_alphabetic() || first == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    (!module.is_empty() && module.iter().all(is_identifier)).then_some(module)
}

/// The key a module is stored under: the modules below `src/` belong to `lib.rs` and `main.rs`
/// alike, so they are stored under the shared `src` target.
fn canonical(krate: &CrateId, module: Vec<String>) -> ModulePosition {
    if !module.is_empty() && (krate.target == "lib" || krate.target == "main") {
        return (CrateId { package: krate.package.clone(), target: "src".to_owned() }, module);
    }
    (krate.clone(), module)
}

/// The keys to try for a module, best first: the root of the shared `src` target is `lib.rs`,
/// else `main.rs`.
fn candidates(position: &ModulePosition) -> Vec<ModulePosition> {
    let (krate, module) = position;
    if module.is_empty() && krate.target == "src" {
        return ["lib", "main"]
            .iter()
            .map(|target| (CrateId { package: krate.package.clone(), target: (*target).to_owned() }, Vec::new()))
            .collect();
    }
    vec![canonical(krate, module.clone())]
}

#[derive(Default)]
struct Inner {
    files: HashMap<PathBuf, Arc<FileSummary>>,
    /// Module key → the files holding it, with its path relative to each file's module.
    modules: HashMap<ModulePosition, Vec<(PathBuf, Vec<String>)>>,
    /// Packages whose files were read from disk already.
    loaded_packages: HashSet<PathBuf>,
}

impl Inner {
    fn insert(&mut self, path: &Path, summary: Arc<FileSummary>) -> bool {
        if self.files.get(path).is_some_and(|known| known.offers_the_same(&summary)) {
            return false;
        }
        self.remove(path);
        for (key, relative) in summary.registrations() {
            self.modules.entry(key).or_default().push((path.to_path_buf(), relative.clone()));
        }
        self.files.insert(path.to_path_buf(), summary);
        true
    }

    fn remove(&mut self, path: &Path) -> bool {
        let Some(summary) = self.files.remove(path) else { return false };
        for (key, _) in summary.registrations() {
            if let Some(holders) = self.modules.get_mut(&key) {
                holders.retain(|(holder, _)| holder != path);
                if holders.is_empty() {
                    self.modules.remove(&key);
                }
            }
        }
        true
    }
}

/// The crate-level index of Rust files, updated one file at a time.
#[derive(Default)]
pub struct RustIndex {
    inner: RwLock<Inner>,
}

impl RustIndex {
    pub fn new() -> RustIndex {
        RustIndex::default()
    }

    /// Indexes (or re-indexes) `source` as the text of `path`. A text that does not tokenise
    /// keeps the previous entry. Returns whether what the file offers other files changed.
    pub fn update(&self, path: &Path, source: &str) -> bool {
        let Some(summary) = summarize_source(path, source) else { return false };
        let mut inner = self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.insert(path, Arc::new(summary))
    }

    /// Forgets `path`. Returns whether it was indexed.
    pub fn remove(&self, path: &Path) -> bool {
        self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(path)
    }

    /// Forgets `path` (an editor's text of it) and lets the next [`RustIndex::load_package_of`]
    /// for its package read it from disk again. Cheap: nothing is read here.
    pub fn reload_later(&self, path: &Path) {
        let package = locate(path).krate.package;
        let mut inner = self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.remove(path);
        inner.loaded_packages.remove(&package);
    }

    /// Number of files indexed.
    pub fn len(&self) -> usize {
        self.read().files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads the Rust files of `file`'s package from disk, once per package, without replacing
    /// entries already there (an editor's text is newer than the disk). For a file outside any
    /// package nothing is read.
    pub fn load_package_of(&self, file: &Path) {
        let package = locate(file).krate.package;
        if package.as_os_str().is_empty() {
            return;
        }
        // Called for every analysed document: the common answer needs only the read lock.
        if self.read().loaded_packages.contains(&package) {
            return;
        }
        {
            let mut inner = self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !inner.loaded_packages.insert(package.clone()) {
                return;
            }
        }
        let mut files = crate::workspace::discover_rust_files(std::slice::from_ref(&package));
        {
            let inner = self.read();
            files.retain(|path| !inner.files.contains_key(path));
        }
        let summaries: Vec<_> = files
            .par_iter()
            .map(|path| {
                let source = crate::workspace::read_source(path).ok()?;
                std::panic::catch_unwind(|| summarize_source(path, &source)).ok().flatten()
            })
            .collect();
        let mut inner = self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (path, summary) in files.iter().zip(summaries) {
            if let Some(summary) = summary {
                if !inner.files.contains_key(path) {
                    inner.insert(path, Arc::new(summary));
                }
            }
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A resolver for the file at `path` whose current text is summarised by `own` (it replaces
    /// the index's entry for `path`, which may be older).
    pub(super) fn resolver<'a>(&'a self, path: Option<&'a Path>, own: &'a FileSummary) -> Resolver<'a> {
        Resolver { inner: self.read(), path, own }
    }
}

fn summarize_source(path: &Path, source: &str) -> Option<FileSummary> {
    let _spans = super::parse::SpanGuard;
    let parsed = super::parse::parse(source)?;
    Some(FileSummary::new(locate(path), &parsed.items))
}

/// Answers "what does this path name" for one file, against the index and the file's own
/// summary.
pub struct Resolver<'a> {
    inner: RwLockReadGuard<'a, Inner>,
    path: Option<&'a Path>,
    own: &'a FileSummary,
}

/// How many `use` hops resolution follows (re-export chains, and a guard against cycles).
const MAX_DEPTH: usize = 8;

impl Resolver<'_> {
    pub fn own(&self) -> &FileSummary {
        self.own
    }

    /// The one module stored under `position`, or `None` when it is unknown or ambiguous.
    fn module(&self, position: &ModulePosition) -> Option<&ModuleData> {
        for key in candidates(position) {
            let mut found: Vec<&ModuleData> = Vec::new();
            if let Some(holders) = self.inner.modules.get(&key) {
                for (holder, relative) in holders {
                    if Some(holder.as_path()) == self.path {
                        continue;
                    }
                    found.extend(self.inner.files.get(holder).and_then(|summary| summary.modules.get(relative)));
                }
            }
            for (own_key, relative) in self.own.registrations() {
                if own_key == key {
                    found.extend(self.own.modules.get(relative));
                }
            }
            match found.as_slice() {
                [] => {}
                [one] => return Some(one),
                _ => return None,
            }
        }
        None
    }

    /// The module `segments` names, seen from the module at `from`.
    pub fn resolve_module(&self, from: &ModulePosition, segments: &[String]) -> Option<ModulePosition> {
        self.resolve_module_at(from, segments, 0)
    }

    fn resolve_module_at(&self, from: &ModulePosition, segments: &[String], depth: usize) -> Option<ModulePosition> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut current = from.clone();
        for (idx, segment) in segments.iter().enumerate() {
            match segment.as_str() {
                "crate" if idx == 0 => current.1.clear(),
                "self" if idx == 0 => {}
                "super" if segments[..idx].iter().all(|before| before == "super") => {
                    current.1.pop()?;
                }
                "crate" | "self" | "super" | "Self" => return None,
                name => {
                    let data = self.module(&current)?;
                    let declared = data.children.contains(name);
                    match (declared, data.imports.get(name)) {
                        (true, None) => current.1.push(name.to_owned()),
                        (false, Some(Some(target))) => {
                            let target = target.clone();
                            current = self.resolve_module_at(&current, &target, depth + 1)?;
                        }
                        _ => return None,
                    }
                }
            }
        }
        Some(current)
    }

    /// What calling the function `segments` names produces, seen from the module at `from`;
    /// `None` when the path does not resolve to exactly one known function.
    pub fn resolve_function(&self, from: &ModulePosition, segments: &[String]) -> Option<Produces> {
        self.resolve_function_at(from, segments, 0)
    }

    fn resolve_function_at(&self, from: &ModulePosition, segments: &[String], depth: usize) -> Option<Produces> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (name, prefix) = segments.split_last()?;
        if matches!(name.as_str(), "crate" | "self" | "super" | "Self") {
            return None;
        }
        let module = if prefix.is_empty() { from.clone() } else { self.resolve_module_at(from, prefix, depth)? };
        let data = self.module(&module)?;
        match (data.functions.get(name), data.imports.get(name)) {
            (Some(produces), None) => *produces,
            (None, Some(Some(target))) => {
                let target = target.clone();
                self.resolve_function_at(&module, &target, depth + 1)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_follow_cargo_layout() {
        let dir = std::env::temp_dir().join(format!("asyncsense-rust-locate-{}", std::process::id()));
        let package = dir.join("pkg");
        std::fs::create_dir_all(package.join("src")).unwrap();
        std::fs::write(package.join("Cargo.toml"), "[package]\nname = \"pkg\"\n").unwrap();
        let at = |relative: &str| {
            let location = locate(&package.join(relative));
            (location.krate.target, location.module.join("::"))
        };
        assert_eq!(at("src/lib.rs"), ("lib".to_owned(), String::new()));
        assert_eq!(at("src/main.rs"), ("main".to_owned(), String::new()));
        assert_eq!(at("src/a.rs"), ("src".to_owned(), "a".to_owned()));
        assert_eq!(at("src/a/mod.rs"), ("src".to_owned(), "a".to_owned()));
        assert_eq!(at("src/a/b.rs"), ("src".to_owned(), "a::b".to_owned()));
        assert_eq!(at("src/bin/tool.rs"), ("bin/tool".to_owned(), String::new()));
        assert_eq!(at("src/bin/tool/main.rs"), ("bin/tool".to_owned(), String::new()));
        assert_eq!(at("src/bin/tool/util.rs"), ("bin/tool".to_owned(), "util".to_owned()));
        assert_eq!(at("tests/it.rs"), ("tests/it".to_owned(), String::new()));
        assert_eq!(at("src/not-an-ident.rs").0, "file:src/not-an-ident.rs");
        assert_eq!(at("build.rs").0, "file:build.rs");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn use_trees_are_flattened() {
        let file: syn::File = syn::parse_str("use a::{b, c::{d as e}, self as f, g::*, h::{self}, i as _};").unwrap();
        let Item::Use(import) = &file.items[0] else { panic!("a use item") };
        let mut imports = HashMap::new();
        flatten_use(&import.tree, &mut Vec::new(), &mut imports);
        proc_macro2::extra::invalidate_current_thread_spans();
        let path = |text: &str| Some(Some(text.split("::").map(str::to_owned).collect::<Vec<_>>()));
        assert_eq!(imports.get("b").cloned(), path("a::b"));
        assert_eq!(imports.get("e").cloned(), path("a::c::d"));
        assert_eq!(imports.get("f").cloned(), path("a"));
        assert_eq!(imports.get("h").cloned(), path("a::h"));
        assert_eq!(imports.len(), 4, "{imports:?}");
    }
}
