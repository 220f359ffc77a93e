//! Printing findings: human text (`path:row:col: CODE message`) and JSON for tools.
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

pub fn print_text(reports: &[FileReport<'_>], fixed_count: usize, fix_requested: bool) -> Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut total = 0;
    let mut fixable = 0;
    for report in reports {
        let lines = LineIndex::new(report.source);
        for finding in report.findings {
            let (row, column) = lines.row_column(report.source, finding.range.start);
            writeln!(out, "{}:{row}:{column}: {} {}", report.display, finding.rule.code(), finding.message)?;
            if let Some(fix) = finding.fixes.first() {
                let how = if finding.preferred_fix().is_some() { "safe fix, apply with `--fix`" } else { "unsafe fix" };
                writeln!(out, "  help: {} ({how})", fix.title)?;
            }
            total += 1;
            fixable += usize::from(finding.preferred_fix().is_some());
        }
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

pub fn print_json(reports: &[FileReport<'_>]) -> Result<()> {
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
                severity: finding.rule.severity().as_str(),
                filename: &report.display,
                location: location(&lines, report.source, finding.range.start),
                end_location: location(&lines, report.source, finding.range.end),
                fix,
            });
        }
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    serde_json::to_writer_pretty(&mut out, &items)?;
    writeln!(out)?;
    Ok(())
}
