//! APM201: a test double that emulates a different protocol than the real target it replaces.
//!
//! A unit test that patches an async generator function with a mock configured as an async
//! context manager passes while production fails. Each `patch`/`patch.object`/`mocker.patch`/
//! `monkeypatch.setattr` fact is resolved twice: the real target (what the patched name refers to
//! in the index) and the protocol the double emulates (from `new=`, `new_callable=`,
//! `return_value=`, `side_effect=` and configuration chains such as
//! `m.return_value.__aenter__.return_value = x`). There is a finding only when both are known and
//! they share no protocol: a plain `MagicMock` supports every protocol and says nothing.

use std::ops::Range;
use std::sync::Arc;

use crate::diagnostic::{Finding, RelatedLocation};
use crate::protocol::{Capability, CapabilitySet, Provided, ValueKind};
use crate::python::check::{describe, describe_factory, CheckContext};
use crate::python::facts::{
    Binding, ConfiguredObject, DoubleArgument, DoubleFact, DoubleForm, DoubleTarget, ExprId, Exprs, ScopeId, Shape,
};
use crate::python::resolve::{Origin, Resolver, Value};
use crate::rules::Rule;
use crate::workspace::IndexedModule;

/// pytest-mock's fixtures that hand out a `MockerFixture`.
const MOCKER_FIXTURES: &[&str] = &["mocker", "class_mocker", "module_mocker", "package_mocker", "session_mocker"];

/// pytest's fixture that hands out a `MonkeyPatch`.
const MONKEYPATCH_FIXTURES: &[&str] = &["monkeypatch"];

/// Annotations a fixture parameter may carry (its own type, or none in particular).
const FIXTURE_TYPES: &[&str] = &[
    "typing.Any",
    "typing_extensions.Any",
    "builtins.object",
    "pytest_mock.MockerFixture",
    "pytest_mock.MockFixture",
    "pytest_mock.plugin.MockerFixture",
    "pytest.MonkeyPatch",
    "_pytest.monkeypatch.MonkeyPatch",
];

/// Whether the double stands for the target itself or for what calling the target gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Call,
    Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MockClass {
    /// `MagicMock`/`Mock`: calling it gives its `return_value` (a `MagicMock`, which supports every
    /// protocol unless configured otherwise).
    Magic,
    /// `AsyncMock`: calling it gives a coroutine, whatever is configured.
    Async,
}

/// What the double emulates, why we think so, and where the test says it.
struct Emulation {
    level: Level,
    capabilities: CapabilitySet,
    /// "`return_value.__aenter__` is configured", "`new` is a coroutine function (…)".
    how: String,
    range: Range<usize>,
}

/// One setting of the mock: `return_value`, `side_effect` or a configuration chain, with the
/// path relative to the mock itself.
struct Setting<'a> {
    path: Vec<&'a str>,
    value: ExprId,
    scope: ScopeId,
    range: Range<usize>,
}

/// APM201 for every test double of `module`.
pub fn check_doubles(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    context: &CheckContext<'_>,
) -> Vec<Finding> {
    module.facts.doubles.iter().filter_map(|double| check_double(resolver, module, double, context)).collect()
}

