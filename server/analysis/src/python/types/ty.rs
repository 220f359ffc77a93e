//! The adapter over ty's inference crates (`ty_python_semantic` & co., 0.0.10): the type ty
//! infers for the expression at a byte range, and which protocols each element of its union
//! provides. Only [`super`] calls it.
//!
//! The salsa database is ours (ty's own is not published): files, the real file system, the
//! vendored typeshed, and fixed settings (search paths, target Python).
//!
//! Threading: `TypeEngine` is `Clone` (salsa's storage is a handle; clones share every cache)
//! and `Send`. `file_changed(&mut self)` is a salsa write: it cancels queries running on other
//! clones and waits until they are dropped, so clones are made per query, not kept.
//!
//! ty can panic on odd code: every query runs on its own thread with ty's stack size, under
//! `catch_unwind`, with the panic message kept out of the output; a panic answers "unknown"
//! for that file's operands only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::follow::{Follower, Source};
use crate::protocol::{Capability, CapabilitySet};

use ruff_db::files::{system_path_to_file, File, Files};
use ruff_db::parsed::parsed_module;
use ruff_db::system::{OsSystem, System, SystemPath, SystemPathBuf};
use ruff_db::vendored::VendoredFileSystem;
use ruff_python_ast::visitor::source_order::{self, SourceOrderVisitor};
use ruff_python_ast::{self as ast, Expr, PythonVersion};
use ruff_text_size::{Ranged, TextRange, TextSize};
use ty_module_resolver::{FallibleStrategy, SearchPathSettings};
use ty_python_core::platform::PythonPlatform;
use ty_python_core::program::ProgramSettings;
use ty_python_core::{Program, ProgramFile};
use ty_python_semantic::lint::{LintRegistry, RuleSelection};
use ty_python_semantic::types::{ProgramEnvironment, Type, TypeDefinition};
use ty_python_semantic::{
    default_lint_registry, AnalysisSettings, HasType, PythonVersionSource, PythonVersionWithSource, SemanticModel,
};

// ---------------------------------------------------------------------------------------------
// The salsa database
// ---------------------------------------------------------------------------------------------

#[salsa::db]
#[derive(Clone)]
struct EngineDbImpl {
    storage: salsa::Storage<Self>,
    files: Files,
    system: OsSystem,
    vendored: VendoredFileSystem,
    rule_selection: Arc<RuleSelection>,
    analysis_settings: Arc<AnalysisSettings>,
    program_settings: Arc<ProgramSettings>,
}

/// Our own db trait so a tracked function can reach the (untracked, never changing) settings.
#[salsa::db]
trait EngineDb: ty_python_semantic::Db {
    fn program_settings(&self) -> &ProgramSettings;
}

/// Interning a program hashes all search paths: cache it (as ty's own `TestProgramDb` does).
#[salsa::tracked(returns(copy))]
fn program_of(db: &dyn EngineDb) -> Program<'_> {
    Program::from_settings(db, db.program_settings())
}

#[salsa::db]
impl salsa::Database for EngineDbImpl {}

#[salsa::db]
impl ruff_db::Db for EngineDbImpl {
    fn vendored(&self) -> &VendoredFileSystem {
        &self.vendored
    }
    fn system(&self) -> &dyn System {
        &self.system
    }
    fn files(&self) -> &Files {
        &self.files
    }
}

#[salsa::db]
impl ty_module_resolver::Db for EngineDbImpl {}

#[salsa::db]
impl ty_python_core::Db for EngineDbImpl {
    fn should_check_file(&self, file: File) -> bool {
        !file.path(self).is_vendored_path()
    }
}

#[salsa::db]
impl ty_python_semantic::Db for EngineDbImpl {
    fn check_file(&self, file: File) -> Vec<ruff_db::diagnostic::Diagnostic> {
        ty_python_semantic::types::check_types(self, self.program_file(file))
    }
    fn program_file(&self, file: File) -> ProgramFile<'_> {
        program_of(self).program_file(self, file)
    }
    fn python_version_with_source(&self, _file: File) -> &PythonVersionWithSource {
        &self.program_settings.python_version
    }
    fn rule_selection(&self, _file: File) -> &RuleSelection {
        &self.rule_selection
    }
    fn lint_registry(&self) -> &LintRegistry {
        default_lint_registry()
    }
    fn analysis_settings(&self, _file: File) -> &AnalysisSettings {
        &self.analysis_settings
    }
    fn verbose(&self) -> bool {
        false
    }
    fn is_open_file(&self, _file: File) -> bool {
        false
    }
    fn dyn_clone(&self) -> Box<dyn ty_python_semantic::Db> {
        Box::new(self.clone())
    }
}

#[salsa::db]
impl EngineDb for EngineDbImpl {
    fn program_settings(&self) -> &ProgramSettings {
        &self.program_settings
    }
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub display: String,
    /// The class's module-qualified name (`asyncio.locks.Lock`) for an instance of a class, to
    /// tell apart alternatives that display alike (`Lock | Lock`).
    pub qualified: Option<String>,
    /// Says too little of the runtime object (`Unknown`, `Any`, a type variable, …); its
    /// capabilities are left empty.
    pub unknown: bool,
    pub is_none: bool,
    /// The protocols it is assignable to.
    pub capabilities: CapabilitySet,
    /// For an awaitable: the protocols of what awaiting it gives, when that is known.
    pub awaits_to: Option<CapabilitySet>,
    /// For a class object (itself `unknown`): its own protocols (from its metaclass) and its
    /// instances', when the class and its bases are read.
    pub class_object: Option<(CapabilitySet, CapabilitySet)>,
}

