//! Where the index's memory goes: what the facts of every Python file under the given folders
//! hold, counted by kind, with the bytes each kind takes (struct sizes plus the heap blocks
//! they own, before allocator rounding). A planning aid for making facts smaller; massif on a
//! `--no-default-features` build gives the allocator's view.
//!
//! `cargo run --release -p asyncsense_analysis --example facts_size -- /path/to/corpus`

use std::collections::BTreeMap;
use std::mem::{size_of, size_of_val};
use std::path::PathBuf;

use asyncsense_analysis::python::facts::{
    extract, Binding, CallFact, ClassFact, FunctionFact, ModuleFacts, ScopeFact, ScopeKind, UseSite,
};
use asyncsense_analysis::workspace::{discover_python_files, read_source};

#[derive(Default)]
struct Tally {
    count: usize,
    bytes: usize,
}

#[derive(Default)]
struct Report {
    kinds: BTreeMap<&'static str, Tally>,
}

impl Report {
    fn add(&mut self, kind: &'static str, count: usize, bytes: usize) {
        let tally = self.kinds.entry(kind).or_default();
        tally.count += count;
        tally.bytes += bytes;
    }
}

fn binding_kind(scope: &ScopeFact, binding: &Binding) -> &'static str {
    let local = matches!(scope.kind, ScopeKind::Function(_) | ScopeKind::Anonymous);
    match (local, binding) {
        (true, Binding::Parameter(_) | Binding::SelfParameter(_)) => "bindings: parameters",
        (true, _) => "bindings: other locals",
        (false, _) if matches!(scope.kind, ScopeKind::Class(_)) => "bindings: class bodies",
        (false, _) => "bindings: module level",
    }
}

fn tally_module(facts: &ModuleFacts, report: &mut Report) {
    report.add("expressions (nodes, lists, names)", facts.exprs.node_count(), facts.exprs.heap_bytes());
    for (scope, bindings) in facts.scopes_with_bindings() {
        let names = bindings.len() * 8;
        report.add("scopes (struct + name table)", 1, size_of::<ScopeFact>() + names);
        for binding in bindings.all() {
            report.add(binding_kind(scope, binding), 1, size_of::<Binding>());
        }
    }
    report.add("functions", facts.functions.len(), facts.functions.len() * size_of::<FunctionFact>());
    for class in &facts.classes {
        let bytes = size_of::<ClassFact>()
            + size_of_val(&*class.bases)
            + size_of_val(&*class.decorators)
            + size_of_val(&*class.fields)
            + size_of_val(class.instance_attributes());
        report.add("classes", 1, bytes);
    }
    report.add("use sites", facts.use_sites.len(), facts.use_sites.len() * size_of::<UseSite>());
    report.add("calls", facts.calls.len(), facts.calls.len() * size_of::<CallFact>());
    report.add(
        "passed functions",
        facts.passed_functions.len(),
        facts.passed_functions.len() * size_of::<asyncsense_analysis::python::facts::PassedFunction>(),
    );
    report.add("mentions", facts.mentions().len(), facts.mentions().iter().map(|(_, name)| 24 + name.len()).sum());
}

#[expect(clippy::cast_precision_loss, reason = "byte counts far below 2^52, shown as MB")]
fn main() {
    let roots: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let mut report = Report::default();
    let (mut files, mut lines) = (0, 0);
    for path in discover_python_files(&roots) {
        let Ok(source) = read_source(&path) else { continue };
        files += 1;
        lines += source.lines().count();
        tally_module(&extract(&source), &mut report);
    }
    let total: usize = report.kinds.values().map(|tally| tally.bytes).sum();
    println!(
        "{files} files, {lines} lines; facts hold about {:.1} MB ({:.0} bytes per line)",
        total as f64 / 1e6,
        total as f64 / lines.max(1) as f64
    );
    println!("{:<32} {:>9} {:>10}", "kind", "count", "MB");
    for (kind, tally) in &report.kinds {
        println!("{kind:<32} {:>9} {:>10.2}", tally.count, tally.bytes as f64 / 1e6);
    }
}
