//! Facts extraction: one pass over a parsed module that records what each definition provides
//! and where each protocol is used, then drops the AST.
//!
//! Facts are deliberately shallow: interned names, small expression shapes ([`Shape`], in the
//! module's arenas, see `expr.rs`) and byte ranges. Resolution (`resolve.rs`) works on facts
//! only, so a module that is not open in the editor costs its facts, never its syntax tree.

use std::ops::Range;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, ExceptHandler, Expr, Parameters, Pattern, Stmt, StmtClassDef, StmtFunctionDef};
use ruff_text_size::{Ranged, TextRange};

use super::expr::ExprBuilder;
pub use super::expr::{Expr as Shape, ExprId, ExprList, Exprs, TextId, KEPT_KEYWORDS};
use super::flow;
pub use super::flow::YieldShape;
use crate::line_index::LineCursor;
use crate::protocol::UseSiteKind;

pub type ScopeId = u32;
pub type FunctionId = u32;
pub type ClassId = u32;

/// The module scope is always the first one.
pub const MODULE_SCOPE: ScopeId = 0;

/// One way a name gets a value in a scope. A name with several bindings resolves only when all
/// of them agree.
///
/// Every module of the workspace keeps its bindings for as long as it is indexed, and they are
/// the bulk of its facts: names are interned and expressions are arena ids, so that a binding
/// is sixteen bytes and owns no block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Function(FunctionId),
    Class(ClassId),
    /// `import a.b` binds `a` to module `a`; `import a.b as m` binds `m` to module `a.b`.
    ImportModule(ImportModule),
    /// `from <level dots><module> import <name>`.
    ImportFrom(ImportFrom),
    /// `x = <expr>` (or `x: T = <expr>`) with a single name target.
    Value(ExprId),
    /// `x = <expr>` in a function that declares `x` `global` (or `nonlocal`): bound in the
    /// module (or the enclosing function), evaluated in the assigning function's scope.
    ValueIn(ExprId, ScopeId),
    /// The first parameter of a plain method: the instance of that class.
    SelfParameter(ClassId),
    /// Any other parameter.
    Parameter(ParameterBinding),
    /// Bound in a way we do not follow (loop targets, unpacking, `del`, augmented assignment…).
    Opaque,
}

const _: () = assert!(std::mem::size_of::<Binding>() == 16);

/// `from <level dots><module> import <name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportFrom {
    pub module: TextId,
    /// Leading dots (a relative import), at most `u16::MAX`: more are not a real import.
    pub level: u16,
    pub name: TextId,
    /// In a `try` body whose handlers catch a failed import: when the module is not there, the
    /// name keeps what the handler binds (see [`ImportModule::fallible`]).
    pub fallible: bool,
}

/// `import <module>` (see [`Binding::ImportModule`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportModule {
    pub module: TextId,
    /// In a `try` body whose handlers catch `ImportError` (`try: import uvloop except
    /// ImportError: uvloop = None`): when the environment lacks the module, this binding never
    /// happens at run time.
    pub fallible: bool,
}

/// A parameter other than `self`: its annotation (as written) when it has one, and where it
/// sits in the signature ([`ParameterBinding::slot`]). Sixteen bytes, kept in its binding:
/// parameters are the most common binding of all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParameterBinding {
    pub annotation: Option<ExprId>,
    default: Option<ExprId>,
    /// The function, or [`NO_SLOT`] for `*args`/`**kwargs` and lambda parameters.
    function: FunctionId,
    /// See [`ParameterSlot::position`]; [`NO_POSITION`] for none.
    position: u16,
    by_keyword: bool,
}

const NO_SLOT: FunctionId = FunctionId::MAX;
const NO_POSITION: u16 = u16::MAX;

impl ParameterBinding {
    /// A parameter no call reaches by name or position: `*args`, `**kwargs`.
    fn variadic() -> ParameterBinding {
        ParameterBinding {
            annotation: None,
            default: None,
            function: NO_SLOT,
            position: NO_POSITION,
            by_keyword: false,
        }
    }

    /// How calls reach it; `None` for `*args`/`**kwargs` and lambda parameters.
    pub fn slot(&self) -> Option<ParameterSlot> {
        (self.function != NO_SLOT).then_some(ParameterSlot {
            function: self.function,
            position: (self.position != NO_POSITION).then_some(u32::from(self.position)),
            by_keyword: self.by_keyword,
            default: self.default,
        })
    }
}

/// The order of names in [`BindingTable`]: by length, then bytewise. Most pairs differ in
/// length, so most comparisons never look at the bytes.
fn name_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Every scope's bindings, scope after scope: one entry per name (its interned text and its
/// first binding), sorted within each scope and looked up by binary search, and one array of
/// bindings. A module's bindings cost two allocations however many scopes and names it has; a
/// hash map of boxed names to vectors per scope cost five times the memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BindingTable {
    /// Per name: the name (interned in the module's exported expressions) and where its
    /// bindings start in `bindings`.
    entries: Vec<(TextId, u32)>,
    bindings: Vec<Binding>,
}

impl BindingTable {
    /// Appends one scope's `pending` bindings (names interned in `texts`), sorted by name
    /// with each name's bindings in order, and returns the scope's entries.
    fn push_scope(&mut self, texts: &ExprBuilder, mut pending: Vec<PendingBinding>) -> (u32, u32) {
        let name = |binding: &PendingBinding| texts.text_bytes(binding.name);
        pending.sort_by(|a, b| name_order(name(a), name(b)));
        // A name bound both under `if TYPE_CHECKING:` and by code that runs (`if TYPE_CHECKING:
        // import httpx2 as httpx` / `else: import httpx`) holds only what runs.
        let mut start = 0;
        let mut kept = Vec::with_capacity(pending.len());
        while start < pending.len() {
            let end = start + pending[start..].iter().take_while(|other| other.name == pending[start].name).count();
            let group = &pending[start..end];
            let runs = group.iter().any(|binding| !binding.type_checking);
            kept.extend(group.iter().filter(|binding| !(runs && binding.type_checking)).copied());
            start = end;
        }
        let pending = kept;
        let first = to_u32(self.entries.len());
        let mut previous = None;
        for pending in pending {
            if previous != Some(pending.name) {
                self.entries.push((pending.name, to_u32(self.bindings.len())));
                previous = Some(pending.name);
            }
            self.bindings.push(pending.binding);
        }
        (first, to_u32(self.entries.len()))
    }

    fn shrink_to_fit(&mut self) {
        super::shrink(&mut self.entries);
        super::shrink(&mut self.bindings);
    }

    /// Where `name` is among the entries `first..end` (one scope's), by binary search.
    fn position<'t>(&self, first: usize, end: usize, name: &str, text: impl Fn(TextId) -> &'t [u8]) -> Option<usize> {
        let (mut low, mut high) = (first, end);
        while low < high {
            let middle = low + (high - low) / 2;
            // Bytes, not text: the search needs no character-boundary checks.
            match name_order(text(self.entries[middle].0), name.as_bytes()) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// The bindings of the entry at `idx`.
    fn bindings_at(&self, idx: usize) -> &[Binding] {
        let start = self.entries[idx].1 as usize;
        let end = self.entries.get(idx + 1).map_or(self.bindings.len(), |next| next.1 as usize);
        &self.bindings[start..end]
    }
}

/// The names one scope binds, each with its bindings in source order (a view of the module's
/// [`BindingTable`]).
#[derive(Clone, Copy, Debug)]
pub struct ScopeBindings<'a> {
    table: &'a BindingTable,
    exprs: &'a Exprs,
    /// The scope's entries.
    first: usize,
    end: usize,
}

impl<'a> ScopeBindings<'a> {
    fn name_at(&self, idx: usize) -> &'a str {
        self.exprs.text(self.table.entries[idx].0)
    }

    fn bindings_at(&self, idx: usize) -> &'a [Binding] {
        self.table.bindings_at(idx)
    }

    /// The bindings of `name`, if the scope binds it.
    pub fn get(&self, name: &str) -> Option<&'a [Binding]> {
        let idx = self.position(name)?;
        Some(self.bindings_at(idx))
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.table.position(self.first, self.end, name, |text| self.exprs.text_bytes(text))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Each name with its bindings (shortest names first).
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a [Binding])> + 'a {
        let this = *self;
        (self.first..self.end).map(move |idx| (this.name_at(idx), this.bindings_at(idx)))
    }

    /// Every binding of the scope.
    pub fn all(&self) -> impl Iterator<Item = &'a Binding> + 'a {
        let bindings: &'a [Binding] = if self.first == self.end {
            &[]
        } else {
            let start = self.table.entries[self.first].1 as usize;
            let end = self.table.entries.get(self.end).map_or(self.table.bindings.len(), |next| next.1 as usize);
            &self.table.bindings[start..end]
        };
        bindings.iter()
    }

    pub fn len(&self) -> usize {
        self.end - self.first
    }

    pub fn is_empty(&self) -> bool {
        self.first == self.end
    }
}

/// How a call reaches a parameter (named by its binding): by position, by keyword, or by its
/// default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParameterSlot {
    pub function: FunctionId,
    /// Index among the positional parameters (counting `self`), if it can be passed by position.
    pub position: Option<u32>,
    /// Whether it can be passed by keyword (not positional-only).
    pub by_keyword: bool,
    pub default: Option<ExprId>,
}

/// `run(get_session)` / `run(factory=get_session)`: a name that refers to a function (or an
/// import) handed to a call.
#[derive(Clone, Debug)]
pub struct PassedFunction {
    pub callee: ExprId,
    pub argument: ExprId,
    /// Position among the call's positional arguments, or the keyword.
    pub position: Option<u32>,
    pub keyword: Option<Box<str>>,
    pub range: Range<usize>,
    pub scope: ScopeId,
    /// Inside a block that expects a protocol error (see [`UseSite::expects_error`]).
    pub expects_error: bool,
}

/// A call whose callee may be an API of the sinks table (`python::sinks`): `asyncio.run(main)`,
/// `threading.Thread(target=f)`, `tg.start_soon(worker(1))`. Only calls whose callee's last name
/// is a sink's are kept.
#[derive(Clone, Debug)]
pub struct SinkCall {
    pub callee: ExprId,
    pub callee_range: Span,
    pub arguments: Box<[SinkArgument]>,
    pub scope: ScopeId,
    /// Inside a block that expects a protocol error (see [`UseSite::expects_error`]), or in a
    /// branch of a test that tells the kinds apart (`inspect.iscoroutinefunction(f)`): silent.
    pub expects_error: bool,
    /// Another positional argument follows a starred one: positions after it are not known.
    pub unpacks: bool,
    /// Where the module-level statement that holds the call starts (decorators included): a
    /// definition a fix adds goes just before it.
    pub statement_start: u32,
    /// For a decorator (`@click.command()`, `@app.task`), the function it decorates: then the
    /// one argument is that function (its range is the function's name), read from its facts.
    pub decorates: Option<Decorates>,
}

/// The function a decorator sink decorates (see [`SinkCall::decorates`]).
#[derive(Clone, Debug)]
pub struct Decorates {
    pub function: FunctionId,
    /// The decorators listed below this one (applied to the function first), outermost first.
    pub below: Box<[ExprId]>,
    /// The keywords given to the decorator call (`cls=` in `@click.command(cls=AsyncCommand)`).
    pub keywords: Box<[Box<str>]>,
}

#[derive(Clone, Debug)]
pub struct SinkArgument {
    /// Position among the positional arguments, or the keyword (neither for the function a
    /// decorator decorates).
    pub position: Option<u32>,
    pub keyword: Option<Box<str>>,
    /// The argument (for a decorator, the decorator: the function is read from its facts).
    pub value: ExprId,
    pub range: Span,
    /// For a call `f(a, b)` with positional arguments only, where `f` and the arguments are:
    /// (range of `f`, range of `a, b`), for the fix that passes them separately.
    pub call_parts: Option<(Span, Option<Span>)>,
    /// The function `functools.partial(f, …)` or `lambda …: f(…)` calls: the argument is of
    /// that function's kind (a coroutine function's partial is one too).
    pub wraps: Option<Wrapped>,
}

/// See [`SinkArgument::wraps`].
#[derive(Clone, Debug)]
pub struct Wrapped {
    pub function: ExprId,
    pub range: Span,
    /// The callee of `partial(…)`, which must be `functools.partial`; `None` for a lambda.
    pub partial: Option<ExprId>,
}

/// How a module refers to a name, for the workspace's reverse lookups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mention {
    /// Calls something of that name.
    Call,
    /// Subclasses something of that name.
    Base,
    /// Imports something of that name under another name.
    Alias,
    /// Uses that name as a plain value.
    Escape,
    /// Assigns `<x>.state.<name>`.
    State,
}

/// A call to a named callee, kept so that values passed to constructors can be followed.
#[derive(Clone, Debug, PartialEq)]
pub struct CallFact {
    pub callee: ExprId,
    pub arguments: ExprList,
    /// Keyword arguments, as [`Shape::Keyword`] expressions.
    pub keywords: ExprList,
    /// `*args` or `**kwargs` at the call: any parameter may receive anything.
    pub unpacks: bool,
    pub scope: ScopeId,
}

impl CallFact {
    /// The last identifier of the callee (`UserService` in `services.UserService(...)`).
    pub fn callee_name<'a>(&self, exprs: &'a Exprs) -> Option<&'a str> {
        exprs.last_name(self.callee)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    Module,
    Function(FunctionId),
    Class(ClassId),
    /// Lambdas and comprehensions: they bind names but own no facts.
    Anonymous,
}

/// One scope: twenty bytes (a module has one per function, class, lambda and comprehension).
/// Its names are in [`ModuleFacts::bindings`], its `global` and `nonlocal` statements in
/// [`ModuleFacts::is_global`] and [`ModuleFacts::is_nonlocal`].
#[derive(Clone, Debug, PartialEq)]
pub struct ScopeFact {
    pub kind: ScopeKind,
    /// The enclosing scope, or [`NO_PARENT`] for the module (see [`ScopeFact::parent`]).
    parent: ScopeId,
    /// Its entries in the module's [`BindingTable`].
    names: (u32, u32),
}

const NO_PARENT: ScopeId = ScopeId::MAX;

const _: () = assert!(std::mem::size_of::<ScopeFact>() == 20);

/// Names a scope declares `global` (assignments go to the module scope) or `nonlocal`
/// (assignments go to an enclosing function).
#[derive(Clone, Debug, Default, PartialEq)]
struct Declarations {
    globals: Vec<Box<str>>,
    nonlocals: Vec<Box<str>>,
}

impl ScopeFact {
    fn new(kind: ScopeKind, parent: Option<ScopeId>) -> ScopeFact {
        ScopeFact { kind, parent: parent.unwrap_or(NO_PARENT), names: (0, 0) }
    }