/// What an object handed to an API is, as far as the sinks table asks (`python::sinks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// A coroutine (`Coroutine[Any, Any, Any]`).
    Coroutine,
    /// An async generator (`AsyncGenerator[Any, Any]`).
    AsyncGenerator,
    /// Known, and neither.
    Other,
}

/// What ty says of a callee or an argument of a call to an API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallPart {
    /// The module-qualified name of the function, method or class it is, as defined
    /// (`asyncio.runners.run`, `asyncio.events.AbstractEventLoop.run_in_executor`,
    /// `threading.Thread`).
    pub callee: Option<String>,
    /// What the object is, when every alternative other than `None` is known and they agree.
    pub object: Option<Made>,
    /// What calling it makes, when it is callable (not a class), what its call gives is known,
    /// and every alternative agrees.
    pub call: Option<Made>,
    /// Its type as ty writes it.
    pub display: String,
    /// The protocols of what calling it makes, when it is a callable object, every alternative
    /// other than `None` is known, and they agree.
    pub call_capabilities: Option<CapabilitySet>,
}

/// One code path's value of an operand: a branch of `a if c else b`, an operand of `or`, a
/// `return` of the function it calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arm {
    /// How a message names it: "`threading.Lock()`", "the `return lock` at line 7".
    pub label: String,
    pub elements: Vec<Element>,
}

/// What ty and the follower say of one operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The union elements of its type.
    pub elements: Vec<Element>,
    /// Its code paths, when it has several.
    pub arms: Vec<Arm>,
}

/// A query over one file's byte ranges (see [`TypeEngine::on_query_thread`]).
type Query<T> = fn(&EngineDbImpl, &SystemPath, &Path, &[(u32, u32)]) -> Option<Vec<Option<T>>>;

#[derive(Clone)]
pub struct TypeEngine {
    db: EngineDbImpl,
    /// The module that declares one structural protocol per dunder (see `PROTOCOLS_PY`).
    helper: Arc<ProtocolsModule>,
}

/// [`PROTOCOLS_PY`] written to a folder of its own under the temporary folder (not a search
/// root, never imported), removed when the last engine clone is dropped.
struct ProtocolsModule {
    folder: PathBuf,
    path: SystemPathBuf,
}

