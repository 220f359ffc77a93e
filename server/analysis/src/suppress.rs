//! Suppression comments: `# noqa: APM101` on a line, `# asyncsense: noqa[: CODES]` for a file.
//!
//! Codes are matched case-insensitively and rule names are accepted too
//! (`# noqa: async-with-on-async-generator`). Codes of other tools in the same comment
//! (`# noqa: E501, APM101`) are ignored. A bare `# noqa` (no codes) does not silence asyncsense:
//! it is usually meant for another linter. `# type: ignore` is never a suppression for us.

use std::ops::Range;

use crate::line_index::LineIndex;
use crate::rules::Rule;

/// What one suppression comment silences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Codes {
    /// `# asyncsense: noqa` without codes: every rule.
    All,
    /// Bare `# noqa`: not ours unless configured.
    Bare,
    Rules(Vec<Rule>),
}

/// A `# noqa` comment on one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineSuppression {
    /// 0-based line.
    pub line: u32,
    pub codes: Codes,
    /// Where a new code can be appended (`, APM102`), just after the last code; `None` for a
    /// bare `# noqa`.
    pub append_at: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Suppressions {
    pub file: Option<Codes>,
    /// Sorted by line.
    pub lines: Vec<LineSuppression>,
}

impl Suppressions {
    /// Reads suppressions from the comments of a file: `comments` are the byte ranges of its
    /// comment tokens (`#` included), in order; `line_of` gives the 0-based line of an offset.
    pub fn from_comments(
        source: &str,
        comments: impl Iterator<Item = Range<usize>>,
        mut line_of: impl FnMut(usize) -> usize,
    ) -> Suppressions {
        let mut suppressions = Suppressions::default();
        for range in comments {
            let Some(text) = source.get(range.clone()) else { continue };
            // Both forms say `noqa`: most comments do not, and are passed over cheaply (a
            // vectorised search for its first letter, then four bytes compared).
            let bytes = text.as_bytes();
            let says_noqa = memchr::memchr2_iter(b'n', b'N', bytes)
                .any(|at| bytes.get(at..at + 4).is_some_and(|word| word.eq_ignore_ascii_case(b"noqa")));
            if !says_noqa {
                continue;
            }
            if let Some(codes) = file_level(text) {
                suppressions.file = Some(merge(suppressions.file.take(), codes));
                continue;
            }
            if let Some((codes, codes_end)) = line_level(text) {
                suppressions.lines.push(LineSuppression {
                    line: u32::try_from(line_of(range.start)).unwrap_or(u32::MAX),
                    codes,
                    append_at: codes_end.map(|end| range.start + end),
                });
            }
        }
        suppressions
    }

    /// Whether `rule` is silenced on 0-based `line`.
    pub fn suppresses(&self, rule: Rule, line: u32) -> bool {
        let covers = |codes: &Codes| match codes {
            Codes::All => true,
            Codes::Bare => false,
            Codes::Rules(rules) => rules.contains(&rule),
        };
        if self.file.as_ref().is_some_and(covers) {
            return true;
        }
        self.on_line(line).is_some_and(|suppression| covers(&suppression.codes))
    }

    pub fn on_line(&self, line: u32) -> Option<&LineSuppression> {
        self.lines.binary_search_by_key(&line, |suppression| suppression.line).ok().map(|idx| &self.lines[idx])
    }
}

fn merge(existing: Option<Codes>, new: Codes) -> Codes {
    match (existing, new) {
        (Some(Codes::All), _) | (_, Codes::All) => Codes::All,
        (Some(Codes::Rules(mut rules)), Codes::Rules(more)) => {
            rules.extend(more);
            Codes::Rules(rules)
        }
        (_, new) => new,
    }
}

/// `# asyncsense: noqa` or `# asyncsense: noqa: APM101, APM102`.
fn file_level(comment: &str) -> Option<Codes> {
    let rest = comment.strip_prefix('#')?.trim_start();
    let rest = strip_prefix_ignore_case(rest, "asyncsense:")?.trim_start();
    let rest = strip_prefix_ignore_case(rest, "noqa")?;
    match rest.trim_start().strip_prefix(':') {
        Some(codes) => Some(Codes::Rules(parse_codes(codes).0)),
        None => Some(Codes::All),
    }
}

/// `# noqa: APM101` anywhere in a comment (also after `# type: ignore`). Returns the codes and
/// the offset (within the comment) just after the last code.
fn line_level(comment: &str) -> Option<(Codes, Option<usize>)> {
    let lower = comment.to_ascii_lowercase();
    let mut search_from = 0;
    while let Some(found) = lower[search_from..].find('#') {
        let hash = search_from + found;
        let after_hash = &lower[hash + 1..];
        let trimmed = after_hash.trim_start();
        let noqa_start = hash + 1 + (after_hash.len() - trimmed.len());
        if trimmed.starts_with("noqa") {
            let after_noqa = noqa_start + "noqa".len();
            let rest = &comment[after_noqa..];
            let Some(codes) = rest.trim_start().strip_prefix(':') else {
                return Some((Codes::Bare, None));
            };
            let codes_offset = comment.len() - codes.len();
            let (rules, consumed) = parse_codes(codes);
            return Some((Codes::Rules(rules), Some(codes_offset + consumed)));
        }
        search_from = hash + 1;
    }
    None
}

