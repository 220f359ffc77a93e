//! What ty leaves `Unknown`, followed to its sources: ty (0.0.10) does not infer the return
//! type of an unannotated function, so `lock = make_lock()` is `Unknown` to it even when every
//! `return` in `make_lock` is a `threading.Lock()`. This module asks ty about those `return`
//! values instead, follows a name ty calls `Unknown` to the values bound to it (plain
//! assignments, and the `as` target of a `with`: what the manager's `__aenter__`/`__enter__`
//! gives), and an attribute to what the receiver's class and its bases assign to it or define
//! under its name (so a method of a followed value is called as it is written: declared, its
//! `return`s, or a generator function's iterator).
//!
//! Soundness rests on one property: the alternatives found are a superset of what can reach the
//! use. Every binding of a name in its scope counts (not only those that reach), every `return`
//! of a function counts, and an attribute collects from every class of the receiver's hierarchy
//! (its class-level bindings and the assignments to `self.<name>` in all of its methods). A
//! superset can only make a "every alternative lacks the protocol" verdict harder to reach,
//! never wrong. What would break it is left alone, as `Unknown`:
//! - a name also bound through `global`/`nonlocal` elsewhere (ty's definition search does not
//!   see those bindings);
//! - a function with decorators other than `staticmethod`/`classmethod`/`overload`/
//!   `abstractmethod` (the call may not run the body); an `async def` is followed for what
//!   awaiting its call gives;
//! - a method called on `self`/`cls` whose body is a placeholder (`pass`, `raise`, a docstring,
//!   a constant): subclasses are meant to override it; and any call on `self`, `cls` or
//!   `super()` inside a body being followed, where `self` may be a subclass that overrides it;
//! - a binding that is not a plain assignment (a parameter, a loop target, an unpacking, an
//!   augmented assignment);
//! - an attribute of a class whose hierarchy holds a class ty cannot name (an unresolved base),
//!   or a `__getattribute__`, or that no class of it binds.
//!
//! The one assumption taken (as pyright takes it): an attribute is bound only by its class
//! hierarchy, not assigned from outside (`client._lock = ...` in another module) nor by a
//! subclass the receiver's type does not name.
//!
//! Narrowing is kept: only a pure `Unknown` element is replaced, and ty writes a narrowed
//! unknown as an intersection (`Unknown & AsyncIterable[...]`), which is left as it is.

use ruff_db::files::File;
use ruff_db::parsed::{parsed_module, ParsedModuleRef};
use ruff_db::source::source_text;
use ruff_db::PythonFile;
use ruff_python_ast::helpers::ReturnStatementVisitor;
use ruff_python_ast::name::Name;
use ruff_python_ast::statement_visitor::{walk_stmt, StatementVisitor};
use ruff_python_ast::visitor::Visitor;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};
use ty_python_core::definition::{Definition, DefinitionKind, TargetKind};
use ty_python_semantic::types::{Type, TypeDefinition};
use ty_python_semantic::{
    definitions_for_name, Db, HasDefinition, HasType, ImportAliasResolution, ResolvedDefinition, SemanticModel,
};

/// How many calls and names deep a value is followed.
const MAX_DEPTH: u32 = 6;
/// How many expressions one operand may follow in all (a bound on the work per use site).
const MAX_STEPS: u32 = 48;
/// How many classes a receiver's hierarchy may hold before it is not searched.
const MAX_CLASSES: usize = 32;

/// One alternative of what a value may be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Source<'db> {
    /// A type as ty knows it.
    Value(Type<'db>),
    /// The call of an unannotated generator function: an iterator and nothing else.
    Generator { is_async: bool },
    /// The call of a coroutine function, with what awaiting it gives when that is known.
    Coroutine(Option<Vec<Source<'db>>>),
    /// A method of a followed receiver, not yet called: only a call of it says anything.
    Method { function: Definition<'db>, receiver: Option<Type<'db>> },
}

impl Source<'_> {
    fn is_unknown(&self) -> bool {
        matches!(self, Source::Value(ty) if ty.is_unknown())
    }
}