impl ProtocolsModule {
    fn write() -> Result<ProtocolsModule, String> {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let folder = std::env::temp_dir().join(format!(
            "asyncsense-protocols-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let file = folder.join("_asyncsense_protocols.py");
        std::fs::create_dir_all(&folder)
            .and_then(|()| std::fs::write(&file, PROTOCOLS_PY))
            .map_err(|error| format!("cannot write {}: {error}", file.display()))?;
        let path = SystemPathBuf::from_path_buf(file).map_err(|path| format!("{} is not UTF-8", path.display()))?;
        Ok(ProtocolsModule { folder, path })
    }
}

impl Drop for ProtocolsModule {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Structural protocols to test each union element against with `Type::is_assignable_to`.
/// `(*args: Any, **kwargs: Any) -> Any` is ty's gradual signature, so any method shape matches.
///
/// `Awaitable[P]` is covariant, so an awaitable is assignable to it exactly when what awaiting it
/// gives is assignable to `P`; `_Impossible` names a method nothing has, so an awaitable that is
/// assignable to `Awaitable[_Impossible]` gives something gradual (`Any`) or `Never`: unknown.
const PROTOCOLS_PY: &str = r"from typing import Any, AsyncGenerator, Awaitable, Callable, Coroutine, Protocol

class _AEnter(Protocol):
    def __aenter__(self, *args: Any, **kwargs: Any) -> Any: ...

class _AIter(Protocol):
    def __aiter__(self, *args: Any, **kwargs: Any) -> Any: ...

class _Await(Protocol):
    def __await__(self, *args: Any, **kwargs: Any) -> Any: ...

class _Enter(Protocol):
    def __enter__(self, *args: Any, **kwargs: Any) -> Any: ...

class _Iter(Protocol):
    def __iter__(self, *args: Any, **kwargs: Any) -> Any: ...

class _Impossible(Protocol):
    def __asyncsense_no_object_has_this__(self) -> None: ...

def _probe(
    a: _AEnter, b: _AIter, c: _Await, d: _Enter, e: _Iter,
    f: Awaitable[_AEnter], g: Awaitable[_AIter], h: Awaitable[_Await], i: Awaitable[_Enter],
    j: Awaitable[_Iter], k: Awaitable[_Impossible], top: object,
    coroutine: Coroutine[Any, Any, Any], agen: AsyncGenerator[Any, Any],
    callable: Callable[..., Any], makes_impossible: Callable[..., _Impossible],
    makes_coroutine: Callable[..., Coroutine[Any, Any, Any]], makes_agen: Callable[..., AsyncGenerator[Any, Any]],
    impossible: _Impossible,
    makes_aenter: Callable[..., _AEnter], makes_aiter: Callable[..., _AIter], makes_await: Callable[..., _Await],
    makes_enter: Callable[..., _Enter], makes_iter: Callable[..., _Iter],
) -> None:
    (a, b, c, d, e, f, g, h, i, j, k, top, coroutine, agen, callable, makes_impossible, makes_coroutine, makes_agen, impossible,
     makes_aenter, makes_aiter, makes_await, makes_enter, makes_iter)
";

impl TypeEngine {
    /// An engine over `roots` (first-party sources), `site_packages` (installed packages, read
    /// as files) and typeshed, for the target `python` (ty's newest supported version when
    /// unknown).
    pub fn new(roots: &[PathBuf], site_packages: &[PathBuf], python: Option<(u32, u32)>) -> Result<TypeEngine, String> {
        let cwd = std::env::current_dir().map_err(|error| format!("cannot read the current directory: {error}"))?;
        let cwd = SystemPathBuf::from_path_buf(cwd).map_err(|path| format!("{} is not UTF-8", path.display()))?;
        let system = OsSystem::new(&cwd);
        let vendored = ty_vendored::file_system().clone();
        let to_system = |path: &PathBuf| -> Result<SystemPathBuf, String> {
            let path = SystemPathBuf::from_path_buf(path.clone())
                .map_err(|path| format!("{} is not UTF-8", path.display()))?;
            Ok(SystemPath::absolute(path, &cwd))
        };
        let helper = ProtocolsModule::write()?;
        let settings = SearchPathSettings {
            src_roots: roots.iter().map(to_system).collect::<Result<_, _>>()?,
            site_packages_paths: site_packages.iter().map(to_system).collect::<Result<_, _>>()?,
            ..SearchPathSettings::empty()
        };
        let search_paths = settings
            .to_search_paths(&system, &vendored, &FallibleStrategy)
            .map_err(|error| format!("invalid search paths: {error}"))?;
        let python_version = match python
            .and_then(|(major, minor)| Some((u8::try_from(major).ok()?, u8::try_from(minor).ok()?)))
        {
            Some((major, minor)) => {
                PythonVersionWithSource { version: PythonVersion { major, minor }, source: PythonVersionSource::Cli }
            }
            None => PythonVersionWithSource::default(),
        };
        let program_settings =
            ProgramSettings { python_version, python_platform: PythonPlatform::default(), search_paths };
        let db = EngineDbImpl {
            storage: salsa::Storage::new(None),
            files: Files::default(),
            system,
            vendored,
            rule_selection: Arc::new(RuleSelection::from_registry(default_lint_registry())),
            analysis_settings: Arc::new(AnalysisSettings::default()),
            program_settings: Arc::new(program_settings),
        };
        db.program_settings.search_paths.try_register_static_roots(&db);
        Ok(TypeEngine { db, helper: Arc::new(helper) })
    }

    /// For each byte range (start, end) of an expression in `path`, the union elements of its
    /// inferred type (None when no expression node has exactly that range, or on panic).
    pub fn elements_at(&self, path: &Path, ranges: &[(u32, u32)]) -> Vec<Option<Answer>> {
        self.on_query_thread(path, ranges, query_file)
    }

    /// For each byte range of a callee or an argument of a call in `path`, what the sinks table
    /// asks of it (see [`CallPart`]).
    pub fn call_parts_at(&self, path: &Path, ranges: &[(u32, u32)]) -> Vec<Option<CallPart>> {
        self.on_query_thread(path, ranges, query_call_parts)
    }

    /// Runs `query` on its own thread with ty's stack size, under `catch_unwind`: a panic
    /// answers "unknown" for every range.
    fn on_query_thread<T: Clone + Send + 'static>(
        &self,
        path: &Path,
        ranges: &[(u32, u32)],
        query: Query<T>,
    ) -> Vec<Option<T>> {
        let db = self.db.clone();
        let helper = Arc::clone(&self.helper);
        let path = path.to_path_buf();
        let ranges_owned = ranges.to_vec();
        let n = ranges.len();
        install_quiet_hook();
        let handle = std::thread::Builder::new().stack_size(ruff_db::STACK_SIZE).spawn(move || {
            QUIET_PANICS.with(|q| q.set(true));
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                query(&db, &helper.path, &path, &ranges_owned)
            }));
            QUIET_PANICS.with(|q| q.set(false));
            res.ok().flatten()
        });
        match handle.map(std::thread::JoinHandle::join) {
            Ok(Ok(Some(v))) if v.len() == n => v,
            _ => vec![None; n],
        }
    }

    /// The file changed on disk (or in an editor): bump its revision so dependent queries
    /// recompute. Blocks until other clones of this engine are dropped (salsa write).
    pub fn file_changed(&mut self, path: &Path) {
        if let Some(p) = SystemPath::from_std_path(path) {
            let p = SystemPath::absolute(p, self.db.system.current_directory());
            File::sync_path(&mut self.db, &p);
        }
    }
}

