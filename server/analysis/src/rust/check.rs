//! The Rust rules, on syntax alone: APM401 stream-as-guard, APM402 discarded-stream,
//! APM403 dropped-guard, APM404 span-guard-across-await, APM405 unawaited-future-binding,
//! APM406 stream-recreated-in-loop, APM407 if-let-once (off by default; callers filter).

use std::collections::HashSet;
use std::ops::Range;

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Pat, Stmt};

use super::facts::{stream_constructor, Facts, Produces};
use super::index::{ModulePosition, Resolver};
use super::parse::byte_range;
use crate::{Applicability, Edit, Finding, Fix, Rule};

pub struct Checker<'a> {
    pub source: &'a str,
    pub base: usize,
    pub facts: &'a Facts,
    pub findings: Vec<Finding>,
    /// Whether each enclosing function, closure or block is async (innermost last).
    async_stack: Vec<bool>,
    /// Variables bound to a tracing span in this file.
    span_vars: HashSet<String>,
    /// Resolves paths into other modules of the crate.
    resolver: &'a Resolver<'a>,
    /// The inline modules (`mod x { … }`) around the current item, outermost first.
    inline_modules: Vec<String>,
}

/// What `let _ =` drops on the spot.
#[derive(Clone, Copy)]
enum GuardKind {
    Lock,
    Permit,
    Span,
}

impl GuardKind {
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            GuardKind::Lock => ("a lock guard", "the lock is released before the next statement runs"),
            GuardKind::Permit => {
                ("a semaphore permit", "the permit goes back to the semaphore before the next statement runs")
            }
            GuardKind::Span => ("a tracing span guard", "the span is exited before the next statement runs"),
        }
    }
}

