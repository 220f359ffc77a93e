//! Fix builders: turn a finding at a use site into byte-range edits.
//!
//! Every builder checks the exact text it rewrites and returns `None` when the shape is not
//! one it can rewrite without changing what the code means beyond the protocol.

use crate::diagnostic::{Applicability, Edit, Fix};
use crate::protocol::{Capability, Provided, ValueKind};
use crate::python::facts::{Exprs, Shape, UseSite, UseSiteShape};
use crate::rules::Rule;

/// The fixes for a finding of `rule` at `site` over a value that provides `provided`,
/// preferred first.
pub fn for_use_site(rule: Rule, site: &UseSite, exprs: &Exprs, source: &str, provided: Provided) -> Vec<Fix> {
    let fix = match rule {
        Rule::AsyncWithOnAsyncGenerator => swap_guard_for_iteration(source, site),
        Rule::AsyncForOnAsyncContextManager => swap_iteration_for_guard(source, site),
        // `with` over an async generator needs `async for`, not `async with`: no keyword fix.
        Rule::WithOnAsyncObject => match provided {
            Provided::Known { capabilities, .. } if capabilities.contains(Capability::AsyncCm) => {
                add_async(source, site, rule)
            }
            _ => None,
        },
        Rule::ForOnAsyncIterable => add_async(source, site, rule),
        Rule::AsyncForOnSyncIterable | Rule::AsyncWithOnSyncContextManager => remove_async(source, site),
        Rule::AwaitOnNonAwaitable => match provided {
            Provided::Known { kind: ValueKind::AsyncGenerator, .. } => take_one_item(site),
            _ => None,
        },
        Rule::MissingAwait => add_await(site, exprs),
        _ => None,
    };
    fix.into_iter().collect()
}

/// Prefixing `await ` or appending `()` keeps the meaning only for a primary expression.
fn is_primary(operand: Shape<'_>) -> bool {
    matches!(operand, Shape::Name(_) | Shape::Attribute(..) | Shape::Call(..) | Shape::Subscript(..))
}

fn edit(range: std::ops::Range<usize>, content: impl Into<String>) -> Edit {
    Edit { range, content: content.into() }
}

fn fix(title: impl Into<String>, applicability: Applicability, edits: Vec<Edit>) -> Fix {
    Fix { title: title.into(), applicability, edits, other_files: Vec::new() }
}

/// Whether `source[start..end]` is exactly these whitespace-separated words (no comments,
/// parentheses or line continuations in between).
fn is_words(source: &str, start: usize, end: usize, words: &[&str]) -> bool {
    let Some(text) = source.get(start..end) else { return false };
    !text.contains('\\') && text.split_whitespace().eq(words.iter().copied())
}

/// The offset just past `async` and the blanks after it, when `source` has `async` at `start`
/// followed by blanks on the same line.
fn after_async(source: &str, start: usize) -> Option<usize> {
    let rest = source.get(start..)?.strip_prefix("async")?;
    let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    (blanks > 0).then_some(start + "async".len() + blanks)
}

/// `async with f() as s:` → `async for s in f():`, body unchanged.
///
/// Offered for a single-item, unparenthesised `async with` whose body has no `break`/`continue`
/// that a new loop would capture.
pub fn swap_guard_for_iteration(source: &str, site: &UseSite) -> Option<Fix> {
    let UseSiteShape::WithItem { statement_start, item_count, item_range, target, body_has_loop_control, .. } =
        &site.shape
    else {
        return None;
    };
    if *item_count != 1
        || *body_has_loop_control
        || !is_words(source, *statement_start as usize, item_range.start(), &["async", "with"])
    {
        return None;
    }
    let expression = source.get(site.range.range())?;
    let target_text = match target {
        Some(target) => source.get(target.range())?,
        None => "_",
    };
    Some(fix(
        format!(
            "Swap the scope guard for stream iteration: `async for {target_text} in …` (cleanup after `yield` runs when the loop ends)"
        ),
        Applicability::Safe,
        vec![edit((*statement_start as usize)..item_range.end(), format!("async for {target_text} in {expression}"))],
    ))
}

/// `async for x in cm():` → `async with cm() as x:`, body unchanged. Not offered when the loop
/// has an `else:` or a `break`/`continue` of its own.
fn swap_iteration_for_guard(source: &str, site: &UseSite) -> Option<Fix> {
    let UseSiteShape::ForIterable { statement_start, has_else, target, body_has_loop_control } = &site.shape else {
        return None;
    };
    if *has_else
        || *body_has_loop_control
        || !is_words(source, *statement_start as usize, target.start(), &["async", "for"])
        || !is_words(source, target.end(), site.range.start(), &["in"])
    {
        return None;
    }
    let target_text = source.get(target.range())?;
    let expression = source.get(site.range.range())?;
    Some(fix(
        format!("Enter it instead: `async with … as {target_text}`"),
        Applicability::Safe,
        vec![edit((*statement_start as usize)..site.range.end(), format!("async with {expression} as {target_text}"))],
    ))
}

