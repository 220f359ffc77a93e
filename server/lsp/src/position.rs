//! The one place that converts between byte offsets and LSP positions.
//!
//! Columns are counted in the negotiated encoding (UTF-8 bytes, UTF-16 code units or code
//! points). Lines break only at `\n`, `\r\n` and `\r` (ropey's `cr_lines`), as the LSP says.
//! Positions past the end of a line or of the document are clamped, never rejected.

use ropey::Rope;
use tower_lsp_server::ls_types::{Position, PositionEncodingKind, Range};

/// A negotiated position encoding. Ordered by preference: the best one the client offers wins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum PositionEncoding {
    Utf8,
    #[default]
    Utf16,
    Utf32,
}

impl PositionEncoding {
    /// Picks UTF-8 when the client offers it, else UTF-16 (which every client must support).
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> PositionEncoding {
        let offers_utf8 = offered.is_some_and(|kinds| kinds.contains(&PositionEncodingKind::UTF8));
        if offers_utf8 {
            PositionEncoding::Utf8
        } else {
            PositionEncoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
            PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
            PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn width(self, ch: char) -> usize {
        match self {
            PositionEncoding::Utf8 => ch.len_utf8(),
            PositionEncoding::Utf16 => ch.len_utf16(),
            PositionEncoding::Utf32 => 1,
        }
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Characters of `line` before its line break.
fn line_content_chars(rope: &Rope, line: usize) -> usize {
    let slice = rope.line(line);
    let mut len = slice.len_chars();
    if len > 0 && slice.char(len - 1) == '\n' {
        len -= 1;
    }
    if len > 0 && slice.char(len - 1) == '\r' {
        len -= 1;
    }
    len
}

/// Byte offset → position. Offsets past the end clamp to the end; offsets inside a character
/// round down to its start.
pub fn offset_to_position(rope: &Rope, offset: usize, encoding: PositionEncoding) -> Position {
    let offset = offset.min(rope.len_bytes());
    let char_idx = rope.byte_to_char(offset);
    let line = rope.char_to_line(char_idx);
    let line_start = rope.line_to_char(line);
    let character = match encoding {
        PositionEncoding::Utf8 => rope.char_to_byte(char_idx) - rope.line_to_byte(line),
        PositionEncoding::Utf16 => rope.char_to_utf16_cu(char_idx) - rope.char_to_utf16_cu(line_start),
        PositionEncoding::Utf32 => char_idx - line_start,
    };
    Position { line: to_u32(line), character: to_u32(character) }
}

/// Position → byte offset, clamped: a line past the end means the end of the document, a
/// column past the end of its line means the end of that line (before the line break), and a
/// column inside a character (half a surrogate pair, a byte inside a UTF-8 sequence) rounds
/// down to the character's start.
pub fn position_to_offset(rope: &Rope, position: Position, encoding: PositionEncoding) -> usize {
    let line = position.line as usize;
    if line >= rope.len_lines() {
        return rope.len_bytes();
    }
    let line_start = rope.line_to_char(line);
    let content_chars = line_content_chars(rope, line);
    let wanted = position.character as usize;
    let mut consumed = 0;
    let mut chars = 0;
    for ch in rope.line(line).chars().take(content_chars) {
        let width = encoding.width(ch);
        if consumed + width > wanted {
            break;
        }
        consumed += width;
        chars += 1;
    }
    rope.char_to_byte(line_start + chars)
}

pub fn range_to_lsp(rope: &Rope, range: &std::ops::Range<usize>, encoding: PositionEncoding) -> Range {
    Range { start: offset_to_position(rope, range.start, encoding), end: offset_to_position(rope, range.end, encoding) }
}

/// LSP range → byte range, clamped and with an inverted range put right.
pub fn range_from_lsp(rope: &Rope, range: Range, encoding: PositionEncoding) -> std::ops::Range<usize> {
    let start = position_to_offset(rope, range.start, encoding);
    let end = position_to_offset(rope, range.end, encoding);
    start.min(end)..start.max(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn emoji_counts_by_encoding() {
        let rope = Rope::from_str("a🧪b\n");
        let b_offset = "a🧪".len();
        assert_eq!(offset_to_position(&rope, b_offset, PositionEncoding::Utf8), position(0, 5));
        assert_eq!(offset_to_position(&rope, b_offset, PositionEncoding::Utf16), position(0, 3));
        assert_eq!(offset_to_position(&rope, b_offset, PositionEncoding::Utf32), position(0, 2));
        for encoding in [PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32] {
            let there = offset_to_position(&rope, b_offset, encoding);
            assert_eq!(position_to_offset(&rope, there, encoding), b_offset, "{encoding:?}");
        }
    }

    #[test]
    fn half_a_surrogate_pair_rounds_down() {
        let rope = Rope::from_str("a🧪b");
        assert_eq!(position_to_offset(&rope, position(0, 2), PositionEncoding::Utf16), 1);
        assert_eq!(position_to_offset(&rope, position(0, 3), PositionEncoding::Utf8), 1);
    }

    #[test]
    fn cjk_and_line_breaks() {
        let text = "漢字\r\nx\ry\nz";
        let rope = Rope::from_str(text);
        let z = text.find('z').expect("z");
        assert_eq!(offset_to_position(&rope, z, PositionEncoding::Utf16), position(3, 0));
        let y = text.find('y').expect("y");
        assert_eq!(offset_to_position(&rope, y, PositionEncoding::Utf16), position(2, 0));
        assert_eq!(position_to_offset(&rope, position(0, 2), PositionEncoding::Utf16), "漢字".len());
        assert_eq!(position_to_offset(&rope, position(0, 6), PositionEncoding::Utf8), "漢字".len());
    }

    #[test]
    fn out_of_range_clamps() {
        let rope = Rope::from_str("ab\r\ncd");
        assert_eq!(position_to_offset(&rope, position(0, 99), PositionEncoding::Utf16), 2);
        assert_eq!(position_to_offset(&rope, position(99, 0), PositionEncoding::Utf16), 6);
        assert_eq!(offset_to_position(&rope, 99, PositionEncoding::Utf16), position(1, 2));
        let inverted = Range { start: position(1, 1), end: position(0, 1) };
        assert_eq!(range_from_lsp(&rope, inverted, PositionEncoding::Utf16), 1..5);
    }

    #[test]
    fn negotiation_prefers_utf8() {
        let both = [PositionEncodingKind::UTF16, PositionEncodingKind::UTF8];
        assert_eq!(PositionEncoding::negotiate(Some(&both)), PositionEncoding::Utf8);
        assert_eq!(PositionEncoding::negotiate(Some(&[PositionEncodingKind::UTF32])), PositionEncoding::Utf16);
        assert_eq!(PositionEncoding::negotiate(None), PositionEncoding::Utf16);
    }
}