/// Codes and names separated by commas or spaces, up to the first word that is neither (the
/// start of a trailing explanation). Unknown codes of other tools are skipped. Returns the
/// rules and how many bytes the list spans.
fn parse_codes(text: &str) -> (Vec<Rule>, usize) {
    let mut rules = Vec::new();
    let mut end = 0;
    let mut offset = 0;
    for piece in text.split_inclusive([',', ' ', '\t']) {
        let word = piece.trim_matches([',', ' ', '\t']);
        let start = offset;
        offset += piece.len();
        if word.is_empty() {
            continue;
        }
        // A code is letters then digits (`APM101`, `E501`); a name must be one of ours.
        let letters = word.trim_end_matches(|ch: char| ch.is_ascii_digit());
        let looks_like_code =
            !letters.is_empty() && letters.len() < word.len() && letters.chars().all(|ch| ch.is_ascii_alphabetic());
        if !looks_like_code && Rule::from_code_or_name(word).is_none() {
            break;
        }
        if let Some(rule) = Rule::from_code_or_name(word) {
            rules.push(rule);
        }
        end = start + piece.trim_end_matches([',', ' ', '\t']).len();
    }
    (rules, end)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// The edit that adds `rule` to the suppressions of `line` (0-based) of `source`: a code
/// appended to an existing `# noqa: …`, or a new comment at the end of the line. `None` when
/// the line ends in a backslash continuation (a comment there would break the code).
pub fn disable_for_line(source: &str, suppressions: &Suppressions, rule: Rule, line: u32) -> Option<crate::Edit> {
    if let Some(LineSuppression { append_at: Some(at), .. }) = suppressions.on_line(line) {
        return Some(crate::Edit { range: *at..*at, content: format!(", {}", rule.code()) });
    }
    let lines = LineIndex::new(source);
    let start = lines.line_start(line as usize);
    let next = lines.line_start(line as usize + 1);
    let text = source.get(start..next)?;
    let content = text.trim_end_matches(['\n', '\r']);
    if content.trim_end().ends_with('\\') {
        return None;
    }
    let end = start + content.trim_end().len();
    Some(crate::Edit { range: end..end, content: format!("  # noqa: {}", rule.code()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suppressions(source: &str) -> Suppressions {
        // Every `#` to the end of its line is a comment in these fixtures (no strings).
        let mut comments = Vec::new();
        let mut offset = 0;
        for line in source.split_inclusive('\n') {
            if let Some(hash) = line.find('#') {
                comments.push(offset + hash..offset + line.trim_end_matches('\n').len());
            }
            offset += line.len();
        }
        let lines = LineIndex::new(source);
        Suppressions::from_comments(source, comments.into_iter(), |offset| lines.line(offset))
    }

    #[test]
    fn line_codes_names_and_other_tools() {
        let found = suppressions(
            "a  # noqa: APM101\nb  # NOQA:apm102,E501 because reasons\nc  # type: ignore  # noqa: async-with-on-async-generator\nd  # noqa\ne\n",
        );
        assert!(found.suppresses(Rule::AsyncWithOnAsyncGenerator, 0));
        assert!(!found.suppresses(Rule::AsyncForOnAsyncContextManager, 0));
        assert!(found.suppresses(Rule::AsyncForOnAsyncContextManager, 1));
        assert!(found.suppresses(Rule::AsyncWithOnAsyncGenerator, 2));
        assert!(!found.suppresses(Rule::AsyncWithOnAsyncGenerator, 3), "bare noqa is not ours");
        assert!(!found.suppresses(Rule::AsyncWithOnAsyncGenerator, 4));
    }

    #[test]
    fn type_ignore_alone_is_not_a_suppression() {
        assert!(!suppressions("x  # type: ignore\n").suppresses(Rule::AsyncWithOnAsyncGenerator, 0));
    }

    #[test]
    fn file_level_comments() {
        let all = suppressions("# asyncsense: noqa\nx\n");
        assert!(all.suppresses(Rule::MissingAwait, 1));
        let some = suppressions("# Asyncsense: NOQA: APM108\nx\n");
        assert!(some.suppresses(Rule::MissingAwait, 1));
        assert!(!some.suppresses(Rule::AsyncWithOnAsyncGenerator, 1));
    }

    #[test]
    fn disabling_appends_to_an_existing_comment_or_adds_one() {
        let source = "a  # noqa: E501 because\nb\nc \\\n";
        let found = suppressions(source);
        let edit = disable_for_line(source, &found, Rule::AsyncWithOnAsyncGenerator, 0).expect("edit");
        assert_eq!(crate::apply_edits(source, &[edit]).0, "a  # noqa: E501, APM101 because\nb\nc \\\n");
        let edit = disable_for_line(source, &found, Rule::AsyncWithOnAsyncGenerator, 1).expect("edit");
        assert_eq!(crate::apply_edits(source, &[edit]).0, "a  # noqa: E501 because\nb  # noqa: APM101\nc \\\n");
        assert_eq!(disable_for_line(source, &found, Rule::AsyncWithOnAsyncGenerator, 2), None);
    }
}
