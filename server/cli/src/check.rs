//! `asyncsense check`: index the project around the given paths, check the given files in
//! parallel, print findings in a stable order, optionally apply safe fixes.

use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use asyncsense_analysis::config::{self, find_config, Config};
use asyncsense_analysis::python::check::{check_module_with, CheckContext, Source};
use asyncsense_analysis::python::index_source;
use asyncsense_analysis::python::types::TypeLayer;
use asyncsense_analysis::rules::RuleSet;
use asyncsense_analysis::workspace::{is_python_file, is_rust_file, project_root_of, read_source};
use asyncsense_analysis::{
    apply_edits, compatible_fix_edits, Finding, IndexedModule, ModuleIndex, Rule, WorkspaceIndex,
};
use rayon::prelude::*;

use crate::output::{self, FileReport};
use crate::progress;
use crate::CheckArgs;

/// How many rounds of fixes to apply before giving up (a fix may expose another finding).
const MAX_FIX_ROUNDS: usize = 4;

struct Project {
    rules: RuleSet,
    config: Config,
    roots: Vec<PathBuf>,
    index: WorkspaceIndex,
    /// Sources of the files being checked (the ones the user named), by path.
    sources: HashMap<PathBuf, String>,
    targets: Vec<PathBuf>,
    /// The Rust files found, for calls into other modules of their crate.
    rust_index: asyncsense_analysis::rust::RustIndex,
    /// With `--type-inference`: ty's database over the project, told about every file `--fix`
    /// rewrites.
    types: Option<TypeLayer>,
    /// The file whose source came from standard input, and its name in the report: never
    /// written by `--fix`.
    stdin: Option<(PathBuf, String)>,
}

impl Project {
    fn display(&self, path: &Path, cwd: &Path) -> String {
        match &self.stdin {
            Some((stdin, display)) if stdin == path => display.clone(),
            _ => display_path(path, cwd),
        }
    }
}

