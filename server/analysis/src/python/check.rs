//! The checker: resolve each use site of a module and report protocol mismatches; check each
//! function's return annotation against its body.
//!
//! Every message says what the object is (and where it is defined) and what the code asks of
//! it; what to write instead goes to the finding's `help`, said once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Finding, Fix, RelatedLocation};
use crate::protocol::{classify, Capability, CapabilitySet, Provided, UseSiteKind, ValueKind};
use crate::python::facts::{
    Binding, Decorates, ExprId, Exprs, FunctionFact, PassedFunction, ScopeId, ScopeKind, Shape, SinkArgument, SinkCall,
    UseSite, UseSiteShape, Wrapped, YieldShape,
};
use crate::python::fixes;
use crate::python::resolve::{Origin, Resolver, Value};
use crate::python::sinks::{self, Expects, Outcome, Sink};
use crate::python::types::{Alternative, CallPart, Inferred, Made, TypeLayer};
use crate::rules::{Rule, RuleSet};
use crate::workspace::{IndexedModule, ModuleIndex};

/// What the checker needs besides the module itself.
pub struct CheckContext<'a> {
    pub index: &'a dyn ModuleIndex,
    /// Paths in messages are shown relative to this folder when they are inside it.
    pub display_root: Option<&'a Path>,
    /// The rules that report.
    pub rules: RuleSet,
    /// Also build fixes that scan the whole workspace (decorating a definition). Worth it when
    /// a user asks for code actions, not on every keystroke's diagnostics.
    pub workspace_fixes: bool,
    /// The type layer, asked about operands our resolver does not know (`None`: not asked).
    /// It reads files from disk, so a caller with unsaved texts passes `None`.
    pub types: Option<&'a TypeLayer>,
}

/// A module's text for its checks, read only when a finding needs it (for its excerpt, its
/// fixes, or its line among the suppressions). Most modules have no finding, so the CLI, which
/// keeps facts but not texts, reads them once instead of twice.
pub struct Source<'a> {
    loaded: Option<&'a str>,
    read: Option<&'a dyn Fn() -> Option<String>>,
    read_text: std::cell::OnceCell<Option<String>>,
}

impl<'a> Source<'a> {
    /// A text already in hand.
    pub fn loaded(text: &'a str) -> Source<'a> {
        Source { loaded: Some(text), read: None, read_text: std::cell::OnceCell::new() }
    }

    /// A text `read` gives on first use (`None`: unreadable, and the findings that need it are
    /// dropped).
    pub fn lazy(read: &'a dyn Fn() -> Option<String>) -> Source<'a> {
        Source { loaded: None, read: Some(read), read_text: std::cell::OnceCell::new() }
    }

    pub fn text(&self) -> Option<&str> {
        if let Some(text) = self.loaded {
            return Some(text);
        }
        self.read_text.get_or_init(|| self.read.and_then(|read| read())).as_deref()
    }

    /// The text, if `read` was called and gave one.
    pub fn into_read(self) -> Option<String> {
        self.read_text.into_inner().flatten()
    }
}

/// Checks every use site and definition of `module`, whose text is `source`. Findings come out
/// in source order.
pub fn check_module(module: &Arc<IndexedModule>, source: &str, context: &CheckContext<'_>) -> Vec<Finding> {
    check_module_with(module, &Source::loaded(source), context)
}

/// [`check_module`] with a text that may be read only if a finding needs it.
pub fn check_module_with(module: &Arc<IndexedModule>, source: &Source<'_>, context: &CheckContext<'_>) -> Vec<Finding> {
    let mut resolver = Resolver::new(context.index);
    let mut findings: Vec<Finding> = module
        .facts
        .syntax_errors
        .iter()
        .map(|(span, error)| Finding {
            rule: Rule::SyntaxError,
            range: span.range(),
            message: format!("syntax error: {error}"),
            fixes: Vec::new(),
            related: Vec::new(),
            help: None,
        })
        .collect();
    let mut unknown = Vec::new();
    for site in &module.facts.use_sites {
        match check_use_site(&mut resolver, module, site, source, context) {
            Checked::Finding(finding) => findings.push(finding),
            Checked::Fine => {}
            Checked::Unknown => unknown.push(site),
        }
    }
    if let (Some(types), false) = (context.types, unknown.is_empty()) {
        findings.extend(check_inferred(types, module, &unknown, source, context));
    }
    for passed in &module.facts.passed_functions {
        if let Some(finding) = check_passed_function(&mut resolver, module, passed, source, context) {
            findings.push(finding);
        }
    }
    for function_id in 0..module.facts.functions.len() {
        let Ok(function_id) = u32::try_from(function_id) else { break };
        if let Some(finding) = check_annotation(&mut resolver, module, function_id, source, context) {
            findings.push(finding);
        }
    }
    findings.extend(check_sink_calls(&mut resolver, module, source, context));
    if context.rules.contains(Rule::AmbiguousFactoryName) {
        findings.extend(check_factory_names(&mut resolver, module));
    }
    if context.rules.contains(Rule::TestDoubleProtocolMismatch) {
        findings.extend(crate::python::doubles::check_doubles(&mut resolver, module, context));
    }
    if findings.is_empty() {
        return findings;
    }
    let Some(source) = source.text() else { return Vec::new() };
    // Sorted first, so that the line cursor only moves forward.
    findings.sort_by_key(|finding| (finding.range.start, finding.rule));
    let mut lines = crate::line_index::LineCursor::new(source);
    let suppressions = &module.facts.suppressions;
    findings.retain(|finding| {
        let line = u32::try_from(lines.line(finding.range.start)).unwrap_or(u32::MAX);
        finding.rule == Rule::SyntaxError
            || (context.rules.contains(finding.rule) && !suppressions.suppresses(finding.rule, line))
    });
    findings
}

/// Words that name something with a lifecycle (entered, then closed).
const LIFECYCLE_WORDS: &[&str] = &[
    "session",
    "sessions",
    "connection",
    "conn",
    "db",
    "database",
    "client",
    "transaction",
    "tx",
    "cursor",
    "lock",
    "scope",
    "context",
    "ctx",
    "resource",
    "pool",
];

/// `get_session`, `open_connection`, `session_scope`, `db_context`: names that promise a
/// context manager.
fn sounds_like_context_manager_getter(name: &str) -> bool {
    let words: Vec<&str> = name.trim_start_matches('_').split('_').filter(|word| !word.is_empty()).collect();
    let (Some(first), Some(last)) = (words.first(), words.last()) else { return false };
    let has_lifecycle_word = words.iter().any(|word| LIFECYCLE_WORDS.contains(word));
    (has_lifecycle_word && matches!(*first, "get" | "open" | "acquire" | "create" | "new" | "make"))
        || (words.len() > 1 && matches!(*last, "scope" | "context" | "ctx"))
}

/// APM302: an async generator named like a context-manager getter and entered as one somewhere
/// in the workspace. Reported at the definition.
fn check_factory_names(resolver: &mut Resolver<'_>, module: &Arc<IndexedModule>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (idx, function) in module.facts.functions.iter().enumerate() {
        let name = module.facts.exprs.text(function.name);
        if !(function.is_async && function.is_generator && sounds_like_context_manager_getter(name)) {
            continue;
        }
        let Ok(function_id) = u32::try_from(idx) else { break };
        // What calling it gives, decorators applied: an `@asynccontextmanager` function is a
        // context-manager factory, and its name is right; an unknown decorator says nothing.
        let made = resolver.call_result(&Value::Function(Arc::clone(module), function_id));
        if !made.is_some_and(|(made, _)| made.is_async_generator()) {
            continue;
        }
        let mut entered_at = None;
        for using in context_manager_users(resolver) {
            for site in &using.facts.use_sites {
                if !matches!(site.kind, UseSiteKind::AsyncWith | UseSiteKind::With) {
                    continue;
                }
                let Shape::Call(callee, _) = using.facts.exprs.get(site.operand) else { continue };
                let callee = resolver.evaluate(&using, site.scope, callee);
                if matches!(&callee, Value::Function(found, id) if *id == function_id && found.path == module.path) {
                    entered_at = Some((using.path.clone(), site.range.range()));
                    break;
                }
            }
            if entered_at.is_some() {
                break;
            }
        }
        let Some((path, range)) = entered_at else { continue };
        findings.push(Finding {
            rule: Rule::AmbiguousFactoryName,
            range: function.name_range(),
            message: format!(
                "`{name}` is an async generator, but its name reads like a context-manager getter, and it is entered with `async with` elsewhere"
            ),
            fixes: Vec::new(),
            related: vec![RelatedLocation { path, range, message: "entered here".to_owned() }],
            help: Some(format!(
                "name it for what it yields (for example `iter_{}`), or make it a context manager with `@contextlib.asynccontextmanager`",
                name.trim_start_matches("get_"),
            )),
        });
    }
    findings
}

/// Modules that enter something with `with`/`async with` (the factory may reach them under
/// any name: an attribute, an alias, a parameter). APM302 is opt-in, so scanning is affordable.
fn context_manager_users(resolver: &Resolver<'_>) -> Vec<Arc<IndexedModule>> {
    resolver
        .index()
        .modules()
        .into_iter()
        .filter(|module| {
            module.facts.use_sites.iter().any(|site| {
                matches!(site.kind, UseSiteKind::AsyncWith | UseSiteKind::With)
                    && matches!(module.facts.exprs.get(site.operand), Shape::Call(..))
            })
        })
        .collect()
}

/// What checking a use site with our resolver concluded.
enum Checked {
    Finding(Finding),
    /// Known to be right, or nothing to say (a suppression-worthy context, a guarded branch).
    Fine,
    /// The resolver does not know the operand: the type layer may.
    Unknown,
}

/// The use sites whose operands the type layer is asked about: the async ones and `with`.
/// Left out for now:
/// - plain `for` outside `async def`: the bulk of all use sites, and asking about them makes ty
///   infer function bodies nothing else asks about (on the standard library it doubled the
///   time with the type layer, and quadrupled it on the benchmark corpus, for no finding). An
///   async iterable iterated with plain `for` in sync code is left to our own resolver;
/// - protocol API calls other than `anext(x)` and an exit stack's `enter_context(x)` and
///   `enter_async_context(x)`, which are asked only when ty confirms the callee (see
///   [`confirmed_protocol_calls`]): our resolver accepts them by name when it does not know the
///   callee, and asyncstdlib's `ExitStack.enter_context` is async;
/// - in test modules, operands reached from an annotated parameter: pytest injects fixtures
///   whatever the annotation says (redis's tests annotate the async client as the sync one).
fn ask_types_about(module: &IndexedModule, site: &UseSite) -> bool {
    (site.kind != UseSiteKind::For || site.in_async_function)
        && !matches!(site.shape, UseSiteShape::CallArgument { method, .. } if !PROTOCOL_APIS.iter().any(|(name, _)| *name == method))
        && !(is_test_module(module) && reached_through_annotated_parameter(module, site.scope, site.operand))
}

/// The protocol API calls the type layer is asked about, and what ty must name the callee
/// (module-qualified, as defined in typeshed) for the argument to be checked.
const PROTOCOL_APIS: &[(&str, &[&str])] = &[
    ("anext", &["builtins.anext"]),
    ("enter_async_context", &["contextlib.AsyncExitStack.enter_async_context"]),
    ("enter_context", &["contextlib._BaseExitStack.enter_context", "contextlib.ExitStack.enter_context"]),
];

/// Of `sites`, those that are not protocol API calls, and those whose callee ty names as the
/// standard library's (a project's or asyncstdlib's `enter_context` is another API).
fn confirmed_protocol_calls<'s>(
    types: &TypeLayer,
    module: &IndexedModule,
    sites: Vec<&'s UseSite>,
) -> Vec<&'s UseSite> {
    let calls: Vec<(u32, u32)> = sites
        .iter()
        .filter_map(|site| match site.shape {
            UseSiteShape::CallArgument { callee_span, .. } => Some(callee_span),
            _ => None,
        })
        .collect();
    if calls.is_empty() {
        return sites;
    }
    let mut parts = types.call_parts_at(&module.path, &calls).into_iter();
    sites
        .into_iter()
        .filter(|site| {
            let UseSiteShape::CallArgument { method, .. } = site.shape else { return true };
            let callee = parts.next().flatten().and_then(|part| part.callee);
            PROTOCOL_APIS.iter().any(|(name, callees)| {
                *name == method && callee.as_deref().is_some_and(|callee| callees.contains(&callee))
            })
        })
        .collect()
}

