//! Where the time goes: parse only, parse + facts, and checking, single-threaded, over every
//! Python file under the given folders.
//!
//! `cargo run --release -p asyncsense_analysis --example phases -- /path/to/stdlib`

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use asyncsense_analysis::python::check::{check_module, CheckContext};
use asyncsense_analysis::python::index_source;
use asyncsense_analysis::rules::RuleSet;
use asyncsense_analysis::workspace::{discover_python_files, read_source};
use asyncsense_analysis::WorkspaceIndex;

#[expect(clippy::cast_precision_loss, reason = "byte counts far below 2^52, shown as MB")]
fn main() {
    let roots: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let files = discover_python_files(&roots);
    let sources: Vec<(PathBuf, String)> =
        files.into_iter().filter_map(|path| read_source(&path).ok().map(|source| (path, source))).collect();
    let bytes: usize = sources.iter().map(|(_, source)| source.len()).sum();

    let started = Instant::now();
    for (_, source) in &sources {
        let parsed = ruff_python_parser::parse_unchecked_source(source, ruff_python_ast::PySourceType::Python);
        std::hint::black_box(parsed);
    }
    let parse = started.elapsed();

    let started = Instant::now();
    let modules: Vec<_> = sources.iter().map(|(path, source)| Arc::new(index_source(path, source, &roots))).collect();
    let facts = started.elapsed();
    let index = WorkspaceIndex::new();
    let started = Instant::now();
    for module in &modules {
        index.insert(Arc::clone(module));
    }
    let insert = started.elapsed();

    let context = CheckContext {
        index: &index,
        display_root: None,
        rules: RuleSet::default(),
        workspace_fixes: false,
        types: None,
    };
    let started = Instant::now();
    let findings: usize =
        modules.iter().zip(&sources).map(|(module, (_, source))| check_module(module, source, &context).len()).sum();
    let check = started.elapsed();

    let mb = |duration: Duration| bytes as f64 / 1e6 / duration.as_secs_f64();
    eprintln!("{} files, {:.1} MB, {findings} findings", sources.len(), bytes as f64 / 1e6);
    eprintln!("parse only:           {parse:>10.2?}  ({:.0} MB/s)", mb(parse));
    eprintln!("parse + facts:        {facts:>10.2?}  (facts ≈ {:.2?})", facts.saturating_sub(parse));
    eprintln!("index inserts:        {insert:>10.2?}");
    eprintln!("check (resolve):      {check:>10.2?}");
}
