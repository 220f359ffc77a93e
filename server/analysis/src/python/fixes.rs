//! Fix builders: turn a finding at a use site into byte-range edits.
//!
//! Every builder checks the exact text it rewrites and returns `None` when the shape is not
//! one it can rewrite without changing what the code means beyond the protocol.

use crate::diagnostic::{Applicability, Edit, Fix};
use crate::python::facts::{UseSite, UseSiteShape};

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
    if *item_count != 1 || *body_has_loop_control {
        return None;
    }
    // Only the plain header `async with <item>`: parentheses or comments in between mean a
    // layout we would have to re-flow.
    let header = source.get(*statement_start..item_range.start)?;
    let mut words = header.split_whitespace();
    if words.next() != Some("async") || words.next() != Some("with") || words.next().is_some() {
        return None;
    }
    let expression = source.get(site.range.clone())?;
    let target_text = match target {
        Some(target) => source.get(target.clone())?,
        None => "_",
    };
    let replacement = format!("async for {target_text} in {expression}");
    Some(Fix {
        title: format!("Swap the scope guard for stream iteration: `async for {target_text} in …`"),
        applicability: Applicability::Safe,
        edits: vec![Edit { range: *statement_start..item_range.end, content: replacement }],
    })
}