thread_local! {
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Chains to the previous hook except on our query threads.
fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(std::cell::Cell::get) || std::env::var_os("ASYNCSENSE_SHOW_TYPE_PANICS").is_some() {
                prev(info);
            }
        }));
    });
}

fn find_expr(module: &ast::ModModule, (start, end): (u32, u32)) -> Option<&Expr> {
    struct Finder<'a> {
        target: TextRange,
        found: Option<&'a Expr>,
    }
    impl<'a> SourceOrderVisitor<'a> for Finder<'a> {
        fn visit_stmt(&mut self, stmt: &'a ast::Stmt) {
            if self.found.is_none() && stmt.range().contains_range(self.target) {
                source_order::walk_stmt(self, stmt);
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.found.is_some() || !expr.range().contains_range(self.target) {
                return;
            }
            if expr.range() == self.target {
                self.found = Some(expr); // outermost node with exactly this range
            } else {
                source_order::walk_expr(self, expr);
            }
        }
    }
    let mut f = Finder { target: TextRange::new(TextSize::new(start), TextSize::new(end)), found: None };
    f.visit_body(&module.body);
    f.found
}

struct Protocols<'db> {
    /// The protocol types, with the capability each stands for.
    direct: [(Type<'db>, Capability); 5],
    /// `Awaitable[P]` for each protocol `P` of `direct`.
    awaited: [(Type<'db>, Capability); 5],
    /// `Awaitable[_Impossible]`.
    awaited_unknown: Type<'db>,
    /// `object`, which says nothing of what the object is (ty narrows `callable(x)` and unions
    /// that absorb `object` to it).
    top: Type<'db>,
    /// `Coroutine[Any, Any, Any]` and `AsyncGenerator[Any, Any]`.
    coroutine: Type<'db>,
    async_generator: Type<'db>,
    /// `Callable[..., Any]`, `Callable[..., _Impossible]` (only a callable whose result is
    /// gradual is assignable to it), and callables that make a coroutine or an async generator.
    callable: Type<'db>,
    makes_unknown: Type<'db>,
    makes_coroutine: Type<'db>,
    makes_async_generator: Type<'db>,
    /// `_Impossible`: only an object with a gradual part (an instance of a class with an
    /// unresolved base) is assignable to it.
    impossible: Type<'db>,
    /// `Callable[..., P]` for each protocol `P` of `direct`: what calling an object makes.
    makes: [(Type<'db>, Capability); 5],
}

fn protocols<'db>(db: &'db EngineDbImpl, helper: &SystemPath) -> Option<Protocols<'db>> {
    let file = system_path_to_file(db, helper).ok()?;
    let pf = ty_python_semantic::Db::program_file(db, file);
    let model = SemanticModel::new(db, pf);
    let parsed = parsed_module(db, pf.python_file(db)).load(db);
    let ast::Stmt::FunctionDef(f) = parsed.syntax().body.last()? else { return None };
    let ast::Stmt::Expr(e) = f.body.first()? else { return None };
    let Expr::Tuple(t) = &*e.value else { return None };
    let tys: Vec<Type<'db>> = t.elts.iter().map(|e| e.inferred_type(&model)).collect::<Option<_>>()?;
    let order = [Capability::AsyncCm, Capability::AsyncIter, Capability::Await, Capability::Cm, Capability::Iter];
    let pick = |offset: usize| std::array::from_fn(|i| (tys[offset + i], order[i]));
    Some(Protocols {
        direct: pick(0),
        awaited: pick(5),
        awaited_unknown: *tys.get(10)?,
        top: *tys.get(11)?,
        coroutine: *tys.get(12)?,
        async_generator: *tys.get(13)?,
        callable: *tys.get(14)?,
        makes_unknown: *tys.get(15)?,
        makes_coroutine: *tys.get(16)?,
        makes_async_generator: *tys.get(17)?,
        impossible: *tys.get(18)?,
        makes: if tys.len() >= 24 { pick(19) } else { return None },
    })
}

/// The receiver of `receiver.attribute`, called or awaited or not.
fn attribute_receiver(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::Attribute(attribute) => Some(&attribute.value),
        Expr::Call(call) => attribute_receiver(&call.func),
        Expr::Await(awaited) => attribute_receiver(&awaited.value),
        _ => None,
    }
}

/// Whether `name` has several definitions in its scope, one of them a `def` or `class`.
fn rebinds_a_declaration(model: &SemanticModel<'_>, name: &ast::ExprName) -> bool {
    let definitions = ty_python_semantic::definitions_for_name(
        model,
        name.id.as_str(),
        name.into(),
        ty_python_semantic::ImportAliasResolution::PreserveAliases,
    );
    let core: &dyn ty_python_core::Db = model.db();
    definitions.len() > 1
        && definitions.iter().any(|resolved| match resolved {
            ty_python_semantic::ResolvedDefinition::Definition(definition) => matches!(
                definition.kind(core),
                ty_python_core::definition::DefinitionKind::Function(_)
                    | ty_python_core::definition::DefinitionKind::Class(_)
            ),
            _ => false,
        })
}

/// An unannotated coroutine function's call is `CoroutineType[Any, Any, Unknown]` to ty: what
/// awaiting it gives comes from its `return`s, when every one is known and not only `None`.
fn fill_awaited_results<'db>(
    db: &'db EngineDbImpl,
    env: &ProgramEnvironment<'db>,
    protos: &Protocols<'db>,
    follower: &mut Follower<'db>,
    model: &SemanticModel<'db>,
    call: &ast::ExprCall,
    elements: &mut [Element],
) {
    let open = |e: &Element| e.capabilities.contains(Capability::Await) && e.awaits_to.is_none();
    if !elements.iter().any(open) {
        return;
    }
    let Some(results) = follower.awaited_result(model, call) else { return };
    let Some(union) = awaited_union(db, env, protos, &results) else { return };
    for e in elements.iter_mut().filter(|e| open(e)) {
        e.awaits_to = Some(union);
    }
}

/// The protocols of what awaiting gives, from its alternatives: known when every one is known
/// and not every one is `None`.
fn awaited_union<'db>(
    db: &'db EngineDbImpl,
    env: &ProgramEnvironment<'db>,
    protos: &Protocols<'db>,
    results: &[Source<'db>],
) -> Option<CapabilitySet> {
    let results: Vec<Element> = results.iter().map(|source| source_element(db, env, protos, source)).collect();
    if results.iter().all(|e| e.is_none) || results.iter().any(|e| e.unknown) {
        return None;
    }
    Some(results.iter().fold(CapabilitySet::EMPTY, |union, e| union.union(e.capabilities)))
}

/// What one alternative the follower found is (see [`Source`]).
fn source_element<'db>(
    db: &'db EngineDbImpl,
    env: &ProgramEnvironment<'db>,
    protos: &Protocols<'db>,
    source: &Source<'db>,
) -> Element {
    let made = |display: &str, capabilities: CapabilitySet, awaits_to: Option<CapabilitySet>| Element {
        display: display.to_owned(),
        qualified: None,
        unknown: false,
        is_none: false,
        capabilities,
        awaits_to,
        class_object: None,
    };
    match source {
        Source::Value(ty) => element(db, env, protos, *ty),
        Source::Generator { is_async: true } => {
            made("AsyncGenerator", CapabilitySet::EMPTY.with(Capability::AsyncIter), None)
        }
        Source::Generator { is_async: false } => made("Generator", CapabilitySet::EMPTY.with(Capability::Iter), None),
        Source::Coroutine(results) => made(
            "Coroutine",
            CapabilitySet::EMPTY.with(Capability::Await),
            results.as_deref().and_then(|results| awaited_union(db, env, protos, results)),
        ),
        Source::Method { .. } => Element { unknown: true, ..made("method", CapabilitySet::EMPTY, None) },
    }
}

