//! Which files a run sees: the walk over the roots (the `ignore` crate, which ruff and ripgrep
//! use), the `exclude` globs (`globset`, with ruff's semantics) and the same rules for one path
//! at a time, for the language server's file watcher.
//!
//! The rules, in the order they prune:
//! - `.gitignore` (inside a git repository, as git and ruff read it), `.ignore`,
//!   `.git/info/exclude` and the global git excludes, unless `respect-gitignore = false`;
//! - `exclude` (default: [`DEFAULT_EXCLUDE`]) and `extend-exclude`, checked on every folder and
//!   file of the walk, so an excluded folder is never entered;
//! - a folder with `pyvenv.cfg` (a virtual environment, whatever its name) is never entered;
//! - symbolic links to folders are not followed, and a link to a file only when its target is
//!   inside one of the roots: the analysis never reads outside the workspace it was given.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use globset::{Candidate, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

/// The folders `exclude` names when a configuration does not set it: ruff's defaults (its
/// `exclude` documentation), plus `target`, where Cargo puts its build output.
pub const DEFAULT_EXCLUDE: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "_build",
    "buck-out",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
    "target",
];

/// A glob that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid glob `{pattern}`: {message}")]
pub struct PatternError {
    pub pattern: String,
    pub message: String,
}

/// The absolute glob for `pattern` declared in a configuration in `root`: the root (escaped, so
/// a folder named `[x]` is literal), then the pattern, with `.` and `..` resolved as ruff does.
fn absolute_glob(root: &Path, pattern: &str) -> String {
    if Path::new(pattern).is_absolute() {
        return pattern.to_owned();
    }
    let mut parts: Vec<String> = root
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(globset::escape(&name.to_string_lossy())),
            _ => None,
        })
        .collect();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part.to_owned()),
        }
    }
    format!("/{}", parts.join("/"))
}

/// ruff's globs: `*` and `?` may match `/` in a path (globset's default, which ruff keeps),
/// `**` spans folders, `{a,b}` and `[ab]` as usual.
fn compile(glob: &str, pattern: &str) -> Result<globset::Glob, PatternError> {
    GlobBuilder::new(glob)
        .build()
        .map_err(|error| PatternError { pattern: pattern.to_owned(), message: error.kind().to_string() })
}

/// Checks that a configured pattern compiles (for configuration errors with their line).
pub fn validate_pattern(pattern: &str) -> Result<(), PatternError> {
    let pattern = pattern.strip_prefix('!').unwrap_or(pattern);
    compile(&absolute_glob(Path::new("/"), pattern), pattern).map(|_| ())
}

/// `exclude`-style patterns, relative to the folder of the configuration that declares them.
/// A pattern is matched against the absolute path; a pattern without `/` also against the
/// file or folder name, so `migrations` excludes a folder of that name at any depth.
#[derive(Clone, Debug, Default)]
pub struct PathPatterns {
    set: GlobSet,
}

impl PathPatterns {
    /// Patterns that do not compile are skipped with a warning (configuration loading reports
    /// them with their line).
    pub fn new<'a>(root: &Path, patterns: impl IntoIterator<Item = &'a str>) -> Self {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let absolute = compile(&absolute_glob(root, pattern), pattern);
            let name = (!pattern.contains('/')).then(|| compile(pattern, pattern));
            for glob in std::iter::once(absolute).chain(name) {
                match glob {
                    Ok(glob) => {
                        builder.add(glob);
                    }
                    Err(error) => tracing::warn!("{error}; ignored"),
                }
            }
        }
        let set = builder.build().unwrap_or_else(|error| {
            tracing::warn!("cannot compile the exclusion globs: {error}");
            GlobSet::empty()
        });
        Self { set }
    }

    /// Whether `path` (absolute) itself matches: by its whole path or by its name.
    pub fn matches(&self, path: &Path) -> bool {
        if self.set.is_empty() {
            return false;
        }
        self.set.is_match_candidate(&Candidate::new(path))
            || path.file_name().is_some_and(|name| self.set.is_match_candidate(&Candidate::new(name)))
    }
}