/// Runs the check; returns whether findings remain (or, with `--exit-non-zero-on-fix`,
/// whether anything was fixed).
pub fn run(args: &CheckArgs) -> Result<bool> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let stdin = read_stdin(args, &cwd)?;
    let requested = match &stdin {
        Some(stdin) => vec![stdin.path.clone()],
        None if args.paths.is_empty() => vec![PathBuf::from(".")],
        None => args.paths.clone(),
    };
    let mut given = Vec::new();
    for path in &requested {
        if stdin.as_ref().is_some_and(|stdin| stdin.path == *path) {
            given.push(path.clone());
            continue;
        }
        if !path.exists() {
            bail!("{} does not exist", path.display());
        }
        if path.is_file() && !is_python_file(path) && !is_rust_file(path) {
            // `check pyproject.toml`: say so rather than pass it in silence.
            eprintln!(
                "asyncsense: warning: {} is not a source file asyncsense checks (it checks `.py` and `.rs` files); skipped",
                path.display()
            );
            continue;
        }
        given.push(path.canonicalize().with_context(|| format!("cannot resolve {}", path.display()))?);
    }
    if given.is_empty() {
        return Ok(false);
    }

    let mut config = load_config(args.config.as_deref(), &given)?;
    config.extend_exclude.extend(args.extend_exclude.iter().cloned());
    config.force_exclude |= args.force_exclude;
    if args.no_respect_gitignore {
        config.respect_gitignore = Some(false);
    }
    if args.target_version.is_some() {
        config.target_version = args.target_version;
    }
    let rules = rule_selection(args, config.rules())?;
    let unsafe_fixes = args.unsafe_fixes || config.unsafe_fixes;
    let mut project = load_project(&given, rules, config, stdin.as_ref());
    let mut out = report_writer(args)?;
    if args.show_settings {
        show_settings(&mut *out, &project, args, unsafe_fixes)?;
        return Ok(false);
    }
    if args.show_files {
        for path in &project.targets {
            writeln!(out, "{}", project.display(path, &cwd))?;
        }
        return Ok(false);
    }
    if args.type_inference {
        project.types = type_layer(&project);
    }
    let mut fixed_count = 0;
    let mut findings = check_all(&mut project);
    // `--fix --diff` shows the fixes and writes nothing, as `--diff` alone does.
    if args.fix && !args.diff {
        for _ in 0..MAX_FIX_ROUNDS {
            let applied = apply_fixes(&mut project, &findings, unsafe_fixes)?;
            if applied == 0 {
                break;
            }
            fixed_count += applied;
            findings = check_all(&mut project);
        }
    }

    if args.diff {
        let changed = print_diff(&mut *out, &project, &findings, &cwd, unsafe_fixes)?;
        return Ok(changed);
    }
    // `--fix` on standard input prints the fixed source, as ruff does, and nothing else.
    if let (Some(stdin), true) = (&stdin, args.fix) {
        let text = project.sources.get(&stdin.path).unwrap_or(&stdin.text);
        out.write_all(text.as_bytes())?;
        out.flush()?;
        let remaining = findings.iter().any(|file| !file.is_empty());
        return Ok(remaining || (args.exit_non_zero_on_fix && fixed_count > 0));
    }

    let reports: Vec<FileReport<'_>> = project
        .targets
        .iter()
        .zip(&findings)
        .filter(|(_, findings)| !findings.is_empty())
        .filter_map(|(path, findings)| {
            let source = project.sources.get(path)?;
            Some(FileReport { display: project.display(path, &cwd), source, findings })
        })
        .collect();
    let total: usize = reports.iter().map(|report| report.findings.len()).sum();
    let style = if use_colour(args) { output::Style::COLOURED } else { output::Style::PLAIN };
    let text = |full| output::TextOptions { full, quiet: args.quiet, style };
    if args.statistics {
        output::print_statistics(&mut *out, &reports, args.quiet)?;
    } else {
        match args.output_format {
            crate::OutputFormat::Text => output::print_text(&mut *out, &reports, fixed_count, args.fix, text(true))?,
            crate::OutputFormat::Concise => {
                output::print_text(&mut *out, &reports, fixed_count, args.fix, text(false))?;
            }
            crate::OutputFormat::Json => output::print_json(&mut *out, &reports)?,
            crate::OutputFormat::Sarif => output::print_sarif(&mut *out, &reports)?,
            crate::OutputFormat::Github => output::print_github(&mut *out, &reports)?,
        }
    }
    out.flush()?;
    drop(reports);
    // The process ends right after this: freeing every module's facts one allocation at a time
    // would cost about half as much as checking them did.
    std::mem::forget(findings);
    std::mem::forget(project);
    Ok(total > 0 || (args.exit_non_zero_on_fix && fixed_count > 0))
}

/// A source read from standard input (`check -`), and the path it stands for.
struct StdinSource {
    path: PathBuf,
    /// How the report names it: `--stdin-filename` as given, else `-`.
    display: Option<String>,
    text: String,
}