/// What one union element is: its display, whether it says enough of the runtime object, and
/// the protocols it is assignable to.
fn element<'db>(
    db: &'db EngineDbImpl,
    env: &ProgramEnvironment<'db>,
    protos: &Protocols<'db>,
    t: Type<'db>,
) -> Element {
    // A narrowed instance (`Lock & ~AlwaysFalsy` for `self._lock or …`) has the protocols of its
    // one positive element: a negative element only removes values (ty makes an intersection
    // with no value left `Never`, which stays unknown).
    if let Type::Intersection(intersection) = t {
        let mut positive = intersection.iter_positive(db);
        if let (Some(only @ Type::NominalInstance(_)), None) = (positive.next(), positive.next()) {
            if !t.is_assignable_to(db, env, Type::Never) {
                return element(db, env, protos, only);
            }
        }
    }
    // Dynamic (Unknown/Any/Todo), or a gradual intersection such as `Unknown & ~None`
    // (assignable even to Never; `positive()` is pub(crate)). Never (unreachable code) is
    // reported as unknown too, since it vacuously satisfies every protocol.
    // Only objects whose class is known count: instances (literals, typed dicts, new types and
    // protocol types included) and functions. A type variable, a class object, an intersection
    // or a special form says too little of the runtime object.
    let known_kind = matches!(
        t,
        Type::NominalInstance(_)
            | Type::LiteralValue(_)
            | Type::TypedDict(_)
            | Type::NewTypeInstance(_)
            | Type::ProtocolInstance(_)
            | Type::FunctionLiteral(_)
            | Type::BoundMethod(_)
            | Type::Callable(_)
    );
    let unknown = !known_kind || t.is_assignable_to(db, env, Type::Never) || protos.top.is_assignable_to(db, env, t);
    let has = |p: Type<'db>| !unknown && t.is_assignable_to(db, env, p);
    let set_of = |protocols: &[(Type<'db>, Capability)]| {
        protocols
            .iter()
            .filter(|(protocol, _)| has(*protocol))
            .fold(CapabilitySet::EMPTY, |set, (_, capability)| set.with(*capability))
    };
    let capabilities = set_of(&protos.direct);
    let awaits_to =
        (capabilities.contains(Capability::Await) && !has(protos.awaited_unknown)).then(|| set_of(&protos.awaited));
    // A class object's own protocols come from its metaclass; its instances' are filled in by
    // the caller, which reads the class.
    let class_object = matches!(t, Type::ClassLiteral(_)).then(|| {
        let own = protos
            .direct
            .iter()
            .filter(|(protocol, _)| t.is_assignable_to(db, env, *protocol))
            .fold(CapabilitySet::EMPTY, |set, (_, capability)| set.with(*capability));
        (own, CapabilitySet::EMPTY)
    });
    Element {
        display: t.display(db, env).to_string(),
        qualified: None,
        unknown,
        is_none: t.is_none(db),
        capabilities,
        awaits_to,
        class_object,
    }
}

/// The protocols of the instances of each class object among `elements` (see
/// [`Follower::instance_dunders`]); a class whose hierarchy is not read stays without.
fn fill_instance_protocols<'db>(
    model: &SemanticModel<'db>,
    follower: &mut Follower<'db>,
    sources: &[Source<'db>],
    elements: &mut [Element],
) {
    for (element, source) in elements.iter_mut().zip(sources) {
        let (Some((own, _)), Source::Value(class)) = (element.class_object, source) else { continue };
        element.class_object = follower.instance_dunders(model, *class).map(|dunders| {
            let order =
                [Capability::AsyncCm, Capability::AsyncIter, Capability::Await, Capability::Cm, Capability::Iter];
            let instances = super::follow::PROTOCOL_DUNDERS
                .iter()
                .zip(order)
                .filter(|(dunder, _)| dunders.contains(dunder))
                .fold(CapabilitySet::EMPTY, |set, (_, capability)| set.with(capability));
            (own, instances)
        });
    }
}

/// `module.Class` for an instance of a class ty can name (the display, prefixed by the module
/// that defines the class).
fn qualified_name<'db>(db: &'db EngineDbImpl, env: &ProgramEnvironment<'db>, t: Type<'db>) -> Option<String> {
    if let Type::Intersection(intersection) = t {
        let mut positive = intersection.iter_positive(db);
        return match (positive.next(), positive.next()) {
            (Some(only), None) => qualified_name(db, env, only),
            _ => None,
        };
    }
    if !matches!(t, Type::NominalInstance(_)) {
        return None;
    }
    let Some(TypeDefinition::StaticClass(definition)) = t.definition(db, env) else { return None };
    let core: &dyn ty_python_core::Db = db;
    let module = ty_module_resolver::file_to_module(db, definition.program_file(core).resolver_file(core))?;
    Some(format!("{}.{}", module.name(db), t.display(db, env)))
}

