//! Byte offset → (line, column) for reports outside the editor (CLI output, messages that point
//! at another file). Lines break at `\n`, `\r\n` and `\r`, as in the LSP specification.

/// Start offsets of every line of one text.
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut line_starts = Vec::with_capacity(bytes.len() / 32 + 1);
        line_starts.push(0);
        if memchr::memchr(b'\r', bytes).is_none() {
            push_newlines(bytes, &mut line_starts);
        } else {
            for idx in memchr::memchr2_iter(b'\n', b'\r', bytes) {
                // In `\r\n` the line starts after the `\n`, found next.
                if bytes[idx] == b'\r' && bytes.get(idx + 1) == Some(&b'\n') {
                    continue;
                }
                line_starts.push(idx + 1);
            }
        }
        LineIndex { line_starts, len: text.len() }
    }

    /// 0-based line containing `offset` (offsets past the end clamp to the last line).
    pub fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// 1-based line number, saturating at `u32::MAX`.
    pub fn line_number(&self, offset: usize) -> u32 {
        u32::try_from(self.line(offset) + 1).unwrap_or(u32::MAX)
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line).copied().unwrap_or(self.len)
    }

    /// 1-based row and 1-based column counted in characters (Unicode scalar values).
    pub fn row_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line(offset);
        let start = self.line_start(line);
        let column = text.get(start..offset).map_or(offset - start, |prefix| prefix.chars().count());
        (line + 1, column + 1)
    }
}

/// Line numbers for offsets asked mostly in increasing order (a syntax walk), without an index
/// of every line: the newlines between the last offset asked and the next are counted, eight
/// bytes at a time. Texts with carriage returns (rare) fall back to a [`LineIndex`].
pub struct LineCursor<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
    fallback: Option<LineIndex>,
}

