//! Parsing Rust with syn, with item-level recovery and byte offsets from spans.

use std::str::FromStr;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Item};

/// The items of one file and the offset of the parsed text inside the source (BOM, shebang).
pub struct Parsed {
    pub items: Vec<Item>,
    pub base: usize,
    /// Byte ranges (in the original source) of the items skipped because they did not parse.
    pub skipped: Vec<std::ops::Range<usize>>,
}

/// Clears proc-macro2's thread-local source map when dropped, so every parsed file does not stay
/// in memory. All spans must be converted to offsets before this runs.
pub struct SpanGuard;

impl Drop for SpanGuard {
    fn drop(&mut self) {
        proc_macro2::extra::invalidate_current_thread_spans();
    }
}

/// Parses `source` item by item; items that do not parse are skipped. `None` when the text does
/// not even tokenise (unbalanced delimiters, unterminated literals).
pub fn parse(source: &str) -> Option<Parsed> {
    let mut base = 0;
    let mut content = source;
    if let Some(rest) = content.strip_prefix('\u{feff}') {
        base += source.len() - rest.len();
        content = rest;
    }
    if content.starts_with("#!") && !content[2..].trim_start().starts_with('[') {
        let idx = content.find('\n').unwrap_or(content.len());
        base += idx;
        content = &content[idx..];
    }
    let tokens = TokenStream::from_str(content).ok()?;
    let mut skipped = Vec::new();
    let parser = |input: ParseStream<'_>| -> syn::Result<Vec<Item>> {
        let _ = input.call(Attribute::parse_inner);
        let mut items = Vec::new();
        while !input.is_empty() {
            let fork = input.fork();
            if let Ok(item) = fork.parse::<Item>() {
                input.advance_to(&fork);
                items.push(item);
                continue;
            }
            // Skip to the end of the broken item: a `;` or a `{ … }` group at the top level.
            let range = input.step(|cursor| {
                let start = cursor.span().byte_range().start;
                let mut end = start;
                let mut rest = *cursor;
                while let Some((tree, next)) = rest.token_tree() {
                    rest = next;
                    end = tree.span().byte_range().end;
                    match tree {
                        TokenTree::Punct(punct) if punct.as_char() == ';' => break,
                        TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => break,
                        _ => {}
                    }
                }
                Ok((start..end, rest))
            })?;
            skipped.push(range.start + base..range.end + base);
        }
        Ok(items)
    };
    let items = parser.parse2(tokens).ok()?;
    Some(Parsed { items, base, skipped })
}

/// Byte range of `span` in the original source.
pub fn byte_range(span: Span, base: usize) -> std::ops::Range<usize> {
    let range = span.byte_range();
    range.start + base..range.end + base
}
