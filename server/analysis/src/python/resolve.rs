//! Name resolution over facts: what does an expression at a use site refer to, and what does
//! that value provide?
//!
//! Resolution follows local and enclosing scopes, module globals, imports across the workspace
//! (absolute, relative, `import a.b as m` + `m.f`), and attributes of `self` assigned anywhere in
//! the class. Whenever a step is not known for certain (a parameter, an unresolved import, an
//! unknown decorator, sources that disagree), the value is [`Value::Unknown`], and unknown
//! values never produce findings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::protocol::{Capability, CapabilitySet, Provided, ValueKind};
use crate::python::facts::{
    Binding, ClassId, ExprId, FunctionId, HandsBack, Mention, ParameterSlot, ScopeFact, ScopeId, ScopeKind, Shape,
    MODULE_SCOPE,
};
use crate::python::library::{self, Known, Versions};
use crate::workspace::{IndexedModule, Lookup, ModuleIndex};

/// Where a made value comes from, for messages and related locations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub path: PathBuf,
    pub range: std::ops::Range<usize>,
    pub line: u32,
    /// `async def get_session`, `class Stream`, …
    pub description: String,
    /// The bare name of the definition.
    pub name: String,
}

/// What an expression evaluates to, as far as we know.
#[derive(Clone, Debug)]
pub enum Value {
    Function(Arc<IndexedModule>, FunctionId),
    Class(Arc<IndexedModule>, ClassId),
    /// An instance of a workspace class. `exact` when made by calling the class (its protocol
    /// dunders are exactly the class's); `self` or an annotated parameter may be a subclass.
    Instance {
        module: Arc<IndexedModule>,
        class: ClassId,
        exact: bool,
    },
    Module(Arc<IndexedModule>),
    /// A namespace package of the workspace (a folder of modules without `__init__.py`).
    Namespace(String),
    /// A dotted name outside the workspace: `contextlib.asynccontextmanager`, `builtins.open`.
    External(String),
    /// An object made by a call, with what it provides.
    Made(Provided, Option<Arc<Origin>>),
    /// A callable whose call makes an object providing this (`asynccontextmanager(f)`,
    /// `functools.partial(f)`, a parameter annotated `Callable[..., R]`).
    Factory(Provided, Option<Arc<Origin>>),
    /// Several sources that do not obviously agree (conditional definitions, reassignments).
    Alternatives(Vec<Value>),
    /// `None`: skipped by `a or b`; anywhere else it is one more disagreeing source.
    NoneValue,
    /// A container display: any element may come out of it.
    Collection(Vec<Value>),
    /// An object made by a library API of the built-in knowledge table.
    Library(library::Object, Provided, Option<Arc<Origin>>),
    Unknown,
}

impl Value {
    fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Function(module_a, a), Value::Function(module_b, b))
            | (Value::Class(module_a, a), Value::Class(module_b, b)) => a == b && module_a.path == module_b.path,
            (
                Value::Instance { module: module_a, class: a, exact: exact_a },
                Value::Instance { module: module_b, class: b, exact: exact_b },
            ) => a == b && exact_a == exact_b && module_a.path == module_b.path,
            (Value::Module(a), Value::Module(b)) => a.path == b.path,
            (Value::External(a), Value::External(b)) | (Value::Namespace(a), Value::Namespace(b)) => a == b,
            (Value::NoneValue, Value::NoneValue) => true,
            (Value::Made(a, _), Value::Made(b, _)) | (Value::Factory(a, _), Value::Factory(b, _)) => {
                a == b && *a != Provided::Unknown
            }
            (Value::Library(a, _, _), Value::Library(b, _, _)) => a == b,
            _ => false,
        }
    }

    /// What this value provides when driven through a protocol. Only made objects are known
    /// (exact instances are turned into made objects by [`Resolver::settle`]); several
    /// alternatives are known only when they all agree. A `None` placeholder among them
    /// (`self.session = None` until `connect()` sets it) is left out: using `None` fails on any
    /// protocol, and reporting that is the noise of `Optional`, so the other sources decide.
    pub fn provided(&self) -> (Provided, Option<Arc<Origin>>) {
        match self {
            Value::Made(provided, origin) | Value::Library(_, provided, origin) => (*provided, origin.clone()),
            Value::Alternatives(values) => {
                let mut result: Option<(Provided, Option<Arc<Origin>>)> = None;
                for value in values.iter().filter(|value| !matches!(value, Value::NoneValue)) {
                    let (provided, origin) = value.provided();
                    if provided == Provided::Unknown {
                        return (Provided::Unknown, None);
                    }
                    match &result {
                        Some((first, _)) if *first != provided => return (Provided::Unknown, None),
                        Some(_) => {}
                        None => result = Some((provided, origin)),
                    }
                }
                result.unwrap_or((Provided::Unknown, None))
            }
            _ => (Provided::Unknown, None),
        }
    }
}

/// The elements of a container display, or of several displays that reach one place.
fn collection_elements(value: Value) -> Option<Vec<Value>> {
    match value {
        Value::Collection(elements) => Some(elements),
        Value::Alternatives(alternatives) => {
            let mut all = Vec::new();
            for alternative in alternatives {
                all.extend(collection_elements(alternative)?);
            }
            Some(all)
        }
        _ => None,
    }
}

/// Builds one value from several sources.
fn combine(values: Vec<Value>) -> Value {
    if values.iter().any(|value| matches!(value, Value::Unknown)) || values.is_empty() {
        return Value::Unknown;
    }
    if values.len() == 1 || values.iter().all(|value| value.same(&values[0])) {
        return values.into_iter().next().unwrap_or(Value::Unknown);
    }
    Value::Alternatives(values)
}

/// Resolution steps allowed per use site; protects against reference cycles (`a = b; b = a`).
const BUDGET: u32 = 256;

pub struct Resolver<'a> {
    index: &'a dyn ModuleIndex,
    budget: u32,
    /// Module-level lookups already answered (and star imports already searched), by module
    /// and name: modules with many `from x import *` (asyncio's `__init__`) would otherwise be
    /// searched again for every name.
    memo: rustc_hash::FxHashMap<(usize, bool, Box<str>), Option<Value>>,
    /// Keeps the memoised modules alive, so their addresses stay unique while memoised.
    memo_modules: Vec<Arc<IndexedModule>>,
    /// How modules spell library objects at top level (see [`Resolver::spelling`]).
    spellings: rustc_hash::FxHashMap<(usize, &'static str), Option<String>>,
}

impl<'a> Resolver<'a> {
    pub fn new(index: &'a dyn ModuleIndex) -> Resolver<'a> {
        Resolver {
            index,
            budget: BUDGET,
            memo: rustc_hash::FxHashMap::default(),
            memo_modules: Vec::new(),
            spellings: rustc_hash::FxHashMap::default(),
        }
    }

    pub fn index(&self) -> &'a dyn ModuleIndex {
        self.index
    }

    /// How `module` spells the library object `what` (for fixes that name it), computed once per
    /// module for this resolver: a module with many findings asks once per finding.
    pub fn spelling(
        &mut self,
        module: &Arc<IndexedModule>,
        what: &'static str,
        compute: impl FnOnce(&mut Self) -> Option<String>,
    ) -> Option<String> {
        let key = (Arc::as_ptr(module) as usize, what);
        if let Some(known) = self.spellings.get(&key) {
            return known.clone();
        }
        let found = compute(self);
        self.memo_modules.push(Arc::clone(module));
        self.spellings.insert(key, found.clone());
        found
    }

    /// Evaluates `expr` as written in `scope` of `module`. Resets the step budget.
    pub fn evaluate(&mut self, module: &Arc<IndexedModule>, scope: ScopeId, expr: ExprId) -> Value {
        self.budget = BUDGET;
        self.eval(module, scope, expr)
    }

    /// What `name` refers to as seen from `scope` of `module`. Resets the step budget.
    pub fn evaluate_name(&mut self, module: &Arc<IndexedModule>, scope: ScopeId, name: &str) -> Value {
        self.budget = BUDGET;
        self.lookup_name(module, scope, name)
    }

    /// What a dotted name written as a string refers to (`patch("app.db.get_session")`): the
    /// longest prefix that is a module of the index, then attributes. Resets the step budget.
    pub fn qualified(&mut self, dotted: &str) -> Value {
        self.budget = BUDGET;
        let parts: Vec<&str> = dotted.split('.').collect();
        if parts.iter().any(|part| part.is_empty()) {
            return Value::Unknown;
        }
        for split in (1..=parts.len()).rev() {
            let mut value = match self.index.lookup(&parts[..split].join(".")) {
                Lookup::Found(module) => Value::Module(module),
                Lookup::Namespace => Value::Namespace(parts[..split].join(".")),
                Lookup::Ambiguous => return Value::Unknown,
                Lookup::Missing => continue,
            };
            for attribute in &parts[split..] {
                value = self.attribute(&value, attribute);
            }
            return value;
        }
        Value::External(dotted.to_owned())
    }

