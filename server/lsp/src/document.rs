//! An open document: its text as a rope, its version, and edits applied in order.

use std::path::PathBuf;

use ropey::Rope;
use tower_lsp_server::ls_types::TextDocumentContentChangeEvent;

use crate::position::{range_from_lsp, PositionEncoding};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Python,
    /// Rust and anything else: kept in sync, not analysed yet.
    Other,
}

impl Language {
    pub fn from_language_id(language_id: &str, path: Option<&std::path::Path>) -> Language {
        let by_extension =
            path.and_then(|path| path.extension()).is_some_and(|extension| extension == "py" || extension == "pyi");
        if language_id == "python" || by_extension {
            Language::Python
        } else {
            Language::Other
        }
    }
}

#[derive(Clone, Debug)]
pub struct Document {
    pub rope: Rope,
    pub version: i32,
    pub language: Language,
    /// The file behind the document (`None` for untitled buffers and non-file URIs).
    pub path: Option<PathBuf>,
}

impl Document {
    pub fn new(text: &str, version: i32, language: Language, path: Option<PathBuf>) -> Document {
        Document { rope: Rope::from_str(text), version, language, path }
    }

    /// Applies one `didChange` notification's changes, in order (each change is relative to
    /// the text the previous one produced). Out-of-range positions are clamped.
    pub fn apply_changes(
        &mut self,
        changes: Vec<TextDocumentContentChangeEvent>,
        version: i32,
        encoding: PositionEncoding,
    ) {
        for change in changes {
            match change.range {
                None => self.rope = Rope::from_str(&change.text),
                Some(range) => {
                    let bytes = range_from_lsp(&self.rope, range, encoding);
                    let start = self.rope.byte_to_char(bytes.start);
                    let end = self.rope.byte_to_char(bytes.end);
                    self.rope.remove(start..end);
                    self.rope.insert(start, &change.text);
                }
            }
        }
        if version <= self.version {
            tracing::warn!("document version went from {} to {version}; applied the change anyway", self.version);
        }
        self.version = version;
    }
}

#[cfg(test)]
mod tests {
    use tower_lsp_server::ls_types::{Position, Range};

    use super::*;

    fn change(start: (u32, u32), end: (u32, u32), text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range {
                start: Position { line: start.0, character: start.1 },
                end: Position { line: end.0, character: end.1 },
            }),
            range_length: None,
            text: text.to_owned(),
        }
    }

    #[test]
    fn changes_apply_in_order() {
        let mut document = Document::new("async with f():\n", 1, Language::Python, None);
        document.apply_changes(
            vec![change((0, 6), (0, 10), "for x in"), change((0, 0), (0, 0), "# 🧪\n")],
            2,
            PositionEncoding::Utf16,
        );
        assert_eq!(document.rope.to_string(), "# 🧪\nasync for x in f():\n");
        document.apply_changes(vec![change((0, 2), (0, 4), "ok")], 3, PositionEncoding::Utf16);
        assert_eq!(document.rope.to_string(), "# ok\nasync for x in f():\n");
        assert_eq!(document.version, 3);
    }

    #[test]
    fn out_of_range_edits_clamp_instead_of_panicking() {
        let mut document = Document::new("ab", 1, Language::Python, None);
        document.apply_changes(
            vec![change((5, 0), (9, 9), "!"), change((0, 9), (0, 1), "")],
            2,
            PositionEncoding::Utf8,
        );
        assert_eq!(document.rope.to_string(), "a");
    }
}
