//! Engine findings and fixes → LSP diagnostics and code actions. The only place that does it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use asyncsense_analysis::{compatible_fix_edits, Edit, Finding, Fix, Severity};
use ropey::Rope;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Position, Range, TextEdit, Uri, WorkspaceEdit,
};

use crate::position::{range_to_lsp, PositionEncoding};
use crate::session::Session;

pub const SOURCE: &str = "asyncsense";
pub const FIX_ALL_KIND: &str = "source.fixAll.asyncsense";

/// Texts of the files that related locations point into, loaded once per batch of diagnostics:
/// from the open document when there is one, else from disk.
#[derive(Default)]
pub struct RelatedTexts {
    texts: HashMap<PathBuf, Option<Rope>>,
}

impl RelatedTexts {
    pub fn rope(&mut self, session: &Session, path: &Path) -> Option<Rope> {
        self.texts
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let open = session
                    .documents
                    .iter()
                    .find(|entry| entry.value().path.as_deref() == Some(path))
                    .map(|entry| entry.value().rope.clone());
                open.or_else(|| std::fs::read_to_string(path).ok().map(|text| Rope::from_str(&text)))
            })
            .clone()
    }

    fn range(
        &mut self,
        session: &Session,
        path: &Path,
        range: &std::ops::Range<usize>,
        encoding: PositionEncoding,
    ) -> Option<Range> {
        self.rope(session, path).map(|rope| range_to_lsp(&rope, range, encoding))
    }
}

pub fn diagnostic(
    session: &Session,
    related_texts: &mut RelatedTexts,
    finding: &Finding,
    rope: &Rope,
    encoding: PositionEncoding,
) -> Diagnostic {
    let related: Vec<_> = finding
        .related
        .iter()
        .filter_map(|related| {
            let uri = Uri::from_file_path(&related.path)?;
            let range = related_texts
                .range(session, &related.path, &related.range, encoding)
                .unwrap_or(Range { start: Position::default(), end: Position::default() });
            Some(DiagnosticRelatedInformation { location: Location { uri, range }, message: related.message.clone() })
        })
        .collect();
    let related_information = (!related.is_empty()).then_some(related);
    Diagnostic {
        range: range_to_lsp(rope, &finding.range, encoding),
        severity: Some(match finding.rule.severity() {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(finding.rule.code().to_owned())),
        code_description: None,
        source: Some(SOURCE.to_owned()),
        // The remedy in words only where no quick fix carries it (as the CLI's `help:` line).
        message: match (&finding.help, finding.fixes.is_empty()) {
            (Some(help), true) => format!("{}\nhelp: {help}", finding.message),
            _ => finding.message.clone(),
        },
        related_information,
        tags: None,
        data: None,
    }
}

pub fn text_edits(edits: &[Edit], rope: &Rope, encoding: PositionEncoding) -> Vec<TextEdit> {
    edits
        .iter()
        .map(|edit| TextEdit { range: range_to_lsp(rope, &edit.range, encoding), new_text: edit.content.clone() })
        .collect()
}

fn workspace_edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        document_changes: None,
        change_annotations: None,
    }
}

/// The text of the documents a quick fix is about: the one with the finding, and any other file
/// its edits reach (read from the editor when open, else from disk).
pub struct FixTexts<'a> {
    pub session: &'a Session,
    pub related: &'a mut RelatedTexts,
    pub rope: &'a Rope,
    pub encoding: PositionEncoding,
}

pub fn quick_fix(
    uri: &Uri,
    fix: &Fix,
    preferred: bool,
    diagnostic: Diagnostic,
    texts: &mut FixTexts<'_>,
) -> CodeAction {
    let mut changes = HashMap::new();
    if !fix.edits.is_empty() {
        changes.insert(uri.clone(), text_edits(&fix.edits, texts.rope, texts.encoding));
    }
    for (path, edits) in &fix.other_files {
        let (Some(other_uri), Some(rope)) = (Uri::from_file_path(path), texts.related.rope(texts.session, path)) else {
            continue;
        };
        changes.insert(other_uri, text_edits(edits, &rope, texts.encoding));
    }
    CodeAction {
        title: fix.title.clone(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic]),
        edit: Some(WorkspaceEdit { changes: Some(changes), document_changes: None, change_annotations: None }),
        command: None,
        is_preferred: Some(preferred),
        disabled: None,
        data: None,
    }
}

/// One action that applies every finding's preferred safe fix; a fix that overlaps another is
/// left out whole (never half applied), so the result is always a valid edit.
pub fn fix_all(uri: &Uri, findings: &[Finding], rope: &Rope, encoding: PositionEncoding) -> Option<CodeAction> {
    let (mut kept, _) = compatible_fix_edits(
        findings.iter().filter_map(Finding::preferred_fix).filter(|fix| fix.other_files.is_empty()),
    );
    kept.sort_by_key(|edit| (edit.range.start, edit.range.end));
    if kept.is_empty() {
        return None;
    }
    Some(CodeAction {
        title: "Fix all safe asyncsense findings".to_owned(),
        kind: Some(CodeActionKind::new(FIX_ALL_KIND)),
        diagnostics: None,
        edit: Some(workspace_edit(uri, text_edits(&kept, rope, encoding))),
        command: None,
        is_preferred: None,
        disabled: None,
        data: None,
    })
}
