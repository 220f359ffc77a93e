//! What the engine reports: findings with byte ranges, and the fixes that resolve them.
//!
//! Everything here is in byte offsets into the analysed source. Converting to rows and columns
//! (CLI) or LSP positions (server) happens at the edges, once.

use std::ops::Range;
use std::path::PathBuf;

use crate::rules::Rule;

/// Whether a fix may be applied without a human looking at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Applicability {
    /// Keeps the code's intent; applied by `check --fix` and `source.fixAll`.
    Safe,
    /// Changes behaviour beyond the protocol; offered, never applied in bulk unless opted in.
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// Replace `range` (byte offsets) with `content`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Edit {
    pub range: Range<usize>,
    pub content: String,
}

/// One way to resolve a finding. Edits apply to the finding's own file, are non-overlapping and
/// are meant to be applied together.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fix {
    pub title: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
    /// Edits in other files (a decorator at the definition), applied together with `edits`.
    /// Editors apply them as one workspace edit; `check --fix` never applies such a fix.
    pub other_files: Vec<(PathBuf, Vec<Edit>)>,
}

/// A place elsewhere that explains a finding (usually the definition of the mismatched callee).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RelatedLocation {
    pub path: PathBuf,
    pub range: Range<usize>,
    pub message: String,
}

/// One protocol mismatch in one file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Finding {
    pub rule: Rule,
    /// The offending expression, in bytes.
    pub range: Range<usize>,
    pub message: String,
    /// Fixes in order of preference; the first safe one is the preferred quick fix.
    pub fixes: Vec<Fix>,
    pub related: Vec<RelatedLocation>,
    /// What to do about it, in words (`help:` in the CLI), kept out of `message` so that the
    /// remedy is said once; shown where no fix title says it.
    pub help: Option<String>,
}

impl Finding {
    /// The fix an editor marks as preferred and `--fix` applies: the first one, if it is safe.
    pub fn preferred_fix(&self) -> Option<&Fix> {
        self.fixes.first().filter(|fix| fix.applicability == Applicability::Safe)
    }
}

/// The edits of whole `fixes` that can be applied together, in the order given: a fix with an
/// edit that overlaps one already taken waits for a later round (a fix applies whole or not at
/// all), and an edit equal to one already taken (the same import added by two fixes) is taken
/// once. Returns the edits and how many fixes they come from.
pub fn compatible_fix_edits<'a>(fixes: impl IntoIterator<Item = &'a Fix>) -> (Vec<Edit>, usize) {
    let conflicts = |a: &Edit, b: &Edit| {
        (a.range.start < b.range.end && b.range.start < a.range.end)
            // Two insertions at one point would land in an arbitrary order.
            || (a.range.is_empty() && b.range.is_empty() && a.range.start == b.range.start)
    };
    let mut taken: Vec<Edit> = Vec::new();
    let mut fix_count = 0;
    for fix in fixes {
        let new: Vec<&Edit> = fix.edits.iter().filter(|edit| !taken.contains(edit)).collect();
        if new.iter().any(|edit| taken.iter().any(|other| conflicts(edit, other))) {
            continue;
        }
        taken.extend(new.into_iter().cloned());
        fix_count += 1;
    }
    (taken, fix_count)
}

/// Applies `edits` (non-overlapping byte ranges into `source`) and returns the new text.
///
/// Edits that overlap an earlier one (in start order) are skipped rather than corrupting the
/// text; the returned count says how many were applied.
pub fn apply_edits(source: &str, edits: &[Edit]) -> (String, usize) {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|edit| (edit.range.start, edit.range.end));
    let mut output = String::with_capacity(source.len());
    let mut cursor = 0;
    let mut applied = 0;
    for edit in sorted {
        let in_bounds = edit.range.start <= edit.range.end
            && edit.range.end <= source.len()
            && source.is_char_boundary(edit.range.start)
            && source.is_char_boundary(edit.range.end);
        if edit.range.start < cursor || !in_bounds {
            continue;
        }
        output.push_str(&source[cursor..edit.range.start]);
        output.push_str(&edit.content);
        cursor = edit.range.end;
        applied += 1;
    }
    output.push_str(&source[cursor..]);
    (output, applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(range: Range<usize>, content: &str) -> Edit {
        Edit { range, content: content.to_owned() }
    }

    fn fix(edits: Vec<Edit>) -> Fix {
        Fix { title: String::new(), applicability: Applicability::Safe, edits, other_files: Vec::new() }
    }

    #[test]
    fn fixes_apply_whole_and_shared_imports_once() {
        let import = edit(0..0, "import contextlib\n");
        let first = fix(vec![import.clone(), edit(10..12, "A")]);
        let second = fix(vec![import.clone(), edit(20..22, "B")]);
        // Overlaps `first`'s second edit: left out whole, its import too.
        let overlapping = fix(vec![edit(5..5, "x"), edit(11..13, "C")]);
        let (edits, count) = compatible_fix_edits([&first, &overlapping, &second]);
        assert_eq!(count, 2);
        assert_eq!(edits, vec![import, edit(10..12, "A"), edit(20..22, "B")]);
        let other_insertion = fix(vec![edit(0..0, "import os\n")]);
        assert_eq!(compatible_fix_edits([&first, &other_insertion]).1, 1);
    }

    #[test]
    fn applies_in_offset_order_whatever_the_input_order() {
        let (text, applied) = apply_edits("hello world", &[edit(6..11, "there"), edit(0..5, "HELLO")]);
        assert_eq!(text, "HELLO there");
        assert_eq!(applied, 2);
    }

    #[test]
    fn skips_overlapping_and_out_of_range_edits() {
        let (text, applied) = apply_edits("abcdef", &[edit(0..3, "X"), edit(2..4, "Y"), edit(5..99, "Z")]);
        assert_eq!(text, "Xdef");
        assert_eq!(applied, 1);
    }

    #[test]
    fn refuses_edits_inside_a_character() {
        let (text, applied) = apply_edits("a🧪b", &[edit(2..3, "x")]);
        assert_eq!(text, "a🧪b");
        assert_eq!(applied, 0);
    }
}
