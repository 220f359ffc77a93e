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
use ty_python_semantic::types::{ProgramEnvironment, Type};
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
    /// Says too little of the runtime object (`Unknown`, `Any`, a type variable, …); its
    /// capabilities are left empty.
    pub unknown: bool,
    pub is_none: bool,
    /// The protocols it is assignable to.
    pub capabilities: CapabilitySet,
    /// For an awaitable: the protocols of what awaiting it gives, when that is known.
    pub awaits_to: Option<CapabilitySet>,
}

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
const PROTOCOLS_PY: &str = r"from typing import Any, Awaitable, Protocol

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
) -> None:
    (a, b, c, d, e, f, g, h, i, j, k, top)
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
    pub fn elements_at(&self, path: &Path, ranges: &[(u32, u32)]) -> Vec<Option<Vec<Element>>> {
        let db = self.db.clone();
        let helper = Arc::clone(&self.helper);
        let path = path.to_path_buf();
        let ranges_owned = ranges.to_vec();
        let n = ranges.len();
        install_quiet_hook();
        let handle = std::thread::Builder::new().stack_size(ruff_db::STACK_SIZE).spawn(move || {
            QUIET_PANICS.with(|q| q.set(true));
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                query_file(&db, &helper.path, &path, &ranges_owned)
            }));
            QUIET_PANICS.with(|q| q.set(false));
            res.ok().flatten()
        });
        match handle.map(std::thread::JoinHandle::join) {
            Ok(Ok(Some(v))) => v,
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
    Some(Protocols { direct: pick(0), awaited: pick(5), awaited_unknown: *tys.get(10)?, top: *tys.get(11)? })
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
        unknown: false,
        is_none: false,
        capabilities,
        awaits_to,
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
    Element { display: t.display(db, env).to_string(), unknown, is_none: t.is_none(db), capabilities, awaits_to }
}

fn query_file(
    db: &EngineDbImpl,
    helper: &SystemPath,
    path: &Path,
    ranges: &[(u32, u32)],
) -> Option<Vec<Option<Vec<Element>>>> {
    let protos = protocols(db, helper)?;
    let sys_path = SystemPath::absolute(SystemPath::from_std_path(path)?, db.system.current_directory());
    let file = system_path_to_file(db, &sys_path).ok()?;
    let pf = ty_python_semantic::Db::program_file(db, file);
    let model = SemanticModel::new(db, pf);
    let env = ProgramEnvironment::from_file(pf);
    let module = parsed_module(db, pf.python_file(db));
    let mut loaded: Vec<ruff_db::PythonFile<'_>> = Vec::new();
    let out: Vec<Option<Vec<Element>>> = {
        let parsed = module.load(db);
        ranges
            .iter()
            .map(|&r| {
                let expr = find_expr(parsed.syntax(), r)?;
                expr.inferred_type(&model)?;
                // ty keeps the declared type of a name bound by `def`/`class` even where an
                // assignment rebinds it (`task = asyncio.create_task(task())`): unknown.
                if let Expr::Name(name) = expr {
                    if rebinds_a_declaration(&model, name) {
                        return Some(vec![element(db, &env, &protos, Type::unknown())]);
                    }
                }
                let mut follower = Follower::new(db);
                if let Some(receiver) = attribute_receiver(expr) {
                    if follower.intercepts_attributes(&model, receiver) {
                        loaded.append(&mut follower.loaded);
                        return Some(vec![element(db, &env, &protos, Type::unknown())]);
                    }
                }
                let mut elements: Vec<Element> = follower
                    .elements(&model, expr, 0)
                    .iter()
                    .map(|source| source_element(db, &env, &protos, source))
                    .collect();
                if let Expr::Call(call) = expr {
                    fill_awaited_results(db, &env, &protos, &mut follower, &model, call, &mut elements);
                }
                loaded.append(&mut follower.loaded);
                Some(elements)
            })
            .collect()
    };
    module.clear(); // free the syntax tree; ty reparses lazily if needed again
    for other in loaded {
        if other != pf.python_file(db) {
            parsed_module(db, other).clear();
        }
    }
    // `ASYNCSENSE_LOG=asyncsense_analysis::python::types=debug` shows what was inferred.
    if tracing::enabled!(tracing::Level::DEBUG) {
        for (range, answer) in ranges.iter().zip(out.iter()) {
            let shown: Vec<&str> =
                answer.iter().flat_map(|elements| elements.iter()).map(|element| element.display.as_str()).collect();
            tracing::debug!("type of {}:{}..{}: {}", path.display(), range.0, range.1, shown.join(" | "));
        }
    }
    Some(out)
}
