//! The Rust front end: parse with syn (item-level recovery), collect the file's facts (which
//! functions return lazy streams, which are `async fn`), check the `APM4xx` rules on syntax.
//!
//! No type inference: a stream is recognised by its constructor (`stream!`, `futures::stream::unfold`,
//! `ReceiverStream::new`, …), by a function of the same file whose return type or body says so, or
//! by a function of another module of the same crate found through the [`RustIndex`].

mod check;
mod facts;
mod index;
mod parse;

use std::ops::Range;
use std::path::Path;

pub use index::RustIndex;

use crate::{Finding, LineIndex, Rule};

/// The result of checking one Rust file that tokenised.
#[derive(Clone, Debug, Default)]
pub struct RustCheck {
    /// Every rule's findings, sorted by range start.
    pub findings: Vec<Finding>,
    /// Byte ranges of items skipped because they did not parse (a function being edited): the
    /// findings they had in the last good version are unknown, not gone.
    pub skipped: Vec<Range<usize>>,
}

impl RustCheck {
    /// The findings, plus the findings of the last good version (`old`, with `old_findings`)
    /// that fall inside items skipped now, carried over to `new` (this text): a syntax error in
    /// the function being edited keeps that function's findings, except those touching the
    /// edited region.
    pub fn with_last_good(self, old: &str, old_findings: &[Finding], new: &str) -> Vec<Finding> {
        let mut findings = self.findings;
        if self.skipped.is_empty() {
            return findings;
        }
        let inside_skipped = |finding: &Finding| {
            self.skipped.iter().any(|skipped| skipped.start <= finding.range.start && finding.range.end <= skipped.end)
        };
        findings.extend(carry_findings(old, new, old_findings).into_iter().filter(inside_skipped));
        findings.sort_by_key(|finding| (finding.range.start, finding.range.end, finding.rule));
        findings.dedup_by(|a, b| a.range == b.range && a.rule == b.rule);
        findings
    }
}

/// Checks one Rust source file with the rules enabled by default. Findings are sorted by range
/// start. A file that does not even tokenise yields no findings.
pub fn check_rust(source: &str) -> Vec<Finding> {
    let mut findings = check_rust_parsed(source).unwrap_or_default();
    findings.retain(|finding| finding.rule.enabled_by_default());
    findings
}

/// Every rule's findings (including off-by-default ones: the caller filters by its selection),
/// or `None` when the text does not tokenise (mid-edit), so a caller can keep the findings of
/// the last good version. Only the file itself is known (no crate index).
pub fn check_rust_parsed(source: &str) -> Option<Vec<Finding>> {
    check_rust_parsed_in(source, None, &RustIndex::new()).map(|check| check.findings)
}

/// [`check_rust_parsed`] for the file at `path`, resolving calls into other modules of its
/// crate through `index`. The index's entry for `path` (if any) is ignored: `source` is newer.
pub fn check_rust_parsed_in(source: &str, path: Option<&Path>, index: &RustIndex) -> Option<RustCheck> {
    let _spans = parse::SpanGuard;
    let parsed = parse::parse(source)?;
    if !parsed.skipped.is_empty() {
        tracing::debug!("{} items did not parse; they were skipped", parsed.skipped.len());
    }
    let facts = facts::Facts::collect(&parsed.items);
    let location = path.map_or_else(index::detached, index::locate);
    let own = index::FileSummary::new(location, &parsed.items);
    let resolver = index.resolver(path, &own);
    let mut checker = check::Checker::new(source, parsed.base, &facts, &resolver);
    for item in &parsed.items {
        syn::visit::Visit::visit_item(&mut checker, item);
    }
    let mut findings = checker.findings;
    let lines = LineIndex::new(source);
    findings.retain(|finding| !suppressed(source, &lines, finding.rule, finding.range.start));
    findings.sort_by_key(|finding| (finding.range.start, finding.range.end, finding.rule));
    findings.dedup_by(|a, b| a.range == b.range && a.rule == b.rule);
    Some(RustCheck { findings, skipped: parsed.skipped })
}

/// Carries the findings of `old` (the last text that tokenised) over to `new` (a version that
/// does not): findings and fixes outside the changed region are kept, shifted; those touching it
/// are dropped. A transient syntax error must not clear good findings elsewhere in the file.
pub fn carry_findings(old: &str, new: &str, findings: &[Finding]) -> Vec<Finding> {
    let mut prefix = old.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
    while !old.is_char_boundary(prefix) || !new.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old.bytes().rev().zip(new.bytes().rev()).take(max_suffix).take_while(|(a, b)| a == b).count();
    while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix) {
        suffix -= 1;
    }
    let old_changed_end = old.len() - suffix;
    let map = |range: &std::ops::Range<usize>| -> Option<std::ops::Range<usize>> {
        if range.end <= prefix {
            Some(range.clone())
        } else if range.start >= old_changed_end {
            let shift = |offset: usize| offset - old_changed_end + (new.len() - suffix);
            Some(shift(range.start)..shift(range.end))
        } else {
            None
        }
    };
    findings
        .iter()
        .filter_map(|finding| {
            let range = map(&finding.range)?;
            let fixes = finding
                .fixes
                .iter()
                .filter_map(|fix| {
                    let edits = fix
                        .edits
                        .iter()
                        .map(|edit| Some(crate::Edit { range: map(&edit.range)?, content: edit.content.clone() }))
                        .collect::<Option<Vec<_>>>()?;
                    Some(crate::Fix { edits, ..fix.clone() })
                })
                .collect();
            Some(Finding { range, fixes, ..finding.clone() })
        })
        .collect()
}

/// `// asyncsense: ignore[APM403]` (several codes comma-separated; no list means every rule) on
/// the finding's line or the line above.
fn suppressed(source: &str, lines: &LineIndex, rule: Rule, offset: usize) -> bool {
    let line = lines.line(offset);
    let candidates = if line == 0 { vec![0] } else { vec![line, line - 1] };
    candidates.into_iter().any(|line| {
        let start = lines.line_start(line);
        let end = lines.line_start(line + 1).min(source.len());
        source.get(start..end).is_some_and(|text| line_ignores(text, rule))
    })
}

fn line_ignores(line: &str, rule: Rule) -> bool {
    let Some(comment) = line.find("//") else { return false };
    let comment = &line[comment + 2..];
    let Some(at) = comment.find("asyncsense: ignore") else { return false };
    let after = &comment[at + "asyncsense: ignore".len()..];
    let Some(list) = after.strip_prefix('[') else { return true };
    let Some(close) = list.find(']') else { return false };
    list[..close].split(',').any(|code| {
        let code = code.trim();
        code.eq_ignore_ascii_case(rule.code()) || code.eq_ignore_ascii_case(rule.name())
    })
}

/// The edit that silences `rule` on the (0-based) `line`: a comment line above it.
pub fn disable_for_line(source: &str, rule: Rule, line: usize) -> crate::Edit {
    let lines = LineIndex::new(source);
    let start = lines.line_start(line);
    let indent: String = source[start..].chars().take_while(|c| *c == ' ' || *c == '\t').collect();
    crate::Edit { range: start..start, content: format!("{indent}// asyncsense: ignore[{}]\n", rule.code()) }
}

#[cfg(test)]
mod tests;