/// One `per-file-ignores` pattern: like an `exclude` pattern, but a slash-less pattern matches
/// the file's name only (ruff's `per-file-ignores`), and `!pattern` selects the files that do
/// *not* match.
#[derive(Clone, Debug)]
pub struct FilePattern {
    absolute: GlobMatcher,
    name: GlobMatcher,
    negated: bool,
}

impl FilePattern {
    pub fn new(root: &Path, pattern: &str) -> Result<Self, PatternError> {
        let (negated, bare) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let absolute = compile(&absolute_glob(root, bare), pattern)?.compile_matcher();
        let name = compile(bare, pattern)?.compile_matcher();
        Ok(Self { absolute, name, negated })
    }

    /// Whether the pattern selects `file` (absolute).
    pub fn matches(&self, file: &Path) -> bool {
        let matched = self.absolute.is_match(file) || file.file_name().is_some_and(|name| self.name.is_match(name));
        matched != self.negated
    }
}

/// What to skip, compiled once per run (or per configuration in the server).
#[derive(Clone, Debug)]
pub struct FileFilter {
    /// The configuration's folder: exclusion is checked on the folders below it only, so a
    /// project that itself lives in a folder named `dist` is still checked.
    root: PathBuf,
    exclude: Arc<PathPatterns>,
    respect_gitignore: bool,
}

impl Default for FileFilter {
    fn default() -> Self {
        Self::new(Path::new("/"), None, &[], true)
    }
}

impl FileFilter {
    /// `exclude` replaces [`DEFAULT_EXCLUDE`] when given; `extend_exclude` adds to either.
    pub fn new(root: &Path, exclude: Option<&[String]>, extend_exclude: &[String], respect_gitignore: bool) -> Self {
        let base: Vec<&str> = match exclude {
            Some(patterns) => patterns.iter().map(String::as_str).collect(),
            None => DEFAULT_EXCLUDE.to_vec(),
        };
        let patterns = base.into_iter().chain(extend_exclude.iter().map(String::as_str));
        Self { root: root.to_path_buf(), exclude: Arc::new(PathPatterns::new(root, patterns)), respect_gitignore }
    }

    pub fn respects_gitignore(&self) -> bool {
        self.respect_gitignore
    }

    /// Whether `exclude`/`extend-exclude` exclude `path` or a folder it is in (below the
    /// configuration's folder; a path outside it is checked by itself only).
    pub fn is_excluded(&self, path: &Path) -> bool {
        if !path.starts_with(&self.root) || path == self.root {
            return self.exclude.matches(path);
        }
        path.ancestors().take_while(|ancestor| *ancestor != self.root).any(|ancestor| self.exclude.matches(ancestor))
    }

    fn walk_builder(&self, roots: &[PathBuf]) -> Option<ignore::WalkBuilder> {
        let (first, rest) = roots.split_first()?;
        let mut builder = ignore::WalkBuilder::new(first);
        for root in rest {
            builder.add(root);
        }
        // ruff's settings: ignore files on or off together, hidden files walked (the exclusion
        // list names the hidden folders to skip), links not followed.
        builder.standard_filters(self.respect_gitignore).hidden(false).follow_links(false);
        Some(builder)
    }

