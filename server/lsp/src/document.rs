//! An open document: its text as a rope, its version, and edits applied in order.

use std::path::PathBuf;

use ropey::Rope;
use tower_lsp_server::ls_types::TextDocumentContentChangeEvent;

use crate::position::{range_from_lsp, PositionEncoding};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Python,
    Rust,
    /// Anything else: kept in sync, not analysed.
    Other,
}

impl Language {
    pub fn from_language_id(language_id: &str, path: Option<&std::path::Path>) -> Language {
        let by_extension =
            path.and_then(|path| path.extension()).is_some_and(|extension| extension == "py" || extension == "pyi");
        let rust_by_extension = path.and_then(|path| path.extension()).is_some_and(|extension| extension == "rs");
        if language_id == "python" || by_extension {
            Language::Python
        } else if language_id == "rust" || rust_by_extension {
            Language::Rust
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

/// Property test: thousands of random edit sequences (inserts, deletes, replacements, multi-byte
/// text, CRLF and lone CR, several changes per notification in reverse order as VS Code sends
/// them) leave the rope equal to a plain-string model of the same edits.
#[cfg(test)]
mod properties {
    use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent};

    use super::*;
    use crate::position::{offset_to_position, PositionEncoding};

    /// xorshift64*: deterministic, dependency-free randomness for tests.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, bound: usize) -> usize {
            usize::try_from(self.next() % (bound.max(1) as u64)).unwrap_or(0)
        }
    }

    const PIECES: &[&str] =
        &["a", "async with f() as s:\n", "\r\n", "\r", "\n", "🧪", "漢字", "é", "    ", "#", "x = 1\r\n", ""];

    /// A char-boundary offset in `text`.
    fn boundary(random: &mut Random, text: &str) -> usize {
        let mut offset = random.below(text.len() + 1);
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    #[test]
    fn random_edit_sequences_match_a_string_model() {
        let mut random = Random(0x9E37_79B9_7F4A_7C15);
        let mut sequences = 0;
        for _ in 0..10_000 {
            let encoding = [PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32][random.below(3)];
            let mut model = String::new();
            for _ in 0..random.below(4) {
                model.push_str(PIECES[random.below(PIECES.len())]);
            }
            let mut document = Document::new(&model, 1, Language::Python, None);
            for version in 2..2 + random.below(6) {
                // Several non-overlapping changes, sent from the end of the text backwards: each
                // stays valid after the previous one.
                let mut cuts: Vec<usize> =
                    (0..random.below(3) * 2 + 2).map(|_| boundary(&mut random, &model)).collect();
                cuts.sort_unstable();
                let mut changes = Vec::new();
                for pair in cuts.chunks(2).rev() {
                    let (start, end) = (pair[0], pair[1]);
                    let text: String = (0..random.below(3)).map(|_| PIECES[random.below(PIECES.len())]).collect();
                    // Positions are computed on the model before this change, like a client does.
                    let rope = Rope::from_str(&model);
                    let range = Range {
                        start: offset_to_position(&rope, start, encoding),
                        end: offset_to_position(&rope, end, encoding),
                    };
                    // A change ending between `\r` and `\n` of a CRLF cannot be expressed as a
                    // position (both offsets map to the next line); skip such cuts.
                    if model.get(end.saturating_sub(1)..end) == Some("\r") && model.get(end..=end) == Some("\n") {
                        continue;
                    }
                    if model.get(start.saturating_sub(1)..start) == Some("\r") && model.get(start..=start) == Some("\n")
                    {
                        continue;
                    }
                    model.replace_range(start..end, &text);
                    changes.push(TextDocumentContentChangeEvent { range: Some(range), range_length: None, text });
                }
                document.apply_changes(changes, i32::try_from(version).unwrap_or(i32::MAX), encoding);
                assert_eq!(document.rope.to_string(), model, "sequence {sequences}, version {version}, {encoding:?}");
            }
            sequences += 1;
        }
        assert_eq!(sequences, 10_000);
    }

    #[test]
    fn out_of_range_and_inverted_positions_never_panic() {
        let mut random = Random(42);
        for _ in 0..2_000 {
            let mut document = Document::new("a🧪\r\nb\rc\n", 1, Language::Python, None);
            let position = |random: &mut Random| Position {
                line: u32::try_from(random.below(6)).unwrap_or(0),
                character: u32::try_from(random.below(12)).unwrap_or(0),
            };
            let change = TextDocumentContentChangeEvent {
                range: Some(Range { start: position(&mut random), end: position(&mut random) }),
                range_length: None,
                text: "z".to_owned(),
            };
            document.apply_changes(vec![change], 2, PositionEncoding::Utf16);
            assert!(document.rope.to_string().contains('z'));
        }
    }
}