    /// The enclosing scope; `None` for the module.
    pub fn parent(&self) -> Option<ScopeId> {
        (self.parent != NO_PARENT).then_some(self.parent)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FunctionFact {
    /// Interned in the module's exported expressions (see [`Exprs::text`]).
    pub name: TextId,
    /// The name in `def name(...)` (see [`FunctionFact::name_range`]).
    name_span: (u32, u32),
    /// 1-based line of the name, for messages about this definition from other files.
    pub line: u32,
    pub is_async: bool,
    /// Contains `yield`/`yield from` in its own body (not in nested functions or classes).
    pub is_generator: bool,
    /// For a generator, how often one call can `yield` and whether anything runs after it.
    pub yields: YieldShape,
    /// Outermost first, as written.
    pub decorators: ExprList,
    /// The return annotation (see [`FunctionFact::returns_range`] for where it is written).
    pub returns: Option<ExprId>,
    returns_span: (u32, u32),
    /// The body only declares (docstring, `...`, `pass`, `raise NotImplementedError`): an
    /// interface for overrides, not behaviour.
    pub is_stub: bool,
    /// The body's statements after its docstring, for fixes that rewrite a stub.
    stub_span: (u32, u32),
    /// What the function hands back when it has a decorator's body: an optional docstring,
    /// nested `def`s, then one `return` (see [`HandsBack`]).
    pub hands_back: Option<HandsBack>,
    /// What `return x` and `yield x` in its own body hand out: for a pytest fixture, the value a
    /// test receives.
    pub produced: ExprList,
    /// The name it is registered under when decorated as a pytest fixture (`name=` honoured).
    pub fixture_name: Option<Box<str>>,
    /// Start of the line of the `def` keyword, and that line's indentation: where a decorator
    /// goes (inside any existing decorators).
    def_line_start: u32,
    pub indent: TextId,
    /// The function's own scope (its parameters and locals).
    pub scope: ScopeId,
    /// The scope the `def` statement binds its name in.
    pub parent_scope: ScopeId,
}

/// What a function shaped like a decorator (`def deco(func): ...`) returns, in terms of its
/// first parameter. Its body is an optional docstring, nested `def`s, and one final `return`, so
/// nothing rebinds the parameter or returns anything else on another path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandsBack {
    /// `return func`: the function itself, unchanged.
    FirstParameter,
    /// `return other(func)`: whatever the decorator `other` (evaluated in the function's own
    /// scope) makes of it.
    AppliedTo(ExprId),
    /// `return wrapper`, a function defined in the body (a wrapper with `functools.wraps`).
    Nested(ExprId),
}

impl FunctionFact {
    /// The name in `def name(...)`.
    pub fn name_range(&self) -> Range<usize> {
        self.name_span.0 as usize..self.name_span.1 as usize
    }

    /// Where the return annotation is written (empty without one).
    pub fn returns_range(&self) -> Range<usize> {
        self.returns_span.0 as usize..self.returns_span.1 as usize
    }

    /// Start of the line of the `def` keyword.
    pub fn def_line_start(&self) -> usize {
        self.def_line_start as usize
    }

    /// The body's statements after its docstring (empty when there are none).
    pub fn stub_range(&self) -> Range<usize> {
        self.stub_span.0 as usize..self.stub_span.1 as usize
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttributeAssignment {
    pub value: ExprId,
    /// The scope the right-hand side is evaluated in.
    pub scope: ScopeId,
}

/// Protocol dunders a class body defines. A dunder whose body only raises does not count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[expect(clippy::struct_excessive_bools, reason = "one flag per protocol dunder reads better than a bit set")]
pub struct Dunders {
    pub aenter: bool,
    pub aexit: bool,
    pub aiter: bool,
    pub anext: bool,
    pub enter: bool,
    pub exit: bool,
    pub iter: bool,
    pub getitem: bool,
    pub await_: bool,
    pub call: bool,
    /// `__new__`: instantiation may return anything.
    pub new: bool,
    /// Some protocol dunder is defined only to raise (`__enter__` that says "use async with"):
    /// a half-defined protocol is then deliberate, not a class under construction.
    pub rejects: bool,
}

impl Dunders {
    fn set(&mut self, name: &str, value: bool) {
        let slot = match name {
            "__aenter__" => &mut self.aenter,
            "__aexit__" => &mut self.aexit,
            "__aiter__" => &mut self.aiter,
            "__anext__" => &mut self.anext,
            "__enter__" => &mut self.enter,
            "__exit__" => &mut self.exit,
            "__iter__" => &mut self.iter,
            "__getitem__" => &mut self.getitem,
            "__await__" => &mut self.await_,
            "__call__" => &mut self.call,
            "__new__" => &mut self.new,
            _ => return,
        };
        *slot = value;
        if !value {
            self.rejects = true;
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClassFact {
    /// Interned in the module's exported expressions (see [`Exprs::text`]).
    pub name: TextId,
    pub name_range: Range<usize>,
    pub line: u32,
    pub bases: Box<[ExprId]>,
    /// `metaclass=…` or other class keywords: instantiation is not predictable.
    pub has_keywords: bool,
    pub decorators: Box<[ExprId]>,
    pub scope: ScopeId,
    pub parent_scope: ScopeId,
    pub dunders: Dunders,
    /// `self.<name> = <value>` anywhere in the class's plain methods, in source order (see
    /// [`ClassFact::instance_attribute`]).
    instance_attributes: Vec<(TextId, AttributeAssignment)>,
    /// Annotated names in the class body, in order (dataclass-style fields; `ClassVar`s left out).
    pub fields: Box<[TextId]>,
}

impl ClassFact {
    /// The assignments of `self.<name>` in the class's plain methods, in source order (`exprs`
    /// are the class's module's).
    pub fn instance_attribute<'a>(
        &'a self,
        exprs: &'a Exprs,
        name: &'a str,
    ) -> impl Iterator<Item = &'a AttributeAssignment> + 'a {
        self.instance_attributes
            .iter()
            .filter(move |(attribute, _)| exprs.text_bytes(*attribute) == name.as_bytes())
            .map(|(_, assignment)| assignment)
    }

    /// Every `self.<name>` assignment, with its name.
    pub fn instance_attributes(&self) -> &[(TextId, AttributeAssignment)] {
        &self.instance_attributes
    }
}

/// A byte range of a module's text in eight bytes: use sites keep several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of(range: TextRange) -> Span {
        Span { start: range.start().into(), end: range.end().into() }
    }

    pub fn start(self) -> usize {
        self.start as usize
    }

    pub fn end(self) -> usize {
        self.end as usize
    }

    pub fn range(self) -> Range<usize> {
        self.start()..self.end()
    }

    pub fn contains(self, offset: usize) -> bool {
        self.range().contains(&offset)
    }
}

/// Syntax details of a use site that fixes need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UseSiteShape {
    /// One item of a `with`/`async with` statement.
    WithItem {
        statement_start: u32,
        item_index: u32,
        item_count: u32,
        /// The whole item (`expr as target`).
        item_range: Span,
        /// The `as` target, if any.
        target: Option<Span>,
        /// The body has a `break`/`continue` that would bind to a loop written in its place.
        body_has_loop_control: bool,
        /// The body is one `async for` over the target and nothing else reads the target.
        only_iterated: Option<Box<OnlyIterated>>,
    },
    /// The iterable of a `for`/`async for` statement.
    ForIterable {
        statement_start: u32,
        has_else: bool,
        /// The loop target (`x` in `for x in …`).
        target: Span,
        /// The body has a `break`/`continue` for this loop.
        body_has_loop_control: bool,
    },
    /// The iterable of a comprehension clause; `clause_start` is its `for` (or `async for`).
    ComprehensionIterable {
        clause_start: u32,
        /// A generator expression: adding or removing `async` changes what it makes (an
        /// async generator where a sync one was consumed, or the reverse).
        lazy: bool,
        /// Inside another comprehension, where `async for` is a syntax error before 3.11.
        nested: bool,
    },
    /// The argument of a protocol API call: `anext(x)`, `stack.enter_async_context(x)`.
    CallArgument {
        callee: ExprId,
        method: &'static str,
        /// Where the callee is written, for the type layer to say what it is.
        callee_span: (u32, u32),
    },
    /// The operand of `await`.
    AwaitOperand { await_start: u32 },
}

/// `async with make() as s:` whose whole body is `async for x in s: …` and whose target is
/// read nowhere else (see [`flow::only_iterated_inside`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlyIterated {
    /// The inner loop from `async for` to its iterable (`async for x in `).
    pub loop_head: Span,
    /// End of the inner loop's iterable, where its `:` follows.
    pub iterable_end: u32,
    /// From the inner loop's first body statement to the end of the loop (its `else` included).
    pub body: Span,
}

#[derive(Clone, Debug)]
pub struct UseSite {
    pub kind: UseSiteKind,
    pub operand: ExprId,
    /// The operand expression.
    pub range: Span,
    /// The scope the operand is evaluated in.
    pub scope: ScopeId,
    /// The innermost enclosing `def` is an `async def`.
    pub in_async_function: bool,
    /// Directly inside a block that expects the error a mismatch raises (`pytest.raises(TypeError)`,
    /// `except TypeError:`): the code fails on purpose.
    pub expects_error: bool,
    pub shape: UseSiteShape,
    /// For a call operand, the callee (`get_session` in `get_session()`), for wrapping fixes.
    pub callee_range: Option<Span>,
    /// The version guards around the use (`if sys.version_info >= (3, 11):`), outermost first.
    pub guards: Box<[VersionCondition]>,
}

/// A condition on versions that guards code: only the branch the environment takes runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionCondition {
    /// Holds when the target Python is at least `version` (or, with `at_least: false`, older).
    Python { version: (u32, u32), at_least: bool },
    /// A version test we cannot evaluate (`if AIOHTTP_VERSION >= (3,):`, `if PY311:`).
    Unknown,
}

impl VersionCondition {
    fn negated(self) -> VersionCondition {
        match self {
            VersionCondition::Python { version, at_least } => VersionCondition::Python { version, at_least: !at_least },
            VersionCondition::Unknown => VersionCondition::Unknown,
        }
    }

    /// Whether the guarded code runs under `python`; `None` when that cannot be known.
    pub fn holds(self, python: Option<(u32, u32)>) -> Option<bool> {
        match self {
            VersionCondition::Python { version, at_least } => Some((python? >= version) == at_least),
            VersionCondition::Unknown => None,
        }
    }
}

/// The version condition an `if` test states, if it is a version test at all.
fn version_condition(test: &Expr) -> Option<VersionCondition> {
    if let Expr::Compare(compare) = test {
        if let ([op], [right]) = (&*compare.ops, &*compare.comparators) {
            let (is_version_info, sliced) = match &*compare.left {
                Expr::Attribute(attribute) => (attribute.attr.as_str() == "version_info", false),
                Expr::Name(name) => (name.id.as_str() == "version_info", false),
                Expr::Subscript(subscript) => (
                    matches!(&*subscript.value, Expr::Attribute(attribute) if attribute.attr.as_str() == "version_info")
                        && matches!(&*subscript.slice, Expr::Slice(_)),
                    true,
                ),
                _ => (false, false),
            };
            if is_version_info {
                let Some(version) = version_tuple(right) else { return Some(VersionCondition::Unknown) };
                // `version_info` has five fields, so `> (3, 10)` already holds for 3.10.0; a
                // two-field slice does not.
                let past = if sliced { (version.0, version.1 + 1) } else { version };
                let condition = match op {
                    ast::CmpOp::GtE => VersionCondition::Python { version, at_least: true },
                    ast::CmpOp::Gt => VersionCondition::Python { version: past, at_least: true },
                    ast::CmpOp::Lt => VersionCondition::Python { version, at_least: false },
                    ast::CmpOp::LtE => VersionCondition::Python { version: past, at_least: false },
                    _ => VersionCondition::Unknown,
                };
                return Some(condition);
            }
        }
    }
    mentions_a_version(test).then_some(VersionCondition::Unknown)
}

/// `(3, 11)` → `(3, 11)`; `(3,)` → `(3, 0)`.
fn version_tuple(expr: &Expr) -> Option<(u32, u32)> {
    let Expr::Tuple(tuple) = expr else { return None };
    let number = |expr: &Expr| match expr {
        Expr::NumberLiteral(ast::ExprNumberLiteral { value: ast::Number::Int(int), .. }) => int.as_u16().map(u32::from),
        _ => None,
    };
    match &*tuple.elts {
        [major] => Some((number(major)?, 0)),
        [major, minor, ..] => Some((number(major)?, number(minor)?)),
        _ => None,
    }
}

/// A test naming a version (`LIB_VERSION`, `__version__`, `version_info`) or a `PY311`-style flag.
fn mentions_a_version(expr: &Expr) -> bool {
    // Runs on every `if` test: no allocation.
    let is_version_name = |name: &str| {
        name.as_bytes().windows(7).any(|window| window.eq_ignore_ascii_case(b"version"))
            || (name.starts_with("PY") && name[2..].trim_start_matches('_').starts_with(|c: char| c.is_ascii_digit()))
    };
    match expr {
        Expr::Name(name) => is_version_name(name.id.as_str()),
        Expr::Attribute(attribute) => is_version_name(attribute.attr.as_str()) || mentions_a_version(&attribute.value),
        Expr::Compare(compare) => {
            mentions_a_version(&compare.left) || compare.comparators.iter().any(mentions_a_version)
        }
        Expr::BoolOp(boolean) => boolean.values.iter().any(mentions_a_version),
        Expr::UnaryOp(unary) => mentions_a_version(&unary.operand),
        Expr::Subscript(subscript) => mentions_a_version(&subscript.value),
        Expr::Call(call) => mentions_a_version(&call.func) || call.arguments.args.iter().any(mentions_a_version),
        _ => false,
    }
}

/// Which test-double API a call looks like. Decided from syntax only; the checker confirms that
/// the callee really is `unittest.mock`'s, pytest-mock's or pytest's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoubleForm {
    /// `patch("pkg.mod.name", …)`, `mock.patch(…)`, `mocker.patch(…)`.
    Patch,
    /// `patch.object(obj, "name", …)`, `mocker.patch.object(…)`.
    PatchObject,
    /// `monkeypatch.setattr(obj, "name", value)`, `monkeypatch.setattr("pkg.mod.name", value)`.
    SetAttr,
}

/// What a test double replaces.
#[derive(Clone, Debug, PartialEq)]
pub enum DoubleTarget {
    /// A dotted name written as a string: `"app.db.get_session"`.
    Dotted(Box<str>),
    /// An attribute of an object: `patch.object(db, "get_session")`.
    Attribute(ExprId, Box<str>),
}

/// An argument of a test-double call that says what the double emulates.
#[derive(Clone, Debug, PartialEq)]
pub struct DoubleArgument {
    pub value: ExprId,
    pub range: Range<usize>,
    /// For a call (`MagicMock(return_value=cm)`): its `return_value=`, `side_effect=`, `spec=`
    /// and `spec_set=` keywords, which [`Shape::Call`] leaves out.
    pub mock_keywords: Vec<(Box<str>, ExprId, Range<usize>)>,
}

/// Which object a configuration chain is written on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfiguredObject {
    /// The mock the double call gives (`with patch(…) as m`, `m = mocker.patch(…)`, a
    /// `@patch` parameter).
    Mock,
    /// The object given as `new=` (or `monkeypatch.setattr`'s value), by name.
    New,
    /// The object the mock's call returns (`return_value=cm`, `m.return_value = cm`), by name.
    ReturnValue,
}

/// `m.return_value.__aenter__.return_value = x`: an attribute chain assigned on a mock.
#[derive(Clone, Debug, PartialEq)]
pub struct MockConfiguration {
    pub on: ConfiguredObject,
    /// The attributes after the configured name: `return_value`, `__aenter__`, `return_value`.
    pub path: Vec<Box<str>>,
    pub value: ExprId,
    /// The assignment statement.
    pub range: Range<usize>,
}

/// One test double: a `patch`/`patch.object`/`monkeypatch.setattr` call, what it replaces and
/// what it says about the replacement.
#[derive(Clone, Debug, PartialEq)]
pub struct DoubleFact {
    pub form: DoubleForm,
    pub callee: ExprId,
    pub target: DoubleTarget,
    /// `new=` (or the positional `new`), or `monkeypatch.setattr`'s value.
    pub new: Option<DoubleArgument>,
    pub new_callable: Option<DoubleArgument>,
    pub return_value: Option<DoubleArgument>,
    pub side_effect: Option<DoubleArgument>,
    /// `spec=`, `spec_set=` or `autospec=` given: `patch` may then make an `AsyncMock`.
    pub spec: bool,
    /// The name the mock is bound to, if any, in `mock_scope`.
    pub mock_name: Option<Box<str>>,
    pub mock_scope: ScopeId,
    /// Where `mock_name` is bound (the `with` item, the assignment, the parameter): chains
    /// written after it, up to the next double bound to the same name, belong to this double.
    pub bound_at: usize,
    pub configurations: Vec<MockConfiguration>,
    /// The double call.
    pub range: Range<usize>,
    /// The scope the callee, target and arguments are evaluated in.
    pub scope: ScopeId,
}

