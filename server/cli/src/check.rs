//! `asyncsense check`: index the project around the given paths, check the given files in
//! parallel, print findings in a stable order, optionally apply safe fixes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use asyncsense_analysis::config::{self, find_config, Config};
use asyncsense_analysis::python::check::{check_module_with, CheckContext, Source};
use asyncsense_analysis::python::index_source;
use asyncsense_analysis::python::types::TypeLayer;
use asyncsense_analysis::rules::RuleSet;
use asyncsense_analysis::workspace::{
    discover_python_files, discover_rust_files, is_rust_file, project_root_of, read_source,
};
use asyncsense_analysis::{apply_edits, compatible_fix_edits, parallel, Finding, IndexedModule, Rule, WorkspaceIndex};

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
}

/// Runs the check; returns whether findings remain.
pub fn run(args: &CheckArgs) -> Result<bool> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let requested = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let mut given = Vec::new();
    for path in &requested {
        if !path.exists() {
            bail!("{} does not exist", path.display());
        }
        given.push(path.canonicalize().with_context(|| format!("cannot resolve {}", path.display()))?);
    }

    let config = load_config(&given)?;
    let rules = rule_selection(args, config.rules())?;
    let unsafe_fixes = args.unsafe_fixes || config.unsafe_fixes;
    let mut project = load_project(&given, rules, config);
    if args.type_inference {
        project.types = type_layer(&project);
    }
    let mut fixed_count = 0;
    let mut findings = check_all(&mut project);
    if args.fix {
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
        return Ok(print_diff(&project, &findings, &cwd, unsafe_fixes));
    }

    let reports: Vec<FileReport<'_>> = project
        .targets
        .iter()
        .zip(&findings)
        .filter(|(_, findings)| !findings.is_empty())
        .filter_map(|(path, findings)| {
            let source = project.sources.get(path)?;
            Some(FileReport { display: display_path(path, &cwd), source, findings })
        })
        .collect();
    let total: usize = reports.iter().map(|report| report.findings.len()).sum();
    match args.output_format {
        crate::OutputFormat::Text => output::print_text(&reports, fixed_count, args.fix, true)?,
        crate::OutputFormat::Concise => output::print_text(&reports, fixed_count, args.fix, false)?,
        crate::OutputFormat::Json => output::print_json(&reports)?,
        crate::OutputFormat::Sarif => output::print_sarif(&reports)?,
        crate::OutputFormat::Github => output::print_github(&reports)?,
    }
    drop(reports);
    // The process ends right after this: freeing every module's facts one allocation at a time
    // would cost about half as much as checking them did.
    std::mem::forget(findings);
    std::mem::forget(project);
    Ok(total > 0)
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
        .map(|text| {
            Rule::from_code_or_name(text).with_context(|| format!("unknown rule `{text}` (see `asyncsense rule`)"))
        })
        .collect()
}

/// The nearest configuration file above the first checked path; its errors stop the run (exit 2).
fn load_config(given: &[PathBuf]) -> Result<Config> {
    let start = given.first().map(|path| project_root_of(path));
    let Some(path) = start.as_deref().and_then(find_config) else { return Ok(Config::default()) };
    let (config, errors) = config::load(&path);
    if !errors.is_empty() {
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        bail!("invalid configuration:\n  {}", listed.join("\n  "));
    }
    tracing::debug!("using configuration {}", path.display());
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

fn load_project(given: &[PathBuf], rules: RuleSet, config: Config) -> Project {
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
    let mut all_files = discover_python_files(&roots);
    // Rust calls resolve within the crates of the Rust files found in the given folders.
    let rust_roots: Vec<PathBuf> = given.iter().filter(|path| path.is_dir()).cloned().collect();
    all_files.extend(discover_rust_files(&rust_roots));
    all_files.sort();
    all_files.dedup();
    for path in given {
        if path.is_file() && !all_files.contains(path) {
            all_files.push(path.clone());
        }
    }
    // `exclude` applies to files found in folders; a file named on the command line is checked.
    let is_target = |file: &Path| {
        given.iter().any(|path| file == path || (path.is_dir() && file.starts_with(path) && !config.is_excluded(file)))
    };

    let index = WorkspaceIndex::new();
    // Installed packages resolve what the workspace does not define (read as files, never run).
    index.set_environment(asyncsense_analysis::environment::Environment::discover(config.venv.as_deref(), &roots));
    let rust_index = asyncsense_analysis::rust::RustIndex::new();
    let loaded = progress::run("Indexing", all_files.len(), |progress| {
        parallel::map_largest_first(
            &all_files,
            parallel::default_threads(),
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
    Project { rules, config, roots, index, sources: HashMap::new(), targets, rust_index, types: None }
}

/// The type layer over the project's roots and its environment's installed packages, for the
/// environment's Python; `None` (with a warning) when it cannot be set up.
fn type_layer(project: &Project) -> Option<TypeLayer> {
    let environment = project.index.environment();
    let site_packages = environment.as_ref().map(|environment| environment.site_packages.clone()).unwrap_or_default();
    let python = environment.as_ref().and_then(|environment| environment.python);
    match TypeLayer::new(&project.roots, &site_packages, python) {
        Ok(types) => Some(types),
        Err(error) => {
            tracing::warn!("the type layer is off: {error}");
            None
        }
    }
}

/// Checks every target. The texts of files with findings are kept in `project.sources` (for
/// the report and for fixes); Python files without findings are not read again at all.
fn check_all(project: &mut Project) -> Vec<Vec<Finding>> {
    let cwd = std::env::current_dir().ok();
    let shared: &Project = project;
    let checked = progress::run("Checking", shared.targets.len(), |progress| {
        parallel::map_largest_first(
            &shared.targets,
            parallel::default_threads(),
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
fn print_diff(project: &Project, findings: &[Vec<Finding>], cwd: &Path, unsafe_fixes: bool) -> bool {
    let mut changed = false;
    for (path, file_findings) in project.targets.iter().zip(findings) {
        let (edits, _) = edits_to_apply(file_findings, unsafe_fixes);
        let Some(source) = project.sources.get(path) else { continue };
        if edits.is_empty() {
            continue;
        }
        let diff = output::unified_diff(&display_path(path, cwd), source, &edits);
        if !diff.is_empty() {
            print!("{diff}");
            changed = true;
        }
    }
    changed
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
        std::fs::write(path, &fixed).with_context(|| format!("cannot write {}", path.display()))?;
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