    /// The attribute `name` of an already evaluated value (`patch.object(db, "get_session")`).
    /// Resets the step budget.
    pub fn attribute_of(&mut self, base: &Value, name: &str) -> Value {
        self.budget = BUDGET;
        self.attribute(base, name)
    }

    fn spend(&mut self) -> bool {
        if self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        true
    }

    fn eval(&mut self, module: &Arc<IndexedModule>, scope: ScopeId, expr: ExprId) -> Value {
        if !self.spend() {
            return Value::Unknown;
        }
        let exprs = &module.facts.exprs;
        match exprs.get(expr) {
            Shape::Name(name) => self.lookup_name(module, scope, name),
            Shape::Attribute(base, attribute) => {
                let base_value = self.eval(module, scope, base);
                let value = self.attribute(&base_value, attribute);
                match (&value, exprs.get(base)) {
                    // `request.app.state.session_factory`: the object holding `state` is a
                    // framework's; what was stored there is what every assignment stored.
                    (Value::Unknown, Shape::Attribute(_, "state")) if matches!(base_value, Value::Unknown) => {
                        self.application_state(attribute)
                    }
                    _ => value,
                }
            }
            // `options.get("factory", get_session)` on a dict display: any value, or the default.
            Shape::Call(callee, &[_, default])
                if !matches!(exprs.get(default), Shape::Keyword(..))
                    && matches!(exprs.get(callee), Shape::Attribute(_, "get")) =>
            {
                let Shape::Attribute(container, _) = exprs.get(callee) else { return Value::Unknown };
                let container = self.eval(module, scope, container);
                match collection_elements(container) {
                    Some(mut elements) => {
                        elements.push(self.eval(module, scope, default));
                        combine(elements)
                    }
                    None => Value::Unknown,
                }
            }
            Shape::Call(callee, arguments) => {
                let callee = self.eval(module, scope, callee);
                if let Value::External(name) = &callee {
                    if let Some(value) = self.call_wrapper(module, scope, name, arguments) {
                        return value;
                    }
                    if let Some(value) = self.sessionmaker_call(module, scope, name, arguments) {
                        return value;
                    }
                }
                self.call(&callee)
            }
            Shape::Or(values) => {
                // `a or b` is `b` whenever `a` is None: drop the None sources of every operand but
                // the last.
                let mut kept = Vec::new();
                for (idx, value) in values.iter().enumerate() {
                    let value = self.eval(module, scope, *value);
                    let is_last = idx + 1 == values.len();
                    match value {
                        Value::NoneValue if !is_last => {}
                        Value::Alternatives(alternatives) if !is_last => {
                            kept.extend(alternatives.into_iter().filter(|value| !matches!(value, Value::NoneValue)));
                        }
                        value => kept.push(value),
                    }
                }
                combine(kept)
            }
            Shape::NoneLiteral => Value::NoneValue,
            Shape::Collection(elements) => {
                Value::Collection(elements.iter().map(|element| self.eval(module, scope, *element)).collect())
            }
            // `FACTORIES[name]`: whichever key, one of the elements.
            Shape::Subscript(base, _) => {
                let base = self.eval(module, scope, base);
                match collection_elements(base) {
                    Some(elements) if !elements.is_empty() => combine(elements),
                    _ => Value::Unknown,
                }
            }
            Shape::Await(awaited) => {
                let awaited = self.eval(module, scope, awaited);
                self.library_follow(&awaited, |object| object.awaits_to)
            }
            Shape::Element(made, index) => {
                // Only tuples the library table describes: `anyio.create_memory_object_stream()`
                // (also written `create_memory_object_stream[int]()`).
                let Shape::Call(callee, _) = exprs.get(made) else { return Value::Unknown };
                let callee = exprs.unsubscripted(callee);
                let Value::External(name) = self.eval(module, scope, callee) else { return Value::Unknown };
                let versions = IndexVersions(self.index);
                match library::tuple_elements(&name, &versions).and_then(|classes| classes.get(index as usize)) {
                    Some(class) => self.library_instance(class),
                    None => Value::Unknown,
                }
            }
            Shape::Entered(entered) => {
                let entered = self.eval(module, scope, entered);
                self.library_follow(&entered, |object| object.enters)
            }
            Shape::AsyncGenerator => Value::Made(
                Provided::known(ValueKind::AsyncGenerator, CapabilitySet::of(&[Capability::AsyncIter])),
                None,
            ),
            Shape::Union(_) | Shape::Keyword(..) | Shape::Other => Value::Unknown,
        }
    }

    /// The instance a library object leads to (what awaiting or entering it gives), when the
    /// table says which class that is.
    fn library_follow(&mut self, value: &Value, next: fn(&library::Object) -> Option<&'static str>) -> Value {
        match value {
            Value::Library(object, _, _) => match next(object) {
                Some(class) => self.library_instance(class),
                None => Value::Unknown,
            },
            Value::Alternatives(values) => {
                let values = values.iter().map(|value| self.library_follow(value, next)).collect();
                combine(values)
            }
            _ => Value::Unknown,
        }
    }

    /// An instance of a library class of the table.
    fn library_instance(&mut self, class: &'static str) -> Value {
        match library::instance(class, &IndexVersions(self.index)) {
            Some(object) => self.library_value(object, class),
            None => Value::Unknown,
        }
    }

    /// An object of the table, with what it provides for the versions at hand; `api` names
    /// what made it, for messages.
    fn library_value(&self, object: library::Object, api: &str) -> Value {
        let provided = object.provided(&IndexVersions(self.index));
        Value::Library(object, provided, Some(library_origin(api)))
    }

    /// An instance of a class the table lists but whose own protocol depends on a version we do
    /// not know: its methods are known, its protocol is not. Unknown for any other name.
    fn library_class_only(name: &str) -> Value {
        match library::class_only(name) {
            Some(object) => Value::Library(object, Provided::Unknown, Some(library_origin(name))),
            None => Value::Unknown,
        }
    }

    /// `sessionmaker(...)`: the keyword `class_` decides what the maker makes (the default is a
    /// sync `Session`). `None` for any other callee; [`Resolver::call`] asks the table for those.
    fn sessionmaker_call(
        &mut self,
        module: &Arc<IndexedModule>,
        scope: ScopeId,
        name: &str,
        arguments: &[ExprId],
    ) -> Option<Value> {
        if !matches!(name, "sqlalchemy.orm.sessionmaker" | "sqlalchemy.orm.session.sessionmaker") {
            return None;
        }
        let exprs = &module.facts.exprs;
        let positional =
            arguments.iter().filter(|argument| !matches!(exprs.get(**argument), Shape::Keyword(..))).count();
        let mut class = None;
        for argument in arguments {
            match exprs.get(*argument) {
                Shape::Keyword("class_", value) => {
                    class = Some(self.eval(module, scope, value));
                }
                Shape::Keyword(..) => return Some(Value::Unknown),
                _ => {}
            }
        }
        if positional > 1 {
            return Some(Value::Unknown);
        }
        let maker = match class {
            None => "sqlalchemy.orm.sessionmaker",
            Some(Value::External(class))
                if matches!(
                    library::instance(&class, &IndexVersions(self.index)).and_then(|object| object.class),
                    Some("sqlalchemy.ext.asyncio.AsyncSession")
                ) =>
            {
                "sqlalchemy.orm.sessionmaker[AsyncSession]"
            }
            Some(_) => return Some(Value::Unknown),
        };
        Some(self.library_instance(maker))
    }

    /// Library callables that wrap a function argument: `asynccontextmanager(f)`,
    /// `functools.partial(f, …)`. `None` when `name` is not one of them.
    fn call_wrapper(
        &mut self,
        module: &Arc<IndexedModule>,
        scope: ScopeId,
        name: &str,
        arguments: &[ExprId],
    ) -> Option<Value> {
        let wrapped = match name {
            "contextlib.asynccontextmanager"
            | "contextlib.contextmanager"
            | "functools.partial"
            | "builtins.staticmethod"
            | "builtins.classmethod" => *arguments.first()?,
            _ => return None,
        };
        let wrapped = self.eval(module, scope, wrapped);
        if matches!(name, "builtins.staticmethod" | "builtins.classmethod") {
            // `factory = staticmethod(get_session)`: the same callable, bound differently.
            return Some(wrapped);
        }
        let Some((made, origin)) = self.call_result(&wrapped) else { return Some(Value::Unknown) };
        let value = match name {
            "contextlib.asynccontextmanager" => Value::Factory(async_cm_made(), origin),
            "contextlib.contextmanager" => Value::Factory(sync_cm_made(), origin),
            _ => Value::Factory(made, origin),
        };
        Some(value)
    }