/// An assignment to an attribute chain rooted at a name, kept until the end of extraction in
/// case the name turns out to be a mock.
#[derive(Clone, Debug)]
struct PendingConfiguration {
    scope: ScopeId,
    root: Box<str>,
    path: Vec<Box<str>>,
    value: ExprId,
    range: Range<usize>,
}

/// Attributes that make an assignment chain worth keeping: they configure what a mock is or
/// makes.
fn is_mock_configuration_attribute(name: &str) -> bool {
    matches!(
        name,
        "return_value"
            | "side_effect"
            | "__aenter__"
            | "__aexit__"
            | "__aiter__"
            | "__anext__"
            | "__enter__"
            | "__exit__"
            | "__iter__"
            | "__await__"
    )
}

/// `patch`, `x.patch` → [`DoubleForm::Patch`]; `patch.object`, `x.patch.object` →
/// [`DoubleForm::PatchObject`]; `name.setattr` → [`DoubleForm::SetAttr`].
fn double_form(callee: &Expr) -> Option<DoubleForm> {
    match callee {
        Expr::Name(name) if name.id.as_str() == "patch" => Some(DoubleForm::Patch),
        Expr::Attribute(attribute) => match attribute.attr.as_str() {
            "patch" => Some(DoubleForm::Patch),
            "object" if is_named(&attribute.value, "patch") => Some(DoubleForm::PatchObject),
            "setattr" if matches!(&*attribute.value, Expr::Name(_)) => Some(DoubleForm::SetAttr),
            _ => None,
        },
        _ => None,
    }
}

fn string_literal(expr: &Expr) -> Option<Box<str>> {
    match expr {
        Expr::StringLiteral(literal) => Some(literal.value.to_str().into()),
        _ => None,
    }
}

/// The names and attributes of `root.a.b.c`, or `None` for other shapes.
fn attribute_chain(expr: &Expr) -> Option<(Box<str>, Vec<Box<str>>)> {
    let mut path = Vec::new();
    let mut current = expr;
    loop {
        match current {
            Expr::Attribute(attribute) => {
                path.push(Box::<str>::from(attribute.attr.as_str()));
                current = &attribute.value;
            }
            Expr::Name(name) if !path.is_empty() => {
                path.reverse();
                return Some((name.id.as_str().into(), path));
            }
            _ => return None,
        }
    }
}

fn double_argument(exprs: &mut ExprBuilder, expr: &Expr) -> DoubleArgument {
    let mock_keywords = match expr {
        Expr::Call(call) => call
            .arguments
            .keywords
            .iter()
            .filter_map(|keyword| {
                let name = keyword.arg.as_ref()?.as_str();
                matches!(name, "return_value" | "side_effect" | "spec" | "spec_set")
                    .then(|| (Box::<str>::from(name), exprs.expr(&keyword.value), to_range(keyword.value.range())))
            })
            .collect(),
        _ => Vec::new(),
    };
    DoubleArgument { value: exprs.expr(expr), range: to_range(expr.range()), mock_keywords }
}

/// How many syntax errors a module keeps: the first ones are the ones to fix.
pub const MAX_SYNTAX_ERRORS: usize = 20;

/// Everything the engine keeps about one Python module.
#[derive(Clone, Debug, Default)]
pub struct ModuleFacts {
    pub scopes: Vec<ScopeFact>,
    pub functions: Vec<FunctionFact>,
    pub classes: Vec<ClassFact>,
    pub use_sites: Vec<UseSite>,
    /// Where a new top-level import goes: just after the last top-level import statement, or
    /// after the module docstring, else at the start.
    pub import_insertion: usize,
    /// `<x>.state.<name> = <value>`: framework application state, read back elsewhere.
    pub state_assignments: Vec<(Box<str>, ExprId, ScopeId)>,
    /// `# noqa` and `# asyncsense: noqa` comments.
    pub suppressions: crate::suppress::Suppressions,
    /// What [`ModuleFacts::mentions`] returns, computed once at extraction.
    mentions: Vec<(Mention, Box<str>)>,
    /// Functions passed by name to a call: checked against the parameter's annotation.
    pub passed_functions: Vec<PassedFunction>,
    /// Calls that may be to an API of the sinks table (APM110).
    pub sink_calls: Vec<SinkCall>,
    /// `from x import *` at module level: (module, level). Names may come from there.
    pub star_imports: Vec<(Box<str>, u32)>,
    /// Calls to class-like names (see [`is_class_like`]).
    pub calls: Vec<CallFact>,
    /// Class-like names used as plain values (passed, assigned, returned, stored): instances
    /// may then be made where no recorded call shows it.
    pub escapes: Vec<Box<str>>,
    /// What the parser could not read, in source order (the first [`MAX_SYNTAX_ERRORS`]):
    /// where, and the parser's words. Analysis goes on over the recovered tree.
    pub syntax_errors: Vec<(Span, Box<str>)>,
    /// The length of the text these facts were extracted from: a caller holding a text can tell
    /// whether the facts are still its facts.
    pub source_len: usize,
    /// Test doubles (`patch`, `patch.object`, `monkeypatch.setattr`) and their configuration.
    pub doubles: Vec<DoubleFact>,
    /// Every expression the facts above refer to.
    pub exprs: Exprs,
    /// Every scope's bindings (see [`ModuleFacts::bindings`]).
    binding_table: BindingTable,
    /// `global` and `nonlocal` statements, by scope: few scopes have any.
    declarations: Vec<(ScopeId, Declarations)>,
}

impl ModuleFacts {
    pub fn scope(&self, id: ScopeId) -> Option<&ScopeFact> {
        self.scopes.get(id as usize)
    }

    /// Whether scope `id` declares `name` global.
    pub fn is_global(&self, id: ScopeId, name: &str) -> bool {
        self.declarations
            .iter()
            .any(|(scope, declared)| *scope == id && declared.globals.iter().any(|global| &**global == name))
    }

    /// Whether scope `id` declares `name` nonlocal.
    pub fn is_nonlocal(&self, id: ScopeId, name: &str) -> bool {
        self.declarations
            .iter()
            .any(|(scope, declared)| *scope == id && declared.nonlocals.iter().any(|nonlocal| &**nonlocal == name))
    }

    /// The declarations of scope `id`, made on first use.
    fn declarations_of(&mut self, id: ScopeId) -> &mut Declarations {
        let idx = match self.declarations.iter().position(|(scope, _)| *scope == id) {
            Some(idx) => idx,
            None => {
                self.declarations.push((id, Declarations::default()));
                self.declarations.len() - 1
            }
        };
        &mut self.declarations[idx].1
    }

    /// The names scope `id` binds (none for an unknown scope).
    pub fn bindings(&self, id: ScopeId) -> ScopeBindings<'_> {
        bindings_of(&self.scopes, &self.binding_table, &self.exprs, id)
    }

    /// Each scope with the names it binds, in scope order.
    pub fn scopes_with_bindings(&self) -> impl Iterator<Item = (&ScopeFact, ScopeBindings<'_>)> {
        let (table, exprs) = (&self.binding_table, &self.exprs);
        self.scopes.iter().map(move |scope| {
            (scope, ScopeBindings { table, exprs, first: scope.names.0 as usize, end: scope.names.1 as usize })
        })
    }

    pub fn function(&self, id: FunctionId) -> Option<&FunctionFact> {
        self.functions.get(id as usize)
    }

    pub fn class(&self, id: ClassId) -> Option<&ClassFact> {
        self.classes.get(id as usize)
    }

    /// Names other modules may look this module up by: callees of its calls, simple names of
    /// its classes' bases, and the original names it imports under an alias.
    pub fn mentions(&self) -> &[(Mention, Box<str>)] {
        &self.mentions
    }

    fn compute_mentions(&self) -> Vec<(Mention, Box<str>)> {
        let mut mentions: Vec<(Mention, Box<str>)> = Vec::new();
        for call in &self.calls {
            if let Some(name) = call.callee_name(&self.exprs) {
                mentions.push((Mention::Call, name.into()));
            }
        }
        for name in &self.escapes {
            mentions.push((Mention::Escape, name.clone()));
        }
        for (name, _, _) in &self.state_assignments {
            mentions.push((Mention::State, name.clone()));
        }

        for class in &self.classes {
            for base in &class.bases {
                if let Some(name) = self.exprs.last_name(self.exprs.unsubscripted(*base)) {
                    mentions.push((Mention::Base, name.into()));
                }
            }
        }
        for (_, scope) in self.scopes_with_bindings() {
            for (bound, bindings) in scope.iter() {
                for binding in bindings {
                    if let Binding::ImportFrom(import) = binding {
                        let imported = self.exprs.text(import.name);
                        if imported != bound {
                            mentions.push((Mention::Alias, imported.into()));
                        }
                    }
                }
            }
        }
        mentions.sort_unstable();
        mentions.dedup();
        super::shrink(&mut mentions);
        mentions
    }

    /// The bindings `name` has as seen from `scope`, and the scope that holds them: the scope
    /// itself, then its enclosing scopes, skipping class bodies (they do not enclose the
    /// functions defined in them). `None` when no scope of the chain binds it.
    pub fn visible_bindings(&self, scope: ScopeId, name: &str) -> Option<(ScopeId, &[Binding])> {
        visible_bindings(&self.scopes, &self.binding_table, &self.exprs, scope, name)
    }

    /// Whether the module binds `name` at top level (for star-import resolution).
    pub fn binds_at_top_level(&self, name: &str) -> bool {
        self.bindings(MODULE_SCOPE).contains(name)
    }

    /// Whether two fact sets export the same things: a dependent module needs re-checking only
    /// when this is false. Use sites, passed names and test doubles (the private expressions)
    /// are the module's own and ignored.
    pub fn same_exports(&self, other: &ModuleFacts) -> bool {
        // Other modules read everything but this module's own use sites: definitions, bindings,
        // constructor calls, escapes, application state, and the lines shown in messages.
        self.exprs.same_exported(&other.exprs)
            && self.binding_table == other.binding_table
            && self.declarations == other.declarations
            && self.scopes == other.scopes
            && self.functions == other.functions
            && self.classes == other.classes
            && self.star_imports == other.star_imports
            && self.calls == other.calls
            && self.escapes == other.escapes
            && self.state_assignments == other.state_assignments
    }
}

/// Parses `source` and extracts its facts. Never fails: syntax errors are counted and the
/// parser's recovered tree is analysed.
pub fn extract(source: &str) -> ModuleFacts {
    let parsed = ruff_python_parser::parse_unchecked_source(source, ruff_python_ast::PySourceType::Python);
    // One mistake mid-edit can make the parser report one error per following line.
    let syntax_errors = parsed
        .errors()
        .iter()
        .take(MAX_SYNTAX_ERRORS)
        .map(|error| (Span::of(error.location), error.error.to_string().into_boxed_str()))
        .collect();
    let mut comment_lines = LineCursor::new(source);
    let comments = parsed
        .tokens()
        .iter()
        .filter(|token| token.kind() == ruff_python_ast::token::TokenKind::Comment)
        .map(|token| to_range(token.range()));
    let suppressions =
        crate::suppress::Suppressions::from_comments(source, comments, |offset| comment_lines.line(offset));
    let module = parsed.into_syntax();
    let (exprs, private) = ExprBuilder::for_source(source.len());
    let mut extractor = Extractor {
        lines: LineCursor::new(source),
        source,
        facts: ModuleFacts { suppressions, syntax_errors, source_len: source.len(), ..ModuleFacts::default() },
        scope_stack: Vec::new(),
        frames: Vec::new(),
        module_statement_start: 0,
        kind_checks: 0,
        kind_check_ranges: Vec::new(),
        self_names: Vec::new(),
        in_annotation: 0,
        escaped: rustc_hash::FxHashSet::default(),
        pending_calls: Vec::new(),
        pending_uses: Vec::new(),
        pending_configurations: Vec::new(),
        version_guards: Vec::new(),
        pending_bindings: vec![Vec::new()],
        exprs,
        private,
        produced: Vec::new(),
        expected_errors: 0,
        function_ranges: Vec::new(),
        comprehension_depth: 0,
        import_guards: 0,
        type_checking: 0,
    };

    extractor.facts.scopes.push(ScopeFact::new(ScopeKind::Module, None));
    extractor.scope_stack.push(MODULE_SCOPE);
    extractor.visit_body(&module.body);
    extractor.facts.import_insertion = import_insertion(&module.body, source, &mut extractor.lines);
    let table = &mut extractor.facts.binding_table;
    let pending_count = extractor.pending_bindings.iter().map(Vec::len).sum();
    table.bindings.reserve_exact(pending_count);
    table.entries.reserve_exact(pending_count);
    for (scope, pending) in extractor.facts.scopes.iter_mut().zip(std::mem::take(&mut extractor.pending_bindings)) {
        scope.names = table.push_scope(&extractor.exprs, pending);
    }
    table.shrink_to_fit();
    // Grouped by function, each function's values in source order (a stable sort).
    extractor.produced.sort_by_key(|(function, _)| *function);
    for group in extractor.produced.chunk_by(|a, b| a.0 == b.0) {
        let values: Vec<ExprId> = group.iter().map(|(_, value)| *value).collect();
        let list = extractor.exprs.list(&values);
        extractor.facts.functions[group[0].0 as usize].produced = list;
    }
    extractor.keep_function_calls();
    extractor.facts.exprs =
        ExprBuilder::finish(std::mem::take(&mut extractor.exprs), std::mem::take(&mut extractor.private));
    extractor.keep_passed_functions();
    extractor.attach_configurations();
    super::shrink(&mut extractor.facts.doubles);
    extractor.facts.escapes = std::mem::take(&mut extractor.escaped).into_iter().collect();
    let facts = &mut extractor.facts;
    facts.escapes.sort_unstable();
    // Facts outlive the parse for every file of the workspace: give back spare capacity.
    super::shrink(&mut facts.escapes);
    super::shrink(&mut facts.passed_functions);
    super::shrink(&mut facts.sink_calls);
    super::shrink(&mut facts.calls);
    super::shrink(&mut facts.use_sites);
    super::shrink(&mut facts.functions);
    for class in &mut facts.classes {
        super::shrink(&mut class.instance_attributes);
    }
    super::shrink(&mut facts.scopes);
    super::shrink(&mut facts.classes);
    super::shrink(&mut facts.state_assignments);
    facts.mentions = facts.compute_mentions();
    extractor.facts
}

/// What a `yield` or `await` belongs to.
#[derive(Clone, Copy)]
enum Frame {
    Function(FunctionId),
    /// Lambdas and class bodies absorb `yield` so it does not leak to the enclosing function.
    Barrier,
}