/// Several alternatives get their qualified names (`_thread.lock | asyncio.locks.Lock`), which a
/// message names one by one.
fn qualify_alternatives<'db>(
    db: &'db EngineDbImpl,
    env: &ProgramEnvironment<'db>,
    sources: &[Source<'db>],
    elements: &mut [Element],
) {
    if elements.iter().filter(|element| !element.is_none).count() < 2 {
        return;
    }
    for (element, source) in elements.iter_mut().zip(sources) {
        if let (false, Source::Value(t)) = (element.is_none, source) {
            element.qualified = qualified_name(db, env, *t);
        }
    }
}

/// The code paths of an operand (see [`Arm`]), each labelled and with what the follower says
/// it is: the branches of `a if c else b` and the operands of `or` (at the operand, or in the
/// one assignment of the name it is), or the `return`s of the function it calls.
///
/// A name bound more than once is left alone: ty's list of a name's definitions is every one in
/// the scope, not those that reach the use.
fn code_arms<'db>(
    db: &'db EngineDbImpl,
    model: &SemanticModel<'db>,
    expr: &Expr,
    follower: &mut Follower<'db>,
) -> Option<Vec<(String, Vec<Source<'db>>)>> {
    match expr {
        Expr::If(_) | Expr::BoolOp(ast::ExprBoolOp { op: ast::BoolOp::Or, .. }) => {
            let file = model.program_file().file(db);
            let text = ruff_db::source::source_text(db, file);
            let lines = ruff_db::source::line_index(db, file);
            let mut leaves = Vec::new();
            branch_leaves(expr, &mut leaves);
            (leaves.len() > 1).then(|| {
                leaves
                    .into_iter()
                    .map(|leaf| {
                        let shown = text.as_str().get(leaf.range().to_std_range()).unwrap_or_default();
                        let label = format!("`{shown}` at line {}", lines.line_index(leaf.start()).get());
                        (label, follower.elements(model, leaf, 1))
                    })
                    .collect()
            })
        }
        Expr::Call(call) => follower.return_arms(model, call),
        Expr::Name(name) => {
            let definitions = ty_python_semantic::definitions_for_name(
                model,
                name.id.as_str(),
                name.into(),
                ty_python_semantic::ImportAliasResolution::PreserveAliases,
            );
            let [ty_python_semantic::ResolvedDefinition::Definition(definition)] = definitions.as_slice() else {
                return None;
            };
            let core: &dyn ty_python_core::Db = db;
            if definition.program_file(core) != model.program_file() {
                return None;
            }
            let ty_python_core::definition::DefinitionKind::Assignment(assignment) = definition.kind(core) else {
                return None;
            };
            let module = parsed_module(db, definition.python_file(core)).load(db);
            if assignment.unpack().is_some() || !matches!(assignment.target(&module), Expr::Name(_)) {
                return None;
            }
            let value = assignment.value(&module);
            if matches!(value, Expr::Name(_)) {
                return None;
            }
            code_arms(db, model, value, follower)
        }
        _ => None,
    }
}