/// `self` in the body of a method being followed for a known receiver.
struct Receiver<'db> {
    file: File,
    function: TextRange,
    name: Name,
    ty: Type<'db>,
}

/// Follows one operand; made per operand.
pub(super) struct Follower<'db> {
    db: &'db dyn Db,
    steps: u32,
    /// The expressions being followed (a function that returns its own call, a name bound to
    /// itself): met again, they are `Unknown`.
    active: Vec<(File, TextRange)>,
    receivers: Vec<Receiver<'db>>,
    /// Files whose syntax trees were loaded here, to free when the query ends.
    pub(super) loaded: Vec<PythonFile<'db>>,
}

impl<'db> Follower<'db> {
    pub(super) fn new(db: &'db dyn Db) -> Follower<'db> {
        Follower { db, steps: 0, active: Vec::new(), receivers: Vec::new(), loaded: Vec::new() }
    }

    /// The union elements of what `expr` (in `model`'s file) may be: ty's type, with each pure
    /// `Unknown` element replaced by what its sources are, when every source is known to us.
    pub(super) fn elements(&mut self, model: &SemanticModel<'db>, expr: &Expr, depth: u32) -> Vec<Source<'db>> {
        if let Expr::Name(name) = expr {
            if let Some(receiver) = self.bound_receiver(model, name) {
                return vec![Source::Value(receiver)];
            }
        }
        let Some(ty) = expr.inferred_type(model) else { return vec![Source::Value(Type::unknown())] };
        let elements: Vec<Source<'db>> = union_elements(self.db, ty).into_iter().map(Source::Value).collect();
        if !elements.iter().any(Source::is_unknown) || depth >= MAX_DEPTH || self.steps >= MAX_STEPS {
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
            Expr::Attribute(attribute) => self.attribute_values(model, attribute, depth),
            _ => None,
        };
        self.active.pop();
        match sources {
            Some(sources) => {
                let mut merged: Vec<Source<'db>> =
                    elements.into_iter().filter(|element| !element.is_unknown()).collect();
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
    ) -> Option<Vec<Source<'db>>> {
        self.call_result(model, call, 0, true)
    }

    /// The code paths of a call: the value of each `return` of the one plain function it calls,
    /// when that function is unannotated and undecorated and has several, each labelled by its
    /// text and line. A declared return type is one alternative, whatever union it spells.
    pub(super) fn return_arms(
        &mut self,
        model: &SemanticModel<'db>,
        call: &ast::ExprCall,
    ) -> Option<Vec<(String, Vec<Source<'db>>)>> {
        let env = model.program_environment();
        let callee @ Type::FunctionLiteral(_) = call.func.inferred_type(model)? else { return None };
        let Some(TypeDefinition::Function(definition)) = callee.definition(self.db, &env) else { return None };
        let core: &dyn ty_python_core::Db = self.db;
        let DefinitionKind::Function(node) = definition.kind(core) else { return None };
        let file = definition.program_file(core);
        let module = self.load(definition.python_file(core));
        let function = node.node(&module);
        if function.is_async || function.returns.is_some() || !function.decorator_list.is_empty() {
            return None;
        }
        let mut visitor = ReturnStatementVisitor::default();
        visitor.visit_body(&function.body);
        if visitor.is_generator || visitor.returns.len() < 2 {
            return None;
        }
        let callee_model = SemanticModel::new(self.db, file);
        let text = ruff_db::source::source_text(self.db, file.file(self.db));
        let lines = ruff_db::source::line_index(self.db, file.file(self.db));
        let mut arms = Vec::new();
        for ret in &visitor.returns {
            let Some(value) = ret.value.as_deref() else { continue };
            let shown = text.as_str().get(value.range().to_std_range()).unwrap_or_default();
            let line = lines.line_index(value.start()).get();
            arms.push((format!("the `return {shown}` at line {line}"), self.elements(&callee_model, value, 1)));
        }
        (arms.len() > 1).then_some(arms)
    }

    /// What a call may return (with `awaited`, what awaiting the call gives), when the callee is
    /// a function or a method we can read: see [`Self::function_result`].
    fn call_result(
        &mut self,
        model: &SemanticModel<'db>,
        call: &ast::ExprCall,
        depth: u32,
        awaited: bool,
    ) -> Option<Vec<Source<'db>>> {
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
        let callees = if union_elements(self.db, callee).iter().any(Type::is_unknown) {
            self.elements(model, &call.func, depth + 1)
        } else {
            union_elements(self.db, callee).into_iter().map(Source::Value).collect()
        };
        let mut results = Vec::new();
        for callee in callees {
            let (definition, receiver) = match callee {
                Source::Value(element @ (Type::FunctionLiteral(_) | Type::BoundMethod(_))) => {
                    let Some(TypeDefinition::Function(definition)) = element.definition(self.db, &env) else {
                        return None;
                    };
                    (definition, None)
                }
                Source::Method { function, receiver } => (function, receiver),
                _ => return None,
            };
            results.extend(self.function_result(definition, receiver, on_self, depth, awaited)?);
        }
        Some(results)
    }

    /// What calling the function defined by `definition` gives (with `awaited`, what awaiting
    /// that call gives): its declared return type; else for a generator function its iterator,
    /// for other functions the union of its `return` values (`self` in them is `receiver`).
    fn function_result(
        &mut self,
        definition: Definition<'db>,
        receiver: Option<Type<'db>>,
        on_self: bool,
        depth: u32,
        awaited: bool,
    ) -> Option<Vec<Source<'db>>> {
        let core: &dyn ty_python_core::Db = self.db;
        let DefinitionKind::Function(node) = definition.kind(core) else { return None };
        let file = definition.program_file(core);
        let module = self.load(definition.python_file(core));
        let function = node.node(&module);
        let decorators: Option<Vec<&str>> =
            function.decorator_list.iter().map(|d| decorator_name(&d.expression)).collect();
        let decorators = decorators?;
        if !decorators
            .iter()
            .all(|name| matches!(*name, "staticmethod" | "classmethod" | "overload" | "abstractmethod"))
        {
            return None;
        }
        let mut visitor = ReturnStatementVisitor::default();
        visitor.visit_body(&function.body);
        let is_generator = visitor.is_generator;
        let coroutine = function.is_async && !is_generator;
        let model = SemanticModel::new(self.db, file);
        let results = if let Some(returns) = &function.returns {
            if is_self_annotation(returns) {
                vec![Source::Value(receiver?)]
            } else {
                union_elements(self.db, returns.inferred_type(&model)?).into_iter().map(Source::Value).collect()
            }
        } else if is_generator {
            if awaited {
                return None;
            }
            return Some(vec![Source::Generator { is_async: function.is_async }]);
        } else {
            if on_self && is_placeholder(&function.body) {
                return None;
            }
            let receiver = receiver.zip(first_parameter(function, &decorators).cloned());
            self.returned_values(&model, function, &visitor.returns, receiver, depth)
        };
        match (coroutine, awaited) {
            (true, true) | (false, false) => Some(results),
            (true, false) => Some(vec![Source::Coroutine(Some(results))]),
            (false, true) => None,
        }
    }

    /// The values of every binding of `name` in its scope: plain assignments (imports resolved
    /// to what they import), and `with` targets (what entering the manager gives).
    fn name_values(
        &mut self,
        model: &SemanticModel<'db>,
        name: &ast::ExprName,
        depth: u32,
    ) -> Option<Vec<Source<'db>>> {
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
            let module = self.load(definition.python_file(core));
            let model = SemanticModel::new(self.db, file);
            match definition.kind(core) {
                DefinitionKind::Assignment(assignment) => {
                    if assignment.unpack().is_some() || !matches!(assignment.target(&module), Expr::Name(_)) {
                        return None;
                    }
                    results.extend(self.elements(&model, assignment.value(&module), depth + 1));
                }
                DefinitionKind::WithItem(item) => {
                    if !matches!(item.target_kind(), TargetKind::Single)
                        || !matches!(item.target(&module), Expr::Name(_))
                    {
                        return None;
                    }
                    results.extend(self.entered(&model, item.context_expr(&module), item.is_async(), depth)?);
                }
                _ => return None,
            }
        }
        Some(results)
    }

    /// What `with manager as x` binds to `x`: what the manager's `__enter__` returns, or what
    /// awaiting its `__aenter__` gives.
    fn entered(
        &mut self,
        model: &SemanticModel<'db>,
        manager: &Expr,
        is_async: bool,
        depth: u32,
    ) -> Option<Vec<Source<'db>>> {
        let dunder = if is_async { "__aenter__" } else { "__enter__" };
        let mut results = Vec::new();
        for source in self.elements(model, manager, depth + 1) {
            let Source::Value(ty) = source else { return None };
            let class = self.class_of(model, ty)?;
            for member in self.member(class, dunder, Some(ty), depth)? {
                let Source::Method { function, receiver } = member else { return None };
                results.extend(self.function_result(function, receiver, false, depth, is_async)?);
            }
        }
        Some(results)
    }

    /// What `receiver.name` may be, from the receiver's class hierarchy. `self` in a method is
    /// the enclosing class (or, in a body being followed, the receiver it was followed for).
    fn attribute_values(
        &mut self,
        model: &SemanticModel<'db>,
        attribute: &ast::ExprAttribute,
        depth: u32,
    ) -> Option<Vec<Source<'db>>> {
        let enclosing = match &*attribute.value {
            Expr::Name(name) if self.bound_receiver(model, name).is_none() => {
                enclosing_self(model, name).map(|class| (name.inferred_type(model), class))
            }
            _ => None,
        };
        let receivers: Vec<(Option<Type<'db>>, Definition<'db>)> = match enclosing {
            Some(receiver) => vec![receiver],
            None => {
                let mut receivers = Vec::new();
                for source in self.elements(model, &attribute.value, depth + 1) {
                    let Source::Value(ty) = source else { return None };
                    // `proc.stdin` is `StreamWriter | None`: its attributes are the writer's.
                    if ty.is_none(self.db) {
                        continue;
                    }
                    receivers.push((Some(ty), self.class_of(model, ty)?));
                }
                receivers
            }
        };
        let mut results = Vec::new();
        for (receiver, class) in receivers {
            results.extend(self.member(class, attribute.attr.as_str(), receiver, depth)?);
        }
        Some(results)
    }

    /// The class a value is an instance of, when ty names it.
    fn class_of(&self, model: &SemanticModel<'db>, ty: Type<'db>) -> Option<Definition<'db>> {
        if !matches!(ty, Type::NominalInstance(_)) {
            return None;
        }
        match ty.definition(self.db, &model.program_environment())? {
            TypeDefinition::StaticClass(definition) => Some(definition),
            _ => None,
        }
    }

    /// For a class object (`ApiClient`, not `ApiClient()`): the protocol dunders its instances
    /// have, read from the class and every base (each must be a class ty names, none may route
    /// attributes through `__getattribute__`). A dunder is one a class body binds by name.
    pub(super) fn instance_dunders(
        &mut self,
        model: &SemanticModel<'db>,
        class: Type<'db>,
    ) -> Option<Vec<&'static str>> {
        if !matches!(class, Type::ClassLiteral(_)) {
            return None;
        }
        let TypeDefinition::StaticClass(definition) = class.definition(self.db, &model.program_environment())? else {
            return None;
        };
        let hierarchy = self.walk_hierarchy(definition);
        if !hierarchy.complete || hierarchy.intercepted {
            return None;
        }
        let core: &dyn ty_python_core::Db = self.db;
        let mut found = Vec::new();
        for class in hierarchy.classes {
            let module = self.load(class.python_file(core));
            let DefinitionKind::Class(node) = class.kind(core) else { return None };
            for statement in &node.node(&module).body {
                let names: Vec<&str> = match statement {
                    Stmt::FunctionDef(function) => vec![function.name.as_str()],
                    Stmt::Assign(assign) => assign
                        .targets
                        .iter()
                        .filter_map(|target| target.as_name_expr().map(|name| name.id.as_str()))
                        .collect(),
                    Stmt::AnnAssign(assign) => {
                        assign.target.as_name_expr().map(|name| name.id.as_str()).into_iter().collect()
                    }
                    _ => Vec::new(),
                };
                for name in names {
                    if let Some(dunder) = PROTOCOL_DUNDERS.iter().find(|dunder| **dunder == name) {
                        if !found.contains(dunder) {
                            found.push(*dunder);
                        }
                    }
                }
            }
        }
        Some(found)
    }

    /// What `name` may be on an instance of `class`: methods as [`Source::Method`], properties
    /// as what their getter returns, and the values bound to it in the class bodies and through
    /// `self.<name> = ...` in their methods, over the whole hierarchy.
    fn member(
        &mut self,
        class: Definition<'db>,
        name: &str,
        receiver: Option<Type<'db>>,
        depth: u32,
    ) -> Option<Vec<Source<'db>>> {
        let core: &dyn ty_python_core::Db = self.db;
        let mut results = Vec::new();
        let mut found = false;
        for class in self.hierarchy(class)? {
            let file = class.program_file(core);
            if !source_text(self.db, file.file(self.db)).contains(name) {
                continue;
            }
            let module = self.load(class.python_file(core));
            let DefinitionKind::Class(node) = class.kind(core) else { return None };
            let model = SemanticModel::new(self.db, file);
            let mut bindings = Bindings { name, self_name: None, found: Vec::new(), unsupported: false };
            bindings.visit_body(&node.node(&module).body);
            if bindings.unsupported {
                return None;
            }
            for binding in bindings.found {
                found = true;
                match binding {
                    Binding::Function(function) => {
                        let decorators: Vec<&str> =
                            function.decorator_list.iter().filter_map(|d| decorator_name(&d.expression)).collect();
                        let definition = function.definition(&model);
                        if decorators.iter().any(|name| matches!(*name, "property" | "cached_property")) {
                            let getter = self.property_getter(definition, receiver, depth)?;
                            results.extend(getter);
                        } else if !decorators.iter().any(|name| matches!(*name, "setter" | "deleter")) {
                            results.push(Source::Method { function: definition, receiver });
                        }
                    }
                    Binding::Value(value) => results.extend(self.elements(&model, value, depth + 1)),
                    Binding::Declared(annotation) => {
                        let declared = annotation.inferred_type(&model)?;
                        results.extend(union_elements(self.db, declared).into_iter().map(Source::Value));
                    }
                }
            }
        }
        found.then_some(results)
    }

    /// A property's value: what its getter returns (declared, or its `return`s).
    fn property_getter(
        &mut self,
        getter: Definition<'db>,
        receiver: Option<Type<'db>>,
        depth: u32,
    ) -> Option<Vec<Source<'db>>> {
        let core: &dyn ty_python_core::Db = self.db;
        let DefinitionKind::Function(node) = getter.kind(core) else { return None };
        let module = self.load(getter.python_file(core));
        let function = node.node(&module);
        if function.is_async || function.decorator_list.len() != 1 {
            return None;
        }
        let model = SemanticModel::new(self.db, getter.program_file(core));
        if let Some(returns) = &function.returns {
            return Some(
                union_elements(self.db, returns.inferred_type(&model)?).into_iter().map(Source::Value).collect(),
            );
        }
        let mut visitor = ReturnStatementVisitor::default();
        visitor.visit_body(&function.body);
        if visitor.is_generator || is_placeholder(&function.body) {
            return None;
        }
        let name = first_parameter(function, &[])?.clone();
        Some(self.returned_values(&model, function, &visitor.returns, receiver.map(|ty| (ty, name)), depth))
    }

    /// The union of what `returns` (the `return` statements of `function`, in `model`'s file)
    /// give, with `self` standing for the receiver when one is known.
    fn returned_values(
        &mut self,
        model: &SemanticModel<'db>,
        function: &ast::StmtFunctionDef,
        returns: &[&ast::StmtReturn],
        receiver: Option<(Type<'db>, Name)>,
        depth: u32,
    ) -> Vec<Source<'db>> {
        let file = model.program_file().file(self.db);
        let bound = receiver
            .map(|(ty, name)| self.receivers.push(Receiver { file, function: function.range(), name, ty }))
            .is_some();
        let mut results = Vec::new();
        for ret in returns {
            match &ret.value {
                Some(value) => results.extend(self.elements(model, value, depth + 1)),
                None => results.push(Source::Value(Type::none(self.db, &model.program_environment()))),
            }
        }
        if bound {
            self.receivers.pop();
        }
        results
    }

    /// Whether `value`'s class (as ty knows it) or one it derives from routes every attribute
    /// through a `__getattribute__` of its own: then what ty says an attribute of it is may not
    /// be what runs (azure-core's `LROBasePolling` sends `run` to another base class).
    pub(super) fn intercepts_attributes(&mut self, model: &SemanticModel<'db>, value: &Expr) -> bool {
        let Some(ty) = value.inferred_type(model) else { return false };
        union_elements(self.db, ty)
            .into_iter()
            .any(|element| self.class_of(model, element).is_some_and(|class| self.walk_hierarchy(class).intercepted))
    }

    /// `class` and every class it derives from, ty's names for the bases; `None` when one is
    /// not a class ty knows, or one of them defines `__getattribute__` (every attribute lookup
    /// runs it). A `__getattr__` answers only what the classes do not bind, which
    /// [`Self::member`] leaves unknown anyway.
    fn hierarchy(&mut self, class: Definition<'db>) -> Option<Vec<Definition<'db>>> {
        let hierarchy = self.walk_hierarchy(class);
        (hierarchy.complete && !hierarchy.intercepted).then_some(hierarchy.classes)
    }

    fn walk_hierarchy(&mut self, class: Definition<'db>) -> Hierarchy<'db> {
        let core: &dyn ty_python_core::Db = self.db;
        let mut hierarchy = Hierarchy { classes: vec![class], complete: true, intercepted: false };
        let mut next = 0;
        while let Some(&class) = hierarchy.classes.get(next) {
            next += 1;
            let DefinitionKind::Class(node) = class.kind(core) else {
                hierarchy.complete = false;
                continue;
            };
            let module = self.load(class.python_file(core));
            let node = node.node(&module);
            let is_object = node.name.as_str() == "object" && class.file(core).path(self.db).is_vendored_path();
            hierarchy.intercepted |= !is_object
                && node.body.iter().any(|statement| {
                    matches!(statement, Stmt::FunctionDef(function) if function.name.as_str() == "__getattribute__")
                });
            let model = SemanticModel::new(self.db, class.program_file(core));
            let env = model.program_environment();
            for base in node.bases() {
                match base.inferred_type(&model) {
                    Some(ty @ (Type::ClassLiteral(_) | Type::GenericAlias(_))) => match ty.definition(self.db, &env) {
                        Some(TypeDefinition::StaticClass(base)) => {
                            if !hierarchy.classes.contains(&base) {
                                hierarchy.classes.push(base);
                            }
                        }
                        _ => hierarchy.complete = false,
                    },
                    // `Generic[T]`, `Protocol`: no attributes of instances.
                    Some(Type::SpecialForm(_) | Type::KnownInstance(_)) => {}
                    _ => hierarchy.complete = false,
                }
            }
            if hierarchy.classes.len() > MAX_CLASSES {
                hierarchy.complete = false;
                break;
            }
        }
        hierarchy
    }

    /// The receiver `name` stands for, when it is `self` in a method body being followed.
    fn bound_receiver(&self, model: &SemanticModel<'db>, name: &ast::ExprName) -> Option<Type<'db>> {
        let file = model.program_file().file(self.db);
        self.receivers
            .iter()
            .rev()
            .find(|receiver| {
                receiver.file == file && receiver.name == name.id && receiver.function.contains_range(name.range())
            })
            .map(|receiver| receiver.ty)
    }

    fn load(&mut self, file: PythonFile<'db>) -> ParsedModuleRef {
        if !self.loaded.contains(&file) {
            self.loaded.push(file);
        }
        parsed_module(self.db, file).load(self.db)
    }
}

/// The dunders that make each protocol: see [`Follower::instance_dunders`].
pub(super) const PROTOCOL_DUNDERS: [&str; 5] = ["__aenter__", "__aiter__", "__await__", "__enter__", "__iter__"];

/// What [`Follower::walk_hierarchy`] found.
struct Hierarchy<'db> {
    classes: Vec<Definition<'db>>,
    /// Every base is a class ty names.
    complete: bool,
    /// A class of it defines `__getattribute__`.
    intercepted: bool,
}

/// A binding of an attribute name in a class body or through `self` in its methods.
enum Binding<'a> {
    Function(&'a ast::StmtFunctionDef),
    Value(&'a Expr),
    Declared(&'a Expr),
}

/// Collects the bindings of `name` in a class body (the `def`s and assignments at its level,
/// under `if`/`try` too) and the assignments to `<self>.name` in its methods.
struct Bindings<'a, 'n> {
    name: &'n str,
    /// Inside a method: its first parameter.
    self_name: Option<&'a str>,
    found: Vec<Binding<'a>>,
    /// A binding we do not read (an unpacking, an augmented assignment, a loop target).
    unsupported: bool,
}

impl Bindings<'_, '_> {
    fn is_target(&self, target: &Expr) -> bool {
        match (self.self_name, target) {
            (None, Expr::Name(name)) => name.id.as_str() == self.name,
            (Some(self_name), Expr::Attribute(attribute)) => {
                attribute.attr.as_str() == self.name
                    && matches!(&*attribute.value, Expr::Name(name) if name.id.as_str() == self_name)
            }
            _ => false,
        }
    }

    fn mentions(&self, target: &Expr) -> bool {
        match target {
            Expr::Tuple(tuple) => tuple.elts.iter().any(|element| self.mentions(element)),
            Expr::List(list) => list.elts.iter().any(|element| self.mentions(element)),
            Expr::Starred(starred) => self.mentions(&starred.value),
            other => self.is_target(other),
        }
    }
}

impl<'a> StatementVisitor<'a> for Bindings<'a, '_> {
    fn visit_stmt(&mut self, statement: &'a Stmt) {
        match statement {
            Stmt::FunctionDef(function) if self.self_name.is_none() => {
                if function.name.as_str() == self.name {
                    self.found.push(Binding::Function(function));
                }
                let decorators: Vec<&str> =
                    function.decorator_list.iter().filter_map(|d| decorator_name(&d.expression)).collect();
                if let Some(first) = first_parameter(function, &decorators) {
                    self.self_name = Some(first.as_str());
                    self.visit_body(&function.body);
                    self.self_name = None;
                }
            }
            // A nested class has attributes of its own.
            Stmt::ClassDef(_) => {}
            Stmt::Assign(assign) => {
                if let [target] = assign.targets.as_slice() {
                    if self.is_target(target) {
                        self.found.push(Binding::Value(&assign.value));
                        return;
                    }
                }
                if assign.targets.iter().any(|target| self.mentions(target)) {
                    self.unsupported = true;
                }
            }
            Stmt::AnnAssign(assign) if self.is_target(&assign.target) => {
                self.found.push(Binding::Declared(&assign.annotation));
            }
            Stmt::AugAssign(assign) if self.is_target(&assign.target) => self.unsupported = true,
            Stmt::For(each) if self.mentions(&each.target) => self.unsupported = true,
            Stmt::With(with)
                if with
                    .items
                    .iter()
                    .any(|item| item.optional_vars.as_deref().is_some_and(|var| self.mentions(var))) =>
            {
                self.unsupported = true;
            }
            _ => walk_stmt(self, statement),
        }
    }
}

fn union_elements<'db>(db: &'db dyn Db, ty: Type<'db>) -> Vec<Type<'db>> {
    match ty {
        Type::Union(union) => union.elements(db).to_vec(),
        other => vec![other],
    }
}

/// The last name of a decorator (`property`, `functools.cached_property` → `cached_property`,
/// `name.setter` → `setter`, `lru_cache(1)` → none).
fn decorator_name(expression: &Expr) -> Option<&str> {
    match expression {
        Expr::Name(name) => Some(name.id.as_str()),
        Expr::Attribute(attribute) => Some(attribute.attr.as_str()),
        _ => None,
    }
}

/// A method's first parameter (`self`), when it binds the instance.
fn first_parameter<'a>(function: &'a ast::StmtFunctionDef, decorators: &[&str]) -> Option<&'a Name> {
    if decorators.iter().any(|name| matches!(*name, "staticmethod" | "classmethod")) {
        return None;
    }
    let parameters = &function.parameters;
    parameters.posonlyargs.first().or_else(|| parameters.args.first()).map(|parameter| &parameter.parameter.name.id)
}

/// `-> Self`, `-> typing.Self`, `-> "Self"`.
fn is_self_annotation(annotation: &Expr) -> bool {
    match annotation {
        Expr::Name(name) => name.id.as_str() == "Self",
        Expr::Attribute(attribute) => attribute.attr.as_str() == "Self",
        Expr::StringLiteral(string) => string.value.to_str() == "Self",
        _ => false,
    }
}

/// The class whose method binds `name` as its first parameter, when `name` is used in that
/// method (or a function nested in it).
fn enclosing_self<'db>(model: &SemanticModel<'db>, name: &ast::ExprName) -> Option<Definition<'db>> {
    struct Finder<'a> {
        target: TextRange,
        name: &'a str,
        found: Option<&'a ast::StmtClassDef>,
    }
    impl<'a> StatementVisitor<'a> for Finder<'a> {
        fn visit_stmt(&mut self, statement: &'a Stmt) {
            if !statement.range().contains_range(self.target) {
                return;
            }
            if let Stmt::ClassDef(class) = statement {
                let mut methods = Methods { target: self.target, method: None };
                methods.visit_body(&class.body);
                let binds = methods.method.is_some_and(|function| {
                    let decorators: Vec<&str> =
                        function.decorator_list.iter().filter_map(|d| decorator_name(&d.expression)).collect();
                    first_parameter(function, &decorators).is_some_and(|first| first.as_str() == self.name)
                });
                self.found = binds.then_some(class).or(self.found);
            }
            walk_stmt(self, statement);
        }
    }
    /// The method of a class body (at its level, under `if`/`try` too) holding the target.
    struct Methods<'a> {
        target: TextRange,
        method: Option<&'a ast::StmtFunctionDef>,
    }
    impl<'a> StatementVisitor<'a> for Methods<'a> {
        fn visit_stmt(&mut self, statement: &'a Stmt) {
            match statement {
                Stmt::FunctionDef(function) => {
                    if function.range().contains_range(self.target) {
                        self.method = Some(function);
                    }
                }
                Stmt::ClassDef(_) => {}
                _ => walk_stmt(self, statement),
            }
        }
    }
    let module = parsed_module(model.db(), model.python_file()).load(model.db());
    let mut finder = Finder { target: name.range(), name: name.id.as_str(), found: None };
    finder.visit_body(&module.syntax().body);
    // Only the innermost class counts: a class nested in the method has a `self` of its own,
    // and the finder keeps the last (innermost) class whose method holds the target.
    Some(finder.found?.definition(model))
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
