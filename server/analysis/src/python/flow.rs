//! Control-flow facts that decide whether a fix keeps the program's behaviour, read from the
//! syntax tree during extraction: how often a generator function can `yield` in one call and
//! whether anything of it runs after that `yield`; which blocks expect the very error a
//! protocol mismatch raises (`pytest.raises(TypeError)`); when a generator's product is only
//! iterated inside the block that enters it.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, ExceptHandler, Expr, Stmt};

/// How a generator function hands out values, as far as its body shows. Decides which APM101
/// fix keeps behaviour: a function that yields once is a resource written as a generator (wrap
/// it with `asynccontextmanager`); one that yields many values is a stream (iterate it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum YieldShape {
    /// At most one `yield` runs per call, and it is the body's last statement: no `try`, `with`
    /// or statement after it and no `return` anywhere, so nothing of the generator runs after
    /// the consumer takes its value. Entering and iterating it once are the same program.
    OnceLast,
    /// At most one `yield` runs per call (a dependency: set up, `yield`, commit or clean up).
    AtMostOnce,
    /// A `yield` in a loop, or several that can run in one call: a stream of values.
    #[default]
    Many,
}

impl YieldShape {
    /// The shape of a generator function with this body.
    pub fn of(body: &[Stmt]) -> YieldShape {
        match most_yields(body) {
            0 | 1 if ends_with_only_yield(body) && !has_return(body) => YieldShape::OnceLast,
            0 | 1 => YieldShape::AtMostOnce,
            _ => YieldShape::Many,
        }
    }

    pub fn yields_at_most_once(self) -> bool {
        matches!(self, YieldShape::OnceLast | YieldShape::AtMostOnce)
    }
}

/// The most `yield`s one run through `body` can execute, saturating at 2 ("many").
fn most_yields(body: &[Stmt]) -> u8 {
    body.iter().fold(0, |total, statement| total.saturating_add(statement_yields(statement)).min(2))
}

fn statement_yields(statement: &Stmt) -> u8 {
    let sum = |parts: &[u8]| parts.iter().fold(0u8, |total, part| total.saturating_add(*part)).min(2);
    match statement {
        // A nested definition's `yield`s are its own.
        Stmt::FunctionDef(_) | Stmt::ClassDef(_) => 0,
        Stmt::If(if_statement) => {
            let branches =
                std::iter::once(most_yields(&if_statement.body))
                    .chain(if_statement.elif_else_clauses.iter().map(|clause| {
                        sum(&[clause.test.as_ref().map_or(0, expression_yields), most_yields(&clause.body)])
                    }))
                    .max()
                    .unwrap_or(0);
            // A later clause's test runs after the earlier tests: count them all, to stay an
            // upper bound.
            sum(&[expression_yields(&if_statement.test), branches])
        }
        Stmt::For(for_statement) => {
            let repeated = if most_yields(&for_statement.body) > 0 { 2 } else { 0 };
            sum(&[expression_yields(&for_statement.iter), repeated, most_yields(&for_statement.orelse)])
        }
        Stmt::While(while_statement) => {
            if expression_yields(&while_statement.test) > 0 || most_yields(&while_statement.body) > 0 {
                2
            } else {
                most_yields(&while_statement.orelse)
            }
        }
        Stmt::With(with) => {
            let items: Vec<u8> = with.items.iter().map(|item| expression_yields(&item.context_expr)).collect();
            sum(&[sum(&items), most_yields(&with.body)])
        }
        Stmt::Try(try_statement) => {
            let handlers = try_statement
                .handlers
                .iter()
                .map(|handler| {
                    let ExceptHandler::ExceptHandler(handler) = handler;
                    most_yields(&handler.body)
                })
                .max()
                .unwrap_or(0);
            sum(&[
                most_yields(&try_statement.body),
                handlers,
                most_yields(&try_statement.orelse),
                most_yields(&try_statement.finalbody),
            ])
        }
        Stmt::Match(match_statement) => {
            let cases = match_statement.cases.iter().map(|case| most_yields(&case.body)).max().unwrap_or(0);
            sum(&[expression_yields(&match_statement.subject), cases])
        }
        simple => {
            let mut counter = YieldCounter::default();
            counter.visit_stmt(simple);
            counter.count
        }
    }
}