fn check_double(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    double: &DoubleFact,
    context: &CheckContext<'_>,
) -> Option<Finding> {
    if !is_double_api(resolver, module, double) {
        tracing::trace!("APM201 {}:{}: not a test-double API", module.path.display(), double.range.start);
        return None;
    }
    let real = match &double.target {
        DoubleTarget::Dotted(dotted) => resolver.qualified(dotted),
        DoubleTarget::Attribute(object, name) => {
            let base = resolver.evaluate(module, double.scope, *object);
            resolver.attribute_of(&base, name)
        }
    };
    if matches!(real, Value::Unknown) {
        tracing::trace!("APM201 {}:{}: real target unknown", module.path.display(), double.range.start);
        return None;
    }
    let Some(emulation) = emulation(resolver, module, double, &real, context) else {
        tracing::trace!("APM201 {}:{}: emulated protocol unknown", module.path.display(), double.range.start);
        return None;
    };
    let (real_provided, origin) = match emulation.level {
        Level::Call => resolver.call_result(&real)?,
        Level::Value => {
            let settled = resolver.settle(real);
            settled.provided()
        }
    };
    tracing::trace!(
        "APM201 {}:{}: real {:?}, emulated {:?}",
        module.path.display(),
        double.range.start,
        real_provided,
        emulation.capabilities
    );
    let Provided::Known { capabilities: real_capabilities, .. } = real_provided else { return None };
    let real_protocols = protocols(real_capabilities);
    let emulated = protocols(emulation.capabilities);
    if real_protocols.is_empty() || emulated.is_empty() || real_protocols.iter().any(|found| emulated.contains(found)) {
        return None;
    }
    let target = target_text(&module.facts.exprs, double);
    let name = target.rsplit('.').next().unwrap_or(&target).to_owned();
    let real_description = describe(real_provided, origin.as_deref(), context);
    let (message, help) = match emulation.level {
        Level::Call => (
            format!(
                "this test double makes calling `{target}` give {} ({}), but calling the real `{name}` gives {real_description}; the test can pass while production fails",
                protocol_nouns(emulated),
                emulation.how,
            ),
            format!(
                "make the double give {} ({}), or fix `{name}` if production code really uses it as the double does",
                protocol_nouns(real_protocols),
                advice(real_protocols, Level::Call),
            ),
        ),
        Level::Value => (
            format!(
                "this test double makes `{target}` {} ({}), but the real `{name}` is {real_description}; the test can pass while production fails",
                protocol_nouns(emulated),
                emulation.how,
            ),
            format!(
                "make the double {} ({}), or fix `{name}` if production code really uses it as the double does",
                protocol_nouns(real_protocols),
                advice(real_protocols, Level::Value),
            ),
        ),
    };
    let related = origin
        .as_deref()
        .filter(|origin| !origin.path.as_os_str().is_empty())
        .map(|origin: &Origin| RelatedLocation {
            path: origin.path.clone(),
            range: origin.range.clone(),
            message: format!("the real `{}` is defined here", origin.name),
        })
        .into_iter()
        .collect();
    Some(Finding {
        rule: Rule::TestDoubleProtocolMismatch,
        range: emulation.range,
        message,
        fixes: Vec::new(),
        related,
        help: Some(help),
    })
}

/// The protocol capabilities of a set (calling is not a protocol here).
fn protocols(capabilities: CapabilitySet) -> CapabilitySet {
    capabilities
        .iter()
        .filter(|capability| *capability != Capability::Call)
        .fold(CapabilitySet::EMPTY, CapabilitySet::with)
}

fn protocol_nouns(capabilities: CapabilitySet) -> String {
    let nouns: Vec<&str> = capabilities
        .iter()
        .filter_map(|capability| match capability {
            Capability::Await => Some("an awaitable"),
            Capability::AsyncIter => Some("an async iterable"),
            Capability::AsyncCm => Some("an async context manager"),
            Capability::Iter => Some("an iterable"),
            Capability::Cm => Some("a context manager"),
            Capability::Call => None,
        })
        .collect();
    nouns.join(" and ")
}

