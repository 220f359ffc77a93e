//! Facts extraction: one pass over a parsed module that records what each definition provides
//! and where each protocol is used, then drops the AST.
//!
//! Facts are deliberately shallow: names, small expression shapes ([`ValueExpr`]) and byte
//! ranges. Resolution (`resolve.rs`) works on facts only, so a module that is not open in the
//! editor costs its facts, never its syntax tree.

// Facts maps are small and keyed by identifiers: FxHash, not SipHash (no untrusted keys here
// can cause harm beyond a slower lookup).
use rustc_hash::FxHashMap as HashMap;
use std::ops::Range;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, ExceptHandler, Expr, Parameters, Pattern, Stmt, StmtClassDef, StmtFunctionDef};
use ruff_text_size::{Ranged, TextRange};

use crate::line_index::LineIndex;
use crate::protocol::UseSiteKind;

pub type ScopeId = u32;
pub type FunctionId = u32;
pub type ClassId = u32;

/// The module scope is always the first one.
pub const MODULE_SCOPE: ScopeId = 0;

/// A small, owned picture of an expression: enough to resolve what it refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValueExpr {
    Name(Box<str>),
    Attribute(Box<ValueExpr>, Box<str>),
    /// A call; positional arguments are kept (keywords are not) for factories such as
    /// `asynccontextmanager(f)`.
    Call(Box<ValueExpr>, Vec<ValueExpr>),
    /// `base[index]`; a tuple index is split into its elements (`Callable[[A], R]`).
    Subscript(Box<ValueExpr>, Vec<ValueExpr>),
    /// `A | B` (in annotations).
    Union(Vec<ValueExpr>),
    /// `a or b`: the value is one of them.
    Or(Vec<ValueExpr>),
    NoneLiteral,
    /// A list, tuple or set display, or a dict display's values: indexing it gives one of them.
    Collection(Vec<ValueExpr>),
    /// Anything else: literals, operators, … Resolves to unknown.
    Other,
}

/// Displays larger than this are kept as [`ValueExpr::Other`]: tables of factories are small.
const MAX_COLLECTION: usize = 64;

impl ValueExpr {
    pub fn from_expr(expr: &Expr) -> ValueExpr {
        Self::from_expr_limited(expr, 0)
    }

    /// A display whose elements are all opaque (`__all__ = ["a", "b"]`) says nothing: keep it
    /// as [`ValueExpr::Other`] rather than a vector of unknowns.
    fn collection(elements: Vec<ValueExpr>) -> ValueExpr {
        if !elements.is_empty() && elements.iter().all(|element| matches!(element, ValueExpr::Other)) {
            ValueExpr::Other
        } else {
            ValueExpr::Collection(elements)
        }
    }

    /// Like [`ValueExpr::from_expr`], but a string is parsed as a forward reference
    /// (`-> "AsyncIterator[Session]"`).
    pub fn from_annotation(expr: &Expr) -> ValueExpr {
        Self::annotation_limited(expr, 0)
    }

    fn annotation_limited(expr: &Expr, depth: u32) -> ValueExpr {
        if depth > 8 {
            return ValueExpr::Other;
        }
        match expr {
            Expr::StringLiteral(literal) => {
                let text = literal.value.to_str();
                match ruff_python_parser::parse_expression(text) {
                    Ok(parsed) => Self::annotation_limited(parsed.expr(), depth + 1),
                    Err(_) => ValueExpr::Other,
                }
            }
            Expr::Subscript(subscript) => ValueExpr::Subscript(
                Box::new(Self::from_expr_limited(&subscript.value, depth + 1)),
                match &*subscript.slice {
                    Expr::Tuple(tuple) => {
                        tuple.elts.iter().map(|element| Self::annotation_limited(element, depth + 1)).collect()
                    }
                    slice => vec![Self::annotation_limited(slice, depth + 1)],
                },
            ),
            Expr::BinOp(binary) if binary.op == ast::Operator::BitOr => ValueExpr::Union(vec![
                Self::annotation_limited(&binary.left, depth + 1),
                Self::annotation_limited(&binary.right, depth + 1),
            ]),
            _ => Self::from_expr_limited(expr, depth),
        }
    }

