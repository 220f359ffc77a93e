//! Printing findings: human text (`path:row:col: CODE message`), per-rule statistics, and JSON,
//! SARIF and GitHub annotations for tools. Everything is written to the report's writer (stdout
//! or `--output-file`).
//!
//! Rows and columns are 1-based; columns count characters, as editors and ruff do.

use std::io::{self, Write};

use anyhow::Result;
use asyncsense_analysis::{Finding, LineIndex};
use serde::Serialize;

/// The findings of one file, with what is needed to print them.
pub struct FileReport<'a> {
    pub display: String,
    pub source: &'a str,
    pub findings: &'a [Finding],
}

#[derive(Serialize)]
struct Location {
    row: usize,
    column: usize,
}

#[derive(Serialize)]
struct JsonEdit {
    content: String,
    location: Location,
    end_location: Location,
}

#[derive(Serialize)]
struct JsonFix {
    applicability: &'static str,
    message: String,
    edits: Vec<JsonEdit>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    code: &'static str,
    name: &'static str,
    message: &'a str,
    help: Option<&'a str>,
    severity: &'static str,
    filename: &'a str,
    location: Location,
    end_location: Location,
    fix: Option<JsonFix>,
}

fn location(lines: &LineIndex, source: &str, offset: usize) -> Location {
    let (row, column) = lines.row_column(source, offset);
    Location { row, column }
}

/// The finding's first line, with a caret under the offending expression (ruff style).
fn snippet(out: &mut dyn Write, lines: &LineIndex, source: &str, finding: &Finding) -> io::Result<()> {
    let line = lines.line(finding.range.start);
    let start = lines.line_start(line);
    let end = lines.line_start(line + 1);
    let text = source.get(start..end).unwrap_or_default().trim_end_matches(['\n', '\r']);
    let number = (line + 1).to_string();
    let gutter = " ".repeat(number.len());
    let caret_start = source.get(start..finding.range.start).map_or(0, |prefix| prefix.chars().count());
    let caret_end = finding.range.end.min(start + text.len());
    let caret_len = source.get(finding.range.start..caret_end).map_or(1, |marked| marked.chars().count()).max(1);
    writeln!(out, "{gutter} |")?;
    writeln!(out, "{number} | {text}")?;
    writeln!(out, "{gutter} | {}{} {}", " ".repeat(caret_start), "^".repeat(caret_len), finding.rule.code())?;
    writeln!(out, "{gutter} |")
}

/// ANSI colours for the text report (all empty when colour is off).
#[derive(Clone, Copy)]
pub struct Style {
    pub bold: &'static str,
    pub code: &'static str,
    pub help: &'static str,
    pub reset: &'static str,
}

impl Style {
    pub const PLAIN: Style = Style { bold: "", code: "", help: "", reset: "" };
    pub const COLOURED: Style = Style { bold: "\x1b[1m", code: "\x1b[1;31m", help: "\x1b[36m", reset: "\x1b[0m" };
}

/// How the text report is printed.
#[derive(Clone, Copy)]
pub struct TextOptions {
    /// The source line, caret and `help:` (`text`); `false`: one line per finding (`concise`).
    pub full: bool,
    /// No summary line (`--quiet`).
    pub quiet: bool,
    pub style: Style,
}