fn read_stdin(args: &CheckArgs, cwd: &Path) -> Result<Option<StdinSource>> {
    let dash = Path::new("-");
    if !args.paths.iter().any(|path| path == dash) {
        if args.stdin_filename.is_some() {
            bail!("--stdin-filename names the source read from standard input: pass `-` as the path");
        }
        return Ok(None);
    }
    if args.paths.len() > 1 {
        bail!("`-` (standard input) cannot be checked together with other paths");
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("cannot read standard input as UTF-8 text")?;
    let named = args.stdin_filename.clone().unwrap_or_else(|| PathBuf::from("stdin.py"));
    let absolute = if named.is_absolute() { named.clone() } else { cwd.join(&named) };
    // The file need not exist; its folder (when it does) decides the project.
    let path = match (absolute.parent().and_then(|parent| parent.canonicalize().ok()), absolute.file_name()) {
        (Some(parent), Some(name)) => parent.join(name),
        _ => absolute,
    };
    let display = args.stdin_filename.as_ref().map(|_| named.display().to_string());
    Ok(Some(StdinSource { path, display, text }))
}

/// Where the report goes: `--output-file`, else standard output.
fn report_writer(args: &CheckArgs) -> Result<Box<dyn Write>> {
    Ok(match &args.output_file {
        Some(path) => {
            if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
            Box::new(std::io::BufWriter::new(file))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// `--color`: `auto` colours only a terminal (never a file or pipe), and not under `NO_COLOR`.
fn use_colour(args: &CheckArgs) -> bool {
    match args.color {
        crate::ColorChoice::Always => true,
        crate::ColorChoice::Never => false,
        crate::ColorChoice::Auto => {
            args.output_file.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        }
    }
}

/// `--show-settings`: what applies to the given paths, one `key: value` line each.
fn show_settings(out: &mut dyn Write, project: &Project, args: &CheckArgs, unsafe_fixes: bool) -> Result<()> {
    let config = &project.config;
    let list = |items: &[String]| if items.is_empty() { "[]".to_owned() } else { format!("[{}]", items.join(", ")) };
    let paths = |items: &[PathBuf]| items.iter().map(|path| path.display().to_string()).collect::<Vec<_>>();
    writeln!(
        out,
        "configuration: {}",
        config.path.as_ref().map_or_else(|| "none (defaults)".to_owned(), |path| path.display().to_string())
    )?;
    writeln!(out, "project roots: {}", list(&paths(&project.roots)))?;
    let rules: Vec<String> =
        Rule::ALL.iter().filter(|rule| project.rules.contains(**rule)).map(|rule| rule.code().to_owned()).collect();
    writeln!(out, "rules: {}", list(&rules))?;
    let per_file: Vec<String> = config
        .per_file_ignores
        .iter()
        .map(|(pattern, rules)| {
            let codes: Vec<&str> = rules.iter().map(|rule| rule.code()).collect();
            format!("{pattern} = {}", codes.join(" "))
        })
        .collect();
    writeln!(out, "per-file-ignores: {}", list(&per_file))?;
    let exclude = match &config.exclude {
        Some(patterns) => list(patterns),
        None => format!(
            "{} (the default)",
            list(
                &asyncsense_analysis::discovery::DEFAULT_EXCLUDE
                    .iter()
                    .map(|pattern| (*pattern).to_owned())
                    .collect::<Vec<_>>()
            )
        ),
    };
    writeln!(out, "exclude: {exclude}")?;
    writeln!(out, "extend-exclude: {}", list(&config.extend_exclude))?;
    writeln!(out, "force-exclude: {}", config.force_exclude)?;
    writeln!(out, "respect-gitignore: {}", config.respects_gitignore())?;
    writeln!(out, "unsafe-fixes: {unsafe_fixes}")?;
    let environment = project.index.environment();
    match &environment {
        Some(environment) => writeln!(out, "venv: {} ({})", environment.root.display(), environment.source.describe())?,
        None => writeln!(out, "venv: none found (library sources are not read)")?,
    }
    match project.index.python_target() {
        Some(target) => writeln!(out, "target Python: {}", target.describe())?,
        None => writeln!(out, "target Python: unknown (version-dependent knowledge says nothing)")?,
    }
    writeln!(out, "type inference: {}", if args.type_inference { "on" } else { "off" })?;
    Ok(())
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

fn display_path(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd).unwrap_or(path).display().to_string()
}

/// Indexes every Python file of the projects around `given` and keeps the sources of the files
/// the user asked about.
fn parse_rules(texts: &[String]) -> Result<Vec<Rule>> {
    texts
        .iter()
        .map(|text| text.trim())
        .filter(|text| !text.is_empty())
        .map(|text| match Rule::selected_by(text) {
            selected if selected.is_empty() => bail!("unknown rule `{text}` (see `asyncsense rule --all`)"),
            selected => Ok(selected),
        })
        .collect::<Result<Vec<Vec<Rule>>>>()
        .map(|selected| selected.into_iter().flatten().collect())
}

/// `--config`, else the nearest configuration file above the first checked path; its errors
/// stop the run (exit 2).
fn load_config(explicit: Option<&Path>, given: &[PathBuf]) -> Result<Config> {
    let path = match explicit {
        Some(path) if !path.is_file() => bail!("--config {}: no such file", path.display()),
        Some(path) => path.canonicalize().with_context(|| format!("cannot resolve {}", path.display()))?,
        None => {
            let start = given.first().map(|path| project_root_of(path));
            let Some(path) = start.as_deref().and_then(find_config) else { return Ok(Config::default()) };
            path
        }
    };
    let (config, errors) = config::load(&path);
    if !errors.is_empty() {
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        bail!("invalid configuration:\n  {}", listed.join("\n  "));
    }
    tracing::info!("using the configuration {}", path.display());
    Ok(config)
}

/// The fix `--fix` applies: the first one, if it is safe (or unsafe fixes are allowed), and
/// only when it stays within the file (edits to other files are for editors, which show them).
fn fix_to_apply(finding: &Finding, unsafe_fixes: bool) -> Option<&asyncsense_analysis::Fix> {
    let fix = if unsafe_fixes { finding.fixes.first() } else { finding.preferred_fix() };
    fix.filter(|fix| fix.other_files.is_empty())
}

/// The edits `--fix` (and `--diff`) apply to one file in one round, and how many fixes they
/// make: whole fixes only (see [`compatible_fix_edits`]).
fn edits_to_apply(findings: &[Finding], unsafe_fixes: bool) -> (Vec<asyncsense_analysis::Edit>, usize) {
    compatible_fix_edits(findings.iter().filter_map(|finding| fix_to_apply(finding, unsafe_fixes)))
}

/// On top of the configuration's rules: `--select` replaces, `--extend-select` adds, `--ignore`
/// removes.
fn rule_selection(args: &CheckArgs, configured: RuleSet) -> Result<RuleSet> {
    let mut rules = if args.select.is_empty() {
        configured
    } else {
        parse_rules(&args.select)?.into_iter().fold(RuleSet::EMPTY, RuleSet::with)
    };
    for rule in parse_rules(&args.extend_select)? {
        rules = rules.with(rule);
    }
    for rule in parse_rules(&args.ignore)? {
        rules = rules.without(rule);
    }
    Ok(rules)
}

fn load_project(given: &[PathBuf], rules: RuleSet, config: Config, stdin: Option<&StdinSource>) -> Project {
    // Every path, file or folder, indexes its whole project; only the given paths are reported.
    let mut roots: Vec<PathBuf> = given.iter().map(|path| project_root_of(path)).collect();
    roots.sort();
    roots.dedup();
    let nested: Vec<PathBuf> = roots
        .iter()
        .filter(|root| roots.iter().any(|other| other != *root && root.starts_with(other)))
        .cloned()
        .collect();
    roots.retain(|root| !nested.contains(root));
    // One set of rules for both languages: ignore files, `exclude`, virtual environments. Without
    // a configuration file, globs are relative to the first project.
    let filter = config.file_filter(roots.first().map_or(Path::new("/"), PathBuf::as_path));
    let mut all_files = filter.walk(&roots, is_python_file, true);
    // Rust calls resolve within the crates of the Rust files found in the given folders.
    let rust_roots: Vec<PathBuf> = given.iter().filter(|path| path.is_dir()).cloned().collect();
    all_files.extend(filter.walk(&rust_roots, is_rust_file, false));
    all_files.sort();
    all_files.dedup();
    for path in given {
        if path.is_file() && !all_files.contains(path) {
            all_files.push(path.clone());
        }
    }
    // The walk never found excluded or ignored files; a file named on the command line is
    // checked unless `force-exclude` is on and `exclude` names it (pre-commit names every file).
    let is_target = |file: &Path| {
        given.iter().any(|path| {
            (file == path && !(config.force_exclude && filter.is_excluded(file)))
                || (path.is_dir() && file.starts_with(path))
        })
    };

    let index = WorkspaceIndex::new();
    // Installed packages resolve what the workspace does not define (read as files, never run).
    index.set_environment(asyncsense_analysis::environment::Environment::discover(config.venv.as_deref(), &roots));
    // Without an environment's Python, the project's declared lowest one (`requires-python`).
    let declared = roots.iter().find_map(|root| config::declared_python(root)).map(|(version, _)| version);
    index.set_python_versions(config.target_version, declared);
    if let Some(target) = index.python_target() {
        tracing::info!("target Python {}", target.describe());
    }
    let rust_index = asyncsense_analysis::rust::RustIndex::new();
    let loaded = progress::run("Indexing", all_files.len(), |progress| {
        map_largest_first(
            &all_files,
            |path| std::fs::metadata(path).map_or(0, |metadata| metadata.len()),
            progress.counting(|path: &PathBuf| match read_source(path) {
                Ok(source) if is_rust_file(path) => {
                    let indexed =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rust_index.update(path, &source)));
                    if let Err(payload) = indexed {
                        tracing::error!("internal error while indexing {}: {}", path.display(), panic_text(&*payload));
                    }
                    true
                }
                Ok(source) => {
                    // One file's failure must not take the run down: log it with the file, go on.
                    let analysed =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| index_source(path, &source, &roots)));
                    match analysed {
                        Ok(module) => {
                            index.insert(Arc::new(module));
                            true
                        }
                        Err(payload) => {
                            tracing::error!(
                                "internal error while analysing {}: {}; skipped",
                                path.display(),
                                panic_text(&*payload)
                            );
                            false
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!("{error}");
                    false
                }
            }),
        )
    });
    // A Rust file named on its own resolves against the rest of its package, read from disk.
    for path in given.iter().filter(|path| path.is_file() && is_rust_file(path)) {
        rust_index.load_package_of(path);
    }
    // Sources are not kept: every module's facts are, and the texts would add as much again as
    // the files weigh. The check reads a Python target again only when it has a finding (for
    // excerpts and fixes), and keeps the texts with findings.
    let mut targets: Vec<PathBuf> = all_files
        .into_iter()
        .zip(loaded)
        .filter(|(path, loaded)| *loaded && is_target(path))
        .map(|(path, _)| path)
        .collect();
    targets.sort();
    let mut sources = HashMap::new();
    // The source from standard input stands for its file, whether or not that is on disk.
    if let Some(stdin) = stdin {
        targets.retain(|path| *path != stdin.path);
        if is_target(&stdin.path) {
            if is_rust_file(&stdin.path) {
                rust_index.update(&stdin.path, &stdin.text);
            } else {
                index.insert(Arc::new(index_source(&stdin.path, &stdin.text, &roots)));
            }
            sources.insert(stdin.path.clone(), stdin.text.clone());
            targets.push(stdin.path.clone());
        }
    }
    let stdin_display =
        stdin.map(|stdin| (stdin.path.clone(), stdin.display.clone().unwrap_or_else(|| "-".to_owned())));
    Project { rules, config, roots, index, sources, targets, rust_index, types: None, stdin: stdin_display }
}

/// The type layer over the project's roots and its environment's installed packages, for the
/// environment's Python; `None` (with a warning) when it cannot be set up.
fn type_layer(project: &Project) -> Option<TypeLayer> {
    let environment = project.index.environment();
    let site_packages = environment.as_ref().map(|environment| environment.site_packages.clone()).unwrap_or_default();
    let python = project.index.python_version();
    match TypeLayer::new(&project.roots, &site_packages, python) {
        Ok(types) => Some(types),
        Err(error) => {
            tracing::warn!("the type layer is off: {error}");
            None
        }
    }
}

/// Applies `function` to every item on the thread pool, handing out the items `weight` ranks
/// largest first (one big file picked up last would leave the other threads idle at the end);
/// results keep the input order.
fn map_largest_first<T, R, F, W>(items: &[T], weight: W, function: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
    W: Fn(&T) -> u64,
{
    let mut order: Vec<(u64, usize)> = items.iter().map(weight).zip(0..).collect();
    order.sort_unstable_by(|left, right| right.cmp(left));
    // One item per task, so an idle thread can steal a single file: the largest files start
    // first and the last tasks of the run are small.
    let mut mapped: Vec<(usize, R)> =
        order.into_par_iter().with_max_len(1).map(|(_, idx)| (idx, function(&items[idx]))).collect();
    mapped.sort_unstable_by_key(|(idx, _)| *idx);
    mapped.into_iter().map(|(_, result)| result).collect()
}

/// Checks every target. The texts of files with findings are kept in `project.sources` (for
/// the report and for fixes); Python files without findings are not read again at all.
fn check_all(project: &mut Project) -> Vec<Vec<Finding>> {
    let cwd = std::env::current_dir().ok();
    let shared: &Project = project;
    let checked = progress::run("Checking", shared.targets.len(), |progress| {
        map_largest_first(
            &shared.targets,
            |path| shared.index.get(path).map_or(0, |module| module.facts.source_len as u64),
            progress.counting(|path: &PathBuf| check_one(shared, path, cwd.as_deref())),
        )
    });
    let mut all = Vec::with_capacity(checked.len());
    for (path, (findings, text)) in project.targets.iter().zip(checked) {
        if let Some(text) = text {
            project.sources.insert(path.clone(), text);
        }
        all.push(findings);
    }
    all
}

/// The findings of one target, and its text when it was read here and has findings.
fn check_one(project: &Project, path: &Path, cwd: Option<&Path>) -> (Vec<Finding>, Option<String>) {
    if !is_rust_file(path) && !project.sources.contains_key(path) {
        if let Some(checked) = check_python_unread(project, path, cwd) {
            return checked;
        }
    }
    // A file fixed by `--fix` has its new text here; any other is read again.
    let read;
    let source = match project.sources.get(path) {
        Some(kept) => kept,
        None => match read_source(path) {
            Ok(text) => {
                read = text;
                &read
            }
            Err(error) => {
                tracing::warn!("{error}");
                return (Vec::new(), None);
            }
        },
    };
    let findings = if is_rust_file(path) {
        check_rust_file(project, path, source)
    } else {
        check_python_file(project, path, source, cwd)
    };
    let keep = (!findings.is_empty() && !project.sources.contains_key(path)).then(|| source.clone());
    (findings, keep)
}

/// A Python target checked against the facts of the index, its text read again only if a
/// finding needs it (most files have none). `None` when the text read differs from the one
/// indexed: the caller then analyses it afresh.
fn check_python_unread(project: &Project, path: &Path, cwd: Option<&Path>) -> Option<(Vec<Finding>, Option<String>)> {
    let module = project.index.get(path)?;
    let changed = std::cell::Cell::new(false);
    let read = || match read_source(path) {
        Ok(text) if text.len() == module.facts.source_len => Some(text),
        Ok(_) => {
            changed.set(true);
            None
        }
        Err(error) => {
            tracing::warn!("{error}");
            None
        }
    };
    let source = Source::lazy(&read);
    let findings = check_python_module(project, &module, path, &source, cwd);
    if changed.get() {
        return None;
    }
    let text = source.into_read().filter(|_| !findings.is_empty());
    Some((findings, text))
}

fn check_python_file(project: &Project, path: &Path, source: &str, cwd: Option<&Path>) -> Vec<Finding> {
    let Some(mut module) = project.index.get(path) else { return Vec::new() };
    if module.facts.source_len != source.len() {
        // The file changed on disk since it was indexed: its facts must describe this text.
        let analysed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| index_source(path, source, &project.roots)));
        let Ok(fresh) = analysed else { return Vec::new() };
        module = Arc::new(fresh);
        project.index.insert(Arc::clone(&module));
    }
    check_python_module(project, &module, path, &Source::loaded(source), cwd)
}

/// Checks `module` (the facts of `path` in the index) against its text.
fn check_python_module(
    project: &Project,
    module: &Arc<IndexedModule>,
    path: &Path,
    source: &Source<'_>,
    cwd: Option<&Path>,
) -> Vec<Finding> {
    let rules = project.config.rules_for(project.rules, path);
    // `check --fix` never applies fixes that edit other files, so it skips building them.
    let context = CheckContext {
        index: &project.index,
        display_root: cwd,
        rules,
        workspace_fixes: false,
        types: project.types.as_ref(),
    };
    isolated(path, || check_module_with(module, source, &context))
}

fn check_rust_file(project: &Project, path: &Path, source: &str) -> Vec<Finding> {
    let rules = project.config.rules_for(project.rules, path);
    isolated(path, || {
        asyncsense_analysis::rust::check_rust_parsed_in(source, Some(path), &project.rust_index)
            .map(|check| check.findings)
            .unwrap_or_default()
    })
    .into_iter()
    .filter(|finding| rules.contains(finding.rule))
    .collect()
}

/// Runs the check of one file: a panic is logged with the file and costs only its findings.
fn isolated(path: &Path, check: impl FnOnce() -> Vec<Finding>) -> Vec<Finding> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)).unwrap_or_else(|payload| {
        tracing::error!("internal error while checking {}: {}; skipped", path.display(), panic_text(&*payload));
        Vec::new()
    })
}