/// `test_*.py`, `*_test.py`, `conftest.py`, or anything under a `tests`/`test` package or folder
/// of the workspace. Only the module's import names are looked at, not the folders above the
/// workspace: a project kept under `~/tests/` is not a test suite.
fn is_test_module(module: &IndexedModule) -> bool {
    let name = module.path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default();
    name.starts_with("test_")
        || name.ends_with("_test")
        || name == "conftest"
        || module.names.iter().any(|dotted| dotted.split('.').any(|part| matches!(part, "tests" | "test")))
}

/// The findings on operands only the type layer knows, asked in one batch per module.
fn check_inferred(
    types: &TypeLayer,
    module: &Arc<IndexedModule>,
    sites: &[&UseSite],
    source: &Source<'_>,
    context: &CheckContext<'_>,
) -> Vec<Finding> {
    let sites: Vec<&UseSite> = sites.iter().copied().filter(|site| ask_types_about(module, site)).collect();
    if sites.is_empty() || module.path.extension().is_none_or(|extension| extension != "py") {
        return Vec::new();
    }
    let sites = confirmed_protocol_calls(types, module, sites);
    let ranges: Vec<(u32, u32)> = sites
        .iter()
        .filter_map(|site| Some((u32::try_from(site.range.start()).ok()?, u32::try_from(site.range.end()).ok()?)))
        .collect();
    if ranges.len() != sites.len() {
        return Vec::new();
    }
    let answers = types.inferred_at(&module.path, &ranges);
    let mut findings = Vec::new();
    // Objects without the protocol, whose call may have it (APM109), asked together.
    let mut callable_objects: Vec<(&UseSite, String)> = Vec::new();
    for (site, answer) in sites.into_iter().zip(answers) {
        let Some(Inferred { display, provided, only_none, alternatives, classes }) = answer else { continue };
        if let Some((own, instances)) = classes {
            if let Some(finding) = check_uncalled_class(module, site, &display, own, instances, source) {
                findings.push(finding);
            }
            continue;
        }
        if only_none
            && !(site.kind == UseSiteKind::Await && matches!(module.facts.exprs.get(site.operand), Shape::Call(..)))
        {
            continue;
        }
        let Some(rule) = classify(site.kind, provided) else {
            if let Some(finding) = check_alternatives(site, &display, &alternatives, source) {
                findings.push(finding);
            } else if matches!(provided, Provided::Known { capabilities, .. } if !capabilities.contains(site.kind.requires()))
                && is_statement_use(site)
                && !matches!(module.facts.exprs.get(site.operand), Shape::Call(..))
            {
                callable_objects.push((site, display));
            }
            continue;
        };
        let Some(text) = source.text() else { break };
        let Some(operand) = text.get(site.range.range()).map(excerpt) else { continue };
        // The type stands where a definition would: named in the message, not linked.
        let origin = Origin { path: PathBuf::new(), range: 0..0, line: 0, description: display.clone(), name: display };
        let (message, help) = message(rule, site, provided, Some(&origin), None, &operand, text, context);
        let mut fixes = fixes::for_use_site(rule, site, &module.facts.exprs, text, provided);
        // A type is what the code declares (typeshed's stubs, annotations) or what its
        // `return`s suggest, not what runs.
        fixes.iter_mut().for_each(fixes::rests_on_inference);
        findings.push(Finding {
            rule,
            range: site.range.range(),
            message,
            fixes,
            related: Vec::new(),
            help: Some(help),
        });
    }
    findings.extend(check_uncalled_objects(types, module, &callable_objects, source));
    findings
}

/// APM109 on a callable object whose call has the protocol the use needs and which itself does
/// not: `async with SessionLocal:`, where `SessionLocal = async_sessionmaker(engine)`.
fn check_uncalled_objects(
    types: &TypeLayer,
    module: &IndexedModule,
    candidates: &[(&UseSite, String)],
    source: &Source<'_>,
) -> Vec<Finding> {
    let ranges: Vec<(u32, u32)> = candidates
        .iter()
        .filter_map(|(site, _)| Some((u32::try_from(site.range.start()).ok()?, u32::try_from(site.range.end()).ok()?)))
        .collect();
    if ranges.is_empty() || ranges.len() != candidates.len() {
        return Vec::new();
    }
    let Some(text) = source.text() else { return Vec::new() };
    let parts = types.call_parts_at(&module.path, &ranges);
    candidates
        .iter()
        .zip(parts)
        .filter_map(|((site, display), part)| {
            let makes = part?.call_capabilities?;
            let required = site.kind.requires();
            if !makes.contains(required) {
                return None;
            }
            let operand = excerpt(text.get(site.range.range())?);
            let message = format!(
                "`{operand}` is of type `{display}` (as inferred from annotations, stubs and `return` statements), which is not {}, but calling it returns {}; `{}` needs the object the call returns",
                required.python_description(),
                capability_names(makes),
                site.kind.python_syntax(),
            );
            Some(call_it(module, site, text, &operand, message))
        })
        .collect()
}

/// APM109 on a class object: `async with ApiClient as client:`, where the class's instances are
/// async context managers and the class object (its metaclass) is not.
fn check_uncalled_class(
    module: &IndexedModule,
    site: &UseSite,
    display: &str,
    own: CapabilitySet,
    instances: CapabilitySet,
    source: &Source<'_>,
) -> Option<Finding> {
    let required = site.kind.requires();
    if !is_statement_use(site) || own.contains(required) || !instances.contains(required) {
        return None;
    }
    let text = source.text()?;
    let operand = excerpt(text.get(site.range.range())?);
    let display = display.strip_prefix("<class '").and_then(|rest| rest.strip_suffix("'>")).unwrap_or(display);
    let message = format!(
        "`{operand}` is the class `{display}` (as inferred from annotations, stubs and `return` statements), not an instance of it; `{}` needs {}, which its instances have",
        site.kind.python_syntax(),
        required.python_description(),
    );
    Some(call_it(module, site, text, &operand, message))
}

/// APM109 found by the type layer: the help and the fix add the call, whose arguments (a
/// constructor's, a callable object's) are the user's to add.
fn call_it(module: &IndexedModule, site: &UseSite, text: &str, operand: &str, message: String) -> Finding {
    let help = format!("call it: `{}`", usage(site.kind, &format!("{operand}()"), target_text(site, text)));
    let fixes = fixes::add_call(site, &module.facts.exprs, false).into_iter().collect();
    Finding {
        rule: Rule::UncalledFactory,
        range: site.range.range(),
        message,
        fixes,
        related: Vec::new(),
        help: Some(help),
    }
}

