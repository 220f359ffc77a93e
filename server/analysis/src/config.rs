//! Project configuration: `[tool.asyncsense]` in `pyproject.toml`, or `asyncsense.toml`.
//!
//! Keys: `select`, `extend-select`, `ignore`, `per-file-ignores`, `exclude`, `extend-exclude`,
//! `force-exclude`, `respect-gitignore`, `unsafe-fixes`, `venv`, `target-version`. Globs follow
//! ruff's semantics (see [`crate::discovery`]). A bad key or value is reported with the file, key and line, and the rest of the file
//! still applies: the CLI refuses to run on errors, the server reports them and keeps going.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::discovery::{FileFilter, FilePattern};
use crate::line_index::LineIndex;
use crate::rules::{Rule, RuleSet};

/// The settings of one configuration file (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// The file the settings come from (`None`: defaults).
    pub path: Option<PathBuf>,
    /// The folder globs are relative to (the file's folder).
    pub root: PathBuf,
    pub select: Option<Vec<Rule>>,
    pub extend_select: Vec<Rule>,
    pub ignore: Vec<Rule>,
    pub per_file_ignores: Vec<(String, Vec<Rule>)>,
    /// `None`: the default exclusions ([`crate::discovery::DEFAULT_EXCLUDE`]); set, it replaces them.
    pub exclude: Option<Vec<String>>,
    /// Patterns added to `exclude` (ruff's `extend-exclude`).
    pub extend_exclude: Vec<String>,
    /// Apply `exclude` to files named on the command line too (pre-commit passes file names).
    pub force_exclude: bool,
    /// Skip what `.gitignore`, `.ignore` and git's exclude files list (`None`: yes).
    pub respect_gitignore: Option<bool>,
    pub unsafe_fixes: bool,
    pub venv: Option<PathBuf>,
    /// `target-version = "py39"`: the oldest Python the project supports, `(3, 9)`.
    pub target_version: Option<(u32, u32)>,
    /// `per_file_ignores` compiled on first use (change the patterns before that).
    pub compiled_per_file_ignores: CompiledPatterns,
}

/// A cache beside the settings, not one of them: equal for every two configurations.
#[derive(Clone, Debug, Default)]
pub struct CompiledPatterns(Arc<OnceLock<Vec<PerFileIgnore>>>);

/// One compiled `per-file-ignores` entry (`None`: its glob did not compile, already reported).
type PerFileIgnore = (Option<FilePattern>, Vec<Rule>);

impl PartialEq for CompiledPatterns {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for CompiledPatterns {}

/// One problem in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(formatter, "{}:{}: {}", self.path.display(), self.line, self.message)
        } else {
            write!(formatter, "{}:{}: `{}`: {}", self.path.display(), self.line, self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

const KEYS: &[&str] = &[
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "force-exclude",
    "respect-gitignore",
    "unsafe-fixes",
    "venv",
    "target-version",
];

/// The nearest `asyncsense.toml`, or `pyproject.toml` with a `[tool.asyncsense]` table, from
/// `start` upwards.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    for dir in start.ancestors() {
        let dedicated = dir.join("asyncsense.toml");
        if dedicated.is_file() {
            return Some(dedicated);
        }
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file() && std::fs::read_to_string(&pyproject).is_ok_and(|text| has_own_section(&text)) {
            return Some(pyproject);
        }
    }
    None
}

/// Whether a `pyproject.toml` text has a `[tool.asyncsense]` table (a mention in a comment or
/// string does not count; an unparsable file with the header does, so its errors get shown).
fn has_own_section(text: &str) -> bool {
    if !text.contains("asyncsense") {
        return false;
    }
    let (document, errors) = DeTable::parse_recoverable(text);
    let found = document
        .get_ref()
        .get("tool")
        .and_then(|tool| tool.get_ref().as_table())
        .is_some_and(|tool| tool.contains_key("asyncsense"));
    found || (!errors.is_empty() && text.contains("[tool.asyncsense"))
}

