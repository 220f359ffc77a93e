//! The checker: resolve each use site of a module and report protocol mismatches.

use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::{Finding, RelatedLocation};
use crate::protocol::{classify, Provided, UseSiteKind, ValueKind};
use crate::python::facts::{UseSite, UseSiteShape};
use crate::python::fixes;
use crate::python::resolve::{Origin, Resolver};
use crate::rules::Rule;
use crate::workspace::{IndexedModule, ModuleIndex};

/// What the checker needs besides the module itself.
pub struct CheckContext<'a> {
    pub index: &'a dyn ModuleIndex,
    /// Paths in messages are shown relative to this folder when they are inside it.
    pub display_root: Option<&'a Path>,
}

/// Checks every use site of `module`, whose text is `source`. Findings come out in source order.
pub fn check_module(module: &Arc<IndexedModule>, source: &str, context: &CheckContext<'_>) -> Vec<Finding> {
    let mut resolver = Resolver::new(context.index);
    let mut findings = Vec::new();
    for site in &module.facts.use_sites {
        let value = resolver.evaluate(module, site.scope, &site.operand);
        let (provided, origin) = value.provided();
        let Some(rule) = classify(site.kind, provided) else { continue };
        if let Some(finding) = build_finding(rule, site, provided, origin.as_deref(), source, context) {
            findings.push(finding);
        }
    }
    findings.sort_by_key(|finding| (finding.range.start, finding.rule));
    findings
}

/// `text` shortened for a message.
fn excerpt(text: &str) -> String {
    let single_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if single_line.chars().count() > 60 {
        let mut shortened: String = single_line.chars().take(57).collect();
        shortened.push('…');
        shortened
    } else {
        single_line
    }
}

fn display_path(path: &Path, root: Option<&Path>) -> String {
    let shown = root.and_then(|root| path.strip_prefix(root).ok()).unwrap_or(path);
    shown.display().to_string().replace('\\', "/")
}

fn build_finding(
    rule: Rule,
    site: &UseSite,
    provided: Provided,
    origin: Option<&Origin>,
    source: &str,
    context: &CheckContext<'_>,
) -> Option<Finding> {
    let operand = excerpt(source.get(site.range.clone())?);
    let Provided::Known { kind, .. } = provided else { return None };
    let where_defined = origin.map(|origin| {
        format!("`{}` at {}:{}", origin.description, display_path(&origin.path, context.display_root), origin.line)
    });
    let related = origin
        .map(|origin| RelatedLocation {
            path: origin.path.clone(),
            range: origin.range.clone(),
            message: format!("`{}` is defined here", origin.name),
        })
        .into_iter()
        .collect();

    match rule {
        Rule::AsyncWithOnAsyncGenerator => {
            let target = match &site.shape {
                UseSiteShape::WithItem { target: Some(target), .. } => source.get(target.clone()).unwrap_or("x"),
                _ => "_",
            };
            let what = match (kind, &where_defined) {
                (ValueKind::AsyncGenerator, Some(defined)) => {
                    format!("`{operand}` is an async generator ({defined} contains `yield`)")
                }
                (ValueKind::Instance, Some(defined)) => {
                    format!("`{operand}` is async-iterable but not an async context manager ({defined})")
                }
                (kind, Some(defined)) => format!("`{operand}` is {} ({defined})", kind.article_name()),
                (kind, None) => format!("`{operand}` is {}", kind.article_name()),
            };
            let decorate = match (kind, origin) {
                (ValueKind::AsyncGenerator, Some(origin)) => {
                    format!(", or decorate `{}` with `@contextlib.asynccontextmanager`", origin.name)
                }
                _ => String::new(),
            };
            let message = format!(
                "{what}; `{}` needs {}, which it does not have. Iterate it instead: `async for {target} in {operand}:`{decorate}",
                UseSiteKind::AsyncWith.python_syntax(),
                UseSiteKind::AsyncWith.requires().python_description(),
            );
            let fixes = fixes::swap_guard_for_iteration(source, site).into_iter().collect();
            Some(Finding { rule, range: site.range.clone(), message, fixes, related })
        }
        _ => None,
    }
}