/// A use that the union of an operand's code paths serves, but one path does not
/// (`threading.Lock() if threads else asyncio.Lock()` under `async with`): it fails whenever
/// that path is taken. No fix: what serves one path breaks the other.
fn check_alternatives(
    site: &UseSite,
    display: &str,
    alternatives: &[Alternative],
    source: &Source<'_>,
) -> Option<Finding> {
    let (rule, failing) =
        alternatives.iter().find_map(|alternative| Some((classify(site.kind, alternative.provided)?, alternative)))?;
    let text = source.text()?;
    let operand = excerpt(text.get(site.range.range())?);
    let Provided::Known { capabilities, .. } = failing.provided else { return None };
    let serving: Vec<&str> = alternatives
        .iter()
        .filter(|alternative| classify(site.kind, alternative.provided).is_none())
        .map(|alternative| alternative.label.as_str())
        .collect();
    let syntax = site.kind.python_syntax();
    let message = format!(
        "`{operand}` is of type `{display}` (as inferred from annotations, stubs and `return` statements); on the path through {}, it is `{}`, which is {}, and `{syntax}` fails: it needs {}",
        failing.label,
        failing.display,
        capability_names(capabilities),
        site.kind.requires().python_description(),
    );
    let help = format!(
        "Only {} serves `{syntax}` here: make every path give a value that serves it, or tell them apart (`isinstance`) before using it",
        serving.join(", "),
    );
    Some(Finding { rule, range: site.range.range(), message, fixes: Vec::new(), related: Vec::new(), help: Some(help) })
}

fn check_use_site(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    site: &UseSite,
    source: &Source<'_>,
    context: &CheckContext<'_>,
) -> Checked {
    match check_use_site_with_resolver(resolver, module, site, source, context) {
        Some(Ok(finding)) => Checked::Finding(finding),
        Some(Err(())) => Checked::Unknown,
        None => Checked::Fine,
    }
}

/// `Some(Ok(finding))`, `Some(Err(()))` when the resolver does not know the operand, `None`
/// when there is nothing to report.
fn check_use_site_with_resolver(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    site: &UseSite,
    source: &Source<'_>,
    context: &CheckContext<'_>,
) -> Option<Result<Finding, ()>> {
    // `with pytest.raises(TypeError):` and `except TypeError:` around the use: the mismatch is
    // the point of the code (a test that it fails), and a fix would break it.
    if site.expects_error {
        return None;
    }
    // Code behind a version guard runs only in some environments: check it only when the
    // environment is known to take that branch (never flag the dead branch of a fix).
    if !site.guards.is_empty() {
        let python = context.index.python_version();
        if !site.guards.iter().all(|guard| guard.holds(python) == Some(true)) {
            return None;
        }
    }
    if let UseSiteShape::CallArgument { callee, method, .. } = &site.shape {
        if !callee_is_protocol_api(resolver, module, site.scope, *callee, method) {
            return None;
        }
    }
    let value = resolver.evaluate(module, site.scope, site.operand);
    let value = resolver.settle(value);
    let (provided, origin) = value.provided();
    if let Some(rule) = classify(site.kind, provided) {
        let source = source.text()?;
        let operand = excerpt(source.get(site.range.range())?);
        let shape = if rule == Rule::AsyncWithOnAsyncGenerator {
            yield_shape(resolver, module, provided, origin.as_deref())
        } else {
            None
        };
        let (message, help) = message(rule, site, provided, origin.as_deref(), shape, &operand, source, context);
        let mut fixes = if rule == Rule::AsyncWithOnAsyncGenerator {
            async_generator_fixes(resolver, module, site, source, provided, shape, origin.as_deref(), context)
        } else {
            fixes::for_use_site(rule, site, &module.facts.exprs, source, provided)
        };
        // `list(async items)`: collected first, where an async comprehension may stand (directly
        // in an `async def`, not in a lambda or another comprehension).
        if let (Rule::ForOnAsyncIterable, UseSiteShape::CallArgument { method, .. }) = (rule, &site.shape) {
            let in_def = matches!(module.facts.scope(site.scope).map(|scope| scope.kind), Some(ScopeKind::Function(_)));
            let generator_expression = matches!(module.facts.exprs.get(site.operand), Shape::AsyncGenerator);
            if site.in_async_function && in_def {
                fixes.extend(fixes::collect_first(source, site, method, generator_expression));
            }
        }
        // A protocol read from an annotation is what the code says, not what runs: a parameter
        // annotated with the sync client may receive the async one from a fixture. A fix that
        // rests on it is a guess.
        if matches!(provided, Provided::Known { kind: ValueKind::Declared, .. })
            || reached_through_annotated_parameter(module, site.scope, site.operand)
        {
            fixes.iter_mut().for_each(fixes::rests_on_a_declaration);
        }
        let mut finding = finding(rule, site.range.range(), message, fixes, origin.as_deref());
        finding.help = Some(help);
        return Some(Ok(finding));
    }
    // A callable object without the protocol whose call has it (`async with SessionLocal:`,
    // `SessionLocal = async_sessionmaker(engine)`).
    if let Provided::Known { capabilities, .. } = provided {
        if capabilities.contains(Capability::Call) && !capabilities.contains(site.kind.requires()) {
            // Our resolver may not know what the call makes (`__call__` returns a type
            // variable): the type layer may.
            return Some(uncalled_factory(resolver, module, site, &value, source, context).ok_or(()));
        }
    }
    if let Provided::Known { capabilities, awaits_to: None, .. } = provided {
        // A coroutine whose awaited result we do not know (`async def connect(cls) -> Self`)
        // used as something else: the type layer may know what awaiting it gives (APM108).
        return (capabilities.contains(Capability::Await) && site.kind != UseSiteKind::Await).then_some(Err(()));
    }
    if provided != Provided::Unknown {
        return None;
    }
    match uncalled_factory(resolver, module, site, &value, source, context) {
        Some(finding) => Some(Ok(finding)),
        None => Some(Err(())),
    }
}

/// APM109: a factory used where its product was meant: `async with get_session:`.
fn uncalled_factory(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    site: &UseSite,
    value: &Value,
    source: &Source<'_>,
    context: &CheckContext<'_>,
) -> Option<Finding> {
    if !is_statement_use(site) || matches!(module.facts.exprs.get(site.operand), Shape::Call(..)) {
        return None;
    }
    {
        let (made, origin) = uncalled_product(resolver, value)?;
        let Provided::Known { capabilities, .. } = made else { return None };
        if !capabilities.contains(site.kind.requires()) {
            return None;
        }
        let source = source.text()?;
        let operand = excerpt(source.get(site.range.range())?);
        let message = format!(
            "`{operand}` is {}, not the object it makes; `{}` needs {}, which its call returns",
            describe_factory(made, origin.as_deref(), context),
            site.kind.python_syntax(),
            site.kind.requires().python_description(),
        );
        let help = format!("call it: `{}`", usage(site.kind, &format!("{operand}()"), target_text(site, source)));
        let fixes = fixes::add_call(site, &module.facts.exprs, callable_without_arguments(value)).into_iter().collect();
        let mut finding = finding(Rule::UncalledFactory, site.range.range(), message, fixes, origin.as_deref());
        finding.help = Some(help);
        Some(finding)
    }
}

/// APM101's fixes, safe first. Which ones keep behaviour depends on the generator's body:
/// - it yields at most once (a session or resource dependency): wrapping it with
///   `asynccontextmanager` at the use, or decorating it when every use enters it, is the
///   program its author meant (commit after the block, rollback on an exception in it);
///   swapping `async with` for `async for` is safe only when nothing of it runs after `yield`;
/// - it yields many values (a stream): iterate it directly when the block only iterates it;
/// - its body is unknown (a library, a declared type): every fix is a guess, so unsafe.
#[expect(clippy::too_many_arguments, reason = "one call site, every argument is the finding's own")]
fn async_generator_fixes(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    site: &UseSite,
    source: &str,
    provided: Provided,
    shape: Option<YieldShape>,
    origin: Option<&Origin>,
    context: &CheckContext<'_>,
) -> Vec<Fix> {
    use crate::Applicability::{Safe, Unsafe};
    let is_generator = matches!(provided, Provided::Known { kind: ValueKind::AsyncGenerator, .. });
    let once = shape.is_some_and(YieldShape::yields_at_most_once);
    let mut fixes = Vec::new();
    if is_generator && shape != Some(YieldShape::Many) {
        let reference = asynccontextmanager_reference(resolver, module);
        let applicability = if once { Safe } else { Unsafe };
        let import_insertion = module.facts.import_insertion;
        fixes.extend(fixes::wrap_with_asynccontextmanager(
            source,
            site,
            reference.as_deref(),
            import_insertion,
            applicability,
        ));
        if let (true, true, Some(origin)) = (context.workspace_fixes, once, origin) {
            fixes.extend(decorate_definition(resolver, module, origin));
        }
    }
    if shape.is_none() || shape == Some(YieldShape::Many) {
        let applicability = if shape == Some(YieldShape::Many) { Safe } else { Unsafe };
        fixes.extend(fixes::flatten_iteration(source, site, applicability));
    }
    fixes.extend(fixes::swap_guard_for_iteration(source, site, shape == Some(YieldShape::OnceLast)));
    // The preferred fix is the first one, when it is safe.
    fixes.sort_by_key(|fix| fix.applicability != Safe);
    fixes
}

/// How the async generator function behind an APM101 finding yields, when its body is in the
/// workspace.
fn yield_shape(
    resolver: &Resolver<'_>,
    module: &Arc<IndexedModule>,
    provided: Provided,
    origin: Option<&Origin>,
) -> Option<YieldShape> {
    if !matches!(provided, Provided::Known { kind: ValueKind::AsyncGenerator, .. }) {
        return None;
    }
    let (defining, function_id) = generator_function(resolver, module, origin?)?;
    defining.facts.function(function_id).map(|function| function.yields)
}