impl<'a> LineCursor<'a> {
    pub fn new(text: &'a str) -> LineCursor<'a> {
        let fallback = memchr::memchr(b'\r', text.as_bytes()).map(|_| LineIndex::new(text));
        LineCursor { text: text.as_bytes(), offset: 0, line: 0, fallback }
    }

    /// 0-based line containing `offset` (offsets past the end clamp to the last line).
    pub fn line(&mut self, offset: usize) -> usize {
        if let Some(index) = &self.fallback {
            return index.line(offset);
        }
        let offset = offset.min(self.text.len());
        if offset >= self.offset {
            self.line += count_newlines(&self.text[self.offset..offset]);
        } else {
            self.line -= count_newlines(&self.text[offset..self.offset]);
        }
        self.offset = offset;
        self.line
    }

    /// 1-based line number, saturating at `u32::MAX`.
    pub fn line_number(&mut self, offset: usize) -> u32 {
        u32::try_from(self.line(offset) + 1).unwrap_or(u32::MAX)
    }

    /// Start of the line containing `offset`.
    pub fn line_start_of(&mut self, offset: usize) -> usize {
        if let Some(index) = &self.fallback {
            return index.line_start(index.line(offset));
        }
        let offset = offset.min(self.text.len());
        memchr::memrchr(b'\n', &self.text[..offset]).map_or(0, |newline| newline + 1)
    }

    /// Start of the line after the one containing `offset` (the end of the text on the last).
    pub fn next_line_start(&mut self, offset: usize) -> usize {
        if let Some(index) = &self.fallback {
            return index.line_start(index.line(offset) + 1);
        }
        let offset = offset.min(self.text.len());
        memchr::memchr(b'\n', &self.text[offset..]).map_or(self.text.len(), |newline| offset + newline + 1)
    }
}

/// The bytes of an eight-byte word that are `\n`, as their high bits (exactly: no false
/// positives next to a match). Lines are short, and a search call per line cost more than the
/// line, so both scans below test a word at a time.
fn newline_mask(word: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut array = [0u8; 8];
    array.copy_from_slice(word);
    // Bytes equal to `\n` become zero; a byte's high bit is then set exactly when it was zero.
    let x = u64::from_le_bytes(array) ^ NEWLINES;
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// How many `\n` bytes `bytes` holds: blocks of 64 bytes counted into a byte (the compiler turns
/// the inner loop into SIMD compares), the tail byte by byte.
fn count_newlines(bytes: &[u8]) -> usize {
    let mut blocks = bytes.chunks_exact(64);
    let mut total = 0;
    for block in &mut blocks {
        let found: u8 = block.iter().fold(0u8, |count, &byte| count + u8::from(byte == b'\n'));
        total += usize::from(found);
    }
    total + blocks.remainder().iter().fold(0, |count, &byte| count + usize::from(byte == b'\n'))
}

/// Pushes the offset after every `\n` of `bytes`.
fn push_newlines(bytes: &[u8], line_starts: &mut Vec<usize>) {
    let mut words = bytes.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let mut newlines = newline_mask(word);
        while newlines != 0 {
            line_starts.push(base + (newlines.trailing_zeros() / 8) as usize + 1);
            newlines &= newlines - 1;
        }
        base += 8;
    }
    for (idx, &byte) in words.remainder().iter().enumerate() {
        if byte == b'\n' {
            line_starts.push(base + idx + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_line_breaks() {
        let text = "a\nb\r\nc\rd";
        let index = LineIndex::new(text);
        assert_eq!(index.line(0), 0);
        assert_eq!(index.line(2), 1);
        assert_eq!(index.line(5), 2);
        assert_eq!(index.line(7), 3);
        assert_eq!(index.row_column(text, 7), (4, 1));
    }

    #[test]
    fn columns_count_characters() {
        let text = "x = '🧪漢'; y";
        let index = LineIndex::new(text);
        let offset = text.find('y').expect("y");
        assert_eq!(index.row_column(text, offset), (1, 11));
    }

    #[test]
    fn offsets_past_the_end_clamp() {
        let index = LineIndex::new("ab\n");
        assert_eq!(index.line(99), 1);
    }

    #[test]
    fn word_scan_agrees_with_a_plain_scan() {
        // Newlines at every position of an eight-byte word, next to multi-byte characters and
        // bytes whose low seven bits look like `\n` (0x8a is the second byte of `Ê`).
        let pieces = ["\n", "a", "é", "\n\n", "Ê", "🧪", "\t", "\u{b}", "\u{c}"];
        let mut text = String::new();
        let mut seed = 7u32;
        for _ in 0..2000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            text.push_str(pieces[(seed >> 16) as usize % pieces.len()]);
        }
        for start in 0..9 {
            let slice = &text[text.char_indices().nth(start).map_or(0, |(idx, _)| idx)..];
            let expected: Vec<usize> = std::iter::once(0)
                .chain(slice.bytes().enumerate().filter(|&(_, byte)| byte == b'\n').map(|(idx, _)| idx + 1))
                .collect();
            assert_eq!(LineIndex::new(slice).line_starts, expected);
        }
    }

    #[test]
    fn cursor_agrees_with_the_index_in_any_order() {
        let mut seed = 11u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 8) as usize
        };
        let pieces = ["\n", "ab", "é", "\n\n", "x = 1", "🧪", "    ", "\r\n", "\r"];
        for with_returns in [false, true] {
            let mut text = String::new();
            // Long enough for the counting loop to fold its byte sums more than once.
            while text.len() < 20_000 {
                let piece = pieces[next() % if with_returns { pieces.len() } else { pieces.len() - 2 }];
                text.push_str(piece);
            }
            let index = LineIndex::new(&text);
            let mut cursor = LineCursor::new(&text);
            for step in 0..400 {
                // Mostly forward, sometimes back, sometimes past the end.
                let offset = if step % 7 == 0 { next() % (text.len() + 10) } else { (step * 50) % text.len() };
                assert_eq!(cursor.line(offset), index.line(offset), "offset {offset}");
                let line = index.line(offset);
                assert_eq!(cursor.line_start_of(offset), index.line_start(line), "offset {offset}");
                assert_eq!(cursor.next_line_start(offset), index.line_start(line + 1), "offset {offset}");
            }
        }
    }
}
