//! Where the index's memory goes: what the facts of every Python file under the given folders
//! hold, counted by kind, with the bytes each kind takes (struct sizes plus the heap blocks
//! they own, before allocator rounding). A planning aid for making facts smaller; massif on a
//! `--no-default-features` build gives the allocator's view.
//!
//! `cargo run --release -p asyncsense_analysis --example facts_size -- /path/to/corpus`

use std::collections::BTreeMap;
use std::mem::size_of;
use std::path::PathBuf;

use asyncsense_analysis::python::facts::{
    extract, Binding, ClassFact, FunctionFact, ModuleFacts, ParameterBinding, ScopeFact, ScopeKind, UseSite, ValueExpr,
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

/// Heap bytes owned by an expression (its own inline size is counted by its holder).
fn expr_heap(expr: &ValueExpr, report: &mut Report) -> usize {
    let node = size_of::<ValueExpr>();
    let boxed = |inner: &ValueExpr, report: &mut Report| node + expr_heap(inner, report);
    let list = |items: &[ValueExpr], report: &mut Report| {
        std::mem::size_of_val(items) + items.iter().map(|item| expr_heap(item, report)).sum::<usize>()
    };
    let heap = match expr {
        ValueExpr::Name(name) => {
            report.add("expr name bytes", 1, name.len());
            name.len()
        }
        ValueExpr::Attribute(base, name) => boxed(base, report) + name.len(),
        ValueExpr::Call(callee, arguments) => boxed(callee, report) + list(arguments, report),
        ValueExpr::Subscript(base, items) => boxed(base, report) + list(items, report),
        ValueExpr::Union(items) | ValueExpr::Or(items) | ValueExpr::Collection(items) => list(items, report),
        ValueExpr::Await(inner) | ValueExpr::Entered(inner) | ValueExpr::Element(inner, _) => boxed(inner, report),
        ValueExpr::Keyword(name, value) => name.len() + boxed(value, report),
        ValueExpr::NoneLiteral | ValueExpr::Other => 0,
    };
    report.add("expr nodes", 1, 0);
    heap
}

fn binding_heap(binding: &Binding, report: &mut Report) -> usize {
    match binding {
        Binding::Function(_) | Binding::Class(_) | Binding::SelfParameter(_) | Binding::Opaque => 0,
        Binding::ImportModule(name) => name.len(),
        Binding::ImportFrom(import) => {
            size_of::<asyncsense_analysis::python::facts::ImportFrom>() + import.module.len() + import.name.len()
        }
        Binding::Value(value) => size_of::<ValueExpr>() + expr_heap(value, report),
        Binding::Parameter(parameter) => {
            let ParameterBinding { annotation, slot } = &**parameter;
            size_of::<ParameterBinding>()
                + annotation.as_ref().map_or(0, |annotation| expr_heap(annotation, report))
                + slot.as_ref().map_or(0, |slot| {
                    slot.name.len()
                        + slot.default.as_ref().map_or(0, |default| size_of::<ValueExpr>() + expr_heap(default, report))
                })
        }
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
    for scope in &facts.scopes {
        let names: usize = scope.bindings.iter().map(|(name, _)| name.len() + 8).sum();
        report.add("scopes (struct + name table)", 1, size_of::<ScopeFact>() + names);
        for binding in scope.bindings.all() {
            let bytes = size_of::<Binding>() + binding_heap(binding, report);
            report.add(binding_kind(scope, binding), 1, bytes);
        }
    }
    for function in &facts.functions {
        report.add("functions", 1, size_of::<FunctionFact>() + function.name.len() + function.indent.len());
        let mut bytes = 0;
        let listed = function.decorators.iter().chain(&function.produced);
        for expr in listed {
            bytes += size_of::<ValueExpr>() + expr_heap(expr, report);
        }
        if let Some((returns, _)) = &function.returns {
            bytes += expr_heap(returns, report);
        }
        report.add("functions: decorators, returns, produced", 0, bytes);
    }
    for class in &facts.classes {
        let mut bytes = size_of::<ClassFact>() + class.name.len();
        for expr in class.bases.iter().chain(class.decorators.iter()) {
            bytes += size_of::<ValueExpr>() + expr_heap(expr, report);
        }
        for (name, assignments) in &class.instance_attributes {
            bytes += name.len() + 40;
            for assignment in assignments {
                bytes += size_of::<asyncsense_analysis::python::facts::AttributeAssignment>()
                    + expr_heap(&assignment.value, report);
            }
        }
        report.add("classes", 1, bytes);
    }
    for site in &facts.use_sites {
        let bytes = size_of::<UseSite>() + expr_heap(&site.operand, report);
        report.add("use sites", 1, bytes);
    }
    for call in &facts.calls {
        let mut bytes = size_of::<asyncsense_analysis::python::facts::CallFact>() + expr_heap(&call.callee, report);
        for argument in call.arguments.iter().chain(call.keywords.iter().map(|(_, value)| value)) {
            bytes += size_of::<ValueExpr>() + expr_heap(argument, report);
        }
        report.add("calls", 1, bytes);
    }
    for passed in &facts.passed_functions {
        let bytes = size_of::<asyncsense_analysis::python::facts::PassedFunction>()
            + expr_heap(&passed.callee, report)
            + expr_heap(&passed.argument, report);
        report.add("passed functions", 1, bytes);
    }
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
    let total: usize =
        report.kinds.iter().filter(|(kind, _)| !kind.starts_with("expr")).map(|(_, tally)| tally.bytes).sum();
    println!(
        "{files} files, {lines} lines; facts hold about {:.1} MB ({:.0} bytes per line)",
        total as f64 / 1e6,
        total as f64 / lines.max(1) as f64
    );
    println!("{:<32} {:>9} {:>10}", "kind", "count", "MB");
    for (kind, tally) in &report.kinds {
        println!("{kind:<32} {:>9} {:>10.2}", tally.count, tally.bytes as f64 / 1e6);
    }
    println!("(expression nodes and name bytes are included in the kinds that hold them)");
}