    /// What calling a callable value makes, when known: the protocol and where it comes from.
    pub fn call_result(&mut self, callee: &Value) -> Option<(Provided, Option<Arc<Origin>>)> {
        let made = self.call(callee);
        let made = self.settle(made);
        let (provided, origin) = made.provided();
        (provided != Provided::Unknown).then_some((provided, origin))
    }

    /// Turns exact instances into made objects (their protocol is their class's dunders).
    pub fn settle(&mut self, value: Value) -> Value {
        match value {
            Value::Instance { module, class, exact: true } => self.instance_provided(&module, class),
            Value::Alternatives(values) => {
                let values = values.into_iter().map(|value| self.settle(value)).collect();
                combine(values)
            }
            other => other,
        }
    }

    /// Evaluates a type annotation to the value it declares: protocol ABCs from `typing`,
    /// `collections.abc` and `contextlib`, `Callable[..., R]`, `Optional`/`| None`, workspace
    /// classes (as possibly-subclassed instances).
    pub fn annotation(&mut self, module: &Arc<IndexedModule>, scope: ScopeId, expr: ExprId) -> Value {
        if !self.spend() {
            return Value::Unknown;
        }
        match module.facts.exprs.get(expr) {
            Shape::Name(_) | Shape::Attribute(..) => match self.eval(module, scope, expr) {
                Value::External(name) => match declared_protocol(&name) {
                    Some(provided) => Value::Made(provided, None),
                    None => self.annotated_library_class(&name),
                },
                Value::Class(class_module, class) => Value::Instance { module: class_module, class, exact: false },
                _ => Value::Unknown,
            },
            Shape::Subscript(head, arguments) => {
                let Value::External(name) = self.eval(module, scope, head) else { return Value::Unknown };
                let short = strip_typing_module(&name);
                match short {
                    Some("Optional" | "Annotated") => match arguments.first() {
                        Some(inner) => self.annotation(module, scope, *inner),
                        None => Value::Unknown,
                    },
                    Some("Union") => self.union_annotation(module, scope, arguments),
                    Some("Callable") => {
                        let Some(returns) = arguments.last() else { return Value::Unknown };
                        match self.annotation(module, scope, *returns) {
                            Value::Made(provided, origin) => Value::Factory(provided, origin),
                            _ => Value::Unknown,
                        }
                    }
                    _ => declared_protocol(&name).map_or(Value::Unknown, |provided| Value::Made(provided, None)),
                }
            }
            Shape::Union(members) => self.union_annotation(module, scope, members),
            _ => Value::Unknown,
        }
    }

    /// A parameter annotated with a library class of the table (`session: AsyncSession`).
    fn annotated_library_class(&mut self, name: &str) -> Value {
        match library::instance(name, &IndexVersions(self.index)) {
            Some(object) => self.library_value(object, object.class.unwrap_or(name)),
            None => Self::library_class_only(name),
        }
    }

    fn union_annotation(&mut self, module: &Arc<IndexedModule>, scope: ScopeId, members: &[ExprId]) -> Value {
        let exprs = &module.facts.exprs;
        let values: Vec<Value> = members
            .iter()
            .filter(|member| !matches!(exprs.get(**member), Shape::NoneLiteral | Shape::Name("None")))
            .map(|member| self.annotation(module, scope, *member))
            .collect();
        combine(values)
    }

    fn lookup_name(&mut self, module: &Arc<IndexedModule>, scope: ScopeId, name: &str) -> Value {
        if module.facts.scope(scope).is_none() {
            return Value::Unknown;
        }
        // `global name` in the scope sends the name to the module's own binding.
        let scope = if module.facts.is_global(scope, name) { MODULE_SCOPE } else { scope };
        if let Some((holder, bindings)) = module.facts.visible_bindings(scope, name) {
            return self.bindings_value(module, holder, name, bindings);
        }
        match self.star_imported(module, name) {
            Some(value) => value,
            None => Value::External(format!("builtins.{name}")),
        }
    }

    /// A name not bound in the module may come from a star import. `None` when no star import
    /// can provide it; `Some(Unknown)` when one might but we cannot see into it.
    fn star_imported(&mut self, module: &Arc<IndexedModule>, name: &str) -> Option<Value> {
        if module.facts.star_imports.is_empty() {
            return None;
        }
        self.memoised(module, name, true, |resolver| resolver.star_imported_uncached(module, name))
    }

    fn star_imported_uncached(&mut self, module: &Arc<IndexedModule>, name: &str) -> Option<Value> {
        let star_imports = module.facts.star_imports.clone();
        for (star_module, level) in &star_imports {
            let Some(target) = absolute_module(module, star_module, *level, self.index) else {
                return Some(Value::Unknown);
            };
            match self.index.lookup(&target) {
                Lookup::Found(target_module) => {
                    if let Some(value) = self.top_level(&target_module, name) {
                        return Some(value);
                    }
                }
                Lookup::Ambiguous | Lookup::Missing | Lookup::Namespace => return Some(Value::Unknown),
            }
        }
        None
    }

    /// What a name bound by `bindings` (in `scope`) holds: all of them must agree.
    fn bindings_value(
        &mut self,
        module: &Arc<IndexedModule>,
        scope: ScopeId,
        name: &str,
        bindings: &[Binding],
    ) -> Value {
        // Most names are bound once: no vector for those.
        if let [binding] = bindings {
            return self.binding_value(module, scope, name, binding);
        }
        // `@overload` signatures followed by the implementation: the name holds the last one.
        if let [overloads @ .., implementation @ Binding::Function(_)] = bindings {
            let is_overload = |binding: &Binding| {
                let Binding::Function(id) = binding else { return false };
                let exprs = &module.facts.exprs;
                module.facts.function(*id).is_some_and(|function| {
                    exprs.list(function.decorators).iter().any(|decorator| {
                        matches!(exprs.get(*decorator), Shape::Name("overload") | Shape::Attribute(_, "overload"))
                    })
                })
            };
            if overloads.iter().all(is_overload) && !is_overload(implementation) {
                return self.binding_value(module, scope, name, implementation);
            }
        }
        // `try: import httpx2 as httpx` / `except ImportError: import httpx`: an import that
        // fails in this environment binds nothing, and the handler's binding is the value.
        // Each import is looked up on disk once, and only names with a guarded import pay for it.
        let fallible = |binding: &Binding| {
            matches!(binding, Binding::ImportModule(import) if import.fallible)
                || matches!(binding, Binding::ImportFrom(import) if import.fallible)
        };
        if bindings.iter().any(fallible) {
            let running: Vec<Binding> =
                bindings.iter().filter(|binding| !self.import_fails(module, binding)).copied().collect();
            if !running.is_empty() && running.len() < bindings.len() {
                return self.bindings_value(module, scope, name, &running);
            }
        }
        combine(bindings.iter().map(|binding| self.binding_value(module, scope, name, binding)).collect())
    }

    /// Whether `binding` is an import guarded by an `except ImportError` that surely fails
    /// where the workspace runs.
    fn import_fails(&self, module: &IndexedModule, binding: &Binding) -> bool {
        let imported = match binding {
            Binding::ImportModule(import) if import.fallible => import.module,
            Binding::ImportFrom(import) if import.fallible => import.module,
            _ => return false,
        };
        let name = module.facts.exprs.text(imported);
        !present_beside(module, name) && self.index.import_fails(name)
    }

    /// A module's top-level binding of `name`, or `None` when the module does not bind it.
    fn top_level(&mut self, module: &Arc<IndexedModule>, name: &str) -> Option<Value> {
        self.memoised(module, name, false, |resolver| {
            if let Some(bindings) = module.facts.bindings(MODULE_SCOPE).get(name) {
                return Some(resolver.bindings_value(module, MODULE_SCOPE, name, bindings));
            }
            resolver.star_imported_uncached(module, name)
        })
    }

    /// Runs `compute` once per (module, name, kind) for this resolver. While it runs, a
    /// re-entrant lookup (an import cycle) sees "unknown"; a result cut short by the step
    /// budget is not remembered.
    fn memoised(
        &mut self,
        module: &Arc<IndexedModule>,
        name: &str,
        star_only: bool,
        compute: impl FnOnce(&mut Self) -> Option<Value>,
    ) -> Option<Value> {
        if !self.spend() {
            return Some(Value::Unknown);
        }
        let key = (Arc::as_ptr(module) as usize, star_only, Box::<str>::from(name));
        if let Some(known) = self.memo.get(&key) {
            return known.clone();
        }
        self.memo.insert(key.clone(), Some(Value::Unknown));
        let result = compute(self);
        if self.budget == 0 {
            self.memo.remove(&key);
        } else {
            self.memo_modules.push(Arc::clone(module));
            self.memo.insert(key, result.clone());
        }
        result
    }