/// `--diff`: the preferred safe fixes as a unified diff (no context lines); nothing is written.
/// Returns whether anything would change.
fn print_diff(
    out: &mut dyn Write,
    project: &Project,
    findings: &[Vec<Finding>],
    cwd: &Path,
    unsafe_fixes: bool,
) -> Result<bool> {
    let mut changed = false;
    for (path, file_findings) in project.targets.iter().zip(findings) {
        let (edits, _) = edits_to_apply(file_findings, unsafe_fixes);
        let Some(source) = project.sources.get(path) else { continue };
        if edits.is_empty() {
            continue;
        }
        let diff = output::unified_diff(&project.display(path, cwd), source, &edits);
        if !diff.is_empty() {
            out.write_all(diff.as_bytes())?;
            changed = true;
        }
    }
    out.flush()?;
    Ok(changed)
}

/// Applies the preferred safe fix of every finding, writes the files, re-indexes them.
fn apply_fixes(project: &mut Project, findings: &[Vec<Finding>], unsafe_fixes: bool) -> Result<usize> {
    let mut applied_total = 0;
    for (path, file_findings) in project.targets.iter().zip(findings) {
        let (edits, applied) = edits_to_apply(file_findings, unsafe_fixes);
        if edits.is_empty() {
            continue;
        }
        let Some(source) = project.sources.get(path) else { continue };
        let (fixed, _) = apply_edits(source, &edits);
        if applied == 0 || fixed == *source {
            continue;
        }
        let from_stdin = project.stdin.as_ref().is_some_and(|(stdin, _)| stdin == path);
        if !from_stdin {
            std::fs::write(path, &fixed).with_context(|| format!("cannot write {}", path.display()))?;
        }
        if let Some(types) = project.types.as_mut() {
            types.file_changed(path);
        }
        if is_rust_file(path) {
            project.rust_index.update(path, &fixed);
            project.sources.insert(path.clone(), fixed);
            applied_total += applied;
            continue;
        }
        let module: Arc<IndexedModule> = Arc::new(index_source(path, &fixed, &project.roots));
        project.index.insert(module);
        project.sources.insert(path.clone(), fixed);
        applied_total += applied;
    }
    Ok(applied_total)
}