/// Reads a configuration file; returns what is valid and every problem found.
pub fn load(path: &Path) -> (Config, Vec<ConfigError>) {
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut config = Config { path: Some(path.to_path_buf()), root, ..Config::default() };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            let problem = ConfigError {
                path: path.to_path_buf(),
                line: 0,
                key: String::new(),
                message: format!("cannot read: {error}"),
            };
            return (config, vec![problem]);
        }
    };
    let errors = parse_into(&mut config, path, &text);
    (config, errors)
}

/// Parses configuration `text` (the content of `path`) into `config`.
pub fn parse_into(config: &mut Config, path: &Path, text: &str) -> Vec<ConfigError> {
    let lines = LineIndex::new(text);
    let line_of = |offset: usize| lines.line(offset) + 1;
    let mut errors = Vec::new();
    let mut error = |offset: usize, key: &str, message: String| {
        errors.push(ConfigError { path: path.to_path_buf(), line: line_of(offset), key: key.to_owned(), message });
    };
    let (document, parse_errors) = DeTable::parse_recoverable(text);
    for parse_error in parse_errors {
        error(parse_error.span().map_or(0, |span| span.start), "", parse_error.message().to_owned());
    }
    let is_pyproject = path.file_name().is_some_and(|name| name == "pyproject.toml");
    let table = if is_pyproject {
        let tool = document.get_ref().get("tool").and_then(|tool| tool.get_ref().as_table());
        match tool.and_then(|tool| tool.get("asyncsense")) {
            Some(section) => match section.get_ref().as_table() {
                Some(section) => section,
                None => {
                    error(section.span().start, "tool.asyncsense", "must be a table".to_owned());
                    return errors;
                }
            },
            None => return errors,
        }
    } else {
        document.get_ref()
    };

    for (key, value) in table {
        let name = key.get_ref().as_ref();
        let at = key.span().start;
        match name {
            "select" => config.select = Some(rule_list(value, name, &mut error)),
            "extend-select" => config.extend_select = rule_list(value, name, &mut error),
            "ignore" => config.ignore = rule_list(value, name, &mut error),
            "exclude" => config.exclude = Some(glob_list(value, name, &mut error)),
            "extend-exclude" => config.extend_exclude = glob_list(value, name, &mut error),
            "unsafe-fixes" | "force-exclude" | "respect-gitignore" => match value.get_ref().as_bool() {
                Some(flag) if name == "unsafe-fixes" => config.unsafe_fixes = flag,
                Some(flag) if name == "respect-gitignore" => config.respect_gitignore = Some(flag),
                Some(flag) => config.force_exclude = flag,
                None => error(
                    value.span().start,
                    name,
                    format!("expected true or false, found {}", value.get_ref().type_str()),
                ),
            },
            "target-version" => match value.get_ref().as_str().map(parse_target_version) {
                Some(Some(version)) => config.target_version = Some(version),
                _ => error(value.span().start, name, "expected a version such as \"py39\" or \"py312\"".to_owned()),
            },
            "venv" => match value.get_ref().as_str() {
                Some(venv) => config.venv = Some(config.root.join(venv)),
                None => error(
                    value.span().start,
                    name,
                    format!("expected a path string, found {}", value.get_ref().type_str()),
                ),
            },
            "per-file-ignores" => match value.get_ref().as_table() {
                Some(patterns) => {
                    for (pattern, rules) in patterns {
                        let key = format!("per-file-ignores.\"{}\"", pattern.get_ref());
                        if let Err(problem) = crate::discovery::validate_pattern(pattern.get_ref()) {
                            error(pattern.span().start, &key, problem.to_string());
                        }
                        config
                            .per_file_ignores
                            .push((pattern.get_ref().to_string(), rule_list(rules, &key, &mut error)));
                    }
                }
                None => error(value.span().start, name, "expected a table of glob = [codes]".to_owned()),
            },
            _ => error(at, name, format!("unknown key (expected one of: {})", KEYS.join(", "))),
        }
    }
    errors.sort_by_key(|problem| problem.line);
    errors
}