    /// What `binding` of `name` in `scope` holds.
    fn binding_value(&mut self, module: &Arc<IndexedModule>, scope: ScopeId, name: &str, binding: &Binding) -> Value {
        match binding {
            Binding::Function(id) => Value::Function(Arc::clone(module), *id),
            Binding::Class(id) => Value::Class(Arc::clone(module), *id),
            Binding::SelfParameter(class_id) => {
                Value::Instance { module: Arc::clone(module), class: *class_id, exact: false }
            }
            Binding::ImportModule(imported) => self.module_value(module.facts.exprs.text(imported.module)),
            Binding::ImportFrom(import) => {
                let exprs = &module.facts.exprs;
                let Some(target) =
                    absolute_module(module, exprs.text(import.module), u32::from(import.level), self.index)
                else {
                    return Value::Unknown;
                };
                self.import_from(&target, exprs.text(import.name))
            }
            Binding::Value(expr) => self.eval(module, scope, *expr),
            Binding::ValueIn(expr, assigning) => self.eval(module, *assigning, *expr),
            Binding::Parameter(parameter) => match (parameter.annotation, parameter.slot()) {
                (Some(annotation), _) => {
                    // Annotations are evaluated where the `def` is, not among its own locals.
                    let outer = module.facts.scope(scope).and_then(ScopeFact::parent).unwrap_or(MODULE_SCOPE);
                    self.annotation(module, outer, annotation)
                }
                (None, Some(slot)) => {
                    let is_constructor = module
                        .facts
                        .function(slot.function)
                        .is_some_and(|function| module.facts.exprs.text(function.name) == "__init__");
                    if is_constructor {
                        self.constructor_argument(module, name, &slot)
                    } else if Self::is_pytest_injected(module, &slot) {
                        self.injected_fixture(module, name, &slot)
                    } else {
                        self.call_site_argument(module, name, &slot)
                    }
                }
                (None, None) => Value::Unknown,
            },
            Binding::Opaque => Value::Unknown,
        }
    }

    /// An untyped parameter of a class's `__init__`: the union of what every call of the class
    /// in the workspace passes (or the default, where a call leaves it out). Unknown when the
    /// class has workspace subclasses (their `super().__init__` calls pass values too), when a
    /// call unpacks `*args`/`**kwargs`, or when no call is visible at all.
    fn constructor_argument(&mut self, module: &Arc<IndexedModule>, name: &str, slot: &ParameterSlot) -> Value {
        let facts = &module.facts;
        let Some(function) = facts.function(slot.function) else { return Value::Unknown };
        if facts.exprs.text(function.name) != "__init__" {
            return Value::Unknown;
        }
        let Some(ScopeKind::Class(class_id)) = facts.scope(function.parent_scope).map(|scope| scope.kind) else {
            return Value::Unknown;
        };
        let argument = ConstructorArgument {
            name: name.into(),
            // Position 0 is `self`; the call's first argument lands on position 1.
            call_index: slot.position.and_then(|position| position.checked_sub(1)),
            by_keyword: slot.by_keyword,
            default: slot.default.map(|default| (default, function.parent_scope)),
        };
        self.construction_sources(module, class_id, &argument)
    }

    /// Whether pytest fills the parameters of the slot's function: a test or a fixture in a
    /// test file (`conftest.py`, `test_*.py`, `*_test.py`).
    fn is_pytest_injected(module: &IndexedModule, slot: &ParameterSlot) -> bool {
        let Some(function) = module.facts.function(slot.function) else { return false };
        let file_name = module.path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        let in_test_file =
            file_name == "conftest.py" || file_name.starts_with("test_") || file_name.ends_with("_test.py");
        let is_test = module.facts.exprs.text(function.name).starts_with("test") && function.fixture_name.is_none();
        in_test_file && (is_test || function.fixture_name.is_some())
    }

    /// An untyped parameter of a plain module-level function (no decorator, not a method):
    /// the union of what every call of it in the workspace passes, or the default where a
    /// call leaves it out (`def configure(driver)` … `configure(stream_rows)`). Unknown when
    /// the function is handed on as a value, when a call unpacks, when a call's callee may or
    /// may not be it, and when no call is visible.
    fn call_site_argument(&mut self, module: &Arc<IndexedModule>, name: &str, slot: &ParameterSlot) -> Value {
        let facts = &module.facts;
        let Some(function) = facts.function(slot.function) else { return Value::Unknown };
        if function.parent_scope != MODULE_SCOPE || !function.decorators.is_empty() {
            return Value::Unknown;
        }
        let function_name: Box<str> = facts.exprs.text(function.name).into();
        let argument = ConstructorArgument {
            name: name.into(),
            call_index: slot.position,
            by_keyword: slot.by_keyword,
            default: slot.default.map(|default| (default, function.parent_scope)),
        };
        let function_id = slot.function;
        let is_this_function = |value: &Value| matches!(value, Value::Function(found, id) if *id == function_id && found.path == module.path);
        self.passed_at_calls(module, &function_name, &is_this_function, &argument, Callee::Function)
    }

    /// A parameter of a pytest test or fixture: the value of the fixture of that name, from the
    /// nearest definition (the test's class, its module, then `conftest.py` files up the tree).
    /// Unknown when the test is parametrized, has other decorators, or no fixture is visible
    /// (it may come from a plugin).
    fn injected_fixture(&mut self, module: &Arc<IndexedModule>, name: &str, slot: &ParameterSlot) -> Value {
        let Some(function) = module.facts.function(slot.function) else { return Value::Unknown };
        let file_name = module.path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        let in_test_file =
            file_name == "conftest.py" || file_name.starts_with("test_") || file_name.ends_with("_test.py");
        let is_test = module.facts.exprs.text(function.name).starts_with("test") && function.fixture_name.is_none();
        if !in_test_file || !(is_test || function.fixture_name.is_some()) {
            return Value::Unknown;
        }
        for decorator in module.facts.exprs.list(function.decorators) {
            let head = module.facts.exprs.uncalled(*decorator);
            match self.eval(module, function.parent_scope, head) {
                Value::External(name) if name == "pytest.fixture" || name == "pytest_asyncio.fixture" => {}
                Value::External(name) if name.starts_with("pytest.mark.") && name != "pytest.mark.parametrize" => {}
                _ => return Value::Unknown,
            }
        }
        // Nearest first: the enclosing class (for test methods), the module, then conftests.
        let mut places: Vec<(Arc<IndexedModule>, ScopeId)> = Vec::new();
        if function.parent_scope != MODULE_SCOPE {
            places.push((Arc::clone(module), function.parent_scope));
        }
        places.push((Arc::clone(module), MODULE_SCOPE));
        let mut directory = module.path.parent();
        for _ in 0..32 {
            let Some(dir) = directory else { break };
            let conftest = dir.join("conftest.py");
            if conftest != module.path {
                if let Some(found) = self.index.at_path(&conftest) {
                    places.push((found, MODULE_SCOPE));
                }
            }
            directory = dir.parent();
        }
        for (place, scope) in places {
            let fixture =
                place.facts.functions.iter().find(|candidate| {
                    candidate.parent_scope == scope && candidate.fixture_name.as_deref() == Some(name)
                });
            let Some(fixture) = fixture.cloned() else { continue };
            let is_pytest_fixture = place.facts.exprs.list(fixture.decorators).iter().any(|decorator| {
                let head = place.facts.exprs.uncalled(*decorator);
                matches!(
                    self.eval(&place, fixture.parent_scope, head),
                    Value::External(name) if name == "pytest.fixture" || name == "pytest_asyncio.fixture"
                )
            });
            if !is_pytest_fixture {
                return Value::Unknown;
            }
            let values = place
                .facts
                .exprs
                .list(fixture.produced)
                .iter()
                .map(|produced| self.eval(&place, fixture.scope, *produced))
                .collect();
            return combine(values);
        }
        Value::Unknown
    }

    /// What the parameter of a plain (undecorated, non-method) function that receives the
    /// argument at `position` or `keyword` is annotated to be.
    pub fn parameter_annotation(
        &mut self,
        callee: &Value,
        position: Option<u32>,
        keyword: Option<&str>,
    ) -> Option<Value> {
        let Value::Function(module, function_id) = callee else { return None };
        let function = module.facts.function(*function_id)?;
        let is_method = matches!(module.facts.scope(function.parent_scope)?.kind, ScopeKind::Class(_));
        if is_method || !function.decorators.is_empty() {
            return None;
        }
        module.facts.scope(function.scope)?;
        let annotation = module.facts.bindings(function.scope).iter().find_map(|(name, bindings)| {
            bindings.iter().find_map(|binding| {
                let Binding::Parameter(parameter) = binding else { return None };
                let (Some(annotation), Some(slot)) = (parameter.annotation, parameter.slot()) else { return None };
                let by_position = position.is_some() && slot.position == position;
                let by_keyword = slot.by_keyword && keyword == Some(name);
                (by_position || by_keyword).then_some(annotation)
            })
        })?;
        Some(self.annotation(module, function.parent_scope, annotation))
    }