impl<'a> Checker<'a> {
    pub fn new(source: &'a str, base: usize, facts: &'a Facts, resolver: &'a Resolver<'a>) -> Checker<'a> {
        Checker {
            source,
            base,
            facts,
            findings: Vec::new(),
            async_stack: Vec::new(),
            span_vars: HashSet::new(),
            resolver,
            inline_modules: Vec::new(),
        }
    }

    /// The module the checker is in.
    fn position(&self) -> ModulePosition {
        let location = &self.resolver.own().location;
        let mut module = location.module.clone();
        module.extend(self.inline_modules.iter().cloned());
        (location.krate.clone(), module)
    }

    /// What calling the function `path` names produces. A bare name defined in this file is
    /// taken from the file's facts (a local definition shadows an import); a bare name defined
    /// nowhere in the file, and a path through a module of the crate, go to the crate index;
    /// other paths (`Self::f`, `Type::f`) fall back to the file's functions of that name.
    /// Anything the index cannot resolve to exactly one function is `Other`.
    fn function_produces(&self, path: &syn::ExprPath) -> Produces {
        let segments: Vec<String> = path.path.segments.iter().map(|segment| segment.ident.to_string()).collect();
        let Some(name) = segments.last() else { return Produces::Other };
        if path.qself.is_some() {
            return self.facts.function(name);
        }
        if path.path.leading_colon.is_some() {
            return Produces::Other;
        }
        let first = &segments[0];
        if segments.len() == 1 && self.facts.functions.contains_key(name) {
            return self.facts.function(name);
        }
        let scoped = &self.resolver.own().shadowing;
        if scoped.contains(first) || scoped.contains("*") {
            return if segments.len() == 1 { Produces::Other } else { self.facts.function(name) };
        }
        let position = self.position();
        let through_module = segments.len() == 1
            || matches!(first.as_str(), "crate" | "self" | "super")
            || self.resolver.resolve_module(&position, std::slice::from_ref(first)).is_some();
        if through_module {
            self.resolver.resolve_function(&position, &segments).unwrap_or(Produces::Other)
        } else {
            self.facts.function(name)
        }
    }

    fn range(&self, node: &impl Spanned) -> Range<usize> {
        let range = byte_range(node.span(), self.base);
        if range.end > self.source.len() || range.start > range.end {
            return 0..0;
        }
        range
    }

    fn text(&self, node: &impl Spanned) -> String {
        let range = self.range(node);
        let text = self.source.get(range).unwrap_or("");
        let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() > 60 {
            let cut: String = one_line.chars().take(57).collect();
            format!("{cut}...")
        } else {
            one_line
        }
    }

    fn in_async(&self) -> bool {
        self.async_stack.last().copied().unwrap_or(false)
    }

    /// `Some(must_use)` when `expr` is, syntactically, a lazy stream.
    fn stream_expr(&self, expr: &Expr) -> Option<bool> {
        if let Some(must_use) = stream_constructor(expr) {
            return Some(must_use);
        }
        match expr {
            Expr::Call(call) => {
                let Expr::Path(path) = &*call.func else { return None };
                match self.function_produces(path) {
                    Produces::Stream { must_use } => Some(must_use),
                    _ => None,
                }
            }
            Expr::MethodCall(call) => match self.facts.method(&call.method.to_string()) {
                Produces::Stream { must_use } => Some(must_use),
                _ => None,
            },
            Expr::Await(awaited) => match self.future_of(&awaited.base) {
                Some(Produces::Future { stream_when_awaited: true }) => Some(true),
                _ => None,
            },
            Expr::Paren(paren) => self.stream_expr(&paren.expr),
            Expr::Group(group) => self.stream_expr(&group.expr),
            _ => None,
        }
    }

    /// What a call to a function of this file produces, when `expr` is such a call.
    fn future_of(&self, expr: &Expr) -> Option<Produces> {
        match expr {
            Expr::Call(call) => {
                let Expr::Path(path) = &*call.func else { return None };
                Some(self.function_produces(path))
            }
            Expr::MethodCall(call) => Some(self.facts.method(&call.method.to_string())),
            Expr::Paren(paren) => self.future_of(&paren.expr),
            _ => None,
        }
    }

    fn is_future(&self, expr: &Expr) -> bool {
        matches!(self.future_of(expr), Some(Produces::Future { .. }))
    }

    /// Whether `expr` is, syntactically, a tracing span.
    fn is_span(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Macro(mac) => mac
                .mac
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "span" || segment.ident.to_string().ends_with("_span")),
            Expr::Call(call) => {
                let Expr::Path(path) = &*call.func else { return false };
                let segments: Vec<String> =
                    path.path.segments.iter().map(|segment| segment.ident.to_string()).collect();
                matches!(segments.as_slice(), [.., owner, function] if owner == "Span" && (function == "current" || function == "new"))
            }
            Expr::Path(path) => path.path.get_ident().is_some_and(|ident| {
                let name = ident.to_string();
                self.span_vars.contains(&name) || name == "span" || name.ends_with("_span")
            }),
            Expr::Field(field) => match &field.member {
                syn::Member::Named(ident) => ident == "span" || ident.to_string().ends_with("_span"),
                syn::Member::Unnamed(_) => false,
            },
            Expr::MethodCall(call) => {
                (call.method == "clone" && self.is_span(&call.receiver))
                    || (call.args.is_empty() && (call.method == "span" || call.method.to_string().ends_with("_span")))
            }
            Expr::Reference(reference) => self.is_span(&reference.expr),
            Expr::Paren(paren) => self.is_span(&paren.expr),
            _ => false,
        }
    }

    /// The guard `expr` evaluates to, when it is an awaited tokio lock/permit or a span guard.
    fn guard_kind(&self, expr: &Expr) -> Option<GuardKind> {
        match expr {
            Expr::Try(inner) => self.guard_kind(&inner.expr),
            Expr::Paren(inner) => self.guard_kind(&inner.expr),
            Expr::MethodCall(call) if call.method == "unwrap" || call.method == "expect" => {
                self.guard_kind(&call.receiver)
            }
            Expr::Await(awaited) => {
                let Expr::MethodCall(call) = &*awaited.base else { return None };
                let method = call.method.to_string();
                let arguments = call.args.len();
                match (method.as_str(), arguments) {
                    // `read(&mut buf)`/`write(&buf)` with an argument are I/O, not locks.
                    ("lock" | "read" | "write" | "lock_owned" | "read_owned" | "write_owned", 0) => {
                        Some(GuardKind::Lock)
                    }
                    ("acquire" | "acquire_owned", 0) | ("acquire_many" | "acquire_many_owned", 1) => {
                        Some(GuardKind::Permit)
                    }
                    _ => None,
                }
            }
            Expr::MethodCall(call)
                if (call.method == "enter" || call.method == "entered")
                    && call.args.is_empty()
                    && self.is_span(&call.receiver) =>
            {
                Some(GuardKind::Span)
            }
            _ => None,
        }
    }

    /// Reports a finding: `message` says what the code does, `help` what to write instead
    /// (said once, on the CLI's `help:` line).
    fn push(&mut self, rule: Rule, range: Range<usize>, (message, help): (String, String), fixes: Vec<Fix>) {
        if range.is_empty() && range.start == 0 {
            return;
        }
        self.findings.push(Finding { rule, range, message, fixes, related: Vec::new(), help: Some(help) });
    }

    fn dropped_guard(
        &mut self,
        statement: Range<usize>,
        wildcard: Range<usize>,
        replacement: &str,
        kind: GuardKind,
        what: &str,
    ) {
        let (object, consequence) = kind.describe();
        let message = (
            format!("`{what}` returns {object}, and `let _ =` drops it on the spot: {consequence}"),
            "bind it to a name that lives as long as the protected code: `let _guard = …`".to_owned(),
        );
        // Unsafe, as every Rust fix here: the mistake compiles and runs, so a fix that corrects
        // it changes what runs. Holding the guard to the end of the scope can deadlock code
        // that takes the same lock again further down.
        let fix = Fix {
            title: "Keep the guard alive: `let _guard =` (changes behaviour: the lock is held to the end of the scope)"
                .to_owned(),
            applicability: Applicability::Unsafe,
            edits: vec![Edit { range: wildcard, content: replacement.to_owned() }],
            other_files: Vec::new(),
        };
        self.push(Rule::DroppedGuard, statement, message, vec![fix]);
    }

    fn discarded_stream(&mut self, statement: Range<usize>, what: &str) {
        let message = (
            format!("`{what}` is a lazy stream, and this statement discards it without polling it: nothing in it runs"),
            "iterate it (`while let Some(item) = stream.next().await { … }`) or remove the statement".to_owned(),
        );
        self.push(Rule::DiscardedStream, statement, message, Vec::new());
    }

    fn unawaited_future(&mut self, init: &Expr, binding: &str) {
        let range = self.range(init);
        let what = self.text(init);
        let message = (
            format!(
                "`{what}` calls an `async fn`: it returns a future, and {binding} without awaiting it means its body never runs"
            ),
            format!("await it: `{what}.await`"),
        );
        let fixes = if self.in_async() {
            // The future's body now runs (a lock is now taken, a request now sent): unsafe.
            vec![Fix {
                title: "Add `.await` (changes behaviour: the future now runs)".to_owned(),
                applicability: Applicability::Unsafe,
                edits: vec![Edit { range: range.end..range.end, content: ".await".to_owned() }],
                other_files: Vec::new(),
            }]
        } else {
            Vec::new()
        };
        self.push(Rule::UnawaitedFutureBinding, range, message, fixes);
    }

    fn check_local(&mut self, local: &syn::Local, rest: &[Stmt]) {
        let Some(init) = &local.init else { return };
        if init.diverge.is_some() {
            return;
        }
        let expr = &*init.expr;
        let mut pattern = &local.pat;
        if let Pat::Type(typed) = pattern {
            pattern = &typed.pat;
        }
        let statement = self.range(local);
        match pattern {
            Pat::Wild(wild) => {
                let what = self.text(expr);
                if let Some(kind) = self.guard_kind(expr) {
                    let wildcard = self.range(wild);
                    self.dropped_guard(statement, wildcard, "_guard", kind, &what);
                } else if self.stream_expr(expr).is_some() {
                    self.discarded_stream(statement, &what);
                } else if self.is_future(expr) {
                    self.unawaited_future(expr, "`let _ =` drops it");
                }
            }
            Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                let name = ident.ident.to_string();
                if self.is_span(expr) {
                    self.span_vars.insert(name.clone());
                }
                if matches!(self.guard_kind(expr), Some(GuardKind::Span)) && self.in_async() {
                    self.span_guard_across_await(statement.clone(), expr, &name, rest);
                }
                if used_in(&name, rest) {
                    return;
                }
                if self.stream_expr(expr).is_some() {
                    self.stream_as_guard(local, expr, &name, rest);
                } else if self.is_future(expr) {
                    self.unawaited_future(expr, &format!("binding it to `{name}`"));
                }
            }
            _ => {}
        }
    }

    fn span_guard_across_await(&mut self, statement: Range<usize>, expr: &Expr, name: &str, rest: &[Stmt]) {
        for stmt in rest {
            if is_drop_of(stmt, name) {
                return;
            }
            if let Some(await_range) = first_await(stmt).map(|span| byte_range(span, self.base)) {
                let what = self.text(expr);
                let (row, _) = crate::LineIndex::new(self.source).row_column(self.source, await_range.start);
                let message = (
                    format!(
                        "`{what}` returns a tracing span guard, and `{name}` keeps it alive across the `.await` on line {row}: \
                         while the task is suspended the span stays entered on this thread, so other tasks' events land in it"
                    ),
                    "drop the guard before awaiting, or instrument the future instead: `async { … }.instrument(span).await`"
                        .to_owned(),
                );
                let fixes = self.instrument_fix(statement.clone(), expr, name, rest).into_iter().collect();
                self.push(Rule::SpanGuardAcrossAwait, statement, message, fixes);
                return;
            }
        }
    }

    /// APM404's fix, for the simple shape only: `let guard = span.enter();` followed by the rest
    /// of its block becomes `async { <rest> }.instrument(span.clone()).await`. Not offered when
    /// the moved statements mention the guard, or leave the block early (`return`, `?`,
    /// `break`, `continue` would change targets inside an `async` block).
    fn instrument_fix(&self, statement: Range<usize>, expr: &Expr, name: &str, rest: &[Stmt]) -> Option<Fix> {
        let Expr::MethodCall(call) = expr else { return None };
        let receiver = match &*call.receiver {
            Expr::Reference(reference) if call.method == "enter" => &*reference.expr,
            other => other,
        };
        let receiver_text = self.source.get(self.range(receiver))?;
        let span = match receiver {
            Expr::Macro(_) | Expr::Call(_) => receiver_text.to_owned(),
            Expr::MethodCall(inner) if inner.method == "clone" => receiver_text.to_owned(),
            Expr::Path(_) | Expr::Field(_) | Expr::MethodCall(_) => format!("{receiver_text}.clone()"),
            _ => return None,
        };
        if rest.is_empty() || mentioned_in(name, rest) || rest.iter().any(|stmt| leaves_block(stmt, true)) {
            return None;
        }
        let rest_end = self.range(rest.last()?).end;
        let line_start = self.source[..statement.start].rfind('\n').map_or(0, |idx| idx + 1);
        let indent: String =
            self.source[line_start..statement.start].chars().take_while(|c| c.is_whitespace()).collect();
        let unit = if indent.contains('\t') { "\t" } else { "    " };
        let body = reindent(self.source.get(statement.end..rest_end)?, unit)?;
        let use_line = if self.source.contains("Instrument") {
            String::new()
        } else {
            format!("use tracing::Instrument;\n{indent}")
        };
        let has_tail = matches!(rest.last(), Some(Stmt::Expr(_, None)));
        let semicolon = if has_tail { "" } else { ";" };
        let content =
            format!("{use_line}async {{{body}\n{indent}}}\n{indent}.instrument({span})\n{indent}.await{semicolon}");
        Some(Fix {
            title: "Instrument the awaited work instead of holding the span guard (changes behaviour: the span covers only that work)"
                .to_owned(),
            applicability: Applicability::Unsafe,
            edits: vec![Edit { range: statement.start..rest_end, content }],
            other_files: Vec::new(),
        })
    }

    /// APM406: `while let Some(x) = make_stream().next().await` creates a fresh stream every time.
    fn stream_recreated_in_loop(&mut self, stmt: &Stmt, node: &syn::ExprWhile) {
        let Expr::Let(condition) = &*node.cond else { return };
        let Expr::Await(awaited) = &*condition.expr else { return };
        let Expr::MethodCall(call) = &*awaited.base else { return };
        if !(call.method == "next" || call.method == "try_next") || !call.args.is_empty() {
            return;
        }
        let receiver = &*call.receiver;
        if self.stream_expr(receiver).is_none() {
            return;
        }
        let what = self.text(receiver);
        let message = (
            format!(
                "`{what}` creates a new stream on every iteration of this `while let`, so each `.{method}().await` \
                 polls a fresh stream: the loop sees only first items (or never ends)",
                method = call.method,
            ),
            format!(
                "create the stream once before the loop: `let mut stream = std::pin::pin!({what}); while let Some(item) = stream.{method}().await {{ … }}`",
                method = call.method,
            ),
        );
        let statement = self.range(stmt);
        let receiver_range = self.range(receiver);
        let line_start = self.source[..statement.start].rfind('\n').map_or(0, |idx| idx + 1);
        let indent: String =
            self.source[line_start..statement.start].chars().take_while(|c| c.is_whitespace()).collect();
        // The loop now sees one stream's items, where it saw the first item of a fresh stream
        // each time: unsafe.
        let fix = Fix {
            title: "Hoist the stream out of the loop (changes behaviour: one stream is iterated to its end)".to_owned(),
            applicability: Applicability::Unsafe,
            edits: vec![
                Edit {
                    range: statement.start..statement.start,
                    content: format!(
                        "let mut stream = std::pin::pin!({});\n{indent}",
                        &self.source[receiver_range.clone()]
                    ),
                },
                Edit { range: receiver_range.clone(), content: "stream".to_owned() },
            ],
            other_files: Vec::new(),
        };
        let fixes = if used_in("stream", std::slice::from_ref(stmt)) { Vec::new() } else { vec![fix] };
        self.push(Rule::StreamRecreatedInLoop, receiver_range, message, fixes);
    }

    /// APM407: a spawned task without a loop whose body handles one `rx.recv().await` or
    /// `s.next().await` in an `if let` and ends.
    fn if_let_once(&mut self, call: &syn::ExprCall) {
        let Expr::Path(path) = &*call.func else { return };
        let is_spawn =
            path.path.segments.last().is_some_and(|segment| segment.ident == "spawn" || segment.ident == "spawn_local");
        let (true, Some(Expr::Async(task))) = (is_spawn, call.args.first()) else { return };
        if has_loop(&task.block) {
            return;
        }
        for stmt in &task.block.stmts {
            let Stmt::Expr(Expr::If(branch), _) = stmt else { continue };
            if branch.else_branch.is_some() {
                continue;
            }
            let Expr::Let(condition) = &*branch.cond else { continue };
            let Expr::Await(awaited) = &*condition.expr else { continue };
            let Expr::MethodCall(receive) = &*awaited.base else { continue };
            let method = receive.method.to_string();
            if !matches!(method.as_str(), "recv" | "next" | "try_next" | "message") || !receive.args.is_empty() {
                continue;
            }
            let what = self.text(&*condition.expr);
            let message = (
                format!(
                    "this spawned task handles one item from `{what}` in an `if let` and then ends: \
                     every later message is never received"
                ),
                "use `while let` to keep handling them".to_owned(),
            );
            // The task now handles every item and ends only when the channel closes: unsafe.
            let fix = Fix {
                title: "Handle every item: `if let` → `while let` (changes behaviour: the task runs until the channel closes)"
                    .to_owned(),
                applicability: Applicability::Unsafe,
                edits: vec![Edit { range: self.range(&branch.if_token), content: "while".to_owned() }],
                other_files: Vec::new(),
            };
            let range = self.range(&branch.if_token).start..self.range(&*branch.cond).end;
            self.push(Rule::IfLetOnce, range, message, vec![fix]);
        }
    }

    fn stream_as_guard(&mut self, local: &syn::Local, expr: &Expr, name: &str, rest: &[Stmt]) {
        let statement = self.range(local);
        let what = self.text(expr);
        let base = name.trim_start_matches('_');
        let stream_var = if base.is_empty() { "stream".to_owned() } else { format!("{base}_stream") };
        let message = (
            format!(
                "`{what}` returns a lazy stream, and `let {name} = …` binds it like a scope guard that is never polled: \
                 nothing in the stream runs"
            ),
            format!(
                "iterate it: `let mut {stream_var} = std::pin::pin!({what}); while let Some(item) = {stream_var}.next().await {{ … }}`"
            ),
        );
        let mut fixes = Vec::new();
        let has_tail = matches!(rest.last(), Some(Stmt::Expr(_, None)));
        if self.in_async() && !has_tail && !rest.iter().any(|stmt| leaves_block(stmt, false)) {
            let init = self.range(expr);
            let rest_end = rest.last().map_or(statement.end, |stmt| self.range(stmt).end);
            let line_start = self.source[..statement.start].rfind('\n').map_or(0, |idx| idx + 1);
            let indent: String =
                self.source[line_start..statement.start].chars().take_while(|c| c.is_whitespace()).collect();
            let use_line = if self.source.contains("StreamExt") {
                String::new()
            } else {
                format!("use futures::StreamExt;\n{indent}")
            };
            let unit = if indent.contains('\t') { "\t" } else { "    " };
            let Some(body) = reindent(&self.source[statement.end..rest_end], unit) else {
                self.push(Rule::StreamAsGuard, statement, message, fixes);
                return;
            };
            let close = if rest.is_empty() { "}".to_owned() } else { format!("\n{indent}}}") };
            let content = format!(
                "{use_line}let mut {stream_var} = std::pin::pin!({init_text});\n{indent}while let Some({name}) = {stream_var}.next().await {{{body}{close}",
                init_text = &self.source[init],
            );
            // The stream is now polled, so its work runs: unsafe.
            fixes.push(Fix {
                title: "Swap the scope guard for stream iteration: `while let Some(…) = ….next().await` (changes behaviour: the stream now runs)"
                    .to_owned(),
                applicability: Applicability::Unsafe,
                edits: vec![Edit { range: statement.start..rest_end, content }],
                other_files: Vec::new(),
            });
        }
        self.push(Rule::StreamAsGuard, statement, message, fixes);
    }

    fn check_statement_expr(&mut self, expr: &Expr, statement: Range<usize>) {
        match expr {
            Expr::Assign(assign) if matches!(&*assign.left, Expr::Infer(_)) => {
                let right = &*assign.right;
                let what = self.text(right);
                if let Some(kind) = self.guard_kind(right) {
                    let wildcard = self.range(&assign.left);
                    self.dropped_guard(statement, wildcard, "let _guard", kind, &what);
                } else if self.stream_expr(right).is_some() {
                    self.discarded_stream(statement, &what);
                } else if self.is_future(right) {
                    self.unawaited_future(right, "`_ =` drops it");
                }
            }
            _ => {
                if self.stream_expr(expr) == Some(false) {
                    let what = self.text(expr);
                    self.discarded_stream(statement, &what);
                }
            }
        }
    }

    fn with_async<F: FnOnce(&mut Self)>(&mut self, is_async: bool, f: F) {
        self.async_stack.push(is_async);
        f(self);
        self.async_stack.pop();
    }
}

