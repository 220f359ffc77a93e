//! What ty leaves `Unknown`, followed to its sources: ty (0.0.10) does not infer the return
//! type of an unannotated function, so `lock = make_lock()` is `Unknown` to it even when every
//! `return` in `make_lock` is a `threading.Lock()`. This module asks ty about those `return`
//! values instead, and follows a name ty calls `Unknown` to the values bound to it.
//!
//! Soundness rests on one property: the alternatives found are a superset of what can reach the
//! use. Every binding of a name in its scope counts (not only those that reach), and every
//! `return` of a function counts. A superset can only make a "every alternative lacks the
//! protocol" verdict harder to reach, never wrong. What would break it is left alone, as
//! `Unknown`:
//! - a name also bound through `global`/`nonlocal` elsewhere (ty's definition search does not
//!   see those bindings);
//! - a function with decorators other than `staticmethod`/`classmethod` (the call may not run
//!   the body), and generator functions (ty types those itself); an `async def` is followed only
//!   where it is awaited (`await make()`), or for what awaiting its call gives;
//! - a method called on `self`/`cls` whose body is a placeholder (`pass`, `raise`, a docstring,
//!   a constant): subclasses are meant to override it; and any call on `self`, `cls` or
//!   `super()` inside a body being followed, where `self` may be a subclass that overrides it;
//! - a binding that is not a plain assignment (a parameter, a loop or `with` target, an
//!   unpacking, an annotated assignment whose annotation ty did not understand).
//!
//! Narrowing is kept: only a pure `Unknown` element is replaced, and ty writes a narrowed
//! unknown as an intersection (`Unknown & AsyncIterable[...]`), which is left as it is.

use ruff_db::files::File;
use ruff_db::parsed::parsed_module;
use ruff_db::source::source_text;
use ruff_db::PythonFile;
use ruff_python_ast::helpers::ReturnStatementVisitor;
use ruff_python_ast::visitor::Visitor;
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};
use ty_python_core::definition::{Definition, DefinitionKind};
use ty_python_semantic::types::Type;
use ty_python_semantic::{definitions_for_name, Db, HasType, ImportAliasResolution, ResolvedDefinition, SemanticModel};

/// How many calls and names deep a value is followed.
const MAX_DEPTH: u32 = 6;
/// How many expressions one operand may follow in all (a bound on the work per use site).
const MAX_STEPS: u32 = 48;

/// Follows one operand; made per operand.
pub(super) struct Follower<'db> {
    db: &'db dyn Db,
    steps: u32,
    /// The expressions being followed (a function that returns its own call, a name bound to
    /// itself): met again, they are `Unknown`.
    active: Vec<(File, TextRange)>,
    /// Files whose syntax trees were loaded here, to free when the query ends.
    pub(super) loaded: Vec<PythonFile<'db>>,
}

impl<'db> Follower<'db> {
    pub(super) fn new(db: &'db dyn Db) -> Follower<'db> {
        Follower { db, steps: 0, active: Vec::new(), loaded: Vec::new() }
    }

    /// The union elements of what `expr` (in `model`'s file) may be: ty's type, with each pure
    /// `Unknown` element replaced by what its sources are, when every source is known to us.
    pub(super) fn elements(&mut self, model: &SemanticModel<'db>, expr: &Expr, depth: u32) -> Vec<Type<'db>> {
        let Some(ty) = expr.inferred_type(model) else { return vec![Type::unknown()] };
        let elements = union_elements(self.db, ty);
        if !elements.iter().any(Type::is_unknown) || depth >= MAX_DEPTH || self.steps >= MAX_STEPS {
            return elements;
        }
        self.steps += 1;
        let key = (model.program_file().file(self.db), expr.range());
        if self.active.contains(&key) {
            return elements;
        }
        self.active.push(key);
        let sources = match expr {
            Expr::Call(call) => self.call_result(model, call, depth, false),
            Expr::Await(awaited) => match &*awaited.value {
                Expr::Call(call) => self.call_result(model, call, depth, true),
                _ => None,
            },
            Expr::Name(name) => self.name_values(model, name, depth),
            _ => None,
        };
        self.active.pop();
        match sources {
            Some(sources) => {
                let mut merged: Vec<Type<'db>> = elements.into_iter().filter(|element| !element.is_unknown()).collect();
                for source in sources {
                    if !merged.contains(&source) {
                        merged.push(source);
                    }
                }
                merged
            }
            None => elements,
        }
    }

    /// What awaiting a call of an unannotated `async def` (not a generator) gives: the union of
    /// its `return` values. ty types the call itself as `CoroutineType[Any, Any, Unknown]`.
    pub(super) fn awaited_result(
        &mut self,
        model: &SemanticModel<'db>,
        call: &ast::ExprCall,
    ) -> Option<Vec<Type<'db>>> {
        self.call_result(model, call, 0, true)
    }

    /// What a call of an unannotated plain function may return (with `awaited`, what awaiting a
    /// call of an unannotated coroutine function gives): the union of its `return` values (a
    /// body that also falls off its end adds `None`, which the layer drops anyway).
    fn call_result(
        &mut self,
        model: &SemanticModel<'db>,
        call: &ast::ExprCall,
        depth: u32,
        awaited: bool,
    ) -> Option<Vec<Type<'db>>> {
        let callee = call.func.inferred_type(model)?;
        let env = model.program_environment();
        let on_self = matches!(&*call.func, Expr::Attribute(attribute)
            if matches!(&*attribute.value, Expr::Name(name) if matches!(name.id.as_str(), "self" | "cls")));
        // Inside a followed method body, `self` may be any subclass, whose override of the
        // method may be another kind of function (django's `RequestFactory.generic` returns
        // `self.request(...)`, which is `async def` on `AsyncClient`): unknown.
        let on_super = matches!(&*call.func, Expr::Attribute(attribute)
            if matches!(&*attribute.value, Expr::Call(inner) if matches!(&*inner.func, Expr::Name(name) if name.id.as_str() == "super")));
        if depth > 0 && (on_self || on_super) {
            return None;
        }
        let mut results = Vec::new();
        for element in union_elements(self.db, callee) {
            if !matches!(element, Type::FunctionLiteral(_) | Type::BoundMethod(_)) {
                return None;
            }
            let definition = *element.definition(self.db, &env)?.definition()?;
            results.extend(self.returns_of(definition, on_self, depth, awaited)?);
        }
        Some(results)
    }