/// The workspace function that `origin` names, when it is a generator function.
fn generator_function(
    resolver: &Resolver<'_>,
    module: &Arc<IndexedModule>,
    origin: &Origin,
) -> Option<(Arc<IndexedModule>, u32)> {
    let defining =
        if origin.path == module.path { Arc::clone(module) } else { resolver.index().at_path(&origin.path)? };
    let function_id = defining
        .facts
        .functions
        .iter()
        .position(|function| function.is_generator && function.name_range() == origin.range)?;
    Some((defining, u32::try_from(function_id).ok()?))
}

/// APM101's definition-side fix: decorate the async generator itself with
/// `@asynccontextmanager`, offered only when every use of it in the workspace enters it (a use
/// that iterates it, awaits it, or hands it on, as `Depends(get_session)` in a `FastAPI` route
/// does, rules it out). Offered for a generator that yields once: then it keeps behaviour.
fn decorate_definition(resolver: &mut Resolver<'_>, module: &Arc<IndexedModule>, origin: &Origin) -> Option<Fix> {
    let (defining, function_id) = generator_function(resolver, module, origin)?;
    let function = defining.facts.function(function_id)?;
    if !(function.is_async && only_transparent_decorators(&defining.facts.exprs, function)) {
        return None;
    }
    let is_this = |value: &Value| matches!(value, Value::Function(found, id) if *id == function_id && found.path == defining.path);
    let mut entered = 0;
    for using in resolver.index().modules() {
        let using = if using.path == module.path { Arc::clone(module) } else { using };
        for site in &using.facts.use_sites {
            let callee = using.facts.exprs.uncalled(site.operand);
            if !is_this(&resolver.evaluate(&using, site.scope, callee)) {
                continue;
            }
            let enters = matches!(site.kind, UseSiteKind::AsyncWith) && callee != site.operand;
            if !enters {
                return None;
            }
            entered += 1;
        }
        for passed in &using.facts.passed_functions {
            if is_this(&resolver.evaluate(&using, passed.scope, passed.argument)) {
                return None;
            }
        }
    }
    if entered == 0 {
        return None;
    }
    let reference = asynccontextmanager_reference(resolver, &defining);
    let mut edits = Vec::new();
    if reference.is_none() {
        edits.push(crate::Edit {
            range: defining.facts.import_insertion..defining.facts.import_insertion,
            content: "import contextlib\n".to_owned(),
        });
    }
    let decorator = reference.unwrap_or_else(|| "contextlib.asynccontextmanager".to_owned());
    edits.push(crate::Edit {
        range: function.def_line_start()..function.def_line_start(),
        content: format!("{}@{decorator}\n", defining.facts.exprs.text(function.indent)),
    });
    let title = format!(
        "Decorate `{}` with `@{decorator}` (every use, {entered} in all, enters it)",
        defining.facts.exprs.text(function.name)
    );
    let (edits, other_files) = if defining.path == module.path {
        (edits, Vec::new())
    } else {
        (Vec::new(), vec![(defining.path.clone(), edits)])
    };
    Some(Fix { title, applicability: crate::Applicability::Safe, edits, other_files })
}

/// The first top-level name (in name order) whose value `pick` maps to a spelling: how the
/// module already refers to a library object, under whatever alias.
fn top_level_spelling(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    mut pick: impl FnMut(&str, &str) -> Option<String>,
) -> Option<String> {
    module.facts.scope(crate::python::facts::MODULE_SCOPE)?;
    // Only imports and plain aliases (`acm = contextlib.asynccontextmanager`) can name a library
    // object; evaluating every top-level name of a large module costs more than the check.
    let mut names: Vec<&str> = module
        .facts
        .bindings(crate::python::facts::MODULE_SCOPE)
        .iter()
        .filter(|(_, bindings)| {
            bindings.iter().any(|binding| {
                matches!(
                    binding,
                    Binding::ImportModule(_)
                        | Binding::ImportFrom(_)
                ) || matches!(binding, Binding::Value(value) if matches!(module.facts.exprs.get(*value), Shape::Name(_) | Shape::Attribute(..)))
            })
        })
        .map(|(name, _)| name)
        .collect();
    names.sort_unstable();
    names.into_iter().find_map(|name| match resolver.evaluate_name(module, crate::python::facts::MODULE_SCOPE, name) {
        Value::External(qualified) => pick(name, &qualified),
        _ => None,
    })
}

/// How the module already refers to `contextlib.asynccontextmanager` at top level
/// (`asynccontextmanager`, `acm`, `contextlib.asynccontextmanager`, `cl.asynccontextmanager`).
fn asynccontextmanager_reference(resolver: &mut Resolver<'_>, module: &Arc<IndexedModule>) -> Option<String> {
    resolver.spelling(module, "contextlib.asynccontextmanager", |resolver| {
        top_level_spelling(resolver, module, |name, qualified| match qualified {
            "contextlib.asynccontextmanager" => Some(name.to_owned()),
            "contextlib" => Some(format!("{name}.asynccontextmanager")),
            _ => None,
        })
    })
}

fn finding(
    rule: Rule,
    range: std::ops::Range<usize>,
    message: String,
    fixes: Vec<Fix>,
    origin: Option<&Origin>,
) -> Finding {
    let related = origin
        .filter(|origin| !origin.path.as_os_str().is_empty())
        .map(|origin| RelatedLocation {
            path: origin.path.clone(),
            range: origin.range.clone(),
            message: format!("`{}` is defined here", origin.name),
        })
        .into_iter()
        .collect();
    Finding { rule, range, message, fixes, related, help: None }
}

/// A function handed to a parameter annotated as a factory of another protocol:
/// `run(get_session)` where `run(factory: Callable[[], AbstractAsyncContextManager[S]])`.
fn check_passed_function(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    passed: &PassedFunction,
    source: &Source<'_>,
    context: &CheckContext<'_>,
) -> Option<Finding> {
    if passed.expects_error {
        return None;
    }
    let argument = resolver.evaluate(module, passed.scope, passed.argument);
    if !matches!(argument, Value::Function(..)) {
        return None;
    }
    let callee = resolver.evaluate(module, passed.scope, passed.callee);
    let Value::Factory(Provided::Known { capabilities: wanted, .. }, _) =
        resolver.parameter_annotation(&callee, passed.position, passed.keyword.as_deref())?
    else {
        return None;
    };
    let (made, origin) = resolver.call_result(&argument)?;
    // The use the callee will make of the factory's product.
    let kind = [
        (Capability::AsyncCm, UseSiteKind::AsyncWith),
        (Capability::AsyncIter, UseSiteKind::AsyncFor),
        (Capability::Cm, UseSiteKind::With),
        (Capability::Iter, UseSiteKind::For),
        (Capability::Await, UseSiteKind::Await),
    ]
    .into_iter()
    .find(|(capability, _)| wanted.contains(*capability))
    .map(|(_, kind)| kind)?;
    let rule = classify(kind, made)?;
    let name = excerpt(source.text()?.get(passed.range.clone())?);
    let callee_text = module.facts.exprs.last_name(passed.callee).unwrap_or("the callee");
    let parameter = passed.keyword.as_deref().map_or_else(
        || format!("argument {}", passed.position.map_or(0, |position| position + 1)),
        |keyword| format!("`{keyword}`"),
    );
    // Wrapping helps only where a context manager is wanted.
    let example = match kind {
        UseSiteKind::AsyncWith if made.is_async_generator() => {
            format!(", for example `contextlib.asynccontextmanager({name})`")
        }
        _ => String::new(),
    };
    let message = format!(
        "`{name}` is {}, passed as {parameter} of `{callee_text}()`, whose annotation asks for a factory of {}; `{callee_text}` will use its product with `{}`, which fails",
        describe_factory(made, origin.as_deref(), context),
        capability_names(wanted),
        kind.python_syntax(),
    );
    let mut finding = finding(rule, passed.range.clone(), message, Vec::new(), origin.as_deref());
    finding.help = Some(format!("pass a factory of the right kind{example}"));
    Some(finding)
}

/// `with`/`for` statements and comprehensions: places where a bare function is never right.
fn is_statement_use(site: &UseSite) -> bool {
    matches!(
        site.shape,
        UseSiteShape::WithItem { .. } | UseSiteShape::ForIterable { .. } | UseSiteShape::ComprehensionIterable { .. }
    ) && site.kind != UseSiteKind::Await
}

/// What calling a function-like value makes, for functions whose call we understand.
fn uncalled_product(resolver: &mut Resolver<'_>, value: &Value) -> Option<(Provided, Option<Arc<Origin>>)> {
    match value {
        Value::Function(..) | Value::Factory(..) | Value::Library(..) => resolver.call_result(value),
        _ => None,
    }
}

/// Whether the operand's value is reached from a parameter with an annotation (`r: Redis`,
/// then `r.scan_iter()` or `keys = r.scan_iter()`): what it provides then rests on the
/// annotation, not on the object the caller passes.
fn reached_through_annotated_parameter(module: &IndexedModule, scope: ScopeId, operand: ExprId) -> bool {
    let exprs = &module.facts.exprs;
    let mut current = operand;
    // Bounded: a name bound to an expression that mentions it again.
    for _ in 0..32 {
        current = match exprs.get(current) {
            Shape::Call(inner, _)
            | Shape::Attribute(inner, _)
            | Shape::Subscript(inner, _)
            | Shape::Await(inner)
            | Shape::Element(inner, _)
            | Shape::Entered(inner) => inner,
            Shape::Name(name) => {
                let Some((_, bindings)) = module.facts.visible_bindings(scope, name) else { return false };
                if bindings
                    .iter()
                    .any(|binding| matches!(binding, Binding::Parameter(parameter) if parameter.annotation.is_some()))
                {
                    return true;
                }
                match bindings {
                    [Binding::Value(value)] => *value,
                    _ => return false,
                }
            }
            _ => return false,
        };
    }
    false
}

