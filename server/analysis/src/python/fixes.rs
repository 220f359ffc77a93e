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
        // APM101's fixes depend on the generator's body: `check::async_generator_fixes`.
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

/// Marks a fix unsafe because the protocol it corrects comes from an annotation, which the
/// object that arrives at runtime may not match.
pub fn rests_on_a_declaration(fix: &mut Fix) {
    if fix.applicability == Applicability::Safe {
        fix.applicability = Applicability::Unsafe;
        fix.title.push_str(" (changes behaviour if the annotation is wrong: the protocol comes from it)");
    }
}

/// [`rests_on_a_declaration`] for a protocol the type layer inferred.
pub fn rests_on_inference(fix: &mut Fix) {
    if fix.applicability == Applicability::Safe {
        fix.applicability = Applicability::Unsafe;
        fix.title.push_str(" (changes behaviour if the inferred type is wrong)");
    }
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
/// that a new loop would capture. It keeps behaviour only when the generator yields once and
/// nothing of it runs after that `yield` (`proven`): otherwise a `return`, `break` or exception
/// in the body leaves the loop with the generator suspended, and its code after `yield`
/// (a commit, a rollback) does not run. A use without a target binds `_`: never proven.
pub fn swap_guard_for_iteration(source: &str, site: &UseSite, proven: bool) -> Option<Fix> {
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
    let (note, applicability) = if proven && target.is_some() {
        ("nothing of the generator runs after its only `yield`", Applicability::Safe)
    } else {
        (
            "changes behaviour: the code after `yield` runs only if the loop runs to its end, and exceptions in the body do not reach the generator",
            Applicability::Unsafe,
        )
    };
    Some(fix(
        format!("Swap the scope guard for stream iteration: `async for {target_text} in …` ({note})"),
        applicability,
        vec![edit((*statement_start as usize)..item_range.end(), format!("async for {target_text} in {expression}"))],
    ))
}

/// `async with stream() as s: async for x in s: …` → `async for x in stream(): …`, the loop
/// body dedented one level: the entered object was only ever iterated. Safe when `stream()`
/// is known to yield many values (then iterating it directly is what the block meant).
///
/// Not offered when the rewrite would lose a comment or change a string: a comment between the
/// two headers, a triple-quoted string or a line continuation in the body, a body line that
/// does not carry the loop's indentation.
pub fn flatten_iteration(source: &str, site: &UseSite, applicability: Applicability) -> Option<Fix> {
    let UseSiteShape::WithItem { statement_start, item_range, only_iterated: Some(inner), .. } = &site.shape else {
        return None;
    };
    let statement_start = *statement_start as usize;
    let loop_head = source.get(inner.loop_head.range())?;
    let expression = source.get(site.range.range())?;
    let headers = source.get(statement_start..inner.loop_head.start())?;
    let body = source.get(inner.body.range())?;
    if !is_words(source, statement_start, item_range.start(), &["async", "with"])
        || headers.contains('#')
        || body.contains("\"\"\"")
        || body.contains("'''")
        || body.contains('\\')
    {
        return None;
    }
    let outer_indent = indentation_before(source, statement_start)?;
    let inner_indent = indentation_before(source, inner.loop_head.start())?;
    // The loop must sit one level deeper than the `async with`, in the same blanks.
    inner_indent.strip_prefix(outer_indent).filter(|extra| !extra.is_empty())?;
    let mut edits = vec![edit(statement_start..inner.iterable_end as usize, format!("{loop_head}{expression}"))];
    // Every line after the inner loop's header, up to the loop's end, loses one level.
    let header_end = inner.iterable_end as usize;
    let mut line_start = source.get(header_end..)?.find('\n').map_or(source.len(), |at| header_end + at + 1);
    while line_start < inner.body.end() {
        let line_end = source[line_start..].find('\n').map_or(source.len(), |at| line_start + at);
        let line = &source[line_start..line_end];
        if line.starts_with(inner_indent) {
            edits.push(edit(line_start + outer_indent.len()..line_start + inner_indent.len(), ""));
        } else if !(line.trim().is_empty() || line.trim_start().starts_with('#')) {
            return None;
        }
        line_start = line_end + 1;
    }
    let note =
        if applicability == Applicability::Safe { "" } else { " (changes behaviour unless it yields many values)" };
    Some(fix(format!("Iterate the stream directly: `{loop_head}{expression}:`{note}"), applicability, edits))
}

/// The blanks between the start of `offset`'s line and `offset`, when there is nothing else.
fn indentation_before(source: &str, offset: usize) -> Option<&str> {
    let line_start = source.get(..offset)?.rfind('\n').map_or(0, |at| at + 1);
    let indent = &source[line_start..offset];
    indent.bytes().all(|byte| byte == b' ' || byte == b'\t').then_some(indent)
}

/// `async for x in cm():` → `async with cm() as x:`, body unchanged. Not offered when the loop
/// has an `else:` or a `break`/`continue` of its own. Unsafe: see below.
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
    // The body now runs once, with what entering gives, where the loop meant to run it per
    // item: if the entered object is itself iterable, the author meant to iterate that.
    Some(fix(
        format!(
            "Use `async with … as {target_text}` (changes behaviour: the body runs once, with what entering gives)"
        ),
        Applicability::Unsafe,
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
        UseSiteShape::ComprehensionIterable { clause_start, lazy: false, nested: false }
            if rule == Rule::ForOnAsyncIterable =>
        {
            ((*clause_start as usize), "for")
        }
        _ => return None,
    };
    if !source.get(start..)?.starts_with(keyword) {
        return None;
    }
    Some(fix(format!("Use `async {keyword}`"), Applicability::Safe, vec![edit(start..start, "async ")]))
}

/// `list(x async for x in xs)` → `list([x async for x in xs])`, `sorted(rows())` →
/// `sorted([item async for item in rows()])`: collect the async items first, with an async
/// comprehension (the caller checks it sits directly in an `async def`). The original call always
/// raised `TypeError`; for a builtin that consumes everything at once the result is what the
/// author meant (safe). One that stops early or is lazy (`any`, `zip`) would now run the whole
/// iteration first, which an endless generator never finishes (unsafe).
pub fn collect_first(source: &str, site: &UseSite, method: &str, generator_expression: bool) -> Option<Fix> {
    let range = site.range.range();
    let operand = source.get(range.clone())?;
    let replacement = if generator_expression {
        // A parenthesised generator expression (`f((x async for x in xs), key=k)`) cannot be told
        // from one whose element starts with a parenthesis; neither is rewritten.
        if operand.starts_with('(') {
            return None;
        }
        format!("[{operand}]")
    } else {
        format!("[item async for item in {operand}]")
    };
    let eager = matches!(
        method,
        "list" | "tuple" | "set" | "frozenset" | "sorted" | "sum" | "min" | "max" | "dict" | "str.join"
    );
    let applicability = if eager { Applicability::Safe } else { Applicability::Unsafe };
    let title = if eager {
        "Collect the items first with an async comprehension".to_owned()
    } else {
        format!("Collect the items first with an async comprehension (`{method}()` then sees every item, even those it would have stopped before)")
    };
    Some(fix(title, applicability, vec![edit(range, replacement)]))
}

/// `async for` → `for`, `async with` → `with` (one item only).
fn remove_async(source: &str, site: &UseSite) -> Option<Fix> {
    let (start, keyword) = match &site.shape {
        UseSiteShape::WithItem { statement_start, item_count: 1, .. } => (*statement_start as usize, "with"),
        UseSiteShape::ForIterable { statement_start, .. } => (*statement_start as usize, "for"),
        UseSiteShape::ComprehensionIterable { clause_start, lazy: false, .. } => ((*clause_start as usize), "for"),
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
        "Take one item: `await anext(…)` (changes behaviour: the rest of the generator never runs)",
        Applicability::Unsafe,
        vec![edit(site.range.start()..site.range.start(), "anext("), edit(site.range.end()..site.range.end(), ")")],
    ))
}