/// `text` (whole statements) with `unit` added at the start of every non-blank line after the
/// first, except lines that continue a multi-line string literal (their text is the string's
/// value). `None` when `text` does not tokenise.
fn reindent(text: &str, unit: &str) -> Option<String> {
    fn literal_ranges(tokens: TokenStream, ranges: &mut Vec<Range<usize>>) {
        for tree in tokens {
            match tree {
                TokenTree::Literal(literal) => ranges.push(literal.span().byte_range()),
                TokenTree::Group(group) => literal_ranges(group.stream(), ranges),
                _ => {}
            }
        }
    }
    let tokens: TokenStream = text.parse().ok()?;
    // Byte ranges are relative to the start of `text` (each parse is its own source file).
    let mut literals = Vec::new();
    literal_ranges(tokens, &mut literals);
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut line_start = 0;
    for (idx, line) in text.split('\n').enumerate() {
        if idx > 0 {
            out.push('\n');
            let in_literal = literals.iter().any(|range| range.start < line_start && line_start < range.end);
            if !line.trim().is_empty() && !in_literal {
                out.push_str(unit);
            }
        }
        out.push_str(line);
        line_start += line.len() + 1;
    }
    Some(out)
}

/// Whether `block` contains a loop (outside nested closures and items).
fn has_loop(block: &syn::Block) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_while(&mut self, _: &'ast syn::ExprWhile) {
            self.0 = true;
        }
        fn visit_expr_loop(&mut self, _: &'ast syn::ExprLoop) {
            self.0 = true;
        }
        fn visit_expr_for_loop(&mut self, _: &'ast syn::ExprForLoop) {
            self.0 = true;
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            if find_token(&mac.tokens, "loop").is_some() || find_token(&mac.tokens, "while").is_some() {
                self.0 = true;
            }
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut finder = Finder(false);
    finder.visit_block(block);
    finder.0
}