/// Whether `value` is a workspace function whose every parameter has a default (or is
/// `*args`/`**kwargs`): `f()` is then a valid call.
fn callable_without_arguments(value: &Value) -> bool {
    let Value::Function(module, function_id) = value else { return false };
    let Some(function) = module.facts.function(*function_id) else { return false };
    !module.facts.bindings(function.scope).all().any(|binding| {
        matches!(binding, Binding::Parameter(parameter)
            if parameter.slot().is_some_and(|slot| slot.function == *function_id && slot.default.is_none()))
    })
}

/// `anext(x)` must be the builtin; `stack.enter_async_context(x)` must not be a workspace
/// class's own method of that name.
fn callee_is_protocol_api(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    scope: u32,
    callee: ExprId,
    method: &str,
) -> bool {
    // `"".join` is kept only on a string literal.
    let is_method = || {
        matches!(module.facts.exprs.get(callee), Shape::Attribute(_, "enter_async_context" | "enter_context" | "join"))
    };
    match resolver.evaluate(module, scope, callee) {
        Value::External(name) => name == format!("builtins.{method}") || is_method(),
        Value::Unknown => is_method(),
        _ => false,
    }
}

/// `text` shortened for a message.
fn excerpt(text: &str) -> String {
    let single_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if single_line.chars().count() > 60 {
        let mut shortened: String = single_line.chars().take(57).collect();
        shortened.push('…');
        shortened
    } else {
        single_line
    }
}

fn display_path(path: &Path, root: Option<&Path>) -> String {
    let shown = root.and_then(|root| path.strip_prefix(root).ok()).unwrap_or(path);
    shown.display().to_string().replace('\\', "/")
}

fn defined_at(origin: &Origin, context: &CheckContext<'_>) -> String {
    if origin.path.as_os_str().is_empty() {
        return format!("`{}` (built-in library knowledge)", origin.description);
    }
    format!("`{}` at {}:{}", origin.description, display_path(&origin.path, context.display_root), origin.line)
}

fn capability_names(capabilities: CapabilitySet) -> String {
    let names: Vec<&str> = capabilities
        .iter()
        .filter(|capability| *capability != Capability::Call)
        .map(|capability| match capability {
            Capability::Await => "awaitable",
            Capability::AsyncIter => "async-iterable",
            Capability::AsyncCm => "an async context manager",
            Capability::Iter => "iterable",
            Capability::Cm => "a context manager",
            Capability::Call => "callable",
        })
        .collect();
    if names.is_empty() {
        "no async protocol".to_owned()
    } else {
        names.join(" and ")
    }
}

/// "an async generator (`async def get_session` at app/db.py:11 contains `yield`)".
pub(crate) fn describe(provided: Provided, origin: Option<&Origin>, context: &CheckContext<'_>) -> String {
    let Provided::Known { kind, capabilities, .. } = provided else { return "unknown".to_owned() };
    if let (ValueKind::Inferred, Some(inferred)) = (kind, origin) {
        return format!(
            "of type `{}` (as inferred from annotations, stubs and `return` statements), which is {}",
            inferred.description,
            capability_names(capabilities)
        );
    }
    if let Some(library) = origin.filter(|origin| origin.path.as_os_str().is_empty()) {
        let article = if kind == ValueKind::Library { "an object" } else { kind.article_name() };
        // Knowledge keyed by the Python version says which version it assumed.
        let on_python = context
            .index
            .python_target()
            .filter(|_| crate::python::library::depends_on_python_version(&library.description))
            .map(|target| format!(" {}", target.in_message()))
            .unwrap_or_default();
        return format!(
            "{article} made by `{}`, which is {}{on_python} (built-in library knowledge)",
            library.description,
            capability_names(capabilities)
        );
    }
    let at = origin.map(|origin| defined_at(origin, context));
    match (kind, at) {
        (ValueKind::AsyncGenerator, Some(at)) => format!("an async generator ({at} contains `yield`)"),
        (ValueKind::Generator, Some(at)) => format!("a generator ({at} contains `yield`)"),
        (ValueKind::Coroutine, Some(at)) => format!("a coroutine ({at} has no `yield`)"),
        (ValueKind::DecoratedContextManager, Some(at)) => {
            let which = if capabilities.contains(Capability::AsyncCm) {
                "an async context manager"
            } else {
                "a context manager"
            };
            format!("{which} (made by {at}, a context-manager factory)")
        }
        (ValueKind::Instance, Some(at)) => format!("an instance of {at}, which is {}", capability_names(capabilities)),
        (ValueKind::Declared, at) => {
            let from = at.map(|at| format!(" by {at}")).unwrap_or_default();
            format!("declared{from} as {}", capability_names(capabilities))
        }
        (ValueKind::Library | ValueKind::Inferred, _) => {
            format!("an object which is {}", capability_names(capabilities))
        }
        (kind, None) => kind.article_name().to_owned(),
    }
}

pub(crate) fn describe_factory(made: Provided, origin: Option<&Origin>, context: &CheckContext<'_>) -> String {
    let Provided::Known { kind, .. } = made else { return "a function".to_owned() };
    let what = match kind {
        ValueKind::AsyncGenerator => "an async generator function",
        ValueKind::Generator => "a generator function",
        ValueKind::Coroutine => "a coroutine function",
        ValueKind::DecoratedContextManager => "a context-manager factory",
        ValueKind::Instance => "a class",
        ValueKind::Declared | ValueKind::Library | ValueKind::Inferred => "a factory",
    };
    match origin {
        Some(origin) => format!("{what} ({})", defined_at(origin, context)),
        None => what.to_owned(),
    }
}

fn target_text<'s>(site: &UseSite, source: &'s str) -> Option<&'s str> {
    match &site.shape {
        UseSiteShape::WithItem { target: Some(target), .. } | UseSiteShape::ForIterable { target, .. } => {
            source.get(target.range())
        }
        _ => None,
    }
}

/// How the corrected use reads: `async for x in f():`, `async with f() as x:`, …
fn usage(kind: UseSiteKind, operand: &str, target: Option<&str>) -> String {
    match kind {
        UseSiteKind::AsyncWith | UseSiteKind::With => {
            let keyword = kind.python_syntax();
            match target {
                Some(target) => format!("{keyword} {operand} as {target}:"),
                None => format!("{keyword} {operand}:"),
            }
        }
        UseSiteKind::AsyncFor | UseSiteKind::For => {
            format!("{} {} in {operand}:", kind.python_syntax(), target.unwrap_or("item"))
        }
        UseSiteKind::Await => format!("await {operand}"),
    }
}

#[expect(clippy::too_many_arguments, reason = "the finding's parts, each used by some rule")]
fn message(
    rule: Rule,
    site: &UseSite,
    provided: Provided,
    origin: Option<&Origin>,
    shape: Option<YieldShape>,
    operand: &str,
    source: &str,
    context: &CheckContext<'_>,
) -> (String, String) {
    let what = format!("`{operand}` is {}", describe(provided, origin, context));
    let syntax = match &site.shape {
        UseSiteShape::CallArgument { method, .. } => format!("{method}()"),
        _ => site.kind.python_syntax().to_owned(),
    };
    let asks = format!("`{syntax}` needs {}", site.kind.requires().python_description());
    let target = target_text(site, source);
    let outside_async = if site.in_async_function {
        ""
    } else {
        " (inside an `async def`: this code must move into an async function first)"
    };
    let stack_method = match &site.shape {
        UseSiteShape::CallArgument { method, .. } => Some(*method),
        _ => None,
    };
    let enters_async =
        matches!(provided, Provided::Known { capabilities, .. } if capabilities.contains(Capability::AsyncCm));
    let stack_help = match (rule, stack_method) {
        (Rule::AsyncWithOnSyncContextManager, Some("enter_async_context")) => {
            Some(format!("Enter it with the stack's `enter_context({operand})`, without `await`"))
        }
        (Rule::WithOnAsyncObject, Some("enter_context")) if enters_async => {
            Some(format!("Enter it with an `AsyncExitStack`'s `await enter_async_context({operand})`{outside_async}"))
        }
        _ => None,
    };
    let instead = stack_help.unwrap_or_else(|| {
        match rule {
            Rule::AsyncWithOnAsyncGenerator => {
                let iterate = usage(UseSiteKind::AsyncFor, operand, Some(target.unwrap_or("_")));
                // `asynccontextmanager(callee)(arguments)`, as the wrap fix writes it.
                let wrapped = site.callee_range.and_then(|callee| {
                    let arguments = source.get(callee.end()..site.range.end())?;
                    let call = format!("asynccontextmanager({}){arguments}", source.get(callee.range())?);
                    Some(usage(UseSiteKind::AsyncWith, &excerpt(&call), target))
                });
                match (shape, wrapped, origin) {
                (Some(shape), Some(wrapped), Some(origin)) if shape.yields_at_most_once() => format!(
                    "`{}` yields once, so it is a resource written as a generator: enter it through `contextlib.asynccontextmanager`, which runs its code after `yield` when the block ends (`{wrapped}`), or decorate it with `@asynccontextmanager` if nothing iterates it or passes it to `Depends`",
                    origin.name
                ),
                (Some(YieldShape::Many), _, _) => format!("It yields many values: iterate it with `{iterate}`"),
                (None, Some(wrapped), _) if matches!(provided, Provided::Known { kind: ValueKind::AsyncGenerator, .. }) => {
                    format!("Iterate it with `{iterate}`, or, if it yields exactly once, enter it through `contextlib.asynccontextmanager`: `{wrapped}`")
                }
                _ => format!("Iterate it instead: `{iterate}`"),
            }
            }
            Rule::AsyncForOnAsyncContextManager => {
                format!("Enter it instead: `{}`", usage(UseSiteKind::AsyncWith, operand, target))
            }
            Rule::WithOnAsyncObject => match provided {
                Provided::Known { capabilities, .. } if capabilities.contains(Capability::AsyncCm) => {
                    format!("Use `{}`{outside_async}", usage(UseSiteKind::AsyncWith, operand, target))
                }
                _ => format!("Iterate it with `{}`{outside_async}", usage(UseSiteKind::AsyncFor, operand, target)),
            },
            Rule::ForOnAsyncIterable => {
                format!("Use `{}`{outside_async}", usage(UseSiteKind::AsyncFor, operand, target))
            }
            Rule::AsyncForOnSyncIterable => format!("Use a plain `{}`", usage(UseSiteKind::For, operand, target)),
            Rule::AsyncWithOnSyncContextManager => {
                format!("Use a plain `{}`", usage(UseSiteKind::With, operand, target))
            }
            Rule::AwaitOnNonAwaitable => match provided {
                Provided::Known { kind: ValueKind::AsyncGenerator, .. } => {
                    format!("Iterate it with `async for`, or take one item with `await anext({operand})`")
                }
                _ => "Remove the `await`".to_owned(),
            },
            Rule::MissingAwait => {
                format!("Await it first: `{}`", usage(site.kind, &format!("await {operand}"), target))
            }
            _ => String::new(),
        }
    });
    let awaited = match (rule, provided) {
        (Rule::MissingAwait, Provided::Known { awaits_to: Some(result), .. }) => {
            format!(" (awaiting it gives {})", capability_names(result))
        }
        _ => String::new(),
    };
    // What the object is and what the use needs; the remedy only once, as the help.
    (format!("{what}{awaited}; {asks}, which it does not have"), instead)
}

