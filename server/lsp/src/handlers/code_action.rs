//! `textDocument/codeAction`: quick fixes for the findings in range, and
//! `source.fixAll.asyncsense` (safe fixes only). Fixes are recomputed from the current text,
//! never re-derived from a diagnostic's message.

use asyncsense_analysis::suppress::disable_for_line;
use asyncsense_analysis::{Applicability, Fix};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse};

use crate::convert::{self, FIX_ALL_KIND};
use crate::handlers::blocking;
use crate::handlers::INDEX_WAIT;
use crate::position::range_from_lsp;
use crate::server::Server;

/// Whether the client's `only` filter admits actions of `kind` (a filter entry admits itself
/// and every kind under it: `source` admits `source.fixAll.asyncsense`).
fn admitted(only: Option<&[CodeActionKind]>, kind: &str) -> bool {
    only.is_none_or(|only| {
        only.iter().any(|wanted| {
            let wanted = wanted.as_str();
            kind == wanted || kind.strip_prefix(wanted).is_some_and(|rest| rest.starts_with('.'))
        })
    })
}

pub async fn code_action(server: &Server, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
    server.session.wait_until_indexed(INDEX_WAIT).await;
    let uri = params.text_document.uri;
    let Some(snapshot) = server.session.snapshot(&uri) else { return Ok(None) };
    let session = server.session.clone();
    let what = format!("code action analysis of {}", uri.as_str());
    let analysis = blocking(&what, move || session.analyze_with(snapshot, true)).await?;
    let encoding = server.session.encoding();
    let rope = &analysis.snapshot.rope;
    let only = params.context.only.as_deref();
    let mut actions: CodeActionResponse = Vec::new();
    let mut related_texts = convert::RelatedTexts::default();

    if admitted(only, CodeActionKind::QUICKFIX.as_str()) {
        let requested = range_from_lsp(rope, params.range, encoding);
        for finding in &analysis.findings {
            // Touching ranges count: a cursor at either end of the expression asks about it.
            if finding.range.start > requested.end || finding.range.end < requested.start {
                continue;
            }
            let diagnostic = convert::diagnostic(&server.session, &mut related_texts, finding, rope, encoding);
            let preferred = finding.preferred_fix();
            for fix in &finding.fixes {
                let is_preferred = preferred.is_some_and(|preferred| std::ptr::eq(preferred, fix));
                let mut texts =
                    convert::FixTexts { session: &server.session, related: &mut related_texts, rope, encoding };
                actions.push(CodeActionOrCommand::CodeAction(convert::quick_fix(
                    &uri,
                    fix,
                    is_preferred,
                    diagnostic.clone(),
                    &mut texts,
                )));
            }
            // Last, never preferred, never part of fix-all: silence this line (not a syntax
            // error, which no comment silences).
            if finding.rule == asyncsense_analysis::Rule::SyntaxError {
                continue;
            }
            let line = u32::try_from(rope.byte_to_line(finding.range.start.min(rope.len_bytes()))).unwrap_or(u32::MAX);
            let edit = if analysis.snapshot.language == crate::document::Language::Rust {
                Some(asyncsense_analysis::rust::disable_for_line(&analysis.text, finding.rule, line as usize))
            } else {
                disable_for_line(&analysis.text, &analysis.suppressions, finding.rule, line)
            };
            if let Some(edit) = edit {
                let fix = Fix {
                    title: format!("Disable {} for this line", finding.rule.code()),
                    applicability: Applicability::Unsafe,
                    edits: vec![edit],
                    other_files: Vec::new(),
                };
                let mut texts =
                    convert::FixTexts { session: &server.session, related: &mut related_texts, rope, encoding };
                actions.push(CodeActionOrCommand::CodeAction(convert::quick_fix(
                    &uri,
                    &fix,
                    false,
                    diagnostic.clone(),
                    &mut texts,
                )));
            }
        }
    }
    // Fix-all is a source action: offered only when asked for by kind.
    if only.is_some() && admitted(only, FIX_ALL_KIND) {
        if let Some(action) = convert::fix_all(&uri, &analysis.findings, rope, encoding) {
            actions.push(CodeActionOrCommand::CodeAction(action));
        }
    }
    Ok(Some(actions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_filter_is_hierarchical() {
        let source = [CodeActionKind::SOURCE];
        assert!(admitted(Some(&source), FIX_ALL_KIND));
        assert!(!admitted(Some(&source), "quickfix"));
        let fix_all = [CodeActionKind::SOURCE_FIX_ALL];
        assert!(admitted(Some(&fix_all), FIX_ALL_KIND));
        assert!(!admitted(Some(&[CodeActionKind::new("source.fixAll.other")]), FIX_ALL_KIND));
        assert!(admitted(None, "quickfix"));
        assert!(!admitted(Some(&[CodeActionKind::new("sourc")]), FIX_ALL_KIND));
    }
}