    fn from_expr_limited(expr: &Expr, depth: u32) -> ValueExpr {
        // Deep attribute chains are never protocol-relevant; bound the recursion.
        if depth > 32 {
            return ValueExpr::Other;
        }
        match expr {
            Expr::Name(name) => ValueExpr::Name(name.id.as_str().into()),
            Expr::Attribute(attribute) => ValueExpr::Attribute(
                Box::new(Self::from_expr_limited(&attribute.value, depth + 1)),
                attribute.attr.as_str().into(),
            ),
            Expr::Call(call) => ValueExpr::Call(
                Box::new(Self::from_expr_limited(&call.func, depth + 1)),
                call.arguments
                    .args
                    .iter()
                    .take(4)
                    .map(|argument| Self::from_expr_limited(argument, depth + 1))
                    .collect(),
            ),
            Expr::Subscript(subscript) => ValueExpr::Subscript(
                Box::new(Self::from_expr_limited(&subscript.value, depth + 1)),
                match &*subscript.slice {
                    Expr::Tuple(tuple) => {
                        tuple.elts.iter().map(|element| Self::from_expr_limited(element, depth + 1)).collect()
                    }
                    slice => vec![Self::from_expr_limited(slice, depth + 1)],
                },
            ),
            Expr::BinOp(binary) if binary.op == ast::Operator::BitOr => ValueExpr::Union(vec![
                Self::from_expr_limited(&binary.left, depth + 1),
                Self::from_expr_limited(&binary.right, depth + 1),
            ]),
            Expr::BoolOp(boolean) if boolean.op == ast::BoolOp::Or => {
                ValueExpr::Or(boolean.values.iter().map(|value| Self::from_expr_limited(value, depth + 1)).collect())
            }
            Expr::NoneLiteral(_) => ValueExpr::NoneLiteral,
            Expr::List(ast::ExprList { elts, .. })
            | Expr::Tuple(ast::ExprTuple { elts, .. })
            | Expr::Set(ast::ExprSet { elts, .. }) => {
                if elts.len() > MAX_COLLECTION || elts.iter().any(Expr::is_starred_expr) {
                    return ValueExpr::Other;
                }
                Self::collection(elts.iter().map(|element| Self::from_expr_limited(element, depth + 1)).collect())
            }
            Expr::Dict(dict) => {
                if dict.items.len() > MAX_COLLECTION || dict.items.iter().any(|item| item.key.is_none()) {
                    return ValueExpr::Other;
                }
                Self::collection(
                    dict.items.iter().map(|item| Self::from_expr_limited(&item.value, depth + 1)).collect(),
                )
            }
            _ => ValueExpr::Other,
        }
    }
}

/// One way a name gets a value in a scope. A name with several bindings resolves only when all
/// of them agree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    Function(FunctionId),
    Class(ClassId),
    /// `import a.b` binds `a` to module `a`; `import a.b as m` binds `m` to module `a.b`.
    ImportModule(Box<str>),
    /// `from <level dots><module> import <name>`.
    ImportFrom {
        module: Box<str>,
        level: u32,
        name: Box<str>,
    },
    /// `x = <expr>` (or `x: T = <expr>`) with a single name target.
    Value(ValueExpr),
    /// The first parameter of a plain method: the instance of that class.
    SelfParameter(ClassId),
    /// Any other parameter, with its annotation (as written) when it has one, and where it
    /// sits in the signature (`None` for `*args`/`**kwargs` and lambdas).
    Parameter {
        annotation: Option<ValueExpr>,
        slot: Option<ParameterSlot>,
    },
    /// Bound in a way we do not follow (loop targets, unpacking, `del`, augmented assignment…).
    Opaque,
}

/// How a call reaches a parameter: by position, by keyword, or by its default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterSlot {
    pub function: FunctionId,
    pub name: Box<str>,
    /// Index among the positional parameters (counting `self`), if it can be passed by position.
    pub position: Option<u32>,
    /// Whether it can be passed by keyword (not positional-only).
    pub by_keyword: bool,
    pub default: Option<ValueExpr>,
}

/// `run(get_session)` / `run(factory=get_session)`: a name that refers to a function (or an
/// import) handed to a call.
#[derive(Clone, Debug)]
pub struct PassedFunction {
    pub callee: ValueExpr,
    pub argument: ValueExpr,
    /// Position among the call's positional arguments, or the keyword.
    pub position: Option<u32>,
    pub keyword: Option<Box<str>>,
    pub range: Range<usize>,
    pub scope: ScopeId,
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
    pub callee: ValueExpr,
    pub arguments: Vec<ValueExpr>,
    pub keywords: Vec<(Box<str>, ValueExpr)>,
    /// `*args` or `**kwargs` at the call: any parameter may receive anything.
    pub unpacks: bool,
    pub scope: ScopeId,
}