pub fn print_text(
    out: &mut dyn Write,
    reports: &[FileReport<'_>],
    fixed_count: usize,
    fix_requested: bool,
    options: TextOptions,
) -> Result<()> {
    let TextOptions { full, quiet, style } = options;
    let mut total = 0;
    let mut fixable = 0;
    for report in reports {
        let lines = LineIndex::new(report.source);
        for finding in report.findings {
            let (row, column) = lines.row_column(report.source, finding.range.start);
            let Style { bold, code, help, reset } = style;
            writeln!(
                out,
                "{bold}{}{reset}:{row}:{column}: {code}{}{reset} {}",
                report.display,
                finding.rule.code(),
                finding.message
            )?;
            if full {
                snippet(out, &lines, report.source, finding)?;
            }
            // The remedy, once: the fix's title, else the finding's own help.
            if let Some(fix) = finding.fixes.first().filter(|_| full) {
                let how = if finding.preferred_fix().is_some() { "safe fix, apply with `--fix`" } else { "unsafe fix" };
                writeln!(out, "  {help}help{reset}: {} ({how})", fix.title)?;
            } else if let Some(text) = finding.help.as_deref().filter(|_| full) {
                writeln!(out, "  {help}help{reset}: {text}")?;
            }

            total += 1;
            fixable += usize::from(finding.preferred_fix().is_some());
        }
    }
    if quiet {
        return Ok(());
    }
    if fix_requested && fixed_count > 0 {
        writeln!(out, "Fixed {fixed_count} finding{}.", if fixed_count == 1 { "" } else { "s" })?;
    }
    if total == 0 {
        writeln!(out, "All checks passed!")?;
    } else {
        let plural = if total == 1 { "" } else { "s" };
        if fixable > 0 {
            writeln!(out, "Found {total} finding{plural} ({fixable} fixable with `--fix`).")?;
        } else {
            writeln!(out, "Found {total} finding{plural}.")?;
        }
    }
    Ok(())
}

pub fn print_json(out: &mut dyn Write, reports: &[FileReport<'_>]) -> Result<()> {
    let mut items = Vec::new();
    for report in reports {
        let lines = LineIndex::new(report.source);
        for finding in report.findings {
            let fix = finding.fixes.first().map(|fix| JsonFix {
                applicability: fix.applicability.as_str(),
                message: fix.title.clone(),
                edits: fix
                    .edits
                    .iter()
                    .map(|edit| JsonEdit {
                        content: edit.content.clone(),
                        location: location(&lines, report.source, edit.range.start),
                        end_location: location(&lines, report.source, edit.range.end),
                    })
                    .collect(),
            });
            items.push(JsonFinding {
                code: finding.rule.code(),
                name: finding.rule.name(),
                message: &finding.message,
                help: finding.help.as_deref(),
                severity: finding.rule.severity().as_str(),
                filename: &report.display,
                location: location(&lines, report.source, finding.range.start),
                end_location: location(&lines, report.source, finding.range.end),
                fix,
            });
        }
    }
    serde_json::to_writer_pretty(&mut *out, &items)?;
    writeln!(out)?;
    Ok(())
}

/// `--statistics`: how many findings each rule has, most first (`[*]`: some have a safe fix).
pub fn print_statistics(out: &mut dyn Write, reports: &[FileReport<'_>], quiet: bool) -> Result<()> {
    let mut counts: std::collections::BTreeMap<asyncsense_analysis::Rule, (usize, bool)> =
        std::collections::BTreeMap::new();
    for finding in reports.iter().flat_map(|report| report.findings) {
        let entry = counts.entry(finding.rule).or_default();
        entry.0 += 1;
        entry.1 |= finding.preferred_fix().is_some();
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|left, right| right.1 .0.cmp(&left.1 .0).then(left.0.cmp(&right.0)));
    let width = rows.iter().map(|(_, (count, _))| count.to_string().len()).max().unwrap_or(1);
    for (rule, (count, fixable)) in &rows {
        let mark = if *fixable { "[*]" } else { "[ ]" };
        writeln!(out, "{count:>width$}\t{}\t{mark} {}", rule.code(), rule.name())?;
    }
    let total: usize = rows.iter().map(|(_, (count, _))| count).sum();
    if !quiet {
        if total == 0 {
            writeln!(out, "All checks passed!")?;
        } else {
            writeln!(out, "Found {total} finding{}.", if total == 1 { "" } else { "s" })?;
        }
    }
    Ok(())
}

/// GitHub Actions annotations: `::error file=…,line=…::message`.
pub fn print_github(out: &mut dyn Write, reports: &[FileReport<'_>]) -> Result<()> {
    fn escape_data(text: &str) -> String {
        text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
    }
    fn escape_property(text: &str) -> String {
        escape_data(text).replace(':', "%3A").replace(',', "%2C")
    }
    for report in reports {
        let lines = LineIndex::new(report.source);
        for finding in report.findings {
            let start = location(&lines, report.source, finding.range.start);
            let end = location(&lines, report.source, finding.range.end);
            let level = match finding.rule.severity() {
                asyncsense_analysis::Severity::Error => "error",
                asyncsense_analysis::Severity::Warning => "warning",
            };
            writeln!(
                out,
                "::{level} title={},file={},line={},col={},endLine={},endColumn={}::{}",
                escape_property(&format!("asyncsense ({})", finding.rule.code())),
                escape_property(&report.display),
                start.row,
                start.column,
                end.row,
                end.column,
                escape_data(&format!("{} {}", finding.rule.code(), finding.message)),
            )?;
        }
    }
    Ok(())
}

fn sarif_region(lines: &LineIndex, source: &str, range: &std::ops::Range<usize>) -> serde_json::Value {
    let start = location(lines, source, range.start);
    let end = location(lines, source, range.end);
    serde_json::json!({
        "startLine": start.row, "startColumn": start.column, "endLine": end.row, "endColumn": end.column,
    })
}

/// SARIF 2.1.0: the rule list and one result per finding, with fixes as replacements.
pub fn print_sarif(out: &mut dyn Write, reports: &[FileReport<'_>]) -> Result<()> {
    let rules: Vec<serde_json::Value> = asyncsense_analysis::Rule::ALL
        .iter()
        .map(|rule| {
            serde_json::json!({
                "id": rule.code(),
                "name": rule.name(),
                "shortDescription": { "text": rule.summary() },
                "fullDescription": { "text": rule.documentation() },
                "defaultConfiguration": {
                    "level": rule.severity().as_str(),
                    "enabled": rule.enabled_by_default(),
                },
            })
        })
        .collect();
    let mut results = Vec::new();
    for report in reports {
        let lines = LineIndex::new(report.source);
        let uri = report.display.replace('\\', "/");
        for finding in report.findings {
            let fixes: Vec<serde_json::Value> = finding
                .fixes
                .iter()
                .map(|fix| {
                    let replacements: Vec<serde_json::Value> = fix
                        .edits
                        .iter()
                        .map(|edit| {
                            serde_json::json!({
                                "deletedRegion": sarif_region(&lines, report.source, &edit.range),
                                "insertedContent": { "text": edit.content },
                            })
                        })
                        .collect();
                    serde_json::json!({
                        "description": { "text": format!("{} ({})", fix.title, fix.applicability.as_str()) },
                        "artifactChanges": [{ "artifactLocation": { "uri": uri }, "replacements": replacements }],
                    })
                })
                .collect();
            results.push(serde_json::json!({
                "ruleId": finding.rule.code(),
                "level": finding.rule.severity().as_str(),
                "message": { "text": finding.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri },
                        "region": sarif_region(&lines, report.source, &finding.range),
                    }
                }],
                "fixes": fixes,
            }));
        }
    }
    let sarif = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "asyncsense",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/asyncsense/asyncsense",
                    "rules": rules,
                }
            },
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &sarif)?;
    writeln!(out)?;
    Ok(())
}