/// Whether `stmt` is `drop(name);`.
fn is_drop_of(stmt: &Stmt, name: &str) -> bool {
    let Stmt::Expr(Expr::Call(call), _) = stmt else { return false };
    matches!(&*call.func, Expr::Path(path) if path.path.segments.last().is_some_and(|segment| segment.ident == "drop"))
        && call.args.len() == 1
        && matches!(&call.args[0], Expr::Path(path) if path.path.is_ident(name))
}

/// The first `.await` of `stmt` that suspends the current future (not one inside a nested
/// `async` block, closure or item); a macro whose tokens contain `await` counts.
fn first_await(stmt: &Stmt) -> Option<proc_macro2::Span> {
    struct Finder(Option<proc_macro2::Span>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_await(&mut self, node: &'ast syn::ExprAwait) {
            syn::visit::visit_expr_await(self, node);
            if self.0.is_none() {
                self.0 = Some(node.await_token.span);
            }
        }
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            if self.0.is_some() {
                return;
            }
            // `select!`/`join!` await their branches without an `.await` token.
            let awaits = mac.path.segments.last().filter(|segment| {
                matches!(segment.ident.to_string().as_str(), "select" | "join" | "try_join" | "select_biased")
            });
            self.0 = awaits.map(|segment| segment.ident.span()).or_else(|| find_token(&mac.tokens, "await"));
        }
    }
    let mut finder = Finder(None);
    finder.visit_stmt(stmt);
    finder.0
}