impl CallFact {
    /// The last identifier of the callee (`UserService` in `services.UserService(...)`).
    pub fn callee_name(&self) -> Option<&str> {
        match &self.callee {
            ValueExpr::Name(name) | ValueExpr::Attribute(_, name) => Some(name),
            _ => None,
        }
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

#[derive(Clone, Debug, PartialEq)]
pub struct ScopeFact {
    pub kind: ScopeKind,
    pub parent: Option<ScopeId>,
    pub bindings: HashMap<Box<str>, Vec<Binding>>,
    /// Names declared `global` in this scope (assignments go to the module scope).
    pub globals: Vec<Box<str>>,
    /// Names declared `nonlocal` in this scope (assignments go to an enclosing function).
    pub nonlocals: Vec<Box<str>>,
}

impl ScopeFact {
    fn new(kind: ScopeKind, parent: Option<ScopeId>) -> ScopeFact {
        ScopeFact { kind, parent, bindings: HashMap::default(), globals: Vec::new(), nonlocals: Vec::new() }
    }
}

#[derive(Clone, Debug, PartialEq)]
#[expect(clippy::struct_excessive_bools, reason = "independent facts about one definition")]
pub struct FunctionFact {
    pub name: Box<str>,
    /// The name in `def name(...)`.
    pub name_range: Range<usize>,
    /// 1-based line of the name, for messages about this definition from other files.
    pub line: u32,
    pub is_async: bool,
    /// Contains `yield`/`yield from` in its own body (not in nested functions or classes).
    pub is_generator: bool,
    /// Outermost first, as written.
    pub decorators: Vec<ValueExpr>,
    /// The return annotation, and where it is written.
    pub returns: Option<(ValueExpr, Range<usize>)>,
    /// The body only declares (docstring, `...`, `pass`, `raise NotImplementedError`): an
    /// interface for overrides, not behaviour.
    pub is_stub: bool,
    /// The body is `return <first parameter>` (after an optional docstring): a decorator that
    /// hands its argument back unchanged.
    pub returns_first_parameter: bool,
    /// What `return x` and `yield x` in its own body hand out: for a pytest fixture, the value a
    /// test receives.
    pub produced: Vec<ValueExpr>,
    /// The name it is registered under when decorated as a pytest fixture (`name=` honoured).
    pub fixture_name: Option<Box<str>>,
    /// Start of the line of the `def` keyword, and that line's indentation: where a decorator
    /// goes (inside any existing decorators).
    pub def_line_start: usize,
    pub indent: Box<str>,
    /// The function's own scope (its parameters and locals).
    pub scope: ScopeId,
    /// The scope the `def` statement binds its name in.
    pub parent_scope: ScopeId,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttributeAssignment {
    pub value: ValueExpr,
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
    pub name: Box<str>,
    pub name_range: Range<usize>,
    pub line: u32,
    pub bases: Vec<ValueExpr>,
    /// `metaclass=…` or other class keywords: instantiation is not predictable.
    pub has_keywords: bool,
    pub decorators: Vec<ValueExpr>,
    pub scope: ScopeId,
    pub parent_scope: ScopeId,
    pub dunders: Dunders,
    /// `self.<name> = <value>` anywhere in the class's plain methods.
    pub instance_attributes: HashMap<Box<str>, Vec<AttributeAssignment>>,
    /// Annotated names in the class body, in order (dataclass-style fields; `ClassVar`s left out).
    pub fields: Vec<Box<str>>,
}

/// Syntax details of a use site that fixes need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UseSiteShape {
    /// One item of a `with`/`async with` statement.
    WithItem {
        statement_start: usize,
        item_index: usize,
        item_count: usize,
        /// The whole item (`expr as target`).
        item_range: Range<usize>,
        /// The `as` target, if any.
        target: Option<Range<usize>>,
        /// The body has a `break`/`continue` that would bind to a loop written in its place.
        body_has_loop_control: bool,
    },
    /// The iterable of a `for`/`async for` statement.
    ForIterable {
        statement_start: usize,
        has_else: bool,
        /// The loop target (`x` in `for x in …`).
        target: Range<usize>,
        /// The body has a `break`/`continue` for this loop.
        body_has_loop_control: bool,
    },
    /// The iterable of a comprehension clause; `clause_start` is its `for` (or `async for`).
    ComprehensionIterable { clause_start: usize },
    /// The argument of a protocol API call: `anext(x)`, `stack.enter_async_context(x)`.
    CallArgument { callee: ValueExpr, method: Box<str> },
    /// The operand of `await`.
    AwaitOperand { await_start: usize },
}

#[derive(Clone, Debug)]
pub struct UseSite {
    pub kind: UseSiteKind,
    pub operand: ValueExpr,
    /// The operand expression.
    pub range: Range<usize>,
    /// The scope the operand is evaluated in.
    pub scope: ScopeId,
    /// The innermost enclosing `def` is an `async def`.
    pub in_async_function: bool,
    pub shape: UseSiteShape,
    /// For a call operand, the callee (`get_session` in `get_session()`), for wrapping fixes.
    pub callee_range: Option<Range<usize>>,
}

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
    pub state_assignments: Vec<(Box<str>, ValueExpr, ScopeId)>,
    /// `# noqa` and `# asyncsense: noqa` comments.
    pub suppressions: crate::suppress::Suppressions,
    /// What [`ModuleFacts::mentions`] returns, computed once at extraction.
    mentions: Vec<(Mention, Box<str>)>,
    /// Functions passed by name to a call: checked against the parameter's annotation.
    pub passed_functions: Vec<PassedFunction>,
    /// `from x import *` at module level: (module, level). Names may come from there.
    pub star_imports: Vec<(Box<str>, u32)>,
    /// Calls to class-like names (see [`is_class_like`]).
    pub calls: Vec<CallFact>,
    /// Class-like names used as plain values (passed, assigned, returned, stored): instances
    /// may then be made where no recorded call shows it.
    pub escapes: Vec<Box<str>>,
    pub syntax_error_count: usize,
}

impl ModuleFacts {
    pub fn scope(&self, id: ScopeId) -> Option<&ScopeFact> {
        self.scopes.get(id as usize)
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
            if let Some(name) = call.callee_name() {
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
                let base = match base {
                    ValueExpr::Subscript(head, _) => head,
                    other => other,
                };
                if let ValueExpr::Name(name) | ValueExpr::Attribute(_, name) = base {
                    mentions.push((Mention::Base, name.clone()));
                }
            }
        }
        for scope in &self.scopes {
            for (bound, bindings) in &scope.bindings {
                for binding in bindings {
                    if let Binding::ImportFrom { name, .. } = binding {
                        if name != bound {
                            mentions.push((Mention::Alias, name.clone()));
                        }
                    }
                }
            }
        }
        mentions.sort_unstable();
        mentions.dedup();
        mentions
    }