fn expression_yields(expr: &Expr) -> u8 {
    let mut counter = YieldCounter::default();
    counter.visit_expr(expr);
    counter.count
}

/// Counts `yield` expressions (a `yield from` counts as many), not inside lambdas.
#[derive(Default)]
struct YieldCounter {
    count: u8,
}

impl<'a> Visitor<'a> for YieldCounter {
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Yield(_) => self.count = self.count.saturating_add(1).min(2),
            Expr::YieldFrom(_) => self.count = 2,
            Expr::Lambda(_) => return,
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }

    fn visit_stmt(&mut self, statement: &'a Stmt) {
        if !matches!(statement, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
            visitor::walk_stmt(self, statement);
        }
    }
}

/// The body's last statement is a bare `yield` statement (`yield x`, not inside anything).
fn ends_with_only_yield(body: &[Stmt]) -> bool {
    matches!(body.last(), Some(Stmt::Expr(statement)) if matches!(&*statement.value, Expr::Yield(_)))
}

/// Whether `body` has a `return` of its own (not in a nested function or class).
fn has_return(body: &[Stmt]) -> bool {
    #[derive(Default)]
    struct Finder {
        found: bool,
    }
    impl<'a> Visitor<'a> for Finder {
        fn visit_stmt(&mut self, statement: &'a Stmt) {
            match statement {
                Stmt::Return(_) => self.found = true,
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                _ => visitor::walk_stmt(self, statement),
            }
        }
        fn visit_expr(&mut self, _: &'a Expr) {}
    }
    let mut finder = Finder::default();
    finder.visit_body(body);
    finder.found
}

/// The errors a protocol mismatch raises at runtime: `TypeError` (`async with` on an async
/// generator since 3.11, `await` on a non-awaitable), `AttributeError` (`async with` before
/// 3.11), `RuntimeError` (a generator context manager that does not stop).
const PROTOCOL_ERRORS: [&str; 3] = ["TypeError", "AttributeError", "RuntimeError"];

/// Whether `expr` is a context manager that asserts a protocol error is raised inside it:
/// `pytest.raises(TypeError)`, `self.assertRaises(AttributeError)`, `assertRaisesRegex(…)`,
/// trio's `RaisesGroup(TypeError)` / `RaisesGroup(RaisesExc(TypeError))` (`Matcher` in older
/// trio). Tests that check a
/// mismatch fails on purpose write these; a finding (and, worse, a fix) there breaks the test.
pub fn expects_protocol_error(expr: &Expr) -> bool {
    let Expr::Call(call) = expr else { return false };
    let name = match &*call.func {
        Expr::Name(name) => name.id.as_str(),
        Expr::Attribute(attribute) => attribute.attr.as_str(),
        _ => return false,
    };
    if !matches!(
        name,
        "raises"
            | "assertRaises"
            | "assertRaisesRegex"
            | "assertRaisesRegexp"
            | "RaisesGroup"
            | "RaisesExc"
            | "Matcher"
    ) {
        return false;
    }
    let expected = call.arguments.args.first().or_else(|| {
        call.arguments
            .keywords
            .iter()
            .find(|keyword| {
                keyword.arg.as_ref().is_some_and(|arg| matches!(arg.as_str(), "expected_exception" | "exception"))
            })
            .map(|keyword| &keyword.value)
    });
    expected.is_some_and(|expected| names_error(expected, &PROTOCOL_ERRORS) || expects_protocol_error(expected))
}

/// Whether a `try` statement's own handlers catch the protocol error by name
/// (`except TypeError:`, `except (AttributeError, TypeError):`). A broad `except Exception:`
/// does not count: it is cleanup, not a test of the mismatch.
pub fn handlers_expect_protocol_error(handlers: &[ExceptHandler]) -> bool {
    handlers.iter().any(|handler| {
        let ExceptHandler::ExceptHandler(handler) = handler;
        handler.type_.as_deref().is_some_and(|caught| names_error(caught, &PROTOCOL_ERRORS[..2]))
    })
}

/// Whether a failed import in the `try` body lands in one of `handlers`: `except ImportError`,
/// `except ModuleNotFoundError`, a bare `except:`, `except Exception`/`BaseException`.
pub fn handlers_catch_import_error(handlers: &[ExceptHandler]) -> bool {
    handlers.iter().any(|handler| {
        let ExceptHandler::ExceptHandler(handler) = handler;
        handler.type_.as_deref().is_none_or(|caught| {
            names_error(caught, &["ImportError", "ModuleNotFoundError", "Exception", "BaseException"])
        })
    })
}

/// `TypeError`, `builtins.TypeError`, or a tuple holding one of `errors`.
fn names_error(expr: &Expr, errors: &[&str]) -> bool {
    match expr {
        Expr::Name(name) => errors.contains(&name.id.as_str()),
        Expr::Attribute(attribute) => {
            matches!(&*attribute.value, Expr::Name(module) if module.id.as_str() == "builtins")
                && errors.contains(&attribute.attr.as_str())
        }
        Expr::Tuple(tuple) => tuple.elts.iter().any(|element| names_error(element, errors)),
        _ => false,
    }
}

/// `async with make() as s:` whose whole body is `async for x in s: …`, with `s` used nowhere
/// else in `scope_text` (the enclosing function's source): the entered object is only
/// iterated, so `async for x in make(): …` is the same program when `make()` is a stream.
/// Returns the inner loop, for the fix to rewrite.
pub fn only_iterated_inside<'a>(with: &'a ast::StmtWith, scope_text: &str) -> Option<&'a ast::StmtFor> {
    let [item] = with.items.as_slice() else { return None };
    let Some(Expr::Name(target)) = item.optional_vars.as_deref() else { return None };
    let [Stmt::For(inner)] = with.body.as_slice() else { return None };
    let Expr::Name(iterated) = &*inner.iter else { return None };
    if !with.is_async || !inner.is_async || iterated.id != target.id {
        return None;
    }
    // The binding and the loop's iterable: any other mention (a read after the block, a
    // comment, a string) and the rewrite might change what the code means.
    (identifier_occurrences(scope_text, target.id.as_str()) == 2).then_some(inner)
}

