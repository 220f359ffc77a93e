//! Client-side text model: LSP positions and ranges, position encodings, and
//! applying edits to a document exactly the way an LSP client must.
//!
//! Lines are split on `\n`, `\r\n` and a lone `\r`, as the LSP specification
//! requires. A [`Pos::character`] counts code units of the negotiated
//! [`PositionEncoding`]: bytes for UTF-8, UTF-16 code units for UTF-16 and
//! Unicode scalar values for UTF-32. A character offset past the end of a line
//! is clamped to the end of that line, and a line past the end of the document
//! is clamped to the end of the document (both as the specification asks); a
//! position that falls *inside* a character (the middle of a surrogate pair or
//! of a multi-byte UTF-8 sequence) is an error.

use std::fmt;

use anyhow::{anyhow, bail, Context as _};
use serde_json::{json, Value};

/// A position in a document: zero-based line and zero-based character offset,
/// counted in the units of the negotiated [`PositionEncoding`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Zero-based line number.
    pub line: u32,
    /// Zero-based offset within the line, in encoding code units.
    pub character: u32,
}

impl Pos {
    /// Creates a position.
    pub const fn new(line: u32, character: u32) -> Self {
        Self { line, character }
    }

    /// The LSP `Position` JSON object.
    pub fn to_json(self) -> Value {
        json!({ "line": self.line, "character": self.character })
    }

    /// Parses an LSP `Position` JSON object.
    pub fn from_json(value: &Value) -> anyhow::Result<Self> {
        let field = |name: &str| -> anyhow::Result<u32> {
            let raw = value
                .get(name)
                .and_then(Value::as_u64)
                .ok_or_else(|| anyhow!("position {value} has no unsigned integer `{name}`"))?;
            u32::try_from(raw).with_context(|| format!("position {value}: `{name}` too large"))
        };
        Ok(Self::new(field("line")?, field("character")?))
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.character)
    }
}

impl From<Pos> for Value {
    fn from(pos: Pos) -> Self {
        pos.to_json()
    }
}

/// A half-open range `[start, end)` in a document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Range {
    /// Inclusive start.
    pub start: Pos,
    /// Exclusive end.
    pub end: Pos,
}

impl Range {
    /// Creates a range from two positions.
    pub const fn new(start: Pos, end: Pos) -> Self {
        Self { start, end }
    }

    /// The LSP `Range` JSON object.
    pub fn to_json(self) -> Value {
        json!({ "start": self.start.to_json(), "end": self.end.to_json() })
    }

    /// Parses an LSP `Range` JSON object.
    pub fn from_json(value: &Value) -> anyhow::Result<Self> {
        let start = value.get("start").ok_or_else(|| anyhow!("range {value} has no `start`"))?;
        let end = value.get("end").ok_or_else(|| anyhow!("range {value} has no `end`"))?;
        Ok(Self::new(Pos::from_json(start)?, Pos::from_json(end)?))
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

impl From<Range> for Value {
    fn from(range: Range) -> Self {
        range.to_json()
    }
}

/// Shorthand for [`Pos::new`].
pub const fn pos(line: u32, character: u32) -> Pos {
    Pos::new(line, character)
}

/// Shorthand for the LSP `Range` JSON object `(l1, c1)-(l2, c2)`.
pub fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    Range::new(Pos::new(l1, c1), Pos::new(l2, c2)).to_json()
}

/// How [`Pos::character`] counts: the LSP `PositionEncodingKind`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PositionEncoding {
    /// `"utf-8"`: characters are byte offsets.
    Utf8,
    /// `"utf-16"`: characters are UTF-16 code units (the LSP default).
    #[default]
    Utf16,
    /// `"utf-32"`: characters are Unicode scalar values.
    Utf32,
}

impl PositionEncoding {
    /// Parses an LSP `PositionEncodingKind` string (`"utf-8"`, `"utf-16"`,
    /// `"utf-32"`).
    pub fn from_lsp(name: &str) -> Option<Self> {
        match name {
            "utf-8" => Some(Self::Utf8),
            "utf-16" => Some(Self::Utf16),
            "utf-32" => Some(Self::Utf32),
            _ => None,
        }
    }

    /// The LSP `PositionEncodingKind` string.
    pub const fn as_lsp(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Utf16 => "utf-16",
            Self::Utf32 => "utf-32",
        }
    }

    /// How many code units of this encoding `c` occupies.
    pub const fn units(self, c: char) -> usize {
        match self {
            Self::Utf8 => c.len_utf8(),
            Self::Utf16 => c.len_utf16(),
            Self::Utf32 => 1,
        }
    }

    /// How many code units of this encoding `s` occupies.
    pub fn len(self, s: &str) -> usize {
        match self {
            Self::Utf8 => s.len(),
            Self::Utf16 => s.encode_utf16().count(),
            Self::Utf32 => s.chars().count(),
        }
    }
}