struct Extractor<'src, 'ast> {
    /// Line numbers of definitions, asked in source order.
    lines: LineCursor<'src>,
    source: &'src str,
    facts: ModuleFacts,
    scope_stack: Vec<ScopeId>,
    frames: Vec<Frame>,
    /// Where the module-level statement being visited starts.
    module_statement_start: u32,
    /// Depth of `if` statements whose tests ask whether something is a coroutine (function),
    /// an awaitable or an async generator (see [`inspects_async_kind`]).
    kind_checks: u32,
    /// Ranges of conditional expressions whose tests ask the same (see `kind_checks`), open
    /// while they are visited.
    kind_check_ranges: Vec<TextRange>,
    /// Inside a plain method (and functions nested in it): the class and the name of `self`.
    self_names: Vec<Option<(ClassId, Box<str>)>>,
    /// Depth of type positions (annotations, `isinstance` classes): names there are not values.
    in_annotation: u32,
    /// Class-like names used as values so far (becomes `ModuleFacts::escapes`).
    escaped: rustc_hash::FxHashSet<Box<str>>,
    /// Calls of lowercase names (`configure(x)`, `db.configure(x)`), kept when the callee names
    /// a `def` or an import (see `keep_function_calls`).
    pending_calls: Vec<(&'ast ast::ExprCall, ScopeId)>,
    /// Lowercase names read as values, not called (`register(configure)`, `db.configure`): the
    /// name, the receiver of an attribute, and the scope. Kept as escapes when they name a
    /// `def` or an import.
    pending_uses: Vec<(&'ast str, Option<&'ast str>, ScopeId)>,
    /// The version conditions of the `if` branches being visited.
    version_guards: Vec<VersionCondition>,
    /// Attribute chains assigned so far that may configure a mock (see `attach_configurations`).
    pending_configurations: Vec<PendingConfiguration>,
    /// Per scope, the names bound so far and how: sorted into the [`BindingTable`] at the end.
    pending_bindings: Vec<Vec<PendingBinding>>,
    /// Expressions other modules read: bindings, definitions, calls, application state.
    exprs: ExprBuilder,
    /// What `return` and `yield` statements hand out so far, with their function, in source order.
    produced: Vec<(FunctionId, ExprId)>,
    /// Expressions only this module's checks read: use sites, passed names, test doubles.
    private: ExprBuilder,
    /// How many blocks around the code being visited (in its own function) expect a protocol
    /// error (see [`flow::expects_protocol_error`]).
    expected_errors: u32,
    /// The enclosing functions' source ranges, innermost last.
    function_ranges: Vec<TextRange>,
    /// How many comprehensions enclose the code being visited.
    comprehension_depth: u32,
    /// How many `try` bodies whose handlers catch a failed import enclose the code (see
    /// [`ImportModule::fallible`]).
    import_guards: u32,
    /// How many `if TYPE_CHECKING:` bodies enclose the code.
    type_checking: u32,
}

/// A binding recorded during extraction, with its name interned in the exported expressions.
#[derive(Clone, Copy)]
struct PendingBinding {
    name: TextId,
    binding: Binding,
    /// Made inside `if TYPE_CHECKING:`.
    type_checking: bool,
}

/// See [`ModuleFacts::visible_bindings`]; a function over the scopes alone, so that extraction
/// can use it while it edits other facts.
fn visible_bindings<'a>(
    scopes: &'a [ScopeFact],
    table: &'a BindingTable,
    exprs: &'a Exprs,
    scope: ScopeId,
    name: &str,
) -> Option<(ScopeId, &'a [Binding])> {
    let mut current = Some(scope);
    let mut first = true;
    while let Some(id) = current {
        let fact = scopes.get(id as usize)?;
        if first || !matches!(fact.kind, ScopeKind::Class(_)) {
            if let Some(bindings) = bindings_of(scopes, table, exprs, id).get(name) {
                return Some((id, bindings));
            }
        }
        first = false;
        current = fact.parent();
    }
    None
}

/// See [`ModuleFacts::bindings`]; a function over the scopes and the table alone, like
/// [`visible_bindings`].
fn bindings_of<'a>(scopes: &[ScopeFact], table: &'a BindingTable, exprs: &'a Exprs, id: ScopeId) -> ScopeBindings<'a> {
    let (first, end) = scopes.get(id as usize).map_or((0, 0), |scope| scope.names);
    ScopeBindings { table, exprs, first: first as usize, end: end as usize }
}

/// The bindings of `name` among `pending` ones, in order (none when `name` was never interned).
fn bound_in(pending: &[PendingBinding], name: Option<TextId>) -> impl Iterator<Item = &Binding> + '_ {
    pending.iter().filter(move |pending| Some(pending.name) == name).map(|pending| &pending.binding)
}

fn to_range(range: TextRange) -> Range<usize> {
    usize::from(range.start())..usize::from(range.end())
}