/// `async with c() as x:` → `async with await c() as x:`.
fn add_await(site: &UseSite, exprs: &Exprs) -> Option<Fix> {
    // `await` is a syntax error outside `async def`.
    if !site.in_async_function || !is_primary(exprs.get(site.operand)) {
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

/// `async with get_session as s:` → `async with get_session() as s:`. Safe only when the
/// function is known to take no required argument: otherwise the call itself fails.
pub fn add_call(site: &UseSite, exprs: &Exprs, callable_without_arguments: bool) -> Option<Fix> {
    if !matches!(exprs.get(site.operand), Shape::Name(_) | Shape::Attribute(..)) {
        return None;
    }
    let (title, applicability) = if callable_without_arguments {
        ("Call it: add `()`", Applicability::Safe)
    } else {
        ("Call it: add `()` (changes behaviour if it needs arguments: they are yours to add)", Applicability::Unsafe)
    };
    Some(fix(title, applicability, vec![edit(site.range.end()..site.range.end(), "()")]))
}

/// `async with f() as s:` → `async with contextlib.asynccontextmanager(f)() as s:`: the
/// generator becomes a context manager at this use only, exactly as if `f` were decorated:
/// leaving the block runs the code after `yield`, and an exception in the body is thrown into
/// the generator at its `yield`. That is the program the author wrote when `f` yields once
/// (safe); for a stream it enters the first item and fails at exit. `reference` is how the
/// module already names `asynccontextmanager`, if it does (else `import contextlib` is added
/// with the other imports).
pub fn wrap_with_asynccontextmanager(
    source: &str,
    site: &UseSite,
    reference: Option<&str>,
    import_insertion: usize,
    applicability: Applicability,
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
    let short = wrapper.rsplit('.').next().unwrap_or(wrapper);
    let note =
        if applicability == Applicability::Safe { "" } else { " (changes behaviour unless it yields exactly once)" };
    Some(fix(format!("Wrap with `{short}` at this use: `{wrapper}({callee_text})(…)`{note}"), applicability, edits))
}

/// APM301 on a coroutine stub annotated as an async iterator: make it an async generator, so
/// that `async for x in obj.f()` works on it as on its implementations. A body of `...`/`pass`
/// becomes `return` + `yield` (an empty async generator); a `raise NotImplementedError` is
/// kept and a `yield` added after it. Unsafe: calling it now gives an async generator where it
/// gave a coroutine, so code that awaits it (`await super().f()`) stops working.
pub fn empty_async_generator(source: &str, stub: std::ops::Range<usize>) -> Option<Fix> {
    let statements = source.get(stub.clone())?;
    if statements.trim().is_empty() || statements.contains('#') {
        return None;
    }
    // On their own lines, the new statements take the stub's indentation; after `def …:` on
    // one line they are separated by `;`.
    let separator = match indentation_before(source, stub.start) {
        Some(indent) => format!("\n{indent}"),
        None => "; ".to_owned(),
    };
    let raises = statements.split(['\n', ';']).any(|statement| statement.trim_start().starts_with("raise"));
    let edit = if raises {
        edit(stub.end..stub.end, format!("{separator}yield"))
    } else {
        edit(stub, format!("return{separator}yield"))
    };
    Some(fix(
        "Make it an async generator: add `yield` (changes behaviour: calling it gives an async generator, not a coroutine)",
        Applicability::Unsafe,
        vec![edit],
    ))
}

/// `asyncio.run(main)` → `asyncio.run(main())`: the awaitable the API wants is the call's
/// result. Safe when the function takes no required argument and our resolver read it.
pub fn add_call_after(
    argument: std::ops::Range<usize>,
    callable_without_arguments: bool,
    inferred: bool,
) -> Option<Fix> {
    let mut fix = if callable_without_arguments {
        fix("Call it: add `()`", Applicability::Safe, vec![edit(argument.end..argument.end, "()")])
    } else {
        fix(
            "Call it: add `()` (changes behaviour if it needs arguments: they are yours to add)",
            Applicability::Unsafe,
            vec![edit(argument.end..argument.end, "()")],
        )
    };
    if inferred {
        rests_on_inference(&mut fix);
    }
    Some(fix)
}

/// `tg.start_soon(worker(a, b))` → `tg.start_soon(worker, a, b)`: the API calls the function
/// with those arguments itself, evaluated in the same order as before. The call it replaces
/// always failed (a coroutine object is not callable), so nothing that worked changes.
pub fn replace_argument(argument: std::ops::Range<usize>, spread: &str, inferred: bool) -> Option<Fix> {
    let mut fix = fix(
        "Pass the function and its arguments separately",
        Applicability::Safe,
        vec![edit(argument, spread.to_owned())],
    );
    if inferred {
        rests_on_inference(&mut fix);
    }
    Some(fix)
}

/// `Depends(get_session)` → `Depends(get_session_dependency)`, with the generator dependency
/// `definition` inserted at `insertion` (see `check::generator_dependency`). `FastAPI` enters the
/// wrapper for the request and runs the factory's exit when the response is sent, as a generator
/// dependency's code after `yield`; other users of the factory are left alone.
pub fn generator_dependency(
    insertion: usize,
    definition: String,
    argument: std::ops::Range<usize>,
    wrapper: String,
) -> Fix {
    fix(
        format!("Depend on a generator that enters it: add `{wrapper}` and use it here"),
        Applicability::Safe,
        vec![edit(insertion..insertion, definition), edit(argument, wrapper)],
    )
}