fn find_token(tokens: &TokenStream, wanted: &str) -> Option<proc_macro2::Span> {
    tokens.clone().into_iter().find_map(|tree| match tree {
        TokenTree::Ident(ident) if ident == wanted => Some(ident.span()),
        TokenTree::Group(group) => find_token(&group.stream(), wanted),
        _ => None,
    })
}

fn tokens_mention(tokens: &TokenStream, wanted: &dyn Fn(&proc_macro2::Ident) -> bool) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => wanted(&ident),
        TokenTree::Group(group) => tokens_mention(&group.stream(), wanted),
        _ => false,
    })
}

/// Whether `name` is mentioned at all in `stmts` (`drop(name)` included).
fn mentioned_in(name: &str, stmts: &[Stmt]) -> bool {
    struct Finder<'n> {
        name: &'n str,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_ident(&mut self, ident: &'ast proc_macro2::Ident) {
            self.found |= ident == self.name;
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            self.found |= tokens_mention(&mac.tokens, &|ident| ident == self.name);
            syn::visit::visit_macro(self, mac);
        }
    }
    let mut finder = Finder { name, found: false };
    for stmt in stmts {
        finder.visit_stmt(stmt);
    }
    finder.found
}

/// Whether `stmt` may leave its block early: a `break`/`continue` that targets a loop outside
/// it (wrapping it in a loop or an `async` block would retarget it), and, with `returns`, a
/// `return` or `?` (an `async` block would catch them). Macros count when their tokens could
/// do so; nested closures, `async` blocks and items are their own scopes.
fn leaves_block(stmt: &Stmt, returns: bool) -> bool {
    fn tokens_leave(tokens: &TokenStream, returns: bool) -> bool {
        tokens.clone().into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == "break" || ident == "continue" || (returns && ident == "return"),
            TokenTree::Punct(punct) => returns && punct.as_char() == '?',
            TokenTree::Group(group) => tokens_leave(&group.stream(), returns),
            TokenTree::Literal(_) => false,
        })
    }
    /// `loops`: how many loops of the moved statements enclose the current node; an unlabeled
    /// `break`/`continue` inside one of them stays inside the `async` block.
    struct Finder {
        returns: bool,
        leaves: bool,
        loops: usize,
    }
    impl Finder {
        fn in_loop(&mut self, visit: impl FnOnce(&mut Self)) {
            self.loops += 1;
            visit(self);
            self.loops -= 1;
        }
    }
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_return(&mut self, node: &'ast syn::ExprReturn) {
            self.leaves |= self.returns;
            syn::visit::visit_expr_return(self, node);
        }
        fn visit_expr_try(&mut self, node: &'ast syn::ExprTry) {
            self.leaves |= self.returns;
            syn::visit::visit_expr_try(self, node);
        }
        fn visit_expr_break(&mut self, node: &'ast syn::ExprBreak) {
            self.leaves |= self.loops == 0 || node.label.is_some();
            syn::visit::visit_expr_break(self, node);
        }
        fn visit_expr_continue(&mut self, node: &'ast syn::ExprContinue) {
            self.leaves |= self.loops == 0 || node.label.is_some();
        }
        fn visit_expr_loop(&mut self, node: &'ast syn::ExprLoop) {
            self.in_loop(|this| syn::visit::visit_expr_loop(this, node));
        }
        fn visit_expr_while(&mut self, node: &'ast syn::ExprWhile) {
            self.in_loop(|this| syn::visit::visit_expr_while(this, node));
        }
        fn visit_expr_for_loop(&mut self, node: &'ast syn::ExprForLoop) {
            self.in_loop(|this| syn::visit::visit_expr_for_loop(this, node));
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            self.leaves |= tokens_leave(&mac.tokens, self.returns);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut finder = Finder { returns, leaves: false, loops: 0 };
    finder.visit_stmt(stmt);
    finder.leaves
}