/// `TYPE_CHECKING` or `typing.TYPE_CHECKING` (any module's).
fn is_type_checking(test: &Expr) -> bool {
    match test {
        Expr::Name(name) => name.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(attribute) => attribute.attr.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

fn span(range: TextRange) -> (u32, u32) {
    (u32::from(range.start()), u32::from(range.end()))
}

/// Whether a test asks what kind of callable or object something is: `iscoroutinefunction`,
/// `iscoroutine`, `isawaitable`, `isasyncgen`, `isasyncgenfunction` (from `inspect` or
/// `asyncio`), anywhere in it (`not`, `and`, `or` included).
fn inspects_async_kind(test: &Expr) -> bool {
    struct Finder(bool);
    impl<'a> Visitor<'a> for Finder {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Call(call) = expr {
                let name = match &*call.func {
                    Expr::Name(name) => name.id.as_str(),
                    Expr::Attribute(attribute) => attribute.attr.as_str(),
                    _ => "",
                };
                if matches!(
                    name,
                    "iscoroutinefunction" | "iscoroutine" | "isawaitable" | "isasyncgen" | "isasyncgenfunction"
                ) {
                    self.0 = true;
                }
            }
            if !self.0 {
                visitor::walk_expr(self, expr);
            }
        }
    }
    let mut finder = Finder(false);
    finder.visit_expr(test);
    finder.0
}

/// `f(a, b)` with positional arguments only: the range of `f`, and of `a, b` (none without
/// arguments). See [`SinkArgument::call_parts`].
fn positional_call_parts(expr: &Expr) -> Option<(Span, Option<Span>)> {
    let Expr::Call(call) = expr else { return None };
    if !call.arguments.keywords.is_empty()
        || call.arguments.args.iter().any(|argument| matches!(argument, Expr::Starred(_)))
    {
        return None;
    }
    let arguments = match (call.arguments.args.first(), call.arguments.args.last()) {
        (Some(first), Some(last)) => Some(Span::of(first.range().cover(last.range()))),
        _ => None,
    };
    Some((Span::of(call.func.range()), arguments))
}
fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl<'ast> Extractor<'_, 'ast> {
    fn current_scope(&self) -> ScopeId {
        self.scope_stack.last().copied().unwrap_or(MODULE_SCOPE)
    }

    fn push_scope(&mut self, kind: ScopeKind) -> ScopeId {
        let id = to_u32(self.facts.scopes.len());
        self.facts.scopes.push(ScopeFact::new(kind, Some(self.current_scope())));
        self.pending_bindings.push(Vec::new());
        id
    }

    fn pend(&mut self, scope: ScopeId, name: &str, binding: Binding) {
        let name = self.exprs.intern(name);
        let type_checking = self.type_checking > 0;
        self.pending_bindings[scope as usize].push(PendingBinding { name, binding, type_checking });
    }

    /// How `name` is bound so far in `scope` (during extraction, before bindings are sorted).
    fn bound_so_far<'s>(&'s self, scope: ScopeId, name: &str) -> impl Iterator<Item = &'s Binding> + 's {
        bound_in(self.pending_bindings.get(scope as usize).map_or(&[][..], Vec::as_slice), self.exprs.find_text(name))
    }

    /// Records `name` as bound in the current scope, honouring `global`/`nonlocal`.
    fn bind(&mut self, name: &str, mut binding: Binding) {
        let mut scope_id = self.current_scope();
        let assigning = scope_id;
        let scope = &self.facts.scopes[scope_id as usize];
        if self.facts.is_global(scope_id, name) {
            scope_id = MODULE_SCOPE;
        } else if self.facts.is_nonlocal(scope_id, name) {
            // The binding lives in an enclosing function; we do not follow it there, but the
            // enclosing scope must see a second, unknown source.
            let mut parent = scope.parent();
            while let Some(parent_id) = parent {
                let parent_scope = &self.facts.scopes[parent_id as usize];
                if self.bound_so_far(parent_id, name).next().is_some()
                    && !matches!(parent_scope.kind, ScopeKind::Class(_))
                {
                    break;
                }
                parent = parent_scope.parent();
            }
            scope_id = parent.unwrap_or(MODULE_SCOPE);
        }
        if let (Binding::Value(value), true) = (binding, scope_id != assigning) {
            binding = Binding::ValueIn(value, assigning);
        }
        self.pend(scope_id, name, binding);
    }

    /// Binds every name in an assignment target. Only a bare name target keeps its value.
    fn bind_target(&mut self, target: &Expr, value: Option<&Expr>) {
        match target {
            Expr::Name(name) => {
                let binding = value.map_or(Binding::Opaque, |value| Binding::Value(self.exprs.expr(value)));
                self.bind(name.id.as_str(), binding);
            }
            Expr::Tuple(tuple) => {
                // `send, receive = create_memory_object_stream()`: each name is one element of
                // what a call returns (only calls: a display's elements are bound as they are
                // written elsewhere, and a starred target shifts positions).
                let unpacked =
                    value.filter(|value| value.is_call_expr() && !tuple.elts.iter().any(Expr::is_starred_expr));
                for (idx, element) in tuple.elts.iter().enumerate() {
                    match (element, unpacked) {
                        (Expr::Name(name), Some(value)) => {
                            let index = u32::try_from(idx).unwrap_or(u32::MAX);
                            let made = self.exprs.expr(value);
                            let element_value = self.exprs.element(made, index);
                            self.bind(name.id.as_str(), Binding::Value(element_value));
                        }
                        _ => self.bind_target(element, None),
                    }
                }
            }
            Expr::List(list) => {
                for element in &list.elts {
                    self.bind_target(element, None);
                }
            }
            Expr::Starred(starred) => self.bind_target(&starred.value, None),
            Expr::Attribute(attribute) => self.record_attribute_assignment(attribute, value),
            Expr::Subscript(subscript) => self.record_mutation(&subscript.value),
            _ => {}
        }
    }

    /// `table[key] = f`, `del table[key]`, `table.append(f)`: the container named by `target`
    /// no longer holds only what its display said. Both the current scope and the module scope
    /// get an unknown source, wherever the name lives.
    fn record_mutation(&mut self, target: &Expr) {
        if let Expr::Name(name) = target {
            self.bind(name.id.as_str(), Binding::Opaque);
            if self.current_scope() != MODULE_SCOPE {
                self.pend(MODULE_SCOPE, name.id.as_str(), Binding::Opaque);
            }
        }
    }

    /// `self.x = value` inside a plain method records an instance attribute of its class.
    fn record_attribute_assignment(&mut self, attribute: &ast::ExprAttribute, value: Option<&Expr>) {
        // `app.state.session_factory = get_session` (Starlette/FastAPI application state).
        if let Expr::Attribute(holder) = &*attribute.value {
            if holder.attr.as_str() == "state" {
                let value = value.map_or(ExprId::OTHER, |value| self.exprs.expr(value));
                let scope = self.current_scope();
                self.facts.state_assignments.push((attribute.attr.as_str().into(), value, scope));
            }
        }
        let Expr::Name(base) = &*attribute.value else { return };
        let Some(Some((class_id, self_name))) = self.self_names.last() else { return };
        if base.id.as_str() != &**self_name {
            return;
        }
        let class_id = *class_id;
        let scope = self.current_scope();
        let value = value.map_or(ExprId::OTHER, |value| self.exprs.expr(value));
        let name = self.exprs.intern(attribute.attr.as_str());
        if let Some(class) = self.facts.classes.get_mut(class_id as usize) {
            class.instance_attributes.push((name, AttributeAssignment { value, scope }));
        }
    }

    fn bind_parameters(&mut self, parameters: &Parameters, self_class: Option<ClassId>, function: Option<FunctionId>) {
        let positional_only = parameters.posonlyargs.len();
        let positional = positional_only + parameters.args.len();
        let mut seen_positional = 0;
        for (idx, parameter) in parameters.iter().enumerate() {
            let binding = match self_class {
                Some(class_id) if idx == 0 && !parameter.is_variadic() => Binding::SelfParameter(class_id),
                // `*args: T` is a tuple of T, `**kwargs: T` a dict: the annotation is not the value.
                _ if parameter.is_variadic() => Binding::Parameter(ParameterBinding::variadic()),
                _ => {
                    let position = (seen_positional < positional).then_some(seen_positional);
                    let mut binding = ParameterBinding::variadic();
                    if let Some(function) = function {
                        binding.function = function;
                        // A parameter past the 65,534th is passed by keyword only, as far as we follow.
                        binding.position =
                            position.and_then(|position| u16::try_from(position).ok()).unwrap_or(NO_POSITION);
                        binding.by_keyword = position.is_none_or(|position| position >= positional_only);
                        binding.default = parameter.default().map(|default| self.exprs.expr(default));
                    }
                    binding.annotation = parameter.annotation().map(|annotation| self.exprs.annotation(annotation));
                    Binding::Parameter(binding)
                }
            };
            if !parameter.is_variadic() && seen_positional < positional {
                seen_positional += 1;
            }
            self.bind(parameter.name().as_str(), binding);
        }
    }

    fn visit_parameter_defaults(&mut self, parameters: &'ast Parameters) {
        for parameter in parameters {
            if let Some(default) = parameter.default() {
                self.visit_expr(default);
            }
            if let Some(annotation) = parameter.annotation() {
                self.visit_annotation(annotation);
            }
        }
    }

    fn visit_function_def(&mut self, function: &'ast StmtFunctionDef) {
        for decorator in &function.decorator_list {
            self.visit_expr(&decorator.expression);
        }
        self.visit_parameter_defaults(&function.parameters);
        if let Some(returns) = &function.returns {
            self.visit_annotation(returns);
        }
        let parent_scope = self.current_scope();
        let function_id = to_u32(self.facts.functions.len());
        self.record_decorator_sinks(function, function_id, parent_scope);
        let scope = self.push_scope(ScopeKind::Function(function_id));
        let decorators: Vec<ExprId> =
            function.decorator_list.iter().map(|decorator| self.exprs.expr(&decorator.expression)).collect();
        let decorators = self.exprs.list(&decorators);
        let name_range = to_range(function.name.range);
        let def_line_start = self.lines.line_start_of(name_range.start);
        // A plain method (defined directly in a class body, not static or class method) gets
        // its first parameter bound to the instance.
        let parent_kind = self.facts.scopes[parent_scope as usize].kind;
        let is_plain_method = matches!(parent_kind, ScopeKind::Class(_))
            && !function.decorator_list.iter().any(|decorator| {
                matches!(&decorator.expression, Expr::Name(name) if matches!(name.id.as_str(), "staticmethod" | "classmethod"))
            });
        let returns = function.returns.as_deref().map(|returns| self.exprs.annotation(returns));
        let returns_span = function
            .returns
            .as_deref()
            .map_or((0, 0), |returns| (u32::from(returns.range().start()), u32::from(returns.range().end())));
        let indent = self.exprs.intern(indentation(self.source, def_line_start));
        let hands_back = self.hands_back(function);
        self.facts.functions.push(FunctionFact {
            name: self.exprs.intern(function.name.as_str()),
            line: self.lines.line_number(name_range.start),
            name_span: (to_u32(name_range.start), to_u32(name_range.end)),
            is_async: function.is_async,
            is_generator: false,
            yields: YieldShape::of(&function.body),
            decorators,
            returns,
            returns_span,
            is_stub: body_is_stub(&function.body),
            stub_span: stub_span(&function.body),
            hands_back,
            produced: ExprList::EMPTY,
            fixture_name: fixture_name(function),
            def_line_start: to_u32(def_line_start),
            indent,
            scope,
            parent_scope,
        });
        self.bind(function.name.as_str(), Binding::Function(function_id));
        let self_class = match parent_kind {
            ScopeKind::Class(class_id) if is_plain_method => Some(class_id),
            _ => None,
        };
        let inherited_self = self.self_names.last().cloned().flatten();
        let self_name = match self_class {
            Some(class_id) => function
                .parameters
                .iter()
                .next()
                .filter(|parameter| !parameter.is_variadic())
                .map(|parameter| (class_id, Box::<str>::from(parameter.name().as_str()))),
            // A function nested in a method still sees the method's `self`, unless a parameter
            // of its own shadows it.
            None => inherited_self.filter(|(_, name)| !function.parameters.includes(name)),
        };

        self.scope_stack.push(scope);
        self.frames.push(Frame::Function(function_id));
        self.self_names.push(self_name);
        self.function_ranges.push(function.range);
        // A block around the definition does not run the body.
        let expected_errors = std::mem::take(&mut self.expected_errors);
        self.bind_parameters(&function.parameters, self_class, Some(function_id));
        self.bind_decorator_doubles(function, scope, self_class.is_some());
        self.visit_body(&function.body);
        self.expected_errors = expected_errors;
        self.function_ranges.pop();
        self.self_names.pop();
        self.frames.pop();
        self.scope_stack.pop();
    }

    fn visit_class_def(&mut self, class: &'ast StmtClassDef) {
        for decorator in &class.decorator_list {
            self.visit_expr(&decorator.expression);
        }
        if let Some(arguments) = &class.arguments {
            // Bases are recorded as such (see `ModuleFacts::mentions`), not as escaping values.
            for base in &arguments.args {
                self.visit_annotation(base);
            }
            for keyword in &arguments.keywords {
                self.visit_expr(&keyword.value);
            }
        }
        let parent_scope = self.current_scope();
        let class_id = to_u32(self.facts.classes.len());
        let scope = self.push_scope(ScopeKind::Class(class_id));
        let name_range = to_range(class.name.range);
        let mut dunders = Dunders::default();
        let mut fields = Vec::new();
        for statement in &class.body {
            if let Stmt::AnnAssign(assign) = statement {
                let is_class_var = match &*assign.annotation {
                    Expr::Subscript(subscript) => is_named(&subscript.value, "ClassVar"),
                    other => is_named(other, "ClassVar"),
                };
                if let (Expr::Name(name), false) = (&*assign.target, is_class_var) {
                    fields.push(self.exprs.intern(name.id.as_str()));
                }
            }
            match statement {
                Stmt::FunctionDef(method) => {
                    dunders.set(method.name.as_str(), !body_only_raises(&method.body));
                }
                Stmt::Assign(assign) => {
                    for target in &assign.targets {
                        if let Expr::Name(name) = target {
                            dunders.set(name.id.as_str(), true);
                        }
                    }
                }
                Stmt::AnnAssign(assign) if assign.value.is_some() => {
                    if let Expr::Name(name) = &*assign.target {
                        dunders.set(name.id.as_str(), true);
                    }
                }
                _ => {}
            }
        }
        let bases = class.bases().iter().map(|base| self.exprs.expr(base)).collect();
        let decorators = class.decorator_list.iter().map(|decorator| self.exprs.expr(&decorator.expression)).collect();
        self.facts.classes.push(ClassFact {
            name: self.exprs.intern(class.name.as_str()),
            line: self.lines.line_number(name_range.start),
            name_range,
            bases,
            has_keywords: !class.keywords().is_empty(),
            decorators,
            scope,
            parent_scope,
            dunders,
            instance_attributes: Vec::new(),
            fields: fields.into(),
        });
        self.bind(class.name.as_str(), Binding::Class(class_id));
        self.scope_stack.push(scope);
        self.frames.push(Frame::Barrier);
        // Methods set `self_names` themselves; the class body itself has no `self`.
        self.self_names.push(None);
        self.visit_body(&class.body);
        self.self_names.pop();
        self.frames.pop();
        self.scope_stack.pop();
    }

    fn in_async_function(&self) -> bool {
        match self.frames.last() {
            Some(Frame::Function(id)) => self.facts.functions[*id as usize].is_async,
            Some(Frame::Barrier) | None => false,
        }
    }

    fn add_use_site(&mut self, kind: UseSiteKind, operand: &Expr, shape: UseSiteShape) {
        let operand_expr = self.private.expr(operand);
        self.facts.use_sites.push(UseSite {
            kind,
            operand: operand_expr,
            range: Span::of(operand.range()),
            scope: self.current_scope(),
            in_async_function: self.in_async_function(),
            expects_error: self.expected_errors > 0,
            shape,
            callee_range: match operand {
                Expr::Call(call) => Some(Span::of(call.func.range())),
                _ => None,
            },
            guards: self.version_guards.clone().into_boxed_slice(),
        });
    }

    /// `list(x)`, `sorted(x)`, `"".join(x)`, …: builtins that iterate their argument with the
    /// sync protocol at once (`TypeError: 'async_generator' object is not iterable`), kept as
    /// plain `for` uses of the argument. The checker confirms the builtin.
    fn record_sync_consumer(&mut self, call: &ast::ExprCall) -> bool {
        const CONSUMERS: &[&str] = &[
            "list",
            "tuple",
            "set",
            "frozenset",
            "sorted",
            "sum",
            "min",
            "max",
            "any",
            "all",
            "enumerate",
            "dict",
            "zip",
            "map",
            "filter",
        ];
        let arguments = &*call.arguments.args;
        let (method, iterated): (&'static str, &[Expr]) = match &*call.func {
            Expr::Name(name) => {
                let Some(&method) = CONSUMERS.iter().find(|consumer| **consumer == name.id.as_str()) else {
                    return false;
                };
                match method {
                    // `min(a, b)` compares its arguments; `min(xs)` iterates one.
                    "min" | "max" if arguments.len() != 1 => return true,
                    "zip" => (method, arguments),
                    "map" => (method, arguments.get(1..).unwrap_or_default()),
                    "filter" => (method, arguments.get(1..2).unwrap_or_default()),
                    _ => (method, arguments.get(..1).unwrap_or_default()),
                }
            }
            Expr::Attribute(attribute)
                if attribute.attr.as_str() == "join" && matches!(&*attribute.value, Expr::StringLiteral(_)) =>
            {
                ("str.join", arguments.get(..1).unwrap_or_default())
            }
            _ => return false,
        };
        if arguments.iter().any(|argument| matches!(argument, Expr::Starred(_))) {
            return true;
        }
        let callee = self.private.expr(&call.func);
        let callee_span = span(call.func.range());
        for argument in iterated {
            self.add_use_site(UseSiteKind::For, argument, UseSiteShape::CallArgument { callee, method, callee_span });
        }
        true
    }

    /// `anext(x)`, `stack.enter_async_context(x)`, `stack.enter_context(x)`: protocol uses
    /// through an API. The checker confirms the callee before reporting.
    fn record_protocol_call(&mut self, call: &ast::ExprCall) {
        if self.record_sync_consumer(call) {
            return;
        }
        let (method, kind) = match &*call.func {
            Expr::Name(name) if name.id.as_str() == "anext" => ("anext", UseSiteKind::AsyncFor),
            Expr::Attribute(attribute) if attribute.attr.as_str() == "enter_async_context" => {
                ("enter_async_context", UseSiteKind::AsyncWith)
            }
            Expr::Attribute(attribute) if attribute.attr.as_str() == "enter_context" => {
                ("enter_context", UseSiteKind::With)
            }
            _ => return,
        };
        let [argument, ..] = &*call.arguments.args else { return };
        if matches!(argument, Expr::Starred(_)) {
            return;
        }
        let callee = self.private.expr(&call.func);
        let callee_span = span(call.func.range());
        self.add_use_site(kind, argument, UseSiteShape::CallArgument { callee, method, callee_span });
    }

    /// `a if iscoroutinefunction(f) else loop.run_in_executor(None, f)`: the call is a branch of a
    /// conditional expression that tells the kinds apart. (The facts do not keep parents, so
    /// this looks at the conditional expressions recorded as enclosing the call's range.)
    fn in_kind_check_branch(&self, call: &ast::ExprCall) -> bool {
        self.kind_check_ranges.iter().any(|range| range.contains_range(call.range()))
    }

    /// Records a call whose callee's last name is a sink's (see [`SinkCall`]).
    fn record_sink_call(&mut self, call: &ast::ExprCall) {
        let last = match &*call.func {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            _ => return,
        };
        if !super::sinks::may_be_sink(last) {
            return;
        }
        let mut arguments = Vec::new();
        let mut unpacks = false;
        for (idx, argument) in call.arguments.args.iter().enumerate() {
            if matches!(argument, Expr::Starred(_)) {
                unpacks = true;
                continue;
            }
            arguments.push(SinkArgument {
                position: (!unpacks).then(|| to_u32(idx)),
                keyword: None,
                value: self.private.expr(argument),
                range: Span::of(argument.range()),
                call_parts: positional_call_parts(argument),
                wraps: self.wrapped_function(argument),
            });
        }
        for keyword in &call.arguments.keywords {
            let Some(name) = &keyword.arg else { continue };
            arguments.push(SinkArgument {
                position: None,
                keyword: Some(name.as_str().into()),
                value: self.private.expr(&keyword.value),
                range: Span::of(keyword.value.range()),
                call_parts: positional_call_parts(&keyword.value),
                wraps: self.wrapped_function(&keyword.value),
            });
        }
        if arguments.is_empty() {
            return;
        }
        self.facts.sink_calls.push(SinkCall {
            callee: self.private.expr(&call.func),
            callee_range: Span::of(call.func.range()),
            arguments: arguments.into_boxed_slice(),
            scope: self.current_scope(),
            expects_error: self.expected_errors > 0 || self.kind_checks > 0 || self.in_kind_check_branch(call),
            unpacks,
            statement_start: self.module_statement_start,
            decorates: None,
        });
    }

    /// The function a sink argument `partial(f, …)` or `lambda …: f(…)` calls (see
    /// [`SinkArgument::wraps`]). A lambda whose callee is one of its own parameters calls
    /// something we cannot know.
    fn wrapped_function(&mut self, argument: &Expr) -> Option<Wrapped> {
        match argument {
            Expr::Call(call) => {
                let is_partial = match &*call.func {
                    Expr::Name(name) => name.id.as_str() == "partial",
                    Expr::Attribute(attribute) => attribute.attr.as_str() == "partial",
                    _ => false,
                };
                let function = call.arguments.args.first().filter(|first| is_partial && !first.is_starred_expr())?;
                Some(Wrapped {
                    function: self.private.expr(function),
                    range: Span::of(function.range()),
                    partial: Some(self.private.expr(&call.func)),
                })
            }
            Expr::Lambda(lambda) => {
                let Expr::Call(call) = &*lambda.body else { return None };
                let mut root = &*call.func;
                while let Expr::Attribute(attribute) = root {
                    root = &attribute.value;
                }
                let Expr::Name(root) = root else { return None };
                if lambda.parameters.as_ref().is_some_and(|parameters| parameters.includes(root.id.as_str())) {
                    return None;
                }
                Some(Wrapped {
                    function: self.private.expr(&call.func),
                    range: Span::of(call.func.range()),
                    partial: None,
                })
            }
            _ => None,
        }
    }

    /// Records the decorators of `function` whose last name is a sink's, as calls handing it the
    /// function (see [`SinkCall::decorates`]).
    fn hands_back(&mut self, function: &StmtFunctionDef) -> Option<HandsBack> {
        let first = function.parameters.iter().next()?;
        let first = first.name().as_str();
        let mut statements = function.body.iter().enumerate().filter(|(index, statement)| {
            !(*index == 0 && matches!(statement, Stmt::Expr(expression) if expression.value.is_string_literal_expr()))
        });
        let mut nested = Vec::new();
        let returned = loop {
            match statements.next()?.1 {
                Stmt::FunctionDef(inner) if inner.name.as_str() != first => nested.push(inner.name.as_str()),
                Stmt::Return(ast::StmtReturn { value: Some(value), .. }) => break &**value,
                _ => return None,
            }
        };
        if statements.next().is_some() {
            return None;
        }
        let is_first = |expr: &Expr| matches!(expr, Expr::Name(name) if name.id.as_str() == first);
        match returned {
            expr if is_first(expr) => Some(HandsBack::FirstParameter),
            Expr::Name(name) if nested.contains(&name.id.as_str()) => {
                Some(HandsBack::Nested(self.exprs.expr(returned)))
            }
            Expr::Call(call)
                if call.arguments.keywords.is_empty()
                    && matches!(&*call.arguments.args, [argument] if is_first(argument)) =>
            {
                Some(HandsBack::AppliedTo(self.exprs.expr(&call.func)))
            }
            _ => None,
        }
    }

    fn record_decorator_sinks(&mut self, function: &StmtFunctionDef, function_id: FunctionId, scope: ScopeId) {
        for (idx, decorator) in function.decorator_list.iter().enumerate() {
            let (callee, keywords) = match &decorator.expression {
                Expr::Call(call) => {
                    (&*call.func, call.arguments.keywords.iter().filter_map(|k| k.arg.as_ref()).collect())
                }
                other => (other, Vec::new()),
            };
            let last = match callee {
                Expr::Name(name) => name.id.as_str(),
                Expr::Attribute(attribute) => attribute.attr.as_str(),
                _ => continue,
            };
            if !super::sinks::may_be_sink(last) {
                continue;
            }
            let below = function.decorator_list[idx + 1..]
                .iter()
                .map(|below| match &below.expression {
                    Expr::Call(call) => self.private.expr(&call.func),
                    other => self.private.expr(other),
                })
                .collect();
            let callee_id = self.private.expr(callee);
            self.facts.sink_calls.push(SinkCall {
                callee: callee_id,
                callee_range: Span::of(callee.range()),
                arguments: Box::new([SinkArgument {
                    position: None,
                    keyword: None,
                    value: callee_id,
                    range: Span::of(function.name.range),
                    call_parts: None,
                    wraps: None,
                }]),
                scope,
                expects_error: self.expected_errors > 0,
                unpacks: false,
                statement_start: self.module_statement_start,
                decorates: Some(Decorates {
                    function: function_id,
                    below,
                    keywords: keywords.into_iter().map(|name| Box::<str>::from(name.as_str())).collect(),
                }),
            });
        }
    }

    /// Records names passed to calls; `keep_passed_functions` keeps those that name a function or
    /// an import.
    fn record_passed_names(&mut self, call: &ast::ExprCall) {
        if !matches!(&*call.func, Expr::Name(_) | Expr::Attribute(_)) {
            return;
        }
        let mut callee = None;
        // Parameters and local variables (bound so far in this function) are never function
        // references we can check; skipping them early keeps this cheap on every call.
        let scope_id = self.current_scope();
        let is_module = matches!(self.facts.scopes[scope_id as usize].kind, ScopeKind::Module);
        // Reads only the pending bindings (disjoint from the passed functions pushed below).
        let (texts, pending) = (&self.exprs, &self.pending_bindings[scope_id as usize]);
        let is_local = |name: &str| {
            let mut bindings = bound_in(pending, texts.find_text(name)).peekable();
            !is_module
                && bindings.peek().is_some()
                && bindings.all(|binding| !matches!(binding, Binding::Function(_) | Binding::ImportFrom(_)))
        };
        for (idx, argument) in call.arguments.args.iter().enumerate() {
            if matches!(argument, Expr::Starred(_)) {
                return;
            }
            if let Expr::Name(name) = argument {
                if is_local(name.id.as_str()) {
                    continue;
                }
                let callee = *callee.get_or_insert_with(|| self.private.expr(&call.func));
                self.facts.passed_functions.push(PassedFunction {
                    callee,
                    argument: self.private.name(name.id.as_str()),
                    position: Some(to_u32(idx)),
                    keyword: None,
                    range: to_range(argument.range()),
                    scope: scope_id,
                    expects_error: self.expected_errors > 0,
                });
            }
        }
        for keyword in &call.arguments.keywords {
            if let (Some(arg), Expr::Name(name)) = (&keyword.arg, &keyword.value) {
                if is_local(name.id.as_str()) {
                    continue;
                }
                let callee = *callee.get_or_insert_with(|| self.private.expr(&call.func));
                self.facts.passed_functions.push(PassedFunction {
                    callee,
                    argument: self.private.name(name.id.as_str()),
                    position: None,
                    keyword: Some(arg.as_str().into()),
                    range: to_range(keyword.value.range()),
                    expects_error: self.expected_errors > 0,
                    scope: scope_id,
                });
            }
        }
    }

    /// Of the calls and value uses of lowercase names, records those whose name is bound to a
    /// `def` or an import (or, for `module.name`, whose receiver is an import): the calls a
    /// function's parameter may receive values from, and the uses that hand the function on.
    /// Runs once the binding table is built, before the expressions are finished.
    fn keep_function_calls(&mut self) {
        fn names_function(bindings: &[Binding]) -> bool {
            bindings.iter().any(|binding| matches!(binding, Binding::Function(_) | Binding::ImportFrom(_)))
        }
        fn names_module(bindings: &[Binding]) -> bool {
            bindings.iter().any(|binding| matches!(binding, Binding::ImportModule(_) | Binding::ImportFrom(_)))
        }
        let pending_calls = std::mem::take(&mut self.pending_calls);
        for (call, scope) in pending_calls {
            let kept = match &*call.func {
                Expr::Name(name) => self.bound_before_finish(scope, name.id.as_str()).is_some_and(names_function),
                Expr::Attribute(attribute) => match &*attribute.value {
                    Expr::Name(receiver) => {
                        self.bound_before_finish(scope, receiver.id.as_str()).is_some_and(names_module)
                    }
                    _ => false,
                },
                _ => false,
            };
            if kept {
                self.push_call(call);
            }
        }
        let pending_uses = std::mem::take(&mut self.pending_uses);
        for (name, receiver, scope) in pending_uses {
            let escapes = match receiver {
                None => self.bound_before_finish(scope, name).is_some_and(names_function),
                Some(receiver) => self.bound_before_finish(scope, receiver).is_some_and(names_module),
            };
            if escapes && !self.escaped.contains(name) {
                self.escaped.insert(name.into());
            }
        }
    }

    /// [`visible_bindings`] while the expressions are still being built.
    fn bound_before_finish(&self, scope: ScopeId, name: &str) -> Option<&[Binding]> {
        let (scopes, table) = (&self.facts.scopes, &self.facts.binding_table);
        let mut current = Some(scope);
        let mut first = true;
        while let Some(id) = current {
            let fact = scopes.get(id as usize)?;
            if first || !matches!(fact.kind, ScopeKind::Class(_)) {
                let (start, end) = fact.names;
                if let Some(idx) =
                    table.position(start as usize, end as usize, name, |text| self.exprs.text_bytes(text))
                {
                    return Some(table.bindings_at(idx));
                }
            }
            first = false;
            current = fact.parent();
        }
        None
    }

    /// Drops passed names that are plain variables: only names bound to a `def` or an import
    /// (looked up through the scope chain) can be function references worth checking.
    fn keep_passed_functions(&mut self) {
        let facts = &mut self.facts;
        let (scopes, table, exprs) = (&facts.scopes, &facts.binding_table, &facts.exprs);
        facts.passed_functions.retain(|passed| {
            let Some(name) = exprs.name(passed.argument) else { return false };
            visible_bindings(scopes, table, exprs, passed.scope, name).is_some_and(|(_, bindings)| {
                bindings.iter().all(|binding| matches!(binding, Binding::Function(_) | Binding::ImportFrom(_)))
            })
        });
    }

    fn record_call(&mut self, call: &'ast ast::ExprCall) {
        // Every call to a class-like (capitalised) name, arguments or not: a constructor called
        // without the argument still passes the parameter's default. Resolution follows only
        // constructors of capitalised classes, so nothing it needs is left out. Calls of other
        // names that may be a module's function (`configure(x)`, `db.configure(x)`) wait for
        // the bindings (see `keep_function_calls`).
        let callee_name = match &*call.func {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            _ => return,
        };
        if !is_class_like(callee_name) {
            let plain = match &*call.func {
                Expr::Name(_) => true,
                Expr::Attribute(attribute) => matches!(&*attribute.value, Expr::Name(_)),
                _ => false,
            };
            if plain {
                self.pending_calls.push((call, self.current_scope()));
            }
            return;
        }
        self.push_call(call);
    }

    fn push_call(&mut self, call: &ast::ExprCall) {
        let mut unpacks = false;
        let mut arguments = Vec::with_capacity(call.arguments.args.len());
        for argument in &call.arguments.args {
            if matches!(argument, Expr::Starred(_)) {
                unpacks = true;
                break;
            }
            arguments.push(self.exprs.expr(argument));
        }
        let mut keywords = Vec::with_capacity(call.arguments.keywords.len());
        for keyword in &call.arguments.keywords {
            match &keyword.arg {
                Some(name) => {
                    let value = self.exprs.expr(&keyword.value);
                    keywords.push(self.exprs.keyword(name.as_str(), value));
                }
                None => unpacks = true,
            }
        }
        let callee = self.exprs.expr(&call.func);
        self.facts.calls.push(CallFact {
            callee,
            arguments: self.exprs.list(&arguments),
            keywords: self.exprs.list(&keywords),
            unpacks,
            scope: self.current_scope(),
        });
    }

    fn visit_with(&mut self, with: &'ast ast::StmtWith) {
        let kind = if with.is_async { UseSiteKind::AsyncWith } else { UseSiteKind::With };
        let body_has_loop_control = has_loop_control(&with.body);
        let only_iterated = self.only_iterated(with);
        for (item_index, item) in with.items.iter().enumerate() {
            self.visit_expr(&item.context_expr);
            self.bind_double_with_item(item);
            self.add_use_site(
                kind,
                &item.context_expr,
                UseSiteShape::WithItem {
                    statement_start: with.range.start().into(),
                    item_index: to_u32(item_index),
                    item_count: to_u32(with.items.len()),
                    item_range: Span::of(item.range),
                    target: item.optional_vars.as_deref().map(|target| Span::of(target.range())),
                    body_has_loop_control,
                    only_iterated: only_iterated.clone(),
                },
            );
            if let Some(target) = &item.optional_vars {
                match &**target {
                    Expr::Name(name) => {
                        let context = self.exprs.expr(&item.context_expr);
                        let entered = self.exprs.entered(context);
                        self.bind(name.id.as_str(), Binding::Value(entered));
                    }
                    target => self.bind_target(target, None),
                }
                self.visit_expr(target);
            }
        }
        let expects_error = with.items.iter().any(|item| flow::expects_protocol_error(&item.context_expr));
        self.expected_errors += u32::from(expects_error);
        self.visit_body(&with.body);
        self.expected_errors -= u32::from(expects_error);
    }

    /// The rewrite facts for `async with make() as s: async for x in s: …` (see
    /// [`flow::only_iterated_inside`]), judged within the enclosing function.
    fn only_iterated(&self, with: &ast::StmtWith) -> Option<Box<OnlyIterated>> {
        let scope_text = match self.function_ranges.last() {
            Some(range) => self.source.get(to_range(*range))?,
            None => self.source,
        };
        let inner = flow::only_iterated_inside(with, scope_text)?;
        let first = inner.body.first()?;
        Some(Box::new(OnlyIterated {
            loop_head: Span { start: inner.range.start().into(), end: inner.iter.range().start().into() },
            iterable_end: inner.iter.range().end().into(),
            body: Span { start: first.range().start().into(), end: inner.range.end().into() },
        }))
    }

    fn visit_for(&mut self, for_statement: &'ast ast::StmtFor) {
        let kind = if for_statement.is_async { UseSiteKind::AsyncFor } else { UseSiteKind::For };
        self.visit_expr(&for_statement.iter);
        self.add_use_site(
            kind,
            &for_statement.iter,
            UseSiteShape::ForIterable {
                statement_start: for_statement.range.start().into(),
                has_else: !for_statement.orelse.is_empty(),
                target: Span::of(for_statement.target.range()),
                body_has_loop_control: has_loop_control(&for_statement.body),
            },
        );
        self.bind_target(&for_statement.target, None);
        self.visit_expr(&for_statement.target);
        self.visit_body(&for_statement.body);
        self.visit_body(&for_statement.orelse);
    }

    fn visit_comprehensions(&mut self, generators: &'ast [ast::Comprehension], elements: &[&'ast Expr], lazy: bool) {
        self.comprehension_depth += 1;
        self.visit_comprehension_clauses(generators, elements, lazy);
        self.comprehension_depth -= 1;
    }

    fn visit_comprehension_clauses(
        &mut self,
        generators: &'ast [ast::Comprehension],
        elements: &[&'ast Expr],
        lazy: bool,
    ) {
        // The first iterable is evaluated in the enclosing scope; everything else in the
        // comprehension's own scope, where its targets live.
        let mut pushed = false;
        for (idx, generator) in generators.iter().enumerate() {
            if idx == 1 {
                let scope = self.push_scope(ScopeKind::Anonymous);
                self.scope_stack.push(scope);
                pushed = true;
                // Targets of the first clause were bound before the scope existed.
                for earlier in &generators[..1] {
                    self.bind_target(&earlier.target, None);
                }
            }
            self.visit_expr(&generator.iter);
            let kind = if generator.is_async { UseSiteKind::AsyncFor } else { UseSiteKind::For };
            self.add_use_site(
                kind,
                &generator.iter,
                UseSiteShape::ComprehensionIterable {
                    clause_start: generator.range.start().into(),
                    lazy,
                    nested: self.comprehension_depth > 1,
                },
            );
            if pushed {
                self.bind_target(&generator.target, None);
            }
        }
        if !pushed {
            let scope = self.push_scope(ScopeKind::Anonymous);
            self.scope_stack.push(scope);
            pushed = true;
            for generator in generators {
                self.bind_target(&generator.target, None);
            }
        }
        for generator in generators {
            self.visit_expr(&generator.target);
            for condition in &generator.ifs {
                self.visit_expr(condition);
            }
        }
        for element in elements {
            self.visit_expr(element);
        }
        if pushed {
            self.scope_stack.pop();
        }
    }
}