/// APM301: an async generator annotated as something other than an async iterator, or a
/// coroutine stub annotated as an async iterator (an `async def` whose overrides will be async
/// generators must be declared with plain `def`).
fn check_annotation(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    function_id: u32,
    source: &Source<'_>,
    context: &CheckContext<'_>,
) -> Option<Finding> {
    let function: &FunctionFact = module.facts.function(function_id)?;
    let returns = function.returns?;
    let range = &function.returns_range();
    // A protocol method's annotation describes what awaiting it gives (`async def __aenter__(self)
    // -> AsyncIterable` is right: the language awaits it and binds the result).
    let name = module.facts.exprs.text(function.name);
    let is_dunder = name.len() > 4 && name.starts_with("__") && name.ends_with("__");
    if !function.is_async || is_dunder || !only_transparent_decorators(&module.facts.exprs, function) {
        return None;
    }
    let Value::Made(Provided::Known { kind: ValueKind::Declared, capabilities: declared, .. }, _) =
        resolver.annotation(module, function.parent_scope, returns)
    else {
        return None;
    };
    let contradicts = if function.is_generator {
        !declared.contains(Capability::AsyncIter)
    } else {
        function.is_stub && declared.contains(Capability::AsyncIter)
    };
    if !contradicts {
        return None;
    }
    let source = source.text()?;
    let annotation = excerpt(source.get(range.clone())?);
    let message = if function.is_generator {
        format!(
            "`async def {}` contains `yield`, so calling it gives an async generator, but its return annotation `{annotation}` says {}; annotate it `AsyncIterator[...]` (or `AsyncGenerator[...]`), or decorate it with `@contextlib.asynccontextmanager` if it is meant to be entered",
            module.facts.exprs.text(function.name),
            capability_names(declared),
        )
    } else {
        format!(
            "`async def {}` has no `yield`, so calling it gives a coroutine whose result is `{annotation}`, and callers must write `async for x in await ...`; if implementations are async generators, make this one an async generator too (an empty one: `return`, then `yield`), so that `async for` works on every implementation",
            module.facts.exprs.text(function.name),
        )
    };
    let fixes = if function.is_generator {
        async_iterator_annotation(resolver, module, returns, range, source, context).into_iter().collect()
    } else {
        fixes::empty_async_generator(source, function.stub_range()).into_iter().collect()
    };
    Some(Finding {
        rule: Rule::AnnotationContradictsBody,
        range: range.clone(),
        message,
        fixes,
        related: Vec::new(),
        help: None,
    })
}

/// APM301's fix: `-> AsyncContextManager[T]` → `-> AsyncIterator[T]` when the annotation has
/// exactly one type argument `T`; reuses the module's name for `AsyncIterator` or imports it:
/// from `collections.abc` when the target Python is known to be 3.9 or newer, else from
/// `typing` (`collections.abc.AsyncIterator[T]` raises `TypeError` at definition time on 3.8
/// and older, where annotations are evaluated eagerly).
fn async_iterator_annotation(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    returns: ExprId,
    range: &std::ops::Range<usize>,
    source: &str,
    context: &CheckContext<'_>,
) -> Option<Fix> {
    let Shape::Subscript(_, [_]) = module.facts.exprs.get(returns) else { return None };
    let text = source.get(range.clone())?;
    // A string annotation is rewritten inside its quotes.
    let (open, close) = (text.find('[')?, text.rfind(']')?);
    let inner = text.get(open + 1..close)?.trim();
    // A direct name for `AsyncIterator` wins over `typing.AsyncIterator` through a module.
    let direct = top_level_spelling(resolver, module, |name, qualified| {
        matches!(qualified, "typing.AsyncIterator" | "collections.abc.AsyncIterator").then(|| name.to_owned())
    });
    let reference = direct.or_else(|| {
        top_level_spelling(resolver, module, |name, qualified| {
            (qualified == "typing").then(|| format!("{name}.AsyncIterator"))
        })
    });
    let mut edits = Vec::new();
    let name = match reference {
        Some(reference) => reference,
        None => {
            let at = module.facts.import_insertion;
            let from = if context.index.python_version().is_some_and(|version| version >= (3, 9)) {
                "collections.abc"
            } else {
                "typing"
            };
            edits.push(crate::Edit { range: at..at, content: format!("from {from} import AsyncIterator\n") });
            "AsyncIterator".to_owned()
        }
    };
    let quote = if text.starts_with(['"', '\'']) { &text[..1] } else { "" };
    edits.push(crate::Edit { range: range.clone(), content: format!("{quote}{name}[{inner}]{quote}") });
    Some(Fix {
        title: format!("Annotate it `{name}[{inner}]`"),
        applicability: crate::Applicability::Safe,
        edits,
        other_files: Vec::new(),
    })
}

/// Decorators that leave the function's own kind in place (so its annotation must match it).
fn only_transparent_decorators(exprs: &Exprs, function: &FunctionFact) -> bool {
    exprs.list(function.decorators).iter().all(|decorator| match exprs.get(*decorator) {
        Shape::Name(name) => matches!(name, "staticmethod" | "classmethod" | "abstractmethod" | "override"),
        Shape::Attribute(_, name) => matches!(name, "abstractmethod" | "override"),
        _ => false,
    })
}

/// What to show when hovering at `offset`: a finding's rule, or the protocol of the callee or
/// definition under the cursor, in plain words (Markdown). `None` when there is nothing known.
pub fn hover(
    module: &Arc<IndexedModule>,
    source: &str,
    offset: usize,
    findings: &[Finding],
    context: &CheckContext<'_>,
) -> Option<String> {
    if let Some(finding) = findings.iter().find(|finding| finding.range.contains(&offset)) {
        return Some(format!(
            "**{} {}**: {}\n\n{}",
            finding.rule.code(),
            finding.rule.name(),
            finding.rule.summary(),
            finding.message
        ));
    }
    let mut resolver = Resolver::new(context.index);
    // A use site's operand: describe what it is and what the use site needs.
    if let Some(site) = module.facts.use_sites.iter().find(|site| site.range.contains(offset)) {
        let value = resolver.evaluate(module, site.scope, site.operand);
        let value = resolver.settle(value);
        let (provided, origin) = value.provided();
        if let Provided::Known { .. } = provided {
            let operand = excerpt(source.get(site.range.range())?);
            return Some(format!(
                "`{operand}` is {}.\n\n{}",
                describe(provided, origin.as_deref(), context),
                how_to_use(provided, false)
            ));
        }
        return None;
    }
    // A definition's name.
    let (idx, function) =
        module.facts.functions.iter().enumerate().find(|(_, function)| function.name_range().contains(&offset))?;
    let function_id = u32::try_from(idx).ok()?;
    let (made, origin) = resolver.call_result(&Value::Function(Arc::clone(module), function_id))?;
    Some(format!(
        "`{}` is {}.\n\n{}",
        module.facts.exprs.text(function.name),
        describe_factory(made, origin.as_deref(), context),
        how_to_use(made, true)
    ))
}

/// The protocol of `provided` as advice.
fn how_to_use(provided: Provided, calling: bool) -> String {
    let Provided::Known { kind, capabilities, awaits_to } = provided else { return String::new() };
    let mut advice = Vec::new();
    if capabilities.contains(Capability::AsyncIter) {
        advice.push("iterate it with `async for`".to_owned());
    }
    if capabilities.contains(Capability::AsyncCm) {
        advice.push("enter it with `async with`".to_owned());
    }
    if capabilities.contains(Capability::Iter) {
        advice.push("iterate it with `for`".to_owned());
    }
    if capabilities.contains(Capability::Cm) {
        advice.push("enter it with `with`".to_owned());
    }
    if capabilities.contains(Capability::Await) {
        match awaits_to {
            Some(result) => advice.push(format!("`await` it (the result is {})", capability_names(result))),
            None => advice.push("`await` it".to_owned()),
        }
    }
    let subject = if calling { "Calling it gives an object you can" } else { "You can" };
    let mut text = format!("{subject} {}.", advice.join(", or "));
    if kind == ValueKind::AsyncGenerator {
        text.push_str(
            " It cannot be entered with `async with`; decorate it with `@contextlib.asynccontextmanager` for that.",
        );
    }
    text
}