/// How a double emulates the real protocol.
fn advice(capabilities: CapabilitySet, level: Level) -> String {
    let prefix = if level == Level::Call { "return_value." } else { "" };
    let mut ways: Vec<String> = Vec::new();
    for capability in capabilities.iter() {
        let way = match (capability, level) {
            (Capability::AsyncIter, Level::Call) => {
                "configure `return_value.__aiter__.return_value = iter([...])`, or replace it with an async generator function".to_owned()
            }
            (Capability::AsyncCm, Level::Call) => {
                "configure `return_value.__aenter__.return_value`, or replace it with an `@asynccontextmanager` function".to_owned()
            }
            (Capability::Await, Level::Call) => {
                "use `new_callable=AsyncMock`, or replace it with an `async def` without `yield`".to_owned()
            }
            (Capability::Iter, Level::Call) => "configure `return_value.__iter__`, or replace it with a generator function".to_owned(),
            (Capability::Cm, Level::Call) => {
                "configure `return_value.__enter__`, or replace it with a `@contextmanager` function".to_owned()
            }
            (Capability::AsyncIter, Level::Value) => format!("configure `{prefix}__aiter__`"),
            (Capability::AsyncCm, Level::Value) => format!("configure `{prefix}__aenter__`"),
            (Capability::Iter, Level::Value) => format!("configure `{prefix}__iter__`"),
            (Capability::Cm, Level::Value) => format!("configure `{prefix}__enter__`"),
            (Capability::Await, Level::Value) => "use an `AsyncMock` or an awaitable object".to_owned(),
            (Capability::Call, _) => continue,
        };
        ways.push(way);
    }
    ways.join("; or ")
}

/// `app.db.get_session`, `db.get_session`, or the attribute alone when the object is not a
/// dotted name.
fn target_text(exprs: &Exprs, double: &DoubleFact) -> String {
    match &double.target {
        DoubleTarget::Dotted(dotted) => dotted.to_string(),
        DoubleTarget::Attribute(object, name) => match dotted_text(exprs, *object) {
            Some(object) => format!("{object}.{name}"),
            None => name.to_string(),
        },
    }
}

fn dotted_text(exprs: &Exprs, expr: ExprId) -> Option<String> {
    match exprs.get(expr) {
        Shape::Name(name) => Some(name.to_owned()),
        Shape::Attribute(base, name) => Some(format!("{}.{name}", dotted_text(exprs, base)?)),
        _ => None,
    }
}

/// Whether the callee really is `unittest.mock.patch` (or `.object`), pytest-mock's `mocker`, or
/// pytest's `monkeypatch`.
fn is_double_api(resolver: &mut Resolver<'_>, module: &Arc<IndexedModule>, double: &DoubleFact) -> bool {
    match double.form {
        DoubleForm::Patch | DoubleForm::PatchObject => {
            let exprs = &module.facts.exprs;
            let (patch, suffix) = match (exprs.get(double.callee), double.form) {
                (Shape::Attribute(patch, _), DoubleForm::PatchObject) => (patch, ".object"),
                _ => (double.callee, ""),
            };
            if let Shape::Attribute(holder, _) = exprs.get(patch) {
                if let Some(fixture) = exprs.name(holder) {
                    if MOCKER_FIXTURES.contains(&fixture) {
                        return is_fixture_parameter(resolver, module, double.scope, fixture);
                    }
                }
            }
            match resolver.evaluate(module, double.scope, double.callee) {
                Value::External(name) => {
                    name == format!("unittest.mock.patch{suffix}") || name == format!("mock.patch{suffix}")
                }
                _ => false,
            }
        }
        DoubleForm::SetAttr => match module.facts.exprs.get(double.callee) {
            Shape::Attribute(holder, _) => match module.facts.exprs.get(holder) {
                Shape::Name(fixture) if MONKEYPATCH_FIXTURES.contains(&fixture) => {
                    is_fixture_parameter(resolver, module, double.scope, fixture)
                }
                _ => false,
            },
            _ => false,
        },
    }
}