impl Extractor<'_, '_> {
    /// Records `patch(…)`, `patch.object(…)` and `<name>.setattr(…)` calls in the shapes the
    /// APM201 checker understands; anything else leaves no fact.
    fn record_double(&mut self, call: &ast::ExprCall) {
        if let Some(double) = self.double_fact(call) {
            self.facts.doubles.push(double);
        }
    }

    fn double_fact(&mut self, call: &ast::ExprCall) -> Option<DoubleFact> {
        let form = double_form(&call.func)?;
        let arguments = &call.arguments;
        if arguments.args.iter().any(Expr::is_starred_expr)
            || arguments.keywords.iter().any(|keyword| keyword.arg.is_none())
        {
            return None;
        }
        let dotted = |expr: &Expr| {
            string_literal(expr).filter(|text| text.split('.').all(is_identifier_text) && text.contains('.'))
        };
        let (target, new) = match form {
            DoubleForm::Patch => (
                DoubleTarget::Dotted(dotted(arguments.find_argument_value("target", 0)?)?),
                arguments.find_argument_value("new", 1),
            ),
            DoubleForm::PatchObject => (
                DoubleTarget::Attribute(
                    self.private.expr(arguments.find_argument_value("target", 0)?),
                    string_literal(arguments.find_argument_value("attribute", 1)?)?,
                ),
                arguments.find_argument_value("new", 2),
            ),
            DoubleForm::SetAttr => {
                let first = arguments.find_argument_value("target", 0)?;
                if first.is_string_literal_expr() {
                    (DoubleTarget::Dotted(dotted(first)?), Some(arguments.find_argument_value("name", 1)?))
                } else {
                    (
                        DoubleTarget::Attribute(
                            self.private.expr(first),
                            string_literal(arguments.find_argument_value("name", 1)?)?,
                        ),
                        Some(arguments.find_argument_value("value", 2)?),
                    )
                }
            }
        };
        let private = &mut self.private;
        let mut keyword = |name: &str| match form {
            DoubleForm::SetAttr => None,
            DoubleForm::Patch | DoubleForm::PatchObject => {
                arguments.find_keyword(name).map(|keyword| double_argument(private, &keyword.value))
            }
        };
        let (new_callable, return_value, side_effect) =
            (keyword("new_callable"), keyword("return_value"), keyword("side_effect"));
        let new = new.map(|new| double_argument(&mut self.private, new));
        let callee = self.private.expr(&call.func);
        let scope = self.current_scope();
        Some(DoubleFact {
            form,
            callee,
            target,
            new,
            new_callable,
            return_value,
            side_effect,
            spec: ["spec", "spec_set", "autospec"].iter().any(|name| arguments.find_keyword(name).is_some()),
            mock_name: None,
            mock_scope: scope,
            bound_at: 0,
            configurations: Vec::new(),
            range: to_range(call.range()),
            scope,
        })
    }

    /// Names the mock made by the double call at `call_range` (recorded just before).
    fn bind_double(&mut self, call_range: &Range<usize>, name: &str, scope: ScopeId, bound_at: usize) {
        if let Some(double) = self.facts.doubles.iter_mut().rev().find(|double| double.range == *call_range) {
            double.mock_name = Some(name.into());
            double.mock_scope = scope;
            double.bound_at = bound_at;
        }
    }

    /// `with patch(…) as m:`.
    fn bind_double_with_item(&mut self, item: &ast::WithItem) {
        if let (Expr::Call(call), Some(Expr::Name(name))) = (&item.context_expr, item.optional_vars.as_deref()) {
            if double_form(&call.func).is_none() {
                return;
            }
            let scope = self.current_scope();
            self.bind_double(&to_range(call.range()), name.id.as_str(), scope, usize::from(item.range.start()));
        }
    }

    /// `m = mocker.patch(…)`, `m = patch(…).start()`, `m = patcher.start()`; and
    /// `<name>.<chain> = value` assignments that may configure a mock.
    fn record_double_assignment(&mut self, assign: &ast::StmtAssign) {
        let [target] = &*assign.targets else { return };
        let scope = self.current_scope();
        let at = usize::from(assign.range.start());
        match target {
            Expr::Name(name) => {
                let Expr::Call(call) = &*assign.value else { return };
                let started = match &*call.func {
                    Expr::Attribute(attribute) if attribute.attr.as_str() == "start" && call.arguments.is_empty() => {
                        Some(&*attribute.value)
                    }
                    _ => None,
                };
                // `session = MagicMock(spec=fetch)` is an `AsyncMock` when `fetch` is a coroutine
                // function; keep a marker in case `session` becomes a double's `new`.
                let has_spec =
                    call.arguments.keywords.iter().any(|keyword| {
                        keyword.arg.as_ref().is_some_and(|arg| matches!(arg.as_str(), "spec" | "spec_set"))
                    });
                if has_spec && (is_named(&call.func, "MagicMock") || is_named(&call.func, "Mock")) {
                    self.pending_configurations.push(PendingConfiguration {
                        scope,
                        root: name.id.as_str().into(),
                        path: vec!["spec".into()],
                        value: ExprId::OTHER,
                        range: to_range(assign.range),
                    });
                }
                match started {
                    Some(Expr::Call(inner)) if double_form(&inner.func).is_some() => {
                        self.bind_double(&to_range(inner.range()), name.id.as_str(), scope, at);
                    }
                    // `patcher = patch(…)` then `m = patcher.start()`: the mock is `m`.
                    Some(Expr::Name(patcher)) => {
                        let patcher = patcher.id.as_str();
                        if let Some(double) =
                            self.facts.doubles.iter_mut().rev().find(|double| {
                                double.mock_scope == scope && double.mock_name.as_deref() == Some(patcher)
                            })
                        {
                            double.mock_name = Some(name.id.as_str().into());
                            double.bound_at = at;
                        }
                    }
                    None if double_form(&call.func).is_some() => {
                        self.bind_double(&to_range(call.range()), name.id.as_str(), scope, at);
                    }
                    Some(_) | None => {}
                }
            }
            Expr::Attribute(_) => {
                let Some((root, path)) = attribute_chain(target) else { return };
                if !path.iter().any(|attribute| is_mock_configuration_attribute(attribute)) {
                    return;
                }
                self.pending_configurations.push(PendingConfiguration {
                    scope,
                    root,
                    path,
                    value: self.private.expr(&assign.value),
                    range: to_range(assign.range),
                });
            }
            _ => {}
        }
    }