/// What an argument handed to an API of the sinks table is, as far as APM110 asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handed {
    CoroutineFunction,
    AsyncGeneratorFunction,
    CoroutineObject,
    AsyncGeneratorObject,
    /// A function decorated with `@asynccontextmanager` (`true`) or `@contextmanager`.
    ContextManagerFactory(bool),
    Other,
}

impl Handed {
    fn from_call_part(part: &CallPart) -> Option<Handed> {
        Some(match (part.object?, part.call) {
            (Made::Coroutine, _) => Handed::CoroutineObject,
            (Made::AsyncGenerator, _) => Handed::AsyncGeneratorObject,
            (Made::Other, Some(Made::Coroutine)) => Handed::CoroutineFunction,
            (Made::Other, Some(Made::AsyncGenerator)) => Handed::AsyncGeneratorFunction,
            (Made::Other, _) => Handed::Other,
        })
    }

    /// What a partial of (or a lambda calling) something of this kind is: a function of the
    /// same kind; of an object, something we do not model.
    fn called_through(self) -> Handed {
        match self {
            Handed::CoroutineObject | Handed::AsyncGeneratorObject => Handed::Other,
            other => other,
        }
    }

    fn described(self) -> &'static str {
        match self {
            Handed::CoroutineFunction => "a coroutine function (calling it makes a coroutine)",
            Handed::AsyncGeneratorFunction => "an async generator function",
            Handed::CoroutineObject => "a coroutine object (the call is already made), which is not callable",
            Handed::AsyncGeneratorObject => "an async generator, which is not awaitable",
            Handed::ContextManagerFactory(true) => {
                "a function decorated to make an async context manager, not a generator function"
            }
            Handed::ContextManagerFactory(false) => {
                "a function decorated to make a context manager, not a generator function"
            }
            Handed::Other => "something else",
        }
    }

    /// Whether an API that expects `expects` fails on it.
    fn fails(self, expects: Expects) -> bool {
        match expects {
            Expects::SyncFunction => matches!(self, Handed::CoroutineFunction | Handed::AsyncGeneratorFunction),
            Expects::Awaitable => matches!(
                self,
                Handed::CoroutineFunction | Handed::AsyncGeneratorFunction | Handed::AsyncGeneratorObject
            ),
            Expects::AsyncFunction => self == Handed::CoroutineObject,
            Expects::Dependency => matches!(self, Handed::ContextManagerFactory(_)),
            Expects::AsyncContextManagerFactory => self == Handed::CoroutineFunction,
        }
    }
}

/// The module-qualified name our resolver gives a callee, when it is an outside name or a
/// module-level function or class of a module it read (an installed package).
fn resolved_callee_name(value: &Value) -> Option<String> {
    match value {
        Value::External(name) => Some(name.clone()),
        Value::Function(module, id) => {
            let function = module.facts.function(*id)?;
            let name = module.facts.exprs.text(function.name);
            let parent = module.facts.scope(function.parent_scope)?;
            match parent.kind {
                ScopeKind::Module => Some(format!("{}.{name}", module.names.first()?)),
                // A method, named on its class (`typer.main.Typer.command`).
                ScopeKind::Class(class) => {
                    let class = module.facts.class(class)?;
                    let at_top = matches!(module.facts.scope(parent.parent()?)?.kind, ScopeKind::Module);
                    let module_name = module.names.first()?;
                    at_top.then(|| format!("{module_name}.{}.{name}", module.facts.exprs.text(class.name)))
                }
                ScopeKind::Function(_) | ScopeKind::Anonymous => None,
            }
        }
        Value::Class(module, id) => {
            let class = module.facts.class(*id)?;
            Some(format!("{}.{}", module.names.first()?, module.facts.exprs.text(class.name)))
        }
        _ => None,
    }
}

/// What our resolver says an argument is (see [`Handed`]), when it knows.
fn resolved_argument(resolver: &mut Resolver<'_>, value: &Value) -> Option<Handed> {
    let kind_of = |provided: Provided| match provided {
        Provided::Known { kind: ValueKind::Coroutine, .. } => Some(true),
        Provided::Known { kind: ValueKind::AsyncGenerator, .. } => Some(false),
        Provided::Known { .. } | Provided::Unknown => None,
    };
    match value {
        Value::Function(..) | Value::Factory(..) => {
            let (made, _) = resolver.call_result(value)?;
            if made == Provided::Unknown {
                return None;
            }
            if let Provided::Known { kind: ValueKind::DecoratedContextManager, capabilities, .. } = made {
                return Some(Handed::ContextManagerFactory(capabilities.contains(Capability::AsyncCm)));
            }
            Some(match kind_of(made) {
                Some(true) => Handed::CoroutineFunction,
                Some(false) => Handed::AsyncGeneratorFunction,
                None => Handed::Other,
            })
        }
        Value::Made(provided, _) | Value::Library(_, provided, _) => {
            if *provided == Provided::Unknown {
                return None;
            }
            Some(match kind_of(*provided) {
                Some(true) => Handed::CoroutineObject,
                Some(false) => Handed::AsyncGeneratorObject,
                None => Handed::Other,
            })
        }
        _ => None,
    }
}

/// What `functools.partial(f, …)` or `lambda: f(…)` is, when our resolver knows `f`: of the
/// kind of `f`. A `partial` that is not `functools.partial` is something else.
fn wrapped_argument(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    scope: ScopeId,
    wrapped: &Wrapped,
) -> Option<Handed> {
    if let Some(partial) = wrapped.partial {
        let callee = resolver.evaluate(module, scope, partial);
        if resolved_callee_name(&callee).as_deref() != Some("functools.partial") {
            return Some(Handed::Other);
        }
    }
    argument_kind(resolver, module, scope, wrapped.function).map(Handed::called_through)
}

/// What our resolver says the argument `expr` is (see [`resolved_argument`]).
fn argument_kind(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    scope: ScopeId,
    expr: ExprId,
) -> Option<Handed> {
    let value = resolver.evaluate(module, scope, expr);
    let value = resolver.settle(value);
    resolved_argument(resolver, &value)
}

/// What a decorator sink receives: the function below it, when every decorator between them
/// keeps the function's kind (a decorator we do not know may well run the coroutine itself,
/// as a `@coro` wrapper calling `asyncio.run` does).
fn decorated_function(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    scope: ScopeId,
    decorates: &Decorates,
) -> Option<Handed> {
    for &below in &*decorates.below {
        let value = resolver.evaluate(module, scope, below);
        let name = resolved_callee_name(&value)?;
        if !sinks::KIND_KEEPING_DECORATORS.contains(&name.as_str()) {
            return None;
        }
    }
    let function = module.facts.function(decorates.function)?;
    Some(match (function.is_async, function.is_generator) {
        (true, true) => Handed::AsyncGeneratorFunction,
        (true, false) => Handed::CoroutineFunction,
        (false, _) => Handed::Other,
    })
}

/// Whether the entry applies to this call: a decorator entry only to a decorator, none given a
/// class of the caller's own (`cls=`), and each in the environment it was checked against.
fn sink_applies(resolver: &Resolver<'_>, call: &SinkCall, sink: &Sink) -> bool {
    if sink.decorates != call.decorates.is_some() {
        return false;
    }
    let given = |keyword: &str| match &call.decorates {
        Some(decorates) => decorates.keywords.iter().any(|given| &**given == keyword),
        None => call.arguments.iter().any(|argument| argument.keyword.as_deref() == Some(keyword)),
    };
    if sink.silent_with.iter().any(|keyword| given(keyword)) {
        return false;
    }
    let index = resolver.index();
    if sink.needs_installed.is_some_and(|distribution| index.installed_version(distribution).is_none()) {
        return false;
    }
    !sink.unless_installed.iter().any(|distribution| index.installed_version(distribution).is_some())
}