    /// Every `<x>.state.<name> = value` in the workspace must agree; none visible: unknown.
    fn application_state(&mut self, name: &str) -> Value {
        let mut sources = Vec::new();
        for assigning in self.index.mentioning(Mention::State, name) {
            for (assigned, value, scope) in &assigning.facts.state_assignments {
                if &**assigned == name {
                    sources.push(self.eval(&assigning, *scope, *value));
                }
            }
        }
        combine(sources)
    }

    /// A dataclass without bases: its `__init__` takes the fields in order.
    fn is_plain_dataclass(&mut self, module: &Arc<IndexedModule>, class_id: ClassId) -> bool {
        let Some(class) = module.facts.class(class_id) else { return false };
        if !class.bases.is_empty() || class.decorators.len() != 1 {
            return false;
        }
        let decorator = module.facts.exprs.uncalled(class.decorators[0]);
        matches!(
            self.eval(module, class.parent_scope, decorator),
            Value::External(name) if matches!(
                name.as_str(),
                "dataclasses.dataclass" | "attr.define" | "attr.frozen" | "attr.mutable" | "attrs.define"
                    | "attrs.frozen" | "attrs.mutable"
            )
        )
    }

    /// For a field of a plain dataclass: what constructions pass for it. `None` for other
    /// classes (their annotated names are plain class attributes).
    fn field_sources(&mut self, module: &Arc<IndexedModule>, class_id: ClassId, field_index: usize) -> Option<Value> {
        if !self.is_plain_dataclass(module, class_id) {
            return None;
        }
        let class = module.facts.class(class_id)?;
        let name: Box<str> = module.facts.exprs.text(*class.fields.get(field_index)?).into();
        let default_binding = module.facts.bindings(class.scope).get(&name).and_then(|bindings| {
            bindings.iter().find_map(|binding| match binding {
                Binding::Value(value) => Some((*value, class.scope)),
                _ => None,
            })
        });
        let argument = ConstructorArgument {
            name,
            call_index: u32::try_from(field_index).ok(),
            by_keyword: true,
            default: default_binding,
        };
        Some(self.construction_sources(module, class_id, &argument))
    }

    /// What every visible construction of the class passes for `argument` (see
    /// [`Resolver::constructor_argument`] for when that is unknown).
    fn construction_sources(
        &mut self,
        module: &Arc<IndexedModule>,
        class_id: ClassId,
        argument: &ConstructorArgument,
    ) -> Value {
        let facts = &module.facts;
        let Some(class) = facts.class(class_id) else { return Value::Unknown };
        let class_name: Box<str> = facts.exprs.text(class.name).into();
        // Only capitalised classes have every call recorded; a classmethod may construct with
        // `cls(...)`, which no recorded call shows.
        let has_classmethod = facts.bindings(class.scope).all().any(|binding| {
            matches!(binding, Binding::Function(id) if facts.function(*id).is_some_and(|method| {
                facts.exprs.list(method.decorators).iter().any(|decorator| facts.exprs.name(*decorator) == Some("classmethod"))
            }))
        });
        if !crate::python::facts::is_class_like(&class_name) || has_classmethod {
            return Value::Unknown;
        }
        let is_this_class =
            |value: &Value| matches!(value, Value::Class(found, id) if *id == class_id && found.path == module.path);

        for subclassing in self.index.mentioning(Mention::Base, &class_name) {
            for candidate in &subclassing.facts.classes {
                for base in &candidate.bases {
                    let base = subclassing.facts.exprs.unsubscripted(*base);
                    if is_this_class(&self.eval(&subclassing, candidate.parent_scope, base)) {
                        return Value::Unknown;
                    }
                }
            }
        }

        self.passed_at_calls(module, &class_name, &is_this_class, argument, Callee::Class)
    }

    /// What every visible call of `callee_name` that `is_target` confirms passes for
    /// `argument`, also through aliases. Unknown when the callee is handed on as a value
    /// anywhere (it may then be called where no call shows it), when a call unpacks
    /// `*args`/`**kwargs`, or when no call is visible.
    fn passed_at_calls(
        &mut self,
        module: &Arc<IndexedModule>,
        callee_name: &str,
        is_target: &dyn Fn(&Value) -> bool,
        argument: &ConstructorArgument,
        callee: Callee,
    ) -> Value {
        let target_name: Box<str> = callee_name.into();
        // The class may be called under an alias (`from app import UserService as Users`).
        let mut callee_names = vec![target_name.clone()];
        for aliasing in self.index.mentioning(Mention::Alias, &target_name) {
            for (_, scope) in aliasing.facts.scopes_with_bindings() {
                for (bound, bindings) in scope.iter() {
                    let aliases_class = bindings
                        .iter()
                        .any(|binding| matches!(binding, Binding::ImportFrom(import) if aliasing.facts.exprs.text(import.name) == &*target_name));
                    if aliases_class && !callee_names.iter().any(|name| &**name == bound) {
                        if callee == Callee::Class && !crate::python::facts::is_class_like(bound) {
                            // Calls through a lowercase alias are not recorded.
                            return Value::Unknown;
                        }
                        callee_names.push(bound.into());
                    }
                }
            }
        }

        // Handed on as a value (`make(UserRepository)`, `cls = UserRepository`): instances may be
        // made anywhere.
        for callee_name in &callee_names {
            for escaping in self.index.mentioning(Mention::Escape, callee_name) {
                let mut escapes_here = false;
                for scope_id in 0..escaping.facts.scopes.len() {
                    let Ok(scope_id) = u32::try_from(scope_id) else { break };
                    let bound = escaping.facts.bindings(scope_id).contains(callee_name);
                    if (bound || scope_id == MODULE_SCOPE)
                        && is_target(&self.lookup_name(&escaping, scope_id, callee_name))
                    {
                        escapes_here = true;
                        break;
                    }
                }
                if escapes_here {
                    return Value::Unknown;
                }
                // `register(db.configure)` binds no `configure` at the top of the module: the
                // function may be the one handed on.
                if callee == Callee::Function && !escaping.facts.bindings(MODULE_SCOPE).contains(callee_name) {
                    return Value::Unknown;
                }
            }
        }

        let mut sources = Vec::new();
        for callee_name in &callee_names {
            for calling in self.index.mentioning(Mention::Call, callee_name) {
                for call in &calling.facts.calls {
                    if call.callee_name(&calling.facts.exprs) != Some(&**callee_name) {
                        continue;
                    }
                    if !self.spend() {
                        return Value::Unknown;
                    }
                    let callee_value = self.eval(&calling, call.scope, call.callee);
                    if !is_target(&callee_value) {
                        // A function's callee that may be it (several sources, unknown) may
                        // pass anything; a class is only followed through its own name.
                        if callee == Callee::Function && matches!(callee_value, Value::Unknown | Value::Alternatives(_))
                        {
                            return Value::Unknown;
                        }
                        continue;
                    }
                    if call.unpacks {
                        return Value::Unknown;
                    }
                    let exprs = &calling.facts.exprs;
                    let positional =
                        argument.call_index.and_then(|index| exprs.list(call.arguments).get(index as usize));
                    let keyword = argument
                        .by_keyword
                        .then(|| {
                            exprs.list(call.keywords).iter().find_map(|keyword| match exprs.get(*keyword) {
                                Shape::Keyword(name, value) if name == &*argument.name => Some(value),
                                _ => None,
                            })
                        })
                        .flatten();
                    let source = match (positional.copied(), keyword, argument.default) {
                        (Some(passed), _, _) | (None, Some(passed), _) => self.eval(&calling, call.scope, passed),
                        (None, None, Some((default, default_scope))) => self.eval(module, default_scope, default),
                        // A call that misses a required argument fails before any use.
                        (None, None, None) => continue,
                    };
                    sources.push(source);
                }
            }
        }
        combine(sources)
    }

    fn module_value(&self, name: &str) -> Value {
        match self.index.lookup(name) {
            Lookup::Found(module) => Value::Module(module),
            Lookup::Namespace => Value::Namespace(name.to_owned()),
            Lookup::Missing => Value::External(name.to_owned()),
            Lookup::Ambiguous => Value::Unknown,
        }
    }

    /// A submodule reached through an attribute or `from` import: it exists, or we know nothing
    /// (an attribute set at runtime, a typo).
    fn submodule(&self, name: &str) -> Value {
        match self.index.lookup(name) {
            Lookup::Found(module) => Value::Module(module),
            Lookup::Namespace => Value::Namespace(name.to_owned()),
            Lookup::Missing | Lookup::Ambiguous => Value::Unknown,
        }
    }