/// The leaves of nested `a if c else b` and `a or b` expressions.
fn branch_leaves<'e>(expr: &'e Expr, leaves: &mut Vec<&'e Expr>) {
    match expr {
        Expr::If(branches) => {
            branch_leaves(&branches.body, leaves);
            branch_leaves(&branches.orelse, leaves);
        }
        Expr::BoolOp(ast::ExprBoolOp { op: ast::BoolOp::Or, values, .. }) => {
            for value in values {
                branch_leaves(value, leaves);
            }
        }
        _ => leaves.push(expr),
    }
}

/// What one object is and what calling it makes (see [`Made`]); `None` when ty does not know.
fn made_by<'db>(
    db: &'db EngineDbImpl,
    env: &ProgramEnvironment<'db>,
    protos: &Protocols<'db>,
    source: &Source<'db>,
) -> (Option<Made>, Option<Made>) {
    let t = match source {
        Source::Value(t) => *t,
        Source::Coroutine(_) => return (Some(Made::Coroutine), None),
        Source::Generator { is_async: true } => return (Some(Made::AsyncGenerator), None),
        Source::Generator { is_async: false } => return (Some(Made::Other), None),
        Source::Method { .. } => return (None, None),
    };
    let is = |protocol: Type<'db>| t.is_assignable_to(db, env, protocol);
    // An instance of a class with an unresolved base is assignable to every class: unknown.
    if element(db, env, protos, t).unknown || is(protos.impossible) {
        return (None, None);
    }
    let kind = |coroutine: Type<'db>, async_generator: Type<'db>| {
        if is(coroutine) {
            Made::Coroutine
        } else if is(async_generator) {
            Made::AsyncGenerator
        } else {
            Made::Other
        }
    };
    let object = kind(protos.coroutine, protos.async_generator);
    let call = (is(protos.callable) && !is(protos.makes_unknown))
        .then(|| kind(protos.makes_coroutine, protos.makes_async_generator));
    (Some(object), call)
}

/// The protocols of what calling `source` makes, when it is a callable object whose call result
/// is known (not gradual).
fn capabilities_of_call<'db>(
    db: &'db EngineDbImpl,
    env: &ProgramEnvironment<'db>,
    protos: &Protocols<'db>,
    source: &Source<'db>,
) -> Option<CapabilitySet> {
    let Source::Value(t) = source else { return None };
    let is = |protocol: Type<'db>| t.is_assignable_to(db, env, protocol);
    if element(db, env, protos, *t).unknown || is(protos.impossible) || !is(protos.callable) || is(protos.makes_unknown)
    {
        return None;
    }
    Some(
        protos
            .makes
            .iter()
            .filter(|(protocol, _)| is(*protocol))
            .fold(CapabilitySet::EMPTY, |set, (_, c)| set.with(*c)),
    )
}

/// The module-qualified name of the function, bound method or class `t` is, as defined: the
/// defining module, the class for a method, and the name.
fn callee_name<'db>(
    db: &'db EngineDbImpl,
    env: &ProgramEnvironment<'db>,
    t: Type<'db>,
    loaded: &mut Vec<ruff_db::PythonFile<'db>>,
) -> Option<String> {
    if !matches!(t, Type::FunctionLiteral(_) | Type::BoundMethod(_) | Type::ClassLiteral(_)) {
        return None;
    }
    let (TypeDefinition::Function(definition) | TypeDefinition::StaticClass(definition)) = t.definition(db, env)?
    else {
        return None;
    };
    let core: &dyn ty_python_core::Db = db;
    let module = ty_module_resolver::file_to_module(db, definition.program_file(core).resolver_file(core))?;
    let name = definition.name(core)?;
    loaded.push(definition.python_file(core));
    let scope = definition.scope(core);
    match scope.node(core) {
        ty_python_core::scope::NodeWithScopeKind::Module => Some(format!("{}.{name}", module.name(db))),
        ty_python_core::scope::NodeWithScopeKind::Class(_) => {
            let parsed = parsed_module(db, definition.python_file(core)).load(db);
            Some(format!("{}.{}.{name}", module.name(db), scope.name(core, &parsed)))
        }
        _ => None,
    }
}

/// What both queries share: ty's protocol types, the file's semantic model and environment, and
/// `answer` for the expression at each range (none where no expression has exactly that range).
/// The syntax trees parsed on the way (`loaded`) are freed after; ty reparses lazily.
fn over_expressions<'db, T>(
    db: &'db EngineDbImpl,
    helper: &SystemPath,
    path: &Path,
    ranges: &[(u32, u32)],
    mut answer: impl FnMut(
        &Protocols<'db>,
        &SemanticModel<'db>,
        &ProgramEnvironment<'db>,
        &Expr,
        &mut Vec<ruff_db::PythonFile<'db>>,
    ) -> Option<T>,
) -> Option<Vec<Option<T>>> {
    let protos = protocols(db, helper)?;
    let sys_path = SystemPath::absolute(SystemPath::from_std_path(path)?, db.system.current_directory());
    let file = system_path_to_file(db, &sys_path).ok()?;
    let pf = ty_python_semantic::Db::program_file(db, file);
    let model = SemanticModel::new(db, pf);
    let env = ProgramEnvironment::from_file(pf);
    let module = parsed_module(db, pf.python_file(db));
    let mut loaded: Vec<ruff_db::PythonFile<'_>> = Vec::new();
    let out = {
        let parsed = module.load(db);
        ranges.iter().map(|&r| answer(&protos, &model, &env, find_expr(parsed.syntax(), r)?, &mut loaded)).collect()
    };
    module.clear();
    for other in loaded {
        if other != pf.python_file(db) {
            parsed_module(db, other).clear();
        }
    }
    Some(out)
}