/// How many times `name` occurs in `text` as a whole identifier.
fn identifier_occurrences(text: &str, name: &str) -> usize {
    let is_identifier_byte = |byte: u8| byte == b'_' || byte.is_ascii_alphanumeric() || byte >= 0x80;
    let bytes = text.as_bytes();
    text.match_indices(name)
        .filter(|(start, _)| {
            let end = start + name.len();
            (*start == 0 || !is_identifier_byte(bytes[start - 1]))
                && (end == bytes.len() || !is_identifier_byte(bytes[end]))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(source: &str) -> Vec<Stmt> {
        let parsed = ruff_python_parser::parse_module(source).expect("valid test source");
        let module = parsed.into_syntax();
        let Some(Stmt::FunctionDef(function)) = module.body.into_iter().next() else { panic!("a function") };
        function.body.to_vec()
    }

    fn shape(source: &str) -> YieldShape {
        YieldShape::of(&body(source))
    }

    #[test]
    fn a_dependency_with_cleanup_yields_once_but_not_last() {
        let source = "async def get_db():\n    s = S()\n    try:\n        yield s\n        await s.commit()\n    except Exception:\n        await s.rollback()\n        raise\n    finally:\n        await s.close()\n";
        assert_eq!(shape(source), YieldShape::AtMostOnce);
        assert_eq!(shape("async def f():\n    async with S() as s:\n        yield s\n"), YieldShape::AtMostOnce);
        assert_eq!(shape("async def f():\n    yield 1\n    print('after')\n"), YieldShape::AtMostOnce);
    }

    #[test]
    fn a_final_bare_yield_without_return_is_once_last() {
        assert_eq!(shape("async def f():\n    s = await connect()\n    yield s\n"), YieldShape::OnceLast);
        assert_eq!(shape("async def f():\n    if c:\n        return\n    yield 1\n"), YieldShape::AtMostOnce);
        // A `return` in a nested function is that function's.
        assert_eq!(shape("async def f():\n    def g():\n        return 1\n    yield g\n"), YieldShape::OnceLast);
    }

    #[test]
    fn branches_count_once_loops_and_sequences_count_many() {
        assert_eq!(
            shape("async def f():\n    if c:\n        yield 1\n    else:\n        yield 2\n"),
            YieldShape::AtMostOnce
        );
        assert_eq!(shape("async def f():\n    for x in xs:\n        yield x\n"), YieldShape::Many);
        assert_eq!(shape("async def f():\n    while True:\n        yield 1\n"), YieldShape::Many);
        assert_eq!(shape("async def f():\n    yield 1\n    yield 2\n"), YieldShape::Many);
        assert_eq!(
            shape("async def f():\n    try:\n        yield 1\n    except E:\n        yield 2\n"),
            YieldShape::Many
        );
        assert_eq!(shape("def f():\n    yield from g()\n"), YieldShape::Many);
        // Yields of nested definitions and lambdas are not this function's.
        assert_eq!(
            shape("async def f():\n    async def g():\n        for x in xs:\n            yield x\n    h = lambda: (yield)\n    yield g\n"),
            YieldShape::OnceLast
        );
    }

    fn first_expression(source: &str) -> Expr {
        let parsed = ruff_python_parser::parse_expression(source).expect("valid test expression");
        *parsed.into_syntax().body
    }

    #[test]
    fn raises_blocks_expect_protocol_errors_only() {
        for expecting in [
            "pytest.raises(TypeError)",
            "raises(TypeError, match='async')",
            "pytest.raises((ValueError, AttributeError))",
            "self.assertRaises(TypeError)",
            "self.assertRaisesRegex(RuntimeError, 'stop')",
            "pytest.raises(expected_exception=builtins.TypeError)",
            "RaisesGroup(RaisesExc(TypeError))",
        ] {
            assert!(expects_protocol_error(&first_expression(expecting)), "{expecting}");
        }
        for not_expecting in
            ["pytest.raises(ValueError)", "pytest.raises(Exception)", "pytest.raises(exc)", "raises()", "session()"]
        {
            assert!(!expects_protocol_error(&first_expression(not_expecting)), "{not_expecting}");
        }
    }

    #[test]
    fn only_named_type_errors_in_handlers_count() {
        let handlers = |source: &str| {
            let parsed = ruff_python_parser::parse_module(source).expect("valid test source");
            let Some(Stmt::Try(statement)) = parsed.into_syntax().body.into_iter().next() else { panic!("a try") };
            statement.handlers
        };
        assert!(handlers_expect_protocol_error(&handlers("try:\n    pass\nexcept TypeError:\n    pass\n")));
        assert!(handlers_expect_protocol_error(&handlers(
            "try:\n    pass\nexcept ValueError:\n    pass\nexcept (KeyError, AttributeError) as e:\n    pass\n"
        )));
        assert!(!handlers_expect_protocol_error(&handlers("try:\n    pass\nexcept Exception:\n    pass\n")));
        assert!(!handlers_expect_protocol_error(&handlers("try:\n    pass\nexcept:\n    pass\n")));
        assert!(!handlers_expect_protocol_error(&handlers("try:\n    pass\nfinally:\n    pass\n")));
    }

    #[test]
    fn identifiers_are_counted_whole() {
        assert_eq!(identifier_occurrences("s = s_1 + s + ss + _s + (s)", "s"), 3);
        assert_eq!(identifier_occurrences("stream", "s"), 0);
    }
}