impl fmt::Display for PositionEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_lsp())
    }
}

/// Byte bounds `(content_start, content_end)` of every line of `text`, without
/// the line terminator. A text always has at least one line; a trailing
/// terminator starts a final empty line.
pub fn line_bounds(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push((start, i));
                i += 1;
                start = i;
            }
            b'\r' => {
                lines.push((start, i));
                i += if bytes.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                start = i;
            }
            _ => i += 1,
        }
    }
    lines.push((start, bytes.len()));
    lines
}

/// The byte offset in `text` of `pos`, interpreted in `encoding`.
///
/// A character past the end of its line clamps to the line end; a line past
/// the last line clamps to the end of the text. A position that splits a
/// character is an error.
pub fn offset_at(text: &str, pos: Pos, encoding: PositionEncoding) -> anyhow::Result<usize> {
    let lines = line_bounds(text);
    let Some(&(start, end)) = usize::try_from(pos.line).ok().and_then(|line| lines.get(line)) else {
        return Ok(text.len());
    };
    let target = usize::try_from(pos.character).unwrap_or(usize::MAX);
    let mut units = 0usize;
    for (i, c) in text[start..end].char_indices() {
        if units == target {
            return Ok(start + i);
        }
        let width = encoding.units(c);
        if units + width > target {
            bail!(
                "position {pos} falls inside the character {c:?} ({width} {encoding} units \
                 starting at character {units}) of line {line:?}",
                line = &text[start..end]
            );
        }
        units += width;
    }
    Ok(end)
}

/// The position of byte offset `offset` in `text`, in `encoding` units.
///
/// An offset inside a line terminator maps to the end of that line. An offset
/// past the end of the text or not on a character boundary is an error.
pub fn position_at(text: &str, offset: usize, encoding: PositionEncoding) -> anyhow::Result<Pos> {
    if offset > text.len() {
        bail!("offset {offset} is past the end of a {}-byte text", text.len());
    }
    if !text.is_char_boundary(offset) {
        bail!("offset {offset} is not on a character boundary");
    }
    let lines = line_bounds(text);
    let index = lines.iter().rposition(|&(start, _)| start <= offset).unwrap_or(0);
    let (start, end) = lines.get(index).copied().unwrap_or((0, 0));
    let character = encoding.len(&text[start..offset.min(end)]);
    Ok(Pos::new(
        u32::try_from(index).context("line number exceeds u32")?,
        u32::try_from(character).context("character offset exceeds u32")?,
    ))
}

/// The range in `encoding` units of the bytes `start..end` of `text`.
pub fn range_at(text: &str, start: usize, end: usize, encoding: PositionEncoding) -> anyhow::Result<Range> {
    Ok(Range::new(position_at(text, start, encoding)?, position_at(text, end, encoding)?))
}

/// Every occurrence of `needle` in `text`, as ranges in `encoding` units, in
/// document order.
pub fn find_ranges(text: &str, needle: &str, encoding: PositionEncoding) -> Vec<Range> {
    text.match_indices(needle).filter_map(|(at, found)| range_at(text, at, at + found.len(), encoding).ok()).collect()
}

/// Converts `range` to a byte range of `text`, rejecting reversed ranges.
fn byte_range(text: &str, range: Range, encoding: PositionEncoding) -> anyhow::Result<(usize, usize)> {
    let start = offset_at(text, range.start, encoding).with_context(|| format!("start of range {range}"))?;
    let end = offset_at(text, range.end, encoding).with_context(|| format!("end of range {range}"))?;
    if end < start {
        bail!("range {range} ends before it starts");
    }
    Ok((start, end))
}

/// Applies `didChange`-style content changes: each change is applied to the
/// result of the previous one, in order.
pub fn apply_changes(text: &str, changes: &[(Range, String)], encoding: PositionEncoding) -> anyhow::Result<String> {
    let mut current = text.to_owned();
    for (index, (range, new_text)) in changes.iter().enumerate() {
        let (start, end) =
            byte_range(&current, *range, encoding).with_context(|| format!("content change #{index}"))?;
        current.replace_range(start..end, new_text);
    }
    Ok(current)
}