/// `name`, seen from `scope`, is a parameter of a pytest test or fixture (unannotated, or
/// annotated with the fixture's type), and no fixture of that name is defined in the module or
/// a `conftest.py` above it: it is pytest's (or pytest-mock's) own fixture.
fn is_fixture_parameter(resolver: &mut Resolver<'_>, module: &Arc<IndexedModule>, scope: ScopeId, name: &str) -> bool {
    let facts = &module.facts;
    let Some((_, [Binding::Parameter(parameter)])) = facts.visible_bindings(scope, name) else { return false };
    let Some(slot) = parameter.slot() else { return false };
    let Some(function) = facts.function(slot.function) else { return false };
    if !(function.fixture_name.is_some() || facts.exprs.text(function.name).starts_with("test")) {
        return false;
    }
    if let Some(annotation) = parameter.annotation {
        let parent_scope = function.parent_scope;
        match resolver.evaluate(module, parent_scope, annotation) {
            Value::External(declared) if FIXTURE_TYPES.contains(&declared.as_str()) => {}
            _ => return false,
        }
    }
    defines_no_fixture(resolver, module, name)
}

/// No fixture called `name` in the module or in a `conftest.py` of its folder or above.
fn defines_no_fixture(resolver: &Resolver<'_>, module: &Arc<IndexedModule>, name: &str) -> bool {
    let defines = |candidate: &IndexedModule| {
        candidate.facts.functions.iter().any(|function| function.fixture_name.as_deref() == Some(name))
    };
    if defines(module) {
        return false;
    }
    let mut directory = module.path.parent();
    for _ in 0..32 {
        let Some(dir) = directory else { break };
        let conftest = dir.join("conftest.py");
        if conftest != module.path {
            if let Some(found) = resolver.index().at_path(&conftest) {
                if defines(&found) {
                    return false;
                }
            }
        }
        directory = dir.parent();
    }
    true
}

/// What the double emulates, when the test says so clearly.
fn emulation(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    double: &DoubleFact,
    real: &Value,
    context: &CheckContext<'_>,
) -> Option<Emulation> {
    if let Some(new) = &double.new {
        if let Some(class) = mock_constructor(resolver, module, double.scope, new.value) {
            return mock_emulation(resolver, module, double, (class, Some(new), Some(new.range.clone())), context);
        }
        return replacement_emulation(resolver, module, double, new, context);
    }
    // With a spec, `patch` makes an `AsyncMock` when the spec is a coroutine function, even
    // for `new_callable=MagicMock`.
    if double.spec && default_mock_class(resolver, real) == Some(MockClass::Async) {
        return None;
    }
    let (class, chosen_at) = match &double.new_callable {
        Some(callable) => (mock_class(resolver, module, double.scope, callable.value)?, Some(callable.range.clone())),
        None => (default_mock_class(resolver, real)?, None),
    };
    mock_emulation(resolver, module, double, (class, None, chosen_at), context)
}

/// `patch` without `new` makes an `AsyncMock` for a coroutine function and a `MagicMock` for
/// anything else. `None` when we cannot tell.
fn default_mock_class(resolver: &mut Resolver<'_>, real: &Value) -> Option<MockClass> {
    match resolver.call_result(real) {
        Some((Provided::Known { kind: ValueKind::Coroutine, .. }, _)) => {
            matches!(real, Value::Function(..)).then_some(MockClass::Async)
        }
        Some(_) => Some(MockClass::Magic),
        None => {
            let settled = resolver.settle(real.clone());
            matches!(settled.provided().0, Provided::Known { .. }).then_some(MockClass::Magic)
        }
    }
}

/// The mock class a callee names: `MagicMock`, `mock.AsyncMock`, `mocker.MagicMock`, …
fn mock_class(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    scope: ScopeId,
    callee: ExprId,
) -> Option<MockClass> {
    let class_name = |name: &str| match name {
        "MagicMock" | "Mock" => Some(MockClass::Magic),
        "AsyncMock" => Some(MockClass::Async),
        _ => None,
    };
    if let Shape::Attribute(holder, attribute) = module.facts.exprs.get(callee) {
        if let Some(fixture) = module.facts.exprs.name(holder) {
            if MOCKER_FIXTURES.contains(&fixture) {
                return class_name(attribute).filter(|_| is_fixture_parameter(resolver, module, scope, fixture));
            }
        }
    }
    match resolver.evaluate(module, scope, callee) {
        Value::External(name) => {
            let short = name.strip_prefix("unittest.mock.").or_else(|| name.strip_prefix("mock."))?;
            class_name(short)
        }
        _ => None,
    }
}