    /// `from <target> import <name>`: a top-level binding of the module, else a submodule.
    fn import_from(&mut self, target: &str, name: &str) -> Value {
        match self.index.lookup(target) {
            Lookup::Found(target_module) => {
                if let Some(value) = self.top_level(&target_module, name) {
                    return self.or_library_knowledge(value, &join_module(target, name));
                }
                self.or_library_knowledge(self.submodule(&join_module(target, name)), &join_module(target, name))
            }
            Lookup::Namespace => self.submodule(&join_module(target, name)),
            Lookup::Missing => Value::External(join_module(target, name)),
            Lookup::Ambiguous => Value::Unknown,
        }
    }

    /// An installed package's source leaves a name unknown (a C extension, a definition made at
    /// run time): the built-in table answers for it, if it knows the name.
    fn or_library_knowledge(&self, value: Value, qualified: &str) -> Value {
        if !matches!(value, Value::Unknown) {
            return value;
        }
        if library::lookup(qualified, &IndexVersions(self.index)).is_some() {
            Value::External(qualified.to_owned())
        } else {
            value
        }
    }

    fn attribute(&mut self, base: &Value, attribute: &str) -> Value {
        if !self.spend() {
            return Value::Unknown;
        }
        match base {
            Value::Module(module) => {
                if let Some(value) = self.top_level(module, attribute) {
                    return match module.names.first() {
                        Some(name) => self.or_library_knowledge(value, &join_module(name, attribute)),
                        None => value,
                    };
                }
                let Some(name) = module.names.first() else { return Value::Unknown };
                self.submodule(&join_module(name, attribute))
            }
            Value::Namespace(name) => self.submodule(&join_module(name, attribute)),
            Value::External(qualified) => Value::External(join_module(qualified, attribute)),
            Value::Class(module, class_id) => self.class_attribute(module, *class_id, attribute, false),
            Value::Instance { module, class, .. } => self.class_attribute(module, *class, attribute, true),
            Value::Alternatives(values) => {
                let values = values.iter().map(|value| self.attribute(value, attribute)).collect();
                combine(values)
            }
            Value::Library(object, _, _) => {
                let Some(class) = object.class else { return Value::Unknown };
                let qualified = format!("{class}.{attribute}");
                let versions = IndexVersions(self.index);
                match library::lookup(&qualified, &versions) {
                    Some(Known::Attribute(held)) => self.library_value(held, &qualified),
                    Some(Known::Callable(_)) => Value::External(qualified),
                    None => Value::Unknown,
                }
            }
            Value::Function(..)
            | Value::Made(..)
            | Value::Factory(..)
            | Value::NoneValue
            | Value::Collection(_)
            | Value::Unknown => Value::Unknown,
        }
    }

    /// An attribute looked up on a class (or, with `on_instance`, on `self`): every source in
    /// the class and its workspace bases must agree. A base we cannot see into makes a missing
    /// attribute unknown rather than absent.
    fn class_attribute(
        &mut self,
        module: &Arc<IndexedModule>,
        class_id: ClassId,
        attribute: &str,
        on_instance: bool,
    ) -> Value {
        let mut sources = Vec::new();
        let mut has_unknown_base = false;
        let mut pending = vec![(Arc::clone(module), class_id)];
        // Holding the modules keeps their addresses theirs while they are compared.
        let mut visited: Vec<(Arc<IndexedModule>, ClassId)> = Vec::with_capacity(4);
        while let Some((class_module, id)) = pending.pop() {
            if visited.iter().any(|(seen_module, seen)| Arc::ptr_eq(seen_module, &class_module) && *seen == id)
                || !self.spend()
            {
                continue;
            }
            visited.push((Arc::clone(&class_module), id));
            let Some(class) = class_module.facts.class(id) else { continue };
            if on_instance {
                let exprs = &class_module.facts.exprs;
                if let Some(field_index) = class.fields.iter().position(|field| exprs.text(*field) == attribute) {
                    if let Some(constructed) = self.field_sources(&class_module, id, field_index) {
                        sources.push(constructed);
                    }
                    // A model or record class: constructors set fields in ways we do not follow.
                    if (!class.decorators.is_empty() || !class.bases.is_empty())
                        && !self.is_plain_dataclass(&class_module, id)
                    {
                        return Value::Unknown;
                    }
                }
            }
            if let Some(bindings) = class_module.facts.bindings(class.scope).get(attribute) {
                for binding in bindings {
                    sources.push(self.binding_value(&class_module, class.scope, attribute, binding));
                }
            }
            if on_instance {
                for assignment in class.instance_attribute(&class_module.facts.exprs, attribute) {
                    sources.push(self.eval(&class_module, assignment.scope, assignment.value));
                }
            }
            for base in &class.bases {
                match self.eval(&class_module, class.parent_scope, *base) {
                    Value::Class(base_module, base_id) => pending.push((base_module, base_id)),
                    Value::External(name) if name == "builtins.object" => {}
                    _ => has_unknown_base = true,
                }
            }
        }
        if sources.is_empty() || (has_unknown_base && sources.is_empty()) {
            return Value::Unknown;
        }
        combine(sources)
    }

    fn call(&mut self, callee: &Value) -> Value {
        if !self.spend() {
            return Value::Unknown;
        }
        match callee {
            Value::Function(module, function_id) => self.call_function(module, *function_id),
            Value::Class(module, class_id) => {
                if self.instantiation_is_predictable(module, *class_id) {
                    Value::Instance { module: Arc::clone(module), class: *class_id, exact: true }
                } else {
                    Value::Unknown
                }
            }
            Value::Factory(provided, origin) => Value::Made(*provided, origin.clone()),
            Value::Alternatives(values) => {
                // Calling a `None` placeholder (`DRIVER = None` until `configure()` sets it)
                // raises before any use: only the other sources reach it.
                let values = values
                    .iter()
                    .filter(|value| !matches!(value, Value::NoneValue))
                    .map(|value| self.call(value))
                    .collect();
                combine(values)
            }
            Value::External(name) => match library::lookup(name, &IndexVersions(self.index)) {
                Some(Known::Callable(object)) => self.library_value(object, &format!("{name}()")),
                _ => Self::library_class_only(name),
            },
            // A callable library object (`async_sessionmaker(...)`): its class's `__call__`.
            Value::Library(object, _, _) => match object.class {
                Some(class) => self.call(&Value::External(format!("{class}.__call__"))),
                None => Value::Unknown,
            },
            _ => Value::Unknown,
        }
    }