/// Applies `TextEdit`s the way a `WorkspaceEdit` does: every range refers to
/// the original `text`, and the edits must not overlap. Inserts at the same
/// position appear in the order they were given, and an insert at the start
/// of a replaced range goes before the replacement.
pub fn apply_text_edits(text: &str, edits: &[(Range, String)], encoding: PositionEncoding) -> anyhow::Result<String> {
    let mut resolved = Vec::with_capacity(edits.len());
    for (index, (range, new_text)) in edits.iter().enumerate() {
        let (start, end) = byte_range(text, *range, encoding).with_context(|| format!("text edit #{index}"))?;
        resolved.push((start, end, index, new_text.as_str()));
    }
    resolved.sort_by_key(|&(start, end, index, _)| (start, end, index));
    let mut out = String::with_capacity(text.len());
    let mut copied_to = 0;
    for &(start, end, index, new_text) in &resolved {
        if start < copied_to {
            bail!(
                "text edit #{index} ({}) overlaps an earlier edit",
                edits.get(index).map_or(Range::default(), |(r, _)| *r)
            );
        }
        out.push_str(&text[copied_to..start]);
        out.push_str(new_text);
        copied_to = end;
    }
    out.push_str(&text[copied_to..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::{Utf16, Utf32, Utf8};

    fn change(l1: u32, c1: u32, l2: u32, c2: u32, text: &str) -> (Range, String) {
        (Range::new(pos(l1, c1), pos(l2, c2)), text.to_owned())
    }

    #[test]
    fn lines_split_on_lf_crlf_and_lone_cr() {
        let text = "a\nbb\r\nccc\rd";
        let lines: Vec<&str> = line_bounds(text).into_iter().map(|(s, e)| &text[s..e]).collect();
        assert_eq!(lines, ["a", "bb", "ccc", "d"]);
        assert_eq!(line_bounds("x\r\n").len(), 2, "trailing CRLF starts a new line");
        assert_eq!(line_bounds("\r\r\n\n").len(), 4);
        assert_eq!(line_bounds("").len(), 1);
    }

    #[test]
    fn emoji_offsets_in_each_encoding() {
        // 🧪 is 4 UTF-8 bytes and 2 UTF-16 code units.
        let text = "a🧪b";
        assert_eq!(offset_at(text, pos(0, 1), Utf16).expect("a|"), 1);
        assert_eq!(offset_at(text, pos(0, 3), Utf16).expect("🧪|"), 5);
        assert_eq!(offset_at(text, pos(0, 4), Utf16).expect("end"), 6);
        assert!(offset_at(text, pos(0, 2), Utf16).is_err(), "splits pair");

        assert_eq!(offset_at(text, pos(0, 5), Utf8).expect("🧪|"), 5);
        for inside in 2..5 {
            assert!(offset_at(text, pos(0, inside), Utf8).is_err(), "{inside}");
        }
        assert_eq!(offset_at(text, pos(0, 2), Utf32).expect("🧪|"), 5);

        assert_eq!(position_at(text, 5, Utf16).expect("pos"), pos(0, 3));
        assert_eq!(position_at(text, 5, Utf8).expect("pos"), pos(0, 5));
        assert_eq!(position_at(text, 5, Utf32).expect("pos"), pos(0, 2));
        assert!(position_at(text, 2, Utf8).is_err(), "not a char boundary");
    }

    #[test]
    fn cjk_offsets_in_each_encoding() {
        // Each of 漢字 is 3 UTF-8 bytes and 1 UTF-16 code unit.
        let text = "x = \"漢字\"";
        assert_eq!(offset_at(text, pos(0, 6), Utf16).expect("漢|"), 8);
        assert_eq!(offset_at(text, pos(0, 8), Utf8).expect("漢|"), 8);
        assert!(offset_at(text, pos(0, 7), Utf8).is_err());
        assert_eq!(position_at(text, 11, Utf16).expect("字|"), pos(0, 7));
        assert_eq!(position_at(text, 11, Utf8).expect("字|"), pos(0, 11));
    }

    #[test]
    fn replace_emoji_in_utf16_and_utf8() {
        let text = "a🧪b";
        let utf16 = apply_changes(text, &[change(0, 1, 0, 3, "x")], Utf16).expect("utf16");
        assert_eq!(utf16, "axb");
        let utf8 = apply_changes(text, &[change(0, 1, 0, 5, "x")], Utf8).expect("utf8");
        assert_eq!(utf8, "axb");
        let after = apply_changes(text, &[change(0, 3, 0, 3, "漢")], Utf16).expect("insert");
        assert_eq!(after, "a🧪漢b");
    }

    #[test]
    fn edits_on_crlf_and_lone_cr_lines() {
        let text = "one\r\ntwo\rthree\nfour";
        let edited =
            apply_changes(text, &[change(1, 0, 1, 3, "TWO"), change(2, 5, 2, 5, "!"), change(3, 0, 3, 1, "F")], Utf16)
                .expect("edits");
        assert_eq!(edited, "one\r\nTWO\rthree!\nFour");
        // Clamping: a character past the line end stops before the CRLF.
        let clamped = apply_changes(text, &[change(0, 99, 0, 99, "+")], Utf8).expect("clamp");
        assert_eq!(clamped, "one+\r\ntwo\rthree\nfour");
        // Deleting across a CRLF joins the lines.
        let joined = apply_changes(text, &[change(0, 3, 1, 0, " ")], Utf16).expect("join");
        assert_eq!(joined, "one two\rthree\nfour");
        // A line past the end clamps to the end of the document.
        let end = apply_changes(text, &[change(9, 0, 9, 0, "\n")], Utf16).expect("end");
        assert_eq!(end, "one\r\ntwo\rthree\nfour\n");
    }

    #[test]
    fn changes_apply_sequentially() {
        // The second change refers to the text produced by the first.
        let edited =
            apply_changes("abc", &[change(0, 0, 0, 0, "🧪"), change(0, 2, 0, 3, "A")], Utf16).expect("sequential");
        assert_eq!(edited, "🧪Abc");
    }

    #[test]
    fn text_edits_apply_simultaneously() {
        let text = "async with get_session() as s:\n    pass\n";
        // Given in no particular order; all ranges refer to the original.
        let edits = [change(0, 24, 0, 29, ""), change(0, 0, 0, 10, "async for"), change(0, 11, 0, 11, "s in ")];
        let edited = apply_text_edits(text, &edits, Utf16).expect("simultaneous");
        assert_eq!(edited, "async for s in get_session():\n    pass\n");
    }

    #[test]
    fn text_edit_inserts_keep_order_and_overlaps_fail() {
        let inserts = [change(0, 1, 0, 1, "x"), change(0, 1, 0, 1, "y")];
        assert_eq!(apply_text_edits("ab", &inserts, Utf8).expect("ok"), "axyb");
        let insert_then_replace = [change(0, 0, 0, 2, "Z"), change(0, 0, 0, 0, "<")];
        assert_eq!(apply_text_edits("ab", &insert_then_replace, Utf8).expect("ok"), "<Z");
        let overlapping = [change(0, 0, 0, 2, "x"), change(0, 1, 0, 3, "y")];
        assert!(apply_text_edits("abcd", &overlapping, Utf8).is_err());
        let reversed = [change(0, 2, 0, 1, "x")];
        assert!(apply_text_edits("abcd", &reversed, Utf8).is_err());
    }

    #[test]
    fn text_edits_with_multibyte_text_in_utf8_and_utf16() {
        let text = "s = \"🧪漢\"; get()\n";
        let at = text.find("get").expect("needle");
        for encoding in [Utf8, Utf16, Utf32] {
            let range = range_at(text, at, at + 3, encoding).expect("range");
            let edited = apply_text_edits(text, &[(range, "put".to_owned())], encoding).expect("edit");
            assert_eq!(edited, "s = \"🧪漢\"; put()\n", "{encoding}");
        }
        let utf8 = find_ranges(text, "get", Utf8);
        let utf16 = find_ranges(text, "get", Utf16);
        assert_eq!(utf8, [Range::new(pos(0, 15), pos(0, 18))]);
        assert_eq!(utf16, [Range::new(pos(0, 11), pos(0, 14))]);
    }

    #[test]
    fn positions_round_trip() {
        let text = "a🧪\r\n漢字\rb\n";
        for encoding in [Utf8, Utf16, Utf32] {
            for (offset, _) in text.char_indices() {
                let p = position_at(text, offset, encoding).expect("position");
                let back = offset_at(text, p, encoding).expect("offset");
                let is_terminator = matches!(text.as_bytes()[offset], b'\r' | b'\n');
                if !is_terminator {
                    assert_eq!(back, offset, "{encoding} {p}");
                }
            }
        }
    }

    #[test]
    fn json_round_trip() {
        let value = range(1, 2, 3, 4);
        let parsed = Range::from_json(&value).expect("range");
        assert_eq!(parsed, Range::new(pos(1, 2), pos(3, 4)));
        assert_eq!(Value::from(parsed), value);
        assert!(Range::from_json(&json!({"start": {"line": -1, "character": 0}})).is_err());
    }
}