/// Whether `name` is mentioned in `stmts` other than as `drop(name)` (dropping is not using).
fn used_in(name: &str, stmts: &[Stmt]) -> bool {
    struct Finder<'n> {
        name: &'n str,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_ident(&mut self, ident: &'ast proc_macro2::Ident) {
            if ident == self.name {
                self.found = true;
            }
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            if tokens_mention(&mac.tokens, &|ident| ident == self.name) {
                self.found = true;
            }
            syn::visit::visit_macro(self, mac);
        }
        fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
            let is_drop = matches!(&*call.func, Expr::Path(path)
                if path.path.segments.last().is_some_and(|segment| segment.ident == "drop"));
            let drops_name = is_drop
                && call.args.len() == 1
                && matches!(&call.args[0], Expr::Path(path) if path.path.is_ident(self.name));
            if !drops_name {
                syn::visit::visit_expr_call(self, call);
            }
        }
    }
    let mut finder = Finder { name, found: false };
    for stmt in stmts {
        finder.visit_stmt(stmt);
        if finder.found {
            return true;
        }
    }
    false
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_item_mod(&mut self, node: &'ast syn::ItemMod) {
        self.inline_modules.push(node.ident.to_string());
        syn::visit::visit_item_mod(self, node);
        self.inline_modules.pop();
    }

    fn visit_item_fn(&mut self, node: &'ast syn::ItemFn) {
        self.with_async(node.sig.asyncness.is_some(), |this| syn::visit::visit_item_fn(this, node));
    }

    fn visit_impl_item_fn(&mut self, node: &'ast syn::ImplItemFn) {
        self.with_async(node.sig.asyncness.is_some(), |this| syn::visit::visit_impl_item_fn(this, node));
    }

    fn visit_trait_item_fn(&mut self, node: &'ast syn::TraitItemFn) {
        self.with_async(node.sig.asyncness.is_some(), |this| syn::visit::visit_trait_item_fn(this, node));
    }

    fn visit_expr_async(&mut self, node: &'ast syn::ExprAsync) {
        self.with_async(true, |this| syn::visit::visit_expr_async(this, node));
    }

    fn visit_expr_closure(&mut self, node: &'ast syn::ExprClosure) {
        self.with_async(node.asyncness.is_some(), |this| syn::visit::visit_expr_closure(this, node));
    }

    fn visit_expr_call(&mut self, node: &'ast syn::ExprCall) {
        self.if_let_once(node);
        syn::visit::visit_expr_call(self, node);
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        for (index, stmt) in block.stmts.iter().enumerate() {
            match stmt {
                Stmt::Local(local) => self.check_local(local, &block.stmts[index + 1..]),
                Stmt::Expr(Expr::While(node), _) => self.stream_recreated_in_loop(stmt, node),
                Stmt::Expr(expr, Some(_)) => {
                    let statement = self.range(stmt);
                    self.check_statement_expr(expr, statement);
                }
                Stmt::Macro(mac) if mac.semi_token.is_some() => {
                    let is_stream_macro = mac
                        .mac
                        .path
                        .segments
                        .last()
                        .is_some_and(|segment| segment.ident == "stream" || segment.ident == "try_stream");
                    if is_stream_macro {
                        let statement = self.range(stmt);
                        let what = self.text(&mac.mac.path);
                        self.discarded_stream(statement, &format!("{what}! {{ … }}"));
                    }
                }
                _ => {}
            }
        }
        syn::visit::visit_block(self, block);
    }
}