    /// `@patch(…)` decorators hand their mocks to the test as extra positional arguments, the
    /// bottom-most first, after `self`. A decorator given `new` hands nothing.
    fn bind_decorator_doubles(&mut self, function: &StmtFunctionDef, scope: ScopeId, skip_first: bool) {
        let mut parameters = function
            .parameters
            .posonlyargs
            .iter()
            .chain(&function.parameters.args)
            .map(|parameter| parameter.parameter.name.as_str())
            .skip(usize::from(skip_first));
        let bound_at = usize::from(function.range.start());
        for decorator in function.decorator_list.iter().rev() {
            let Expr::Call(call) = &decorator.expression else { continue };
            if !matches!(double_form(&call.func), Some(DoubleForm::Patch | DoubleForm::PatchObject)) {
                continue;
            }
            let range = to_range(call.range());
            // A patch decorator we did not record still takes a parameter: stop guessing.
            let Some(double) = self.facts.doubles.iter().rev().find(|double| double.range == range) else { break };
            if double.new.is_some() {
                continue;
            }
            let Some(name) = parameters.next() else { break };
            self.bind_double(&range, name, scope, bound_at);
        }
    }

    /// Hands each double the configuration chains written on its mock (after it is bound and
    /// before the name is bound to another double), on its `new=` object and on the object
    /// its call returns; other pending chains are dropped.
    fn attach_configurations(&mut self) {
        let pending = std::mem::take(&mut self.pending_configurations);
        if pending.is_empty() {
            return;
        }
        for idx in 0..self.facts.doubles.len() {
            let double = &self.facts.doubles[idx];
            let mut roots: Vec<(ConfiguredObject, ScopeId, Box<str>, Range<usize>)> = Vec::new();
            if let Some(name) = &double.mock_name {
                let end = self.facts.doubles[idx + 1..]
                    .iter()
                    .filter(|other| {
                        other.mock_scope == double.mock_scope
                            && other.mock_name == double.mock_name
                            && other.bound_at > double.bound_at
                    })
                    .map(|other| other.bound_at)
                    .min()
                    .unwrap_or(usize::MAX);
                roots.push((ConfiguredObject::Mock, double.mock_scope, name.clone(), double.bound_at..end));
            }
            if let Some(name) = double.new.as_ref().and_then(|new| self.facts.exprs.name(new.value)) {
                roots.push((ConfiguredObject::New, double.scope, name.into(), 0..usize::MAX));
            }
            if let Some(name) = double.return_value.as_ref().and_then(|returned| self.facts.exprs.name(returned.value))
            {
                roots.push((ConfiguredObject::ReturnValue, double.scope, name.into(), 0..usize::MAX));
            }
            let mut configurations = Vec::new();
            let mut followed = 0;
            while let Some((on, scope, name, window)) = roots.pop() {
                followed += 1;
                if followed > 8 {
                    break;
                }
                for configuration in &pending {
                    if configuration.scope != scope
                        || configuration.root != name
                        || !window.contains(&configuration.range.start)
                    {
                        continue;
                    }
                    // `m.return_value = cm`: chains on `cm` configure what calling the mock gives.
                    if on != ConfiguredObject::ReturnValue
                        && configuration.path.len() == 1
                        && &*configuration.path[0] == "return_value"
                    {
                        if let Some(returned) = self.facts.exprs.name(configuration.value) {
                            roots.push((ConfiguredObject::ReturnValue, scope, returned.into(), 0..usize::MAX));
                        }
                    }
                    configurations.push(MockConfiguration {
                        on,
                        path: configuration.path.clone(),
                        value: configuration.value,
                        range: configuration.range.clone(),
                    });
                }
            }
            self.facts.doubles[idx].configurations = configurations;
        }
    }
}

fn is_identifier_text(part: &str) -> bool {
    let mut chars = part.chars();
    chars.next().is_some_and(|first| first == '_' || first.is_alphabetic())
        && chars.all(|ch| ch == '_' || ch.is_alphanumeric())
}

impl<'a> Visitor<'a> for Extractor<'_, 'a> {
    fn visit_stmt(&mut self, statement: &'a Stmt) {
        if self.frames.is_empty() && self.scope_stack.len() <= 1 {
            self.module_statement_start = statement.range().start().into();
        }
        match statement {
            Stmt::FunctionDef(function) => self.visit_function_def(function),
            Stmt::ClassDef(class) => self.visit_class_def(class),
            Stmt::With(with) => self.visit_with(with),
            Stmt::For(for_statement) => self.visit_for(for_statement),
            Stmt::Import(import) => {
                for alias in &import.names {
                    let dotted = alias.name.as_str();
                    let fallible = self.import_guards > 0;
                    if let Some(asname) = &alias.asname {
                        let module = self.exprs.intern(dotted);
                        self.bind(asname.as_str(), Binding::ImportModule(ImportModule { module, fallible }));
                    } else {
                        // `import a.b` fails when `a.b` is missing, though it binds `a`.
                        let top = dotted.split('.').next().unwrap_or(dotted);
                        let module = self.exprs.intern(top);
                        let fallible = fallible && top == dotted;
                        self.bind(top, Binding::ImportModule(ImportModule { module, fallible }));
                    }
                }
            }
            Stmt::ImportFrom(import) => {
                let module_name = import.module.as_ref().map_or("", |module| module.as_str());
                let module = self.exprs.intern(module_name);
                for alias in &import.names {
                    if alias.name.as_str() == "*" {
                        if self.current_scope() == MODULE_SCOPE {
                            self.facts.star_imports.push((module_name.into(), import.level));
                        }
                        continue;
                    }
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    let name = self.exprs.intern(alias.name.as_str());
                    // A relative import is the project's own: never missing.
                    let fallible = self.import_guards > 0 && import.level == 0;
                    let level = u16::try_from(import.level).unwrap_or(u16::MAX);
                    self.bind(bound.as_str(), Binding::ImportFrom(ImportFrom { module, level, name, fallible }));
                }
            }
            Stmt::Assign(assign) => {
                self.visit_expr(&assign.value);
                self.record_double_assignment(assign);
                let single_target = assign.targets.len() == 1;
                for target in &assign.targets {
                    // `a = b = f` binds both to `f`; keep it simple and exact only for one target.
                    self.bind_target(target, single_target.then_some(&*assign.value));
                    self.visit_expr(target);
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.visit_expr(value);
                }
                self.visit_annotation(&assign.annotation);
                match &*assign.target {
                    // A bare annotation (`x: T`) binds nothing at runtime. In a function it still
                    // makes the name local (its value is unknown there); in a module or class
                    // body it is only a declaration, such as the type of an instance attribute.
                    Expr::Name(name) if assign.value.is_none() => {
                        let kind = self.facts.scopes[self.current_scope() as usize].kind;
                        if matches!(kind, ScopeKind::Function(_) | ScopeKind::Anonymous) {
                            self.bind(name.id.as_str(), Binding::Opaque);
                        }
                    }
                    // `self.x: T` without a value declares, it does not assign.
                    Expr::Attribute(_) if assign.value.is_none() => {}
                    target => self.bind_target(target, assign.value.as_deref()),
                }
                self.visit_expr(&assign.target);
            }
            Stmt::AugAssign(assign) => {
                self.visit_expr(&assign.value);
                self.bind_target(&assign.target, None);
                if let Expr::Name(name) = &*assign.target {
                    self.bind(name.id.as_str(), Binding::Opaque);
                }
                self.visit_expr(&assign.target);
            }
            Stmt::Delete(delete) => {
                for target in &delete.targets {
                    if let Expr::Name(name) = target {
                        self.bind(name.id.as_str(), Binding::Opaque);
                    }
                    if let Expr::Subscript(subscript) = target {
                        self.record_mutation(&subscript.value);
                    }
                    self.visit_expr(target);
                }
            }
            Stmt::Global(global) => {
                let declared = self.facts.declarations_of(self.current_scope());
                declared.globals.extend(global.names.iter().map(|name| name.as_str().into()));
            }
            Stmt::Nonlocal(nonlocal) => {
                let declared = self.facts.declarations_of(self.current_scope());
                declared.nonlocals.extend(nonlocal.names.iter().map(|name| name.as_str().into()));
            }
            Stmt::TypeAlias(alias) => {
                if let Expr::Name(name) = &*alias.name {
                    self.bind(name.id.as_str(), Binding::Opaque);
                }
            }
            Stmt::Return(ast::StmtReturn { value: Some(value), .. }) => {
                if let Some(Frame::Function(id)) = self.frames.last() {
                    let produced = self.exprs.expr(value);
                    self.produced.push((*id, produced));
                }
                visitor::walk_stmt(self, statement);
            }
            // `if TYPE_CHECKING:` runs only for type checkers: what its body binds is not a
            // run-time value of a name bound elsewhere too (see `BindingTable::push_scope`).
            Stmt::If(if_statement) if is_type_checking(&if_statement.test) => {
                self.visit_expr(&if_statement.test);
                self.type_checking += 1;
                self.visit_body(&if_statement.body);
                self.type_checking -= 1;
                for clause in &if_statement.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.visit_expr(test);
                    }
                    self.visit_body(&clause.body);
                }
            }
            Stmt::If(if_statement) => {
                // `if inspect.iscoroutinefunction(f): await f() else: run_in_executor(f)`: the
                // branches tell the kinds apart, which APM110 does not follow.
                let inspects = std::iter::once(&*if_statement.test)
                    .chain(if_statement.elif_else_clauses.iter().filter_map(|clause| clause.test.as_ref()))
                    .any(inspects_async_kind);
                self.kind_checks += u32::from(inspects);
                let Some(condition) = version_condition(&if_statement.test) else {
                    visitor::walk_stmt(self, statement);
                    self.kind_checks -= u32::from(inspects);
                    return;
                };
                let depth = self.version_guards.len();
                self.visit_expr(&if_statement.test);
                self.version_guards.push(condition);
                self.visit_body(&if_statement.body);
                self.version_guards.truncate(depth);
                // Each later clause runs only when the earlier tests failed.
                self.version_guards.push(condition.negated());
                for clause in &if_statement.elif_else_clauses {
                    let own = clause.test.as_ref().and_then(|test| {
                        self.visit_expr(test);
                        version_condition(test)
                    });
                    let before = self.version_guards.len();
                    if let Some(own) = own {
                        self.version_guards.push(own);
                    }
                    self.visit_body(&clause.body);
                    self.version_guards.truncate(before);
                    if let Some(own) = own {
                        self.version_guards.push(own.negated());
                    }
                }
                self.version_guards.truncate(depth);
                self.kind_checks -= u32::from(inspects);
            }
            Stmt::Try(try_statement) => {
                for handler in &try_statement.handlers {
                    let ExceptHandler::ExceptHandler(handler) = handler;
                    if let Some(name) = &handler.name {
                        self.bind(name.as_str(), Binding::Opaque);
                    }
                }
                // Only the `try` body is tested by the handlers.
                let expects_error = flow::handlers_expect_protocol_error(&try_statement.handlers);
                let guards_imports = flow::handlers_catch_import_error(&try_statement.handlers);
                self.expected_errors += u32::from(expects_error);
                self.import_guards += u32::from(guards_imports);
                self.visit_body(&try_statement.body);
                self.import_guards -= u32::from(guards_imports);
                self.expected_errors -= u32::from(expects_error);
                for handler in &try_statement.handlers {
                    self.visit_except_handler(handler);
                }
                self.visit_body(&try_statement.orelse);
                self.visit_body(&try_statement.finalbody);
            }
            _ => visitor::walk_stmt(self, statement),
        }
    }

    fn visit_pattern(&mut self, pattern: &'a Pattern) {
        match pattern {
            Pattern::MatchAs(ast::PatternMatchAs { name: Some(name), .. })
            | Pattern::MatchStar(ast::PatternMatchStar { name: Some(name), .. }) => {
                self.bind(name.as_str(), Binding::Opaque);
            }
            Pattern::MatchMapping(ast::PatternMatchMapping { rest: Some(rest), .. }) => {
                self.bind(rest.as_str(), Binding::Opaque);
            }
            _ => {}
        }
        visitor::walk_pattern(self, pattern);
    }

    fn visit_annotation(&mut self, expr: &'a Expr) {
        // Names in annotations are types, not values.
        self.in_annotation += 1;
        self.visit_expr(expr);
        self.in_annotation -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(name) => {
                if name.ctx == ast::ExprContext::Load && self.in_annotation == 0 {
                    if is_class_like(name.id.as_str()) {
                        // Capitalised constants recur on every line; allocate each name once.
                        if !self.escaped.contains(name.id.as_str()) {
                            self.escaped.insert(name.id.as_str().into());
                        }
                    } else {
                        self.pending_uses.push((name.id.as_str(), None, self.current_scope()));
                    }
                }
            }
            Expr::Attribute(attribute) => {
                // `Class.attribute` reads the class; it does not hand it on. `module.function`
                // (not called) may hand the function on.
                if let Expr::Name(receiver) = &*attribute.value {
                    if attribute.ctx == ast::ExprContext::Load
                        && self.in_annotation == 0
                        && !is_class_like(attribute.attr.as_str())
                    {
                        self.pending_uses.push((
                            attribute.attr.as_str(),
                            Some(receiver.id.as_str()),
                            self.current_scope(),
                        ));
                    }
                    return;
                }
                visitor::walk_expr(self, expr);
            }
            Expr::Yield(_) | Expr::YieldFrom(_) => {
                if let Some(Frame::Function(id)) = self.frames.last() {
                    self.facts.functions[*id as usize].is_generator = true;
                    if let Expr::Yield(ast::ExprYield { value: Some(value), .. }) = expr {
                        let produced = self.exprs.expr(value);
                        self.produced.push((*id, produced));
                    }
                }
                visitor::walk_expr(self, expr);
            }
            Expr::If(conditional) if inspects_async_kind(&conditional.test) => {
                self.kind_check_ranges.push(conditional.range());
                visitor::walk_expr(self, expr);
                self.kind_check_ranges.pop();
            }
            Expr::Await(await_expr) => {
                self.visit_expr(&await_expr.value);
                self.add_use_site(
                    UseSiteKind::Await,
                    &await_expr.value,
                    UseSiteShape::AwaitOperand { await_start: await_expr.range.start().into() },
                );
            }
            Expr::Call(call) => {
                // The callee is called, not handed on; `isinstance(x, Class)` only inspects.
                match &*call.func {
                    Expr::Name(_) => {}
                    Expr::Attribute(attribute) if matches!(&*attribute.value, Expr::Name(_)) => {}
                    func => self.visit_expr(func),
                }
                let inspects =
                    matches!(&*call.func, Expr::Name(name) if matches!(name.id.as_str(), "isinstance" | "issubclass"));
                for (idx, argument) in call.arguments.args.iter().enumerate() {
                    if inspects && idx == 1 {
                        self.in_annotation += 1;
                        self.visit_expr(argument);
                        self.in_annotation -= 1;
                    } else {
                        self.visit_expr(argument);
                    }
                }
                for keyword in &call.arguments.keywords {
                    self.visit_expr(&keyword.value);
                }
                self.record_protocol_call(call);
                self.record_call(call);
                self.record_passed_names(call);
                self.record_sink_call(call);
                self.record_double(call);
                if let Expr::Attribute(attribute) = &*call.func {
                    if matches!(
                        attribute.attr.as_str(),
                        "append" | "extend" | "insert" | "update" | "setdefault" | "add" | "__setitem__"
                    ) {
                        self.record_mutation(&attribute.value);
                    }
                }
            }
            Expr::Named(named) => {
                self.visit_expr(&named.value);
                // The walrus binds in the enclosing function even from inside a comprehension;
                // binding it here (an inner scope at worst) only ever hides a value.
                self.bind_target(&named.target, None);
            }
            Expr::Lambda(lambda) => {
                if let Some(parameters) = &lambda.parameters {
                    self.visit_parameter_defaults(parameters);
                }
                let scope = self.push_scope(ScopeKind::Anonymous);
                self.scope_stack.push(scope);
                self.frames.push(Frame::Barrier);
                if let Some(parameters) = &lambda.parameters {
                    self.bind_parameters(parameters, None, None);
                }
                self.visit_expr(&lambda.body);
                self.frames.pop();
                self.scope_stack.pop();
            }
            Expr::ListComp(comprehension) => {
                self.visit_comprehensions(&comprehension.generators, &[&comprehension.elt], false);
            }
            Expr::SetComp(comprehension) => {
                self.visit_comprehensions(&comprehension.generators, &[&comprehension.elt], false);
            }
            Expr::Generator(comprehension) => {
                self.visit_comprehensions(&comprehension.generators, &[&comprehension.elt], true);
            }
            Expr::DictComp(comprehension) => {
                let mut elements: Vec<&Expr> = vec![&comprehension.value];
                elements.extend(comprehension.key.as_deref());
                self.visit_comprehensions(&comprehension.generators, &elements, false);
            }
            _ => visitor::walk_expr(self, expr),
        }
    }
}