/// Per sink call: the sink, and per argument what it is and whether the type layer said so.
type KnownSinkCall = (Option<&'static Sink>, Vec<Option<(Handed, bool)>>);

/// APM110: arguments handed to an API of the sinks table that it will use with a protocol they
/// lack. The callee and each argument come from our resolver, else from the type layer; a call
/// stays silent unless both are known.
fn check_sink_calls(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    source: &Source<'_>,
    context: &CheckContext<'_>,
) -> Vec<Finding> {
    let calls = &module.facts.sink_calls;
    if calls.is_empty() || !context.rules.contains(Rule::ApiProtocolMismatch) {
        return Vec::new();
    }
    let mut known: Vec<KnownSinkCall> = Vec::with_capacity(calls.len());
    let mut ask = Vec::new();
    for (idx, call) in calls.iter().enumerate() {
        if call.expects_error {
            known.push((None, Vec::new()));
            continue;
        }
        let handed: Vec<Option<(Handed, bool)>> = match &call.decorates {
            Some(decorates) => {
                let Some(handed) = decorated_function(resolver, module, call.scope, decorates) else {
                    known.push((None, Vec::new()));
                    continue;
                };
                vec![Some((handed, false))]
            }
            None => call
                .arguments
                .iter()
                .map(|argument| {
                    if let Some(wrapped) = &argument.wraps {
                        return wrapped_argument(resolver, module, call.scope, wrapped).map(|handed| (handed, false));
                    }
                    argument_kind(resolver, module, call.scope, argument.value).map(|handed| (handed, false))
                })
                .collect(),
        };
        let callee = resolver.evaluate(module, call.scope, call.callee);
        let sink = resolved_callee_name(&callee).and_then(|name| sinks::sink_named(&name));
        let relevant = |sink: &Sink| {
            call.arguments.iter().zip(&handed).any(|(argument, handed)| {
                handed.is_none() && sink.takes(argument.position, argument.keyword.as_deref())
            })
        };
        let ask_callee = sink.is_none() && !matches!(callee, Value::Function(..) | Value::Class(..));
        if ask_callee || sink.is_some_and(relevant) {
            ask.push(idx);
        }
        known.push((sink, handed));
    }
    let typed = module.path.extension().is_some_and(|extension| extension == "py");
    if let (Some(types), false, true) = (context.types, ask.is_empty(), typed) {
        let mut ranges = Vec::new();
        for &idx in &ask {
            let call = &calls[idx];
            ranges.push(call.callee_range);
            // A partial or a lambda is of the kind of the function it calls: ask about that.
            ranges.extend(
                call.arguments
                    .iter()
                    .map(|argument| argument.wraps.as_ref().map_or(argument.range, |wrapped| wrapped.range)),
            );
        }
        let ranges: Option<Vec<(u32, u32)>> = ranges
            .iter()
            .map(|span| Some((u32::try_from(span.start()).ok()?, u32::try_from(span.end()).ok()?)))
            .collect();
        if let Some(ranges) = ranges {
            let mut parts = types.call_parts_at(&module.path, &ranges).into_iter();
            for &idx in &ask {
                let (sink, handed) = &mut known[idx];
                let callee = parts.next().flatten();
                if sink.is_none() {
                    let name = callee.and_then(|part| part.callee);
                    tracing::debug!(
                        "APM110: the type layer names the callee at {:?} {name:?}",
                        calls[idx].callee_range
                    );
                    *sink = name.and_then(|name| sinks::sink_named(&name));
                }
                for (slot, argument) in handed.iter_mut().zip(&calls[idx].arguments) {
                    let part = parts.next().flatten();
                    if slot.is_none() {
                        *slot = part.as_ref().and_then(Handed::from_call_part).map(|handed| (handed, true));
                    }
                    if let (Some((handed, _)), Some(_)) = (slot.as_mut(), &argument.wraps) {
                        *handed = handed.called_through();
                    }
                }
            }
        }
    }
    let Some(text) = source.text() else { return Vec::new() };
    let mut findings = Vec::new();
    for (call, (sink, handed)) in calls.iter().zip(known) {
        let Some(sink) = sink else { continue };
        if !sink_applies(resolver, call, sink) {
            continue;
        }
        for (argument, handed) in call.arguments.iter().zip(handed) {
            let Some((handed, inferred)) = handed else { continue };
            if !sink.takes(argument.position, argument.keyword.as_deref()) || !handed.fails(sink.expects) {
                continue;
            }
            // FastAPI injects what a lambda returns as it is (checked: a context manager arrives
            // unentered, which an endpoint may mean to enter itself); a partial it unwraps and
            // then fails on, as on the factory.
            let lambda = argument.wraps.as_ref().is_some_and(|wrapped| wrapped.partial.is_none());
            if lambda && sink.expects == Expects::Dependency {
                continue;
            }
            if let Some(finding) = sink_finding(resolver, module, call, argument, sink, handed, inferred, text) {
                findings.push(finding);
            }
        }
    }
    findings
}

#[allow(clippy::too_many_arguments)]
fn sink_finding(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    call: &SinkCall,
    argument: &SinkArgument,
    sink: &Sink,
    handed: Handed,
    inferred: bool,
    text: &str,
) -> Option<Finding> {
    let callee = excerpt(text.get(call.callee_range.range())?);
    let operand = excerpt(text.get(argument.range.range())?);
    let consequence = match (sink.outcome, handed) {
        _ if sink.expects == Expects::Dependency => {
            "so the endpoint receives the manager itself, never entered (FastAPI 0.165 unwraps it and then fails every request with TypeError)".to_owned()
        }
        (Outcome::Silent, Handed::AsyncGeneratorFunction) => {
            "so the call only makes an async generator that nothing iterates: its body never runs".to_owned()
        }
        (Outcome::Silent, _) => {
            "so the call only makes a coroutine that nothing awaits: its body never runs".to_owned()
        }
        (Outcome::Raises(error), _) => format!("`{callee}` raises {error}"),
    };
    let source_note = if inferred { " (as inferred from annotations, stubs and `return` statements)" } else { "" };
    let not_called =
        if sink.expects == Expects::Awaitable && handed == Handed::CoroutineFunction { ", not called" } else { "" };
    let through = match &argument.wraps {
        Some(wrapped) => format!(" calls `{}` and so", excerpt(text.get(wrapped.range.range())?)),
        None => String::new(),
    };
    let message = format!(
        "`{callee}` {}; `{operand}`{through} is {}{not_called}{source_note}, {consequence}",
        sink.does,
        handed.described()
    );
    let mut fixes = Vec::new();
    let help = match (sink.expects, handed) {
        (Expects::SyncFunction, _) if sink.decorates => format!(
            "make `{operand}` a plain `def` that runs the async work to completion (`asyncio.run(…)` on a coroutine function of its own), or give `{callee}` a class of your own that awaits it"
        ),
        (Expects::SyncFunction, Handed::AsyncGeneratorFunction) => {
            "pass a synchronous function: an async generator runs only as something iterates it with `async for` on an event loop".to_owned()
        }
        (Expects::SyncFunction, _) => format!(
            "pass a synchronous function: a coroutine function's work runs only when its coroutine is awaited on an event loop (`await {operand}(…)` there, or `asyncio.run_coroutine_threadsafe({operand}(…), loop)` from another thread)"
        ),
        (Expects::Awaitable, Handed::CoroutineFunction) => {
            let value = resolver.evaluate(module, call.scope, argument.value);
            let safe = !inferred && callable_without_arguments(&value);
            // Calling a partial or a lambda in place reads badly; the author picks the form.
            if argument.wraps.is_none() {
                fixes.extend(fixes::add_call_after(argument.range.range(), safe, inferred));
            }
            format!("call it: `{operand}()`")
        }
        (Expects::Awaitable, _) => "pass a coroutine object; iterate an async generator with `async for`".to_owned(),
        (Expects::Dependency, Handed::ContextManagerFactory(is_async)) => {
            fixes.extend(generator_dependency(module, call, argument, is_async, text));
            "depend on a generator function that enters it and yields what it gives (the fix adds one beside this use, and leaves other users of the factory alone)".to_owned()
        }
        (Expects::Dependency, _) => String::new(),
        (Expects::AsyncContextManagerFactory, _) => format!(
            "make it an async generator function decorated with `@contextlib.asynccontextmanager`: the code before its `yield` runs at startup, the code after at shutdown (`{operand}` as it is has no `yield`)"
        ),
        (Expects::AsyncFunction, _) => {
            let later_positional = call.arguments.iter().any(|other| {
                other.position.is_some_and(|position| argument.position.is_some_and(|this| position > this))
            });
            let spread = argument.call_parts.and_then(|(function, arguments)| {
                let function = text.get(function.range())?;
                let arguments = arguments.map_or(Some(""), |arguments| text.get(arguments.range()))?;
                Some(if arguments.is_empty() { function.to_owned() } else { format!("{function}, {arguments}") })
            });
            match spread {
                Some(spread) if argument.position.is_some() && !later_positional && !call.unpacks => {
                    fixes.extend(fixes::replace_argument(argument.range.range(), &spread, inferred));
                    format!("pass the function and its arguments separately: `{callee}({spread})`")
                }
                _ => "pass the async function itself and its positional arguments separately (`functools.partial` for keyword arguments)".to_owned(),
            }
        }
    };
    Some(Finding {
        rule: Rule::ApiProtocolMismatch,
        range: argument.range.range(),
        message,
        fixes,
        related: Vec::new(),
        help: Some(help),
    })
}

/// The fix for `Depends(get_session)` on a context-manager factory: a generator dependency that
/// enters it, added before the module-level statement that holds the call, and used at this
/// sink. Other uses of the factory (`async with get_session()`) stay as they are. Offered only
/// for a bare name of a function without parameters (`FastAPI` reads a dependency's parameters as
/// inputs, which the wrapper would have to repeat), and when the new name is free.
fn generator_dependency(
    module: &IndexedModule,
    call: &SinkCall,
    argument: &SinkArgument,
    is_async: bool,
    text: &str,
) -> Option<Fix> {
    let Shape::Name(name) = module.facts.exprs.get(argument.value) else { return None };
    let (_, bindings) = module.facts.visible_bindings(call.scope, name)?;
    let [Binding::Function(function_id)] = bindings else {
        // An import or several definitions: the parameters are not known.
        return None;
    };
    let has_parameters = module.facts.bindings(module.facts.function(*function_id)?.scope).all().any(|binding| {
        matches!(binding, Binding::Parameter(parameter) if parameter.slot().is_some_and(|slot| slot.function == *function_id))
    });
    if has_parameters {
        return None;
    }
    let wrapper = format!("{name}_dependency");
    if module.facts.visible_bindings(call.scope, &wrapper).is_some() {
        return None;
    }
    let start = usize::try_from(call.statement_start).ok()?;
    // The statement must start a line (it always does at module level, unless after `;`).
    if start > 0 && text.as_bytes().get(start - 1) != Some(&b'\n') {
        return None;
    }
    let (def, with) = if is_async { ("async def", "async with") } else { ("def", "with") };
    let definition = format!(
        "{def} {wrapper}():\n    \"\"\"FastAPI enters only generator dependencies: enter `{name}` for the request.\"\"\"\n    {with} {name}() as value:\n        yield value\n\n\n"
    );
    Some(fixes::generator_dependency(start, definition, argument.range.range(), wrapper))
}