    fn call_function(&mut self, module: &Arc<IndexedModule>, function_id: FunctionId) -> Value {
        let Some(function) = module.facts.function(function_id) else { return Value::Unknown };
        let prefix = if function.is_async { "async def" } else { "def" };
        let origin = Some(Arc::new(Origin {
            path: module.path.clone(),
            range: function.name_range(),
            line: function.line,
            description: format!("{prefix} {}", module.facts.exprs.text(function.name)),
            name: module.facts.exprs.text(function.name).to_owned(),
        }));
        // Decorators apply innermost (last written) first; any we do not understand makes the
        // result unknown, wherever it sits.
        let mut made_by_decorator = None;
        // The function a wrapping decorator put in its place: what a call runs.
        let mut replaced_by: Option<(Arc<IndexedModule>, FunctionId)> = None;
        for decorator in module.facts.exprs.list(function.decorators).iter().rev() {
            match self.decorator_effect(module, function.parent_scope, *decorator) {
                DecoratorEffect::Transparent => {}
                DecoratorEffect::Makes(provided) => {
                    // `@asynccontextmanager` over a wrapper judges the wrapper's kind.
                    if let Some((wrapper_module, wrapper)) = &replaced_by {
                        let Some(wrapper) = wrapper_module.facts.function(*wrapper) else { return Value::Unknown };
                        let async_manager = matches!(provided, Provided::Known { capabilities, .. } if capabilities.contains(Capability::AsyncCm));
                        if !wrapper.is_generator || wrapper.is_async != async_manager {
                            return Value::Unknown;
                        }
                    }
                    made_by_decorator = Some(provided);
                }
                DecoratorEffect::Replaces(wrapper_module, wrapper) => {
                    made_by_decorator = None;
                    replaced_by = Some((wrapper_module, wrapper));
                }
                DecoratorEffect::Unknown => return Value::Unknown,
            }
        }
        if let (Some((wrapper_module, wrapper)), None) = (&replaced_by, &made_by_decorator) {
            // Calling the decorated name runs the wrapper: its kind, under the name the caller wrote.
            return match self.call_function(wrapper_module, *wrapper) {
                Value::Made(provided, _) => Value::Made(provided, origin),
                Value::Factory(provided, _) => Value::Factory(provided, origin),
                _ => Value::Unknown,
            };
        }
        if let Some(provided) = made_by_decorator {
            // `@contextmanager` over an async generator (or `@asynccontextmanager` over a sync
            // one) makes a manager that fails both ways: `__enter__` calls `next()` on an
            // async generator. Neither `with` nor `async with` would fix the use.
            let async_manager =
                matches!(provided, Provided::Known { capabilities, .. } if capabilities.contains(Capability::AsyncCm));
            if replaced_by.is_none() && function.is_generator && function.is_async != async_manager {
                // Known, and providing neither protocol: no rule reports it yet, and no other
                // source (the type layer reads the decorator's stub) may call it a sync or
                // async manager.
                return Value::Made(
                    Provided::known(ValueKind::DecoratedContextManager, CapabilitySet::of(&[])),
                    origin,
                );
            }
            return Value::Made(provided, origin);
        }
        if module.path.extension().is_some_and(|extension| extension == "pyi") {
            // A stub file declares: `async def` is a coroutine, a `def` makes what it is annotated
            // to return (typeshed writes async generators as `def f() -> AsyncIterator[T]`).
            return self.declared_call(module, function, origin);
        }
        if function.is_stub {
            // An interface to override (a Protocol or abstract method): its body says nothing
            // about what the real implementation makes.
            return Value::Unknown;
        }
        let provided = match (function.is_async, function.is_generator) {
            (true, true) => Provided::known(ValueKind::AsyncGenerator, CapabilitySet::of(&[Capability::AsyncIter])),
            (true, false) => {
                let coroutine = Provided::known(ValueKind::Coroutine, CapabilitySet::of(&[Capability::Await]));
                match self.awaited_capabilities(module, function) {
                    Some(result) => coroutine.awaiting_to(result),
                    None => coroutine,
                }
            }
            (false, true) => Provided::known(ValueKind::Generator, CapabilitySet::of(&[Capability::Iter])),
            (false, false) => {
                // A plain function makes what its return annotation declares, or else what its
                // `return` statements hand out (every one known, or nothing is).
                let Some(returns) = function.returns else {
                    let produced = module.facts.exprs.list(function.produced);
                    if produced.is_empty() {
                        return Value::Unknown;
                    }
                    let values = produced.iter().map(|value| self.eval(module, function.scope, *value)).collect();
                    return combine(values);
                };
                return match self.annotation(module, function.parent_scope, returns) {
                    Value::Made(provided, _) => Value::Made(provided, origin),
                    Value::Factory(provided, _) => Value::Factory(provided, origin),
                    _ => Value::Unknown,
                };
            }
        };
        Value::Made(provided, origin)
    }

    /// What calling a function declared in a stub file makes.
    fn declared_call(
        &mut self,
        module: &Arc<IndexedModule>,
        function: &crate::python::facts::FunctionFact,
        origin: Option<Arc<Origin>>,
    ) -> Value {
        if function.is_async {
            let coroutine = Provided::known(ValueKind::Coroutine, CapabilitySet::of(&[Capability::Await]));
            let provided = match self.awaited_capabilities(module, function) {
                Some(result) => coroutine.awaiting_to(result),
                None => coroutine,
            };
            return Value::Made(provided, origin);
        }
        let Some(returns) = function.returns else { return Value::Unknown };
        match self.annotation(module, function.parent_scope, returns) {
            Value::Made(provided, _) => Value::Made(provided, origin),
            Value::Factory(provided, _) => Value::Factory(provided, origin),
            _ => Value::Unknown,
        }
    }

    /// What awaiting a coroutine function's result gives, from its return annotation: the
    /// declared protocol, or the dunders of a workspace class (a lower bound: a subclass may add).
    fn awaited_capabilities(
        &mut self,
        module: &Arc<IndexedModule>,
        function: &crate::python::facts::FunctionFact,
    ) -> Option<CapabilitySet> {
        let returns = function.returns?;
        match self.annotation(module, function.parent_scope, returns) {
            Value::Made(Provided::Known { capabilities, .. }, _) => Some(capabilities),
            Value::Instance { module: class_module, class, .. } => match self.instance_provided(&class_module, class) {
                Value::Made(Provided::Known { capabilities, .. }, _) => Some(capabilities),
                _ => None,
            },
            _ => None,
        }
    }

    fn decorator_effect(&mut self, module: &Arc<IndexedModule>, scope: ScopeId, decorator: ExprId) -> DecoratorEffect {
        if !self.spend() {
            return DecoratorEffect::Unknown;
        }
        // `@pytest.fixture(scope="session")`: a configured decorator factory. `functools.wraps`
        // copies names and the docstring onto the wrapper, which keeps its own kind.
        if let Shape::Call(head, _) = module.facts.exprs.get(decorator) {
            return match self.eval(module, scope, head) {
                Value::External(name)
                    if matches!(name.as_str(), "pytest.fixture" | "pytest_asyncio.fixture" | "functools.wraps") =>
                {
                    DecoratorEffect::Transparent
                }
                _ => DecoratorEffect::Unknown,
            };
        }
        match self.eval(module, scope, decorator) {
            Value::External(name) => match name.as_str() {
                "builtins.staticmethod"
                | "builtins.classmethod"
                | "pytest.fixture"
                | "pytest_asyncio.fixture"
                | "typing.override"
                | "typing_extensions.override"
                | "abc.abstractmethod" => DecoratorEffect::Transparent,
                "contextlib.asynccontextmanager" => DecoratorEffect::Makes(async_cm_made()),
                "contextlib.contextmanager" => DecoratorEffect::Makes(sync_cm_made()),
                _ => DecoratorEffect::Unknown,
            },
            // A decorator written in the project: what its body hands back.
            Value::Function(decorator_module, id) => {
                let Some(decorator) = decorator_module.facts.function(id) else { return DecoratorEffect::Unknown };
                if !decorator.decorators.is_empty() || decorator.is_async || decorator.is_generator {
                    return DecoratorEffect::Unknown;
                }
                match decorator.hands_back {
                    Some(HandsBack::FirstParameter) => DecoratorEffect::Transparent,
                    Some(HandsBack::AppliedTo(other)) => {
                        self.decorator_effect(&decorator_module, decorator.scope, other)
                    }
                    Some(HandsBack::Nested(wrapper)) => match self.eval(&decorator_module, decorator.scope, wrapper) {
                        Value::Function(wrapper_module, wrapper) => DecoratorEffect::Replaces(wrapper_module, wrapper),
                        _ => DecoratorEffect::Unknown,
                    },
                    None => DecoratorEffect::Unknown,
                }
            }
            _ => DecoratorEffect::Unknown,
        }
    }

    /// Whether calling the class surely makes an instance of it: no class decorator (but
    /// `@dataclass` and its kin, which add no protocol), no metaclass or other class keyword, no
    /// `__new__`.
    fn instantiation_is_predictable(&mut self, module: &Arc<IndexedModule>, class_id: ClassId) -> bool {
        let Some(class) = module.facts.class(class_id) else { return false };
        if class.has_keywords || class.dunders.new {
            return false;
        }
        class.decorators.is_empty() || self.is_plain_dataclass(module, class_id)
    }