fn query_call_parts(
    db: &EngineDbImpl,
    helper: &SystemPath,
    path: &Path,
    ranges: &[(u32, u32)],
) -> Option<Vec<Option<CallPart>>> {
    let out: Vec<Option<CallPart>> = over_expressions(db, helper, path, ranges, |protos, model, env, expr, loaded| {
        let ty = expr.inferred_type(model)?;
        if let Expr::Name(name) = expr {
            if rebinds_a_declaration(model, name) {
                return None;
            }
        }
        let callee = callee_name(db, env, ty, loaded);
        let mut follower = Follower::new(db);
        if let Some(receiver) = attribute_receiver(expr) {
            if follower.intercepts_attributes(model, receiver) {
                loaded.append(&mut follower.loaded);
                return None;
            }
        }
        let sources = follower.elements(model, expr, 0);
        loaded.append(&mut follower.loaded);
        let mut object = None;
        let mut call = None;
        let mut call_capabilities = None;
        let mut first = true;
        let mut shown = Vec::new();
        for source in &sources {
            if let Source::Value(t) = source {
                if t.is_none(db) {
                    continue;
                }
                shown.push(t.display(db, env).to_string());
            }
            let (this_object, this_call) = made_by(db, env, protos, source);
            let these_capabilities = capabilities_of_call(db, env, protos, source);
            if first {
                (object, call, call_capabilities) = (this_object, this_call, these_capabilities);
                first = false;
            } else {
                object = object.filter(|made| this_object == Some(*made));
                call = call.filter(|made| this_call == Some(*made));
                call_capabilities = call_capabilities.filter(|set| these_capabilities == Some(*set));
            }
        }
        Some(CallPart { callee, object, call, display: shown.join(" | "), call_capabilities })
    })?;
    Some(out)
}

fn query_file(
    db: &EngineDbImpl,
    helper: &SystemPath,
    path: &Path,
    ranges: &[(u32, u32)],
) -> Option<Vec<Option<Answer>>> {
    let out: Vec<Option<Answer>> = over_expressions(db, helper, path, ranges, |protos, model, env, expr, loaded| {
        expr.inferred_type(model)?;
        // ty keeps the declared type of a name bound by `def`/`class` even where an
        // assignment rebinds it (`task = asyncio.create_task(task())`): unknown.
        let unknown = || Answer { elements: vec![element(db, env, protos, Type::unknown())], arms: Vec::new() };
        if let Expr::Name(name) = expr {
            if rebinds_a_declaration(model, name) {
                return Some(unknown());
            }
        }
        let mut follower = Follower::new(db);
        if let Some(receiver) = attribute_receiver(expr) {
            if follower.intercepts_attributes(model, receiver) {
                loaded.append(&mut follower.loaded);
                return Some(unknown());
            }
        }
        let sources = follower.elements(model, expr, 0);
        let mut elements: Vec<Element> = sources.iter().map(|source| source_element(db, env, protos, source)).collect();
        qualify_alternatives(db, env, &sources, &mut elements);
        fill_instance_protocols(model, &mut follower, &sources, &mut elements);
        if let Expr::Call(call) = expr {
            fill_awaited_results(db, env, protos, &mut follower, model, call, &mut elements);
        }
        let arms = if elements.iter().filter(|element| !element.is_none).count() > 1 {
            code_arms(db, model, expr, &mut follower)
                .unwrap_or_default()
                .into_iter()
                .map(|(label, sources)| {
                    let mut elements: Vec<Element> =
                        sources.iter().map(|source| source_element(db, env, protos, source)).collect();
                    for (element, source) in elements.iter_mut().zip(&sources) {
                        if let Source::Value(t) = source {
                            element.qualified = qualified_name(db, env, *t);
                        }
                    }
                    Arm { label, elements }
                })
                .collect()
        } else {
            Vec::new()
        };
        loaded.append(&mut follower.loaded);
        Some(Answer { elements, arms })
    })?;
    // `ASYNCSENSE_LOG=asyncsense_analysis::python::types=debug` shows what was inferred.
    if tracing::enabled!(tracing::Level::DEBUG) {
        for (range, answer) in ranges.iter().zip(out.iter()) {
            let shown: Vec<&str> = answer
                .iter()
                .flat_map(|answer| answer.elements.iter())
                .map(|element| element.display.as_str())
                .collect();
            tracing::debug!("type of {}:{}..{}: {}", path.display(), range.0, range.1, shown.join(" | "));
        }
    }
    Some(out)
}