/// Whether a function body does nothing but raise (after an optional docstring and warnings):
/// such a dunder exists to reject the protocol, so it is not a capability.
fn body_only_raises(body: &[Stmt]) -> bool {
    let mut saw_raise = false;
    for (idx, statement) in body.iter().enumerate() {
        match statement {
            Stmt::Raise(_) => saw_raise = true,
            Stmt::Expr(expression) if idx == 0 && expression.value.is_string_literal_expr() => {}
            Stmt::Expr(expression) if is_warning_call(&expression.value) => {}
            Stmt::Pass(_) => {}
            _ => return false,
        }
    }
    saw_raise
}

/// The fixture name of a function decorated `@fixture`/`@pytest.fixture(...)`; the resolver
/// checks that the decorator really is pytest's.
fn fixture_name(function: &StmtFunctionDef) -> Option<Box<str>> {
    for decorator in &function.decorator_list {
        let (head, call) = match &decorator.expression {
            Expr::Call(call) => (&*call.func, Some(call)),
            other => (other, None),
        };
        if !is_named(head, "fixture") {
            continue;
        }
        let renamed = call.and_then(|call| {
            call.arguments.keywords.iter().find_map(|keyword| match (&keyword.arg, &keyword.value) {
                (Some(arg), Expr::StringLiteral(literal)) if arg.as_str() == "name" => {
                    Some(Box::<str>::from(literal.value.to_str()))
                }
                _ => None,
            })
        });
        return Some(renamed.unwrap_or_else(|| function.name.as_str().into()));
    }
    None
}

fn is_named(expr: &Expr, wanted: &str) -> bool {
    match expr {
        Expr::Name(name) => name.id.as_str() == wanted,
        Expr::Attribute(attribute) => attribute.attr.as_str() == wanted,
        _ => false,
    }
}

/// The start of the line after the last top-level import (or the docstring), where a new
/// import can be added without splitting a statement.
fn import_insertion(body: &[Stmt], source: &str, lines: &mut LineCursor<'_>) -> usize {
    let mut after = None;
    for (idx, statement) in body.iter().enumerate() {
        let is_docstring =
            idx == 0 && matches!(statement, Stmt::Expr(expression) if expression.value.is_string_literal_expr());
        if is_docstring || matches!(statement, Stmt::Import(_) | Stmt::ImportFrom(_)) {
            after = Some(usize::from(statement.end()));
        } else if after.is_some() {
            // Imports after other code (inside `if TYPE_CHECKING:` and such) are left alone.
            break;
        }
    }
    match after {
        Some(end) => lines.next_line_start(end).min(source.len()),
        None => 0,
    }
}

/// The spaces and tabs at `line_start`.
fn indentation(source: &str, line_start: usize) -> &str {
    let rest = source.get(line_start..).unwrap_or_default();
    let width = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..width]
}

/// Capitalised names: the only classes whose constructor calls are recorded and followed.
pub fn is_class_like(name: &str) -> bool {
    name.chars().next().is_some_and(|first| first.is_ascii_uppercase())
}

/// The statements of `body` after its docstring, as a byte range.
fn stub_span(body: &[Stmt]) -> (u32, u32) {
    let statements = match body {
        [Stmt::Expr(docstring), rest @ ..] if docstring.value.is_string_literal_expr() => rest,
        all => all,
    };
    match (statements.first(), statements.last()) {
        (Some(first), Some(last)) => (first.range().start().into(), last.range().end().into()),
        _ => (0, 0),
    }
}

/// Docstring, `...`, `pass` and `raise NotImplementedError` only.
fn body_is_stub(body: &[Stmt]) -> bool {
    body.iter().enumerate().all(|(idx, statement)| match statement {
        Stmt::Expr(expression) => {
            (idx == 0 && expression.value.is_string_literal_expr()) || expression.value.is_ellipsis_literal_expr()
        }
        Stmt::Pass(_) => true,
        Stmt::Raise(raise) => raise.exc.as_deref().is_some_and(|exception| {
            let name = match exception {
                Expr::Call(call) => &*call.func,
                other => other,
            };
            matches!(name, Expr::Name(name) if name.id.as_str() == "NotImplementedError")
        }),
        _ => false,
    })
}

fn is_warning_call(expr: &Expr) -> bool {
    let Expr::Call(call) = expr else { return false };
    match &*call.func {
        Expr::Attribute(attribute) => attribute.attr.as_str() == "warn",
        Expr::Name(name) => name.id.as_str() == "warn",
        _ => false,
    }
}

/// Whether `body` has a `break` or `continue` that binds to a loop enclosing it (i.e. not
/// inside a loop, function or class of its own).
fn has_loop_control(body: &[Stmt]) -> bool {
    body.iter().any(|statement| match statement {
        Stmt::Break(_) | Stmt::Continue(_) => true,
        Stmt::If(if_statement) => {
            has_loop_control(&if_statement.body)
                || if_statement.elif_else_clauses.iter().any(|clause| has_loop_control(&clause.body))
        }
        Stmt::With(with) => has_loop_control(&with.body),
        Stmt::Try(try_statement) => {
            has_loop_control(&try_statement.body)
                || has_loop_control(&try_statement.orelse)
                || has_loop_control(&try_statement.finalbody)
                || try_statement.handlers.iter().any(|handler| {
                    let ExceptHandler::ExceptHandler(handler) = handler;
                    has_loop_control(&handler.body)
                })
        }
        Stmt::Match(match_statement) => match_statement.cases.iter().any(|case| has_loop_control(&case.body)),
        // A loop's own `else` clause still binds to the outer loop.
        Stmt::For(for_statement) => has_loop_control(&for_statement.orelse),
        Stmt::While(while_statement) => has_loop_control(&while_statement.orelse),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function<'a>(facts: &'a ModuleFacts, name: &str) -> &'a FunctionFact {
        facts.functions.iter().find(|function| facts.exprs.text(function.name) == name).expect("function exists")
    }

    #[test]
    fn scope_bindings_group_names_in_source_order() {
        // Same-length names (`ab`, `ba`, `zz`) exercise the byte comparison; `ab` is bound three
        // times, and its bindings must stay in the order they were written.
        let facts = extract(
            "import ab\nba = 1\nfrom m import ab\nzz = ab\ndef ab(): pass\nx = 2\nlong_name = ba\nglobal_only = 3\n",
        );
        let module = facts.bindings(MODULE_SCOPE);
        assert_eq!(module.len(), 6);
        let ab = module.get("ab").expect("ab is bound");
        assert!(matches!(ab, [Binding::ImportModule(_), Binding::ImportFrom(_), Binding::Function(_)]), "{ab:?}");
        assert!(matches!(module.get("ba"), Some([Binding::Value(_)])));
        assert!(matches!(module.get("zz"), Some([Binding::Value(value)]) if facts.exprs.name(*value) == Some("ab")));
        for absent in ["", "a", "abc", "zy", "long_nam", "long_namf", "global_onlz"] {
            assert!(module.get(absent).is_none() && !module.contains(absent), "{absent} is not bound");
        }
        let names: Vec<&str> = module.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["x", "ab", "ba", "zz", "long_name", "global_only"]);
        assert_eq!(module.all().count(), 8);
        assert!(facts.bindings(1).is_empty(), "`ab`'s own scope binds nothing");
    }

    #[test]
    fn exports_ignore_use_site_edits_but_not_definition_edits() {
        let module = |body: &str, returns: &str, imported: &str| {
            extract(&format!(
                "from db import get_a, {imported}\n\nasync def use(){returns}:\n    async with {body}():\n        pass\n"
            ))
        };
        let base = module("get_a().begin", "", "get_b");
        // Only a use site changes: its expressions are private, dependents need no re-check.
        assert!(base.same_exports(&module("get_a().enter", "", "get_b")));
        assert!(base.same_exports(&module("get_a().begin", "", "get_b")));
        // Which function is called changes what its parameters may receive: they do.
        assert!(!base.same_exports(&module("get_b().begin", "", "get_b")));
        // What the module binds or declares changes: they do.
        assert!(!base.same_exports(&module("get_a().begin", "", "get_c")));
        assert!(!base.same_exports(&module("get_a().begin", " -> T", "get_b")));
    }

    #[test]
    fn scope_lookups_stay_within_their_scope() {
        // Scopes share one table: a lookup must not run into a neighbour's entries.
        let facts = extract("a = 1\ndef f(b):\n    c = b\ndef g():\n    pass\nclass K:\n    d = 2\nz = 3\n");
        let module = facts.bindings(MODULE_SCOPE);
        let names: Vec<&str> = module.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["K", "a", "f", "g", "z"]);
        assert_eq!(module.all().count(), 5);
        let f = facts.bindings(function(&facts, "f").scope);
        assert!(f.get("b").is_some() && f.get("c").is_some());
        for elsewhere in ["a", "d", "z", "K"] {
            assert!(f.get(elsewhere).is_none(), "{elsewhere} is not bound in f");
        }
        assert!(module.get("b").is_none() && module.get("d").is_none());
        assert!(facts.bindings(function(&facts, "g").scope).is_empty());
        assert_eq!(facts.bindings(function(&facts, "g").scope).all().count(), 0);
        let class_scope = facts.classes[0].scope;
        assert_eq!(facts.bindings(class_scope).iter().map(|(name, _)| name).collect::<Vec<_>>(), ["d"]);
        assert!(facts.bindings(999).is_empty(), "an unknown scope binds nothing");
    }

    #[test]
    fn declarations_send_bindings_to_their_scope() {
        let facts = extract(
            "def outer():\n    counter = 0\n    def bump():\n        nonlocal counter\n        global total\n        counter = 1\n        total = counter\n",
        );
        let bump = function(&facts, "bump").scope;
        assert!(facts.is_global(bump, "total") && !facts.is_global(bump, "counter"));
        assert!(facts.is_nonlocal(bump, "counter") && !facts.is_nonlocal(bump, "total"));
        assert!(facts.bindings(function(&facts, "bump").scope).is_empty(), "both assignments land elsewhere");
        assert!(facts.bindings(MODULE_SCOPE).contains("total"));
        let outer = facts.bindings(function(&facts, "outer").scope);
        assert_eq!(outer.get("counter").map(<[Binding]>::len), Some(2));
    }

    #[test]
    fn generator_detection_ignores_nested_definitions() {
        let facts = extract(
            "async def outer():\n    def inner():\n        yield 1\n    lambda: (yield)\n    class C:\n        x = [(yield)]\n    return inner\n\nasync def agen():\n    if True:\n        yield 1\n",
        );
        assert!(!function(&facts, "outer").is_generator);
        assert!(function(&facts, "inner").is_generator);
        assert!(function(&facts, "agen").is_generator && function(&facts, "agen").is_async);
    }

    #[test]
    fn records_with_items_and_targets() {
        let source = "async def f():\n    async with a() as x, b():\n        pass\n";
        let facts = extract(source);
        let sites: Vec<_> = facts.use_sites.iter().filter(|site| site.kind == UseSiteKind::AsyncWith).collect();
        assert_eq!(sites.len(), 2);
        assert_eq!(&source[sites[0].range.range()], "a()");
        assert_eq!(&source[sites[1].range.range()], "b()");
        let UseSiteShape::WithItem { item_count, target, .. } = &sites[0].shape else { panic!("with item") };
        assert_eq!(*item_count, 2);
        assert_eq!(&source[target.expect("target").range()], "x");
    }

    #[test]
    fn self_attributes_are_recorded_per_class() {
        let facts = extract(
            "class S:\n    def __init__(self, f):\n        self.factory = get\n        self.other = f\n    @staticmethod\n    def s(x):\n        x.nope = 1\n",
        );
        let class = &facts.classes[0];
        for (name, assigned) in [("factory", 1), ("other", 1), ("nope", 0)] {
            assert_eq!(class.instance_attribute(&facts.exprs, name).count(), assigned, "{name}");
        }
    }

    #[test]
    fn raising_dunders_do_not_count() {
        let facts = extract(
            "class C:\n    def __enter__(self):\n        \"\"\"no\"\"\"\n        raise TypeError('Use async with instead')\n    def __exit__(self, *a):\n        pass\n    async def __aenter__(self):\n        return self\n",
        );
        let dunders = facts.classes[0].dunders;
        assert!(!dunders.enter);
        assert!(dunders.exit);
        assert!(dunders.aenter);
    }

    #[test]
    fn loop_control_in_with_body_is_detected() {
        assert!(has_loop_control(&parse_body("if x:\n    break\n")));
        assert!(!has_loop_control(&parse_body("for y in z:\n    break\n")));
        assert!(!has_loop_control(&parse_body("def g():\n    pass\n")));
    }

    fn parse_body(source: &str) -> Vec<Stmt> {
        ruff_python_parser::parse_unchecked_source(source, ruff_python_ast::PySourceType::Python)
            .into_syntax()
            .body
            .into_iter()
            .collect()
    }

    #[test]
    fn syntax_errors_still_give_facts() {
        let facts = extract(
            "async def agen():\n    yield 1\n\ndef broken(:\n\nasync def use():\n    async with agen() as s:\n        pass\n",
        );
        assert!(!facts.syntax_errors.is_empty());
        assert!(function(&facts, "agen").is_generator);
        assert!(facts.use_sites.iter().any(|site| site.kind == UseSiteKind::AsyncWith));
    }
}