/// `MagicMock(...)`, or a name bound once (in the nearest scope that binds it) to such a call.
fn mock_constructor(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    scope: ScopeId,
    expr: ExprId,
) -> Option<MockClass> {
    match module.facts.exprs.get(expr) {
        Shape::Call(callee, _) => mock_class(resolver, module, scope, callee),
        Shape::Name(name) => {
            let (id, [Binding::Value(value)]) = module.facts.visible_bindings(scope, name)? else { return None };
            let Shape::Call(callee, _) = module.facts.exprs.get(*value) else { return None };
            mock_class(resolver, module, id, callee)
        }
        _ => None,
    }
}

/// `new=fake_session` / `monkeypatch.setattr(db, "get_session", fake_session)`: a workspace
/// function or class stands for the target (its call is compared), or an object does.
fn replacement_emulation(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    double: &DoubleFact,
    new: &DoubleArgument,
    context: &CheckContext<'_>,
) -> Option<Emulation> {
    let value = resolver.evaluate(module, double.scope, new.value);
    let role = if double.form == DoubleForm::SetAttr { "the replacement" } else { "`new`" };
    if matches!(value, Value::Function(..) | Value::Class(..) | Value::Factory(..)) {
        let (made, origin) = resolver.call_result(&value)?;
        let Provided::Known { capabilities, .. } = made else { return None };
        return Some(Emulation {
            level: Level::Call,
            capabilities,
            how: format!("{role} is {}", describe_factory(made, origin.as_deref(), context)),
            range: new.range.clone(),
        });
    }
    let settled = resolver.settle(value);
    let (provided, origin) = settled.provided();
    let Provided::Known { capabilities, .. } = provided else { return None };
    Some(Emulation {
        level: Level::Value,
        capabilities,
        how: format!("{role} is {}", describe(provided, origin.as_deref(), context)),
        range: new.range.clone(),
    })
}

fn dunder_capability(name: &str) -> Option<Capability> {
    match name {
        "__aenter__" | "__aexit__" => Some(Capability::AsyncCm),
        "__aiter__" | "__anext__" => Some(Capability::AsyncIter),
        "__enter__" | "__exit__" => Some(Capability::Cm),
        "__iter__" => Some(Capability::Iter),
        "__await__" => Some(Capability::Await),
        _ => None,
    }
}

/// The settings of a mock: keyword arguments of the double call and of the mock constructor,
/// then configuration chains, each with its path relative to the mock.
fn settings<'a>(double: &'a DoubleFact, replacement: Option<&'a DoubleArgument>) -> Vec<Setting<'a>> {
    let mut settings = Vec::new();
    let keyword_arguments =
        [("return_value", double.return_value.as_ref()), ("side_effect", double.side_effect.as_ref())];
    for (name, argument) in keyword_arguments {
        if let Some(argument) = argument {
            settings.push(Setting {
                path: vec![name],
                value: argument.value,
                scope: double.scope,
                range: argument.range.clone(),
            });
        }
    }
    if let Some(replacement) = replacement {
        for (name, value, range) in &replacement.mock_keywords {
            settings.push(Setting { path: vec![&**name], value: *value, scope: double.scope, range: range.clone() });
        }
    }
    for configuration in &double.configurations {
        let (mut path, scope) = match configuration.on {
            ConfiguredObject::Mock => (Vec::new(), double.mock_scope),
            ConfiguredObject::New => (Vec::new(), double.scope),
            ConfiguredObject::ReturnValue => (vec!["return_value"], double.scope),
        };
        // Chains on `new=` configure the double only when `new` is a mock we build on.
        if configuration.on == ConfiguredObject::New && replacement.is_none() {
            continue;
        }
        path.extend(configuration.path.iter().map(|part| &**part));
        settings.push(Setting { path, value: configuration.value, scope, range: configuration.range.clone() });
    }
    settings
}