/// `with` → `async with` (one item only: other items may be sync), `for` → `async for`, inside
/// an `async def`.
fn add_async(source: &str, site: &UseSite, rule: Rule) -> Option<Fix> {
    if !site.in_async_function {
        return None;
    }
    let (start, keyword) = match &site.shape {
        UseSiteShape::WithItem { statement_start, item_count: 1, .. } if rule == Rule::WithOnAsyncObject => {
            (*statement_start as usize, "with")
        }
        UseSiteShape::ForIterable { statement_start, .. } if rule == Rule::ForOnAsyncIterable => {
            (*statement_start as usize, "for")
        }
        UseSiteShape::ComprehensionIterable { clause_start } if rule == Rule::ForOnAsyncIterable => {
            ((*clause_start as usize), "for")
        }
        _ => return None,
    };
    if !source.get(start..)?.starts_with(keyword) {
        return None;
    }
    Some(fix(format!("Use `async {keyword}`"), Applicability::Safe, vec![edit(start..start, "async ")]))
}

/// `async for` → `for`, `async with` → `with` (one item only).
fn remove_async(source: &str, site: &UseSite) -> Option<Fix> {
    let (start, keyword) = match &site.shape {
        UseSiteShape::WithItem { statement_start, item_count: 1, .. } => (*statement_start as usize, "with"),
        UseSiteShape::ForIterable { statement_start, .. } => (*statement_start as usize, "for"),
        UseSiteShape::ComprehensionIterable { clause_start } => ((*clause_start as usize), "for"),
        _ => return None,
    };
    let keyword_start = after_async(source, start)?;
    if !source.get(keyword_start..)?.starts_with(keyword) {
        return None;
    }
    Some(fix(format!("Use a plain `{keyword}`"), Applicability::Safe, vec![edit(start..keyword_start, "")]))
}

/// `await agen()` → `await anext(agen())`: takes one item, which changes behaviour: unsafe.
fn take_one_item(site: &UseSite) -> Option<Fix> {
    let UseSiteShape::AwaitOperand { .. } = site.shape else { return None };
    Some(fix(
        "Take one item: `await anext(…)`",
        Applicability::Unsafe,
        vec![edit(site.range.start()..site.range.start(), "anext("), edit(site.range.end()..site.range.end(), ")")],
    ))
}

/// `async with c() as x:` → `async with await c() as x:`.
fn add_await(site: &UseSite, exprs: &Exprs) -> Option<Fix> {
    if !is_primary(exprs.get(site.operand)) {
        return None;
    }
    match site.shape {
        UseSiteShape::WithItem { .. }
        | UseSiteShape::ForIterable { .. }
        | UseSiteShape::ComprehensionIterable { .. } => Some(fix(
            "Await it first: insert `await`",
            Applicability::Safe,
            vec![edit(site.range.start()..site.range.start(), "await ")],
        )),
        _ => None,
    }
}

/// `async with get_session as s:` → `async with get_session() as s:`.
pub fn add_call(site: &UseSite, exprs: &Exprs) -> Option<Fix> {
    if !matches!(exprs.get(site.operand), Shape::Name(_) | Shape::Attribute(..)) {
        return None;
    }
    Some(fix("Call it: add `()`", Applicability::Safe, vec![edit(site.range.end()..site.range.end(), "()")]))
}

/// `async with f() as s:` → `async with contextlib.asynccontextmanager(f)() as s:`: the
/// generator becomes a context manager at this use only. Unsafe: an exception in the body is
/// now thrown into the generator at its `yield`. `reference` is how the module already names
/// `asynccontextmanager`, if it does (else `import contextlib` is added with the other imports).
pub fn wrap_with_asynccontextmanager(
    source: &str,
    site: &UseSite,
    reference: Option<&str>,
    import_insertion: usize,
) -> Option<Fix> {
    let UseSiteShape::WithItem { .. } = site.shape else { return None };
    let callee = site.callee_range?.range();
    let callee_text = source.get(callee.clone())?;
    let wrapper = reference.unwrap_or("contextlib.asynccontextmanager");
    let mut edits = Vec::new();
    if reference.is_none() {
        let needs_newline = import_insertion == source.len() && !source.is_empty() && !source.ends_with('\n');
        let line = if needs_newline { "\nimport contextlib\n" } else { "import contextlib\n" };
        edits.push(edit(import_insertion..import_insertion, line));
    }
    edits.push(edit(callee, format!("{wrapper}({callee_text})")));
    Some(fix(format!("Wrap it at this use: `{wrapper}({callee_text})(…)`"), Applicability::Unsafe, edits))
}