    fn returns_of(
        &mut self,
        definition: Definition<'db>,
        on_self: bool,
        depth: u32,
        awaited: bool,
    ) -> Option<Vec<Type<'db>>> {
        let core: &dyn ty_python_core::Db = self.db;
        let DefinitionKind::Function(node) = definition.kind(core) else { return None };
        let file = definition.program_file(core);
        let module = parsed_module(self.db, definition.python_file(core)).load(self.db);
        self.note_loaded(definition.python_file(core));
        let function = node.node(&module);
        let plain_decorators = function.decorator_list.iter().all(|decorator| {
            matches!(&decorator.expression, Expr::Name(name) if matches!(name.id.as_str(), "staticmethod" | "classmethod"))
        });
        if function.returns.is_some() || function.is_async != awaited || !plain_decorators {
            return None;
        }
        if on_self && is_placeholder(&function.body) {
            return None;
        }
        let mut visitor = ReturnStatementVisitor::default();
        visitor.visit_body(&function.body);
        if visitor.is_generator {
            return None;
        }
        let model = SemanticModel::new(self.db, file);
        let mut results = Vec::new();
        for ret in &visitor.returns {
            match &ret.value {
                Some(value) => results.extend(self.elements(&model, value, depth + 1)),
                None => results.push(Type::none(self.db, &model.program_environment())),
            }
        }
        Some(results)
    }

    /// The values of every plain assignment to `name` in its scope (imports resolved to what
    /// they import).
    fn name_values(&mut self, model: &SemanticModel<'db>, name: &ast::ExprName, depth: u32) -> Option<Vec<Type<'db>>> {
        let definitions =
            definitions_for_name(model, name.id.as_str(), name.into(), ImportAliasResolution::ResolveAliases);
        if definitions.is_empty() {
            return None;
        }
        let core: &dyn ty_python_core::Db = self.db;
        let mut results = Vec::new();
        for resolved in definitions {
            let ResolvedDefinition::Definition(definition) = resolved else { return None };
            let file = definition.program_file(core);
            if rebinds_elsewhere(self.db, file.file(self.db), name.id.as_str()) {
                return None;
            }
            let DefinitionKind::Assignment(assignment) = definition.kind(core) else { return None };
            if assignment.unpack().is_some() {
                return None;
            }
            let module = parsed_module(self.db, definition.python_file(core)).load(self.db);
            self.note_loaded(definition.python_file(core));
            if !matches!(assignment.target(&module), Expr::Name(_)) {
                return None;
            }
            let value = assignment.value(&module);
            let model = SemanticModel::new(self.db, file);
            results.extend(self.elements(&model, value, depth + 1));
        }
        Some(results)
    }

    fn note_loaded(&mut self, file: PythonFile<'db>) {
        if !self.loaded.contains(&file) {
            self.loaded.push(file);
        }
    }
}

fn union_elements<'db>(db: &'db dyn Db, ty: Type<'db>) -> Vec<Type<'db>> {
    match ty {
        Type::Union(union) => union.elements(db).to_vec(),
        other => vec![other],
    }
}

/// A body meant to be overridden: only a docstring, `pass`, `...`, `raise`, or a `return` of
/// a constant or an empty collection.
fn is_placeholder(body: &[ast::Stmt]) -> bool {
    body.iter().all(|statement| match statement {
        ast::Stmt::Pass(_) | ast::Stmt::Raise(_) => true,
        ast::Stmt::Expr(expression) => {
            matches!(&*expression.value, Expr::StringLiteral(_) | Expr::EllipsisLiteral(_))
        }
        ast::Stmt::Return(ret) => ret.value.as_deref().is_none_or(|value| match value {
            Expr::NoneLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::EllipsisLiteral(_) => true,
            Expr::List(list) => list.elts.is_empty(),
            Expr::Tuple(tuple) => tuple.elts.is_empty(),
            Expr::Dict(dict) => dict.items.is_empty(),
            _ => false,
        }),
        _ => false,
    })
}

/// Whether `file` has a `global name` or `nonlocal name` statement: a binding ty's definition
/// search does not list.
fn rebinds_elsewhere(db: &dyn Db, file: File, name: &str) -> bool {
    let text = source_text(db, file);
    text.lines().any(|line| {
        let line = line.trim_start();
        ["global ", "nonlocal "].iter().any(|keyword| {
            line.strip_prefix(keyword).is_some_and(|names| names.split(',').any(|candidate| candidate.trim() == name))
        })
    })
}