fn mock_emulation(
    resolver: &mut Resolver<'_>,
    module: &Arc<IndexedModule>,
    double: &DoubleFact,
    (class, replacement, chosen_at): (MockClass, Option<&DoubleArgument>, Option<Range<usize>>),
    context: &CheckContext<'_>,
) -> Option<Emulation> {
    if class == MockClass::Async {
        // An `AsyncMock` chosen by `patch` itself matches a coroutine function by construction.
        let range = chosen_at?;
        return Some(Emulation {
            level: Level::Call,
            capabilities: CapabilitySet::of(&[Capability::Await]),
            how: "an `AsyncMock`: calling it gives a coroutine, whatever its `return_value` is".to_owned(),
            range,
        });
    }
    let settings = settings(double, replacement);
    // `MagicMock(spec=f)` is an `AsyncMock` when `f` is a coroutine function.
    if settings.iter().any(|setting| matches!(setting.path.as_slice(), ["spec" | "spec_set"])) {
        return None;
    }
    // `side_effect` decides what a call gives; a function's call result, anything else unknown.
    let side_effects: Vec<&Setting<'_>> = settings
        .iter()
        .filter(|setting| setting.path == ["side_effect"])
        .filter(|setting| setting.value != ExprId::NONE)
        .collect();
    if let Some(side_effect) = side_effects.last() {
        if side_effects.len() > 1 {
            return None;
        }
        let value = resolver.evaluate(module, side_effect.scope, side_effect.value);
        if !matches!(value, Value::Function(..) | Value::Factory(..)) {
            return None;
        }
        let (made, origin) = resolver.call_result(&value)?;
        let Provided::Known { capabilities, .. } = made else { return None };
        return Some(Emulation {
            level: Level::Call,
            capabilities,
            how: format!("its `side_effect` is {}", describe_factory(made, origin.as_deref(), context)),
            range: side_effect.range.clone(),
        });
    }
    let mut call_level = CapabilitySet::EMPTY;
    let mut call_how: Option<(String, Range<usize>)> = None;
    let mut value_level = CapabilitySet::EMPTY;
    let mut value_how: Option<(String, Range<usize>)> = None;
    for setting in &settings {
        match setting.path.as_slice() {
            ["return_value"] => {
                if mock_constructor(resolver, module, setting.scope, setting.value).is_some() {
                    continue;
                }
                let value = resolver.evaluate(module, setting.scope, setting.value);
                let value = resolver.settle(value);
                let (provided, origin) = value.provided();
                if let Provided::Known { capabilities, .. } = provided {
                    call_level = protocols(capabilities).iter().fold(call_level, CapabilitySet::with);
                    if call_how.is_none() && !protocols(capabilities).is_empty() {
                        let described = describe(provided, origin.as_deref(), context);
                        call_how = Some((format!("its `return_value` is {described}"), setting.range.clone()));
                    }
                }
            }
            ["return_value", dunder, ..] => {
                if let Some(capability) = dunder_capability(dunder) {
                    call_level = call_level.with(capability);
                    if call_how.is_none() {
                        call_how = Some((format!("`return_value.{dunder}` is configured"), setting.range.clone()));
                    }
                }
            }
            [dunder, ..] => {
                if let Some(capability) = dunder_capability(dunder) {
                    value_level = value_level.with(capability);
                    if value_how.is_none() {
                        value_how = Some((format!("`{dunder}` is configured"), setting.range.clone()));
                    }
                }
            }
            [] => {}
        }
    }
    if let Some((how, range)) = call_how {
        return Some(Emulation { level: Level::Call, capabilities: call_level, how, range });
    }
    let (how, range) = value_how?;
    Some(Emulation { level: Level::Value, capabilities: value_level, how, range })
}