    /// What an instance of a workspace class provides: the protocol dunders of the class and
    /// its bases, when every base is known.
    fn instance_provided(&mut self, module: &Arc<IndexedModule>, class_id: ClassId) -> Value {
        let mut found = crate::python::facts::Dunders::default();
        let mut from_known_bases = CapabilitySet::EMPTY;
        let mut pending = vec![(Arc::clone(module), class_id)];
        // Holding the modules keeps their addresses theirs while they are compared.
        let mut visited: Vec<(Arc<IndexedModule>, ClassId)> = Vec::with_capacity(4);
        while let Some((class_module, id)) = pending.pop() {
            if visited.iter().any(|(seen_module, seen)| Arc::ptr_eq(seen_module, &class_module) && *seen == id) {
                continue;
            }
            if !self.spend() {
                return Value::Unknown;
            }
            visited.push((Arc::clone(&class_module), id));
            let Some(class) = class_module.facts.class(id) else { return Value::Unknown };
            if class.has_keywords || class.dunders.new {
                return Value::Unknown;
            }
            if !class.decorators.is_empty() && !self.is_plain_dataclass(&class_module, id) {
                return Value::Unknown;
            }
            let dunders = class.dunders;
            found.aenter |= dunders.aenter;
            found.aexit |= dunders.aexit;
            found.aiter |= dunders.aiter;
            found.anext |= dunders.anext;
            found.enter |= dunders.enter;
            found.exit |= dunders.exit;
            found.iter |= dunders.iter;
            found.getitem |= dunders.getitem;
            found.await_ |= dunders.await_;
            found.call |= dunders.call;
            found.rejects |= dunders.rejects;
            for base in &class.bases {
                match self.eval(&class_module, class.parent_scope, *base) {
                    Value::Class(base_module, base_id) => pending.push((base_module, base_id)),
                    Value::External(name) => match known_base(&name) {
                        Some(capabilities) => {
                            for capability in capabilities.iter() {
                                from_known_bases = from_known_bases.with(capability);
                            }
                        }
                        None => return Value::Unknown,
                    },
                    // `Generic[T]`, `AbstractAsyncContextManager[T]`: the subscripted base.
                    _ => match class_module.facts.exprs.get(*base) {
                        Shape::Subscript(head, _) => match self.eval(&class_module, class.parent_scope, head) {
                            Value::External(name) if known_base(&name).is_some() => {
                                for capability in known_base(&name).unwrap_or_default().iter() {
                                    from_known_bases = from_known_bases.with(capability);
                                }
                            }
                            _ => return Value::Unknown,
                        },
                        _ => return Value::Unknown,
                    },
                }
            }
        }
        // Half a protocol (only `__aenter__`) is a class under construction: say nothing. A
        // dunder defined only to raise makes the half deliberate.
        if from_known_bases.is_empty() && !found.rejects && (found.aenter != found.aexit || found.enter != found.exit) {
            return Value::Unknown;
        }
        let mut capabilities = from_known_bases;
        let mut add = |present: bool, capability: Capability| {
            if present {
                capabilities = capabilities.with(capability);
            }
        };
        add(found.aenter && found.aexit, Capability::AsyncCm);
        add(found.aiter, Capability::AsyncIter);
        add(found.enter && found.exit, Capability::Cm);
        add(found.iter || found.getitem, Capability::Iter);
        add(found.await_, Capability::Await);
        add(found.call, Capability::Call);
        let Some(class) = module.facts.class(class_id) else { return Value::Unknown };
        let origin = Origin {
            path: module.path.clone(),
            range: class.name_range.clone(),
            line: class.line,
            description: format!("class {}", module.facts.exprs.text(class.name)),
            name: module.facts.exprs.text(class.name).to_owned(),
        };
        Value::Made(Provided::known(ValueKind::Instance, capabilities), Some(Arc::new(origin)))
    }
}

/// Where a constructor call puts the value of one parameter or field.
/// What [`Resolver::passed_at_calls`] follows the calls of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Callee {
    Class,
    Function,
}

struct ConstructorArgument {
    name: Box<str>,
    /// Index among the call's positional arguments, if it can be passed by position.
    call_index: Option<u32>,
    by_keyword: bool,
    /// The default and the scope it is evaluated in.
    default: Option<(ExprId, ScopeId)>,
}

/// Whether a file or folder for module `name` sits in the importing module's folder (a script's
/// `sys.path[0]`) or under the root it is imported from: a module the configuration leaves out of
/// the index is importable all the same.
fn present_beside(module: &IndexedModule, name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    let mut bases: Vec<&Path> = module.path.parent().into_iter().collect();
    for own in &module.names {
        let depth = own.split('.').count() + usize::from(module.is_package);
        bases.extend(module.path.ancestors().nth(depth));
    }
    bases.iter().any(|base| {
        let candidate = parts.iter().fold(base.to_path_buf(), |path, part| path.join(part));
        candidate.is_dir() || candidate.with_extension("py").is_file() || candidate.with_extension("pyi").is_file()
    })
}

enum DecoratorEffect {
    /// Hands the function back (or registers it) unchanged.
    Transparent,
    /// Replaces the function with a factory of objects providing this.
    Makes(Provided),
    /// Replaces the function with another function (a wrapper defined in the decorator).
    Replaces(Arc<IndexedModule>, FunctionId),
    Unknown,
}

fn async_cm_made() -> Provided {
    Provided::known(ValueKind::DecoratedContextManager, CapabilitySet::of(&[Capability::AsyncCm, Capability::Call]))
}

fn sync_cm_made() -> Provided {
    Provided::known(ValueKind::DecoratedContextManager, CapabilitySet::of(&[Capability::Cm, Capability::Call]))
}

/// `typing.AsyncIterator` → `AsyncIterator`, for the modules that define the protocol ABCs.
fn strip_typing_module(name: &str) -> Option<&str> {
    ["typing.", "typing_extensions.", "collections.abc.", "contextlib."]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
}

/// The protocol an annotation names.
fn declared_protocol(name: &str) -> Option<Provided> {
    use Capability::{AsyncCm, AsyncIter, Await, Cm, Iter};
    let capabilities: &[Capability] =
        match (name.split_once('.').map(|(module, _)| module), strip_typing_module(name)?) {
            (_, "AsyncGenerator" | "AsyncIterator" | "AsyncIterable") => &[AsyncIter],
            (Some("typing" | "typing_extensions"), "AsyncContextManager")
            | (Some("contextlib"), "AbstractAsyncContextManager") => &[AsyncCm],
            (_, "Awaitable" | "Coroutine") => &[Await],
            (_, "Generator" | "Iterator" | "Iterable") => &[Iter],
            (Some("typing" | "typing_extensions"), "ContextManager")
            | (Some("contextlib"), "AbstractContextManager") => &[Cm],
            _ => return None,
        };
    Some(Provided::known(ValueKind::Declared, CapabilitySet::of(capabilities)))
}

/// Library base classes whose protocol contribution is known. `None`: unknown base.
fn known_base(name: &str) -> Option<CapabilitySet> {
    use Capability::{AsyncCm, AsyncIter, Cm, Iter};
    let capabilities: &[Capability] = match name {
        "builtins.object"
        | "builtins.Exception"
        | "builtins.BaseException"
        | "typing.Generic"
        | "typing.Protocol"
        | "typing_extensions.Protocol"
        | "abc.ABC" => &[],
        "contextlib.AbstractAsyncContextManager" | "typing.AsyncContextManager" => &[AsyncCm],
        "contextlib.AbstractContextManager" | "typing.ContextManager" => &[Cm],
        "collections.abc.AsyncIterator"
        | "collections.abc.AsyncIterable"
        | "collections.abc.AsyncGenerator"
        | "typing.AsyncIterator"
        | "typing.AsyncIterable"
        | "typing.AsyncGenerator" => &[AsyncIter],
        "collections.abc.Iterator"
        | "collections.abc.Iterable"
        | "collections.abc.Generator"
        | "typing.Iterator"
        | "typing.Iterable"
        | "typing.Generator"
        | "builtins.tuple"
        | "builtins.list"
        | "builtins.dict"
        | "builtins.set"
        | "builtins.frozenset"
        | "builtins.str"
        | "builtins.bytes"
        | "typing.NamedTuple" => &[Iter],
        _ => return None,
    };
    Some(CapabilitySet::of(capabilities))
}

fn join_module(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_owned()
    } else {
        format!("{base}.{name}")
    }
}

/// The absolute module name of `from <level dots><name> import …` written in `package`.
fn relative_to(package: &str, name: &str, level: u32) -> Option<String> {
    let mut package = package.to_owned();
    for _ in 1..level {
        let parent_len = package.rfind('.')?;
        package.truncate(parent_len);
    }
    if package.is_empty() {
        return (!name.is_empty()).then(|| name.to_owned());
    }
    Some(if name.is_empty() { package } else { format!("{package}.{name}") })
}

/// The absolute module name of `from <level dots><name> import …` written in `module`.
///
/// A file can be known under several names (a regular package, a namespace package under a
/// workspace root); the first reading whose target exists in the index wins.
fn absolute_module(module: &IndexedModule, name: &str, level: u32, index: &dyn ModuleIndex) -> Option<String> {
    if level == 0 {
        return Some(name.to_owned());
    }
    let candidates: Vec<String> = (0..module.names.len())
        .filter_map(|idx| module.package_of(idx))
        .filter_map(|package| relative_to(package, name, level))
        .collect();
    if candidates.len() == 1 {
        // The only candidate is the answer whether or not it is indexed: no lookup needed.
        return candidates.into_iter().next();
    }
    candidates
        .iter()
        .find(|candidate| !matches!(index.lookup(candidate), Lookup::Missing))
        .or(candidates.first())
        .cloned()
}

/// The versions the index knows (the virtual environment's Python and installed packages).
struct IndexVersions<'a>(&'a dyn ModuleIndex);

impl Versions for IndexVersions<'_> {
    fn python_version(&self) -> Option<(u32, u32)> {
        self.0.python_version()
    }

    fn installed_version(&self, distribution: &str) -> Option<Vec<u32>> {
        self.0.installed_version(distribution)
    }
}

/// Where a library object comes from, for messages: no file, just the API's name.
fn library_origin(api: &str) -> Arc<Origin> {
    Arc::new(Origin { path: PathBuf::new(), range: 0..0, line: 0, description: api.to_owned(), name: api.to_owned() })
}