fn string_list(value: &Spanned<DeValue<'_>>, key: &str, error: &mut impl FnMut(usize, &str, String)) -> Vec<String> {
    let Some(items) = value.get_ref().as_array() else {
        error(value.span().start, key, format!("expected an array of strings, found {}", value.get_ref().type_str()));
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item.get_ref().as_str() {
            Some(text) => Some(text.to_owned()),
            None => {
                error(item.span().start, key, format!("expected a string, found {}", item.get_ref().type_str()));
                None
            }
        })
        .collect()
}

/// A list of globs; one that does not compile is reported and left out.
fn glob_list(value: &Spanned<DeValue<'_>>, key: &str, error: &mut impl FnMut(usize, &str, String)) -> Vec<String> {
    let patterns = string_list(value, key, error);
    let offset = value.span().start;
    patterns
        .into_iter()
        .filter(|pattern| match crate::discovery::validate_pattern(pattern) {
            Ok(()) => true,
            Err(problem) => {
                error(offset, key, problem.to_string());
                false
            }
        })
        .collect()
}

fn rule_list(value: &Spanned<DeValue<'_>>, key: &str, error: &mut impl FnMut(usize, &str, String)) -> Vec<Rule> {
    let Some(items) = value.get_ref().as_array() else {
        error(
            value.span().start,
            key,
            format!("expected an array of rule codes, found {}", value.get_ref().type_str()),
        );
        return Vec::new();
    };
    let mut rules = Vec::new();
    for item in items {
        match item.get_ref().as_str() {
            // A code, a name, a code prefix (`APM1`, `APM10`) or `ALL`, as ruff's selectors.
            Some(code) => match Rule::selected_by(code) {
                selected if selected.is_empty() => error(item.span().start, key, format!("unknown rule `{code}`")),
                selected => rules.extend(selected),
            },
            None => error(item.span().start, key, format!("expected a rule code, found {}", item.get_ref().type_str())),
        }
    }
    rules
}

impl Config {
    /// The rules that run for every file: defaults, then `select` (replaces), `extend-select`
    /// (adds), `ignore` (removes).
    pub fn rules(&self) -> RuleSet {
        let mut rules = match &self.select {
            Some(selected) => selected.iter().fold(RuleSet::EMPTY, |set, rule| set.with(*rule)),
            None => RuleSet::default(),
        };
        for rule in &self.extend_select {
            rules = rules.with(*rule);
        }
        for rule in &self.ignore {
            rules = rules.without(*rule);
        }
        rules
    }

    /// The rules for one file, after `per-file-ignores` (ruff's semantics: relative to the
    /// configuration's folder, a slash-less pattern matches the file's name, `!` negates).
    pub fn rules_for(&self, rules: RuleSet, file: &Path) -> RuleSet {
        let compiled = self.compiled_per_file_ignores.0.get_or_init(|| {
            self.per_file_ignores
                .iter()
                .map(|(pattern, ignored)| (FilePattern::new(&self.root, pattern).ok(), ignored.clone()))
                .collect()
        });
        let mut rules = rules;
        for (pattern, ignored) in compiled {
            if pattern.as_ref().is_some_and(|pattern| pattern.matches(file)) {
                for rule in ignored {
                    rules = rules.without(*rule);
                }
            }
        }
        rules
    }

    /// Whether `.gitignore` and the other ignore files apply (the default).
    pub fn respects_gitignore(&self) -> bool {
        self.respect_gitignore.unwrap_or(true)
    }

    /// The walk's rules for this configuration; globs are relative to its folder, or to
    /// `fallback_root` when there is no configuration file.
    pub fn file_filter(&self, fallback_root: &Path) -> FileFilter {
        let root = if self.path.is_some() { self.root.as_path() } else { fallback_root };
        FileFilter::new(root, self.exclude.as_deref(), &self.extend_exclude, self.respects_gitignore())
    }

    /// Whether `exclude`/`extend-exclude` exclude the file or a folder it is in.
    pub fn is_excluded(&self, file: &Path) -> bool {
        self.file_filter(&self.root).is_excluded(file)
    }
}

/// `py39` → `(3, 9)`, `py312` → `(3, 12)`; `None` for anything else.
pub fn parse_target_version(text: &str) -> Option<(u32, u32)> {
    let minor = text.trim().strip_prefix("py3")?;
    if minor.is_empty() || !minor.chars().all(|ch| ch.is_ascii_digit()) {
        return None;
    }
    Some((3, minor.parse().ok()?))
}