/// A unified diff (no context lines) of applying `edits` to `source`.
pub fn unified_diff(display: &str, source: &str, edits: &[asyncsense_analysis::Edit]) -> String {
    use std::fmt::Write as _;
    let lines = LineIndex::new(source);
    let mut sorted: Vec<&asyncsense_analysis::Edit> = edits.iter().collect();
    sorted.sort_by_key(|edit| edit.range.start);
    // Group edits into hunks of whole old lines.
    let mut hunks: Vec<(usize, usize, Vec<&asyncsense_analysis::Edit>)> = Vec::new();
    for edit in sorted {
        let first = lines.line(edit.range.start);
        let last = lines.line(edit.range.end.max(edit.range.start));
        match hunks.last_mut() {
            Some((_, hunk_last, hunk_edits)) if first <= *hunk_last => {
                *hunk_last = (*hunk_last).max(last);
                hunk_edits.push(edit);
            }
            _ => hunks.push((first, last, vec![edit])),
        }
    }
    let mut diff = String::new();
    let mut line_shift: isize = 0;
    for (first, last, hunk_edits) in hunks {
        let start = lines.line_start(first);
        let end = lines.line_start(last + 1);
        let Some(old) = source.get(start..end) else { continue };
        let relative: Vec<asyncsense_analysis::Edit> = hunk_edits
            .iter()
            .map(|edit| asyncsense_analysis::Edit {
                range: edit.range.start - start..edit.range.end - start,
                content: edit.content.clone(),
            })
            .collect();
        let (new, _) = asyncsense_analysis::apply_edits(old, &relative);
        if new == old {
            continue;
        }
        if diff.is_empty() {
            let _ = write!(diff, "--- {display}\n+++ {display}\n");
        }
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
        let new_start = isize::try_from(first + 1).unwrap_or(isize::MAX) + line_shift;
        let _ = writeln!(diff, "@@ -{},{} +{},{} @@", first + 1, old_lines.len(), new_start, new_lines.len());
        for line in &old_lines {
            diff.push('-');
            diff.push_str(line);
            if !line.ends_with('\n') {
                diff.push_str("\n\\ No newline at end of file\n");
            }
        }
        for line in &new_lines {
            diff.push('+');
            diff.push_str(line);
            if !line.ends_with('\n') {
                diff.push_str("\n\\ No newline at end of file\n");
            }
        }
        line_shift += isize::try_from(new_lines.len()).unwrap_or(0) - isize::try_from(old_lines.len()).unwrap_or(0);
    }
    diff
}