    /// Whether the module binds `name` at top level (for star-import resolution).
    pub fn binds_at_top_level(&self, name: &str) -> bool {
        self.scopes.first().is_some_and(|scope| scope.bindings.contains_key(name))
    }

    /// Whether two fact sets export the same things: a dependent module needs re-checking only
    /// when this is false. Use sites and ranges are private to the module and ignored.
    pub fn same_exports(&self, other: &ModuleFacts) -> bool {
        // Other modules read everything but this module's own use sites: definitions, bindings,
        // constructor calls, escapes, application state, and the lines shown in messages.
        self.scopes == other.scopes
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
    let syntax_error_count = parsed.errors().len();
    let line_index = LineIndex::new(source);
    let comments = parsed
        .tokens()
        .iter()
        .filter(|token| token.kind() == ruff_python_ast::token::TokenKind::Comment)
        .map(|token| to_range(token.range()));
    let suppressions = crate::suppress::Suppressions::from_comments(source, comments, &line_index);
    let module = parsed.into_syntax();
    let mut extractor = Extractor {
        line_index: &line_index,
        source,
        facts: ModuleFacts { suppressions, syntax_error_count, ..ModuleFacts::default() },
        scope_stack: Vec::new(),
        frames: Vec::new(),
        self_names: Vec::new(),
        in_annotation: 0,
        escaped: rustc_hash::FxHashSet::default(),
    };

    extractor.facts.scopes.push(ScopeFact::new(ScopeKind::Module, None));
    extractor.scope_stack.push(MODULE_SCOPE);
    extractor.visit_body(&module.body);
    extractor.facts.import_insertion = import_insertion(&module.body, source, &line_index);
    extractor.finish();
    extractor.facts.escapes = std::mem::take(&mut extractor.escaped).into_iter().collect();
    let facts = &mut extractor.facts;
    facts.escapes.sort_unstable();
    // Facts outlive the parse for every file of the workspace: give back spare capacity.
    facts.escapes.shrink_to_fit();
    facts.passed_functions.shrink_to_fit();
    facts.calls.shrink_to_fit();
    facts.use_sites.shrink_to_fit();
    facts.functions.shrink_to_fit();
    facts.scopes.shrink_to_fit();
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

struct Extractor<'src> {
    line_index: &'src LineIndex,
    source: &'src str,
    facts: ModuleFacts,
    scope_stack: Vec<ScopeId>,
    frames: Vec<Frame>,
    /// Inside a plain method (and functions nested in it): the class and the name of `self`.
    self_names: Vec<Option<(ClassId, Box<str>)>>,
    /// Depth of type positions (annotations, `isinstance` classes): names there are not values.
    in_annotation: u32,
    /// Class-like names used as values so far (becomes `ModuleFacts::escapes`).
    escaped: rustc_hash::FxHashSet<Box<str>>,
}

fn to_range(range: TextRange) -> Range<usize> {
    usize::from(range.start())..usize::from(range.end())
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl Extractor<'_> {
    fn current_scope(&self) -> ScopeId {
        self.scope_stack.last().copied().unwrap_or(MODULE_SCOPE)
    }

    fn push_scope(&mut self, kind: ScopeKind) -> ScopeId {
        let id = to_u32(self.facts.scopes.len());
        self.facts.scopes.push(ScopeFact::new(kind, Some(self.current_scope())));
        id
    }

    /// Records `name` as bound in the current scope, honouring `global`/`nonlocal`.
    fn bind(&mut self, name: &str, binding: Binding) {
        let mut scope_id = self.current_scope();
        let scope = &self.facts.scopes[scope_id as usize];
        if scope.globals.iter().any(|global| &**global == name) {
            scope_id = MODULE_SCOPE;
        } else if scope.nonlocals.iter().any(|nonlocal| &**nonlocal == name) {
            // The binding lives in an enclosing function; we do not follow it there, but the
            // enclosing scope must see a second, unknown source.
            let mut parent = scope.parent;
            while let Some(parent_id) = parent {
                let parent_scope = &self.facts.scopes[parent_id as usize];
                if parent_scope.bindings.contains_key(name) && !matches!(parent_scope.kind, ScopeKind::Class(_)) {
                    break;
                }
                parent = parent_scope.parent;
            }
            scope_id = parent.unwrap_or(MODULE_SCOPE);
        }
        self.facts.scopes[scope_id as usize].bindings.entry(name.into()).or_default().push(binding);
    }

    /// Binds every name in an assignment target. Only a bare name target keeps its value.
    fn bind_target(&mut self, target: &Expr, value: Option<&Expr>) {
        match target {
            Expr::Name(name) => {
                let binding = value.map_or(Binding::Opaque, |value| Binding::Value(ValueExpr::from_expr(value)));
                self.bind(name.id.as_str(), binding);
            }
            Expr::Tuple(tuple) => {
                for element in &tuple.elts {
                    self.bind_target(element, None);
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
                self.facts.scopes[MODULE_SCOPE as usize]
                    .bindings
                    .entry(name.id.as_str().into())
                    .or_default()
                    .push(Binding::Opaque);
            }
        }
    }

    /// `self.x = value` inside a plain method records an instance attribute of its class.
    fn record_attribute_assignment(&mut self, attribute: &ast::ExprAttribute, value: Option<&Expr>) {
        // `app.state.session_factory = get_session` (Starlette/FastAPI application state).
        if let Expr::Attribute(holder) = &*attribute.value {
            if holder.attr.as_str() == "state" {
                let value = value.map_or(ValueExpr::Other, ValueExpr::from_expr);
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
        let value = value.map_or(ValueExpr::Other, ValueExpr::from_expr);
        if let Some(class) = self.facts.classes.get_mut(class_id as usize) {
            class
                .instance_attributes
                .entry(attribute.attr.as_str().into())
                .or_default()
                .push(AttributeAssignment { value, scope });
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
                _ if parameter.is_variadic() => Binding::Parameter { annotation: None, slot: None },
                _ => {
                    let position = (seen_positional < positional).then_some(seen_positional);
                    let slot = function.map(|function| ParameterSlot {
                        function,
                        name: parameter.name().as_str().into(),
                        position: position.map(to_u32),
                        by_keyword: position.is_none_or(|position| position >= positional_only),
                        default: parameter.default().map(ValueExpr::from_expr),
                    });
                    Binding::Parameter { annotation: parameter.annotation().map(ValueExpr::from_annotation), slot }
                }
            };
            if !parameter.is_variadic() && seen_positional < positional {
                seen_positional += 1;
            }
            self.bind(parameter.name().as_str(), binding);
        }
    }

    fn visit_parameter_defaults(&mut self, parameters: &Parameters) {
        for parameter in parameters {
            if let Some(default) = parameter.default() {
                self.visit_expr(default);
            }
            if let Some(annotation) = parameter.annotation() {
                self.visit_annotation(annotation);
            }
        }
    }

    fn visit_function_def(&mut self, function: &StmtFunctionDef) {
        for decorator in &function.decorator_list {
            self.visit_expr(&decorator.expression);
        }
        self.visit_parameter_defaults(&function.parameters);
        if let Some(returns) = &function.returns {
            self.visit_annotation(returns);
        }
        let parent_scope = self.current_scope();
        let function_id = to_u32(self.facts.functions.len());
        let scope = self.push_scope(ScopeKind::Function(function_id));
        let decorators: Vec<ValueExpr> =
            function.decorator_list.iter().map(|decorator| ValueExpr::from_expr(&decorator.expression)).collect();
        let name_range = to_range(function.name.range);
        let def_line_start = self.line_index.line_start(self.line_index.line(name_range.start));
        // A plain method (defined directly in a class body, not static or class method) gets
        // its first parameter bound to the instance.
        let parent_kind = self.facts.scopes[parent_scope as usize].kind;
        let is_plain_method = matches!(parent_kind, ScopeKind::Class(_))
            && !decorators.iter().any(|decorator| {
                matches!(decorator, ValueExpr::Name(name) if &**name == "staticmethod" || &**name == "classmethod")
            });
        self.facts.functions.push(FunctionFact {
            name: function.name.as_str().into(),
            line: self.line_index.line_number(name_range.start),
            name_range,
            is_async: function.is_async,
            is_generator: false,
            decorators,
            returns: function
                .returns
                .as_deref()
                .map(|returns| (ValueExpr::from_annotation(returns), to_range(returns.range()))),
            is_stub: body_is_stub(&function.body),
            returns_first_parameter: body_returns_first_parameter(function),
            produced: Vec::new(),
            fixture_name: fixture_name(function),
            def_line_start,
            indent: indentation(self.source, def_line_start),
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
        self.bind_parameters(&function.parameters, self_class, Some(function_id));
        self.visit_body(&function.body);
        self.self_names.pop();
        self.frames.pop();
        self.scope_stack.pop();
    }

    fn visit_class_def(&mut self, class: &StmtClassDef) {
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
                    fields.push(name.id.as_str().into());
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
        self.facts.classes.push(ClassFact {
            name: class.name.as_str().into(),
            line: self.line_index.line_number(name_range.start),
            name_range,
            bases: class.bases().iter().map(ValueExpr::from_expr).collect(),
            has_keywords: !class.keywords().is_empty(),
            decorators: class
                .decorator_list
                .iter()
                .map(|decorator| ValueExpr::from_expr(&decorator.expression))
                .collect(),
            scope,
            parent_scope,
            dunders,
            instance_attributes: HashMap::default(),
            fields,
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
        self.facts.use_sites.push(UseSite {
            kind,
            operand: ValueExpr::from_expr(operand),
            range: to_range(operand.range()),
            scope: self.current_scope(),
            in_async_function: self.in_async_function(),
            shape,
            callee_range: match operand {
                Expr::Call(call) => Some(to_range(call.func.range())),
                _ => None,
            },
        });
    }

    /// `anext(x)`, `stack.enter_async_context(x)`, `stack.enter_context(x)`: protocol uses
    /// through an API. The checker confirms the callee before reporting.
    fn record_protocol_call(&mut self, call: &ast::ExprCall) {
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
        self.add_use_site(
            kind,
            argument,
            UseSiteShape::CallArgument { callee: ValueExpr::from_expr(&call.func), method: method.into() },
        );
    }

    /// Records names passed to calls; `finish` keeps those that name a function or an import.
    fn record_passed_names(&mut self, call: &ast::ExprCall) {
        if !matches!(&*call.func, Expr::Name(_) | Expr::Attribute(_)) {
            return;
        }
        let callee = || ValueExpr::from_expr(&call.func);
        // Parameters and local variables (bound so far in this function) are never function
        // references we can check; skipping them early keeps this cheap on every call.
        let scope = &self.facts.scopes[self.current_scope() as usize];
        let is_local = |name: &str| {
            !matches!(scope.kind, ScopeKind::Module)
                && scope.bindings.get(name).is_some_and(|bindings| {
                    bindings.iter().all(|binding| !matches!(binding, Binding::Function(_) | Binding::ImportFrom { .. }))
                })
        };
        for (idx, argument) in call.arguments.args.iter().enumerate() {
            if matches!(argument, Expr::Starred(_)) {
                return;
            }
            if let Expr::Name(name) = argument {
                if is_local(name.id.as_str()) {
                    continue;
                }
                self.facts.passed_functions.push(PassedFunction {
                    callee: callee(),
                    argument: ValueExpr::Name(name.id.as_str().into()),
                    position: Some(to_u32(idx)),
                    keyword: None,
                    range: to_range(argument.range()),
                    scope: self.current_scope(),
                });
            }
        }
        for keyword in &call.arguments.keywords {
            if let (Some(arg), Expr::Name(name)) = (&keyword.arg, &keyword.value) {
                if is_local(name.id.as_str()) {
                    continue;
                }
                self.facts.passed_functions.push(PassedFunction {
                    callee: callee(),
                    argument: ValueExpr::Name(name.id.as_str().into()),
                    position: None,
                    keyword: Some(arg.as_str().into()),
                    range: to_range(keyword.value.range()),
                    scope: self.current_scope(),
                });
            }
        }
    }

    /// Drops passed names that are plain variables: only names bound to a `def` or an import
    /// (looked up through the scope chain) can be function references worth checking.
    fn finish(&mut self) {
        let scopes = &self.facts.scopes;
        self.facts.passed_functions.retain(|passed| {
            let ValueExpr::Name(name) = &passed.argument else { return false };
            let mut scope = Some(passed.scope);
            let mut first = true;
            while let Some(id) = scope {
                let Some(fact) = scopes.get(id as usize) else { return false };
                let visible = first || !matches!(fact.kind, ScopeKind::Class(_));
                if visible {
                    if let Some(bindings) = fact.bindings.get(name) {
                        return bindings
                            .iter()
                            .all(|binding| matches!(binding, Binding::Function(_) | Binding::ImportFrom { .. }));
                    }
                }
                first = false;
                scope = fact.parent;
            }
            false
        });
    }

    fn record_call(&mut self, call: &ast::ExprCall) {
        // Every call to a class-like (capitalised) name, arguments or not: a constructor called
        // without the argument still passes the parameter's default. Resolution follows only
        // constructors of capitalised classes, so nothing it needs is left out.
        let callee_name = match &*call.func {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            _ => return,
        };
        if !is_class_like(callee_name) {
            return;
        }
        let mut unpacks = false;
        let mut arguments = Vec::with_capacity(call.arguments.args.len());
        for argument in &call.arguments.args {
            if matches!(argument, Expr::Starred(_)) {
                unpacks = true;
                break;
            }
            arguments.push(ValueExpr::from_expr(argument));
        }
        let mut keywords = Vec::with_capacity(call.arguments.keywords.len());
        for keyword in &call.arguments.keywords {
            match &keyword.arg {
                Some(name) => keywords.push((name.as_str().into(), ValueExpr::from_expr(&keyword.value))),
                None => unpacks = true,
            }
        }
        self.facts.calls.push(CallFact {
            callee: ValueExpr::from_expr(&call.func),
            arguments,
            keywords,
            unpacks,
            scope: self.current_scope(),
        });
    }

    fn visit_with(&mut self, with: &ast::StmtWith) {
        let kind = if with.is_async { UseSiteKind::AsyncWith } else { UseSiteKind::With };
        let body_has_loop_control = has_loop_control(&with.body);
        for (item_index, item) in with.items.iter().enumerate() {
            self.visit_expr(&item.context_expr);
            self.add_use_site(
                kind,
                &item.context_expr,
                UseSiteShape::WithItem {
                    statement_start: usize::from(with.range.start()),
                    item_index,
                    item_count: with.items.len(),
                    item_range: to_range(item.range),
                    target: item.optional_vars.as_deref().map(|target| to_range(target.range())),
                    body_has_loop_control,
                },
            );
            if let Some(target) = &item.optional_vars {
                self.bind_target(target, None);
                self.visit_expr(target);
            }
        }
        self.visit_body(&with.body);
    }

    fn visit_for(&mut self, for_statement: &ast::StmtFor) {
        let kind = if for_statement.is_async { UseSiteKind::AsyncFor } else { UseSiteKind::For };
        self.visit_expr(&for_statement.iter);
        self.add_use_site(
            kind,
            &for_statement.iter,
            UseSiteShape::ForIterable {
                statement_start: usize::from(for_statement.range.start()),
                has_else: !for_statement.orelse.is_empty(),
                target: to_range(for_statement.target.range()),
                body_has_loop_control: has_loop_control(&for_statement.body),
            },
        );
        self.bind_target(&for_statement.target, None);
        self.visit_expr(&for_statement.target);
        self.visit_body(&for_statement.body);
        self.visit_body(&for_statement.orelse);
    }

    fn visit_comprehensions(&mut self, generators: &[ast::Comprehension], elements: &[&Expr]) {
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
                UseSiteShape::ComprehensionIterable { clause_start: usize::from(generator.range.start()) },
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

impl<'a> Visitor<'a> for Extractor<'_> {
    fn visit_stmt(&mut self, statement: &'a Stmt) {
        match statement {
            Stmt::FunctionDef(function) => self.visit_function_def(function),
            Stmt::ClassDef(class) => self.visit_class_def(class),
            Stmt::With(with) => self.visit_with(with),
            Stmt::For(for_statement) => self.visit_for(for_statement),
            Stmt::Import(import) => {
                for alias in &import.names {
                    let dotted = alias.name.as_str();
                    if let Some(asname) = &alias.asname {
                        self.bind(asname.as_str(), Binding::ImportModule(dotted.into()));
                    } else {
                        let top = dotted.split('.').next().unwrap_or(dotted);
                        self.bind(top, Binding::ImportModule(top.into()));
                    }
                }
            }
            Stmt::ImportFrom(import) => {
                let module: Box<str> = import.module.as_ref().map_or("", |module| module.as_str()).into();
                for alias in &import.names {
                    if alias.name.as_str() == "*" {
                        if self.current_scope() == MODULE_SCOPE {
                            self.facts.star_imports.push((module.clone(), import.level));
                        }
                        continue;
                    }
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.bind(
                        bound.as_str(),
                        Binding::ImportFrom {
                            module: module.clone(),
                            level: import.level,
                            name: alias.name.as_str().into(),
                        },
                    );
                }
            }
            Stmt::Assign(assign) => {
                self.visit_expr(&assign.value);
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
                let scope = self.current_scope() as usize;
                for name in &global.names {
                    self.facts.scopes[scope].globals.push(name.as_str().into());
                }
            }
            Stmt::Nonlocal(nonlocal) => {
                let scope = self.current_scope() as usize;
                for name in &nonlocal.names {
                    self.facts.scopes[scope].nonlocals.push(name.as_str().into());
                }
            }
            Stmt::TypeAlias(alias) => {
                if let Expr::Name(name) = &*alias.name {
                    self.bind(name.id.as_str(), Binding::Opaque);
                }
            }
            Stmt::Return(ast::StmtReturn { value: Some(value), .. }) => {
                if let Some(Frame::Function(id)) = self.frames.last() {
                    self.facts.functions[*id as usize].produced.push(ValueExpr::from_expr(value));
                }
                visitor::walk_stmt(self, statement);
            }
            Stmt::Try(try_statement) => {
                for handler in &try_statement.handlers {
                    let ExceptHandler::ExceptHandler(handler) = handler;
                    if let Some(name) = &handler.name {
                        self.bind(name.as_str(), Binding::Opaque);
                    }
                }
                visitor::walk_stmt(self, statement);
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
                if name.ctx == ast::ExprContext::Load && self.in_annotation == 0 && is_class_like(name.id.as_str()) {
                    // Capitalised constants recur on every line; allocate each name once.
                    if !self.escaped.contains(name.id.as_str()) {
                        self.escaped.insert(name.id.as_str().into());
                    }
                }
            }
            Expr::Attribute(attribute) => {
                // `Class.attribute` reads the class; it does not hand it on.
                if matches!(&*attribute.value, Expr::Name(_)) {
                    return;
                }
                visitor::walk_expr(self, expr);
            }
            Expr::Yield(_) | Expr::YieldFrom(_) => {
                if let Some(Frame::Function(id)) = self.frames.last() {
                    let function = &mut self.facts.functions[*id as usize];
                    function.is_generator = true;
                    if let Expr::Yield(ast::ExprYield { value: Some(value), .. }) = expr {
                        function.produced.push(ValueExpr::from_expr(value));
                    }
                }
                visitor::walk_expr(self, expr);
            }
            Expr::Await(await_expr) => {
                self.visit_expr(&await_expr.value);
                self.add_use_site(
                    UseSiteKind::Await,
                    &await_expr.value,
                    UseSiteShape::AwaitOperand { await_start: usize::from(await_expr.range.start()) },
                );
            }
            Expr::Call(call) => {
                // The callee is called, not handed on; `isinstance(x, Class)` only inspects.
                match &*call.func {
                    Expr::Name(_) => {}
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
                self.visit_comprehensions(&comprehension.generators, &[&comprehension.elt]);
            }
            Expr::SetComp(comprehension) => {
                self.visit_comprehensions(&comprehension.generators, &[&comprehension.elt]);
            }
            Expr::Generator(comprehension) => {
                self.visit_comprehensions(&comprehension.generators, &[&comprehension.elt]);
            }
            Expr::DictComp(comprehension) => {
                let mut elements: Vec<&Expr> = vec![&comprehension.value];
                elements.extend(comprehension.key.as_deref());
                self.visit_comprehensions(&comprehension.generators, &elements);
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
fn import_insertion(body: &[Stmt], source: &str, lines: &LineIndex) -> usize {
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
        Some(end) => {
            let next_line = lines.line_start(lines.line(end) + 1);
            next_line.min(source.len())
        }
        None => 0,
    }
}

/// The spaces and tabs at `line_start`.
fn indentation(source: &str, line_start: usize) -> Box<str> {
    let rest = source.get(line_start..).unwrap_or_default();
    let width = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    rest[..width].into()
}

/// Capitalised names: the only classes whose constructor calls are recorded and followed.
pub fn is_class_like(name: &str) -> bool {
    name.chars().next().is_some_and(|first| first.is_ascii_uppercase())
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

fn body_returns_first_parameter(function: &StmtFunctionDef) -> bool {
    let Some(first) = function.parameters.iter().next() else { return false };
    let statements: Vec<&Stmt> = function
        .body
        .iter()
        .enumerate()
        .filter(|(idx, statement)| {
            !(*idx == 0 && matches!(statement, Stmt::Expr(expression) if expression.value.is_string_literal_expr()))
        })
        .map(|(_, statement)| statement)
        .collect();
    matches!(
        statements.as_slice(),
        [Stmt::Return(ast::StmtReturn { value: Some(value), .. })]
            if matches!(&**value, Expr::Name(name) if name.id.as_str() == first.name().as_str())
    )
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
        facts.functions.iter().find(|function| &*function.name == name).expect("function exists")
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
        assert_eq!(&source[sites[0].range.clone()], "a()");
        assert_eq!(&source[sites[1].range.clone()], "b()");
        let UseSiteShape::WithItem { item_count, target, .. } = &sites[0].shape else { panic!("with item") };
        assert_eq!(*item_count, 2);
        assert_eq!(&source[target.clone().expect("target")], "x");
    }

    #[test]
    fn self_attributes_are_recorded_per_class() {
        let facts = extract(
            "class S:\n    def __init__(self, f):\n        self.factory = get\n        self.other = f\n    @staticmethod\n    def s(x):\n        x.nope = 1\n",
        );
        let class = &facts.classes[0];
        assert!(class.instance_attributes.contains_key("factory"));
        assert!(class.instance_attributes.contains_key("other"));
        assert!(!class.instance_attributes.contains_key("nope"));
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
        let facts = extract("async def agen():\n    yield 1\n\ndef broken(:\n\nasync def use():\n    async with agen() as s:\n        pass\n");
        assert!(facts.syntax_error_count > 0);
        assert!(function(&facts, "agen").is_generator);
        assert!(facts.use_sites.iter().any(|site| site.kind == UseSiteKind::AsyncWith));
    }
}