/// The oldest Python a project declares it supports: the lower bound of `requires-python` in
/// its `pyproject.toml`, else of `python_requires` in `setup.cfg` or `setup.py` (read as text,
/// never run). `None` when none of them says.
pub fn declared_python(project_root: &Path) -> Option<((u32, u32), PathBuf)> {
    let pyproject = project_root.join("pyproject.toml");
    if let Ok(text) = std::fs::read_to_string(&pyproject) {
        let (document, _) = DeTable::parse_recoverable(&text);
        let declared = document
            .get_ref()
            .get("project")
            .and_then(|project| project.get_ref().as_table())
            .and_then(|project| project.get("requires-python"))
            .and_then(|requires| requires.get_ref().as_str().and_then(lowest_python));
        if let Some(version) = declared {
            return Some((version, pyproject));
        }
    }
    for name in ["setup.cfg", "setup.py"] {
        let path = project_root.join(name);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let found = text.lines().find_map(|line| {
            let rest = line.trim_start().strip_prefix("python_requires")?;
            let value = rest.trim_start().strip_prefix('=')?.trim();
            lowest_python(value.trim_end_matches(',').trim().trim_matches(['"', '\'']))
        });
        if let Some(version) = found {
            return Some((version, path));
        }
    }
    None
}

/// The lowest `(major, minor)` a version specifier admits: `">=3.9"` → 3.9, `">=3.8,<4"` → 3.8,
/// `"~=3.10"` → 3.10, `"==3.11.*"` → 3.11. Clauses are all required, so the highest lower bound
/// wins; `<`, `<=` and `!=` set none.
pub fn lowest_python(specifier: &str) -> Option<(u32, u32)> {
    specifier
        .split(',')
        .filter_map(|clause| {
            let clause = clause.trim();
            let version = [">=", "~=", "==", ">"].iter().find_map(|operator| clause.strip_prefix(operator))?;
            let mut parts = version.trim().split('.');
            let major: u32 = parts.next()?.trim().parse().ok()?;
            let minor: u32 = parts.next().map_or(Some(0), |minor| minor.trim().parse().ok())?;
            Some((major, minor))
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(file_name: &str, text: &str) -> (Config, Vec<ConfigError>) {
        let path = Path::new("/project").join(file_name);
        let mut config = Config { path: Some(path.clone()), root: PathBuf::from("/project"), ..Config::default() };
        let errors = parse_into(&mut config, &path, text);
        (config, errors)
    }

    #[test]
    fn pyproject_section_and_every_key() {
        let (config, errors) = parse(
            "pyproject.toml",
            "[project]\nname = 'x'\n\n[tool.asyncsense]\nselect = ['APM101', 'missing-await']\nextend-select = ['APM302']\nignore = ['APM108']\nexclude = ['migrations']\nunsafe-fixes = true\nvenv = '.venv'\n\n[tool.asyncsense.per-file-ignores]\n'tests/**' = ['APM101']\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let rules = config.rules();
        assert!(rules.contains(Rule::AsyncWithOnAsyncGenerator));
        assert!(rules.contains(Rule::AmbiguousFactoryName));
        assert!(!rules.contains(Rule::MissingAwait), "ignore wins over select");
        assert!(!rules.contains(Rule::AsyncForOnAsyncContextManager), "select replaces the defaults");
        assert!(config.unsafe_fixes);
        assert_eq!(config.venv, Some(PathBuf::from("/project/.venv")));
        let in_tests = config.rules_for(rules, Path::new("/project/tests/unit/test_x.py"));
        assert!(!in_tests.contains(Rule::AsyncWithOnAsyncGenerator));
        assert!(config.rules_for(rules, Path::new("/project/app/x.py")).contains(Rule::AsyncWithOnAsyncGenerator));
        assert!(config.is_excluded(Path::new("/project/app/migrations/0001.py")));
        assert!(!config.is_excluded(Path::new("/project/app/models.py")));
    }

    #[test]
    fn globs_follow_ruff_and_bad_globs_are_reported() {
        let (config, errors) = parse(
            "asyncsense.toml",
            "respect-gitignore = false\nextend-exclude = ['ok', 'bad/[x']\n\n[per-file-ignores]\n'!src/**' = ['APM101']\n'__init__.py' = ['APM102']\n",
        );
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].starts_with("/project/asyncsense.toml:2: `extend-exclude`: invalid glob `bad/[x`"),
            "{shown:?}"
        );
        assert_eq!(config.extend_exclude, vec!["ok".to_owned()]);
        assert!(!config.respects_gitignore());
        assert_eq!(config.exclude, None, "the defaults stay");
        let rules = config.rules();
        // `!src/**`: every file outside `src` loses APM101.
        assert!(!config
            .rules_for(rules, Path::new("/project/tests/test_x.py"))
            .contains(Rule::AsyncWithOnAsyncGenerator));
        assert!(config.rules_for(rules, Path::new("/project/src/app.py")).contains(Rule::AsyncWithOnAsyncGenerator));
        // A slash-less pattern names the file at any depth.
        assert!(!config
            .rules_for(rules, Path::new("/project/src/pkg/__init__.py"))
            .contains(Rule::AsyncForOnAsyncContextManager));
        assert!(config.is_excluded(Path::new("/project/node_modules/x.py")));
    }

    #[test]
    fn errors_name_the_key_and_line_and_keep_the_rest() {
        let (config, errors) = parse(
            "asyncsense.toml",
            "select = ['APM101', 'APM999']\nunsafe-fixes = 'yes'\ncolour = true\nignore = ['APM102']\n",
        );
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            vec![
                "/project/asyncsense.toml:1: `select`: unknown rule `APM999`".to_owned(),
                "/project/asyncsense.toml:2: `unsafe-fixes`: expected true or false, found string".to_owned(),
                format!("/project/asyncsense.toml:3: `colour`: unknown key (expected one of: {})", KEYS.join(", ")),
            ]
        );
        assert_eq!(config.select, Some(vec![Rule::AsyncWithOnAsyncGenerator]));
        assert_eq!(config.ignore, vec![Rule::AsyncForOnAsyncContextManager]);
    }

    #[test]
    fn syntax_errors_have_lines() {
        let (_, errors) = parse("asyncsense.toml", "select = ['APM101'\nignore = [\n");
        assert!(!errors.is_empty());
        assert!(errors[0].line >= 1, "{errors:?}");
    }

    #[test]
    fn only_a_real_table_makes_a_pyproject_ours() {
        assert!(has_own_section("[tool.asyncsense]\nignore = []\n"));
        assert!(has_own_section("[tool.asyncsense.per-file-ignores]\n'a' = []\n"));
        assert!(!has_own_section("# keep [tool.asyncsense] out of this file\n[tool.maturin]\nbindings = 'bin'\n"));
        assert!(!has_own_section("[project]\ndescription = '[tool.asyncsense] docs'\n"));
    }

    #[test]
    fn target_versions_and_declared_pythons() {
        let (config, errors) =
            parse("asyncsense.toml", "target-version = 'py39'\nforce-exclude = true\nextend-exclude = ['gen']\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(config.target_version, Some((3, 9)));
        assert!(config.force_exclude);
        assert!(config.is_excluded(Path::new("/project/gen/x.py")));
        let (_, errors) = parse("asyncsense.toml", "target-version = '3.9'\n");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(parse_target_version("py312"), Some((3, 12)));
        assert_eq!(parse_target_version("py2"), None);
        assert_eq!(lowest_python(">=3.9"), Some((3, 9)));
        assert_eq!(lowest_python(">=3.8, <4"), Some((3, 8)));
        assert_eq!(lowest_python("~=3.10"), Some((3, 10)));
        assert_eq!(lowest_python("==3.11.*"), Some((3, 11)));
        assert_eq!(lowest_python("<3.12"), None);
        assert_eq!(lowest_python(">=3.7,>=3.9,!=3.10.1"), Some((3, 9)));
    }
}