    /// Every file under `roots` that `wanted` accepts and no rule skips, sorted and
    /// de-duplicated. A root that is a file is kept when `keep_root_files` or `wanted` says so.
    pub fn walk(&self, roots: &[PathBuf], wanted: fn(&Path) -> bool, keep_root_files: bool) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut folders = Vec::new();
        for root in roots {
            if root.is_file() {
                if keep_root_files || wanted(root) {
                    found.push(root.clone());
                }
            } else {
                folders.push(root.clone());
            }
        }
        let Some(mut builder) = self.walk_builder(&folders) else {
            found.sort();
            found.dedup();
            return found;
        };
        let canonical_roots: Vec<PathBuf> = folders.iter().filter_map(|root| root.canonicalize().ok()).collect();
        let filter = self.clone();
        builder.filter_entry(move |entry| {
            if entry.depth() == 0 {
                return true;
            }
            let path = entry.path();
            if filter.exclude.matches(path) {
                return false;
            }
            !(entry.file_type().is_some_and(|file_type| file_type.is_dir()) && path.join("pyvenv.cfg").is_file())
        });
        // The walk runs on as many threads as the pool (ruff walks in parallel too): listing
        // folders and reading their ignore files is most of its time.
        builder.threads(rayon::current_num_threads());
        let walked = Mutex::new(Vec::new());
        builder.build_parallel().run(|| {
            let walked = &walked;
            let canonical_roots = &canonical_roots;
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(error) => {
                        tracing::warn!("while listing files: {error}");
                        return ignore::WalkState::Continue;
                    }
                };
                let Some(file_type) = entry.file_type() else { return ignore::WalkState::Continue };
                if entry.depth() == 0 || file_type.is_dir() || !wanted(entry.path()) {
                    return ignore::WalkState::Continue;
                }
                if file_type.is_file() || (file_type.is_symlink() && links_inside(entry.path(), canonical_roots)) {
                    walked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(entry.into_path());
                }
                ignore::WalkState::Continue
            })
        });
        found.extend(walked.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner));
        found.sort();
        found.dedup();
        found
    }

    /// The same rules for one path at a time (the server's file watcher), against `roots`.
    pub fn matcher(&self, roots: &[PathBuf]) -> PathMatcher {
        let ignores = self.walk_builder(roots).map(|builder| builder.build_matchers()).unwrap_or_default();
        PathMatcher { filter: self.clone(), roots: roots.to_vec(), ignores }
    }
}

/// Answers "would the walk have found this file" for single paths, caching ignore files by
/// folder (reload it when an ignore file changes).
pub struct PathMatcher {
    filter: FileFilter,
    roots: Vec<PathBuf>,
    ignores: Vec<ignore::IncrementalIgnore>,
}

impl PathMatcher {
    /// Whether a file under one of the roots is skipped by an ignore file, an exclusion or a
    /// virtual environment around it. A path outside every root is not (the walk did not
    /// decide about it).
    pub fn is_ignored(&mut self, file: &Path) -> bool {
        let Some(idx) = self.roots.iter().position(|root| file.starts_with(root)) else { return false };
        let root = &self.roots[idx];
        let below_root = file.ancestors().take_while(|ancestor| *ancestor != root.as_path());
        for ancestor in below_root {
            if self.filter.exclude.matches(ancestor) || (ancestor != file && ancestor.join("pyvenv.cfg").is_file()) {
                return true;
            }
        }
        let Some(ignore) = self.ignores.get_mut(idx) else { return false };
        let Ok(relative) = file.strip_prefix(root) else { return true };
        ignore.matched(relative, file.is_dir()).is_ignore()
    }
}

/// A symbolic link to a file is followed only when its target is a file inside one of the
/// roots.
fn links_inside(link: &Path, canonical_roots: &[PathBuf]) -> bool {
    match link.canonicalize() {
        Ok(target) => target.is_file() && canonical_roots.iter().any(|root| target.starts_with(root)),
        Err(_) => {
            tracing::warn!("skipping {}: broken or looping symbolic link", link.display());
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::process::Command;

    use super::*;

    /// Each pattern, as declared in `/project/pyproject.toml`, against an absolute path: what
    /// ruff's documentation of `exclude` and `per-file-ignores` says it selects.
    #[test]
    fn ruff_glob_semantics() {
        let root = Path::new("/project");
        // (pattern, path, excluded by `exclude`, selected by `per-file-ignores`)
        let table: &[(&str, &str, bool, bool)] = &[
            // A single-path pattern names a file or folder at any depth (exclude); in
            // per-file-ignores it names the file.
            (".mypy_cache", "/project/.mypy_cache", true, true),
            (".mypy_cache", "/project/sub/.mypy_cache", true, true),
            ("foo.py", "/project/foo.py", true, true),
            ("foo.py", "/project/a/b/foo.py", true, true),
            ("foo.py", "/project/a/foo.pyi", false, false),
            ("foo_*.py", "/project/pkg/foo_bar.py", true, true),
            ("foo_*.py", "/project/pkg/bar_foo.py", false, false),
            ("migrations", "/project/app/migrations", true, true),
            ("__init__.py", "/project/pkg/sub/__init__.py", true, true),
            // A relative pattern is anchored at the configuration's folder.
            ("directory/foo.py", "/project/directory/foo.py", true, true),
            ("directory/foo.py", "/project/other/directory/foo.py", false, false),
            ("directory/*.py", "/project/directory/x.py", true, true),
            ("directory/*.py", "/project/directory/x.txt", false, false),
            ("./build", "/project/build", true, true),
            ("path/to/file.py", "/project/path/to/file.py", true, true),
            ("path/to/file.py", "/elsewhere/path/to/file.py", false, false),
            // `**` spans folders; `*` also crosses `/` (globset's default, which ruff keeps).
            ("tests/**", "/project/tests/unit/test_x.py", true, true),
            ("tests/**", "/project/src/tests/test_x.py", false, false),
            ("**/tests/*.py", "/project/src/tests/test_x.py", true, true),
            ("scripts/*.py", "/project/scripts/deep/x.py", true, true),
            ("*.py", "/project/a/b.py", true, true),
            ("t?st.py", "/project/test.py", true, true),
            ("{a,b}.py", "/project/b.py", true, true),
            ("[ab].py", "/project/c.py", false, false),
            ("../shared/*.py", "/shared/x.py", true, true),
            ("/abs/gen/*.py", "/abs/gen/x.py", true, true),
        ];
        for &(pattern, path, excluded, selected) in table {
            let path = Path::new(path);
            let patterns = PathPatterns::new(root, [pattern]);
            assert_eq!(patterns.matches(path), excluded, "exclude {pattern:?} vs {}", path.display());
            let file = FilePattern::new(root, pattern).expect("compiles");
            assert_eq!(file.matches(path), selected, "per-file-ignores {pattern:?} vs {}", path.display());
            let negated = FilePattern::new(root, &format!("!{pattern}")).expect("compiles");
            assert_eq!(negated.matches(path), !selected, "per-file-ignores !{pattern:?} vs {}", path.display());
        }
        // A per-file-ignores pattern without a slash names files, not the folders on the path.
        let by_name = FilePattern::new(root, "tests").expect("compiles");
        assert!(!by_name.matches(Path::new("/project/tests/test_x.py")));
        // Exclusion of a folder reaches the files in it, but only below the configuration.
        let filter = FileFilter::new(root, None, &["generated".to_owned()], true);
        assert!(filter.is_excluded(Path::new("/project/app/generated/models.py")));
        assert!(filter.is_excluded(Path::new("/project/.venv/lib/x.py")));
        assert!(!filter.is_excluded(Path::new("/project/app/models.py")));
        let in_dist = FileFilter::new(Path::new("/home/me/dist/project"), None, &[], true);
        assert!(!in_dist.is_excluded(Path::new("/home/me/dist/project/app.py")), "the project's own folders");
        // `exclude` replaces the defaults; `extend-exclude` adds to them.
        let replaced = FileFilter::new(root, Some(&["migrations".to_owned()]), &[], true);
        assert!(!replaced.is_excluded(Path::new("/project/dist/x.py")));
        assert!(replaced.is_excluded(Path::new("/project/migrations/x.py")));
        assert!(validate_pattern("a/[b").is_err());
        assert!(validate_pattern("!tests/**").is_ok());
    }

    fn temp_tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("asyncsense-discovery-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for (file, text) in files {
            let path = root.join(file);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(&path, text).expect("write");
        }
        root.canonicalize().expect("canonical")
    }

    fn git_init(dir: &Path) {
        let status = Command::new("git").args(["init", "-q"]).current_dir(dir).status().expect("git runs");
        assert!(status.success());
    }

    /// The walk's files relative to `root`, and the single-path matcher agrees on every one.
    fn walked(filter: &FileFilter, root: &Path, walk_root: &Path) -> Vec<String> {
        let roots = vec![walk_root.to_path_buf()];
        let files = filter.walk(&roots, crate::workspace::is_python_file, true);
        let mut matcher = filter.matcher(&roots);
        let mut every = Vec::new();
        let mut stack = vec![walk_root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).expect("read_dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if crate::workspace::is_python_file(&path) {
                    every.push(path);
                }
            }
        }
        for path in every {
            assert_eq!(matcher.is_ignored(&path), !files.contains(&path), "matcher and walk on {}", path.display());
        }
        files.iter().map(|path| path.strip_prefix(root).expect("inside").to_string_lossy().replace('\\', "/")).collect()
    }

    #[test]
    fn gitignore_nested_negated_and_defaults_in_a_repository() {
        let root = temp_tree(
            "repo",
            &[
                (".gitignore", "build/\n*.gen.py\n!keep.gen.py\n"),
                ("app/main.py", ""),
                ("build/lib/app/main.py", ""),
                ("app/x.gen.py", ""),
                ("app/keep.gen.py", ""),
                ("app/sub/.gitignore", "local.py\n"),
                ("app/sub/local.py", ""),
                ("app/local.py", ""),
                (".venv/lib/site.py", ""),
                ("env/pyvenv.cfg", ""),
                ("env/lib/x.py", ""),
                ("node_modules/x.py", ""),
                (".github/scripts/release.py", ""),
                (".ignore", "scratch/\n"),
                ("scratch/try.py", ""),
            ],
        );
        git_init(&root);
        let filter = FileFilter::new(&root, None, &[], true);
        assert_eq!(
            walked(&filter, &root, &root),
            vec![".github/scripts/release.py", "app/keep.gen.py", "app/local.py", "app/main.py"]
        );
        // `respect-gitignore = false`: ignore files off, the default exclusions and virtual
        // environments still apply.
        let everything = FileFilter::new(&root, None, &[], false);
        assert_eq!(
            walked(&everything, &root, &root),
            vec![
                ".github/scripts/release.py",
                "app/keep.gen.py",
                "app/local.py",
                "app/main.py",
                "app/sub/local.py",
                "app/x.gen.py",
                "build/lib/app/main.py",
                "scratch/try.py",
            ]
        );
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn without_git_only_ignore_files_apply() {
        // As git and ruff: a `.gitignore` outside a repository means nothing; `.ignore` does.
        let root = temp_tree(
            "no-git",
            &[
                (".gitignore", "build/\n"),
                (".ignore", "scratch/\n"),
                ("build/x.py", ""),
                ("scratch/y.py", ""),
                ("a.py", ""),
            ],
        );
        let filter = FileFilter::new(&root, None, &[], true);
        assert_eq!(walked(&filter, &root, &root), vec!["a.py", "build/x.py"]);
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn a_project_below_the_repository_root_reads_the_ignore_files_above_it() {
        let root = temp_tree(
            "higher-repo",
            &[
                (".gitignore", "build/\n/services/api/generated.py\n"),
                ("services/api/pyproject.toml", ""),
                ("services/api/app.py", ""),
                ("services/api/generated.py", ""),
                ("services/api/build/lib/app.py", ""),
            ],
        );
        git_init(&root);
        let project = root.join("services/api");
        let filter = FileFilter::new(&project, None, &[], true);
        assert_eq!(walked(&filter, &root, &project), vec!["services/api/app.py"]);
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn links_are_followed_only_to_files_inside_the_roots() {
        let root = temp_tree("links", &[("project/a.py", ""), ("outside/secret.py", ""), ("outside/pkg/b.py", "")]);
        let project = root.join("project");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(project.join("a.py"), project.join("alias.py")).expect("link");
            std::os::unix::fs::symlink(root.join("outside/secret.py"), project.join("secret.py")).expect("link");
            std::os::unix::fs::symlink(root.join("outside/pkg"), project.join("pkg")).expect("link");
            std::os::unix::fs::symlink(&project, project.join("loop")).expect("link");
        }
        let files = FileFilter::default().walk(std::slice::from_ref(&project), crate::workspace::is_python_file, true);
        let names: Vec<_> = files.iter().map(|path| path.strip_prefix(&project).expect("inside").to_owned()).collect();
        #[cfg(unix)]
        assert_eq!(names, vec![PathBuf::from("a.py"), PathBuf::from("alias.py")]);
        let _ = fs::remove_dir_all(root);
    }
}
